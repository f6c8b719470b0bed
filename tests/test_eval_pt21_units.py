"""PoseTrack21 scoring, unit by unit: each quirk of the official kit that SPEC.md names, on tiny hand-made
sequences whose expected values are worked out in the test; and the vectorised HOTA / mAP against a
deliberately plain loop written here from the SPEC (scipy's assignment on every frame and joint)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from posetrack.eval.evaluate import evaluate
from posetrack.eval.posetrack21.evaluate import evaluate_posetrack21
from posetrack.eval.posetrack21.frames import JOINTS, kit_frames
from posetrack.eval.posetrack21.hota import ALPHAS, keypoint_distances, sequence_hota, similarity
from posetrack.eval.posetrack21.pose_ap import ap_items, pose_ap
from posetrack.eval.posetrack21.read import load_sequence21, pack_sequence21, pair_frames21
from posetrack.eval.synthetic import make_posetrack21_set
from posetrack.tracksfile.posetrack21 import KEYPOINTS

NOSE, HEAD_TOP = JOINTS.index("nose"), JOINTS.index("head_top")


def person(track, joints, head=(0.0, 0.0, 30.0, 40.0), scores=None, integer=False, **extra):
    """An annotation with the given {slot name: (x, y)} joints (others 0, 0, 0); head box x, y, w, h."""
    kps = [0, 0, 0] * 17
    for name, (x, y) in joints.items():
        k = KEYPOINTS.index(name)
        kps[3 * k:3 * k + 3] = [int(x), int(y), 1] if integer else [float(x), float(y), 1]
    ann = {"track_id": track, "keypoints": kps, "bbox_head": list(head), **extra}
    if scores is not None:
        ann["scores"] = [scores.get(n, 0.0) for n in KEYPOINTS]
    return ann


def write(root: Path, name: str, gt_frames, pred_frames, labeled=None, regions=None):
    """One sequence: per frame a list of GT / predicted annotations; ids 10000000000 + t."""
    for side in ("gt", "pred"):
        (root / side).mkdir(parents=True, exist_ok=True)
    labeled = [True] * len(gt_frames) if labeled is None else labeled
    images = []
    for t in range(len(gt_frames)):
        polys = (regions or {}).get(t, [])
        images.append({"id": 10_000_000_000 + t, "file_name": f"images/val/{name}/{t:06d}.jpg",
                       "is_labeled": labeled[t], "has_labeled_person": True,
                       "ignore_regions_x": [[x for x, _ in p] for p in polys],
                       "ignore_regions_y": [[y for _, y in p] for p in polys]})

    def anns(frames):
        return [{**a, "image_id": 10_000_000_000 + t} for t, frame in enumerate(frames) for a in frame]

    (root / "gt" / f"{name}.json").write_text(json.dumps({"images": images, "annotations": anns(gt_frames)}))
    pred_images = [{"id": im["id"], "file_name": im["file_name"]} for im in images]
    (root / "pred" / f"{name}.json").write_text(json.dumps({"images": pred_images, "annotations": anns(pred_frames)}))


def score(root: Path, **kw):
    return evaluate(root / "gt", root / "pred", format="posetrack21", **kw)


# ----------------------------------------------------------------------------- the kit's quirks (SPEC.md)

def test_a_labeled_frame_without_predictions_adds_the_whole_sequences_gt_joints_to_fn(tmp_path):
    gt = [[person(1, {"nose": (50, 50), "head_top": (60, 40)})]] * 2
    write(tmp_path, "s", gt, [[person(4, {"nose": (50, 50), "head_top": (60, 40)})], []])
    h = score(tmp_path).overall.hota
    assert (h.per_alpha["HOTA_TP"][:, NOSE] == 1).all()
    assert (h.per_alpha["HOTA_FN"][:, NOSE] == 2).all()          # the sequence's 2 GT noses, not the frame's 1
    assert h.per_alpha["DetA"][0, NOSE] == pytest.approx(1 / 3)


def test_a_sequence_without_predictions_counts_its_gt_joints_once_with_loca_1(tmp_path):
    write(tmp_path, "s", [[person(1, {"nose": (50, 50)})]] * 3, [[], [], []])
    h = score(tmp_path).overall.hota
    assert (h.per_alpha["HOTA_FN"][:, NOSE] == 3).all() and (h.per_alpha["LocA"][:, NOSE] == 1).all()
    assert (h.per_alpha["AssA"] == 0).all() and (h.per_alpha["HOTA"] == 0).all()


def test_scores_are_truncated_to_integers_in_frames_whose_keypoints_are_all_integers(tmp_path):
    """Frame 0: all-integer keypoints, a correct nose scored 0.87 (the kit reads 0); frame 1: a wrong nose
    scored 0.5. Ranked as the kit ranks them, the wrong one comes first: AP 25, not 50."""
    gt = [[person(1, {"nose": (50, 50)})], [person(1, {"nose": (50, 50)})]]
    pred = [[person(2, {"nose": (50, 50)}, scores={"nose": 0.87}, integer=True)],
            [person(2, {"nose": (200.5, 300.5)}, scores={"nose": 0.5})]]
    write(tmp_path, "s", gt, pred)
    assert score(tmp_path).overall.ap.ap[NOSE] == pytest.approx(25.0)
    pred[0][0]["keypoints"][0] = 50.0                                  # one float in the frame: no truncation
    write(tmp_path, "s", gt, pred)
    assert score(tmp_path).overall.ap.ap[NOSE] == pytest.approx(50.0)


def test_predictions_without_scores_rank_last_at_minus_9999(tmp_path):
    gt = [[person(1, {"nose": (50, 50)})], [person(1, {"nose": (50, 50)})]]
    pred = [[person(2, {"nose": (50, 50)})], [person(2, {"nose": (200.5, 300.5)}, scores={"nose": -50.0})]]
    write(tmp_path, "s", gt, pred)
    assert score(tmp_path).overall.ap.ap[NOSE] == pytest.approx(25.0)


def test_ignore_regions(tmp_path):
    """In a frame with a region: joints inside become missing; a person left with every joint at x <= 0 and
    y <= 0 is dropped, one with a joint at (0, 50) (invalid, but not "x <= 0 and y <= 0") is kept; a point
    on the polygon's edge is outside. In a frame without regions, a person without valid joints stays."""
    box = [(100, 100), (200, 100), (200, 200), (100, 200)]
    gt = [[person(1, {"nose": (150, 150)}), person(2, {"nose": (300, 300), "head_top": (100, 150)})],
          [person(1, {"nose": (300, 300)})]]
    pred = [[person(5, {"nose": (150, 150)}), person(6, {"nose": (120, 120), "head_top": (0, 50)})],
            [person(5, {"nose": (300, 300)}), person(6, {})]]
    write(tmp_path, "s", gt, pred, regions={0: [box]})
    s = score(tmp_path).overall
    assert s.counts["GT_Dets"] == 2          # GT 1 in frame 0 dropped (its nose was inside)
    assert s.counts["Dets"] == 3             # pred 5 in frame 0 dropped; pred 6 kept both times
    assert s.hota.per_alpha["HOTA_TP"][0, HEAD_TOP] == 0                  # (100, 150) is on the edge: kept
    assert s.hota.per_alpha["HOTA_FN"][0, HEAD_TOP] == 1


def test_validity_is_positive_coordinates_whatever_the_visibility_and_ears_are_dropped(tmp_path):
    gt = [[person(1, {"nose": (50, 50), "head_top": (5, 0), "left_ear": (50, 50)})]]
    gt[0][0]["keypoints"][2] = 0                                        # nose visibility 0: still a valid joint
    pred = [[person(2, {"nose": (50, 50), "left_ear": (50, 50), "right_ear": (9, 9)},
                    scores={"nose": 0.9, "left_ear": 1.0})]]
    write(tmp_path, "s", gt, pred)
    h = score(tmp_path).overall.hota
    assert h.per_alpha["HOTA_TP"][0, NOSE] == 1 and h.per_alpha["HOTA_FN"][0, HEAD_TOP] == 0
    assert h.per_alpha["HOTA_TP"][0, -1] == 1                           # ears play no part in the Total


def test_similarity_slope_alpha_thresholds_and_the_pckh_boundary(tmp_path):
    """Head box 30 x 40: head size 0.6 * 50 = 30 px. A nose 6 px off: d = 0.2, similarity 1 - 0.2 / 0.5001,
    a true positive for the 12 alphas up to 0.6; a head top 15 px off: d = 0.5 exactly, a PCKh match for mAP
    (d <= 0.5) but a similarity of 0.0002, below every alpha."""
    write(tmp_path, "s", [[person(1, {"nose": (50, 50), "head_top": (60, 40)})]],
          [[person(2, {"nose": (56, 50), "head_top": (75, 40)}, scores={"nose": 0.9, "head_top": 0.8})]])
    s = score(tmp_path).overall
    sim = 1 - 0.2 / 0.5001
    tp = s.hota.per_alpha["HOTA_TP"][:, NOSE]
    assert (tp[:12] == 1).all() and (tp[12:] == 0).all() and ALPHAS[11] == pytest.approx(0.6)
    assert s.hota.per_alpha["LocA"][:12, NOSE] == pytest.approx(sim)
    assert (s.hota.per_alpha["LocA"][12:, NOSE] == 1).all()              # 1e-10 / 1e-10 without a match
    assert (s.hota.per_alpha["HOTA_TP"][:, HEAD_TOP] == 0).all()
    assert s.ap.ap[HEAD_TOP] == 100.0 and s.ap.ap[NOSE] == 100.0


def test_fragments_association_and_the_pooled_total(tmp_path):
    """GT id 1 over 4 frames, matched to A, A, B, A: pairs (1, A) 3 matches in fragments of 2 and 1, (1, B)
    1 match. AssA = (3 * 3/4 + 1 * 1/4) / 4 = 0.625; FragA = ((4 + 1) / 4 + 1 / 4) / 4 = 0.375."""
    gt = [[person(1, {"nose": (50, 50)})]] * 4
    pred = [[person(track, {"nose": (50, 50)})] for track in (10, 10, 20, 10)]
    write(tmp_path, "s", gt, pred)
    h = score(tmp_path).overall.hota
    assert h.per_alpha["AssA"][0, NOSE] == pytest.approx(0.625)
    assert h.per_alpha["FragA"][0, NOSE] == pytest.approx(0.375)
    # Total over joints: the joint mean per sequence; combined: sqrt(pooled DetA * TP-weighted AssA)
    assert h.per_alpha["HOTA"][0, -1] == pytest.approx(math.sqrt(h.per_alpha["DetA"][0, -1]
                                                                 * h.per_alpha["AssA"][0, -1]))
    assert h.per_alpha["HOTA"][0, -1] != pytest.approx(h.per_alpha["HOTA"][0, :-1].mean())


def test_ids_in_two_sequences_count_twice_and_are_renumbered(tmp_path):
    for name in ("a", "b"):
        write(tmp_path, name, [[person(3, {"nose": (50, 50)})]], [[person(10 ** 12, {"nose": (50, 50)})]])
    s = score(tmp_path).overall
    assert s.counts == {"Dets": 2, "GT_Dets": 2, "IDs": 2, "GT_IDs": 2}
    # Total: DetA pooled over the joints (every joint that occurs is found: 1) times the joint mean of AssA
    # (1 for the nose, 0 for the 14 joints that never occur): sqrt(1/15), not the joint mean of HOTA (1/15)
    assert s.hota.total("HOTA") == pytest.approx(math.sqrt(1 / 15))
    assert s.hota.mean("HOTA")[:-1].mean() == pytest.approx(1 / 15)


def test_map_assignment_first_maximum_and_unannotated_joints(tmp_path):
    """Two predictions equally good for one GT: the first takes it, the second is a false positive; a taken
    prediction's joint that the GT does not annotate is a false positive too."""
    gt = [[person(1, {"nose": (50, 50)})]]
    pred = [[person(2, {"nose": (50, 50), "head_top": (70, 20)}, scores={"nose": 0.9, "head_top": 0.9}),
             person(3, {"nose": (50, 50)}, scores={"nose": 0.8})]]
    write(tmp_path, "s", gt, pred)
    ap = score(tmp_path).overall.ap
    assert ap.ap[NOSE] == 100.0 and ap.precision[NOSE] == 50.0 and ap.recall[NOSE] == 100.0
    assert ap.ap[HEAD_TOP] == 0.0 and ap.precision[HEAD_TOP] == 0.0
    assert ap.ap[JOINTS.index("left_knee")] == 0.0                       # no items at all: 0, not NaN


# ----------------------------------------------------------------------------- where the kit crashes: our choices

def test_zero_size_head_box_never_matches_even_exactly_on_the_joint(tmp_path):
    write(tmp_path, "s", [[person(1, {"nose": (50, 50)}, head=(10, 10, 0, 0))]],
          [[person(2, {"nose": (50, 50)}, scores={"nose": 1.0})]])
    result = score(tmp_path)
    assert (result.overall.hota.per_alpha["HOTA_TP"] == 0).all() and result.overall.ap.ap[NOSE] == 0.0
    assert any("head box of size 0" in w for w in result.warnings)


def test_a_labeled_frame_without_gt_persons_makes_its_predictions_false_positives(tmp_path):
    write(tmp_path, "s", [[person(1, {"nose": (50, 50)})], []],
          [[person(2, {"nose": (50, 50)})], [person(2, {"nose": (50, 50)})]])
    result = score(tmp_path)
    h = result.overall.hota
    assert (h.per_alpha["HOTA_FP"][:, NOSE] == 1).all() and (h.per_alpha["HOTA_TP"][:, NOSE] == 1).all()
    assert any("without any GT person" in w for w in result.warnings)


def test_prediction_images_are_paired_by_id_in_any_order_and_extra_ones_ignored(tmp_path):
    gt = [[person(1, {"nose": (50, 50)})], [person(1, {"nose": (60, 60)})]]
    write(tmp_path, "s", gt, [[person(2, {"nose": (50, 50)})], [person(2, {"nose": (60, 60)})]])
    base = score(tmp_path).overall.hota.per_alpha["HOTA"]
    doc = json.loads((tmp_path / "pred" / "s.json").read_text())
    doc["images"] = doc["images"][::-1] + [{"id": 5}]
    doc["annotations"].append({**doc["annotations"][0], "image_id": 5})
    (tmp_path / "pred" / "s.json").write_text(json.dumps(doc))
    result = score(tmp_path)
    assert np.array_equal(result.overall.hota.per_alpha["HOTA"], base)
    assert any("another order" in w for w in result.warnings) and any("ignored with their" in w for w in
                                                                        result.warnings)


def test_thresholds_drop_joints_and_persons(tmp_path):
    write(tmp_path, "s", [[person(1, {"nose": (50, 50), "head_top": (60, 40)})]],
          [[person(2, {"nose": (50, 50), "head_top": (60, 40)}, scores={"nose": 0.9, "head_top": 0.1}, score=0.8),
            person(3, {"nose": (400, 400)}, scores={"nose": 0.9}, score=0.2)]])
    s = score(tmp_path, joint_thr=0.5, box_thr=0.5).overall
    assert s.counts["Dets"] == 1 and s.hota.per_alpha["HOTA_TP"][0, HEAD_TOP] == 0
    assert s.hota.per_alpha["HOTA_FP"][0, NOSE] == 0


# ----------------------------------------------------------------------------- vectorised vs a plain loop

def naive_hota(kf, sim):
    """SPEC.md section 4, frame by frame and joint by joint, with scipy's assignment: (19, 15) TP, FN, FP, AssA,
    FragA, LocA."""
    gt, pr = kf.gt, kf.pred
    a_n, j_n = len(ALPHAS), 15
    tp, fn, fp, loc = (np.zeros((a_n, j_n)) for _ in range(4))
    gt_total = gt.joint_valid.sum(axis=(0, 1))
    matches, last, frag = {}, {}, {}
    gcount, pcount = {}, {}
    for f in range(len(kf.frames)):
        for s in np.flatnonzero(gt.valid[f]):
            for j in np.flatnonzero(gt.joint_valid[f, s]):
                gcount[gt.id[f, s], j] = gcount.get((gt.id[f, s], j), 0) + 1
        for s in np.flatnonzero(pr.valid[f]):
            for j in np.flatnonzero(pr.joint_valid[f, s]):
                pcount[pr.id[f, s], j] = pcount.get((pr.id[f, s], j), 0) + 1
    for f in range(len(kf.frames)):
        n_g, n_p = int(gt.valid[f].sum()), int(pr.valid[f].sum())
        if n_p == 0:
            fn += gt_total
            continue
        for j in range(j_n):
            rows, cols = linear_sum_assignment(-sim[f, :n_g, :n_p, j])
            for a, alpha in enumerate(ALPHAS):
                ok = [(r, c) for r, c in zip(rows, cols) if sim[f, r, c, j] >= alpha - np.finfo(float).eps]
                tp[a, j] += len(ok)
                fn[a, j] += gt.joint_valid[f, :n_g, j].sum() - len(ok)
                fp[a, j] += pr.joint_valid[f, :n_p, j].sum() - len(ok)
                for r, c in ok:
                    g, p = gt.id[f, r], pr.id[f, c]
                    loc[a, j] += sim[f, r, c, j]
                    matches[a, g, p, j] = matches.get((a, g, p, j), 0) + 1
                    if last.get((a, g, j)) != p:
                        last[a, g, j] = p
                        frag.setdefault((a, g, p, j), []).append(0)
                    frag[a, g, p, j][-1] += 1
    ass, fragment = np.zeros((a_n, j_n)), np.zeros((a_n, j_n))
    for (a, g, p, j), m in matches.items():
        den = max(1, gcount[g, j] + pcount[p, j] - m)
        ass[a, j] += m * m / den
        fragment[a, j] += sum(k * k for k in frag[a, g, p, j]) / den
    loc_a = np.maximum(1e-10, loc) / np.maximum(1e-10, tp)
    return tp, fn, fp, ass / np.maximum(1, tp), fragment / np.maximum(1, tp), loc_a


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_vectorised_hota_and_map_equal_a_plain_loop(tmp_path, seed):
    """Crowded synthetic sequences (many duplicate detections and crossings) so that every path runs:
    lone pairs, single-star frames and frames that need the solver."""
    make_posetrack21_set(tmp_path, seed=seed, sequences=2, frames=(12, 16), people=(6, 8))
    for gt_path in sorted((tmp_path / "gt").glob("*.json")):
        gs, ps = load_sequence21(gt_path, True), load_sequence21(tmp_path / "pred" / gt_path.name, False)
        order, _ = pair_frames21(gs, ps)
        gt = pack_sequence21(gs, gs.is_labeled, True)
        mask = np.zeros(ps.num_frames, bool)
        mask[order[gt.is_labeled]] = True
        kf = kit_frames(gt, pack_sequence21(ps, mask, False), order, [])
        dist = keypoint_distances(kf)
        sim = similarity(dist)
        ours = sequence_hota(kf, sim).per_alpha
        tp, fn, fp, ass, fragment, loc = naive_hota(kf, sim)
        for name, value in (("HOTA_TP", tp), ("HOTA_FN", fn), ("HOTA_FP", fp), ("AssA", ass), ("FragA", fragment),
                            ("LocA", loc)):
            np.testing.assert_allclose(ours[name][:, :15], value, rtol=0, atol=1e-12, err_msg=name)
        items = ap_items(kf, dist)
        assert len(items.score) == int(kf.pred.joint_valid.sum())
        assert 0 <= pose_ap(items).ap[-1] <= 100


def test_workers_give_the_same_result(tmp_path):
    make_posetrack21_set(tmp_path, seed=9, sequences=8, frames=(10, 12), people=(3, 4))
    one = evaluate_posetrack21(tmp_path / "gt", tmp_path / "pred", workers=1)
    two = evaluate_posetrack21(tmp_path / "gt", tmp_path / "pred", workers=2)
    assert one.to_json(per_sequence=True) == two.to_json(per_sequence=True)


def test_annotations_without_keypoints_are_box_only_and_missing_scores_are_not(tmp_path):
    pred = [[{"track_id": 2, "bbox_head": [0, 0, 30, 40]}, person(3, {"nose": (50, 50)})]]
    write(tmp_path, "s", [[person(1, {"nose": (50, 50)})]], pred)
    result = score(tmp_path)
    assert any("1 annotation(s) without 'keypoints' read as box-only" in w for w in result.warnings)
    assert result.overall.counts["Dets"] == 2 and result.overall.hota.per_alpha["HOTA_TP"][0, NOSE] == 1
