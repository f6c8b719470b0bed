"""Frames of a source by index, as JPEG bytes, decoded with posetrack's own readers.

The review page shows whatever ``posetrack run`` reads (video files through PyAV or OpenCV,
image folders), not only what browsers play. Video readers decode forward only: a request ahead
of the decoder continues it (playing and stepping cost one frame each; frames skipped on a long
jump are decoded but not encoded), a request behind it opens the video again (decoding from its
start); an image folder opens at any frame. Encoded frames are kept in a least-recently-used
cache bounded in bytes, so stepping back over frames already seen is free.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Iterator, Optional, Union

from posetrack.errors import InputError
from posetrack.io.video import FrameSource, is_live, open_source
from posetrack.types import Frame, VideoInfo

__all__ = ["JpegFrames"]


class JpegFrames:
    """JPEG frames of one video file or image folder, by frame index (thread-safe).

    Args:
        source: a video file or a folder of images (not a camera or stream: a review
            jumps back and forth).
        quality: JPEG quality, 1-100.
        cache_bytes: most bytes of encoded frames kept.
        keep: frames before a requested one that are encoded on the way (to step back to).

    Raises:
        InputError: a camera or stream. Errors of :func:`posetrack.io.video.open_source` otherwise.
    """

    def __init__(self, source: Union[str, os.PathLike], quality: int = 85, cache_bytes: int = 256 << 20,
                 keep: int = 30):
        if is_live(str(source)):
            raise InputError(f"{source}: a camera or stream cannot be reviewed (its frames cannot be read "
                             "again); record it to a file first")
        self.source = source
        self.quality = quality
        self.cache_bytes = cache_bytes
        self.keep = keep
        self._lock = threading.Lock()
        self._cache: "OrderedDict[int, bytes]" = OrderedDict()
        self._size = 0
        self._reader: Optional[FrameSource] = None
        self._frames: Optional[Iterator[Frame]] = None
        self._next = 0
        with open_source(source) as probe:
            self.info: VideoInfo = probe.info

    def jpeg(self, index: int) -> Optional[bytes]:
        """Frame ``index`` as JPEG bytes, or None when the source has no such frame."""
        with self._lock:
            cached = self._cache.get(index)
            if cached is not None:
                self._cache.move_to_end(index)
                return cached
            if index < 0 or (self.info.frames is not None and index >= self.info.frames):
                return None
            seekable = self._reader is not None and self._reader.backend == "images"
            if self._frames is None or index < self._next or (seekable and index > self._next + self.keep):
                self._open_at(index)
            return self._decode_to(index)

    def _open_at(self, index: int) -> None:
        self.close_reader()
        self._reader = open_source(self.source, start=index)
        self._frames = iter(self._reader)
        self._next = index

    def _decode_to(self, index: int) -> Optional[bytes]:
        for frame in self._frames:
            self._next = frame.index + 1
            if frame.index < index - self.keep:
                continue
            data = self._encode(frame)
            self._store(frame.index, data)
            if frame.index >= index:
                return data if frame.index == index else None
        self.close_reader()
        return None

    def _encode(self, frame: Frame) -> bytes:
        import cv2

        ok, buf = cv2.imencode(".jpg", frame.image[..., ::-1], [int(cv2.IMWRITE_JPEG_QUALITY), int(self.quality)])
        if not ok:
            raise InputError(f"{self.source}: frame {frame.index} could not be encoded as JPEG")
        return buf.tobytes()

    def _store(self, index: int, data: bytes) -> None:
        self._cache[index] = data
        self._size += len(data)
        while self._size > self.cache_bytes and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._size -= len(old)

    def close_reader(self) -> None:
        if self._reader is not None:
            self._reader.close()
        self._reader, self._frames = None, None

    def close(self) -> None:
        """Stop decoding and release the source."""
        with self._lock:
            self.close_reader()
