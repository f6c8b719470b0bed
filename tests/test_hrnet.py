"""HRNet architecture: official key layout, official forward output, every variant, paper numbers."""
import json

import numpy as np
import pytest
import torch

from helpers.data import HRNET_REF
from posetrack.config import ConfigError
from posetrack.models.registry import build_pose_model, count_gflops, count_parameters, list_pose_models
from posetrack.models.random_weights import make_state_dict

VARIANTS = ["w32_256x192", "w32_384x288", "w48_256x192", "w48_384x288"]


@pytest.mark.parametrize("name", VARIANTS)
def test_state_dict_matches_official_manifest(name):
    manifest = json.loads((HRNET_REF / f"keys_{name[:3]}.json").read_text())
    with torch.device("meta"):
        model = build_pose_model(name)
    ours = [(k, list(v.shape), str(v.dtype).replace("torch.", "")) for k, v in model.state_dict().items()]
    assert ours == [(k, s, d) for k, s, d in manifest]


def test_forward_reproduces_official_output():
    """Seed-0 weights in the official layout load strictly and give the official model's output.

    The official HRNet varies by up to ~1.5e-5 between thread counts and layouts, hence 1e-4.
    """
    expected = np.load(HRNET_REF / "fwd_w48_256x192_output.npy")
    image = np.random.default_rng(1).standard_normal((2, 3, 256, 192)).astype(np.float32)
    model = build_pose_model("w48_256x192")
    model.load_state_dict(make_state_dict(HRNET_REF / "keys_w48.json", 0), strict=True)
    with torch.no_grad():
        out = model(torch.from_numpy(image)).numpy()
    assert out.shape == (2, 17, 64, 48)
    np.testing.assert_allclose(out, expected, atol=1e-4, rtol=1e-4)


def test_weight_maker_follows_the_recipe():
    """Spot checks of the documented recipe on the W32 manifest (first tensors drawn by hand)."""
    sd = make_state_dict(HRNET_REF / "keys_w32.json", 7)
    manifest = json.loads((HRNET_REF / "keys_w32.json").read_text())
    assert list(sd) == [k for k, _, _ in manifest]
    assert all(list(sd[k].shape) == s and str(sd[k].dtype) == f"torch.{d}" for k, s, d in manifest)
    rng = np.random.default_rng(7)
    first, shape, _ = manifest[0]                                   # conv1.weight, He-normal x 0.4
    fan_in = shape[1] * shape[2] * shape[3]
    np.testing.assert_array_equal(sd[first].numpy(),
                                  rng.normal(0, 0.4 * np.sqrt(2 / fan_in), shape).astype(np.float32))
    np.testing.assert_array_equal(sd[manifest[1][0]].numpy(), rng.uniform(0.5, 1.5, manifest[1][1]).astype(np.float32))
    assert all(int(v) == 0 for k, v in sd.items() if k.endswith("num_batches_tracked"))
    assert make_state_dict(HRNET_REF / "keys_w32.json", 7)[first].equal(sd[first])


@pytest.mark.parametrize("name", VARIANTS + ["hrnet_tiny_128x96"])
def test_every_variant_forward_shape(name):
    model = build_pose_model(name)
    h, w = model.config.input_size
    with torch.no_grad():
        out = model(torch.randn(1, 3, h, w))
    assert out.shape == (1, 17, h // 4, w // 4)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name,params,gflops", [
    ("w32_256x192", 28_536_113, 7.12), ("w32_384x288", 28_536_113, 16.02),
    ("w48_256x192", 63_595_745, 14.61), ("w48_384x288", 63_595_745, 32.88)])
def test_parameters_and_gflops_match_paper(name, params, gflops):
    with torch.device("meta"):
        model = build_pose_model(name)
    assert count_parameters(model) == params
    assert round(count_gflops(model, model.config.input_size), 2) == gflops


def test_other_joint_counts_through_config():
    model = build_pose_model("hrnet_tiny_128x96", keypoints="posetrack17")
    assert model.config.num_joints == 15 and model.final_layer.out_channels == 15
    with torch.no_grad():
        assert model(torch.zeros(1, 3, 128, 96)).shape == (1, 15, 32, 24)
    with pytest.raises(ConfigError, match="layout"):
        build_pose_model("hrnet_tiny_128x96", num_joints=15)


def test_input_must_be_multiple_of_32():
    model = build_pose_model("hrnet_tiny_128x96")
    with pytest.raises(ValueError, match="multiples of 32"):
        model(torch.zeros(1, 3, 120, 96))


def test_unknown_model_name_suggests():
    with pytest.raises(ConfigError, match="did you mean 'w48_384x288'"):
        build_pose_model("w48_384x280")


def test_published_variants_listed_first():
    assert list_pose_models()[:4] == VARIANTS
