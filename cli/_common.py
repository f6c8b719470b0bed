"""What every command shares: error reporting, logging and option helpers."""
from __future__ import annotations

import contextlib
import logging

import click

from posetrack.errors import PosetrackError

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


def _message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        where = f"{exc.filename} -> {exc.filename2}" if exc.filename2 is not None else str(exc.filename)
        return f"{where}: {exc.strerror}"
    return str(exc) or type(exc).__name__


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
            raise UserError(_message(e) + "  (--debug shows the traceback)") from e
        raise UserError(f"internal error, a bug in posetrack: {type(e).__name__}: {_message(e)}  "
                        f"(rerun with --debug for the traceback, and please report it)") from e


def parse_id_list(value: str) -> list:
    """'3,7,12' -> [3, 7, 12]; a clear error otherwise."""
    try:
        return [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {value!r}") from None
