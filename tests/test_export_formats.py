"""COCO keypoint results and the long-format CSV, on scripted tracks; no NaN/Infinity in any export."""
import csv
import json
import math

import numpy as np
import pytest

from posetrack.tracksfile.exports import (COCO_VISIBLE_SCORE, csv_columns, export_coco, export_csv, export_posetrack2017,
                              export_posetrack2018)
from posetrack.keypoints import COCO
from posetrack.types import FrameResult, Poses, VideoInfo
from posetrack.tracksfile.codec import TrackFile, TracksHeader

K = 17


def scripted_tracks(tracked=True) -> TrackFile:
    """Four frames: two people, then nobody, then one person with a NaN joint, interpolated, with times."""
    rng = np.random.default_rng(3)
    frames = []
    for f, n in enumerate([2, 2, 0, 1]):
        kp = rng.uniform(5, 300, (n, K, 2)).astype(np.float32)
        sc = rng.uniform(0, 1, (n, K)).astype(np.float32)
        if f == 3:
            kp[0, 4] = np.nan
            sc[0, 6] = np.inf
        boxes = np.concatenate([kp.min(1, initial=1e9, where=np.isfinite(kp)) - 3,
                                kp.max(1, initial=-1e9, where=np.isfinite(kp)) + 3], 1) if n else np.zeros((0, 4))
        ids = np.array([7, 2][:n]) if tracked else None
        frames.append(FrameResult(f, Poses(boxes, rng.uniform(0.5, 1, n), kp, sc), ids, time=0.04 * f if f else None,
                                  interpolated=np.array([True]) if f == 3 else None))
    return TrackFile(TracksHeader(VideoInfo("v.mp4", 25.0, 320, 240, 4), COCO), tuple(frames))


def test_coco_results_fields_and_score_against_a_naive_loop():
    tracks = scripted_tracks()
    results = export_coco(tracks)
    assert [(r["image_id"], r["track_id"]) for r in results] == [(0, 7), (0, 2), (1, 7), (1, 2), (3, 7)]
    for r in results:
        assert r["category_id"] == 1 and len(r["keypoints"]) == 3 * K
        fr = tracks.by_frame()[r["image_id"]]
        i = list(fr.track_ids).index(r["track_id"])
        # the official HRNet rescoring, written as a loop; a joint without a finite position does not count
        kept = [float(s) for s, xy in zip(fr.poses.keypoint_scores[i], fr.poses.keypoints[i])
                if math.isfinite(s) and np.isfinite(xy).all() and s > COCO_VISIBLE_SCORE]
        want = float(fr.poses.box_scores[i]) * (sum(kept) / len(kept) if kept else 0.0)
        assert r["score"] == pytest.approx(want, abs=1e-5)
        for k in range(K):
            x, y, s = r["keypoints"][3 * k:3 * k + 3]
            px, py = fr.poses.keypoints[i, k]
            ps = fr.poses.keypoint_scores[i, k]
            if np.isfinite([px, py, ps]).all():
                assert (x, y, s) == pytest.approx((px, py, ps), abs=1e-3)
            else:
                assert (x, y, s) == (0.0, 0.0, 0.0)
    json.dumps(results, allow_nan=False)


def test_coco_results_without_tracking_have_no_track_id():
    assert all("track_id" not in r for r in export_coco(scripted_tracks(tracked=False)))


def test_csv_one_row_per_person_and_frame(tmp_path):
    tracks = scripted_tracks()
    n = export_csv(tracks, tmp_path / "out" / "people.csv")
    with open(tmp_path / "out" / "people.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert n == len(rows) == 5
    assert list(rows[0]) == csv_columns(COCO)
    assert csv_columns(COCO)[:9] == ["frame", "time", "track_id", "x1", "y1", "x2", "y2", "score", "interpolated"]
    assert csv_columns(COCO)[9:12] == ["nose_x", "nose_y", "nose_score"]
    assert [(r["frame"], r["track_id"], r["time"], r["interpolated"]) for r in rows] == [
        ("0", "7", "", "0"), ("0", "2", "", "0"), ("1", "7", "0.04", "0"), ("1", "2", "0.04", "0"),
        ("3", "7", "0.12", "1")]
    by_frame = tracks.by_frame()
    for r in rows:
        fr = by_frame[int(r["frame"])]
        i = list(fr.track_ids).index(int(r["track_id"]))
        assert [float(r[c]) for c in ("x1", "y1", "x2", "y2")] == pytest.approx(fr.poses.boxes[i], abs=0.006)
        for k, name in enumerate(COCO.names):
            xyz = (fr.poses.keypoints[i, k, 0], fr.poses.keypoints[i, k, 1], fr.poses.keypoint_scores[i, k])
            cells = (r[f"{name}_x"], r[f"{name}_y"], r[f"{name}_score"])
            if np.isfinite(xyz).all():
                assert [float(c) for c in cells] == pytest.approx(xyz, abs=0.006)
            else:
                assert cells == ("", "", "")     # left_ear (NaN x/y) and right_shoulder (inf score) in frame 3


def test_posetrack_exports_stay_valid_json_with_non_finite_values():
    tracks = scripted_tracks()
    names = [f"seq/{i:06d}.jpg" for i in range(4)]
    doc17 = export_posetrack2017(tracks, names)
    doc18 = export_posetrack2018(tracks, names)
    json.dumps(doc17, allow_nan=False)
    json.dumps(doc18, allow_nan=False)
