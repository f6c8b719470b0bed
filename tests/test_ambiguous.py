"""Ambiguous poses (posetrack/tracking/ambiguous.py): a pose on the path of a person who is unseen then and in
front is left out by refinement, whatever track the online tracker gave it to."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from helpers.poses import people
from posetrack.errors import ConfigError
from posetrack.tracking.ambiguous import ambiguous_poses
from posetrack.tracking.config import RefineConfig
from posetrack.tracking.fragments import Fragment
from posetrack.tracking.refine import refine
from posetrack.tracking.tracker import load_tracking_config
from posetrack.types import FrameResult, Poses


def walker(tid, frames, x0, vx, feet):
    """A fragment of a 100 px person whose feet start at (x0, feet) and move vx px per frame."""
    frames = np.asarray(list(frames))
    p = Poses.concat([people((x0 + vx * f, feet)) for f in frames], 17)
    return Fragment(tid, frames, frames, p.boxes.astype(np.float64), p.box_scores.astype(np.float64),
                    p.keypoints.astype(np.float64), p.keypoint_scores.astype(np.float64))


def flagged(a, b, **kw):
    settings = dict(min_iou=0.6, max_gap=10, min_poses=10) | kw
    return ambiguous_poses({1: a, 2: b}, **settings)


def test_a_pose_where_the_unseen_person_in_front_should_be_is_ambiguous():
    a = walker(1, range(30), 200, 2, 300)                                    # A behind
    b = walker(2, [f for f in range(30) if f not in (14, 15, 16)], 205, 2, 308)  # B in front, unseen 14-16
    masks = flagged(a, b)
    assert masks[1].nonzero()[0].tolist() == [14, 15, 16]
    assert not masks[2].any()


def test_the_person_behind_being_unseen_leaves_the_pose_alone():
    a = walker(1, range(30), 200, 2, 300)                                    # A in front
    b = walker(2, [f for f in range(30) if f not in (14, 15, 16)], 205, 2, 292)  # B behind it, hidden 14-16
    assert not flagged(a, b)[1].any()


def test_far_apart_long_gaps_and_short_pieces_leave_poses_alone():
    a = walker(1, range(30), 200, 2, 300)
    far = walker(2, [f for f in range(30) if f not in (14, 15, 16)], 320, 2, 310)
    assert not flagged(a, far)[1].any()                                      # nowhere near A's box
    b = walker(2, [f for f in range(30) if not 5 <= f <= 20], 205, 2, 308)   # unseen for 16 frames
    assert not flagged(a, b)[1].any()
    assert flagged(a, b, max_gap=20)[1][5:21].all()
    piece = walker(2, [10, 11, 12, 18, 19], 205, 2, 308)
    assert not flagged(a, piece)[1].any()                                    # 5 poses: no path yet


def test_a_track_that_ends_on_the_path_of_someone_unseen_loses_those_poses():
    a = walker(1, range(16), 200, 2, 300)                                    # ends at 15, in front of B's path
    b = walker(2, [f for f in range(30) if f not in (14, 15)], 205, 2, 292)  # B behind, unseen 14-15
    assert flagged(a, b)[1].nonzero()[0].tolist() == [14, 15]


def frames_of(n, assign):
    """D walks right at y 300, J beside and in front at y 308; ``assign(k)`` gives each frame's
    [(who, track id)] (who: 'D' or 'J')."""
    out = []
    for k in range(n):
        where = {"D": (100 + 3 * k, 300), "J": (105 + 3 * k, 308)}
        seen = assign(k)
        poses = Poses.concat([people(where[w]) for w, _ in seen], 17)
        out.append(FrameResult(k, poses, np.array([t for _, t in seen], np.int64)))
    return out


def config(**changes) -> RefineConfig:
    return dataclasses.replace(load_tracking_config()[0].refine, **changes)


def test_refinement_leaves_out_the_poses_given_to_the_person_behind():
    # frames 20-22: only J is detected, and the tracker gives J's pose to D's track (0)
    frames = frames_of(50, lambda k: [("J", 0)] if 20 <= k <= 22 else [("D", 0), ("J", 1)])
    refined, report = refine(frames, config(), fps=10.0)
    assert report["ambiguous"] == 3
    ids = {0: set(), 1: set()}
    for f in refined:
        observed = ~f.interpolated if f.interpolated is not None else np.ones(len(f), bool)
        for tid, box in zip(f.track_ids[observed], f.poses.boxes[observed]):
            ids[int(tid)].add(round(float(box[3])))                          # feet: 303 is D, 311 is J
    assert len(ids[0]) == 1 and len(ids[1]) == 1 and ids[0] != ids[1]      # each track holds one person
    kept, report = refine(frames, config(ambiguous_iou=None), fps=10.0)
    assert report["ambiguous"] == 0
    assert sum(len(f) for f in kept) == sum(len(f) for f in frames)        # nothing left out


@pytest.mark.parametrize("changes", [{"ambiguous_iou": 1.5}, {"ambiguous_iou": -0.1}, {"ambiguous_gap": -1.0}])
def test_ambiguity_settings_out_of_range_are_refused(changes):
    with pytest.raises(ConfigError, match=next(iter(changes))):
        RefineConfig(**changes)


def naive_ambiguous(tracks, min_iou, max_gap, min_poses):
    """The rule of posetrack/tracking/ambiguous.py pose by pose, pair of tracks by pair of tracks."""
    def box_at(t, i, j, frame):
        w = (frame - t.frames[i]) / max(t.frames[j] - t.frames[i], 1)
        return (1 - w) * t.boxes[i] + w * t.boxes[j]

    def iou(p, q):
        inter = max(min(p[2], q[2]) - max(p[0], q[0]), 0) * max(min(p[3], q[3]) - max(p[1], q[1]), 0)
        union = max(p[2] - p[0], 0) * max(p[3] - p[1], 0) + max(q[2] - q[0], 0) * max(q[3] - q[1], 0) - inter
        return inter / union if union > 0 else 0.0

    masks = {tid: np.zeros(len(t), bool) for tid, t in tracks.items()}
    for a, ta in tracks.items():
        for b, tb in tracks.items():
            if a == b or len(tb) < min_poses:
                continue
            hits = []
            for i, frame in enumerate(ta.frames):
                k = int(np.searchsorted(tb.frames, frame))
                if 0 < k < len(tb) and tb.frames[k] != frame and tb.frames[k] - tb.frames[k - 1] <= max_gap:
                    there = box_at(tb, k - 1, k, frame)
                    if iou(ta.boxes[i], there) >= min_iou:
                        hits.append((i, there[3]))
            runs = []
            for i, bottom in hits:
                if runs and runs[-1][-1][0] == i - 1:
                    runs[-1].append((i, bottom))
                else:
                    runs.append([(i, bottom)])
            for run in runs:
                before, after = run[0][0] - 1, run[-1][0] + 1
                for i, bottom in run:
                    at_end = before < 0 or after >= len(ta)
                    masks[a][i] |= at_end or bottom > box_at(ta, before, after, ta.frames[i])[3]
    return masks


def test_the_vectorised_rule_matches_a_pose_by_pose_loop():
    # tracks of 0-14 poses over 30 frames, a frame given twice at times, boxes inverted or NaN at times
    rng = np.random.default_rng(1)
    for _ in range(300):
        tracks = {}
        for tid in rng.choice(100, rng.integers(0, 6), replace=False):
            n = int(rng.integers(0, 15))
            frames = np.sort(rng.choice(30, n, replace=bool(rng.random() < 0.2))).astype(np.int64)
            xy, wh = rng.uniform(0, 50, (n, 2)), rng.uniform(-5, 40, (n, 2))
            boxes = np.c_[xy, xy + wh]
            if n and rng.random() < 0.1:
                boxes[rng.integers(n), rng.integers(4)] = np.nan
            tracks[int(tid)] = Fragment(int(tid), np.arange(n), frames, boxes, np.ones(n), np.zeros((n, 1, 2)),
                                        np.ones((n, 1)))
        settings = dict(min_iou=float(rng.choice([0.1, 0.3, 1.0])), max_gap=int(rng.integers(0, 12)),
                        min_poses=int(rng.integers(1, 6)))
        got, want = ambiguous_poses(tracks, **settings), naive_ambiguous(tracks, **settings)
        assert list(got) == list(want)
        for tid in got:
            assert got[tid].tolist() == want[tid].tolist(), (settings, tid)


def test_a_huge_frame_rate_makes_the_gap_endless_not_an_error():
    frames = frames_of(50, lambda k: [("J", 0)] if 20 <= k <= 22 else [("D", 0), ("J", 1)])
    refined, report = refine(frames, config(), fps=1e308)                  # 4 s * 1e308 fps: infinitely many frames
    assert report["ambiguous"] == 3
    assert sum(len(f) for f in refined) > 0


def test_an_iou_of_0_asks_for_some_overlap_not_none():
    a = walker(1, range(30), 200, 2, 300)
    far = walker(2, [f for f in range(30) if f not in (14, 15, 16)], 420, 2, 310)  # in front, but 200 px away
    assert not flagged(a, far, min_iou=0.0)[1].any()
    near = walker(2, [f for f in range(30) if f not in (14, 15, 16)], 235, 2, 310)  # in front, 5 px of overlap
    assert flagged(a, near, min_iou=0.0)[1].nonzero()[0].tolist() == [14, 15, 16]
