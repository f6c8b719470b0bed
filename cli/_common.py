"""What every command shares: click settings, output-file and registry choices, the pipeline options
(errors: _errors.py, progress bars: _progress.py, logging: _logging.py)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, Iterable, Optional

import click

from posetrack.errors import PosetrackError

from ._errors import UserError

# click settings every command shares: -h, shown defaults, a readable width.
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100, "show_default": True}


def stderr_console():
    """A rich console on stderr; when stderr is not a terminal, wide enough that no line wraps mid-path."""
    from rich.console import Console

    return Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=10_000)



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


_REFINE_HELP = ("Refine each finished file offline: stitch fragments, re-identify people who leave and come back "
                "and undo id swaps where people meet (on colours: the video is read once more at the end), "
                "leave out poses that could as well be an unseen neighbour's (two people in one box), "
                "interpolate short gaps (marked \"interpolated\"), drop short tracks (the preset's refine settings; "
                "one step off: tracker: {refine: {ambiguous_iou: null}} in a --tracker-config YAML; README \"Tracking\").")


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
                     help=_REFINE_HELP),
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
