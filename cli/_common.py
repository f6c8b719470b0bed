"""What every command shares: error reporting, the pipeline options and one progress bar (logging: _logging.py)."""
from __future__ import annotations

import contextlib
import re
import sys
import time
from collections import deque
from pathlib import Path
from typing import Callable, Iterable, Optional

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


def stderr_console():
    """A rich console on stderr; when stderr is not a terminal, wide enough that no line wraps mid-path."""
    from rich.console import Console

    return Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=10_000)


# The one table from library settings to flags: where each setting a library error names
# (``err.fields``, set where it is raised) is given on each command's command line. A setting
# missing here is looked up among the command's options by name (``codec`` -> ``--codec``);
# one the command has no option for is left out.
_RUN_FIELDS = {"tracks": "--out", "tracks journal": "--out", "render": "--render",
               "posetrack2017": "--export-posetrack2017", "posetrack2018": "--export-posetrack2018",
               "coco": "--export-coco", "csv": "--export-csv", "source": "SOURCE", "boxes_file": "--boxes",
               "boxes_format": "--input-format", "mot": "--export-mot", "coco_dataset": "--export-coco-dataset",
               "sleap": "--export-sleap",
               "pose_weights": "--pose-weights", "detector_weights": "--detector-weights",
               "pose_model": "--pose-model", "tracker_config": "--tracker-config",
               "flow.raft_weights": "raft_weights: PATH in the flow: section of a --tracker-config YAML",
               "posetrack21": "--export-posetrack21", "posetrack21_gt": "--gt", "posetrack21_gt_dir": "--gt"}
_PT21_EXPORT = ("posetrack21", "posetrack21_gt", "posetrack21_gt_dir")
FIELD_FLAGS = {
    "run": _RUN_FIELDS,
    "track": {"tracks": "--out", "posetrack2017": "--export-posetrack2017", "posetrack2018": "--export-posetrack2018",
              "mot": "--export-mot", "coco_dataset": "--export-coco-dataset", "sleap": "--export-sleap",
              "poses": "POSES", "video": "--video", "tracker_config": "--config", "preset": "--tracker",
              "flow.raft_weights": "raft_weights: PATH in the flow: section of a --config YAML",
              "posetrack21": "--export-posetrack21", "posetrack21_gt": "--gt"},
    "render": {"out": "--out", "frames_dir": "--frames-dir", "source": "VIDEO", "tracks": "TRACKS"},
    "convert": {"out": "--out", "tracks": "TRACKS", "video": "--video"},
    "export": {"out": "--out", "detector_out": "--detector-out", "pose_weights": "--pose-weights",
               "detector_weights": "--detector-weights", "pose_model": "--pose-model"},
    "edit": {"tracks": "TRACKS", "count": "--undo", "edited": "--replay"},
    "review": {"tracks": "TRACKS", "video": "VIDEO"},
    # training settings are TrainConfig's (``section.field``); weights, freeze_stages, precision, seed, data,
    # out and resume are the option names themselves
    "train": {"config": "--config", "data.keypoints": "--keypoints", "data.detections": "--detections",
              "data.workers": "--workers", "optimizer.epochs": "--epochs", "optimizer.batch_size": "--batch-size",
              "optimizer.lr": "--lr"},
    "eval": {"json": "--json", "gt": "--gt", "pred": "--pred", "out_dir": "--out-dir", "dataset_root": "--dataset-root",
             "format": "--format", "workers": "--score-workers", "plot": "--plot",
             **{k: v for k, v in _RUN_FIELDS.items()
                if k not in ("tracks", "tracks journal", "source", *_PT21_EXPORT)}},
}


def flag_for(setting: str, command: Optional[click.Command]) -> Optional[str]:
    """How ``command`` spells a library setting (``boxes_file`` -> ``--boxes``; ``codec=mpeg4`` -> ``--codec mpeg4``).

    The setting may carry the value that would work (``name=value``). None when the
    command has no way to give it.
    """
    if command is None:
        return None
    name, _, value = setting.partition("=")
    table = FIELD_FLAGS.get(command.name or "", {})
    if name not in table and " " in name:     # "plot joints.png": one file of a folder setting
        name = name.split(" ", 1)[0]
    if name in table:
        flag = table[name]
        return f"{flag} {value}" if value and flag.startswith("--") else flag
    option = next((p for p in command.params if isinstance(p, click.Option) and p.name == name), None)
    if option is None:
        return None
    flag = max(option.opts, key=len)
    if option.is_flag and value.lower() in ("false", "0"):
        return option.secondary_opts[0] if option.secondary_opts else f"without {flag}"
    return f"{flag} {value}" if value and not option.is_flag else flag


def flag_hint(exc: BaseException, command: Optional[click.Command]) -> str:
    """The command-line spelling of the settings an error is about, e.g. ``--codec mpeg4, --frames-dir``.

    Reads the settings the library attached to the error (``exc.fields``), never its
    message; an existing output that cannot be resumed adds ``--force``.
    """
    from posetrack.errors import OutputExistsError

    flags = [flag_for(f, command) for f in getattr(exc, "fields", ())]
    if isinstance(exc, OutputExistsError) and not exc.resumable:
        flags.append("--force")
    return ", ".join(dict.fromkeys(f for f in flags if f))


def _message(exc: BaseException, command: Optional[click.Command]) -> str:
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        where = f"{exc.filename} -> {exc.filename2}" if exc.filename2 is not None else str(exc.filename)
        return f"{where}: {exc.strerror}"
    if isinstance(exc, MissingWeightsError) and exc.missing:
        flags = [flag_for(m[0], command) or m[0] for m in exc.missing]
        given = [f + " PATH" if f.startswith("--") else f for f in flags]
        return f"{exc}\nOn the command line: {'; '.join(dict.fromkeys(given))}."
    return str(exc) or type(exc).__name__


class OutputFile(click.Path):
    """A file to write. An existing folder is one line naming it (click's own check adds its usage text)."""

    name = "file"

    def __init__(self):
        super().__init__(path_type=Path)

    def convert(self, value, param, ctx):
        path = super().convert(value, param, ctx)
        if Path(path).is_dir():
            flag = f"{param.opts[-1]} takes a file name" if param is not None and param.opts else "a file name is expected"
            raise UserError(f"{path}: is a folder; {flag}")
        return path


def install_problem(exc: BaseException) -> Optional[str]:
    """The install problem behind an exception torch or torchvision raise, in words with the README's fix; else None.

    ``operator torchvision::nms does not exist`` (raised by ``import torchvision``) means torch and torchvision
    come from different builds, e.g. torch from PyTorch's CPU index and torchvision from PyPI.
    """
    text = str(exc)
    if isinstance(exc, (RuntimeError, ImportError)) and re.search(r"operator torchvision::\w+ does not exist", text):
        return ("torch and torchvision come from different builds (" + text.splitlines()[0] + "): an install problem, "
                "not a posetrack bug. Reinstall both from one index, e.g. pip install --force-reinstall torch "
                "torchvision --index-url https://download.pytorch.org/whl/cpu (README: Installing on a CPU-only machine)")
    return None


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
        hint = hint() if callable(hint) else hint        # a callable: the advice depends on what was kept
        if hint and hint.startswith("Interrupted"):
            click.secho(hint, fg="yellow", err=True)
        else:
            click.secho("Interrupted; finished work was kept." + (f" {hint}" if hint else ""), fg="yellow", err=True)
        raise click.exceptions.Exit(EXIT_INTERRUPTED)
    except Exception as e:
        if debug:
            raise
        install = install_problem(e)
        if install is not None:
            raise UserError(install + "  (--debug shows the traceback)") from e
        if isinstance(e, USER_ERRORS):
            name = ctx.invoked_subcommand
            command = ctx.command.get_command(ctx, name) if name and isinstance(ctx.command, click.Group) \
                else ctx.command
            message = _message(e, command)
            hint = flag_hint(e, command)
            if hint and not isinstance(e, MissingWeightsError):
                message += f"  [on the command line: {hint}]"
            raise UserError(message + "  (--debug shows the traceback)") from e
        raise UserError(f"internal error, a bug in posetrack: {type(e).__name__}: {_message(e, None)}  "
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

class RegistryChoice(click.Choice):
    """A :class:`click.Choice` whose values a library registry gives, read when first needed (help, a value).

    Args:
        names: returns the valid names, e.g. ``lambda: tuple(MATCHERS)``.
    """

    def __init__(self, names: Callable[[], Iterable[str]]):
        self._names = names
        self._choices: Optional[tuple] = None
        super().__init__((), case_sensitive=True)

    @property
    def choices(self) -> tuple:
        if self._choices is None:
            self._choices = tuple(self._names())
        return self._choices

    @choices.setter
    def choices(self, value) -> None:     # click.Choice.__init__ assigns the (empty) list
        pass


class LazyHelpOption(click.Option):
    """An option whose help text is written only when help is shown (it reads the tracker config).

    Args:
        lazy_help: returns the help text.
    """

    def __init__(self, *args, lazy_help: Callable[[], str], **kwargs):
        super().__init__(*args, **kwargs)
        self._lazy_help: Optional[Callable[[], str]] = lazy_help

    def get_help_record(self, ctx: click.Context):
        if self._lazy_help is not None:
            self.help, self._lazy_help = self._lazy_help(), None
        return super().get_help_record(ctx)


def pipeline_options(command):
    """The detector / pose / tracker options `run` and `eval --dataset-root` share.

    Defaults and ranges are :class:`posetrack.pipeline.options.RunOptions`'; choices come from
    the registries that use them, and help that names presets from the tracker config, both
    read only when needed (`posetrack eval --gt --pred` never imports them).
    """
    for option in reversed(_pipeline_options()):
        command = option(command)
    return command


def tracker_presets() -> tuple:
    """(preset names, the default first; the default preset's tracker and flow settings), for help texts."""
    from posetrack.tracking.config import default_preset, load_tracking_config, preset_names

    default = default_preset()
    tracker, flow = load_tracking_config()
    return (default, *(p for p in preset_names() if p != default)), tracker, flow


def pose_formats() -> tuple:
    """The formats ``track`` and ``convert`` read poses from (:data:`posetrack.io.formats.INPUT_FORMATS`)."""
    from posetrack.io.formats import INPUT_FORMATS

    return tuple(name for name, fmt in INPUT_FORMATS.items() if fmt.poses)


def _choices(name: str) -> Callable[[], tuple]:
    """The valid values of RunOptions' ``name``, from its registry (read when first needed)."""
    from posetrack.pipeline.options import option_choices

    return lambda: option_choices(name)[name]


def _tracker_help() -> str:
    presets = tracker_presets()[0]
    return (f"Tracker preset of --tracker-config: {' or '.join(presets)} (configs/tracker.yaml says what each does); "
            f"`none` saves untracked poses.  [default: {presets[0]}]")


def _pipeline_options() -> list:
    from posetrack.pipeline.options import INT_RANGES, defaults

    d = defaults()
    batch_max, every_max = INT_RANGES["batch_size"][1], INT_RANGES["detect_every"][1]
    return [
        click.option("--pose-model", default=d["pose_model"], show_default=True,
                     help="Pose model config (see `posetrack models`) or a YAML path."),
        click.option("--pose-weights", default=None,
                     help="Weights: a name from the model config (coco, posetrack18), a .pth/.safetensors file or a "
                          "URL.  [default: the config's default, coco]"),
        click.option("--detector", "detector_name", default=None,
                     help="torchvision detector name.  [default: from configs/detector.yaml]"),
        click.option("--detector-weights", type=click.Path(exists=True, dir_okay=False), default=None,
                     help="Local detector weights (offline use)."),
        click.option("--boxes", "boxes_file", type=click.Path(exists=True), default=None,
                     help="Precomputed boxes: a COCO detection-results JSON (image_id = 0-based frame), or another "
                          "tool's file (README \"Formats in and out\"). No detector is loaded."),
        click.option("--input-format", "boxes_format", type=RegistryChoice(_choices("boxes_format")), default=None,
                     help="The --boxes file's format.  [default: told from its content]"),
        click.option("--tracker", "tracker_mode", default=None, metavar="PRESET|none", cls=LazyHelpOption,
                     lazy_help=_tracker_help),
        click.option("--refine", is_flag=True, default=d["refine"],
                     help="Refine each finished file offline: stitch fragments, interpolate short gaps (marked "
                          "\"interpolated\"), drop short tracks (the preset's refine settings; README \"Tracking\")."),
        click.option("--tracker-config", default=d["tracker_config"], show_default=True,
                     help="Tracker settings: a config name or a YAML path."),
        click.option("--matching", type=RegistryChoice(_choices("matching")), default=None, cls=LazyHelpOption,
                     lazy_help=lambda: f"Override the tracker's matching.  [default: {tracker_presets()[1].matching}, "
                                       "from the preset]"),
        click.option("--flow", "flow_method", type=RegistryChoice(_choices("flow_method")), default=None,
                     cls=LazyHelpOption, lazy_help=lambda: "Optical flow for propagation and similarity.  "
                                                           f"[default: {tracker_presets()[2].method}]"),
        click.option("--detect-every", type=click.IntRange(min=1, max=every_max), default=d["detect_every"],
                     show_default=True, help="Run the detector on every N-th frame; flow-propagated boxes carry "
                                             "people in between (benchmarks/detect_every.py measures the cost)."),
        click.option("--device", default=d["device"], show_default=True,
                     help="auto, cpu, cuda, cuda:N, N (GPU index) or mps; checked before anything loads."),
        click.option("--precision", type=RegistryChoice(_choices("precision")), default=d["precision"],
                     show_default=True, help="Autocast type of the pose and detector networks. auto: fp16 on CUDA, "
                                             "fp32 on CPU (measured: README \"Speed\")."),
        click.option("--half", is_flag=True,
                     help="Same as --precision fp16 (on a CUDA GPU; ignored on CPU, with a warning)."),
        click.option("--backend", type=RegistryChoice(_choices("backend")), default=d["backend"],
                     show_default=True, help="Where the pose network runs (onnxruntime: pip install "
                                             "'posetrack[onnx]'; tensorrt: needs torch_tensorrt and a GPU)."),
        click.option("--compile", is_flag=True, default=d["compile"],
                     help="torch.compile the pose network (CUDA graphs on GPU; slow start)."),
        click.option("--batch-size", type=click.IntRange(min=1, max=batch_max), default=d["batch_size"],
                     show_default=True, help="Person crops per pose forward pass."),
        click.option("--frame-batch", type=click.IntRange(min=1, max=batch_max), default=d["frame_batch"],
                     show_default=True, help="Frames decoded, detected and estimated together."),
        click.option("--overlap/--no-overlap", default=d["overlap"], show_default=True,
                     help="Compute flow and write outputs on threads while poses are estimated (never changes a "
                          "result)."),
        click.option("--flip/--no-flip", default=d["flip"], show_default=True, help="Flip test (official setting)."),
        click.option("--decode", type=RegistryChoice(_choices("decode")), default=d["decode"],
                     show_default=True, help="Heatmap decoding: official argmax + quarter offset, or DARK."),
    ]


def _device(value: str) -> str:
    """--device as torch spells it ("0" -> "cuda:0"), or one red line when this machine lacks it."""
    if value.strip().lower() == "auto":     # never fails; resolved when models load
        return "auto"
    from posetrack.models.devices import resolve_device

    try:
        return resolve_device(value)
    except PosetrackError as e:
        raise UserError(str(e)) from None


def run_options(opts: dict):
    """The pipeline choices among a command's parsed options, as a :class:`posetrack.pipeline.options.RunOptions`.

    ``--half`` is the library's ``half`` keyword (``precision="half"``: float16 on CUDA only).
    ``--device`` is checked here, before any model loads, rather than while the command line is
    parsed: only the commands that load models build their options here, and checking a device
    imports torch (2-3 s that `eval --gt --pred` never needs).

    Raises:
        UserError: this machine lacks the device.
    """
    from posetrack.pipeline.options import RunOptions

    names = set(RunOptions.keywords())
    chosen = {k: v for k, v in opts.items() if k in names}
    if "device" in chosen:
        chosen["device"] = _device(chosen["device"])
    return RunOptions(**chosen)


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
