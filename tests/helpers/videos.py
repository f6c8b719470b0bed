"""Synthetic videos: THE maker (:func:`write_video`, PyAV, any codec and container), image folders,
frames that show their index, reading a video back, and a stand-in camera.

Frame i of :func:`coded_frame` shows its index as six black/white vertical bars (bit b of i ->
bar b), which survives lossy codecs, so a decoded frame tells which source frame it is (:func:`which`).
Images are RGB, (H, W, 3) uint8, as posetrack's sources deliver them.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

BITS = 6

# 33 ms gaps for ten frames, then 200 ms gaps: a variable-frame-rate clip's true frame times (seconds).
VFR_TIMES = [0.033 * i for i in range(10)] + [0.033 * 9 + 0.2 * (k + 1) for k in range(10)]


def coded_frame(i: int, w: int, h: int) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    bar = max(w // BITS, 1)
    for b in range(BITS):
        if i >> b & 1:
            img[:, b * bar:(b + 1) * bar] = 255
    return img


def which(image) -> int:
    """The source frame index a decoded frame of ``coded_frame`` shows (an image, or a Frame)."""
    image = getattr(image, "image", image)
    w = image.shape[1]
    bar = max(w // BITS, 1)
    centres = image[:, [b * bar + bar // 2 for b in range(BITS)]].mean(axis=(0, 2))
    return int(sum(1 << b for b, v in enumerate(centres) if v > 128))


def write_video(path, n: int = 20, size=(160, 120), fps: float = 25, codec: str = "libx264",
                pix_fmt: str = "yuv420p", times: Optional[Sequence[float]] = None, faststart: bool = True,
                gop: int = 5, image: Callable[[int, int, int], np.ndarray] = coded_frame,
                frames: Optional[Sequence[np.ndarray]] = None) -> Path:
    """An ``n``-frame clip of ``image(i, w, h)`` (or the RGB ``frames`` given; then ``n`` and ``size``
    come from them); ``times`` (seconds) set each frame's timestamp on a 1 ms clock (VFR).

    ``codec="mpeg4"`` is MPEG-4 Part 2 (what OpenCV's ``mp4v`` writer uses), at about its quality.
    """
    import av

    if frames is not None:
        n, size = len(frames), (frames[0].shape[1], frames[0].shape[0])
    w, h = size
    options = {"movflags": "+faststart"} if faststart and str(path).endswith((".mp4", ".mov")) else {}
    with av.open(str(path), "w", container_options=options) as c:
        s = c.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
        s.width, s.height, s.pix_fmt = w, h, pix_fmt
        tb = Fraction(1, 1000) if times is not None else None
        if tb is not None:
            s.time_base = tb
            s.codec_context.time_base = tb
        if codec == "libx264":
            s.codec_context.gop_size = gop
        if codec == "mpeg4":
            s.bit_rate = int(8 * w * h * fps)
        for i in range(n):
            vf = av.VideoFrame.from_ndarray(image(i, w, h) if frames is None else frames[i], format="rgb24")
            if tb is not None:
                vf.pts, vf.time_base = int(round(times[i] * 1000)), tb
            else:
                vf.pts = i
            for p in s.encode(vf):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return Path(path)


def write_frames(folder, frames: Sequence[np.ndarray], name: Callable[[int], str] = "{:06d}.png".format) -> Path:
    """An image folder: RGB ``frames[i]`` written as ``folder/name(i)`` (PNG lossless; the suffix picks the format)."""
    import cv2

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for i, img in enumerate(frames):
        cv2.imwrite(str(folder / name(i)), np.ascontiguousarray(img[..., ::-1]))
    return folder


def cut(path: Path, fraction: float, out: Path) -> Path:
    """The first ``fraction`` of a file's bytes (a download or recording that stopped)."""
    data = Path(path).read_bytes()
    out.write_bytes(data[: int(len(data) * fraction)])
    return out


def decode(path):
    """(codec name, pix_fmt, width, height, average_rate, [RGB frames]) of a video, decoded with PyAV."""
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(s)]
        return s.codec_context.name, s.codec_context.pix_fmt, s.width, s.height, s.average_rate, frames


def decoded_times(path):
    """(average rate, [frame times in seconds]) of a video, decoded with PyAV."""
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return s.average_rate, [float(f.pts * f.time_base) for f in c.decode(s)]


class FakeCamera:
    """cv2.VideoCapture stand-in: camera 0 delivers `frames` coded frames, then stops; others do not exist."""

    opened = []

    def __init__(self, index, frames=7):
        self.index, self.left, self.i = index, frames, 0
        FakeCamera.opened.append(self)
        self.released = False

    def isOpened(self):
        return self.index == 0

    def read(self):
        if self.left <= 0:
            return False, None
        self.left -= 1
        self.i += 1
        return True, coded_frame(self.i - 1, 96, 64)[..., ::-1].copy()

    def get(self, prop):
        import cv2

        return 30.0 if prop == cv2.CAP_PROP_FPS else 0.0

    def release(self):
        self.released = True


def stream_copy_cut(src, out, first_shown: int, fps: int):
    """What ``ffmpeg -ss T -i src -c copy out`` writes: the packets from the keyframe before frame
    ``first_shown``, timestamps shifted so that frame is at 0; the MP4 muxer hides the frames before it
    with an edit list (the header still counts them)."""
    import av

    with av.open(str(src)) as inp, av.open(str(out), "w") as o:
        s = inp.streams.video[0]
        t = o.add_stream_from_template(s)
        shift = first_shown * int(round(1 / (fps * s.time_base)))
        for p in inp.demux(s):
            if p.dts is None:
                continue
            p.pts, p.dts, p.stream = p.pts - shift, p.dts - shift, t
            o.mux(p)
    return out


def write_sprite_clip(folder: Path, boxes: np.ndarray, size, video: str, frame_name: Callable[[int], str]) -> None:
    """A clip of textured sprites over a flat grey background: ``folder/video`` (MPEG-4, 10 fps), ``folder/frames/``
    (lossless PNG, each crop an exact translation of the first) and ``folder/dets.json`` (COCO boxes, score 0.95).

    ``boxes``: (N frames, people, 4) integral x1, y1, x2, y2, one sprite size per person for the whole clip.
    """
    import json

    w, h = size
    rng = np.random.default_rng(0)
    sprites = [rng.integers(0, 255, (int(y2 - y1), int(x2 - x1), 3), dtype=np.uint8) for x1, y1, x2, y2 in boxes[0]]
    images = []
    for frame_boxes in boxes:
        img = np.full((h, w, 3), 90, np.uint8)
        for sprite, (x1, y1, _, _) in zip(sprites, frame_boxes):
            x, y = int(round(x1)), int(round(y1))
            img[y:y + sprite.shape[0], x:x + sprite.shape[1]] = sprite
        images.append(img[..., ::-1])      # drawn in OpenCV's BGR order, as the PNG frames have always held them
    write_video(folder / video, frames=images, fps=10, codec="mpeg4")
    write_frames(folder / "frames", images, frame_name)
    dets = [{"image_id": t, "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])], "score": 0.95,
             "category_id": 1} for t, fb in enumerate(boxes) for b in fb]
    (folder / "dets.json").write_text(json.dumps(dets))
