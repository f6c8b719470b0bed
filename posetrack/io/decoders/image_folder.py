"""A folder of images as a video: natural order, no frame times, damaged images named."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Iterator, List

import numpy as np

from posetrack.errors import InputError, SourceError
from posetrack.io.decoders.image_check import image_damage
from posetrack.io.decoders.common import IMAGE_SUFFIXES, Selection, chunks, list_images, log, quiet_opencv
from posetrack.types import Frame, VideoInfo


class ImageFolderReader:
    """A folder of images, one frame per file, in natural sort order; no times (see the module docstring)."""

    name = "images"
    exact_count = True

    def __init__(self, folder: Path, fps: float):
        self.folder = folder
        self.files = list_images(folder)
        others = sorted(p.name for p in folder.iterdir() if p.is_file() and p.suffix.lower() not in IMAGE_SUFFIXES)
        if not self.files:
            raise SourceError(f"{folder}: no images in this folder ({', '.join(IMAGE_SUFFIXES)})")
        if others:
            log.info("%s: ignoring %d file(s) that are not images (%s%s)", folder, len(others), others[0],
                     ", ..." if len(others) > 1 else "")
        if not (fps > 0 and math.isfinite(fps)):
            raise InputError(f"folder_fps must be a positive number, got {fps}")
        first = self._load(0)
        self.info = VideoInfo(str(folder), float(fps), first.shape[1], first.shape[0], len(self.files))

    def _load(self, i: int) -> np.ndarray:
        import cv2

        path = self.files[i]
        try:
            data = np.fromfile(path, np.uint8)   # any file name, UTF-8 or not (cv2.imread takes only UTF-8)
        except OSError as e:
            raise SourceError(f"{path}: cannot read this image (frame {i} of the folder; {e.strerror})") from None
        damage = image_damage(data.tobytes())
        bgr = None
        if damage is None and len(data):
            try:
                with quiet_opencv():
                    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
            except cv2.error:
                pass
        if bgr is None:
            raise SourceError(f"{path}: cannot read this image (frame {i} of the folder; "
                              f"{damage or 'the file is damaged or not an image'})")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def read(self, sel: Selection, batch_size: int) -> Iterator[List[Frame]]:
        for chunk in chunks(sel.indices, batch_size):
            frames = []
            for i in chunk:
                try:
                    image = self._load(i)
                    if image.shape[:2] != (self.info.height, self.info.width):
                        raise SourceError(f"{self.files[i]}: image is {image.shape[1]}x{image.shape[0]}, "
                                          f"the sequence is {self.info.width}x{self.info.height} "
                                          f"(frame {i} of the folder)")
                except SourceError:
                    if frames:
                        yield frames  # the frames before the bad image reach the consumer first
                    raise
                frames.append(Frame(i, image))
            yield frames

    def close(self) -> None:
        pass
