"""Offline refinement: dropping short or weak tracks, stitching fragments, interpolating gaps
(marked in the output file), One-Euro smoothing against a naive loop, and what is recorded."""
import dataclasses

import numpy as np
import pytest

from posetrack.keypoints import COCO
from posetrack.tracking.refine import one_euro, refine
from posetrack.types import FrameResult, Poses, VideoInfo
from posetrack.tracking.config import RefineConfig
from posetrack.tracksfile.codec import TrackFile, TracksHeader, read_tracks, write_tracks
from helpers.poses import people

FPS = 25.0
ON = RefineConfig(enabled=True, stitch_gap=2.0, interpolate_gap=3, min_track_frames=5, min_track_score=0.6)


def frame(k, *persons):
    """A tracked frame from (track id, feet x, feet y[, box score]) tuples."""
    if not persons:
        return FrameResult(k, Poses.empty(17), np.zeros(0, np.int64))
    poses = Poses.concat([people((x, y), box_score=rest[0] if rest else 0.9) for _, x, y, *rest in persons], 17)
    return FrameResult(k, poses, np.array([p[0] for p in persons]), time=k / FPS)


def ids(frames):
    return [f.track_ids.tolist() for f in frames]


def test_disabled_refinement_changes_nothing():
    frames = [frame(k, (0, 100 + k, 300)) for k in range(3)]
    out, report = refine(frames, RefineConfig(), FPS)
    assert out == frames and report["removed_tracks"] == 0


def test_short_and_weak_tracks_are_dropped_but_a_short_clip_keeps_its_people():
    frames = [frame(k, (0, 100 + k, 300), *([(1, 400, 300)] if k < 3 else []), (2, 250, 300, 0.55))
              for k in range(20)]
    out, report = refine(frames, ON, FPS)
    assert report["removed_tracks"] == 2 and all(ids(out)[k] == [0] for k in range(20))
    short = frames[:4]                                           # 4 frames: tracks of 2 frames or more stay
    out, _ = refine(short, RefineConfig(enabled=True, min_track_frames=10), FPS)
    assert ids(out) == ids(short)


def test_fragments_that_agree_in_time_place_and_scale_are_stitched():
    v = 4.0
    frames = []
    for k in range(40):
        persons = [(7, 500, 250)]                                           # someone standing elsewhere
        if k < 15:
            persons.append((0, 100 + v * k, 300))
        elif k >= 22:
            persons.append((3, 100 + v * k, 300))                            # the same walker, a new id
        frames.append(frame(k, *persons))
    out, report = refine(frames, ON, FPS)
    assert report["stitched"] == 1
    walker = {i for f in out for i in f.track_ids if i != 7}
    assert walker == {0}
    # too far from where the first fragment was heading: not stitched
    moved = [frame(k, (7, 500, 250), *([(0, 100 + v * k, 300)] if k < 15 else
                                       [(3, 100 + v * k + 200, 300)] if k >= 22 else [])) for k in range(40)]
    out, report = refine(moved, ON, FPS)
    assert report["stitched"] == 0 and {i for f in out for i in f.track_ids} == {0, 3, 7}
    # overlapping in time: two people, never one
    both = [frame(k, (0, 100 + v * k, 300), *([(3, 100 + v * k + 30, 300)] if k >= 10 else [])) for k in range(30)]
    assert refine(both, ON, FPS)[1]["stitched"] == 0


def test_short_gaps_are_interpolated_and_marked(tmp_path):
    keep = [0, 1, 2, 5, 6, 12, 13, 14, 15, 16, 17]                         # gaps of 2 and 5 frames
    frames = [frame(k, (0, 100 + 10 * k, 300)) if k in keep else frame(k) for k in range(18)]
    frames[2].poses.keypoint_scores[0, 3] = 0.2                              # one end unsure of joint 3
    out, report = refine(frames, ON, FPS)
    assert report["interpolated"] == 2                                       # the 5-frame gap stays open
    assert [len(f) for f in out] == [1] * 7 + [0] * 5 + [1] * 6
    filled = out[3]
    assert filled.interpolated.tolist() == [True] and filled.track_ids.tolist() == [0]
    np.testing.assert_allclose(filled.poses.keypoints, people((130, 300)).keypoints, atol=1e-4)
    np.testing.assert_allclose(filled.poses.keypoint_scores[0, :3], 0.8 * 0.9, atol=1e-6)
    assert filled.poses.keypoint_scores[0, 3] == 0                           # unknown, not guessed
    assert out[2].interpolated is None
    header = TracksHeader(VideoInfo("v.mp4", FPS, 640, 360, 18), COCO)
    write_tracks(tmp_path / "t.json", TrackFile(header, tuple(out)))
    back = read_tracks(tmp_path / "t.json")
    assert back.frames[3].interpolated.tolist() == [True] and back.frames[2].interpolated is None


def test_a_gap_is_not_filled_where_another_track_holds_the_same_person():
    """Ids flipping between two tracks on one person leave gaps the other track fills: interpolating
    them would put the person in twice (found by a newcomer's trial)."""
    frames = [frame(k, ((0, 2)[k % 2], 100 + 5 * k, 300), (1, 400, 300)) for k in range(12)]
    dup = RefineConfig(enabled=True, interpolate_gap=3, min_track_frames=3)
    out, report = refine(frames, dup, FPS)
    assert report["interpolated"] == 10 and max(len(f) for f in out) == 3          # without the guard
    out, report = refine(frames, dataclasses.replace(dup, interpolated_iou=0.8), FPS)
    assert report["interpolated"] == 0 and [len(f) for f in out] == [2] * 12
    # a real gap next to someone else still fills
    frames = [frame(k, *([(0, 100 + 5 * k, 300)] if k not in (4, 5) else []), (1, 400, 300)) for k in range(12)]
    out, report = refine(frames, dataclasses.replace(dup, interpolated_iou=0.8), FPS)
    assert report["interpolated"] == 2 and out[4].interpolated.tolist() == [False, True]


def test_one_euro_matches_a_naive_loop_and_passes_a_constant():
    rng = np.random.default_rng(0)
    t = np.cumsum(rng.uniform(0.03, 0.05, 50))
    x = np.cumsum(rng.normal(size=(50, 3)), axis=0)
    got = one_euro(t, x, min_cutoff=1.5, beta=0.3)
    want = np.zeros_like(x)
    for c in range(3):
        prev, dprev = x[0, c], 0.0
        want[0, c] = prev
        for i in range(1, 50):
            dt = t[i] - t[i - 1]
            a_d = 1 / (1 + 1 / (2 * np.pi * 1.0 * dt))
            d = a_d * (x[i, c] - prev) / dt + (1 - a_d) * dprev
            a = 1 / (1 + 1 / (2 * np.pi * (1.5 + 0.3 * abs(d)) * dt))
            prev, dprev = a * x[i, c] + (1 - a) * prev, d
            want[i, c] = prev
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(one_euro(t, np.full((50, 2), 7.0), 1.0, 0.1), 7.0)
    jittery = 100 + rng.normal(0, 2, (200, 1))
    assert one_euro(np.arange(200) / 25, jittery, 1.0, 0.0).std() < jittery.std() / 2


def test_smoothing_is_applied_per_track():
    frames = [frame(k, (0, 100 + 10 * k + (3 if k % 2 else -3), 300)) for k in range(30)]
    out, report = refine(frames, RefineConfig(enabled=True, smooth=True, smooth_min_cutoff=1.0, smooth_beta=0.0), FPS)
    assert report["smoothed"]
    x = np.array([f.poses.keypoints[0, 0, 0] for f in out])
    assert np.abs(np.diff(x, 2)).mean() < np.abs(np.diff([f.poses.keypoints[0, 0, 0] for f in frames], 2)).mean() / 3


@pytest.mark.parametrize("bad", [dict(stitch_scale=0.5), dict(interpolate_gap=-1), dict(min_track_score=2.0)])
def test_bad_refine_settings_are_named(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        RefineConfig(**bad)
