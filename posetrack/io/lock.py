"""One writer per output: an advisory lock that two runs writing the same tracks file cannot both hold.

A run holds an exclusive ``flock`` on ``<tracks>.lock`` (holding its process id) from its output
checks to its last write, and removes the file when it ends. A second run started on the same
output while the first is working is refused with one line naming the output and the holder,
instead of both writing one journal (a resume of a run still in progress would do the same). The
lock is released by the operating system when its process dies, so a hard kill leaves at most a
stale ``.lock`` file that the next run takes over.

Advisory locks are POSIX only (``fcntl``); where they are missing (Windows) or the lock file
cannot be made (the folder is not writable: the output checks then name the real problem), the
run goes on unlocked.

Example:
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "tracks.json"
    >>> with output_lock(out):
    ...     (out.parent / "tracks.json.lock").exists()
    True
    >>> (out.parent / "tracks.json.lock").exists()
    False
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator, Optional, Union

from posetrack.errors import InputError

__all__ = ["output_lock", "lock_path"]


def lock_path(out: Union[str, os.PathLike]) -> Path:
    """The lock file of output ``out``: ``<out>.lock`` beside it."""
    return Path(f"{os.fspath(out)}.lock")


@contextlib.contextmanager
def output_lock(out: Union[str, os.PathLike], field: str = "tracks") -> Iterator[None]:
    """Hold the lock of output ``out`` for the ``with`` block.

    Args:
        out: the output the run writes (its tracks file).
        field: the setting ``out`` came from, for the error (``err.field``).

    Raises:
        InputError: another process holds the lock (the message names ``out`` and its process id).
    """
    fd = _acquire(lock_path(out), out, field)
    try:
        yield
    finally:
        if fd is not None:
            with contextlib.suppress(OSError):
                lock_path(out).unlink()
            os.close(fd)


def _acquire(lock: Path, out, field: str) -> Optional[int]:
    try:
        import fcntl
    except ImportError:          # no advisory locks on this system
        return None
    while True:
        try:
            lock.parent.mkdir(parents=True, exist_ok=True)      # the run makes it next anyway
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:          # a folder that cannot be made or written: the output checks report it
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip()
            os.close(fd)
            by = f" (process {holder})" if holder.isdigit() else ""
            raise InputError(f"{out}: another posetrack run{by} is writing this output now; wait for it to end, "
                             "or write to another file", field=field) from None
        # the holder before us may have removed the file between our open and our lock: then the
        # lock is on a name nobody else will open, so take the file that is there now
        try:
            current = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            current = False
        if current:
            try:                  # the process id only helps the message: a full disk does not stop the run
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
            except OSError:
                pass
            return fd
        os.close(fd)
