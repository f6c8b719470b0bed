"""Inference paths: device-side decoding and crops, precisions, channels_last, static batches, backends, export."""
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from posetrack.models.backends import OnnxRuntimeBackend, TorchBackend, build_backend, resolve_precision
from posetrack.pose.heatmaps import decode_argmax_torch, decode_heatmaps, flip_back, flip_back_torch
from posetrack.errors import ConfigError, DeviceError
from posetrack.keypoints import COCO
from posetrack.models.registry import build_pose_model, seeded_state_dict
from posetrack.pose.estimator import PoseEstimator
from posetrack.pose.crops import affine_matrices, boxes_to_center_scale, crop_thetas
from posetrack_cli import cli

CUDA = torch.cuda.is_available()


@pytest.fixture(scope="module")
def tiny():
    model = build_pose_model("hrnet_tiny_128x96")
    model.load_state_dict(seeded_state_dict(model, 1))
    return model


@pytest.fixture(scope="module")
def crops():
    rng = np.random.default_rng(0)
    return torch.from_numpy(rng.integers(0, 256, (5, 3, 128, 96), dtype=np.uint8))


def test_device_decoding_equals_the_numpy_decoding():
    rng = np.random.default_rng(0)
    hm = rng.standard_normal((4, 17, 16, 12)).astype(np.float32)
    hm[0, 0] = -1.0                                   # non-positive maximum: zeroed coordinates
    hm[1, 1] = 0.0
    hm[1, 1, 5, 3] = hm[1, 1, 7, 9] = 2.0             # a tie: the first maximum wins
    hm[2, 2, 1, :] = 5.0                              # a border row: no quarter offset
    hm[3] = np.round(hm[3])                           # many equal neighbours: zero offset
    want_xy, want_s = decode_heatmaps(hm, "argmax")
    got_xy, got_s = decode_argmax_torch(torch.from_numpy(hm))
    assert np.array_equal(got_xy, want_xy) and np.array_equal(got_s, want_s)


def test_device_flip_back_equals_the_numpy_one():
    hm = np.random.default_rng(1).standard_normal((2, 17, 6, 5)).astype(np.float32)
    assert np.array_equal(flip_back_torch(torch.from_numpy(hm), COCO.flip_pairs).numpy(), flip_back(hm, COCO.flip_pairs))


def test_affine_grid_thetas_sample_the_affine_crop_positions():
    """Normalised thetas reproduce, pixel for pixel, the frame position the inverse affine gives."""
    c, s = boxes_to_center_scale(np.array([[30.5, 20, 130, 220.25]], np.float32), 0.75)
    m = affine_matrices(c, s, (96, 128))
    theta = torch.as_tensor(crop_thetas(m, (320, 240), (96, 128)))
    grid = torch.nn.functional.affine_grid(theta, [1, 3, 128, 96], align_corners=True)[0].numpy()
    inv = np.linalg.inv(np.vstack([m[0], [0, 0, 1]]))[:2]
    ys, xs = np.mgrid[0:128, 0:96]
    frame = np.stack([xs, ys, np.ones_like(xs)], -1) @ inv.T
    np.testing.assert_allclose((grid + 1) / 2 * [319, 239], frame, atol=1e-9)


def test_folded_channels_last_heatmaps_match_the_plain_network(tiny, crops):
    plain = PoseEstimator(tiny, fuse_bn=False, channels_last=False).heatmaps(crops)
    fast = PoseEstimator(tiny).heatmaps(crops)
    span = float(plain.max() - plain.min())
    assert float((fast - plain).abs().max()) < 1e-5 * span


def test_estimator_leaves_the_callers_model_alone(tiny):
    before = {k: v.clone() for k, v in tiny.state_dict().items()}
    PoseEstimator(tiny)
    assert list(tiny.state_dict()) == list(before)
    assert all(torch.equal(tiny.state_dict()[k], v) for k, v in before.items())


def test_bf16_autocast_runs_on_cpu_and_stays_close(tiny, crops):
    ref = PoseEstimator(tiny).heatmaps(crops)
    est = PoseEstimator(tiny, precision="bf16")
    assert est.precision == "bf16"
    hm = est.heatmaps(crops)
    assert hm.dtype == torch.float32
    err = float((hm - ref).abs().max()) / float(ref.max() - ref.min())
    assert 0 < err < 0.05       # reduced precision really ran (not bit-equal), yet stayed within 5% of the range


def test_same_batch_gives_identical_results(tiny, crops):
    est = PoseEstimator(tiny, batch_size=4)
    assert torch.equal(est.heatmaps(crops), est.heatmaps(crops))


def test_static_batch_makes_a_crop_independent_of_the_batch_fill(tiny, crops):
    est = PoseEstimator(tiny, batch_size=8, static_batch=True)
    alone = est.heatmaps(crops[:2])
    with_others = est.heatmaps(crops)
    assert torch.equal(alone, with_others[:2])


def test_precision_and_backend_names_are_checked(tiny):
    assert resolve_precision("auto", "cpu") == "fp32"
    assert resolve_precision("auto", "cuda") == "fp16"
    with pytest.raises(ConfigError, match="fp32, fp16, bf16"):
        resolve_precision("int4", "cpu")
    with pytest.raises(ConfigError, match="torch, onnxruntime, tensorrt"):
        build_backend("tvm", tiny, device="cpu")
    with pytest.raises(DeviceError, match="CUDA"):
        build_backend("tensorrt", tiny, device="cpu")
    with pytest.raises(ConfigError, match="fp32 only"):
        build_backend("onnxruntime", tiny, device="cpu", precision="bf16")
    with pytest.raises(ConfigError, match="crop"):
        PoseEstimator(tiny, crop="gpu")


def test_onnxruntime_backend_matches_torch(tiny, crops):
    pytest.importorskip("onnxruntime")
    x = (crops.float() / 255 - 0.45) / 0.225
    want = TorchBackend(tiny, "cpu")(x)
    got = OnnxRuntimeBackend(tiny, "cpu")(x)
    assert float((got - want).abs().max()) <= 1e-4
    frame = np.random.default_rng(2).integers(0, 256, (200, 240, 3), dtype=np.uint8)
    boxes = np.array([[10, 20, 90, 180], [100, 5, 230, 190]], np.float32)
    a = PoseEstimator(tiny, backend="onnxruntime")(frame, boxes)
    b = PoseEstimator(tiny)(frame, boxes)
    assert a.shape == b.shape == (2, 17, 3)
    np.testing.assert_allclose(a[..., 2], b[..., 2], atol=1e-4)


@pytest.mark.slow
def test_w32_onnx_export_matches_torch(tmp_path):
    """The issue's parity check: seeded W32 weights, ONNX Runtime vs PyTorch, max abs error <= 1e-4."""
    pytest.importorskip("onnxruntime")
    from posetrack.models.onnx import check_pose, export_pose

    model = build_pose_model("w32_256x192")
    model.load_state_dict(seeded_state_dict(model, 0))
    path = export_pose(model, tmp_path / "w32.onnx")
    result = check_pose(model, path, batch=3)
    assert result.shape == (3, 17, 64, 48)
    assert result.max_abs_error <= 1e-4 and result.output_range > 1.0


def test_export_command_writes_a_checked_onnx_file(tmp_path):
    pytest.importorskip("onnxruntime")
    out = tmp_path / "tiny.onnx"
    result = CliRunner().invoke(cli, ["export", "--seeded", "--pose-model", "hrnet_tiny_128x96", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 0
    assert "ONNX Runtime vs PyTorch max abs error" in result.output and "ok" in result.output


@pytest.mark.slow
def _small_detector(live: bool):
    """A seeded MobileNet Faster R-CNN on 128-160 px images that keeps boxes.

    With ``live`` False the random backbone's activations fade to ~1e-8, so every box gets the same
    score and NMS decides by each runtime's sort (the case that failed on fresh clones: "ONNX Runtime
    kept 74 boxes, PyTorch 70"). With ``live`` the BatchNorm statistics are measured on noise images, so
    scores differ from box to box as a trained detector's do.
    """
    from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_fpn

    torch.manual_seed(0)
    model = fasterrcnn_mobilenet_v3_large_fpn(weights=None, weights_backbone=None, num_classes=91,
                                              min_size=128, max_size=160).eval()
    noise = torch.Generator().manual_seed(10)
    with torch.no_grad():
        if live:
            for layer in model.modules():
                if isinstance(layer, torch.nn.BatchNorm2d):
                    layer.reset_running_stats()
                    layer.momentum = None            # a plain average over the calibration batch
                    layer.train()
            model.backbone(model.transform([torch.rand(3, 130, 170, generator=noise) for _ in range(4)])[0].tensors)
            model.eval()
        model.roi_heads.box_predictor.cls_score.bias[1] += 3.0 if live else 5.0    # random weights that keep boxes
    return model


@pytest.fixture(scope="module")
def live_detector(tmp_path_factory):
    """The live small detector, its ONNX export and a test image."""
    pytest.importorskip("onnxruntime")
    from posetrack.models.onnx import export_detector

    model = _small_detector(live=True)
    path = export_detector(model, tmp_path_factory.mktemp("det") / "det.onnx", sample_size=(120, 160))
    return model, path, torch.rand(3, 130, 170, generator=torch.Generator().manual_seed(1))


def test_detector_onnx_export_matches_torch(live_detector):
    from posetrack.models.onnx import check_detector

    model, path, image = live_detector
    with torch.no_grad():
        scores = model([image])[0]["scores"]
    assert len(scores) > 10 and len(torch.unique(scores)) >= 0.9 * len(scores)      # scores mostly distinct
    result = check_detector(model, path, image)
    assert result.shape[0] >= len(scores) - 2                # all but boxes on a threshold are compared
    assert result.ok and result.max_abs_error <= 0.01


def test_detector_check_passes_when_the_runtimes_break_nms_ties_differently(tmp_path, monkeypatch):
    """Tied scores: PyTorch's NMS fed in reverse order stands for another runtime's sort."""
    pytest.importorskip("onnxruntime")
    import torchvision

    from posetrack.models.onnx import check_detector, export_detector

    model = _small_detector(live=False)
    path = export_detector(model, tmp_path / "det.onnx", sample_size=(120, 160))
    batched_nms = torchvision.ops.boxes.batched_nms

    def reversed_nms(boxes, scores, idxs, iou):
        order = torch.arange(len(boxes) - 1, -1, -1)
        return order[batched_nms(boxes[order], scores[order], idxs[order], iou)]

    monkeypatch.setattr(torchvision.ops.boxes, "batched_nms", reversed_nms)
    image = torch.rand(3, 130, 170, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        kept = len(model([image])[0]["boxes"])
    onnx_kept = len(__import__("onnxruntime").InferenceSession(str(path)).run(["boxes"], {"image": image.numpy()})[0])
    assert kept != onnx_kept                                 # the two runs really keep different boxes
    result = check_detector(model, path, image)
    assert result.ok and result.shape[0] > 0 and "left out" in result.note


def test_detector_check_fails_on_a_wrong_export(live_detector):
    """An export of other weights (every box moved) is refused, naming the file."""
    import copy

    from posetrack.models.onnx import check_detector

    model, path, image = live_detector
    other = copy.deepcopy(model)
    with torch.no_grad():
        other.roi_heads.box_predictor.bbox_pred.bias += 4.0
    with pytest.raises(ConfigError, match=r"det\.onnx: \d+ boxes differ between ONNX Runtime"):
        check_detector(other, path, image)


# ---- CUDA-only: run by benchmarks/gpu_check.sh on a GPU machine ------------------------------------------

@pytest.mark.gpu
def test_cuda_estimator_matches_cpu(tiny):
    frame = np.random.default_rng(3).integers(0, 256, (360, 480, 3), dtype=np.uint8)
    boxes = np.array([[10, 20, 150, 300], [200, 40, 400, 350]], np.float32)
    cpu = PoseEstimator(tiny, device="cpu")(frame, boxes)
    gpu = PoseEstimator(tiny, device="cuda", precision="fp32")
    assert gpu.crop == "torch"
    out = gpu(frame, boxes)
    np.testing.assert_allclose(out[..., 2], cpu[..., 2], atol=0.05)


@pytest.mark.gpu
@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_cuda_reduced_precision_close_to_fp32(tiny, crops, precision):
    ref = PoseEstimator(tiny, device="cuda", precision="fp32").heatmaps(crops.cuda())
    hm = PoseEstimator(tiny, device="cuda", precision=precision).heatmaps(crops.cuda())
    assert float((hm - ref).abs().max()) / float(ref.max() - ref.min()) < 0.05


@pytest.mark.gpu
def test_cuda_compile_with_static_batches(tiny, crops):
    ref = PoseEstimator(tiny, device="cuda", precision="fp32").heatmaps(crops.cuda())
    est = PoseEstimator(tiny, device="cuda", precision="fp32", compile=True, static_batch=True, batch_size=8)
    hm = est.heatmaps(crops.cuda())
    assert float((hm - ref).abs().max()) / float(ref.max() - ref.min()) < 1e-3


@pytest.mark.gpu
def test_cuda_tensorrt_matches_torch(tiny, crops):
    pytest.importorskip("torch_tensorrt")
    ref = PoseEstimator(tiny, device="cuda", precision="fp32").heatmaps(crops.cuda())
    hm = PoseEstimator(tiny, device="cuda", precision="fp32", backend="tensorrt", batch_size=8).heatmaps(crops.cuda())
    assert float((hm - ref).abs().max()) <= 1e-3 * float(ref.max() - ref.min())
