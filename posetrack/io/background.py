"""Work handed to a thread that runs it in order, so writing never holds up the pose stage.

:class:`OrderedWorker` runs submitted calls one at a time, in submission order, on its own
thread (journal lines, rendered frames: file I/O, JSON encoding and video encoding release
the GIL for most of their time). The first error it meets is re-raised in the submitting
thread at the next :meth:`~OrderedWorker.submit` or at :meth:`~OrderedWorker.close`; the
calls after a failed one are dropped, so nothing is written out of order.

Example:
    >>> worker = OrderedWorker("writer")
    >>> worker.submit(print, "written on the worker thread")
    >>> worker.close()          # waits for every call; raises the first error, if any
"""
from __future__ import annotations

import queue
import threading
from typing import Any, Callable, Optional

__all__ = ["OrderedWorker"]

_STOP = object()


class OrderedWorker:
    """Runs calls in order on one thread (or inline when ``threaded`` is False).

    Args:
        name: the thread's name.
        max_pending: calls queued at most; :meth:`submit` waits beyond that (bounded memory).
        threaded: False runs every call at once in the caller (same results, no overlap).
    """

    def __init__(self, name: str = "posetrack-writer", max_pending: int = 64, threaded: bool = True):
        self._error: Optional[BaseException] = None
        self._queue: Optional[queue.Queue] = None
        self._thread: Optional[threading.Thread] = None
        if threaded:
            self._queue = queue.Queue(maxsize=max_pending)
            self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            fn, args = item
            if self._error is None:
                try:
                    fn(*args)
                except BaseException as e:  # handed to the submitting thread
                    self._error = e

    def check(self) -> None:
        """Raise the worker's first error, if it met one."""
        if self._error is not None:
            raise self._error

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` after every call submitted before it."""
        self.check()
        if self._queue is None:
            try:
                fn(*args)
            except BaseException as e:
                self._error = e
                raise
            return
        while True:
            try:
                self._queue.put((fn, args), timeout=0.1)
                return
            except queue.Full:
                self.check()

    def close(self, raise_error: bool = True) -> None:
        """Wait until every submitted call has run; then raise the first error (if ``raise_error``)."""
        if self._thread is not None:
            if self._thread.is_alive():
                self._queue.put(_STOP)
                self._thread.join()
            self._thread = None
        if raise_error:
            self.check()

    @property
    def error(self) -> Optional[BaseException]:
        """The first error a call raised, or None."""
        return self._error
