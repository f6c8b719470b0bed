"""Logging for every command: INFO and above (DEBUG with --debug); rich's handler, built at the first record, on a terminal."""
from __future__ import annotations

import logging
import sys
from typing import Optional


def setup_logging(debug: bool) -> None:
    """Log INFO and above (DEBUG with --debug) on stderr: through rich's handler (built at the first
    record) on a terminal; elsewhere plain, one line per record, never wrapped mid-path."""
    if sys.stderr.isatty():
        handler: logging.Handler = RichOnFirstRecord(show_path=debug)
        fmt = "%(message)s"
    else:
        handler, fmt = logging.StreamHandler(sys.stderr), "%(levelname)-8s %(message)s"
    logging.basicConfig(level=logging.DEBUG if debug else logging.INFO, format=fmt, handlers=[handler], force=True)


class RichOnFirstRecord(logging.Handler):
    """rich's ``RichHandler(show_time=False, show_path=show_path, markup=False)``, built at the first record:
    importing rich.logging costs ~40 ms of start-up that a command logging nothing (`eval --gt --pred`) never
    needs. Records look exactly as that handler shows them; ``show_path`` (--debug) adds the file and line."""

    def __init__(self, show_path: bool = False):
        super().__init__()
        self.show_path = show_path
        self._rich: Optional[logging.Handler] = None

    def emit(self, record: logging.LogRecord) -> None:
        if self._rich is None:
            from rich.logging import RichHandler

            self._rich = RichHandler(show_time=False, show_path=self.show_path, markup=False)
            self._rich.setFormatter(self.formatter)
        self._rich.emit(record)
