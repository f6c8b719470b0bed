"""What `run` and `eval --dataset-root` show for many videos: one overall bar, per-worker lines, a summary."""
from __future__ import annotations

from typing import Dict, Optional

import click

from ._common import RegistryChoice, stderr_console
from ._progress import FrameProgress


def _engines() -> tuple:
    from posetrack.pipeline.engines import ENGINES

    return tuple(ENGINES)


def engine_options(command):
    """--engine, --workers, --gpus-per-worker, --cpus-per-worker, --address: batch options of `run` and `eval`."""
    options = [
        click.option("--engine", type=RegistryChoice(_engines), default="local", show_default=True,
                     help="Where the videos of a batch run; ray needs pip install \"posetrack[ray]\"."),
        click.option("--workers", type=click.IntRange(min=1), default=None,
                     help="local: worker processes, one per GPU when there are GPUs [default: 1, in this "
                          "process]; ray: actors [default: one per GPU, else one per CPU]."),
        click.option("--gpus-per-worker", type=click.FloatRange(min=0), default=None,
                     help="Ray: GPU share of each actor (0.5: two per GPU).  [default: 1 with GPUs, else 0]"),
        click.option("--cpus-per-worker", type=click.IntRange(min=1), default=None,
                     help="Ray: CPU cores each actor reserves for decoding, optical flow and CPU inference.  "
                          "[default: 1]"),
        click.option("--address", default=None,
                     help="Ray: 'auto' joins this machine's cluster (ray start), HOST:PORT joins that one.  "
                          "[default: start Ray here]"),
        click.option("--threads", type=click.IntRange(min=1), default=None,
                     help="CPU threads each video is computed with, on every engine; the same count gives the same "
                          "bytes (README: Determinism).  [default: torch's in this process; cores / N for N worker processes; Ray: --cpus-per-worker]"),
    ]
    for option in reversed(options):
        command = option(command)
    return command


ENGINE_OPTIONS = ("engine", "workers", "gpus_per_worker", "cpus_per_worker", "address", "threads")


def make_engine(engine: str = "local", workers=None, gpus_per_worker=None, cpus_per_worker=None, address=None,
                threads=None):
    """The engine the options name; a usage error for an option that does not apply to it."""
    from posetrack.pipeline.engines import get_engine

    given = {k: v for k, v in dict(workers=workers, gpus_per_worker=gpus_per_worker, cpus_per_worker=cpus_per_worker,
                                   address=address, threads=threads).items() if v is not None}
    allowed = {"local": {"workers", "threads"},
               "ray": {"workers", "gpus_per_worker", "cpus_per_worker", "address", "threads"}}[engine]
    wrong = sorted(set(given) - allowed)
    if wrong:
        raise click.UsageError(", ".join("--" + w.replace("_", "-") for w in wrong) + f": not an option of "
                               f"--engine {engine}")
    return get_engine(engine, **given)


class BatchProgress:
    """An engine's event listener drawing one overall bar and, with several workers, one line per worker.

    The overall bar counts videos and frames (frames of videos not started yet are
    estimated from the mean length of those started), the aggregate frame rate (all
    workers together, a moving average) and the ETA at that rate.

    Args:
        videos: videos in the batch.
        enabled: False makes it a no-op (``--quiet``).
    """

    def __init__(self, videos: int, enabled: bool = True):
        self.videos = videos
        self.enabled = enabled
        self.finished = 0
        self._totals: Dict[int, int] = {}      # job -> frames it runs (earlier attempts included)
        self._done: Dict[int, int] = {}        # job -> frames done (earlier attempts included)
        self._base: Dict[int, int] = {}        # job -> frames done by earlier attempts
        self._no_frames = 0                    # finished without frame counts (skipped, failed early)
        self._rate = FrameProgress(enabled=False)    # only its moving-rate arithmetic
        self._bar = None
        self._overall = None
        self._workers: Dict[str, int] = {}

    # ---------------------------------------------------------------- events

    def __call__(self, event) -> None:
        from posetrack.pipeline.batch import FramesDone, VideoFinished, VideoStarted

        if isinstance(event, VideoStarted):
            self._base[event.index] = self._done.get(event.index, 0)
            self._worker(event.worker, f"{event.name}" + (f" (attempt {event.attempt})" if event.attempt > 1 else ""))
        elif isinstance(event, FramesDone):
            base = self._base.get(event.index, 0)
            self._done[event.index] = base + event.done
            self._totals[event.index] = base + event.total
            self._worker(event.worker, f"{event.name} {event.done}/{event.total} frames {event.fps:5.1f} fps")
        elif isinstance(event, VideoFinished):
            self.finished += 1
            r = event.result
            if r.index not in self._totals:
                self._no_frames += 1
            elif r.status in ("done", "resumed"):
                self._done[r.index] = self._totals[r.index]
            if r.worker:
                self._worker(r.worker.split(" (")[0], "idle")
        self._draw()

    # ---------------------------------------------------------------- drawing

    def _start(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn

        self._bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(bar_width=30),
                             TextColumn("{task.fields[info]}"), console=Console(stderr=True))
        self._bar.start()
        self._overall = self._bar.add_task("videos", total=1, info="")

    def _worker(self, name: str, text: str) -> None:
        from rich.markup import escape

        if not self.enabled or name == "main":
            return
        if self._bar is None:
            self._start()
        if name not in self._workers:
            self._workers[name] = self._bar.add_task(f"  {escape(name)}", total=None, info="")
        self._bar.update(self._workers[name], info=escape(text))     # video names are printed as they are

    def frames(self) -> tuple:
        """(frames done, frames expected) over the batch; unstarted videos count the mean length."""
        done = sum(self._done.values())
        known = len(self._totals)
        left = max(self.videos - self._no_frames - known, 0)
        total = sum(self._totals.values()) + (left * sum(self._totals.values()) / known if known else 0)
        return done, int(round(total))

    def _draw(self) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            self._start()
        done, total = self.frames()
        self._rate._update_rate(done)
        rate = self._rate._rate
        eta = None if not rate or not total else max(total - done, 0) / rate
        rate_text = FrameProgress._format_rate(rate) if rate else "   - fps"
        info = (f"{self.finished}/{self.videos} videos  {done}/{'~' if self.finished < self.videos else ''}{total} "
                f"frames  {rate_text}  {FrameProgress._format_eta(eta)}")
        self._bar.update(self._overall, completed=self.finished, total=self.videos, info=info)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __enter__(self) -> "BatchProgress":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def print_summary(result, where: Optional[str] = None) -> None:
    """The per-video table (frames, people, tracks, fps, status) and one red line per failure."""
    from rich.table import Table
    from rich.text import Text

    ok = sum(v.ok for v in result.videos)
    fps = result.frames_run / result.seconds if result.seconds > 0 else 0.0
    title = (f"{ok} of {len(result.videos)} videos done ({result.engine} engine, {result.seconds:.1f} s, "
             f"{result.frames_run} frames run at {fps:.1f} fps)" + (f" -> {where}" if where else ""))
    click.echo(title, err=True)              # a plain line: the path is never wrapped, nor read as markup
    table = Table()
    for name, justify in (("video", "left"), ("frames", "right"), ("people", "right"), ("tracks", "right"),
                          ("fps", "right"), ("status", "left")):
        table.add_column(name, justify=justify)
    colours = {"failed": "red", "interrupted": "yellow", "not run": "yellow", "skipped": "dim"}
    for v in result.videos:
        status = v.status + (f" (attempt {v.attempts})" if v.attempts > 1 else "")
        colour = colours.get(v.status)
        table.add_row(Text(v.name), str(v.frames), str(v.people), str(v.tracks), "-" if v.fps is None else f"{v.fps:.1f}",
                      f"[{colour}]{status}[/{colour}]" if colour else status)
    stderr_console().print(table)
    for v in result.videos:
        for note in v.notes:
            if not note.startswith("wrote "):
                click.secho(f"{v.name}: {note}", fg="yellow", err=True)
    for v in result.failed:
        click.secho(f"failed: {v.name} ({v.source}): {v.error}", fg="red", err=True)
