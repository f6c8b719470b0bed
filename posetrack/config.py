"""Typed configuration: YAML files in ``configs/`` become frozen dataclasses at the edge.

Unknown keys fail with a "did you mean", values are checked against the field's type,
and nothing is evaluated. Every setting lives in a dataclass instance that is passed
down explicitly; there is no global configuration object.
"""
from __future__ import annotations

import dataclasses
import difflib
import typing
from importlib import resources
from pathlib import Path
from typing import Any, Mapping, Type, TypeVar, Union

import yaml

from .errors import ConfigError

__all__ = ["ConfigError", "from_dict", "load_yaml", "config_path", "list_configs"]

T = TypeVar("T")


def _suggest(key: str, valid) -> str:
    close = difflib.get_close_matches(key, list(valid), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _coerce(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin is Union:
        if value is None and type(None) in args:
            return None
        errors = []
        for arm in args:
            if arm is type(None):
                continue
            try:
                return _coerce(arm, value, where)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0] if errors else f"{where}: bad value {value!r}")
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
        return from_dict(tp, value, where)
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            items = [_coerce(args[0], v, f"{where}[{i}]") for i, v in enumerate(value)]
        elif origin is tuple and args:
            if len(args) != len(value):
                raise ConfigError(f"{where}: expected {len(args)} values, got {len(value)}")
            items = [_coerce(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value))]
        else:
            inner = args[0] if args else Any
            items = [_coerce(inner, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin in (dict, Mapping) or tp in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        inner = args[1] if len(args) == 2 else Any
        return {k: _coerce(inner, v, f"{where}.{k}") for k, v in value.items()}
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    if typing.get_origin(tp) is typing.Literal:
        if value not in args:
            raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(repr, args))}")
        return value
    return value


def from_dict(cls: Type[T], data: Mapping[str, Any], where: str = "") -> T:
    """Build dataclass ``cls`` from a mapping, recursively, rejecting unknown keys.

    Args:
        cls: a dataclass type; nested dataclass fields are built from nested mappings.
        data: the values; missing keys take the field defaults.
        where: prefix for error messages (a file name, a dotted path).
    """
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    kwargs = {}
    for key, value in data.items():
        path = f"{where}.{key}" if where else str(key)
        if key not in fields:
            raise ConfigError(f"{path}: unknown setting{_suggest(str(key), fields)}; "
                              f"valid: {', '.join(sorted(fields))}")
        kwargs[key] = _coerce(hints[key], value, path)
    missing = [n for n, f in fields.items() if n not in kwargs and f.default is dataclasses.MISSING
               and f.default_factory is dataclasses.MISSING]
    if missing:
        raise ConfigError(f"{where or cls.__name__}: missing setting(s) {', '.join(missing)}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{where or cls.__name__}: {e}") from e


def config_path(name: str) -> Path:
    """Path of a shipped config (``name`` without ``.yaml``), or of a user's YAML file path."""
    p = Path(name)
    if p.suffix in (".yaml", ".yml") and p.exists():
        return p
    shipped = resources.files("posetrack.configs").joinpath(f"{name}.yaml")
    if not shipped.is_file():
        raise ConfigError(f"no config named {name!r}{_suggest(name, list_configs())}; "
                          f"shipped configs: {', '.join(list_configs())}")
    return Path(str(shipped))


def list_configs(prefix: str = "") -> list:
    """Names of the shipped configs, optionally only those starting with ``prefix``."""
    root = resources.files("posetrack.configs")
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml") and p.name.startswith(prefix))


def load_yaml(cls: Type[T], name: str, section: Union[str, None] = None) -> T:
    """Read a shipped config by name (or a YAML path) into dataclass ``cls``.

    Args:
        section: read only this top-level key of the file.
    """
    path = config_path(name)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from e
    if section is not None:
        if section not in data:
            raise ConfigError(f"{path}: no '{section}' section")
        data = data[section]
    return from_dict(cls, data, where=path.name + (f":{section}" if section else ""))
