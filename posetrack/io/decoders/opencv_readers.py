"""OpenCV readers: video files (the last fallback) and cameras."""
from __future__ import annotations

import time
from typing import Iterator, List

from posetrack.errors import SourceError
from posetrack.io.decoders.common import OpenFailed, Selection, fps_or_default, quiet_opencv
from posetrack.types import Frame, VideoInfo


class OpenCVReader:
    """OpenCV: sequential ``grab``/``read`` (exact frame positions, no keyframe seeking).

    OpenCV estimates the frame count from the duration when the container states none; it
    is the last fallback, and a decode that ends before that count is reported as cut off.
    """

    name = "opencv"

    def __init__(self, target: str, live: bool = False):
        import cv2

        self._target = target
        self.live = live
        with quiet_opencv():
            cap = cv2.VideoCapture(target)
        try:
            if not cap.isOpened():
                raise OpenFailed("OpenCV cannot open it")
            n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
            width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
            fps = cap.get(cv2.CAP_PROP_FPS)
        finally:
            cap.release()
        if width <= 0 or height <= 0 or (n <= 0 and not live):
            raise OpenFailed("no video frames")
        frames = None if live and n <= 0 else n
        self.exact_count = not live
        self.info = VideoInfo(target, fps_or_default(fps, target), width, height, frames, live)

    def read(self, sel: Selection, batch_size: int) -> Iterator[List[Frame]]:
        import cv2

        with quiet_opencv():
            cap = cv2.VideoCapture(self._target)
        try:
            index, frames = -1, []
            while not sel.past(index + 1):
                if index + 1 not in sel:  # skip by grabbing: exact, unlike CAP_PROP_POS_FRAMES seeks
                    if not cap.grab():
                        break
                    index += 1
                    continue
                ok, bgr = cap.read()
                if not ok:
                    break
                index += 1
                t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                frames.append(Frame(index, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), t))
                if len(frames) == batch_size:
                    yield frames
                    frames = []
                if sel.done(index):
                    break
            if frames:
                yield frames
        finally:
            cap.release()

    def close(self) -> None:
        pass



class CameraReader:
    """A camera by index (OpenCV), read until it stops or the selection ends; timed by the monotonic clock."""

    name = "camera"
    exact_count = False

    def __init__(self, index: int):
        import cv2

        self.index = index
        with quiet_opencv():
            self._cap = cv2.VideoCapture(index)
        if not self._cap.isOpened():
            self._cap.release()
            raise SourceError(f"camera {index}: cannot open it (no such camera, or another program is using it)")
        ok, bgr = self._cap.read()
        if not ok or bgr is None:
            self._cap.release()
            raise SourceError(f"camera {index}: opened, but it delivers no frames")
        self._first = bgr
        height, width = bgr.shape[:2]
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.info = VideoInfo(str(index), fps_or_default(fps, f"camera {index}"), int(width), int(height), None,
                              True)

    def read(self, sel: Selection, batch_size: int) -> Iterator[List[Frame]]:
        import cv2

        if self._cap is None:
            with quiet_opencv():
                self._cap = cv2.VideoCapture(self.index)
        cap = self._cap
        self._cap = None
        first, self._first = self._first, None
        t0 = time.monotonic()
        index, frames = -1, []
        try:
            while True:
                bgr = first if first is not None else cap.read()[1]
                first = None
                if bgr is None:
                    break
                index += 1
                if index in sel:
                    frames.append(Frame(index, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), time.monotonic() - t0))
                    if len(frames) == batch_size:
                        yield frames
                        frames = []
                if sel.done(index):
                    break
            if frames:
                yield frames
        finally:
            cap.release()

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
