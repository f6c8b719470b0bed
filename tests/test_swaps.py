"""One-frame swaps (posetrack/tracking/swaps.py): a pose that leaves its track's path for one frame while
another track's pose of that frame lies on it is put back, before refinement stitches anything."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from helpers.poses import people
from posetrack.errors import ConfigError
from posetrack.tracking.appearance import Appearance
from posetrack.tracking.config import RefineConfig
from posetrack.tracking.fragments import Fragment
from posetrack.tracking.refine import refine
from posetrack.tracking.swaps import repair_swaps
from posetrack.tracking.tracker import load_tracking_config
from posetrack.types import FrameResult, Poses


def fragment(tid, frames, xs, shade=0.0):
    """People standing at x (feet at y 300), one per frame; ``shade`` marks their colour descriptors."""
    p = Poses.concat([people((x, 300)) for x in xs], 17)
    n = len(frames)
    look = Appearance(np.full((n, 6, 4), shade, np.float32), np.ones((n, 6), np.float32))
    return Fragment(tid, np.array(frames), np.array(frames), p.boxes.astype(np.float64), p.box_scores.astype(np.float64),
                    p.keypoints.astype(np.float64), p.keypoint_scores.astype(np.float64), look)


def test_a_one_frame_swap_is_undone_with_its_colours():
    a = fragment(1, range(10), [100 + 2 * k if k != 5 else 400 for k in range(10)], shade=1.0)  # frame 5: a stray pose
    c = fragment(2, [0, 1, 5], [600, 602, 110], shade=2.0)       # a lost track that took A's pose at frame 5
    fixed, n = repair_swaps({1: a, 2: c}, outlier_iou=0.3, fit_iou=0.7)
    assert n == 1
    assert fixed[1].boxes[5].tolist() == c.boxes[2].tolist() and fixed[2].boxes[2].tolist() == a.boxes[5].tolist()
    assert fixed[1].look.features[5, 0, 0] == 2.0 and fixed[2].look.features[2, 0, 0] == 1.0   # colours go along
    assert (fixed[1].frames == a.frames).all() and (fixed[2].frames == c.frames).all()
    assert a.boxes[5, 0] != fixed[1].boxes[5, 0]                   # the inputs are not modified


def test_a_pose_its_own_neighbours_claim_is_not_taken():
    a = fragment(1, range(10), [100 + 2 * k if k != 5 else 400 for k in range(10)])
    c = fragment(2, [4, 5, 6], [108, 110, 112])                    # C's neighbours say its frame-5 pose is its own
    assert repair_swaps({1: a, 2: c}, outlier_iou=0.3, fit_iou=0.7)[1] == 0


def test_a_jump_with_nobody_on_the_path_and_a_pose_off_by_a_gap_stay():
    a = fragment(1, range(10), [100 + 2 * k if k != 5 else 400 for k in range(10)])
    far = fragment(2, [0, 5], [600, 300])                          # nobody where A should be
    assert repair_swaps({1: a, 2: far}, outlier_iou=0.3, fit_iou=0.7)[1] == 0
    gappy = fragment(1, [0, 1, 2, 3, 4, 5, 7, 8], [100, 102, 104, 106, 108, 400, 114, 116])  # no pose at 6
    c = fragment(2, [0, 5], [600, 110])
    assert repair_swaps({1: gappy, 2: c}, outlier_iou=0.3, fit_iou=0.7)[1] == 0


def test_refinement_undoes_the_swap_before_stitching():
    frames = []
    for k in range(40):
        xs, ids = [100 + 2 * k], [0]
        if k == 20:                                                 # the tracker's mistake: id 1 takes the walker's pose,
            xs, ids = [100 + 2 * k, 500], [1, 0]                    # the walker's track a stray pose far off
        elif k < 12:
            xs, ids = xs + [300 + 3 * k], ids + [1]                 # track 1 was someone else, lost after frame 11
        poses = Poses.concat([people((x, 300)) for x in xs], 17)
        frames.append(FrameResult(k, poses, np.array(ids, np.int64)))
    cfg = dataclasses.replace(load_tracking_config()[0].refine, min_track_frames=5)
    refined, report = refine(frames, cfg, fps=10.0)
    assert report["swaps"] == 1
    at20 = refined[20]
    mine = at20.poses.boxes[at20.track_ids == 0]
    assert len(mine) == 1 and abs((mine[0, 0] + mine[0, 2]) / 2 - 140) < 1.0   # the walker's own pose is back in his track
    kept, report = refine(frames, dataclasses.replace(cfg, swap_outlier_iou=None), fps=10.0)
    assert report["swaps"] == 0


@pytest.mark.parametrize("changes", [{"swap_outlier_iou": 1.5}, {"swap_fit_iou": -0.1}])
def test_swap_settings_out_of_range_are_refused(changes):
    with pytest.raises(ConfigError, match=next(iter(changes))):
        RefineConfig(**changes)
