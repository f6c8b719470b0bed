"""Synthetic tracks files (and a matching video) for the edit and review tests.

Shared by tests/test_edit.py, test_review.py and test_review_browser.py.

``crossing``: two people walk past each other, P (red) left to right in the upper band, Q (blue)
right to left in the lower band; from frame ``swap_at`` on the tracker's ids are exchanged (id 0
on Q, id 1 on P): the planted id switch that ``swap 0 1 --from swap_at`` fixes.
"""
from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Dict, Iterator, List, Sequence, Tuple

import numpy as np

from helpers.videos import write_video
from posetrack.keypoints import COCO
from posetrack.review.frames import JpegFrames
from posetrack.review.server import ReviewServer
from posetrack.review.session import ReviewSession
from posetrack.tracksfile.codec import TrackFile, TracksHeader
from posetrack.types import FrameResult, Poses, VideoInfo

W, H = 320, 240
BOX_W, BOX_H = 40, 90
P_Y, Q_Y = 15, 135              # top of each person's box
COLORS = {"P": (220, 40, 40), "Q": (40, 80, 220)}


def figure(box: Sequence[float]) -> np.ndarray:
    """(17, 2) COCO keypoints of an upright stick figure filling ``box`` (x1, y1, x2, y2)."""
    x1, y1, x2, y2 = box
    u = np.array([[.5, .08], [.45, .05], [.55, .05], [.4, .07], [.6, .07], [.3, .25], [.7, .25], [.25, .42],
                  [.75, .42], [.22, .58], [.78, .58], [.38, .55], [.62, .55], [.38, .77], [.62, .77],
                  [.38, .97], [.62, .97]])
    return np.stack([x1 + u[:, 0] * (x2 - x1), y1 + u[:, 1] * (y2 - y1)], axis=1)


def frame_result(index: int, people: List[Tuple[int, Sequence[float]]], interpolated=None) -> FrameResult:
    """One frame of ``(track id, box)`` people with figure keypoints (scores 0.9)."""
    boxes = np.asarray([b for _, b in people], np.float32).reshape(-1, 4)
    kps = np.asarray([figure(b) for _, b in people], np.float32).reshape(-1, 17, 2)
    poses = Poses(boxes, np.full(len(people), 0.95), kps, np.full((len(people), 17), 0.9))
    ids = np.asarray([i for i, _ in people], np.int64) if people else None
    return FrameResult(index, poses, ids, time=index / 25.0, interpolated=interpolated)


def tracks_of(frames: List[FrameResult], n_frames: int, settings: Dict = None) -> TrackFile:
    header = TracksHeader(VideoInfo("clip.mp4", 25.0, W, H, n_frames), COCO, dict(settings or {"tracker": "test"}))
    return TrackFile(header, tuple(frames))


def positions(i: int, n: int) -> Dict[str, Tuple[float, float, float, float]]:
    """P's and Q's boxes at frame ``i`` of ``n``."""
    step = (W - BOX_W - 20) / max(n - 1, 1)
    px, qx = 10 + step * i, W - BOX_W - 10 - step * i
    return {"P": (px, P_Y, px + BOX_W, P_Y + BOX_H), "Q": (qx, Q_Y, qx + BOX_W, Q_Y + BOX_H)}


def crossing(n: int = 24, swap_at: int = 14) -> TrackFile:
    """P and Q walking past each other; ids 0 (P) and 1 (Q) exchanged from ``swap_at`` on."""
    frames = []
    for i in range(n):
        pos = positions(i, n)
        ids = (0, 1) if i < swap_at else (1, 0)
        frames.append(frame_result(i, [(ids[0], pos["P"]), (ids[1], pos["Q"])]))
    return tracks_of(frames, n)


def crossing_image(n: int):
    """``image(i, w, h)`` for helpers.videos.write_video: P and Q as filled boxes on grey."""
    def image(i: int, w: int, h: int) -> np.ndarray:
        img = np.full((h, w, 3), 128, np.uint8)
        for name, (x1, y1, x2, y2) in positions(i, n).items():
            img[int(y1):int(y2), int(x1):int(x2)] = COLORS[name]
        return img
    return image


def crossing_video(folder: Path, n: int = 24) -> Path:
    return write_video(folder / "clip.mp4", n=n, size=(W, H), fps=25, image=crossing_image(n))


def many_tracks() -> TrackFile:
    """Five tracks over 12 frames (ids 0, 1, 2, 5, 9), some frames empty, one interpolated pose."""
    people = {0: range(0, 12), 1: range(0, 5), 2: range(6, 12), 5: range(2, 9), 9: [3, 4, 10]}
    frames = []
    for i in range(12):
        here = [(tid, (10 + 20 * k + i, 10 + 5 * k, 40 + 20 * k + i, 90 + 5 * k))
                for k, (tid, span) in enumerate(sorted(people.items())) if i in span]
        if i == 7:
            here = []
        interp = [tid == 5 and i == 4 for tid, _ in here] if here else None
        frames.append(frame_result(i, here, interpolated=interp))
    return tracks_of(frames, 12)


@contextlib.contextmanager
def review_server(video: Path, tracks_path: Path) -> Iterator[ReviewServer]:
    """A review server on ``video`` and the tracks file ``tracks_path``, serving on a thread; stopped after."""
    frames = JpegFrames(video)
    server = ReviewServer(ReviewSession(tracks_path, None, frames.info), frames)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        frames.close()
