"""Parity of `posetrack.evaluate` with the official poseval.

1. Official numbers: ``tests/data/eval-parity/public/expected.json`` was made by poseval itself
   (command and versions inside). Every parity field, overall and per sequence, must match to
   1e-6, NaN for NaN; also after converting the files to PoseTrack 2018 with our converter.
2. Any valid input: on generated sets that switch on the generator's edge cases (ignore regions
   covering whole frames, box-only and point-less rects, missing scores, duplicate points, point
   ids 15/16, empty prediction frames and sequences, duplicate GT track ids, 2018 files with
   visibility-0 keypoints, ...), where we hold no official numbers, the vectorised evaluator must
   agree with ``naive_poseval`` below: a deliberately plain re-implementation written from
   poseval's written specification (``SPEC.md`` of the project's reference data) alone (loops over the JSON, dicts as motmetrics keeps them,
   exact rational point-in-polygon, poseval's track-id offsets and dummy frames).
"""
from __future__ import annotations

import json
import math
import os
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from posetrack.eval.report import ap_row, mot_row, poseval_row
from posetrack.eval.evaluate import evaluate
from posetrack.eval.formats import read_posetrack, to_posetrack18, write_json
from helpers.geometry import naive_inside  # exact rational point-in-polygon, boundary excluded

ROOT = Path(__file__).resolve().parents[1]
PARITY = ROOT / "tests" / "data" / "eval-parity"     # origins: tests/data/README.md
PUBLIC = PARITY / "public"

TOL = 1e-6


def _nan(values):
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _with_total(scores, metric):
    return np.append(getattr(scores, metric), scores.total(metric))


def assert_close(ours, theirs, what, tol=TOL):
    ours, theirs = np.asarray(ours, dtype=np.float64), _nan(theirs)
    same_nan = np.isnan(ours) == np.isnan(theirs)
    assert same_nan.all(), f"{what}: NaN mismatch at {np.flatnonzero(~same_nan).tolist()}: {ours} vs {theirs}"
    ok = np.isnan(ours) | (np.abs(ours - theirs) <= tol)
    assert ok.all(), f"{what}: differs at {np.flatnonzero(~ok).tolist()}: {ours[~ok]} vs {theirs[~ok]}"


@pytest.fixture(scope="module")
def expected():
    return json.loads((PUBLIC / "expected.json").read_text())


@pytest.fixture(scope="module")
def public_result():
    return evaluate(PUBLIC / "gt", PUBLIC / "pred")


# ----------------------------------------------------------------------------- official numbers

def check_against_expected(result, expected):
    o = result.overall
    for ours, key in (("ap", "ap"), ("ap_precision", "precision"), ("ap_recall", "recall")):
        assert_close(_with_total(o, ours), expected["ap"][key], f"ap.{key}")
    for key in ("mota", "motp", "precision", "recall"):
        assert_close(_with_total(o, key), expected["mot"][key], f"mot.{key}")
    for name, seq in expected["per_sequence"]["sequences"].items():
        s = result.sequences[name]
        for ours, key in (("ap", "ap"), ("ap_precision", "ap_precision"), ("ap_recall", "ap_recall"),
                          ("mota", "mota"), ("motp", "motp"), ("precision", "mot_precision"),
                          ("recall", "mot_recall")):
            assert_close(_with_total(s, ours), seq[key], f"{name} {key}")


def test_public_matches_poseval(public_result, expected):
    check_against_expected(public_result, expected)


def test_public_intermediate_counts(public_result, expected):
    counts = expected["mot"]["intermediate_counts_per_joint"]
    c = public_result.overall.counts
    for ours, key in ((c.misses, "num_misses"), (c.switches, "num_switches"),
                      (c.false_positives, "num_false_positives"), (c.objects, "num_objects"),
                      (c.detections, "num_detections"), (c.matches, "num_matches"),
                      (c.transfers, "num_transfer"), (c.ascends, "num_ascend"), (c.migrates, "num_migrate")):
        assert ours.tolist() == counts[key], key
    assert_close(c.distance, counts["sumD_all_events"], "sumD_all_events", tol=1e-9)
    assert c.frames == counts["tracking_frames"][0]


def test_public_evaluated_frames(public_result, expected):
    assert public_result.overall.frames == expected["evaluated_frames_total"]
    assert {k: v.frames for k, v in public_result.sequences.items()} == expected["evaluated_frames_per_sequence"]
    assert public_result.warnings == ()


def test_public_printed_rows(public_result, expected):
    o = public_result.overall
    ap = ap_row(o.ap)
    mot = mot_row(o.mota, o.motp, o.precision, o.recall)
    for name, value in expected["ap"]["printed_row"].items():
        assert ap[name] == pytest.approx(value, abs=TOL)
    printed_mot = list(expected["mot"]["printed_row"].values())
    assert list(mot.values()) == pytest.approx(printed_mot, abs=TOL)
    assert poseval_row(ap) + "\n" == expected["printed_tables"]["ap"].splitlines(keepends=True)[1]
    assert poseval_row(mot) + "\n" == expected["printed_tables"]["mot"].splitlines(keepends=True)[2]


def test_public_json_layout(public_result, expected):
    doc = json.loads(json.dumps(public_result.to_json(per_sequence=True), allow_nan=False))
    assert doc["joints"] == expected["joint_names"]
    for metric, src in (("ap", expected["ap"]["ap"]), ("mota", expected["mot"]["mota"]),
                        ("motp", expected["mot"]["motp"]), ("precision", expected["mot"]["precision"]),
                        ("recall", expected["mot"]["recall"])):
        values = [doc[metric][n] for n in expected["joint_names"]] + [doc[metric]["total"]]
        assert_close(values, src, metric)
    seq = expected["per_sequence"]["sequences"]["005636_mpii_test"]
    assert_close([doc["per_sequence"]["005636_mpii_test"]["mota"][n] for n in expected["joint_names"]],
                 seq["mota"][:15], "per-sequence mota")


def test_public_in_2018_format_matches_poseval(tmp_path, expected):
    for side in ("gt", "pred"):
        for f in sorted((PUBLIC / side).glob("*.json")):
            write_json(to_posetrack18(read_posetrack(f)), tmp_path / side / f.name)
    assert "annolist" not in json.loads(next((tmp_path / "gt").glob("*.json")).read_text())
    check_against_expected(evaluate(tmp_path / "gt", tmp_path / "pred"), expected)


def test_public_with_mixed_formats_matches_poseval(tmp_path, expected):
    gt_files = sorted((PUBLIC / "gt").glob("*.json"))
    for k, f in enumerate(sorted((PUBLIC / "pred").glob("*.json"))):
        if k == 1:
            write_json(to_posetrack18(read_posetrack(f)), tmp_path / f.name)
        else:
            (tmp_path / f.name).write_bytes(f.read_bytes())
    check_against_expected(evaluate(gt_files, tmp_path), expected)


# ----------------------------------------------------------------------------- naive reference

MIN_SCORE = -9999
NAMES_2018 = ["right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle", "right_wrist",
              "right_elbow", "right_shoulder", "left_shoulder", "left_elbow", "left_wrist", "head_bottom", "nose",
              "head_top"]


def _video(file_name):
    return os.path.basename(os.path.dirname(file_name)).split("_")[0]


def naive_from_2018(data):
    """SPEC section 2: a 2018 file as 2017 frames."""
    names = data["categories"][0]["keypoints"]
    index = {n: i for i, n in enumerate(NAMES_2018)}
    video = _video(data["images"][0]["file_name"])
    frames = []
    for image in data["images"]:
        if _video(image["file_name"]) != video:
            continue
        frame = {"annorect": []}
        if "ignore_regions_x" in image:
            frame["ignore_regions"] = [{"point": [{"x": [x], "y": [y]} for x, y in zip(xs, ys)]}
                                       for xs, ys in zip(image["ignore_regions_x"], image["ignore_regions_y"])]
        for ann in data["annotations"]:
            if ann["image_id"] != image["id"]:
                continue
            rect = {"track_id": [ann["track_id"]]}
            if "bbox_head" in ann:
                bx, by, bw, bh = ann["bbox_head"]
                rect.update(x1=[bx], y1=[by], x2=[bx + bw], y2=[by + bh])
            points = []
            scores = ann.get("scores") or []
            for k, name in enumerate(names):
                x, y, v = ann["keypoints"][3 * k:3 * k + 3]
                if name not in index or (x == 0 and y == 0 and v == 0):
                    continue
                point = {"id": [index[name]], "x": [x], "y": [y]}
                if scores:
                    point["score"] = [scores[k]]
                points.append(point)
            rect["annopoints"] = [{"point": points}]
            frame["annorect"].append(rect)
        frames.append(frame)
    return frames


def naive_load(path):
    data = json.loads(Path(path).read_text())
    return data["annolist"] if "annolist" in data else naive_from_2018(data)


def has_keypoints(rect):
    ap = rect.get("annopoints")
    return isinstance(ap, list) and len(ap) > 0 and isinstance(ap[0], dict) and len(ap[0]) > 0 and "point" in ap[0]


def filter_frame(gt_frame, pr_frame):
    gts = [r for r in gt_frame["annorect"] if has_keypoints(r)]
    prs = [r for r in pr_frame["annorect"] if has_keypoints(r)]
    regions = gt_frame.get("ignore_regions") or []
    if not regions:
        return gts, prs
    polygons = [[(p["x"][0], p["y"][0]) for p in region["point"]] for region in regions]

    def clean(rects):
        out = []
        for r in rects:
            points = [p for p in r["annopoints"][0]["point"]
                      if not any(len(poly) >= 3 and naive_inside(p["x"][0], p["y"][0], poly) for poly in polygons)]
            if points:
                out.append({**r, "annopoints": [{"point": points}]})
        return out

    return clean(gts), clean(prs)


def joint_point(rect, j):
    for p in rect["annopoints"][0]["point"]:
        if p["id"] is not None and p["id"][0] == j:
            return p
    return None


def naive_frame(gts, prs, offset):
    """SPEC section 4 for one frame: nGT per joint, AP entries per joint, MOT input per joint."""
    n_gt = [sum(joint_point(g, j) is not None for g in gts) for j in range(15)]
    entries = [[] for _ in range(15)]
    score = lambda p: p["score"][0] if "score" in p else MIN_SCORE  # noqa: E731
    if not gts or not prs:
        for p in prs:
            for j in range(15):
                if joint_point(p, j) is not None:
                    entries[j].append((score(joint_point(p, j)), False))
        return n_gt, entries, [([0], [0], [[np.nan]]) for _ in range(15)]
    dist = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for pi, p in enumerate(prs):
            for gi, g in enumerate(gts):
                head = 0.6 * np.linalg.norm(np.subtract([g["x2"][0], g["y2"][0]], [g["x1"][0], g["y1"][0]]))
                for j in range(15):
                    a, b = joint_point(g, j), joint_point(p, j)
                    dist[pi, gi, j] = np.inf if a is None or b is None else \
                        np.linalg.norm(np.subtract([a["x"][0], a["y"][0]], [b["x"][0], b["y"][0]])) / head
    pck = {}
    for pi in range(len(prs)):
        for gi, g in enumerate(gts):
            annotated = sum(joint_point(g, j) is not None for j in range(15))
            correct = sum(dist[pi, gi, j] <= 0.5 for j in range(15))
            pck[pi, gi] = correct / annotated if annotated else correct
    best = {}
    for pi in range(len(prs)):
        best[pi] = 0
        for gi in range(1, len(gts)):
            if pck[pi, gi] > pck[pi, best[pi]]:
                best[pi] = gi
    assigned = {}
    for gi in range(len(gts)):
        top = None
        for pi in range(len(prs)):
            if best[pi] == gi and (top is None or pck[pi, gi] > pck[top, gi]):
                top = pi
        if top is not None and pck[top, gi] > 0:
            assigned[top] = gi
    for pi, p in enumerate(prs):
        for j in range(15):
            point = joint_point(p, j)
            if point is not None:
                entries[j].append((score(point), pi in assigned and bool(dist[pi, assigned[pi], j] <= 0.5)))
    mot = []
    for j in range(15):
        g_idx = [gi for gi, g in enumerate(gts) if joint_point(g, j) is not None]
        p_idx = [pi for pi, p in enumerate(prs) if joint_point(p, j) is not None]
        mot.append(([gts[gi]["track_id"][0] + offset for gi in g_idx],
                    [prs[pi]["track_id"][0] + offset for pi in p_idx],
                    [[dist[pi, gi, j] if dist[pi, gi, j] <= 0.5 else np.nan for pi in p_idx] for gi in g_idx]))
    return n_gt, entries, mot


def naive_lsa(costs):
    if costs.size == 0:
        return [], []
    valid = np.isfinite(costs)
    if not valid.any():
        return [], []
    if not valid.all():
        costs = np.where(valid, costs, 2 * min(costs.shape) * (np.abs(costs[valid]).max() + 1) + 1)
    rows, cols = linear_sum_assignment(costs)
    return [r for r, c in zip(rows, cols) if valid[r, c]], [c for r, c in zip(rows, cols) if valid[r, c]]


class NaiveAccumulator:
    """SPEC section 6, with motmetrics' own bookkeeping: m, res_m, last_match, hyp history."""

    def __init__(self):
        self.m, self.res_m, self.last_match, self.hyp_history = {}, {}, set(), set()
        self.events = Counter()
        self.distance = 0.0

    def update(self, oids, hids, dists):
        dists = np.array(dists, dtype=np.float64).reshape(len(oids), len(hids))
        self.events["OBJ"] += len(oids)
        self.distance += float(np.nansum(dists))                      # RAW events
        o_used, h_used = np.zeros(len(oids), bool), np.zeros(len(hids), bool)
        if len(oids) and len(hids):
            for i, o in enumerate(oids):
                if o not in self.m:
                    continue
                free = [k for k in range(len(hids)) if not h_used[k] and hids[k] == self.m[o]]
                if free and np.isfinite(dists[i, free[0]]):
                    k = free[0]
                    o_used[i] = h_used[k] = True
                    self.events["MATCH"] += 1
                    self.distance += dists[i, k]
                    self.last_match.add(o)
                    self.hyp_history.add(hids[k])
            rest = dists.copy()
            rest[o_used, :] = np.nan
            rest[:, h_used] = np.nan
            for i, k in zip(*naive_lsa(rest)):
                o, h, d = oids[i], hids[k], rest[i, k]
                switch = o in self.m and self.m[o] != h
                if switch and h not in self.hyp_history:
                    self.events["ASCEND"] += 1
                    self.distance += d
                if h in self.res_m and self.res_m[h] != o:
                    if o not in self.last_match:
                        self.events["MIGRATE"] += 1
                        self.distance += d
                    self.events["TRANSFER"] += 1
                    self.distance += d
                self.events["SWITCH" if switch else "MATCH"] += 1
                self.distance += d
                o_used[i] = h_used[k] = True
                self.m[o], self.res_m[h] = h, o
                self.last_match.add(o)
                self.hyp_history.add(h)
        self.events["MISS"] += int((~o_used).sum())
        self.events["FP"] += int((~h_used).sum())


def naive_ap(entries, n_gt):
    if not entries:
        return 0.0, 0.0, 0.0
    scores = np.array([s for s, _ in entries], dtype=np.float64)
    labels = np.array([lab for _, lab in entries])
    order = scores.argsort()[::-1]
    precision, recall, npos = [], [], 0
    for k, idx in enumerate(order):
        npos += bool(labels[idx])
        recall.append(npos / n_gt if n_gt else math.nan)
        precision.append(npos / (k + 1))
    mrec, mpre = [0.0] + recall + [1.0], [0.0] + precision + [0.0]
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    ap = sum((mrec[i] - mrec[i - 1]) * mpre[i] for i in range(1, len(mrec)) if mrec[i] != mrec[i - 1])
    return ap * 100, precision[-1] * 100, recall[-1] * 100


def naive_mot(accumulators):
    """(mota, motp, precision, recall) per joint from accumulators summed over sequences."""
    out = []
    for j in range(15):
        ev = sum((a[j].events for a in accumulators), Counter())
        dist = sum(a[j].distance for a in accumulators)
        det = ev["MATCH"] + ev["SWITCH"]
        obj = ev["OBJ"]
        out.append((100 * (1 - (ev["MISS"] + ev["SWITCH"] + ev["FP"]) / obj) if obj else math.nan,
                    100 * (1 - dist / det) if det else 0.0,
                    100 * det / (ev["FP"] + det) if ev["FP"] + det else math.nan,
                    100 * det / obj if obj else math.nan))
    return np.array(out).T


def naive_poseval(gt_dir, pred_dir):
    """{"overall" or sequence name: {metric: (15,) array}} following SPEC.md alone."""
    results, all_entries, all_gt, all_acc = {}, [[] for _ in range(15)], np.zeros(15), []
    for i, path in enumerate(sorted(Path(gt_dir).glob("*.json"))):
        gt_frames, pr_frames = naive_load(path), naive_load(Path(pred_dir) / path.name)
        assert len(gt_frames) == len(pr_frames)
        frames = [(g, p) for g, p in zip(gt_frames, pr_frames) if len(g["annorect"]) > 0]
        if not frames:
            continue
        entries, n_gt, acc = [[] for _ in range(15)], np.zeros(15), [NaiveAccumulator() for _ in range(15)]
        for t, (g, p) in enumerate(frames):
            frame_gt, frame_entries, mot = naive_frame(*filter_frame(g, p), offset=i * 10000)
            n_gt += frame_gt
            for j in range(15):
                entries[j] += frame_entries[j]
                if t < len(frames) - 1:
                    acc[j].update(*mot[j])
        results[path.stem] = _naive_metrics(entries, n_gt, [acc])
        for j in range(15):
            all_entries[j] += entries[j]
        all_gt += n_gt
        all_acc.append(acc)
    results["overall"] = _naive_metrics(all_entries, all_gt, all_acc)
    return results


def _naive_metrics(entries, n_gt, accumulators):
    ap = np.array([naive_ap(entries[j], int(n_gt[j])) for j in range(15)]).T
    mota, motp, precision, recall = naive_mot(accumulators)
    return {"ap": ap[0], "ap_precision": ap[1], "ap_recall": ap[2], "mota": mota, "motp": motp,
            "precision": precision, "recall": recall}


def assert_same_as_naive(result, naive):
    for name, metrics in naive.items():
        ours = result.overall if name == "overall" else result.sequences[name]
        for metric, values in metrics.items():
            assert_close(getattr(ours, metric), values.tolist(), f"{name} {metric}", tol=1e-9)
    assert set(result.sequences) == set(naive) - {"overall"}


def test_naive_reference_reproduces_poseval_on_public(expected):
    """The reference itself is checked against the official numbers first."""
    naive = naive_poseval(PUBLIC / "gt", PUBLIC / "pred")["overall"]
    assert_close(np.append(naive["ap"], np.nanmean(naive["ap"])), expected["ap"]["ap"], "naive ap")
    assert_close(np.append(naive["mota"], np.nanmean(naive["mota"])), expected["mot"]["mota"], "naive mota")
    assert_close(np.append(naive["motp"], np.nanmean(naive["motp"])), expected["mot"]["motp"], "naive motp")


def _generated(tmp_path: Path, name: str) -> Path:
    """A copy of an edge-case set of tests/data/eval-parity (generator arguments in tests/data/README.md)."""
    shutil.copytree(PARITY / name, tmp_path / name)
    return tmp_path / name


@pytest.mark.parametrize("name", ["edge2017", "edge2018", "crowd"])
def test_matches_naive_reference_on_edge_cases(tmp_path, name):
    root = PARITY / name
    result = evaluate(root / "gt", root / "pred")
    assert_same_as_naive(result, naive_poseval(root / "gt", root / "pred"))


def test_matches_naive_reference_with_duplicate_gt_track_ids(tmp_path):
    root = _generated(tmp_path, "crowd")
    for f in (root / "gt").glob("*.json"):
        data = json.loads(f.read_text())
        for frame in data["annolist"]:
            for rect in frame["annorect"]:
                rect["track_id"] = [rect["track_id"][0] % 3]     # several persons share a GT id
        f.write_text(json.dumps(data))
    result = evaluate(root / "gt", root / "pred")
    assert result.overall.counts.switches.sum() > 0
    assert_same_as_naive(result, naive_poseval(root / "gt", root / "pred"))
