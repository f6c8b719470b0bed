"""No command destroys a user's file: outputs are checked against the inputs and each other before any work.

Three checks, used by every entry point that writes (``run`` for one source and for a
batch, ``track``, ``render``, ``export``, ``eval``):

* :func:`check_distinct`: an output may not be an input (the same path after resolving
  symbolic links, or a hard link to it), may not lie inside an input folder (a folder of
  frames, of ground-truth files), and two outputs (or an output and another output's
  ``<name>.tmp`` or journal) may not share a path. No flag overrides this:
  :class:`~posetrack.errors.PathConflictError` names the path and both settings.
* :func:`refuse_existing`: an existing output is never replaced unless the call says
  ``force``; :class:`~posetrack.errors.OutputExistsError` names the file and its setting.
  (:func:`posetrack.tracksfile.resume.check_outputs` adds the interrupted-run rule on top of it.)
* :func:`check_writable`: a file output is not an existing folder, and its folder exists (or is
  made) and takes new files, so a read-only folder fails before the work, not after it.

Settings are named as fields (``tracks``, ``posetrack2017``, ``boxes_file``), never as
command-line flags; a command maps the fields of the error to its flags.

Example:
    >>> from posetrack.io.guard import check_distinct, refuse_existing
    >>> check_distinct({"tracks": "out.json", "coco": "coco.json"}, {"source": "video.mp4"})
    >>> refuse_existing({"tracks": "out.json"}, force=False)
"""
from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Mapping, Optional, Tuple, Union

from posetrack.io.atomic import tmp_path
from posetrack.errors import OutputExistsError, PathConflictError

__all__ = ["same_file", "check_distinct", "refuse_existing", "check_writes", "check_writable", "writable_folder",
           "existing_inputs"]

PathLike = Union[str, os.PathLike]
PathMap = Mapping[str, Optional[PathLike]]
PathPairs = Union[PathMap, Iterable[Tuple[str, Optional[PathLike]]]]


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


def existing_inputs(inputs: PathPairs) -> Iterator[Tuple[str, Path]]:
    """The ``(field, path)`` of each input that exists here (names, URLs and cameras are skipped)."""
    for field, value in _items(inputs):
        if value is None or (isinstance(value, str) and "://" in value):
            continue
        path = Path(value).expanduser()
        if path.exists():
            yield field, path


def _items(paths: PathPairs) -> List[Tuple[str, Optional[PathLike]]]:
    return list(paths.items()) if isinstance(paths, Mapping) else list(paths)


def _inode(path: Path) -> Optional[Tuple[int, int]]:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def check_distinct(outputs: PathPairs, inputs: PathPairs = ()) -> None:
    """Refuse outputs that would destroy an input or each other; call before anything is read or written.

    Each output is compared with its temporary file (``<name>.tmp``, which atomic writes go
    through) too. Paths are resolved once and compared by dictionary, so a batch of
    thousands of outputs is checked in linear time.

    Args:
        outputs: setting -> path of each output (None: not written), a mapping or
            ``(setting, path)`` pairs (a batch repeats settings). A folder output (PNG frames,
            a batch's folder) is compared the same way.
        inputs: the same for each input read. None, URLs and paths that do not exist are
            skipped (nothing there can be destroyed). An input folder (frames, ground truth)
            also protects everything inside it.

    Raises:
        PathConflictError: an output is an input (the same path once links are resolved,
            or a hard link) or lies inside an input folder, or two outputs (or an output and
            another output's temporary file) share a path; names the path and both settings.
    """
    read = _Inputs(inputs)
    written = _Outputs()
    for field, value in _items(outputs):
        if value is None:
            continue
        path = Path(value).expanduser()
        for kind, probe in ((field, path), (f"{field} (its temporary file)", tmp_path(path))):
            resolved, inode = _resolved(probe), _inode(probe)
            read.check(field, kind, probe, resolved, inode)
            written.check(field, kind, probe, resolved, inode, temporary_too=probe is path)
        read.check_outside_folders(field, path)
        written.add(field, path)


_Named = Tuple[str, Path]      # (setting, path as given)
_Inode = Tuple[int, int]


class _Inputs:
    """The inputs of :func:`check_distinct`, by resolved path, by inode and (folders) by path."""

    def __init__(self, inputs: PathPairs):
        self.by_path: Dict[Path, _Named] = {}
        self.by_inode: Dict[_Inode, _Named] = {}
        self.folders: Dict[Path, _Named] = {}
        for field, path in existing_inputs(inputs):
            resolved = _resolved(path)
            self.by_path.setdefault(resolved, (field, path))
            inode = _inode(path)
            if inode is not None:
                self.by_inode.setdefault(inode, (field, path))
            if path.is_dir():
                self.folders.setdefault(resolved, (field, path))

    def check(self, field: str, kind: str, probe: Path, resolved: Path, inode: Optional[_Inode]) -> None:
        """Output ``probe`` (written by ``kind``) must not be an input."""
        hit = self.by_path.get(resolved) or (self.by_inode.get(inode) if inode is not None else None)
        if hit is None:
            return
        in_field, in_path = hit
        also = "" if resolved == _resolved(in_path) else f" (the same file as {in_path})"
        raise PathConflictError(f"{probe}: the output {kind} would overwrite the input {in_field}{also}; "
                                f"choose another path for {field}", probe, (field, in_field))

    def check_outside_folders(self, field: str, path: Path) -> None:
        """Output ``path`` must not lie inside an input folder."""
        for parent in _resolved(path).parents:
            if parent in self.folders:
                in_field, in_path = self.folders[parent]
                raise PathConflictError(f"{path}: the output {field} is inside the input folder {in_field} "
                                        f"({in_path}); write it elsewhere", path, (field, in_field))


class _Outputs:
    """The outputs :func:`check_distinct` has accepted so far, and their temporary files."""

    def __init__(self):
        self.by_path: Dict[Path, str] = {}          # resolved output path -> what writes it
        self.by_inode: Dict[_Inode, str] = {}
        self.temporary: Dict[Path, str] = {}        # resolved temporary files of the outputs so far

    def check(self, field: str, kind: str, probe: Path, resolved: Path, inode: Optional[_Inode],
              temporary_too: bool) -> None:
        """``probe`` (written by ``kind``) must not be another output (nor, ``temporary_too``, its temporary file)."""
        other = self.by_path.get(resolved) or (self.by_inode.get(inode) if inode is not None else None)
        if other is None and temporary_too:
            other = self.temporary.get(resolved)
        if other is not None:
            raise PathConflictError(f"{probe}: both the output {other} and the output {kind} would be "
                                    "written there; give them different paths", probe, (field, other.split(" (")[0]))

    def add(self, field: str, path: Path) -> None:
        self.by_path[_resolved(path)] = field
        inode = _inode(path)
        if inode is not None:
            self.by_inode[inode] = field
        self.temporary[_resolved(tmp_path(path))] = f"{field} (its temporary file)"


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


def check_writes(outputs: PathMap, inputs: PathPairs = (), *, force: bool, patterns: Mapping[str, str] = {}) -> None:
    """Both checks, in order: :func:`check_distinct` (never overridden), then :func:`refuse_existing`.

    Raises:
        PathConflictError: an output is an input, inside an input folder, or another output.
        OutputExistsError: an output exists and ``force`` is not set.
    """
    pairs = list(outputs.items())
    for field, value in outputs.items():         # files a folder output will replace: none may be an input
        pattern = patterns.get(field)
        if value is not None and pattern is not None and Path(value).expanduser().is_dir():
            pairs += [(field, match) for match in sorted(Path(value).expanduser().glob(pattern))]
    check_distinct(pairs, inputs)
    refuse_existing(outputs, force=force, patterns=patterns)
    check_writable(outputs, patterns=patterns)


def check_writable(outputs: PathMap, *, patterns: Mapping[str, str] = {}) -> None:
    """Before any work: every output can be written where it is asked for.

    Args:
        outputs: setting -> path (None: not written).
        patterns: settings whose output is a folder of files (as for :func:`refuse_existing`); the
            others are files.

    Raises:
        IsADirectoryError: a file output is an existing folder (``filename`` is the path).
        OSError: the output's folder cannot be made, or does not take new files (read-only, no
            permission); ``filename`` is the output, the message names the folder.
    """
    for field, value in outputs.items():
        if value is None:
            continue
        path = Path(value).expanduser()
        if field in patterns:
            writable_folder(path, path)
            continue
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "is a folder; a file name is expected here", str(path))
        writable_folder(path.parent, path)


def writable_folder(folder: Path, path: PathLike) -> None:
    """Make ``folder`` (and its parents) if needed and check that it takes new files.

    Raises:
        OSError: it cannot be made, or is read-only or not writable by this user; ``filename`` is ``path``.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise type(e)(e.errno, e.strerror, str(path)) from e
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, f"cannot write into the folder {folder}", str(path))
