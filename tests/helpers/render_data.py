"""The rendering tests' inputs: a smooth gradient clip and known tracks of two stick figures.

Shared by tests/test_render.py, test_render_cli.py and test_strict_inputs.py.
"""
from __future__ import annotations

import numpy as np

from helpers.videos import write_video
from posetrack.keypoints import COCO
from posetrack.tracksfile.codec import TrackFile, TracksHeader
from posetrack.types import FrameResult, Poses, VideoInfo

W, H, N, FPS = 320, 240, 12, 25.0
EMPTY_FRAME = 4  # no people in the tracks: must come out unchanged
IDS = (3, 8)


def background(i: int, w=W, h=H) -> np.ndarray:
    """A smooth, slowly changing gradient (compresses well, so encoding error stays small)."""
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([60 + 80 * x / w, 70 + 60 * y / h, np.full_like(x, 90.0 + 3 * i, dtype=float)], axis=2)
    return img.astype(np.uint8)


def make_clip(path, n=N, w=W, h=H, fps=FPS):
    """An MPEG-4 Part 2 clip (another codec than the H.264 under test)."""
    return write_video(path, n=n, size=(w, h), fps=fps, codec="mpeg4", image=background)


def figure(cx: float, top: float, size: float) -> np.ndarray:
    """COCO keypoints (17, 2) of an upright stick figure."""
    s = size
    rows = {"nose": (0, .07), "left_eye": (.03, .05), "right_eye": (-.03, .05), "left_ear": (.06, .06),
            "right_ear": (-.06, .06), "left_shoulder": (.13, .2), "right_shoulder": (-.13, .2),
            "left_elbow": (.18, .36), "right_elbow": (-.18, .36), "left_wrist": (.2, .5), "right_wrist": (-.2, .5),
            "left_hip": (.08, .52), "right_hip": (-.08, .52), "left_knee": (.09, .75), "right_knee": (-.09, .75),
            "left_ankle": (.09, .97), "right_ankle": (-.09, .97)}
    return np.array([(cx + dx * s, top + dy * s) for dx, dy in (rows[k] for k in COCO.names)], np.float32)


def people_at(i: int, w=W, h=H):
    """Two figures, ids 3 and 8, walking right; integer joint positions so pixels can be checked exactly."""
    kps = np.round(np.stack([figure(w * 0.3 + 2 * i, h * 0.15, h * 0.75),
                             figure(w * 0.7 - 2 * i, h * 0.2, h * 0.7)]))
    return kps


def make_tracks(n=N, w=W, h=H, fps=FPS, frames=None, skip=(EMPTY_FRAME,), complete=True) -> TrackFile:
    results = []
    for i in range(n):
        if i in skip:
            continue
        kps = people_at(i, w, h)
        boxes = np.concatenate([kps.min(1) - 4, kps.max(1) + 4], 1)
        results.append(FrameResult(i, Poses(boxes, [0.9, 0.9], kps, np.full((2, 17), 0.9)), np.array(IDS)))
    header = TracksHeader(VideoInfo("clip.mp4", fps, w, h, n if frames is None else frames), COCO)
    return TrackFile(header, tuple(results), complete)
