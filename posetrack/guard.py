"""No command destroys a user's file: outputs are checked against the inputs and each other before any work.

Two checks, used by every entry point that writes (``run`` for one source and for a
batch, ``track``, ``render``, ``export``, ``eval``):

* :func:`check_distinct`: an output may not be an input (the same path after resolving
  symbolic links, or a hard link to it), may not lie inside an input folder (a folder of
  frames, of ground-truth files), and two outputs (or an output and another output's
  ``<name>.tmp`` or journal) may not share a path. No flag overrides this:
  :class:`~posetrack.errors.PathConflictError` names the path and both settings.
* :func:`refuse_existing`: an existing output is never replaced unless the call says
  ``force``; :class:`~posetrack.errors.OutputExistsError` names the file and its setting.
  (:func:`posetrack.resume.check_outputs` adds the interrupted-run rule on top of it.)

Settings are named as fields (``tracks``, ``posetrack2017``, ``boxes_file``), never as
command-line flags; a command maps the fields of the error to its flags.

Example:
    >>> from posetrack.guard import check_distinct, refuse_existing
    >>> check_distinct({"tracks": "out.json", "coco": "coco.json"}, {"source": "video.mp4"})
    >>> refuse_existing({"tracks": "out.json"}, force=False)
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, List, Mapping, Optional, Tuple, Union

from .atomic import tmp_path
from .errors import OutputExistsError, PathConflictError

__all__ = ["same_file", "check_distinct", "refuse_existing", "existing_inputs"]

PathLike = Union[str, os.PathLike]
PathMap = Mapping[str, Optional[PathLike]]


def _resolved(path: PathLike) -> Path:
    p = Path(path).expanduser()
    try:
        return p.resolve()
    except (OSError, RuntimeError):     # a symlink loop: compare it as written
        return p.absolute()


def same_file(a: PathLike, b: PathLike) -> bool:
    """True when ``a`` and ``b`` are one file: the same path once links are resolved, or hard links."""
    if _resolved(a) == _resolved(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:                     # one of them does not exist (yet): not the same file
        return False


def _inside(path: PathLike, folder: PathLike) -> bool:
    """True when ``path`` lies inside the existing folder ``folder`` (at any depth)."""
    if not Path(folder).is_dir():
        return False
    inner, outer = _resolved(path), _resolved(folder)
    return inner != outer and outer in inner.parents


def existing_inputs(inputs: PathMap) -> Iterator[Tuple[str, Path]]:
    """The ``(field, path)`` of each input that exists here (names, URLs and cameras are skipped)."""
    for field, value in inputs.items():
        if value is None or (isinstance(value, str) and "://" in value):
            continue
        path = Path(value).expanduser()
        if path.exists():
            yield field, path


def _companions(field: str, path: Path) -> List[Tuple[str, Path]]:
    """An output and the temporary file it is written through (``<name>.tmp``)."""
    return [(field, path), (f"{field} (its temporary file)", tmp_path(path))]


def check_distinct(outputs: PathMap, inputs: PathMap = {}) -> None:
    """Refuse outputs that would destroy an input or each other; call before anything is read or written.

    Args:
        outputs: setting -> path of each output (None: not written). A folder output (PNG
            frames, a batch's folder) is compared the same way.
        inputs: setting -> path of each input read (None, URLs and paths that do not exist
            are skipped: nothing there can be destroyed). An input folder (frames, ground
            truth) also protects everything inside it.

    Raises:
        PathConflictError: an output is an input or lies inside an input folder, or two
            outputs (or an output and another output's temporary file) share a path;
            names the path and both settings.
    """
    given = [(f, Path(p).expanduser()) for f, p in outputs.items() if p is not None]
    present = list(existing_inputs(inputs))
    for field, path in given:
        for kind, probe in _companions(field, path):
            for in_field, in_path in present:
                if same_file(probe, in_path):
                    also = "" if _resolved(probe) == _resolved(in_path) else f" (the same file as {in_path})"
                    raise PathConflictError(
                        f"{probe}: the output {kind} would overwrite the input {in_field}{also}; "
                        f"choose another path for {field}", probe, (field, in_field))
                if probe is path and _inside(path, in_path):
                    raise PathConflictError(
                        f"{path}: the output {field} is inside the input folder {in_field} ({in_path}); "
                        "write it elsewhere", path, (field, in_field))
    for i, (field, path) in enumerate(given):
        for other, other_path in given[i + 1:]:
            for (kind_a, a), (kind_b, b) in _pairs(_companions(field, path), _companions(other, other_path)):
                if same_file(a, b):
                    raise PathConflictError(f"{a}: both the output {kind_a} and the output {kind_b} would be "
                                            "written there; give them different paths", a, (field, other))


def _pairs(first: List[Tuple[str, Path]], second: List[Tuple[str, Path]]):
    """Every pairing of two outputs' paths except temporary file with temporary file (implied by the outputs)."""
    return [(a, b) for a in first for b in second if a is first[0] or b is second[0]]


def refuse_existing(outputs: PathMap, *, force: bool, patterns: Mapping[str, str] = {}) -> None:
    """Refuse to replace existing outputs unless ``force`` (the README's "never overwritten" rule).

    Args:
        outputs: setting -> path of each output (None: not written).
        force: overwrite what exists: nothing is checked.
        patterns: setting -> glob of the files a folder output writes (e.g. ``frame_*.png``
            for PNG frames): such a folder counts as existing when it holds a match.
            Without a pattern, any existing file or folder counts.

    Raises:
        OutputExistsError: names the first existing output and its setting.
    """
    if force:
        return
    for field, value in outputs.items():
        if value is None:
            continue
        path = Path(value).expanduser()
        pattern = patterns.get(field)
        if pattern is not None and path.is_dir():
            match = next(iter(sorted(path.glob(pattern))), None)
            if match is not None:
                raise OutputExistsError(f"{path}: already holds output files ({match.name}); overwrite them with "
                                        "force, or choose another folder", path, field=field)
        elif path.exists() or path.is_symlink():
            raise OutputExistsError(f"{path}: already exists; overwrite it with force, or choose another output",
                                    path, field=field)
