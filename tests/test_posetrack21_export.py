"""`run` / `track` --export-posetrack21: PoseTrack21 prediction files, scored by `posetrack eval` (a round trip).

A synthetic video (two textured figures, boxes file) runs through the tiny test model with seeded weights.
Random weights give meaningless poses, so the ground truth is made from the run's own tracks, by this test
(joints taken by name from the COCO layout, head boxes around each person's box top): every joint the GT
annotates is then predicted exactly by the person with the same track, and the export must score HOTA 1
and AP 100 on those joints. What this checks is the chain: image ids copied from the GT (or PoseTrack's id
rule without it), frames, keypoint slots, track ids and scores, read back by our PoseTrack21 reader.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from helpers.videos import write_frames
from helpers.weights import write_tiny_weights
from posetrack.eval.evaluate import evaluate
from posetrack.keypoints import COCO
from posetrack.tracksfile.codec import read_tracks
from posetrack.tracksfile.posetrack21 import IMAGE_ID_BASE, KEYPOINTS, decode_posetrack21
from posetrack_cli import cli

W, H, N = 192, 144, 10
SEQ = "000342_mpii_test"                       # PoseTrack's naming: video number 342
NAMED = [name for name in KEYPOINTS if name in COCO.names and "ear" not in name]   # nose + 12 limb joints


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    d = tmp_path_factory.mktemp("pt21")
    rng = np.random.default_rng(3)
    sprites = [rng.integers(0, 255, (80, 40, 3), dtype=np.uint8) for _ in range(2)]
    boxes, images = [], []
    for t in range(N):
        img = np.full((H, W, 3), 90, np.uint8)
        for k, sprite in enumerate(sprites):
            x, y = (20 + 6 * t, 30 + 2 * t) if k == 0 else (140, 40)
            img[y:y + 80, x:x + 40] = sprite
            boxes.append({"image_id": t, "bbox": [float(x), float(y), 40.0, 80.0], "score": 0.95, "category_id": 1})
        images.append(img)
    write_frames(d / SEQ, images)
    (d / "dets.json").write_text(json.dumps(boxes))
    write_tiny_weights(d / "pose.pth", seed=0, bias=1.0)
    return d


def run_cli(*args):
    return CliRunner().invoke(cli, [*map(str, args)], terminal_width=100)


def run_args(clip: Path, out: Path):
    return ["run", clip / SEQ, "--out", out, "--pose-model", "hrnet_tiny_128x96", "--pose-weights",
            clip / "pose.pth", "--boxes", clip / "dets.json", "--quiet", "--device", "cpu"]


def gt_from_tracks(tracks, labeled) -> dict:
    """A PoseTrack21 GT file whose persons are the tracks' persons (named joints only), ids by PoseTrack's rule."""
    base = IMAGE_ID_BASE + 10000 * 342
    images, annotations = [], []
    for t in range(N):
        images.append({"id": base + t, "file_name": f"images/val/{SEQ}/{t:06d}.jpg", "frame_id": base + t,
                       "is_labeled": bool(labeled[t]), "has_labeled_person": True, "ignore_regions_x": [],
                       "ignore_regions_y": []})
    for fr in tracks.frames:
        for i in range(len(fr)):
            kps = np.zeros((17, 3))
            for name in NAMED:
                kps[KEYPOINTS.index(name)] = (*fr.poses.keypoints[i, COCO.index(name)], 1)
            x1, y1, x2, _ = fr.poses.boxes[i].tolist()
            annotations.append({"image_id": base + fr.frame, "track_id": 7 + int(fr.track_ids[i]),
                                "person_id": 100 + int(fr.track_ids[i]), "keypoints": kps.ravel().tolist(),
                                "bbox_head": [x1, y1, x2 - x1, 20.0]})
    return {"images": images, "annotations": annotations}


@pytest.fixture(scope="module")
def exported(clip, tmp_path_factory):
    """Run once without a GT file (id rule), then write the GT from the tracks, then export with --gt."""
    d = tmp_path_factory.mktemp("runs")
    first = run_cli(*run_args(clip, d / "a.json"), "--export-posetrack21", d / "rule" / f"{SEQ}.json")
    assert first.exit_code == 0, first.output
    tracks = read_tracks(d / "a.json")
    (d / "gt").mkdir()
    labeled = np.arange(N) % 3 != 1                      # some frames are not labeled (not scored)
    (d / "gt" / f"{SEQ}.json").write_text(json.dumps(gt_from_tracks(tracks, labeled)))
    second = run_cli(*run_args(clip, d / "b.json"), "--export-posetrack21", d / "copied" / f"{SEQ}.json",
                     "--gt", d / "gt" / f"{SEQ}.json")
    assert second.exit_code == 0, second.output
    return d, tracks


def test_export_scores_perfectly_against_a_gt_made_from_the_same_tracks(exported):
    d, tracks = exported
    assert len({int(i) for f in tracks.frames for i in f.track_ids}) == 2
    for folder in ("copied", "rule"):
        result = evaluate(d / "gt", d / folder)
        assert result.benchmark == "posetrack21"
        named = [result.joints.index(n) for n in NAMED]
        hota = result.overall.hota
        assert hota.mean("HOTA")[named] == pytest.approx(1.0) and hota.mean("LocA")[named] == pytest.approx(1.0)
        assert result.overall.ap.ap[named] == pytest.approx(100.0)
        # head_bottom / head_top are predicted (COCO heuristics) but not annotated: false positives only
        for joint in ("head_bottom", "head_top"):
            j = result.joints.index(joint)
            assert hota.mean("HOTA_TP")[j] == 0 and hota.mean("HOTA_FP")[j] > 0
        assert result.overall.counts["IDs"] == result.overall.counts["GT_IDs"] == 2
        assert result.overall.frames == sum(np.arange(N) % 3 != 1)


def test_export_copies_the_gt_images_and_otherwise_follows_the_id_rule(exported):
    d, _ = exported
    gt = json.loads((d / "gt" / f"{SEQ}.json").read_text())
    copied = decode_posetrack21((d / "copied" / f"{SEQ}.json").read_bytes(), "copied")
    rule = decode_posetrack21((d / "rule" / f"{SEQ}.json").read_bytes(), "rule")
    assert [im.id for im in copied.images] == [im["id"] for im in gt["images"]]
    assert [im.file_name for im in copied.images] == [im["file_name"] for im in gt["images"]]
    assert [im.id for im in rule.images] == [IMAGE_ID_BASE + 342 * 10000 + t for t in range(N)]
    for doc in (copied, rule):
        assert all(len(a.keypoints) == 51 and len(a.scores) == 17 for a in doc.annotations)
        ears = [KEYPOINTS.index("left_ear"), KEYPOINTS.index("right_ear")]
        assert all(a.keypoints[3 * e:3 * e + 3] == [0.0, 0.0, 0] for a in doc.annotations for e in ears)
        assert all(a.track_id is not None and a.score is not None for a in doc.annotations)


def test_track_exports_too_and_usage_errors(exported, tmp_path):
    d, _ = exported
    out = tmp_path / "pred" / f"{SEQ}.json"
    result = run_cli("track", d / "a.json", "-o", tmp_path / "t.json", "--export-posetrack21", out,
                     "--gt", d / "gt" / f"{SEQ}.json", "--quiet")
    assert result.exit_code == 0, result.output
    assert evaluate(d / "gt", out.parent).overall.counts["GT_IDs"] == 2
    again = run_cli("track", d / "a.json", "-o", tmp_path / "t2.json", "--export-posetrack21", out)
    assert again.exit_code == 1 and str(out) in again.output and "exists" in again.output
    lone = run_cli("track", d / "a.json", "-o", tmp_path / "t3.json", "--gt", d / "gt" / f"{SEQ}.json")
    assert lone.exit_code == 2 and "--export-posetrack21" in lone.output
    (tmp_path / "bad.json").write_text('{"images": [], "annotation": []}')
    bad = run_cli("track", d / "a.json", "-o", tmp_path / "t4.json", "--export-posetrack21", tmp_path / "p.json",
                  "--gt", tmp_path / "bad.json")
    assert bad.exit_code == 1 and "unknown key 'annotation' (did you mean 'annotations'?)" in bad.output
    assert not (tmp_path / "t4.json").exists()          # refused before anything is written


def test_batch_exports_one_file_per_source_with_its_gt(clip, exported, tmp_path):
    d, _ = exported
    (tmp_path / "boxes").mkdir()
    (tmp_path / "boxes" / f"{SEQ}.json").write_bytes((clip / "dets.json").read_bytes())
    batch = ["run", clip / SEQ, "--out-dir", tmp_path / "tracks", "--boxes-dir", tmp_path / "boxes",
             "--pose-model", "hrnet_tiny_128x96", "--pose-weights", clip / "pose.pth", "--quiet", "--device", "cpu",
             "--export-posetrack21", tmp_path / "pred"]
    (tmp_path / "no_gt").mkdir()
    missing = run_cli(*batch, "--gt", tmp_path / "no_gt")
    assert missing.exit_code == 1 and "no PoseTrack21 GT file for 1 of 1 sources" in missing.output
    assert "[on the command line: --gt]" in missing.output and not (tmp_path / "tracks").exists()
    result = run_cli(*batch, "--gt", d / "gt")
    assert result.exit_code == 0, result.output
    written = decode_posetrack21((tmp_path / "pred" / f"{SEQ}.json").read_bytes(), "batch")
    gt = json.loads((d / "gt" / f"{SEQ}.json").read_text())
    assert [im.id for im in written.images] == [im["id"] for im in gt["images"]]
    assert evaluate(d / "gt", tmp_path / "pred").overall.counts["GT_IDs"] == 2


def test_the_gt_file_is_an_input_of_the_run_and_needs_the_export(tmp_path):
    from posetrack.errors import InputError, PathConflictError
    from posetrack.pipeline.options import RunOptions
    from posetrack.pipeline.outputs import Outputs, check_paths

    gt = tmp_path / "gt.json"
    gt.write_text('{"images": [], "annotations": []}')
    with pytest.raises(InputError) as lone:
        Outputs(tmp_path / "t.json", posetrack21_gt=gt)
    assert lone.value.fields == ("posetrack21_gt", "posetrack21")
    outputs = Outputs(tmp_path / "t.json", posetrack21=tmp_path / "p.json", posetrack21_gt=gt)
    assert "posetrack21_gt" not in outputs.fields() and outputs.inputs() == {"posetrack21_gt": gt}
    with pytest.raises(PathConflictError, match="gt.json"):
        check_paths(tmp_path / "clip", Outputs(tmp_path / "t.json", posetrack21=gt, posetrack21_gt=gt), RunOptions())
