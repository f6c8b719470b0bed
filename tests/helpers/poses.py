"""Scripted COCO poses and optical flows for the tracker tests, on a 640x360 frame.

``STANDING`` is a standing person in COCO order, in units of body height, feet at (0, 0)
(x right, y down); the simulated world of :mod:`helpers.runpath` uses it too.
"""
from __future__ import annotations

import numpy as np

from posetrack.keypoints import COCO
from posetrack.tracksfile.codec import TrackFile, TracksHeader, write_tracks
from posetrack.types import FrameResult, Poses, VideoInfo

W, H = 640, 360
STANDING = np.array([
    [0.0, -0.93], [-0.02, -0.95], [0.02, -0.95], [-0.045, -0.94], [0.045, -0.94],
    [-0.11, -0.81], [0.11, -0.81], [-0.14, -0.65], [0.14, -0.65], [-0.15, -0.50], [0.15, -0.50],
    [-0.07, -0.52], [0.07, -0.52], [-0.07, -0.28], [0.07, -0.28], [-0.07, -0.03], [0.07, -0.03]])
SHAPE = STANDING


def joints(x, y, h=100.0):
    """(17, 2) joints of a person whose feet are at (x, y)."""
    return SHAPE * h + [x, y]


def box_of(kp, h=100.0):
    lo, hi = kp.min(0), kp.max(0)
    return np.r_[lo - [0.05 * h, 0.08 * h], hi + [0.05 * h, 0.03 * h]]


def people(*feet, h=100.0, box_score=0.9, joint_score=0.9):
    """Poses of people standing at the given (x, y) feet positions."""
    kp = np.array([joints(x, y, h) for x, y in feet]).reshape(-1, 17, 2)
    boxes = np.array([box_of(k, h) for k in kp]).reshape(-1, 4)
    return Poses(boxes, np.full(len(kp), box_score), kp, np.full(kp.shape[:2], joint_score))


def uniform_flow(dx, dy=0.0):
    flow = np.zeros((H, W, 2), np.float32)
    flow[..., 0], flow[..., 1] = dx, dy
    return flow


def ids(result: FrameResult):
    return result.track_ids.tolist()


def body_flow(poses: Poses, motions, r=12):
    """Each person's motion painted in squares of half-size r around their joints, later people
    in front, so a hidden joint's flow is the occluder's motion (like real flow)."""
    flow = np.zeros((H, W, 2), np.float32)
    for kp, m in zip(poses.keypoints, motions):
        for x, y in kp:
            x1, y1, x2, y2 = np.clip(np.round([x - r, y - r, x + r + 1, y + r + 1]), 0, [W, H, W, H]).astype(int)
            flow[y1:y2, x1:x2] = m
    return flow


def crossing(v, n=30, r=12):
    """A (90 px tall, feet at y=250) walks right behind B (110 px, feet at y=290) walking left.
    A's joints within B's painted squares are hidden (score 0.1): up to 12 of 17 at the crossing."""
    frames, flows = [], []
    for k in range(n):
        a, b = joints(150 + v * k, 250, 90), joints(450 - v * k, 290, 110)
        hidden = np.abs(a[:, None] - b[None]).max(-1).min(1) <= r + 0.5
        scores = np.full((2, 17), 0.9)
        scores[0, hidden] = 0.1
        frames.append(Poses(np.stack([box_of(a, 90), box_of(b, 110)]), [0.9, 0.9], np.stack([a, b]), scores))
        flows.append(body_flow(frames[k - 1], [(v, 0), (-v, 0)], r) if k else None)
    return frames, flows


def poses_file(path, speed, n=8, ids=None, size=(320, 240)):
    """Two people walking right at ``speed`` px/frame, saved untracked (or with bogus ids) as a tracks
    file of an ``n``-frame, ``size`` (width, height) clip."""
    frames = []
    for k in range(n):
        p = people((40 + speed * k, 200), (120 + speed * k, 230))
        frames.append(FrameResult(k, p, None if ids is None else np.array(ids)))
    header = TracksHeader(VideoInfo("clip", 25.0, *size, n), COCO, {"pose_model": "test"})
    write_tracks(path, TrackFile(header, tuple(frames)))
    return path
