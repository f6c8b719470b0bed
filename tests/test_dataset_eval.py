"""`posetrack eval --dataset-root`: predict every GT sequence with the real pipeline, then score."""
import json

import torch
from click.testing import CliRunner

from posetrack.pipeline.dataset_eval import find_gt_dir, plan_sequences
from posetrack.models.registry import build_pose_model
from posetrack_cli import cli
from helpers.posetrack_files import make_dataset

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
