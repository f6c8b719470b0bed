"""Synthetic videos for the source and render tests, written with PyAV in any codec and container.

Frame i shows its index as six black/white vertical bars (bit b of i -> bar b), which
survives lossy codecs, so a decoded frame tells which source frame it is (``which``).
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Optional, Sequence

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


def which(image: np.ndarray) -> int:
    """The source frame index a decoded frame of ``coded_frame`` shows."""
    w = image.shape[1]
    bar = max(w // BITS, 1)
    centres = image[:, [b * bar + bar // 2 for b in range(BITS)]].mean(axis=(0, 2))
    return int(sum(1 << b for b, v in enumerate(centres) if v > 128))


def write_video(path, n: int = 20, size=(160, 120), fps: float = 25, codec: str = "libx264",
                pix_fmt: str = "yuv420p", times: Optional[Sequence[float]] = None, faststart: bool = True,
                gop: int = 5, image=coded_frame) -> Path:
    """An ``n``-frame clip; ``times`` (seconds) set each frame's timestamp on a 1 ms clock (VFR)."""
    import av

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
        for i in range(n):
            vf = av.VideoFrame.from_ndarray(image(i, w, h), format="rgb24")
            if tb is not None:
                vf.pts, vf.time_base = int(round(times[i] * 1000)), tb
            else:
                vf.pts = i
            for p in s.encode(vf):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return Path(path)


def cut(path: Path, fraction: float, out: Path) -> Path:
    """The first ``fraction`` of a file's bytes (a download or recording that stopped)."""
    data = Path(path).read_bytes()
    out.write_bytes(data[: int(len(data) * fraction)])
    return out
