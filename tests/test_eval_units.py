"""Units of the PoseTrack evaluator against naive loops, and tiny hand-made cases worked out by hand.

The hand-made cases cover what the official sets cannot show: empty predictions, sequences without
labeled frames, persons without keypoints, missing scores, duplicate GT track ids, ignore-region
boundaries, 2018 files, score thresholds and the inputs on which poseval itself crashes. Every
expected number is derived in the comments (head boxes are 30 x 40, so the head size is
0.6 * 50 = 30 px and a joint is correct within 15 px).
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from posetrack.eval.ap import joint_ap, voc_ap
from posetrack.eval.frames import strictly_inside
from posetrack.eval.matching import assign, head_sizes, pckh_distances
from posetrack.eval.mot import JointTracker, MotCounts, mot_figures, solve_assignment
from posetrack.eval.report import ap_row, group_means, mot_row, nan_total
from posetrack.eval.evaluate import evaluate, score_filter
from posetrack.eval.formats import parse_posetrack, to_posetrack18
from helpers.geometry import naive_inside

NAN = float("nan")


# ----------------------------------------------------------------------------- tiny JSON builders

def pt(j, x, y, score=None):
    p = {"id": [j], "x": [x], "y": [y]}
    if score is not None:
        p["score"] = [score]
    return p


def person(tid, points, head=(0, 0, 30, 40), score=None, annopoints=True):
    r = {"track_id": [tid]}
    if head is not None:
        r.update(x1=[head[0]], y1=[head[1]], x2=[head[2]], y2=[head[3]])
    if score is not None:
        r["score"] = [score]
    if annopoints:
        r["annopoints"] = [{"point": points}]
    return r


DEFAULT_NAME = "images/val/000001_mpii_test/000000.jpg"


def frame(persons, regions=None):
    f = {"image": [{"name": DEFAULT_NAME}], "annorect": persons}
    if regions is not None:
        f["ignore_regions"] = [{"point": [{"x": [x], "y": [y]} for x, y in poly]} for poly in regions]
    return f


def write_set(root: Path, gt: dict, pred: dict) -> Path:
    """gt / pred: {sequence name: list of frames (or a full document)}."""
    for side, seqs in (("gt", gt), ("pred", pred)):
        (root / side).mkdir(parents=True, exist_ok=True)
        for name, frames in seqs.items():
            if not isinstance(frames, dict):   # frame i shows image i (frames are paired by image name)
                frames = [dict(f, image=[{"name": DEFAULT_NAME.replace("000000", f"{i:06d}")}])
                          if f.get("image") == [{"name": DEFAULT_NAME}] else f for i, f in enumerate(frames)]
            doc = frames if isinstance(frames, dict) else {"annolist": frames}
            (root / side / f"{name}.json").write_text(json.dumps(doc))
    return root


def run(tmp_path, gt, pred, **kw):
    root = write_set(tmp_path, gt, pred)
    return evaluate(root / "gt", root / "pred", **kw)


# ----------------------------------------------------------------------------- vectorised vs naive

def test_strictly_inside_matches_naive_on_random_and_boundary_points():
    rng = np.random.default_rng(0)
    concave = np.array([[0, 0], [10, 0], [10, 10], [5, 4], [0, 10]], dtype=float)
    triangle = np.array([[1.5, 2.25], [7.75, 3.5], [4.0, 9.125]])
    for poly in (concave, triangle):
        pts = np.concatenate([rng.uniform(-2, 12, size=(300, 2)), poly,
                              (poly + np.roll(poly, -1, axis=0)) / 2,            # edge midpoints
                              [[5, 4], [5, 5], [5, 3.9], [2.5, 7]]])
        got = strictly_inside(pts, poly)
        want = [naive_inside(x, y, poly.tolist()) for x, y in pts]
        assert got.tolist() == want


def test_strictly_inside_excludes_the_boundary_and_degenerate_polygons():
    square = np.array([[0, 0], [100, 0], [100, 100], [0, 100]], dtype=float)
    pts = np.array([[50, 50], [0, 50], [100, 50], [50, 100], [0, 0], [100.0001, 50], [99.9999, 50]])
    assert strictly_inside(pts, square).tolist() == [True, False, False, False, False, False, True]
    assert strictly_inside(pts, square[:2]).tolist() == [False] * 7           # < 3 points: no interior


def test_pckh_distances_match_a_loop():
    rng = np.random.default_rng(1)
    f, g, p, j = 3, 4, 5, 15
    gt_xy, pr_xy = rng.uniform(0, 100, (f, g, j, 2)), rng.uniform(0, 100, (f, p, j, 2))
    gt_has, pr_has = rng.random((f, g, j)) < 0.7, rng.random((f, p, j)) < 0.7
    boxes = rng.uniform(0, 50, (f, g, 4))
    hs = head_sizes(boxes)
    got = pckh_distances(gt_xy, gt_has, hs, pr_xy, pr_has)
    for a in range(f):
        for b in range(p):
            for c in range(g):
                size = 0.6 * math.sqrt((boxes[a, c, 2] - boxes[a, c, 0]) ** 2 + (boxes[a, c, 3] - boxes[a, c, 1]) ** 2)
                assert hs[a, c] == pytest.approx(size)
                for k in range(j):
                    want = math.inf if not (gt_has[a, c, k] and pr_has[a, b, k]) else \
                        math.dist(gt_xy[a, c, k], pr_xy[a, b, k]) / size
                    assert got[a, b, c, k] == pytest.approx(want)


def naive_assign(pck, n_p, n_g):
    best = []
    for p in range(n_p):
        g_best = 0
        for g in range(1, n_g):
            if pck[p][g] > pck[p][g_best]:
                g_best = g
        best.append(g_best)
    out = [-1] * n_p
    for g in range(n_g):
        top = None
        for p in range(n_p):
            if best[p] == g and (top is None or pck[p][g] > pck[top][g]):
                top = p
        if top is not None and pck[top][g] > 0:
            out[top] = g
    return out


def test_assign_matches_a_loop_with_ties_and_padding():
    rng = np.random.default_rng(2)
    pck = rng.integers(0, 4, size=(200, 6, 5)) / 3.0               # many ties, many zeros
    n_p, n_g = rng.integers(0, 7, 200), rng.integers(0, 6, 200)
    pr_valid = np.arange(6)[None, :] < n_p[:, None]
    gt_valid = np.arange(5)[None, :] < n_g[:, None]
    got = assign(pck, pr_valid, gt_valid)
    for f in range(200):
        want = naive_assign(pck[f].tolist(), n_p[f], n_g[f]) if n_g[f] else [-1] * n_p[f]
        assert got[f, :n_p[f]].tolist() == want


def test_assign_keeps_a_prediction_out_when_its_best_gt_goes_elsewhere():
    # p1 prefers g0 (tie 0.5 / 0.5 -> lowest g) but g0 goes to p0 (1.0): p1 stays out although g1 is free.
    pck = np.array([[[1.0, 0.0], [0.5, 0.5]]])
    assert assign(pck, np.ones((1, 2), bool), np.ones((1, 2), bool)).tolist() == [[0, -1]]


# ----------------------------------------------------------------------------- AP and MOT pieces

def test_voc_ap_and_joint_ap_by_hand():
    # recall .5 .5 1, precision 1 .5 2/3 -> envelope 1 2/3 2/3 -> .5 * 1 + .5 * 2/3
    assert voc_ap(np.array([0.5, 0.5, 1.0]), np.array([1.0, 0.5, 2 / 3])) == pytest.approx(0.5 + 1 / 3)
    # sorted labels T F T with 4 GT: precision 1 .5 .667, recall .25 .25 .5 -> AP .25 + .25 * 2/3
    ap, pre, rec = joint_ap(np.array([0.3, 0.9, 0.8]), np.array([True, True, False]), 4)
    assert (ap, pre, rec) == pytest.approx((100 * (0.25 + 0.25 * 2 / 3), 100 * 2 / 3, 50.0))
    assert joint_ap(np.zeros(0), np.zeros(0, bool), 0) == (0.0, 0.0, 0.0)      # no predictions: 0, not NaN
    ap, pre, rec = joint_ap(np.array([0.5]), np.array([False]), 0)               # no GT: NaN (0/0 recall)
    assert math.isnan(ap) and pre == 0.0 and math.isnan(rec)


def test_solve_assignment_prefers_more_pairs_over_a_cheaper_pair():
    d = np.array([[0.1, 0.2], [0.05, np.nan]])
    rows, cols = solve_assignment(d)
    assert rows.tolist() == [0, 1] and cols.tolist() == [1, 0]     # 2 pairs (0.25) beat 0.05 + nothing
    rows, cols = solve_assignment(np.full((2, 3), np.nan))
    assert rows.size == 0 and cols.size == 0


def feed(tracker, frames):
    """frames: list of (gt ids, pred ids, {(gt row, pred col): distance}) for one joint."""
    for gt_ids, pr_ids, pairs in frames:
        d = np.full((len(pr_ids), len(gt_ids), 1), np.inf)
        for (g, p), v in pairs.items():
            d[p, g, 0] = v
        tracker.update(np.array(gt_ids), np.ones((len(gt_ids), 1), bool), np.array(pr_ids),
                       np.ones((len(pr_ids), 1), bool), d)
    return tracker.counts()


def test_tracker_continuation_switch_and_ascend_by_hand():
    # f0: o0-h0 (0.1) new pair. f1: h0 (0.1) and h1 (0.03, closer): o0 keeps h0, h1 is an FP.
    # f2: only h1 -> SWITCH (o0 was with h0) + ASCEND (h1 never paired).
    c = feed(JointTracker(1, 2, 1), [([0], [0], {(0, 0): 0.1}),
                                     ([0], [0, 1], {(0, 0): 0.1, (0, 1): 0.03}),
                                     ([0], [1], {(0, 0): 0.03})])
    assert (c.matches[0], c.switches[0], c.ascends[0], c.transfers[0]) == (2, 1, 1, 0)
    assert (c.objects[0], c.misses[0], c.false_positives[0]) == (3, 0, 1)
    # D: RAW 0.1 + 0.1 + 0.03 + 0.03, events 0.1 + 0.1 + 0.03 (switch) + 0.03 (ascend)
    assert c.distance[0] == pytest.approx(0.52)
    fig = mot_figures(c)
    assert fig["mota"][0] == pytest.approx(100 * (1 - 2 / 3))
    assert fig["motp"][0] == pytest.approx(100 * (1 - 0.52 / 3))
    assert fig["precision"][0] == pytest.approx(75.0) and fig["recall"][0] == pytest.approx(100.0)


def test_tracker_transfer_and_migrate_by_hand():
    # f0: o0-h0. f1: o0 gone, o1 takes h0: MATCH (o1 new) + TRANSFER (h0 was o0's) + MIGRATE (o1 never paired).
    # f2: o0 is back with h0 (now last with o1): o0's last hypothesis is h0, so step 1 continues it as a
    # plain MATCH; step 1 never looks at the hypothesis' side, so no second TRANSFER (motmetrics' rule).
    c = feed(JointTracker(2, 1, 1), [([0], [0], {(0, 0): 0.2}), ([1], [0], {(0, 0): 0.1}),
                                     ([0], [0], {(0, 0): 0.3})])
    assert (c.matches[0], c.switches[0], c.transfers[0], c.migrates[0], c.ascends[0]) == (3, 0, 1, 1, 0)
    # RAW 0.6 + MATCH 0.2 + (MATCH + TRANSFER + MIGRATE) 3 * 0.1 + MATCH 0.3
    assert c.distance[0] == pytest.approx(1.4)


def test_tracker_duplicate_object_ids_first_row_wins():
    # Two GT rows share id 0. f1: row 0 is out of reach of h0, so row 1 continues with h0 (step 1);
    # row 0 then pairs with h1 in step 2: a SWITCH for object 0 (last with h0) + ASCEND.
    c = feed(JointTracker(1, 2, 1), [([0], [0], {(0, 0): 0.1}),
                                     ([0, 0], [0, 1], {(1, 0): 0.1, (0, 1): 0.2})])
    assert (c.matches[0], c.switches[0], c.ascends[0], c.objects[0], c.misses[0]) == (2, 1, 1, 3, 0)


def test_mot_figures_nan_and_zero_rules():
    c = MotCounts.zeros(2)
    c = MotCounts(objects=np.array([0, 4]), hypotheses=np.array([3, 0]), matches=np.zeros(2, int),
                  switches=np.zeros(2, int), transfers=np.zeros(2, int), ascends=np.zeros(2, int),
                  migrates=np.zeros(2, int), distance=np.zeros(2), frames=1)
    fig = mot_figures(c)
    assert math.isnan(fig["mota"][0]) and fig["mota"][1] == -0.0 + 0.0     # 1 - 4/4
    assert fig["motp"].tolist() == [0.0, 0.0]                                # no detections: 0, not NaN
    assert fig["precision"][0] == 0.0 and math.isnan(fig["precision"][1])
    assert math.isnan(fig["recall"][0]) and fig["recall"][1] == 0.0


def test_report_groups_and_totals():
    values = np.arange(15, dtype=float)
    values[3] = NAN
    assert math.isnan(group_means(values)["Hip"])             # a group with a NaN joint is NaN
    assert nan_total(values) == pytest.approx((105 - 3) / 14)  # Total skips NaN joints
    assert math.isnan(nan_total(np.full(15, NAN)))
    assert list(ap_row(values)) == ["Head", "Shou", "Elb", "Wri", "Hip", "Knee", "Ankl", "Total"]
    assert list(mot_row(values, values, values, values))[-4:] == ["Total", "MOTP", "Prec", "Rec"]


# ----------------------------------------------------------------------------- hand-made sequences

def two_joint_person(tid, x, y, scores=(None, None), head=None):
    """Joints 0 and 1 at (x, y) and (x + 100, y); head box at (x, y) of 30 x 40 unless given."""
    head = head or (x, y, x + 30, y + 40)
    return person(tid, [pt(0, x, y, scores[0]), pt(1, x + 100, y, scores[1])], head=head)


def test_pose_assignment_quirk_by_hand(tmp_path):
    # GT A at x=0, GT B at x=1000. p0 fits A on both joints (pck 1). p1 has joint 0 near A and joint 1
    # near B (pck 0.5 each, tie -> A), but A goes to p0: p1 stays unassigned and both its joints are
    # false positives. Per joint: (0.9, T), (0.8, F), 2 GT -> AP = 0.5 * 1 = 50, precision 50, recall 50.
    gt = [frame([two_joint_person(1, 0, 0), two_joint_person(2, 1000, 0)])]
    p1 = person(8, [pt(0, 2, 0, 0.8), pt(1, 1100, 1, 0.8)])
    pred = [frame([two_joint_person(7, 1, 0, (0.9, 0.9)), p1])]
    r = run(tmp_path, {"s": gt}, {"s": pred})
    assert r.overall.ap[:2].tolist() == [50.0, 50.0]
    assert r.overall.ap_precision[:2].tolist() == [50.0, 50.0] and r.overall.ap_recall[:2].tolist() == [50.0, 50.0]
    assert r.overall.ap[2:].tolist() == [0.0] * 13                     # never predicted: 0, not NaN
    assert r.overall.total("ap") == pytest.approx(100 / 15)
    assert r.overall.num_gt[:3].tolist() == [2, 2, 0]


def test_tracking_by_hand_and_last_frame_dropped(tmp_path):
    # One GT person, head_top (joint 14) only. Predictions: f0 h10 at 3 px (d 0.1); f1 h10 (0.1) + h11
    # at 1 px (d 1/30); f2 only h11; f3 is the last evaluated frame: used for AP, not for tracking.
    gt = [frame([person(1, [pt(14, 0, 0)])]) for _ in range(4)]
    h10, h11 = person(10, [pt(14, 3, 0, 0.5)]), person(11, [pt(14, 1, 0, 0.6)])
    pred = [frame([h10]), frame([h10, h11]), frame([h11]), frame([person(12, [pt(14, 500, 0, 0.7)])])]
    r = run(tmp_path, {"s": gt}, {"s": pred})
    c = r.overall.counts
    assert c.frames == 3
    assert (c.objects[14], c.matches[14], c.switches[14], c.false_positives[14], c.misses[14]) == (3, 2, 1, 1, 0)
    assert r.overall.mota[14] == pytest.approx(100 / 3)
    d = (0.1 + 0.1 + 1 / 30 + 1 / 30) * 2                          # RAW + MATCH, MATCH, SWITCH, ASCEND
    assert r.overall.motp[14] == pytest.approx(100 * (1 - d / 3))
    assert (r.overall.precision[14], r.overall.recall[14]) == pytest.approx((75.0, 100.0))
    assert np.isnan(r.overall.mota[:14]).all() and (r.overall.motp[:14] == 0).all()
    assert r.overall.total("mota") == pytest.approx(100 / 3)
    assert r.overall.total("motp") == pytest.approx(100 * (1 - d / 3) / 15)   # MOTP zeros count
    # AP over all 4 frames: scores .5 T, .5 T, .6 F (h11 loses GT to h10 in f1), .6 T, .7 F; 4 GT.
    # sorted .7 F, .6 F/.6 T (f1 first), .5 T, .5 T
    assert r.overall.num_gt[14] == 4 and r.overall.ap_precision[14] == pytest.approx(60.0)


def test_empty_predictions_become_dummy_misses_and_false_positives(tmp_path):
    # Two GT persons in each of 3 frames, no predictions at all: every tracked frame adds exactly one
    # object, one miss and one FP per joint, however many GT persons there are. f2 is not tracked.
    gt = [frame([two_joint_person(1, 0, 0), two_joint_person(2, 500, 0)]) for _ in range(3)]
    pred = [frame([]) for _ in range(3)]
    r = run(tmp_path, {"s": gt}, {"s": pred})
    c = r.overall.counts
    assert c.objects.tolist() == [2] * 15 and c.misses.tolist() == [2] * 15 and c.false_positives.tolist() == [2] * 15
    assert r.overall.mota.tolist() == [-100.0] * 15
    assert r.overall.precision.tolist() == [0.0] * 15 and r.overall.recall.tolist() == [0.0] * 15
    assert r.overall.ap.tolist() == [0.0] * 15


def test_missing_prediction_file_is_scored_as_empty_with_a_warning(tmp_path):
    gt = [frame([two_joint_person(1, 0, 0)]) for _ in range(3)]
    root = write_set(tmp_path, {"a": gt, "b": gt}, {"a": [frame([]) for _ in range(3)], "zzz": []})
    r = evaluate(root / "gt", root / "pred")
    assert any("no prediction file" in w and "b.json" in w for w in r.warnings)
    assert any("without a GT file" in w and "zzz.json" in w for w in r.warnings)
    assert r.sequences["b"].mota.tolist() == r.sequences["a"].mota.tolist() == [-100.0] * 15


def test_sequence_without_labeled_frames_is_skipped(tmp_path):
    scored = [frame([two_joint_person(1, 0, 0)]), frame([two_joint_person(1, 0, 0)])]
    preds = [frame([two_joint_person(5, 1, 0, (0.9, 0.8))])] * 2
    empty = [frame([]), frame([])]
    both = run(tmp_path / "both", {"a": scored, "b": empty}, {"a": preds, "b": preds})
    alone = run(tmp_path / "alone", {"a": scored}, {"a": preds})
    assert list(both.sequences) == ["a"] and both.overall.frames == 2
    assert any("no frame with GT annotations" in w for w in both.warnings)
    assert both.overall.ap.tolist() == alone.overall.ap.tolist()
    np.testing.assert_array_equal(both.overall.mota, alone.overall.mota)


def test_no_labeled_frame_anywhere_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="nothing to evaluate"):
        run(tmp_path, {"a": [frame([])]}, {"a": [frame([])]})


def test_box_only_gt_rect_makes_an_evaluated_frame_without_gt(tmp_path):
    # f1's GT has only a rect without keypoints: the frame is evaluated with zero GT persons, so the
    # prediction's joints are false positives (labels F) and tracking sees a dummy frame.
    gt = [frame([two_joint_person(1, 0, 0)]), frame([person(1, [], annopoints=False)]),
          frame([two_joint_person(1, 0, 0)])]
    pred = [frame([two_joint_person(5, 1, 0, (0.9, 0.9))])] * 3
    r = run(tmp_path, {"s": gt}, {"s": pred})
    assert r.overall.frames == 3 and r.overall.num_gt[:2].tolist() == [2, 2]
    # joint 0 entries: .9 T, .9 F, .9 T (tied scores, labels differ) -> 2 of 3 correct at the end
    assert r.overall.ap_precision[0] == pytest.approx(200 / 3) and r.overall.ap_recall[0] == pytest.approx(100.0)
    c = r.overall.counts                 # f0 real (1 obj, match), f1 dummy (1 obj, miss, FP)
    assert (c.objects[0], c.matches[0], c.misses[0], c.false_positives[0]) == (2, 1, 1, 1)


def test_prediction_with_empty_point_list_keeps_the_frame_in_case_a(tmp_path):
    # The only prediction of f0 and f1 has "point": []. f0 (no ignore region): Case A, the GT joints are
    # plain misses, no FP. f1 has an ignore region (far away), where such a rect is removed: Case B, a
    # dummy miss + FP. f2 is the last frame (not tracked). Joint 0: 2 objects, 2 misses, 1 FP.
    region = [[(500, 500), (600, 500), (600, 600)]]
    gt = [frame([two_joint_person(1, 0, 0)]), frame([two_joint_person(1, 0, 0)], regions=region),
          frame([two_joint_person(1, 0, 0)])]
    pred = [frame([person(5, [])]), frame([person(5, [])]), frame([])]
    c = run(tmp_path, {"s": gt}, {"s": pred}).overall.counts
    assert (c.objects[0], c.misses[0], c.false_positives[0]) == (2, 2, 1)


def test_missing_scores_rank_as_minus_9999(tmp_path):
    # f0: a correct joint 0 without score; f1: a wrong one scored -5 (pck 0: unassigned). 2 GT.
    # Ranked: (-5, F), (-9999, T): precision 0, .5; recall 0, .5 -> AP = .5 * .5 = 25 (not 50 as with 0).
    gt = [frame([person(1, [pt(0, 0, 0)])]), frame([person(1, [pt(0, 0, 0)])])]
    pred = [frame([person(5, [pt(0, 1, 0)])]), frame([person(5, [pt(0, 400, 0, -5.0)])])]
    r = run(tmp_path, {"s": gt}, {"s": pred})
    assert r.overall.ap[0] == pytest.approx(25.0)


def test_duplicate_gt_track_ids_by_hand(tmp_path):
    # Two GT persons share track id 3 in f1 (poseval does not check GT ids). See
    # test_tracker_duplicate_object_ids_first_row_wins: 2 matches, 1 switch on joint 14.
    gt = [frame([person(3, [pt(14, 0, 0)])]),
          frame([person(3, [pt(14, 900, 0)], head=(900, 0, 930, 40)), person(3, [pt(14, 0, 0)])]),
          frame([person(3, [pt(14, 0, 0)])])]
    pred = [frame([person(20, [pt(14, 1, 0, 0.9)])]),
            frame([person(20, [pt(14, 1, 0, 0.9)]), person(21, [pt(14, 901, 0, 0.9)])]), frame([])]
    c = run(tmp_path, {"s": gt}, {"s": pred}).overall.counts
    assert (c.objects[14], c.matches[14], c.switches[14], c.ascends[14], c.misses[14]) == (3, 2, 1, 1, 0)


def test_ignore_regions_by_hand(tmp_path):
    # Ignore square (0,0)-(100,100). GT g0: joint 0 inside (deleted), joint 1 outside. GT g1: all inside
    # (removed). GT g2: joint 0 on the left edge (kept). p0: joint 0 on the right edge (kept), joint 1 on
    # g0's. p1: all inside (removed). p2: joint 0 1 px left of g2's, outside the square.
    # Assignment: p0 -> g0 (pck 1 on joint 1), p2 -> g2. Joint 0 entries: p0 (.9, F: g0 no longer annotates
    # joint 0: a false positive, not ignored), p2 (.7, T); 1 GT -> AP = 1 * .5 = 50. Joint 1: (.8, T) -> 100.
    square = [(0, 0), (100, 0), (100, 100), (0, 100)]
    g0 = person(1, [pt(0, 50, 50), pt(1, 200, 200)], head=(190, 180, 220, 220))
    g1 = person(2, [pt(0, 20, 20), pt(1, 30, 30)])
    g2 = person(3, [pt(0, 0, 50)], head=(-15, 30, 15, 70))
    p0 = person(7, [pt(0, 100, 50, 0.9), pt(1, 201, 200, 0.8)])
    p1 = person(8, [pt(0, 60, 60, 0.95), pt(1, 70, 70, 0.95)])
    p2 = person(9, [pt(0, -1, 50, 0.7)])
    r = run(tmp_path, {"s": [frame([g0, g1, g2], regions=[square])]}, {"s": [frame([p0, p1, p2])]})
    assert r.overall.num_gt[:2].tolist() == [1, 1]
    assert r.overall.ap[:2].tolist() == [50.0, 100.0]
    assert r.overall.ap_precision[0] == 50.0 and r.overall.ap_recall[0] == 100.0


def test_ignore_polygon_with_two_points_ignores_nothing(tmp_path):
    # poseval crashes on it; it has no interior, so no point is deleted (warning), but the frame still
    # counts as one with ignore regions: the only prediction, with an empty point list, is removed, so f0
    # is a dummy frame (miss + FP) rather than Case A (miss only). The GT joint on the segment stays.
    gt = [frame([two_joint_person(1, 0, 0)], regions=[[(-50, -50), (50, 50)]]), frame([two_joint_person(1, 0, 0)])]
    pred = [frame([person(5, [])]), frame([])]
    r = run(tmp_path, {"s": gt}, {"s": pred})
    assert r.overall.num_gt[:2].tolist() == [2, 2]
    c = r.overall.counts
    assert (c.objects[0], c.misses[0], c.false_positives[0]) == (1, 1, 1)
    assert any("has no interior" in w for w in r.warnings)


def test_inputs_as_file_lists_and_mappings(tmp_path):
    gt = [frame([two_joint_person(1, 0, 0)]) for _ in range(2)]
    pred = [frame([two_joint_person(4, 1, 0, (0.9, 0.9))]) for _ in range(2)]
    root = write_set(tmp_path, {"s": gt}, {"s": pred})
    from_dirs = evaluate(root / "gt", root / "pred")
    from_lists = evaluate([root / "gt" / "s.json"], {"s": root / "pred" / "s.json"})
    np.testing.assert_array_equal(from_dirs.overall.ap, from_lists.overall.ap)
    with pytest.raises(ValueError, match="both named s.json"):
        evaluate([root / "gt" / "s.json", root / "pred" / "s.json"], root / "pred")


def test_2018_files_score_like_2017(tmp_path):
    gt = [frame([two_joint_person(1, 0, 0), two_joint_person(2, 500, 0)],
                regions=[[(600, -5), (700, -5), (700, 5)]]) for _ in range(3)]
    pred = [frame([two_joint_person(7, 1, 0, (0.9, 0.4)), two_joint_person(8, 660, 0, (0.6, 0.3))]),
            frame([two_joint_person(8, 1, 0, (0.9, 0.4))]), frame([])]
    a = run(tmp_path / "a", {"s": gt}, {"s": pred})
    named = lambda frames: [dict(f, image=[{"name": f"images/val/000001_mpii_test/{i:06d}.jpg"}])  # noqa: E731
                            for i, f in enumerate(frames)]
    gt, pred = named(gt), named(pred)
    to18 = lambda frames: to_posetrack18(parse_posetrack({"annolist": frames}))   # noqa: E731
    b = run(tmp_path / "b", {"s": to18(gt)}, {"s": to18(pred)})
    c = run(tmp_path / "c", {"s": to18(gt)}, {"s": pred})
    for other in (b, c):
        for metric in ("ap", "mota", "motp", "precision", "recall"):
            np.testing.assert_array_equal(getattr(a.overall, metric), getattr(other.overall, metric))


def test_thresholds_drop_points_and_persons(tmp_path):
    gt = [frame([two_joint_person(1, 0, 0)]) for _ in range(3)]
    good = two_joint_person(5, 1, 0, (0.9, 0.2))
    good["score"] = [0.9]
    ghost = two_joint_person(6, 700, 0, (0.8, 0.8))
    ghost["score"] = [0.1]
    pred = [frame([good, ghost]) for _ in range(3)]
    plain = run(tmp_path / "a", {"s": gt}, {"s": pred})
    cut = run(tmp_path / "b", {"s": gt}, {"s": pred}, joint_thr=0.5, box_thr=0.5)
    # Without filters the ghost is an FP on both joints in both tracked frames; joint 1 of "good" is a match.
    assert plain.overall.counts.false_positives[:2].tolist() == [2, 2]
    # With them the ghost is gone and joint 1 (score .2) is dropped: joint 1 becomes a miss.
    assert cut.overall.counts.false_positives[:2].tolist() == [0, 0]
    assert cut.overall.counts.misses[:2].tolist() == [0, 2]
    assert (cut.joint_thr, cut.box_thr) == (0.5, 0.5)
    assert cut.overall.ap[1] == 0.0 and plain.overall.ap[1] > 0


def test_score_filter_rules():
    seq = parse_posetrack({"annolist": [frame([
        person(1, [pt(0, 1, 1, 0.9), pt(1, 2, 2, 0.1)], score=0.2),     # box score below box_thr
        person(2, [pt(0, 1, 1, 0.1), pt(1, 2, 2)], score=0.9),          # all points below joint_thr
        person(3, [pt(0, 1, 1, 0.7)]),                                   # no box score: kept
        person(4, [], score=0.9)])]})                                    # no points to begin with: kept
    keep_person, keep_point = score_filter(seq, joint_thr=0.5, box_thr=0.5)
    assert keep_person.tolist() == [False, False, True, True]
    assert keep_point.tolist() == [True, False, False, False, True]     # a point without score is -9999


def test_one_evaluated_frame_counts_for_ap_only(tmp_path):
    gt = [frame([]), frame([two_joint_person(1, 0, 0)]), frame([])]
    pred = [frame([two_joint_person(5, 1, 0, (0.9, 0.9))])] * 3
    r = run(tmp_path, {"s": gt}, {"s": pred})
    assert r.overall.ap[:2].tolist() == [100.0, 100.0]
    assert r.overall.counts.frames == 0 and np.isnan(r.overall.mota).all()
    assert any("only one evaluated frame" in w for w in r.warnings)


def test_zero_size_head_box_is_unmatchable_with_a_warning(tmp_path):
    gt = [frame([person(1, [pt(0, 5, 5)], head=(5, 5, 5, 5))])] * 2
    pred = [frame([person(5, [pt(0, 5, 5, 0.9)])])] * 2
    r = run(tmp_path, {"s": gt}, {"s": pred})
    assert r.overall.ap[0] == 0.0 and r.overall.counts.matches[0] == 0
    assert any("head box of size 0" in w for w in r.warnings)


def test_large_and_negative_track_ids_are_scored(tmp_path):
    gt = [frame([two_joint_person(-4, 0, 0)]) for _ in range(3)]
    pred = [frame([two_joint_person(123456, 1, 0, (0.9, 0.9))]) for _ in range(3)]
    r = run(tmp_path, {"s": gt}, {"s": pred})
    assert r.overall.mota[:2].tolist() == [100.0, 100.0]
    assert any("track_id >= 10000" in w for w in r.warnings)


# ----------------------------------------------------------------------------- errors where poseval crashes

@pytest.mark.parametrize("gt, pred, pattern", [
    ([frame([two_joint_person(1, 0, 0)])] * 2, [frame([])],
     r"pred/s\.json: no frame for frame 1 \(images/val/000001_mpii_test/000001\.jpg\) of the GT file .*gt/s\.json "
     r"\(frames are paired by image name"),
    ([{"annorect": [two_joint_person(1, 0, 0)]}] * 2, [{"annorect": []}], r"1 frames, but the GT file .* has 2"),
    ([frame([two_joint_person(1, 0, 0)])], [frame([two_joint_person(4, 0, 0), two_joint_person(4, 50, 0)])],
     r"pred/s\.json: frame 0 \(images.*\), person 1: 'track_id' 4 is used by two persons"),
    ([frame([two_joint_person(1, 0, 0)])], [frame([{"annopoints": [{"point": [pt(0, 1, 1)]}]}])],
     r"pred/s\.json: frame 0 .*person 0: no 'track_id'"),
    ([frame([person(1, [pt(0, 1, 1)], head=None)])], [frame([two_joint_person(4, 0, 0)])],
     r"gt/s\.json: frame 0 .*person 0: no head box"),
])
def test_bad_input_names_file_frame_and_field(tmp_path, gt, pred, pattern):
    with pytest.raises(ValueError, match=pattern):
        run(tmp_path, {"s": gt}, {"s": pred})


def test_gt_without_head_box_is_fine_where_nothing_is_matched(tmp_path):
    gt = [frame([person(1, [pt(0, 1, 1)], head=None)]), frame([two_joint_person(1, 0, 0)])]
    pred = [frame([]), frame([two_joint_person(4, 0, 0, (0.5, 0.5))])]
    assert run(tmp_path, {"s": gt}, {"s": pred}).overall.frames == 2


def test_duplicate_track_ids_in_unevaluated_frames_are_not_read(tmp_path):
    gt = [frame([]), frame([two_joint_person(1, 0, 0)])]
    pred = [frame([two_joint_person(4, 0, 0), two_joint_person(4, 50, 0)]), frame([])]
    assert run(tmp_path, {"s": gt}, {"s": pred}).overall.frames == 1


# ----------------------------------------------------------------------------- speed-ups that must not change a number

def test_own_assignment_solver_returns_scipys_pairs():
    """eval_mot.linear_sum_assignment replaces scipy's (0.4 s of imports): same pairs, ties included."""
    from scipy.optimize import linear_sum_assignment as scipy_lsa

    from posetrack.eval.mot import linear_sum_assignment, solve_assignment

    rng = np.random.default_rng(0)
    for trial in range(3000):
        r, c = rng.integers(1, 10, 2)
        kind = trial % 4
        if kind == 0:
            m = rng.random((r, c))
        elif kind == 1:                                   # many ties
            m = rng.integers(0, 3, (r, c)).astype(float)
        elif kind == 2:                                   # all tied
            m = np.zeros((r, c))
        else:                                             # motmetrics' padding of forbidden pairs
            d = rng.random((r, c)) * 0.5
            d[rng.random((r, c)) < 0.5] = np.nan
            ours = solve_assignment(d)
            valid = np.isfinite(d)
            if valid.any():
                padded = np.where(valid, d, 2 * min(r, c) * (np.abs(d[valid]).max() + 1) + 1)
                rows, cols = scipy_lsa(padded)
                keep = valid[rows, cols]
                assert ours[0].tolist() == rows[keep].tolist() and ours[1].tolist() == cols[keep].tolist()
            continue
        expected = scipy_lsa(m)
        got = linear_sum_assignment(m)
        assert got[0].tolist() == expected[0].tolist() and got[1].tolist() == expected[1].tolist(), m


def test_worker_processes_give_the_same_result(tmp_path):
    """evaluate(workers=2) forks (only without torch loaded: run in a fresh interpreter)."""
    code = ("import json, sys; from posetrack.eval.evaluate import evaluate; "
            "a = evaluate(sys.argv[1], sys.argv[2], workers=1).to_json(True); "
            "b = evaluate(sys.argv[1], sys.argv[2], workers=2).to_json(True); "
            "print(json.dumps(a) == json.dumps(b), a['evaluated_frames'])")
    public = Path(__file__).parent / "data" / "eval-parity" / "public"
    out = subprocess.run([sys.executable, "-c", code, str(public / "gt"), str(public / "pred")],
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "103"]
