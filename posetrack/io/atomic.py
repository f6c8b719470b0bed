"""Output files that are never half-written, and OS errors that always name their file.

:func:`write_atomic` writes beside the target (``<name>.tmp``), flushes it to disk and
renames it over the target, so a reader (or a run killed at any moment) sees either the
old file or the new one, never a mixture; on any failure the ``.tmp`` file is removed.
:func:`append_line` adds one line to a file with a single ``write`` system call: a kill
leaves at most the last line torn, never an earlier one.

Writes go through ``os.open``/``os.write``/``os.fsync``/``os.replace``, so a test can
inject a fault (``ENOSPC``, ``EROFS``) at any write step by patching those.

Every ``OSError`` leaving this module carries the output's path in ``filename`` (a full
disk raises ``ENOSPC`` without one), so the message says which file failed.

Example:
    >>> from posetrack.io.atomic import write_atomic
    >>> write_atomic("out.json", ['{"a": 1}\\n'])
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterable, Iterator, Union

__all__ = ["write_atomic", "tmp_path", "named_os_errors", "append_line", "open_append"]

PathLike = Union[str, os.PathLike]

_CHUNK = 1 << 20   # bytes gathered before each write call


def tmp_path(path: PathLike) -> Path:
    """Where :func:`write_atomic` writes ``path`` before renaming it into place."""
    path = Path(path)
    return path.with_name(path.name + ".tmp")


def _named(error: OSError, path: PathLike) -> OSError:
    """The same error (same class and errno) with ``filename`` set to ``path``."""
    named = type(error)(error.errno, error.strerror or str(error), str(path))
    named.__cause__ = error
    return named


@contextlib.contextmanager
def named_os_errors(path: PathLike) -> Iterator[None]:
    """Re-raise an ``OSError`` that names no file (or only a temporary one) as one naming ``path``."""
    try:
        yield
    except OSError as e:
        if e.filename is not None and Path(str(e.filename)) == Path(path):
            raise
        raise _named(e, path) from e


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def write_atomic(path: PathLike, chunks: Iterable[Union[str, bytes]]) -> None:
    """Write the concatenated ``chunks`` to ``path`` atomically (temp file, fsync, rename).

    Raises:
        OSError: the write failed (disk full, read-only folder, ...); ``filename`` is ``path``,
            the old ``path`` (if any) is untouched and no ``.tmp`` file is left.
    """
    path = Path(path)
    tmp = tmp_path(path)
    with named_os_errors(path):
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                pending, size = [], 0
                for chunk in chunks:
                    data = chunk.encode() if isinstance(chunk, str) else bytes(chunk)
                    pending.append(data)
                    size += len(data)
                    if size >= _CHUNK:
                        _write_all(fd, b"".join(pending))
                        pending, size = [], 0
                _write_all(fd, b"".join(pending))
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise


def open_append(path: PathLike) -> int:
    """A file descriptor appending to ``path`` (created if missing); a torn last line is closed off.

    If the file does not end with a newline (a run was killed mid-line), a newline is
    written first, so the torn line stays a line of its own that readers skip.
    """
    with named_os_errors(path):
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size:
                with open(path, "rb") as f:
                    f.seek(size - 1)
                    last = f.read(1)
                if last != b"\n":
                    _write_all(fd, b"\n")
        except BaseException:
            os.close(fd)
            raise
        return fd


def append_line(fd: int, line: str, path: PathLike) -> None:
    """Append ``line`` plus a newline to ``fd`` in one write call; errors name ``path``."""
    with named_os_errors(path):
        _write_all(fd, (line + "\n").encode())
