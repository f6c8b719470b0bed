"""Typed configuration: YAML files in ``configs/`` become frozen dataclasses at the edge.

Unknown keys fail with a "did you mean"; values are validated against the field's type by
msgspec (strictly: no coercion, NaN and infinities refused), then by the dataclass's own
``__post_init__``; nothing is evaluated (a ``yaml.SafeLoader`` that reads YAML 1.2 floats). Every setting lives in a dataclass instance that is passed
down explicitly; there is no global configuration object.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
import typing
from importlib import resources
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Type, TypeVar, Union

import msgspec
import yaml

from posetrack import validation
from posetrack.errors import ConfigError

__all__ = ["ConfigError", "from_dict", "load_yaml", "yaml_load", "YamlLoader", "config_path", "list_configs"]

T = TypeVar("T")


def _suggest(key: str, valid) -> str:
    close = difflib.get_close_matches(key, list(valid), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _dataclass_of(tp: Any) -> list:
    """The dataclass types a field's value may be built from (through Optional, Tuple[X, ...], Dict[str, X])."""
    if dataclasses.is_dataclass(tp):
        return [tp]
    out = []
    for arg in typing.get_args(tp):
        if arg is not Ellipsis:
            out.extend(_dataclass_of(arg))
    return out


def _join(where: str, key: Any) -> str:
    """``where`` + a key: ``file.yaml: tracker`` + ``queue`` -> ``file.yaml: tracker.queue``.

    A ``where`` ending in ":" is a bare file name: the key follows after a space.
    """
    if not where:
        return str(key)
    return f"{where} {key}" if where.endswith(":") else f"{where}.{key}"


def _head(where: str, cls: Type[Any]) -> str:
    """The label of a whole section, for messages about it."""
    return where.rstrip(":") if where else cls.__name__


def _check_keys(cls: Type[Any], data: Any, where: str) -> None:
    """Unknown keys fail with a "did you mean" (msgspec would silently drop them from a dataclass)."""
    if not isinstance(data, Mapping):
        return
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key, value in data.items():
        path = _join(where, key)
        if key not in fields:
            home = _home_of(str(key), hints, fields)
            section = where.split(": ", 1)[-1] if ": " in where else where.rstrip(":")
            hint = f"; it belongs in the {home!r} section: {_join(section, home)}.{key}" if home else \
                _suggest(str(key), fields)
            raise ConfigError(f"{path}: unknown setting{hint}; valid: {', '.join(sorted(fields))}")
        tp = hints[key]
        inner = _dataclass_of(tp)
        if len(inner) != 1:
            continue
        direct = dataclasses.is_dataclass(tp) or any(dataclasses.is_dataclass(a) for a in typing.get_args(tp)
                                                     if typing.get_origin(tp) is Union)
        if direct:
            _check_keys(inner[0], value, path)
        elif isinstance(value, Mapping):          # Dict[str, X]
            for k, v in value.items():
                _check_keys(inner[0], v, _join(path, k))
        elif isinstance(value, (list, tuple)):    # Tuple[X, ...]
            for i, v in enumerate(value):
                _check_keys(inner[0], v, f"{path}[{i}]")


def _home_of(key: str, hints: Mapping[str, Any], fields: Mapping[str, Any]) -> Optional[str]:
    """The field (a section) whose own settings include ``key``: a setting written one level too high."""
    for name in fields:
        for inner in _dataclass_of(hints[name]):
            if key in {f.name for f in dataclasses.fields(inner) if f.init}:
                return name
    return None


def _check_finite(data: Any, where: str) -> None:
    """YAML's .nan / .inf are no setting's value."""
    if isinstance(data, float) and not math.isfinite(data):
        raise ConfigError(f"{where}: expected a finite number, got {data}")
    if isinstance(data, Mapping):
        for k, v in data.items():
            _check_finite(v, _join(where, k))
    elif isinstance(data, (list, tuple)):
        for i, v in enumerate(data):
            _check_finite(v, f"{where}[{i}]")


def _labeler(where: str):
    def label(path, doc) -> str:
        text = where
        for seg in path:
            text = f"{text}[{seg}]" if isinstance(seg, int) else _join(text, seg)
        return text
    return label


def from_dict(cls: Type[T], data: Mapping[str, Any], where: str = "") -> T:
    """Build dataclass ``cls`` from a mapping, recursively, strictly (msgspec.convert).

    Unknown keys fail with a "did you mean"; values must have the field's type exactly (no
    string-to-number or float-to-int coercion; integers are accepted for float fields); NaN and
    infinities are refused; the dataclass's own ``__post_init__`` checks run.

    Args:
        cls: a dataclass type; nested dataclass fields are built from nested mappings.
        data: the values; missing keys take the field defaults.
        where: prefix for error messages: a dotted path, or a file name ending in ":"
            (``"tracker.yaml:"``, ``"tracker.yaml: presets.robust"``).

    Raises:
        ConfigError: naming the setting (``file.yaml: tracker.queue``) and what is wrong.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"{_head(where, cls)}: expected a mapping of settings, got {type(data).__name__}")
    try:
        _check_keys(cls, data, where)
        _check_finite(data, where)
    except RecursionError:
        raise ConfigError(f"{_head(where, cls)}: lists or mappings nested too deeply") from None
    try:
        return msgspec.convert(dict(data), cls, strict=True)
    except msgspec.ValidationError as e:
        text = str(e)
        if " - at `$" in text:
            validation.convert(dict(data), cls, "", _labeler(where or cls.__name__), ConfigError)
        raise ConfigError(f"{_head(where, cls)}: {text}") from None
    except UnicodeEncodeError as e:      # YAML's "\\ud800" escape makes a lone surrogate
        raise ConfigError(f"{_head(where, cls)}: text that is not valid Unicode ({e.reason})") from None


def _looks_like_path(name: str) -> bool:
    """A name with a folder separator or a YAML suffix is meant as a file, never a shipped config's name."""
    return os.sep in name or "/" in name or (os.altsep is not None and os.altsep in name) or \
        Path(name).suffix.lower() in (".yaml", ".yml")


def config_path(name: str, kind: str = "config", names: Optional[Sequence[str]] = None) -> Path:
    """Path of a shipped config (``name`` without ``.yaml``), or of a user's config file.

    A name with a folder separator or a ``.yaml``/``.yml`` suffix is a file path; any other name
    is a shipped config's, else an existing file of that name (whatever its suffix).

    Args:
        kind: what the config is, in words, for the error (``"pose model config"``).
        names: the shipped configs of that kind, listed (and suggested from) when ``name`` is
            none of them; None: every shipped config.

    Raises:
        ConfigError: a path that names no file ("no such file", or a folder), or a name that is
            neither a shipped config nor a file (the shipped configs of ``kind`` are listed).
    """
    p = Path(name)
    if _looks_like_path(name):
        if p.is_file():
            return p
        raise ConfigError(f"{name}: {'is a folder, not a config file' if p.is_dir() else 'no such file'}")
    shipped = resources.files("posetrack.configs").joinpath(f"{name}.yaml")
    if shipped.is_file():
        return Path(str(shipped))
    if p.is_file():
        return p
    names = list_configs() if names is None else list(names)
    raise ConfigError(f"no {kind} named {name!r}{_suggest(name, names)}; "
                      f"shipped {kind}s: {', '.join(names)} (or give a YAML file's path)")


def list_configs(prefix: str = "") -> list:
    """Names of the shipped configs, optionally only those starting with ``prefix``."""
    root = resources.files("posetrack.configs")
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml") and p.name.startswith(prefix))


class YamlLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that reads floats as YAML 1.2 does: ``5e-1`` and ``1e3`` are numbers.

    PyYAML implements YAML 1.1, whose float pattern needs a dot (``5.0e-1``), so an exponent
    written without one stays a string; YAML 1.2 (2009, the JSON-compatible core schema) reads it
    as a float. Nothing else changes: ints, booleans and ``.inf``/``.nan`` resolve as before
    (sexagesimal ``1:30.0`` floats, dropped by YAML 1.2, stay strings).

    A key given twice in one mapping is an error (YAML 1.2 requires keys to be unique; PyYAML
    would keep the last one silently, so a setting written twice would be half ignored).
    """

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=deep)
                try:
                    first = seen.setdefault(key, key_node.start_mark.line)
                except TypeError:                          # an unhashable key: PyYAML's own error follows
                    continue
                if first != key_node.start_mark.line:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        f"found the key {key!r} twice (first on line {first + 1})", key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


_FLOAT_TAG = "tag:yaml.org,2002:float"
YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _FLOAT_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
YamlLoader.add_implicit_resolver(_FLOAT_TAG, re.compile(r"""^(?:
      [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?     # 1.5, 1., 1.5e-3
    | [-+]?(?:[0-9][0-9_]*)[eE][-+]?[0-9]+                  # 5e-1, 1e3 (YAML 1.2)
    | [-+]?\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?               # .5, .5e3
    | [-+]?\.(?:inf|Inf|INF)
    | \.(?:nan|NaN|NAN))$""", re.X), list("-+0123456789."))


def yaml_load(text: Union[str, bytes]) -> Any:
    """Parse YAML text safely (no objects constructed), floats as in YAML 1.2 (:class:`YamlLoader`)."""
    return yaml.load(text, Loader=YamlLoader)


def load_yaml(cls: Type[T], name: str, section: Union[str, None] = None, kind: str = "config",
              names: Optional[Sequence[str]] = None) -> T:
    """Read a shipped config by name (or a YAML path) into dataclass ``cls``.

    Args:
        section: read only this top-level key of the file.
        kind, names: what the config is and the shipped ones of its kind, for an unknown name
            (:func:`config_path`).
    """
    path = config_path(name, kind, names)
    try:
        data = yaml_load(path.read_bytes()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {' '.join(str(e).split())}") from e
    except RecursionError:
        raise ConfigError(f"{path}: not a valid config: lists or mappings nested too deeply") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
    if section is not None:
        if section not in data:
            raise ConfigError(f"{path}: no '{section}' section")
        data = data[section]
    return from_dict(cls, data, where=f"{path.name}:" + (f" {section}" if section else ""))
