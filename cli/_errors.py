"""How every command reports errors: library and OS errors as one red line naming the flag at fault,
Ctrl-C as exit 130, anything else as a bug (tracebacks only with --debug)."""
from __future__ import annotations

import contextlib
import errno
import re
from typing import Optional

import click

from posetrack.errors import MissingWeightsError, PosetrackError

# Exceptions whose message is meant for the user: shown as one line, no traceback. Anything
# else is a bug in posetrack and is reported as one.
USER_ERRORS = (PosetrackError, OSError)

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130

# Ctrl-C in a command that keeps no work: it writes each output whole at its end (posetrack.io.atomic),
# so there is nothing half-written, and nothing to continue from.
INTERRUPTED_WHOLE = ("Interrupted; no output is left half-written (each is written whole, at the end): run the "
                     "command again (with --force if some outputs were already written).")


class UserError(click.ClickException):
    """An error with a message for the user (exit code 1)."""

    exit_code = EXIT_ERROR

    def show(self, file=None) -> None:
        click.secho(f"Error: {self.format_message()}", fg="red", err=True)



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


def _file_in_the_way(path) -> Optional[str]:
    """The nearest existing parent of ``path`` when it is a file, not a folder (else None)."""
    import os
    from pathlib import Path

    for parent in Path(os.fsdecode(path)).parents:
        if parent.exists():
            return None if parent.is_dir() else str(parent)
    return None


def _message(exc: BaseException, command: Optional[click.Command]) -> str:
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        where = f"{exc.filename} -> {exc.filename2}" if exc.filename2 is not None else str(exc.filename)
        blocker = _file_in_the_way(exc.filename) if exc.errno in (errno.EEXIST, errno.ENOTDIR) else None
        if blocker is not None:      # mkdir says "File exists", open says "Not a directory": neither names it
            return f"{where}: cannot make the folder {blocker}: it is a file"
        return f"{where}: {exc.strerror}"
    if isinstance(exc, MissingWeightsError) and exc.missing:
        flags = [flag_for(m[0], command) or m[0] for m in exc.missing]
        given = [f + " PATH" if f.startswith("--") else f for f in flags]
        boxes = flag_for("boxes_file", command)        # run, eval: boxes from a file replace the detector
        instead = (f", or {boxes} FILE in place of the detector"
                   if boxes and any(m[0] == "detector_weights" for m in exc.missing) else "")
        return f"{exc}\nOn the command line: {'; '.join(dict.fromkeys(given))}{instead}."
    return str(exc) or type(exc).__name__



def install_problem(exc: BaseException) -> Optional[str]:
    """The install problem behind an exception torch or torchvision raise, in words with the README's fix; else None.

    ``operator torchvision::nms does not exist`` (raised by ``import torchvision``) means torch and torchvision
    come from different builds, e.g. torch from PyTorch's CPU index and torchvision from PyPI.
    """
    text = str(exc)
    if isinstance(exc, (RuntimeError, ImportError)) and re.search(r"operator torchvision::\w+ does not exist", text):
        return ("torch and torchvision come from different builds (" + text.splitlines()[0] + "): an install problem, "
                "not a posetrack bug. Reinstall both from one index, e.g. pip install --force-reinstall torch "
                "torchvision --index-url https://download.pytorch.org/whl/cpu, or, where that index cannot be reached, "
                "both from PyPI: pip install --force-reinstall torch torchvision (README: Installing on a CPU-only "
                "machine)")
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
            click.secho((f"Interrupted; finished work was kept. {hint}" if hint else INTERRUPTED_WHOLE),
                        fg="yellow", err=True)
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

