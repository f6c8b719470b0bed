"""BatchNorm folding and seeded weights: exact algebra, every BatchNorm gone, official output kept."""
import numpy as np
import pytest
import torch
from torch import nn

from helpers.data import HRNET_REF
from posetrack.models.bn_folding import count_batchnorm, fold_batchnorm, fold_conv_bn
from posetrack.models.registry import build_pose_model, seeded_state_dict
from posetrack.models.random_weights import make_state_dict


def _random_bn(c, seed):
    g = torch.Generator().manual_seed(seed)
    bn = nn.BatchNorm2d(c, eps=1e-3)
    bn.running_mean.copy_(torch.randn(c, generator=g))
    bn.running_var.copy_(torch.rand(c, generator=g) + 0.1)
    bn.weight.data.copy_(torch.randn(c, generator=g))
    bn.bias.data.copy_(torch.randn(c, generator=g))
    return bn.eval()


@pytest.mark.parametrize("bias,groups,stride", [(False, 1, 1), (True, 1, 2), (False, 4, 1)])
def test_fold_conv_bn_equals_conv_then_bn(bias, groups, stride):
    torch.manual_seed(0)
    conv = nn.Conv2d(8, 12, 3, stride=stride, padding=1, bias=bias, groups=groups).double()
    bn = _random_bn(12, 1).double()
    x = torch.randn(2, 8, 9, 7, dtype=torch.float64)
    with torch.no_grad():
        want = bn(conv(x))
        got = fold_conv_bn(conv, bn)(x)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


def test_folding_needs_eval_mode():
    with pytest.raises(ValueError, match="eval"):
        fold_batchnorm(build_pose_model("hrnet_tiny_128x96").train())


def test_every_hrnet_batchnorm_is_folded_and_outputs_kept():
    model = build_pose_model("hrnet_tiny_128x96")
    model.load_state_dict(seeded_state_dict(model, 3))
    assert count_batchnorm(model) > 0
    x = torch.randn(3, 3, 128, 96, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = model(x)
        fold_batchnorm(model)
        got = model(x)
    assert count_batchnorm(model) == 0
    span = float(want.max() - want.min())
    assert float((got - want).abs().max()) < 1e-5 * span


def test_folded_w48_reproduces_the_official_output():
    """Folding moves the W48 output by ~1e-5 absolute (range 17.6): inside the official tolerance."""
    expected = np.load(HRNET_REF / "fwd_w48_256x192_output.npy")
    x = np.random.default_rng(1).standard_normal((2, 3, 256, 192)).astype(np.float32)   # the reference input
    model = build_pose_model("w48_256x192")
    model.load_state_dict(make_state_dict(HRNET_REF / "keys_w48.json", 0), strict=True)
    fold_batchnorm(model)
    with torch.no_grad():
        out = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(out, expected, atol=1e-4, rtol=1e-4)


def test_seeded_weights_equal_the_reference_maker():
    with torch.device("meta"):
        model = build_pose_model("w32_256x192")
    ours = seeded_state_dict(model, 5)
    ref = make_state_dict(HRNET_REF / "keys_w32.json", 5)
    assert list(ours) == list(ref)
    assert all(torch.equal(ours[k], ref[k]) for k in ours)
