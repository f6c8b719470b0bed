"""Progress on stderr for long work: weight downloads (bytes) and frame-by-frame work (moving rate, ETA)."""
from __future__ import annotations

import time
from collections import deque
from typing import Optional


class DownloadBar:
    """Byte progress bars on stderr for weight downloads, one per file, fed by
    :func:`posetrack.pipeline.weights.fetch_weights`' ``progress(file_name, done, total)`` callback.

    Args:
        enabled: False makes every call a no-op (``--quiet``).
    """

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self._bar = None
        self._tasks: dict = {}

    def __call__(self, name: str, done: int, total: Optional[int]) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            from rich.console import Console
            from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn,
                                       TransferSpeedColumn)

            self._bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
                                 TransferSpeedColumn(), TimeRemainingColumn(), console=Console(stderr=True))
            self._bar.start()
        if name not in self._tasks:
            self._tasks[name] = self._bar.add_task(f"downloading {name}", total=total)
        self._bar.update(self._tasks[name], completed=done, total=total)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __enter__(self) -> "DownloadBar":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def fetch_weights(opts, quiet: bool = False) -> None:
    """Download the weight files a run needs, with progress bars; list every missing one at once if offline."""
    from posetrack.pipeline.weights import fetch_weights as fetch

    with DownloadBar(enabled=not quiet) as bar:
        fetch(opts, progress=bar)


def fetch_files(files, quiet: bool = False) -> None:
    """:func:`fetch_weights` for a list of :class:`~posetrack.pipeline.weights.WeightFile` (``export``'s)."""
    from posetrack.pipeline.weights import fetch_files as fetch

    with DownloadBar(enabled=not quiet) as bar:
        fetch(files, progress=bar)


class FrameProgress:
    """One progress bar on stderr for frame-by-frame work, fed by a library callback.

    The rate is measured over the last ``window`` seconds (frames finished in that time,
    divided by it; at least the last two updates), so the ETA follows the current speed:
    an average since the start, or a moving average of frames per second, stays high
    long after the run slows down (the first frames are often fast). Below one frame per
    second the rate is shown as seconds per frame.

    Args:
        label: the bar's description ("frames", "rendering", ...).
        total: units of work, or None until the first update says.
        window: seconds the moving rate averages over.
        enabled: False makes every call a no-op (``--quiet``).
    """

    def __init__(self, label: str = "frames", total: Optional[int] = None, window: float = 10.0,
                 enabled: bool = True):
        self.label = label
        self.total = total
        self.window = window
        self.enabled = enabled
        self._bar = None
        self._task = None
        self._rate: Optional[float] = None
        self._samples: deque = deque()          # (time, done) of the updates inside the window
        self._done = 0

    def _start(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                             TextColumn("{task.fields[rate]}"), TextColumn("{task.fields[extra]}"),
                             TextColumn("{task.fields[eta]}"), console=Console(stderr=True), transient=False)
        self._bar.start()
        self._task = self._bar.add_task(self.label, total=self.total, rate="", extra="", eta="")

    def _update_rate(self, done: int) -> None:
        now = time.perf_counter()
        samples = self._samples
        samples.append((now, done))
        while len(samples) > 2 and now - samples[1][0] >= self.window:   # keep one sample at the window's edge
            samples.popleft()
        (t0, d0), (t1, d1) = samples[0], samples[-1]
        if t1 > t0 and d1 > d0:
            self._rate = (d1 - d0) / (t1 - t0)

    @staticmethod
    def _format_rate(rate: Optional[float], unit: str = "fps") -> str:
        if rate is None:
            return ""
        return f"{rate:5.1f} {unit}" if rate >= 1 else f"{1 / rate:5.1f} s/frame"

    @staticmethod
    def _format_eta(seconds: Optional[float]) -> str:
        if seconds is None:
            return "eta -:--:--"
        seconds = int(round(seconds))
        return f"eta {seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"

    def eta(self) -> Optional[float]:
        """Seconds left at the current moving rate (None until a rate is known)."""
        if self._rate is None or self.total is None:
            return None
        return max(self.total - self._done, 0) / self._rate

    def __call__(self, done: int, total: Optional[int] = None, extra: str = "", rate: Optional[float] = None) -> None:
        """Report ``done`` units finished (of ``total``, if it changed); ``extra`` is shown beside the rate.

        ``rate``: units per second to show instead of the moving rate (the run's own figure at its end,
        so the bar's last rate is the one the summary prints).
        """
        if not self.enabled:
            return
        if total is not None:
            self.total = total
        if self._bar is None:
            self._start()
        self._update_rate(done)
        if rate is not None and rate > 0:
            self._rate = rate
        self._done = done
        self._bar.update(self._task, completed=done, total=self.total, rate=self._format_rate(self._rate),
                         extra=extra, eta=self._format_eta(self.eta()))

    def advance(self, units: int = 1, extra: str = "") -> None:
        """Report ``units`` more finished."""
        self(self._done + units, extra=extra)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __enter__(self) -> "FrameProgress":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
