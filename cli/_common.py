"""What every command shares: error reporting, logging and option helpers."""
from __future__ import annotations

import contextlib
import logging

import click

# Exceptions whose message is meant for the user: shown as one line, no traceback.
USER_ERRORS = (OSError, ValueError, KeyError, RuntimeError)

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
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    return str(exc) or type(exc).__name__


@contextlib.contextmanager
def convert_errors(ctx: click.Context):
    """Library errors -> UserError (one line); KeyboardInterrupt -> exit 130. --debug re-raises."""
    try:
        yield
    except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
        raise
    except KeyboardInterrupt:
        click.secho("Interrupted; finished work was kept.", fg="yellow", err=True)
        raise click.exceptions.Exit(EXIT_INTERRUPTED)
    except USER_ERRORS as e:
        if (ctx.obj or {}).get("debug") or ctx.params.get("debug"):
            raise
        raise UserError(_message(e) + "  (--debug shows the traceback)") from e


def parse_id_list(value: str) -> list:
    """'3,7,12' -> [3, 7, 12]; a clear error otherwise."""
    try:
        return [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {value!r}") from None
