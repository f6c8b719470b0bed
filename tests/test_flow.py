"""Optical flow: DIS recovers known motion, sampling matches a naive bilinear loop, names are checked."""
import math

import numpy as np
import pytest

from posetrack.errors import ConfigError
from posetrack.tracking.flow import FLOW_METHODS, FlowConfig, build_flow, get_flow, propagate_points, sample_flow


def textured(h=160, w=200, seed=0):
    """Smooth random texture (RGB uint8) with structure at several scales, good for flow."""
    import cv2

    rng = np.random.default_rng(seed)
    img = sum(cv2.resize(rng.random((h // s, w // s)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
              for s in (2, 4, 8))
    img = (img - img.min()) / (img.max() - img.min()) * 255
    return np.repeat(img[..., None], 3, axis=2).astype(np.uint8)


def translate(img, dx, dy):
    import cv2

    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT)


@pytest.mark.parametrize("dx, dy", [(3.0, -2.0), (2.5, 1.5), (-4.0, 0.0)])
def test_dis_recovers_a_known_translation(dx, dy):
    a = textured()
    flow = get_flow("dis", preset="medium")(a, translate(a, dx, dy))
    inner = flow[20:-20, 20:-20].reshape(-1, 2)                   # away from the reflected border
    assert flow.shape == (160, 200, 2) and flow.dtype == np.float32
    assert np.median(inner[:, 0]) == pytest.approx(dx, abs=0.5)
    assert np.median(inner[:, 1]) == pytest.approx(dy, abs=0.5)


def test_dis_at_half_resolution_is_scaled_back():
    a = textured()
    flow = get_flow("dis", preset="medium", scale=0.5)(a, translate(a, 4.0, -3.0))
    inner = flow[30:-30, 30:-30].reshape(-1, 2)
    assert flow.shape == (160, 200, 2)
    assert np.median(inner, axis=0) == pytest.approx([4.0, -3.0], abs=0.5)


def naive_bilinear(flow, x, y):
    h, w = flow.shape[:2]
    if not (math.isfinite(x) and math.isfinite(y)):
        return [0.0, 0.0]
    x, y = min(max(x, 0.0), w - 1.0), min(max(y, 0.0), h - 1.0)
    x0, y0 = int(math.floor(x)), int(math.floor(y))
    out = [0.0, 0.0]
    for xi, wx in ((x0, 1 - (x - x0)), (x0 + 1, x - x0)):
        for yi, wy in ((y0, 1 - (y - y0)), (y0 + 1, y - y0)):
            if wx * wy > 0:
                for c in range(2):
                    out[c] += wx * wy * float(flow[yi, xi, c])
    return out


def test_sample_flow_matches_a_naive_bilinear_loop():
    rng = np.random.default_rng(3)
    flow = rng.normal(size=(13, 17, 2)).astype(np.float32)
    xy = rng.uniform(-3, 20, size=(4, 6, 2))                       # some points outside, clamped
    xy[0, 0] = [16.0, 12.0]                                        # the exact last pixel
    xy[1, 1] = [np.nan, 3.0]                                       # unknown position: no motion
    got = sample_flow(flow, xy)
    assert got.shape == (4, 6, 2) and got.dtype == np.float32
    want = np.array([[naive_bilinear(flow, *p) for p in person] for person in xy.tolist()])
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_sample_flow_is_exact_on_pixel_centres():
    flow = np.arange(5 * 4 * 2, dtype=np.float32).reshape(5, 4, 2)
    got = sample_flow(flow, np.array([[[2.0, 3.0], [0.0, 0.0]]]))
    np.testing.assert_array_equal(got[0], [flow[3, 2], flow[0, 0]])


def test_propagate_points_moves_by_the_field():
    flow = np.zeros((10, 10, 2), np.float32)
    flow[..., 0], flow[..., 1] = 1.5, -2.0
    np.testing.assert_allclose(propagate_points(flow, np.array([[[4.0, 5.0]]])), [[[5.5, 3.0]]])


def test_zero_flow():
    a = textured(40, 50)
    assert not get_flow("none")(a, a).any()


def test_frames_of_different_sizes_are_refused():
    with pytest.raises(ValueError, match="one size"):
        get_flow("none")(textured(40, 50), textured(40, 60))


def test_unknown_method_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="dis, raft, none"):
        get_flow("farneback")
    with pytest.raises(ValueError, match="ultrafast, fast, medium"):
        get_flow("dis", preset="slow")
    with pytest.raises(ValueError, match="dis, raft, none"):
        FlowConfig(method="lk")


def test_build_flow_follows_the_config():
    assert isinstance(build_flow(FlowConfig(method="dis", dis_preset="fast")), FLOW_METHODS["dis"])
    assert isinstance(build_flow(FlowConfig(method="none")), FLOW_METHODS["none"])


@pytest.mark.parametrize("h, w", [(60, 90), (132, 150)])
def test_raft_pads_and_crops_back(h, w):
    """Random weights (no download): only shapes and the padding/cropping are checked."""
    import torch

    torch.manual_seed(0)
    raft = get_flow("raft", model="small", pretrained=False, iterations=2)
    a = textured(h, w)
    flow = raft(a, translate(a, 2.0, 1.0))
    assert flow.shape == (h, w, 2) and flow.dtype == np.float32 and np.isfinite(flow).all()


@pytest.mark.gpu
def test_raft_runs_on_the_gpu():
    import torch

    torch.manual_seed(0)
    a = textured(120, 160)
    cpu = get_flow("raft", model="small", pretrained=False, iterations=4)
    gpu = get_flow("raft", model="small", pretrained=False, iterations=4, device="cuda")
    gpu.net.load_state_dict(cpu.net.state_dict())
    b = translate(a, 2.0, 1.0)
    np.testing.assert_allclose(gpu(a, b), cpu(a, b), atol=1e-2)
