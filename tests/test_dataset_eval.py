"""`posetrack eval --dataset-root`: predict every GT sequence with the real pipeline, then score."""
import json

import torch
from click.testing import CliRunner

from posetrack.pipeline.dataset_eval import find_gt_dir, plan_sequences
from posetrack.models.registry import build_pose_model
from posetrack_cli import cli
from helpers.posetrack_files import make_dataset, make_posetrack21_root
from helpers.weights import write_tiny_weights

import pytest


def test_plan_finds_gt_and_images(tmp_path):
    make_dataset(tmp_path)
    assert find_gt_dir(tmp_path, "val") == tmp_path / "posetrack_data" / "annotations" / "val"
    jobs = plan_sequences(tmp_path, "val")
    assert len(jobs) == 1 and jobs[0].images.name == "000001_bonn" and len(jobs[0].image_names) == 4
    with pytest.raises(FileNotFoundError, match="no 'test' annotations"):
        find_gt_dir(tmp_path, "test")


def test_dataset_root_predicts_then_scores(tmp_path):
    make_dataset(tmp_path / "pt")
    from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_320_fpn

    torch.manual_seed(0)
    torch.save(fasterrcnn_mobilenet_v3_large_320_fpn(weights=None, weights_backbone=None, num_classes=91).state_dict(),
               tmp_path / "det.pth")
    torch.save(build_pose_model("hrnet_tiny_128x96").state_dict(), tmp_path / "pose.pth")
    out = tmp_path / "preds"
    result = CliRunner().invoke(cli, [
        "eval", "--dataset-root", str(tmp_path / "pt"), "--split", "val", "--out-dir", str(out),
        "--pose-model", "hrnet_tiny_128x96", "--pose-weights", str(tmp_path / "pose.pth"),
        "--detector", "fasterrcnn_mobilenet_v3_large_320_fpn", "--detector-weights", str(tmp_path / "det.pth"),
        "--device", "cpu", "--json", str(tmp_path / "scores.json")], terminal_width=120)
    assert result.exit_code == 0, result.output
    pred = json.loads((out / "000001_bonn.json").read_text())
    assert len(pred["annolist"]) == 4                       # one entry per GT frame, GT's format
    assert pred["annolist"][2]["image"][0]["name"] == "images/bonn/000001_bonn/00000002.jpg"
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert set(scores) >= {"joints", "ap", "mota", "motp", "precision", "recall"}
    assert "total" in scores["mota"] and "MOTA" in result.output


def test_dataset_root_posetrack21(tmp_path):
    """The PoseTrack21 layout: predictions copy the GT's image ids and are scored with keypoint HOTA."""
    seq = make_posetrack21_root(tmp_path / "pt21")
    boxes = tmp_path / "boxes"
    boxes.mkdir()
    (boxes / f"{seq}.json").write_text(json.dumps([{"image_id": t, "bbox": [25.0, 5.0, 50.0, 70.0], "score": 0.9,
                                                    "category_id": 1} for t in range(4)]))
    write_tiny_weights(tmp_path / "pose.pth", seed=0, bias=0.0)
    assert find_gt_dir(tmp_path / "pt21", "val") == tmp_path / "pt21" / "posetrack_data" / "val"
    out = tmp_path / "preds"
    result = CliRunner().invoke(cli, [
        "eval", "--dataset-root", str(tmp_path / "pt21"), "--out-dir", str(out), "--boxes-dir", str(boxes),
        "--pose-model", "hrnet_tiny_128x96", "--pose-weights", str(tmp_path / "pose.pth"), "--device", "cpu",
        "--quiet", "--json", str(tmp_path / "scores.json")], terminal_width=120)
    assert result.exit_code == 0, result.output
    pred = json.loads((out / f"{seq}.json").read_text())
    assert [im["id"] for im in pred["images"]] == [10000070000 + t for t in range(4)]
    assert {a["image_id"] for a in pred["annotations"]} <= {im["id"] for im in pred["images"]}
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert scores["benchmark"] == "posetrack21" and scores["evaluated_frames"] == 3
    assert "HOTA" in result.output and "DetA" in result.output
