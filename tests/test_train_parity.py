"""Training-side parity with the official HRNet code (leoxiaobin/deep-high-resolution-net.pytorch 6f69e46).

The reference arrays in tests/data/train were recorded from the official ``lib/`` functions
(origins in tests/data/README.md): targets, crop geometry given the official run's draws,
half-body crops given the numpy seed, and the loss with its gradient.
"""
from pathlib import Path

import numpy as np
import pytest
import torch

from posetrack.pose.crops import affine_matrices, xywh_to_center_scale
from posetrack.training.augment import AugmentSettings, Draws, apply, draw, flip_joints, half_body
from posetrack.training.loss import joints_mse_loss
from posetrack.training.targets import generate_targets

DATA = Path(__file__).parent / "data" / "train"
COCO_UPPER = range(11)


@pytest.fixture(scope="module")
def geo():
    return dict(np.load(DATA / "geometry.npz"))


@pytest.mark.parametrize("tag", ["256x192_s2", "384x288_s2", "384x288_s3"])
def test_targets_and_weights_equal_the_official(tag):
    d = np.load(DATA / "targets.npz")
    target, weight = generate_targets(d[f"joints_{tag}"], d[f"joints_vis_{tag}"], tuple(d[f"image_size_{tag}"]),
                                      tuple(d[f"heatmap_size_{tag}"]), int(d[f"sigma_{tag}"]))
    assert target.dtype == np.float32 and weight.shape == d[f"target_weight_{tag}"].shape
    np.testing.assert_allclose(target, d[f"target_{tag}"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(weight, d[f"target_weight_{tag}"], rtol=0, atol=1e-6)


def test_target_border_quirk_weight_one_with_an_empty_heatmap():
    # a centre at heatmap cell -7 (sigma 2): the window ends at 0, which the official bounds test lets pass
    joints = np.zeros((1, 3))
    joints[0, 0], joints[0, 1] = -7.6 * 4.0, 20.0     # int(-7.6 + 0.5) = -7
    target, weight = generate_targets(joints, np.ones((1, 3)), (192, 256), (48, 64), 2)
    assert weight[0, 0] == 1 and target.max() == 0
    joints[0, 0] = -8.6 * 4.0                     # one cell further (-8): weight 0
    assert generate_targets(joints, np.ones((1, 3)), (192, 256), (48, 64), 2)[1][0, 0] == 0


def test_targets_equal_a_naive_per_joint_loop():
    rng = np.random.default_rng(0)
    joints = rng.uniform(-40, 230, (3, 17, 3))
    vis = (rng.uniform(size=(3, 17)) > 0.2).astype(float)
    target, weight = generate_targets(joints, vis, (192, 256), (48, 64), 2)
    for b in range(3):
        for k in range(17):
            mu = [int(joints[b, k, 0] / 4 + 0.5), int(joints[b, k, 1] / 4 + 0.5)]
            expected = np.zeros((64, 48), np.float32)
            w = vis[b, k]
            if mu[0] - 6 >= 48 or mu[1] - 6 >= 64 or mu[0] + 7 < 0 or mu[1] + 7 < 0:
                w = 0
            elif w > 0.5:
                for y in range(max(0, mu[1] - 6), min(64, mu[1] + 7)):
                    for x in range(max(0, mu[0] - 6), min(48, mu[0] + 7)):
                        expected[y, x] = np.exp(np.float32(-((x - mu[0]) ** 2 + (y - mu[1]) ** 2)) / np.float32(8))
            assert weight[b, k, 0] == w
            np.testing.assert_allclose(target[b, k], expected, atol=1e-7)


def test_center_scale_of_boxes_equal_the_official(geo):
    c, s = xywh_to_center_scale(geo["geo_box"], 192 / 256)
    np.testing.assert_array_equal(c, geo["geo_center_in"])
    # the recorded scales include each case's scale multiplier; the first two cases have none
    np.testing.assert_array_equal(s[:2], geo["geo_scale_in"][:2])


def test_affine_matrices_with_rotation_equal_the_official(geo):
    m = affine_matrices(geo["geo_center_used"], geo["geo_scale_in"], (192, 256), rotation=geo["geo_rot"])
    inv = affine_matrices(geo["geo_center_used"], geo["geo_scale_in"], (192, 256), inverse=True,
                          rotation=geo["geo_rot"])
    np.testing.assert_allclose(m, geo["geo_trans"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(inv, geo["geo_trans_inv"], rtol=1e-6, atol=1e-9)


def test_flipped_joints_equal_the_official(geo):
    pairs = [tuple(p) for p in geo["flip_pairs"]]
    for i in np.flatnonzero(geo["geo_flip"]):
        joints, vis = flip_joints(geo["geo_joints_in"][i], geo["geo_joints_vis_in"][i], 320, pairs)
        np.testing.assert_array_equal(joints, geo["geo_joints_flipped"][i])
        np.testing.assert_array_equal(vis, geo["geo_joints_vis_flipped"][i])


@pytest.mark.parametrize("case", range(6))
def test_crop_joints_and_targets_given_the_same_draws(geo, case):
    pairs = [tuple(p) for p in geo["flip_pairs"]]
    draws = Draws(half_body=None, scale=1.0, rotation=float(geo["geo_rot"][case]), flip=bool(geo["geo_flip"][case]))
    s = apply(geo["image"], geo["geo_joints_in"][case], geo["geo_joints_vis_in"][case], geo["geo_center_in"][case],
              geo["geo_scale_in"][case], draws, (192, 256), pairs, COCO_UPPER)
    np.testing.assert_array_equal(s.center, geo["geo_center_used"][case])
    np.testing.assert_allclose(s.matrix, geo["geo_trans"][case], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(s.joints, geo["geo_joints_out"][case][:, :2], rtol=0, atol=1e-9)
    # the same cv2.warpAffine on the same matrix: equal within one grey level (README of the reference data)
    assert np.abs(s.image.astype(int) - geo["geo_crop"][case]).max() <= 1
    target, weight = generate_targets(s.joints, s.joints_vis, (192, 256), (48, 64), 2)
    np.testing.assert_allclose(target, geo["geo_target"][case], atol=1e-6)
    np.testing.assert_array_equal(weight, geo["geo_target_weight"][case])


@pytest.mark.parametrize("case", range(5))
def test_half_body_given_the_numpy_seed(geo, case):
    normal = np.random.RandomState(int(geo["hb_np_seed"][case])).randn()
    assert normal == geo["hb_randn_drawn"][case]
    c, s = half_body(geo["hb_joints"][case], geo["hb_joints_vis"][case], COCO_UPPER, normal, 0.75)
    if geo["hb_is_none"][case]:
        assert c is None and s is None
    else:
        np.testing.assert_allclose(c, geo["hb_center"][case], rtol=0, atol=1e-6)
        np.testing.assert_allclose(s, geo["hb_scale"][case], rtol=0, atol=1e-6)


def test_half_body_picks_the_lower_body_when_the_upper_has_too_few_joints():
    joints = np.zeros((17, 3))
    joints[:, 0] = np.arange(17) * 10.0
    joints[:, 1] = np.arange(17) * 20.0
    vis = np.zeros((17, 3))
    vis[[0, 11, 12, 13, 14], :2] = 1
    c, _ = half_body(joints, vis, COCO_UPPER, -3.0, 0.75)              # wants the upper body; it has 1 joint
    np.testing.assert_allclose(c, joints[[11, 12, 13, 14], :2].mean(0))


def test_draws_follow_the_official_order_and_probabilities():
    settings = AugmentSettings()
    import random
    n = 4000
    draws = [draw(settings, 17, np.random.RandomState(i), random.Random(i)) for i in range(n)]
    half = np.mean([d.half_body is not None for d in draws])
    rot = np.mean([d.rotation != 0 for d in draws])
    flip = np.mean([d.flip for d in draws])
    assert abs(half - 0.3) < 0.03 and abs(rot - 0.6) < 0.03 and abs(flip - 0.5) < 0.03
    assert all(0.65 <= d.scale <= 1.35 and -90 <= d.rotation <= 90 for d in draws)
    # with 8 labelled joints the half-body draw is not even made: the scale is then the first normal
    d = draw(settings, 8, np.random.RandomState(5), random.Random(5))
    assert d.half_body is None and d.scale == np.clip(np.random.RandomState(5).randn() * 0.35 + 1, 0.65, 1.35)
    # the same generators as the official global ones: rand() first, then randn() for the half body
    rs = np.random.RandomState(7)
    u, normal = rs.rand(), rs.randn()
    d = draw(settings, 17, np.random.RandomState(7), random.Random(7))
    assert (d.half_body == normal) if u < 0.3 else d.half_body is None


def test_loss_and_gradient_equal_the_official():
    d = np.load(DATA / "loss.npz")
    output = torch.tensor(d["output_q256"] / 256.0, dtype=torch.float32, requires_grad=True)
    target = torch.tensor(d["target_q256"] / 256.0, dtype=torch.float32)
    weight = torch.tensor(d["target_weight"])
    loss = joints_mse_loss(output, target, weight)
    loss.backward()
    assert loss.dtype == torch.float32
    assert abs(loss.item() - float(d["loss_tw"])) <= 1e-6
    np.testing.assert_allclose(output.grad.numpy()[:2], d["grad_tw_first2"], rtol=0, atol=1e-6 * 1e-3)
    np.testing.assert_allclose(output.grad.numpy()[:2], d["grad_tw_first2"], rtol=1e-5, atol=0)
    assert abs(joints_mse_loss(output, target).item() - float(d["loss_notw"])) <= 1e-6
    assert abs(joints_mse_loss(output[:1], target[:1], weight[:1]).item() - float(d["loss_tw_batch1"])) <= 1e-6
