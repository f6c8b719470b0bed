"""The `posetrack` command line: a thin click group; each command lives in its own module.

Commands are imported only when invoked, and each imports the library (and rich) inside the
function that needs it, so `posetrack --help` never imports torch or cv2 and a command's
`--help` reads only the registries its choices come from.

Exit codes: 0 success, 1 a user-facing error (bad input, missing weights, ...),
2 a usage error (click), 130 interrupted with Ctrl-C (partial output is kept).
"""
from __future__ import annotations

import importlib
import sys

import click

from posetrack import __version__

from ._common import CONTEXT as CONTEXT_SETTINGS

# name -> (module, attribute, one-line help shown in `posetrack --help`)
COMMANDS = {
    "run": ("run", "run", "Detect, estimate and track poses in a video or image folder."),
    "track": ("track", "track", "Re-track saved poses (a tracks.json, or mmpose/AlphaPose/OpenPose/Ultralytics output)."),
    "eval": ("eval_cmd", "eval_cmd", "Score predictions against PoseTrack ground truth (mAP, MOTA; PoseTrack21 HOTA)."),
    "render": ("render", "render", "Draw tracked poses onto a video (H.264 MP4 or PNG frames)."),
    "convert": ("convert", "convert", "Write tracks (or other tools' poses) as MOT, COCO dataset, SLEAP, NWB, ..."),
    "models": ("models", "models", "List the pose models with parameters and GFLOPs."),
    "export": ("export", "export", "Export the pose network (and detector) to ONNX, checked with ONNX Runtime."),
    "edit": ("edit", "edit", "Fix track ids by hand: swap, merge, split, delete, relabel (recorded, undoable)."),
    "review": ("review", "review", "Review tracks on the video in the browser and fix ids with clicks."),
    "train": ("train", "train", "Train or fine-tune HRNet with the official recipe (COCO, PoseTrack, your own keypoints)."),
}



class LazyGroup(click.Group):
    """A group that imports a command's module only when that command runs."""

    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[name]
        return getattr(importlib.import_module(f"{__name__}.{module}"), attr)

    def parse_args(self, ctx, args):
        return super().parse_args(ctx, _hoist_debug(list(args)))

    def invoke(self, ctx):
        """Turn library errors into one red line (traceback only with --debug) and Ctrl-C into exit 130."""
        from ._errors import convert_errors

        _printable_streams()
        with convert_errors(ctx):
            return super().invoke(ctx)

    def format_commands(self, ctx, formatter):
        rows = [(name, COMMANDS[name][2]) for name in COMMANDS]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "-V", "--version", prog_name="posetrack")
@click.option("--debug", is_flag=True, help="Show full tracebacks and debug logs.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Multi-person pose tracking: HRNet keypoints + FlowTrack tracking.

    \b
    Typical use:
      posetrack run video.mp4 --out tracks.json         # detect, estimate, track
      posetrack render video.mp4 tracks.json --out annotated.mp4
      posetrack eval --gt gt/ --pred pred/              # PoseTrack mAP / MOTA
      posetrack models                                  # available pose models

    Run `posetrack COMMAND -h` for the options of each command.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    from ._logging import setup_logging

    setup_logging(debug)


def _printable_streams() -> None:
    """Print a file name whose bytes are not UTF-8 (``bad\\xffname.mp4``; Python holds it as U+DCFF) as
    ``bad\\udcffname.mp4`` on stdout too, as Python already does on stderr, instead of failing to print it."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure") and getattr(stream, "errors", None) == "strict":
            stream.reconfigure(errors="backslashreplace")


def _hoist_debug(argv: list) -> list:
    """Move ``--debug`` to the front wherever it was typed (before a ``--`` separator).

    click only accepts a group's options before the subcommand; users type
    ``posetrack run video.mp4 --debug`` after every error line suggests it.
    """
    cut = argv.index("--") if "--" in argv else len(argv)
    head = [a for a in argv[:cut] if a != "--debug"]
    if len(head) == cut:
        return argv
    return ["--debug", *head, *argv[cut:]]


def main(argv=None):
    """Console entry point."""
    return cli.main(args=argv, prog_name="posetrack")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
