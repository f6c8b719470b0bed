"""What every command shares: error reporting, logging, the pipeline options and one progress bar."""
from __future__ import annotations

import contextlib
import logging
import re
import time
from collections import deque
from typing import Optional

import click

from posetrack.errors import MissingWeightsError, PosetrackError

# Exceptions whose message is meant for the user: shown as one line, no traceback. Anything
# else is a bug in posetrack and is reported as one.
USER_ERRORS = (PosetrackError, OSError)

# click settings every command shares: -h, shown defaults, a readable width.
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100, "show_default": True}

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


class UserError(click.ClickException):
    """An error with a message for the user (exit code 1)."""

    exit_code = EXIT_ERROR

    def show(self, file=None) -> None:
        click.secho(f"Error: {self.format_message()}", fg="red", err=True)


def setup_logging(debug: bool) -> None:
    from rich.logging import RichHandler

    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(show_time=False, show_path=debug, markup=False)],
        force=True,
    )


# Where each weights setting is given on the command line (the library names settings, not flags).
WEIGHTS_FLAGS = {
    "pose_weights": "--pose-weights PATH",
    "detector_weights": "--detector-weights PATH",
    "flow.raft_weights": "raft_weights: PATH in the flow: section of a --tracker-config YAML",
}


# Where each library setting named by an output check (posetrack.io.guard) is given, per command.
_RUN_FIELDS = {"tracks": "--out", "tracks journal": "--out", "render": "--render",
               "posetrack2017": "--export-posetrack2017", "posetrack2018": "--export-posetrack2018",
               "coco": "--export-coco", "csv": "--export-csv", "source": "SOURCE", "boxes_file": "--boxes",
               "boxes_format": "--input-format", "mot": "--export-mot", "coco_dataset": "--export-coco-dataset",
               "sleap": "--export-sleap",
               "pose_weights": "--pose-weights", "detector_weights": "--detector-weights",
               "pose_model": "--pose-model", "tracker_config": "--tracker-config"}
FIELD_FLAGS = {
    "run": _RUN_FIELDS,
    "track": {"tracks": "--out", "posetrack2017": "--export-posetrack2017", "posetrack2018": "--export-posetrack2018",
              "mot": "--export-mot", "coco_dataset": "--export-coco-dataset", "sleap": "--export-sleap",
              "poses": "POSES", "video": "--video", "tracker_config": "--config"},
    "render": {"out": "--out", "frames_dir": "--frames-dir", "source": "VIDEO", "tracks": "TRACKS"},
    "convert": {"out": "--out", "tracks": "TRACKS", "video": "--video"},
    "export": {"out": "--out", "detector_out": "--detector-out", "pose_weights": "--pose-weights",
               "detector_weights": "--detector-weights", "pose_model": "--pose-model"},
    "eval": {"json": "--json", "gt": "--gt", "pred": "--pred", "out_dir": "--out-dir", "dataset_root": "--dataset-root",
             **{k: v for k, v in _RUN_FIELDS.items() if k not in ("tracks", "tracks journal", "source")}},
}


def output_flags(exc: BaseException, command: Optional[str]) -> list:
    """The flags behind an output check's error: the settings it names, and --force for an existing output."""
    from posetrack.errors import OutputExistsError, PathConflictError

    flags = FIELD_FLAGS.get(command or "", {})
    fields = exc.fields if isinstance(exc, PathConflictError) else (
        (exc.field,) if isinstance(exc, OutputExistsError) and exc.field else ())
    named = [flags[f] for f in fields if f in flags]
    if isinstance(exc, OutputExistsError) and not exc.resumable:
        named.append("--force")
    return named


def _message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        where = f"{exc.filename} -> {exc.filename2}" if exc.filename2 is not None else str(exc.filename)
        return f"{where}: {exc.strerror}"
    if isinstance(exc, MissingWeightsError) and exc.missing:
        flags = [WEIGHTS_FLAGS.get(m[0], m[0]) for m in exc.missing]
        return f"{exc}\nOn the command line: {'; '.join(dict.fromkeys(flags))}."
    return str(exc) or type(exc).__name__


# A setting named in a library message: `frames_dir` (snake case), or `codec="mpeg4"` (a value given).
_SETTING = re.compile(r"\b([a-z][a-z0-9]*(?:_[a-z0-9]+)+|[a-z][a-z0-9]*(?==))(?:=\"?([^\s\",;)]+)\"?)?")


def flag_hint(message: str, command: Optional[click.Command]) -> str:
    """The command-line spelling of the settings a library message names, e.g. ``--codec mpeg4, --frames-dir``.

    Library messages name settings as fields (``frames_dir``, ``codec="mpeg4"``); the
    command knows which of its options sets each field. Names it has no option for are left out.
    """
    if command is None:
        return ""
    options = {p.name: p for p in command.params if isinstance(p, click.Option)}
    flags = []
    for name, value in _SETTING.findall(message):
        option = options.get(name)
        if option is None:
            continue
        flag = max(option.opts, key=len)
        if option.is_flag and value.lower() in ("false", "0"):
            flag = option.secondary_opts[0] if option.secondary_opts else f"without {flag}"
        elif value and not option.is_flag:
            flag += f" {value}"
        flags.append(flag)
    return ", ".join(dict.fromkeys(flags))


@contextlib.contextmanager
def convert_errors(ctx: click.Context):
    """posetrack errors and OS errors -> one red line (exit 1); KeyboardInterrupt -> exit 130.

    Any other exception is a bug: it is reported as one, with its type, and the hint to
    rerun with ``--debug`` for the traceback. ``--debug`` re-raises everything.
    """
    debug = bool((ctx.obj or {}).get("debug") or ctx.params.get("debug"))
    try:
        yield
    except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
        raise
    except KeyboardInterrupt:
        hint = (ctx.obj or {}).get("interrupt_hint")
        click.secho("Interrupted; finished work was kept." + (f" {hint}" if hint else ""), fg="yellow", err=True)
        raise click.exceptions.Exit(EXIT_INTERRUPTED)
    except Exception as e:
        if debug:
            raise
        if isinstance(e, USER_ERRORS):
            message = _message(e)
            name = ctx.invoked_subcommand
            hint = flag_hint(message, ctx.command.get_command(ctx, name) if name and isinstance(
                ctx.command, click.Group) else ctx.command)
            extra = output_flags(e, name or ctx.info_name)
            if extra:
                hint = ", ".join(dict.fromkeys(extra + ([hint] if hint else [])))
            if hint and not isinstance(e, MissingWeightsError):
                message += f"  [on the command line: {hint}]"
            raise UserError(message + "  (--debug shows the traceback)") from e
        raise UserError(f"internal error, a bug in posetrack: {type(e).__name__}: {_message(e)}  "
                        f"(rerun with --debug for the traceback, and please report it)") from e


def parse_id_list(value: str) -> list:
    """'3,7,12' -> [3, 7, 12]; a clear error otherwise (track ids are int64, as in tracks files)."""
    try:
        ids = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {value!r}") from None
    for i in ids:
        if not -2 ** 63 <= i < 2 ** 63:
            text = str(i) if len(str(i)) <= 24 else f"{str(i)[:12]}...({len(str(i))} digits)"
            raise click.BadParameter(f"track ids are 64-bit integers; {text} is out of range")
    return ids


# ---------------------------------------------------------------- options shared by run and eval

def pipeline_options(command):
    """The detector / pose / tracker options `run` and `eval --dataset-root` share."""
    for option in reversed(_PIPELINE_OPTIONS):
        command = option(command)
    return command


_PIPELINE_OPTIONS = [
    click.option("--pose-model", default="w48_384x288", show_default=True,
              help="Pose model config (see `posetrack models`) or a YAML path."),
    click.option("--pose-weights", default=None,
              help="Weights: a name from the model config (coco, posetrack18), a .pth/.safetensors file or a URL."
                   "  [default: the config's default, coco]"),
    click.option("--detector", "detector_name", default=None,
              help="torchvision detector name.  [default: from configs/detector.yaml]"),
    click.option("--detector-weights", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Local detector weights (offline use)."),
    click.option("--boxes", "boxes_file", type=click.Path(exists=True), default=None,
              help="Precomputed boxes: a COCO detection-results JSON (image_id = 0-based frame), or another tool's "
                   "file (README \"Formats in and out\"). No detector is loaded."),
    click.option("--input-format", "boxes_format", default=None, metavar="FORMAT",
              type=click.Choice(["coco", "mmpose", "alphapose", "openpose", "ultralytics", "mot"]),
              help="The --boxes file's format.  [default: told from its content]"),
    click.option("--tracker", "tracker_mode", default=None, metavar="PRESET|none",
              help="Tracker preset of --tracker-config: robust or flowtrack (the paper's, as published); `none` "
                   "saves untracked poses.  [default: robust]"),
    click.option("--refine", is_flag=True,
              help="Refine each finished file offline: stitch fragments, interpolate short gaps (marked "
                   "\"interpolated\"), drop short tracks (the preset's refine settings; README \"Tracking\")."),
    click.option("--tracker-config", default="tracker", show_default=True,
              help="Tracker settings: a config name or a YAML path."),
    click.option("--matching", type=click.Choice(["greedy", "hungarian"]), default=None,
              help="Override the tracker's matching.  [default: greedy, as the paper]"),
    click.option("--flow", "flow_method", type=click.Choice(["dis", "raft", "none"]), default=None,
              help="Optical flow for propagation and similarity.  [default: dis]"),
    click.option("--detect-every", type=click.IntRange(min=1, max=10_000_000), default=1, show_default=True,
              help="Run the detector on every N-th frame; flow-propagated boxes carry people in between "
                   "(benchmarks/detect_every.py measures the cost)."),
    click.option("--device", default="auto", show_default=True, callback=lambda ctx, param, value: _device(value),
              help="auto, cpu, cuda, cuda:N, N (GPU index) or mps; checked before anything loads."),
    click.option("--precision", type=click.Choice(["auto", "fp32", "fp16", "bf16"]), default="auto",
              show_default=True, help="Autocast type of the pose and detector networks. auto: fp16 on CUDA, fp32 on "
                                      "CPU (measured: README \"Speed\")."),
    click.option("--half", is_flag=True, help="Same as --precision fp16 (on a CUDA GPU; ignored on CPU, with a warning)."),
    click.option("--backend", type=click.Choice(["torch", "onnxruntime", "tensorrt"]), default="torch",
              show_default=True, help="Where the pose network runs (onnxruntime: pip install 'posetrack[onnx]'; "
                                      "tensorrt: needs torch_tensorrt and a GPU)."),
    click.option("--compile", is_flag=True, help="torch.compile the pose network (CUDA graphs on GPU; slow start)."),
    click.option("--batch-size", type=click.IntRange(min=1, max=65536), default=32, show_default=True,
              help="Person crops per pose forward pass."),
    click.option("--frame-batch", type=click.IntRange(min=1, max=65536), default=8, show_default=True,
              help="Frames decoded, detected and estimated together."),
    click.option("--overlap/--no-overlap", default=True, show_default=True,
              help="Compute flow and write outputs on threads while poses are estimated (never changes a result)."),
    click.option("--flip/--no-flip", default=True, show_default=True, help="Flip test (official setting)."),
    click.option("--decode", type=click.Choice(["argmax", "dark"]), default="argmax", show_default=True,
              help="Heatmap decoding: official argmax + quarter offset, or DARK."),
]


def _device(value: str) -> str:
    """--device as torch spells it ("0" -> "cuda:0"), or one red line when this machine lacks it."""
    from posetrack.models.devices import resolve_device

    if value.strip().lower() == "auto":     # never fails; resolved when models load (checking needs torch,
        return "auto"                       # 2-3 s of import that `eval` without --dataset-root never needs)
    try:
        return resolve_device(value)
    except PosetrackError as e:
        raise UserError(str(e)) from None


def run_options(opts: dict):
    """The pipeline choices among a command's parsed options, as a :class:`posetrack.pipeline.runner.RunOptions`."""
    import dataclasses

    from posetrack.pipeline.runner import RunOptions

    names = {f.name for f in dataclasses.fields(RunOptions)}
    return RunOptions(**{k: v for k, v in opts.items() if k in names})


# ---------------------------------------------------------------- progress

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

    def __call__(self, done: int, total: Optional[int] = None, extra: str = "") -> None:
        """Report ``done`` units finished (of ``total``, if it changed); ``extra`` is shown beside the rate."""
        if not self.enabled:
            return
        if total is not None:
            self.total = total
        if self._bar is None:
            self._start()
        self._update_rate(done)
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
