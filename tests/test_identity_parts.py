"""The parts behind identities that hold (issue 16), each on its own: the state tables and their
schema, cost terms against naive loops, colour descriptors, crowd-safe unification, scene cuts,
duplicates, the IoU fallback, re-identification in refinement, ID-F1, and --max-tracks."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from posetrack.errors import FormatError
from posetrack.keypoints import COCO
from posetrack.tracking.state import Column, Table, TrackerState
from posetrack.tracking.tracker import PoseTracker, TrackerConfig, load_tracking_config, table_specs
from posetrack.types import Detections, FrameResult, Poses
from test_tracker import people, uniform_flow


def robust(**overrides):
    cfg, _ = load_tracking_config()
    return PoseTracker(COCO, dataclasses.replace(cfg, **overrides), fps=25.0, frame_size=(640, 360))


# ---------------------------------------------------------------- tables and the saved state

def test_a_table_selects_appends_and_saves_all_its_columns_together():
    spec = {"ids": Column("int64", (), 0), "xy": Column("float32", (2,)), "on": Column("bool")}
    t = Table.empty(spec).append(ids=[3, 1, 2], xy=[[0, 1], [2, 3], [4, 5]], on=[True, False, True])
    picked = t.select(t.on)
    assert picked.ids.tolist() == [3, 2] and picked.xy.tolist() == [[0, 1], [4, 5]]
    moved = t.with_values(np.array([1]), xy=[[9, 9]])
    assert moved.xy[1].tolist() == [9, 9] and t.xy[1].tolist() == [2, 3]        # a copy: t is unchanged
    back = Table.from_state(spec, t.state_dict(), "x")
    assert all(np.array_equal(a, b) for a, b in zip(back.columns().values(), t.columns().values()))
    with pytest.raises(ValueError):
        t.append(ids=[1], xy=[[0, 0]])                                          # a column missing
    with pytest.raises(AttributeError):
        t.ids = np.zeros(3)


@pytest.mark.parametrize("column, value, message", [
    ("ids", [1, -2], r"tracker\.x\.ids: values must be 0 or more"),
    ("ids", [1, True], r"tracker\.x\.ids: Expected `int`, got `bool`"),
    ("xy", [[0, 1], [2]], r"tracker\.x\.xy: rows of different lengths"),
    ("xy", [[0, 1], [2, float("nan")]], r"tracker\.x\.xy: values must be finite"),
])
def test_a_saved_table_is_checked_column_by_column(column, value, message):
    spec = {"ids": Column("int64", (), 0), "xy": Column("float32", (2,))}
    state = {"ids": [1, 2], "xy": [[0, 1], [2, 3]], column: value}
    with pytest.raises(FormatError, match=message):
        Table.from_state(spec, state, "x")
    with pytest.raises(FormatError, match=r"tracker\.x\.zz: unknown column"):
        Table.from_state(spec, {"ids": [], "xy": [], "zz": []}, "x")


def test_the_tracker_state_round_trips_with_its_gallery_and_cuts():
    t = robust(reid_horizon=10.0)
    for k in range(6):
        t.update(k, people((100 + 5 * k, 300)), appearance=None)
    t.cut(6)
    t.update(6, people((400, 300)))
    state = t.state_dict()
    assert state["cuts"] == [6] and set(state) >= {"queue", "tracks", "gallery", "next_id"}
    fresh = robust(reid_horizon=10.0)
    fresh.load_state_dict(state)
    assert fresh.state_dict() == state and fresh.cuts == (6,)
    bad = dict(state, cuts=[6, 3])
    with pytest.raises(FormatError, match=r"tracker\.cuts"):
        fresh.load_state_dict(bad)
    specs = table_specs(17)
    assert TrackerState.decode(state, specs).next_id == state["next_id"]


# ---------------------------------------------------------------- association

def test_cost_terms_follow_one_protocol_and_match_naive_loops():
    from posetrack.oks import oks_matrix
    from posetrack.tracking.association import IouCost, LostGate, MotionCost, OksCost, combine

    t = robust(costs={"oks": 1.0})
    t.update(0, people((100, 300), (300, 300)))
    t.update(1, people((104, 300), (296, 300)), uniform_flow(0.0))
    t.propagate(uniform_flow(0.0), 2)
    poses = people((108, 300), (250, 300), (500, 300))
    view = t.view()
    costs = {name: term.cost(view, poses, None) for name, term in
             [("oks", OksCost(COCO.sigma_array(), 0.4)), ("iou", IouCost()), ("motion", MotionCost()),
              ("gate", LostGate(1.0, 0.0, 1.5))]}
    for name, c in costs.items():
        assert c.shape == (2, 3), name                                       # (T tracks, N poses)
    # OKS: the best over each track's queued poses, written out
    q = t.queue
    for ti, tid in enumerate(t.active_ids):
        for n in range(3):
            rows = np.flatnonzero(q.track_ids == tid)
            want = max(oks_matrix(poses.keypoints[n:n + 1], q.keypoints[[r]], poses.boxes[[n]][:, 2:3] * 0 +
                                  [(poses.boxes[n, 2] - poses.boxes[n, 0]) * (poses.boxes[n, 3] - poses.boxes[n, 1])],
                                  q.areas[[r]], COCO.sigma_array())[0, 0] for r in rows)
            assert costs["oks"][ti, n] == pytest.approx(1 - want)
    assert (costs["gate"] == 0).all()                                         # nobody is lost
    sim = combine([(1.0, costs["oks"]), (0.5, costs["iou"])], 2, 3)
    np.testing.assert_allclose(sim, ((1 - costs["oks"]) * (1 - costs["iou"]) ** 0.5).T, atol=1e-12)
    assert t.similarity(poses).shape == (3, 2)


def test_a_nan_cost_has_no_opinion_and_an_infinite_one_forbids():
    from posetrack.tracking.association import combine

    oks = np.array([[0.1, 0.6]])
    app = np.array([[np.nan, np.inf]])
    sim = combine([(1.0, oks), (0.3, app)], 1, 2)
    assert sim[0, 0] == pytest.approx(0.9) and sim[1, 0] == -np.inf


def test_an_unknown_cost_term_is_named():
    from posetrack.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown cost term 'colour'; choose from: oks, iou, motion, appearance"):
        TrackerConfig(costs={"oks": 1.0, "colour": 0.5})


# ---------------------------------------------------------------- appearance

def test_colour_descriptors_match_a_naive_sampling_and_tell_colours_apart():
    from posetrack.tracking.appearance import PARTS, _ycbcr, describe, similarity

    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    p = people((100, 220), (220, 220), h=150)
    a = describe(image, p.keypoints, p.keypoint_scores, COCO, 0.4)
    assert a.features.shape == (2, len(PARTS), 4) and (a.weights > 0).all()
    # the thighs of the first person: 5 points along each hip-knee segment, written out
    names = COCO.names
    pts = []
    for side in ("left", "right"):
        hip, knee = p.keypoints[0, names.index(f"{side}_hip")], p.keypoints[0, names.index(f"{side}_knee")]
        pts += [hip + t * (knee - hip) for t in np.linspace(0.15, 0.85, 5)]
    pix = np.array([image[int(y), int(x)] for x, y in pts], np.float32)
    want = _ycbcr(pix)
    thighs = [n for n, _ in PARTS].index("thighs")
    np.testing.assert_allclose(a.features[0, thighs, :3], want.mean(0), rtol=1e-5)
    np.testing.assert_allclose(a.features[0, thighs, 3], want[:, 0].std(), rtol=1e-4)
    red, blue = image.copy(), image.copy()
    red[:], blue[:] = (200, 30, 30), (30, 30, 200)
    same = similarity(describe(red, p.keypoints, p.keypoint_scores, COCO, 0.4),
                      describe(red, p.keypoints + 3, p.keypoint_scores, COCO, 0.4))
    other = similarity(describe(red, p.keypoints, p.keypoint_scores, COCO, 0.4),
                       describe(blue, p.keypoints, p.keypoint_scores, COCO, 0.4))
    assert same.min() > 0.99 and other.max() < 0.1
    tiny = describe(red, p.keypoints * 0.05, p.keypoint_scores, COCO, 0.4, heights=np.array([8.0, 8.0]))
    assert (tiny.weights == 0).all() and np.isnan(similarity(tiny, tiny)).all()


def test_colour_histograms_share_samples_between_bins_and_tell_dark_clothes_apart():
    from posetrack.tracking.appearance import (CHROMA_BINS, CHROMA_RANGE, HIST_SIZE, PARTS, Y_BINS, _ycbcr, describe,
                                               histogram_similarity)

    p = people((100, 220), (220, 220), h=150)
    grey = np.full((240, 320, 3), 64, np.uint8)
    a = describe(grey, p.keypoints, p.keypoint_scores, COCO, 0.4)
    assert a.histograms.shape == (2, len(PARTS), HIST_SIZE)
    np.testing.assert_allclose(a.histograms[..., :Y_BINS].sum(-1), 1.0, rtol=1e-5)    # each group sums to 1
    np.testing.assert_allclose(a.histograms[..., Y_BINS:].sum(-1), 1.0, rtol=1e-5)
    # Y = 64 lies at 64 / 256 * Y_BINS - 0.5 bin centres: shared linearly between the two nearest bins
    y = (64 / 256 * Y_BINS - 0.5)
    want = np.zeros(Y_BINS)
    want[int(np.floor(y))], want[min(int(np.floor(y)) + 1, Y_BINS - 1)] = 1 - (y % 1), y % 1
    np.testing.assert_allclose(a.histograms[0, 0, :Y_BINS], want, atol=1e-6)
    # neutral chroma (128) lies halfway between the two middle bins' centres when the count is even, in the
    # middle bin when odd: written out for the configured bins
    u = (128 - CHROMA_RANGE[0]) / (CHROMA_RANGE[1] - CHROMA_RANGE[0]) * CHROMA_BINS - 0.5
    lo, f = int(np.floor(u)), u - np.floor(u)
    cb = np.zeros(CHROMA_BINS)
    cb[lo] += 1 - f
    cb[min(lo + 1, CHROMA_BINS - 1)] += f
    np.testing.assert_allclose(a.histograms[0, 0, Y_BINS:].reshape(CHROMA_BINS, CHROMA_BINS), np.outer(cb, cb), atol=1e-6)
    # two people in dark clothes, one black, one navy: their mean colours are close, their histograms far apart
    black, navy = np.full((240, 320, 3), 30, np.uint8), np.zeros((240, 320, 3), np.uint8)
    navy[:] = (25, 30, 70)
    assert abs(_ycbcr(np.float32([25, 30, 70]))[0] - 30) < 6
    d = {name: describe(img, p.keypoints[:1], p.keypoint_scores[:1], COCO, 0.4) for name, img in
         (("black", black), ("navy", navy))}
    shifted = describe(black, p.keypoints[:1] + 4, p.keypoint_scores[:1], COCO, 0.4)
    assert histogram_similarity(d["black"], shifted)[0, 0] > 0.99
    assert histogram_similarity(d["black"], d["navy"])[0, 0] < 0.7
    # a fragment's look is the weighted mean of its poses': the histogram of all their samples
    both = a.mean()
    np.testing.assert_allclose(both.histograms[0], a.histograms.mean(0), rtol=1e-5)
    assert np.isnan(histogram_similarity(d["black"].select([0]), type(a)(a.features[:1], a.weights[:1]))).all()


# ---------------------------------------------------------------- unification (crowds)

def test_detector_boxes_never_suppress_each_other_only_proposals_are_dropped():
    from posetrack.boxes import box_iou
    from posetrack.tracking.propagation import unify_boxes

    dets = Detections(np.array([[0, 0, 40, 100], [14, 0, 54, 100], [200, 0, 240, 100]], np.float32),
                      np.array([0.9, 0.8, 0.7], np.float32))
    assert 0.4 < box_iou(dets.boxes[:1], dets.boxes[1:2])[0, 0] < 0.7
    props = Detections(np.array([[2, 0, 42, 100], [400, 0, 440, 100], [401, 0, 441, 100]], np.float32),
                       np.array([0.95, 0.8, 0.7], np.float32))
    kept = unify_boxes(dets, props, iou=0.4, min_score=0.5)
    assert sorted(kept[kept < 3].tolist()) == [0, 1, 2]
    assert (kept[kept >= 3] - 3).tolist() == [1]             # overlapping a detection, or a better proposal: dropped


def test_two_detected_people_overlapping_are_both_posed_and_tracked_in_every_frame():
    """The run path (unification, pose calls, tracking) on two people walking side by side whose
    detector boxes overlap by IoU 0.4-0.7."""
    from posetrack.boxes import box_iou
    from posetrack.pipeline.frames import Pipeline
    from helpers.runpath import Person, Scene, SimEstimator
    from test_pipeline import batches, frames_of, tracker_of

    scene = Scene([Person(0, 100, 300, 2.0, 120), Person(0, 114, 300, 2.0, 120)], 30, seed=3)
    ious = [box_iou(np.asarray(b[:1]), np.asarray(b[1:2]))[0, 0] for b, _ in scene.detections]
    assert 0.4 < min(ious) and max(ious) < 0.7
    for preset in ("flowtrack", "robust"):
        estimator = SimEstimator(scene)
        seen = []
        estimate = estimator.estimate_batch

        def recording(images, detections):
            seen.extend(len(d) for d in detections)
            return estimate(images, detections)

        estimator.estimate_batch = recording
        tracker = tracker_of(preset)
        pipeline = Pipeline(estimator, scene.boxes, tracker=tracker, flow=scene.flow,
                            box_score=tracker.config.box_score, nms_iou=tracker.config.nms_iou)
        results = [r for _, r in pipeline.run(iter(batches(frames_of(scene), 8)))]
        assert all(len(r) == 2 and len(set(r.track_ids.tolist())) == 2 for r in results), preset
        assert {tuple(sorted(r.track_ids.tolist())) for r in results} == {(0, 1)}, preset


# ---------------------------------------------------------------- scene cuts

def camera_frames(kind: str, n: int = 12):
    """A textured world seen by a camera that pans, zooms, shakes or changes its exposure."""
    import cv2

    rng = np.random.default_rng(5)
    world = cv2.resize(rng.integers(0, 255, (60, 80, 3)).astype(np.uint8), (960, 720), interpolation=cv2.INTER_CUBIC)
    world = cv2.GaussianBlur(world, (0, 0), 2)
    out = []
    for k in range(n):
        s, tx, ty, gain = 1.0, 40.0, 40.0, 1.0
        if kind == "pan":
            tx += 8 * k
        elif kind == "zoom":
            s = 1 + 0.02 * k
        elif kind == "shake":
            tx, ty = 40 + rng.normal(0, 4), 40 + rng.normal(0, 4)
        elif kind == "light":
            gain = 1.0 if k < n // 2 else 0.6
        m = np.array([[s, 0, -tx * s], [0, s, -ty * s]])
        img = cv2.warpAffine(world, m, (640, 360), flags=cv2.INTER_LINEAR)
        out.append(np.clip(img * gain, 0, 255).astype(np.uint8))
    return out


@pytest.mark.parametrize("kind", ["pan", "zoom", "shake", "light"])
def test_no_cut_is_found_on_a_moving_camera_or_a_change_of_light(kind):
    from posetrack.tracking.cuts import CutConfig, CutDetector

    detect = CutDetector(CutConfig(enabled=True))
    frames = camera_frames(kind)
    assert not any(detect(a, b) for a, b in zip(frames, frames[1:]))


def test_a_cut_to_another_shot_is_found_and_ends_every_track():
    from posetrack.tracking.cuts import CutConfig, CutDetector
    from posetrack.tracking.refine import refine

    detect = CutDetector(CutConfig(enabled=True))
    one, other = camera_frames("pan")[0], np.ascontiguousarray(camera_frames("pan")[0][::-1, ::-1])
    assert detect(one, other) and detect(one, one[:180])            # another shot; another frame size
    t = robust()
    results = [t.update(k, people((100 + 2 * k, 300))) for k in range(12)]
    t.cut(12)
    results += [t.update(k, people((100 + 2 * k, 300))) for k in range(12, 24)]
    results[12] = dataclasses.replace(results[12], cut=True)
    assert {int(i) for r in results[:12] for i in r.track_ids} == {0}
    assert {int(i) for r in results[12:] for i in r.track_ids} == {1}
    refined, report = refine(results, load_tracking_config()[0].refine, 25.0)
    assert report["stitched"] == 0 and refined[12].cut                   # never stitched across the cut
    with pytest.raises(ValueError, match="a cut must come after"):
        t.cut(5)


# ---------------------------------------------------------------- duplicates, fallback, max-tracks

def test_a_persons_near_duplicate_pose_never_takes_an_id_of_its_own():
    t = robust()
    rng = np.random.default_rng(1)
    for k in range(20):
        p = people((100 + 2 * k, 300), (300, 300))
        dup = people((100 + 2 * k + rng.normal(0, 2), 300 + rng.normal(0, 2)), box_score=0.7)
        both = Poses.concat([dup, p], 17) if k % 2 else p
        r = t.update(k, both)
        assert sorted(r.track_ids.tolist()) == [0, 1]
        assert r.poses.box_scores.min() > 0.8                            # the better of the two is kept


def test_an_odd_pose_where_a_track_is_keeps_its_id_by_the_iou_fallback():
    t = robust(fallback_iou=0.5)
    for k in range(8):
        t.update(k, people((200, 300)))
    odd = people((200, 300))
    shuffle = np.random.default_rng(4).permutation(17)
    odd = Poses(odd.boxes, odd.box_scores, odd.keypoints[:, shuffle], odd.keypoint_scores)   # joints scrambled, same place
    assert t.similarity(odd).max() < t.config.min_similarity
    assert t.update(8, odd).track_ids.tolist() == [0]
    assert robust(fallback_iou=None).update(0, people((200, 300))).track_ids.tolist() == [0]


def test_max_tracks_reuses_the_identity_a_newcomer_looks_most_like():
    t = robust(max_tracks=2, max_lost=0.2)
    for k in range(10):
        t.update(k, people((100, 300), (500, 300)))
    for k in range(10, 30):                                              # both leave; nobody for 0.8 s
        t.update(k, Poses.empty(17))
    r = t.update(30, people((480, 300), (120, 300), (300, 300)))
    assert sorted(r.track_ids.tolist()) == [0, 1]                        # a third person is left out
    assert dict(zip(r.poses.boxes[:, 0].round().tolist(), r.track_ids.tolist())) == \
        {round(float(people((120, 300)).boxes[0, 0])): 0, round(float(people((480, 300)).boxes[0, 0])): 1}


# ---------------------------------------------------------------- refinement

def walk(tid, frames, x0, v, h=100.0):
    return [(k, tid, people((x0 + v * (k - frames[0]), 300), h=h)) for k in frames]


def frames_of(items, n):
    out = []
    for k in range(n):
        mine = [(tid, p) for kk, tid, p in items if kk == k]
        poses = Poses.concat([p for _, p in mine], 17) if mine else Poses.empty(17)
        out.append(FrameResult(k, poses, np.array([tid for tid, _ in mine], np.int64)))
    return out


def test_refinement_never_joins_an_exit_and_an_entry_without_colours():
    from posetrack.tracking.refine import refine

    cfg = dataclasses.replace(load_tracking_config()[0].refine, reentry_gap=20.0)
    # track 0 walks out at the right edge; 0.4 s later track 1 walks in there, the other way
    frames = frames_of(walk(0, range(0, 30), 500, 5) + walk(1, range(40, 70), 630, -5), 70)
    out, report = refine(frames, cfg, 25.0, frame_size=(640, 360))
    assert report["stitched"] == 0
    assert {int(i) for f in out[40:] for i in f.track_ids} == {1}


def test_refinement_joins_an_exit_and_a_reentry_that_look_alike_and_no_other():
    from posetrack.tracking.appearance import PARTS, Appearance
    from posetrack.tracking.refine import refine

    cfg = dataclasses.replace(load_tracking_config()[0].refine, reentry_gap=20.0)
    items = walk(0, range(0, 30), 500, 5) + walk(1, range(90, 130), 630, -5) + walk(2, range(150, 180), 630, -5)
    frames = frames_of(items, 180)
    red, blue = np.zeros((len(PARTS), 4), np.float32), np.zeros((len(PARTS), 4), np.float32)
    red[:, :3], blue[:, :3] = (80, 100, 200), (60, 200, 90)
    colour = {0: red, 1: red, 2: blue}
    looks = [Appearance(np.array([colour[int(i)] for i in f.track_ids]).reshape(-1, len(PARTS), 4),
                        np.ones((len(f), len(PARTS)), np.float32)) for f in frames]
    out, report = refine(frames, cfg, 25.0, appearance=looks, frame_size=(640, 360))
    assert report["stitched"] == 1
    assert {int(i) for f in out[90:130] for i in f.track_ids} == {0}      # the same person came back (3.6 s)
    assert {int(i) for f in out[150:] for i in f.track_ids} == {2}        # the one who looks different did not


def test_a_person_seen_in_pieces_survives_and_bunched_joints_do_not():
    from posetrack.tracking.refine import refine

    cfg = load_tracking_config()[0].refine
    items = []
    for i, start in enumerate(range(0, 60, 8)):                          # 6-frame pieces, 2-frame gaps
        items += walk(i, range(start, start + 6), 100 + 2 * start, 2)
    van = people((400, 300))
    van = Poses(van.boxes, van.box_scores, (van.keypoints - van.keypoints.mean(1, keepdims=True)) * 0.15 +
                van.keypoints.mean(1, keepdims=True), van.keypoint_scores)
    items += [(k, 50, van) for k in range(60)]
    out, report = refine(frames_of(items, 60), cfg, 25.0)
    ids = [set(f.track_ids[~f.interpolated].tolist()) if f.interpolated is not None else set(f.track_ids.tolist())
           for f in out]
    assert set().union(*ids) == {0}                                      # one person, one id; the van is gone
    assert sum(len(f) for f in out) >= 58


def test_someone_hidden_in_place_who_comes_back_in_pieces_keeps_their_id_and_a_stranger_does_not():
    from posetrack.tracking.appearance import PARTS, Appearance
    from posetrack.tracking.refine import refine

    cfg = load_tracking_config()[0].refine
    items = walk(0, range(0, 40), 300, 0)                                # standing, then hidden for 7 s
    for i, start in enumerate(range(215, 255, 10)):                      # back in 4-pose pieces (new ids each)
        items += walk(1 + i, range(start, start + 4), 300, 0)
    for i, start in enumerate(range(330, 370, 10)):                      # later someone else, also in pieces
        items += walk(10 + i, range(start, start + 4), 300, 0)
    frames = frames_of(items, 370)
    red, blue = np.zeros((len(PARTS), 4), np.float32), np.zeros((len(PARTS), 4), np.float32)
    red[:, :3], blue[:, :3] = (80, 100, 200), (60, 200, 90)
    looks = [Appearance(np.array([red if i < 10 else blue for i in f.track_ids]).reshape(-1, len(PARTS), 4),
                        np.ones((len(f), len(PARTS)), np.float32)) for f in frames]

    def observed_ids(out, lo, hi):
        return {int(i) for f in out[lo:hi] for i in f.track_ids}

    out, _ = refine(frames, cfg, 25.0, appearance=looks, frame_size=(640, 360))
    assert observed_ids(out, 215, 255) == {0}                            # the same person, one id
    assert len(observed_ids(out, 330, 370)) == 1 and 0 not in observed_ids(out, 330, 370)
    # without stitching the chains once more, each returning piece is too short to be re-identified
    out, _ = refine(frames, dataclasses.replace(cfg, restitch_chains=False), 25.0, appearance=looks,
                    frame_size=(640, 360))
    assert 0 not in observed_ids(out, 215, 255)


# ---------------------------------------------------------------- ID-F1

def test_idf1_and_switches_match_a_brute_force_assignment():
    import itertools

    from posetrack.eval.identity import identity_scores

    rng = np.random.default_rng(2)
    true = [str(x) if x < 3 else None for x in rng.integers(0, 4, 60)]
    pred = rng.integers(0, 4, 60).tolist()
    frames = rng.integers(0, 20, 60).tolist()
    s = identity_scores(true, pred, frames, true_total=70)
    best = 0
    people = sorted({t for t in true if t is not None})
    for perm in itertools.permutations(range(4), len(people)):
        best = max(best, sum(1 for t, p in zip(true, pred) if t is not None and perm[people.index(t)] == p))
    assert s.idtp == best and s.idf1 == pytest.approx(2 * best / (70 + 60))
    switches = 0
    for person in people:
        seq = [p for f, t, p in sorted(zip(frames, true, pred), key=lambda e: (e[0], str(e[1]), e[2])) if t == person]
        switches += sum(a != b for a, b in zip(seq, seq[1:]))
    assert s.switches == switches
