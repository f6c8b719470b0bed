"""`posetrack run --precision / --backend`: the options reach the pose network and are recorded."""
import json

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from posetrack.models.registry import build_pose_model, seeded_state_dict
from posetrack_cli import cli


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    d = tmp_path_factory.mktemp("clip")
    (d / "frames").mkdir()
    rng = np.random.default_rng(0)
    for t in range(3):
        cv2.imwrite(str(d / "frames" / f"{t}.png"), rng.integers(0, 255, (120, 160, 3), dtype=np.uint8))
    dets = [{"image_id": t, "bbox": [20.0 + 5 * t, 10.0, 50.0, 90.0], "score": 0.9} for t in range(3)]
    (d / "dets.json").write_text(json.dumps(dets))
    model = build_pose_model("hrnet_tiny_128x96")
    torch.save(seeded_state_dict(model, 2), d / "pose.pth")
    return d


def run(clip, out, *extra):
    args = ["run", str(clip / "frames"), "--boxes", str(clip / "dets.json"), "--pose-model", "hrnet_tiny_128x96",
            "--pose-weights", str(clip / "pose.pth"), "--tracker", "none", "--quiet", "--device", "cpu",
            "--out", str(out), *extra]
    return CliRunner().invoke(cli, args, terminal_width=100)


def keypoints(path):
    data = json.loads(path.read_text())
    return data, np.array([p["keypoints"] for f in data["frames"] for p in f["people"]])


def test_precision_and_backend_options_run_and_are_recorded(clip, tmp_path):
    ref = run(clip, tmp_path / "fp32.json")
    assert ref.exit_code == 0, ref.output
    data, kp32 = keypoints(tmp_path / "fp32.json")
    assert data["settings"]["precision"] == "fp32"        # auto on CPU
    bf = run(clip, tmp_path / "bf16.json", "--precision", "bf16")
    assert bf.exit_code == 0, bf.output
    data, kp16 = keypoints(tmp_path / "bf16.json")
    assert data["settings"]["precision"] == "bf16" and kp16.shape == kp32.shape == (3, 17, 3)
    assert not np.array_equal(kp16[..., 2], kp32[..., 2])                  # bf16 really ran
    if pytest.importorskip("onnxruntime"):
        ort = run(clip, tmp_path / "ort.json", "--backend", "onnxruntime")
        assert ort.exit_code == 0, ort.output
        data, kpo = keypoints(tmp_path / "ort.json")
        assert data["settings"]["backend"] == "onnxruntime"
        np.testing.assert_allclose(kpo[..., 2], kp32[..., 2], atol=1e-4)


def test_half_on_cpu_is_ignored_with_a_warning_and_recorded(clip, tmp_path):
    ref = run(clip, tmp_path / "fp32.json")
    half = run(clip, tmp_path / "half.json", "--half")
    assert half.exit_code == 0, half.output
    assert "float16) is ignored on cpu" in half.output
    data, kp = keypoints(tmp_path / "half.json")
    assert data["settings"]["precision"] == "fp32" and data["settings"]["half"] == "ignored on cpu"
    np.testing.assert_array_equal(kp, keypoints(tmp_path / "fp32.json")[1])     # float32 really ran
    assert ref.exit_code == 0


def test_tensorrt_without_a_gpu_is_one_clear_error(clip, tmp_path):
    result = run(clip, tmp_path / "trt.json", "--backend", "tensorrt")
    assert result.exit_code == 1
    assert "tensorrt" in result.output and "CUDA" in result.output and "Traceback" not in result.output
