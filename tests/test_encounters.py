"""Refinement's re-linking at encounters (posetrack/tracking/encounters.py) and its colour histograms.

Scripted walkers in flat colours: each pose's descriptor is computed by
:func:`posetrack.tracking.appearance.describe` on a frame painted in its person's colour, so
the histograms are the real ones. The tracker's mistakes are written into the ids.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from helpers.poses import people
from posetrack.keypoints import COCO
from posetrack.tracking.appearance import Appearance, describe
from posetrack.tracking.config import RefineConfig
from posetrack.tracking.encounters import RelinkSettings, find_encounters, relink
from posetrack.tracking.fragments import fragments_of
from posetrack.tracking.refine import refine
from posetrack.tracking.tracker import load_tracking_config
from posetrack.types import FrameResult, Poses

COLOURS = {"red": (190, 40, 40), "blue": (40, 60, 190), "green": (40, 170, 60)}
FPS = 10.0


def scene(walkers, n):
    """Frames and their descriptors: ``walkers`` is [(colour, track id per frame or None, x at frame 0, px/frame)]
    (each colour walks a few pixels lower than the last, so no two poses share a box)."""
    frames, looks = [], []
    for k in range(n):
        mine = [(ids[k], colour, x0 + v * k) for colour, ids, x0, v in walkers if ids[k] is not None]
        poses = Poses.concat([people((x, 300 + 4 * list(COLOURS).index(c)), h=100.0) for _, c, x in mine], 17) \
            if mine else Poses.empty(17)
        frames.append(FrameResult(k, poses, np.array([tid for tid, _, _ in mine], np.int64)))
        parts = []
        for i, (_, colour, _) in enumerate(mine):
            image = np.zeros((480, 640, 3), np.uint8)
            image[:] = COLOURS[colour]
            p = poses.select([i])
            parts.append(describe(image, p.keypoints, p.keypoint_scores, COCO, 0.4))
        looks.append(Appearance.concatenate(parts) if parts else Appearance.empty())
    return frames, looks


def colour_ids(refined, frames, looks):
    """{colour: ids} of the refined frames, matching poses to the input by box."""
    by_box = {}
    for f, a in zip(frames, looks):
        for i, box in enumerate(f.poses.boxes):
            mean = a.features[i, :, 0].mean()                      # brightness tells the three colours apart
            by_box[(f.frame, tuple(np.round(box, 1)))] = min(COLOURS, key=lambda c: abs(_y(COLOURS[c]) - mean))
    out = {}
    for f in refined:
        for i, box in enumerate(f.poses.boxes):
            if f.interpolated is not None and f.interpolated[i]:
                continue
            out.setdefault(by_box[(f.frame, tuple(np.round(box, 1)))], set()).add(int(f.track_ids[i]))
    return out


def _y(rgb):
    r, g, b = rgb
    return 0.299 * r + 0.587 * g + 0.114 * b


def config(**changes) -> RefineConfig:
    return dataclasses.replace(load_tracking_config()[0].refine, **changes)


SETTINGS = RelinkSettings(distance=0.5, margin=0.1, link_similarity=0.9, window=20, min_poses=5, reach=10,
                          reach_distance=1.0)


def swapped_crossing(second="blue", n=60):
    """Red walks right and ``second`` left; they cross at frame 30 and the tracker swaps their ids there."""
    red = [0 if k <= 30 else 1 for k in range(n)]
    other = [1 if k <= 30 else 0 for k in range(n)]
    return scene([("red", red, 200, 4), (second, other, 440, -4)], n)


def test_two_tracks_that_swapped_people_where_they_crossed_get_them_back():
    frames, looks = swapped_crossing()
    out, report = refine(frames, config(), FPS, appearance=looks, frame_size=(640, 480))
    assert report["relinked"] == 1
    assert colour_ids(out, frames, looks) == {"red": {0}, "blue": {1}}
    # off, or without colours, the swap stays
    for cfg, looks_given in ((config(relink_margin=None), looks), (config(), None)):
        out, _ = refine(frames, cfg, FPS, appearance=looks_given, frame_size=(640, 480))
        assert colour_ids(out, frames, looks) == {"red": {0, 1}, "blue": {0, 1}}


def test_a_track_that_walked_on_with_the_other_person_hands_them_back():
    n = 60
    # blue's track ends at 28; red's track 0 goes on with blue from 31; red comes back as track 2 at 34
    red = [0 if k <= 30 else (2 if k >= 34 else None) for k in range(n)]
    blue = [1 if k <= 28 else (0 if k >= 31 else None) for k in range(n)]
    frames, looks = scene([("red", red, 200, 4), ("blue", blue, 440, -4)], n)
    out, report = refine(frames, config(), FPS, appearance=looks, frame_size=(640, 480))
    assert report["relinked"] >= 1
    assert colour_ids(out, frames, looks) == {"red": {0}, "blue": {1}}


def test_people_who_pass_each_other_with_their_own_ids_are_left_alone():
    n = 60
    red = [0] * n
    blue = [1] * n
    green = [2 if k >= 20 else None for k in range(n)]      # and a third, who starts next to them
    frames, looks = scene([("red", red, 200, 4), ("blue", blue, 440, -4), ("green", green, 260, 3)], n)
    tracks = fragments_of(frames, looks)
    assert find_encounters(tracks, 0.5)                      # they did meet
    again, changed = relink(tracks, SETTINGS)
    assert changed == 0 and again == tracks
    out, report = refine(frames, config(), FPS, appearance=looks, frame_size=(640, 480))
    assert report["relinked"] == 0
    assert colour_ids(out, frames, looks) == {"red": {0}, "blue": {1}, "green": {2}}


def test_a_swap_between_people_dressed_alike_is_not_undone_on_a_guess():
    frames, looks = swapped_crossing("red")
    out, report = refine(frames, config(), FPS, appearance=looks, frame_size=(640, 480))
    assert report["relinked"] == 0


def test_someone_who_leaves_far_away_and_comes_back_near_the_camera_is_recognised():
    """An exit and an entry are compared whatever their sizes (perspective), on colours only."""
    n = 200
    frames = []
    looks = []
    image = {c: np.full((480, 640, 3), COLOURS[c], np.uint8) for c in COLOURS}
    for k in range(n):
        items = []
        if k < 40:                                            # red, 60 px tall, walks out at the right edge
            items.append((0, "red", people((560 + 2 * k, 200), h=60.0)))
        if 120 <= k:                                          # red again, 120 px tall, walks in at the right
            items.append((1, "red", people((640 - 3 * (k - 120), 420), h=120.0)))
        if 130 <= k:                                          # and blue enters there too, later
            items.append((2, "blue", people((640 - 3 * (k - 130), 300), h=100.0)))
        poses = Poses.concat([p for _, _, p in items], 17) if items else Poses.empty(17)
        frames.append(FrameResult(k, poses, np.array([t for t, _, _ in items], np.int64)))
        looks.append(Appearance.concatenate([describe(image[c], p.keypoints, p.keypoint_scores, COCO, 0.4)
                                             for _, c, p in items]) if items else Appearance.empty())
    out, report = refine(frames, config(), FPS, appearance=looks, frame_size=(640, 480))
    near_camera = {int(t) for f in out for t, b in zip(f.track_ids, f.poses.boxes) if b[3] > 400}   # red, back
    blue = {int(t) for f in out for t, b in zip(f.track_ids, f.poses.boxes) if 250 < b[3] < 360}
    assert near_camera == {0} and 0 not in blue and len(blue) == 1
    # as before the colour histograms: sizes this different were never compared
    out, _ = refine(frames, config(), FPS, appearance=[Appearance(a.features, a.weights) for a in looks],
                    frame_size=(640, 480))
    assert {int(t) for f in out for t, b in zip(f.track_ids, f.poses.boxes) if b[3] > 400} == {0}


def test_people_too_small_to_sample_are_never_relinked():
    """No colours (every part's weight 0, as for people under appearance.MIN_HEIGHT): no similarity, no change,
    even where the ids were swapped."""
    frames, looks = swapped_crossing()
    blank = [Appearance(a.features, np.zeros_like(a.weights), a.histograms) for a in looks]
    tracks = fragments_of(frames, blank)
    again, changed = relink(tracks, SETTINGS)
    assert changed == 0 and again is tracks


def test_refinement_refuses_frames_out_of_order_and_colours_that_do_not_fit_them():
    n = 20
    frames, looks = scene([("red", [0] * n, 200, 4)], n)
    with pytest.raises(ValueError, match="frame 3 comes after frame 5"):
        refine(frames[:4] + [frames[5], frames[3]] + frames[6:], config(), FPS)
    wrong = list(looks)
    wrong[7] = Appearance.concatenate([looks[7], looks[7]])
    with pytest.raises(ValueError, match="frame 7: 2 appearance records for 1 people"):
        refine(frames, config(), FPS, appearance=wrong, frame_size=(640, 480))


def test_a_reach_under_one_frame_still_relinks_at_the_gap_of_one_frame():
    frames, looks = swapped_crossing()
    out, report = refine(frames, config(relink_reach=0.0), FPS, appearance=looks, frame_size=(640, 480))
    assert report["relinked"] == 1 and colour_ids(out, frames, looks) == {"red": {0}, "blue": {1}}


def test_track_reads_the_video_for_colours_whatever_the_motion(tmp_path):
    """`--motion kalman` needs no flow, but re-identification and re-linking need the frames' colours."""
    from pathlib import Path

    from posetrack.pipeline.retrack import retrack_file

    data = Path(__file__).parent / "data" / "real"
    tracks, _ = retrack_file(data / "vtest_540-619.poses.json", tmp_path / "t.json",
                             video=data / "vtest_540-619.mp4", overrides={"motion": "kalman"})
    assert tracks.header.settings["refined"]["relinked"] >= 1
    blind, _ = retrack_file(data / "vtest_540-619.poses.json", tmp_path / "b.json", overrides={"motion": "kalman"})
    assert blind.header.settings["refined"]["relinked"] == 0


def test_library_callers_get_clear_errors_for_images_and_rates_that_cannot_be_used():
    p = people((100, 220))
    for image in (np.zeros((60, 60), np.uint8), np.zeros((0, 0, 3), np.uint8)):
        with pytest.raises(ValueError, match=r"expected an \(H, W, 3\) RGB image"):
            describe(image, p.keypoints, p.keypoint_scores, COCO, 0.4)
    with pytest.raises(ValueError, match="2 heights for 1 poses"):
        describe(np.zeros((240, 320, 3), np.uint8), p.keypoints, p.keypoint_scores, COCO, 0.4, np.ones(2))
    assert len(Appearance.concatenate([])) == 0
    frames, _ = scene([("red", [0] * 5, 200, 4)], 5)
    for fps in (0.0, float("nan")):
        with pytest.raises(ValueError, match="fps must be a positive number"):
            refine(frames, config(), fps)
