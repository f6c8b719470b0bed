"""The SOURCE argument of `run` and `render`: a video file, a folder of images, a camera index or a stream URL."""
from __future__ import annotations

from pathlib import Path
from typing import Union

import click


class SourceParam(click.ParamType):
    """An existing file or folder, a camera index (``0``) or a stream URL (``rtsp://``, ``http(s)://``, ...).

    Converts to a :class:`pathlib.Path` for files and folders, and leaves camera indices and
    URLs as strings (``posetrack.io.video.open_source`` takes both).
    """

    name = "source"

    def __init__(self, cameras: bool = True):
        self.cameras = cameras

    def convert(self, value, param, ctx) -> Union[Path, str]:
        from posetrack.io.video import is_live

        if isinstance(value, Path):
            return value
        text = str(value)
        if is_live(text):
            if text.strip().isdigit() and not self.cameras:
                self.fail(f"{text!r} is a camera index; a camera's frames cannot be read again to draw on "
                          "(render while running instead: posetrack run 0 --render out.mp4)", param, ctx)
            return text.strip() if text.strip().isdigit() else text
        path = Path(text)
        if not path.exists():
            self.fail(f"{text!r}: no such file or folder (a camera is a number such as 0; a stream is a URL "
                      "such as rtsp://host/path)", param, ctx)
        return path
