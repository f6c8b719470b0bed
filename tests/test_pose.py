"""Top-down pre/post-processing: geometry, decoding, flip test, DARK, crop back-ends."""
import numpy as np
import pytest
import torch

from posetrack.pose.heatmaps import argmax_coords, dark_refine, decode_heatmaps, flip_back, quarter_offset
from posetrack.keypoints import COCO
from posetrack.models.registry import build_pose_model
from posetrack.pose.estimator import PoseEstimator
from posetrack.pose.crops import affine_matrices, apply_affine, boxes_to_center_scale, crop_opencv, crop_torch


def gaussian_maps(n, k, h, w, centers, sigma=2.0):
    ys, xs = np.mgrid[0:h, 0:w]
    hm = np.zeros((n, k, h, w), np.float32)
    for i in range(n):
        for j in range(k):
            cx, cy = centers[i][j]
            hm[i, j] = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * sigma ** 2))
    return hm


def test_center_scale_matches_naive_formula():
    boxes = np.array([[10, 20, 110, 60], [0, 0, 30, 200], [5, 5, 80, 105]], np.float32)  # wide, narrow, exact
    center, scale = boxes_to_center_scale(boxes, aspect_ratio=0.75)
    for b, c, s in zip(boxes, center, scale):
        w, h = b[2] - b[0], b[3] - b[1]
        if w > 0.75 * h:
            h = w / 0.75
        elif w < 0.75 * h:
            w = h * 0.75
        np.testing.assert_allclose(c, [b[0] + (b[2] - b[0]) / 2, b[1] + (b[3] - b[1]) / 2])
        np.testing.assert_allclose(s, [w / 200 * 1.25, h / 200 * 1.25], rtol=1e-6)


def test_padding_skipped_for_center_x_minus_one():
    _, scale = boxes_to_center_scale(np.array([[-11, 0, 9, 40]], np.float32), aspect_ratio=0.5)
    np.testing.assert_allclose(scale, [[20 / 200, 40 / 200]], rtol=1e-6)


@pytest.mark.parametrize("box", [[50, 40, 250, 440], [300, 10, 700, 110], [0, 0, 64, 64], [123.4, 56.7, 160.2, 300.9]])
def test_heatmap_peak_maps_back_to_frame(box):
    """A peak at heatmap pixel (u, v) lands at centre + (u - W/2, v - H/2) * box_size / heatmap_size."""
    hw, hh = 48, 64
    center, scale = boxes_to_center_scale(np.array([box], np.float32), aspect_ratio=hw / hh)
    u, v = 30.0, 17.0
    hm = gaussian_maps(1, 1, hh, hw, [[(u, v)]])
    coords, maxvals = decode_heatmaps(hm)
    assert maxvals[0, 0] == pytest.approx(1.0)
    xy = apply_affine(coords, affine_matrices(center, scale, (hw, hh), inverse=True))[0, 0]
    px_per_cell = scale[0, 0] * 200 / hw
    assert px_per_cell == pytest.approx(scale[0, 1] * 200 / hh, rel=1e-5)
    expected = center[0] + (np.array([u, v]) - [hw / 2, hh / 2]) * px_per_cell
    np.testing.assert_allclose(xy, expected, atol=1e-3)


def test_quarter_offset_towards_higher_neighbour_and_not_at_border():
    hm = np.zeros((1, 3, 10, 10), np.float32)
    hm[0, 0, 5, 5], hm[0, 0, 5, 6], hm[0, 0, 6, 5] = 1.0, 0.5, 0.2     # right and down
    hm[0, 1, 5, 5], hm[0, 1, 5, 4], hm[0, 1, 4, 5] = 1.0, 0.5, 0.2     # left and up
    hm[0, 2, 1, 5], hm[0, 2, 2, 5] = 1.0, 0.5                          # py == 1: no shift
    coords, _ = argmax_coords(hm)
    out = quarter_offset(hm, coords)
    np.testing.assert_allclose(out[0], [[5.25, 5.25], [4.75, 4.75], [5, 1]])


def test_non_positive_maximum_zeroes_coordinates():
    hm = -np.ones((1, 1, 8, 8), np.float32)
    hm[0, 0, 3, 4] = -0.5
    coords, maxvals = argmax_coords(hm)
    assert maxvals[0, 0] == -0.5 and (coords == 0).all()


def test_dark_recovers_subpixel_peak_better_than_argmax():
    true = [(20.3, 30.7), (10.8, 12.1)]
    hm = gaussian_maps(1, 2, 64, 48, [true])
    argmax_xy, _ = decode_heatmaps(hm, "argmax")
    dark_xy, _ = decode_heatmaps(hm, "dark")
    err_dark = np.abs(dark_xy[0] - true).max()
    assert err_dark < 0.05 < np.abs(argmax_xy[0] - true).max()


def test_flip_back_is_mirror_swap_and_one_column_shift():
    rng = np.random.default_rng(0)
    hm = rng.standard_normal((2, 17, 4, 6)).astype(np.float32)
    out = flip_back(hm, COCO.flip_pairs)
    perm = COCO.flip_permutation()
    for n in range(2):
        for j in range(17):
            for c in range(6):
                src = 5 - (c - 1) if c >= 1 else 5  # column 0 keeps its mirrored value
                assert out[n, j, :, c].tolist() == hm[n, perm[j], :, src].tolist()


class LinearPoseNet(torch.nn.Module):
    """A stand-in network (one stride-4 conv) with a tiny HRNet's config: heatmaps with peaks
    inside the map, so the flip logic can be checked end to end."""

    def __init__(self, seed):
        super().__init__()
        torch.manual_seed(seed)
        self.config = build_pose_model("hrnet_tiny_128x96").config
        self.conv = torch.nn.Conv2d(3, 17, kernel_size=4, stride=4)

    def forward(self, x):
        return self.conv(x)


def test_flip_test_on_mirror_symmetric_input_is_mirror_consistent():
    """A crop equal to its own mirror image gives left/right keypoints mirrored about the box centre."""
    est = PoseEstimator(LinearPoseNet(seed=0), flip_test=True)
    rng = np.random.default_rng(1)
    half = rng.integers(0, 255, (200, 100, 3), dtype=np.uint8)
    image = np.concatenate([half, half[:, ::-1]], axis=1)        # symmetric about x = 99.5
    # A box whose crop samples the frame 1:1 (scale * 200 == 96 px) centred at x = 100:
    # crop column u <-> frame x = 52 + u, so the crop equals its own mirror.
    box = np.array([[100 - 38.4, 30, 100 + 38.4, 30 + 102.4]], np.float32)
    kp = est(image, box)[0]
    assert (kp[:, 0] > 56).all()  # no peak in heatmap column 0, which has no mirror partner
    for i, j in COCO.flip_pairs:
        assert kp[i, 0] + kp[j, 0] == pytest.approx(200.0, abs=1e-3)
        assert kp[i, 1] == pytest.approx(kp[j, 1], abs=1e-3)
        assert kp[i, 2] == pytest.approx(kp[j, 2], abs=1e-6)
    # Without the flip test the same input gives no such symmetry.
    plain = PoseEstimator(LinearPoseNet(seed=0), flip_test=False)(image, box)[0]
    assert any(abs(plain[i, 0] + plain[j, 0] - 200.0) > 1 for i, j in COCO.flip_pairs)


def test_estimator_batches_frames_like_single_calls():
    torch.manual_seed(0)
    est = PoseEstimator(build_pose_model("hrnet_tiny_128x96"), flip_test=True, batch_size=3)
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (120, 160, 3), dtype=np.uint8) for _ in range(3)]
    boxes = [np.array([[10, 10, 60, 100], [70, 5, 150, 115]], np.float32), np.zeros((0, 4), np.float32),
             np.array([[0, 0, 159, 119]], np.float32)]
    many = est.estimate_many(frames, boxes)
    assert [len(m) for m in many] == [2, 0, 1]
    for f, b, m in zip(frames, boxes, many):
        np.testing.assert_allclose(est(f, b), m, atol=1e-4)


def test_torch_crop_close_to_opencv_crop():
    """The grid_sample crop deviates from cv2.warpAffine by at most a few grey levels."""
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    c, s = boxes_to_center_scale(np.array([[30, 20, 130, 220], [200.5, 50.25, 300.75, 230.1]], np.float32), 0.75)
    m = affine_matrices(c, s, (96, 128))
    ref = crop_opencv(img, m, (96, 128)).astype(np.float32)
    ours = crop_torch(img, m, (96, 128)).permute(0, 2, 3, 1).numpy()
    diff = np.abs(ours - ref)
    assert diff.mean() < 0.5 and diff.max() <= 4.0


def test_estimator_rejects_unknown_options():
    model = build_pose_model("hrnet_tiny_128x96")
    with pytest.raises(ValueError, match="crop"):
        PoseEstimator(model, crop="cuda-magic")
    with pytest.raises(ValueError, match="decod"):
        PoseEstimator(model, decode="soft-argmax")


def test_pose_estimates_do_not_depend_on_the_thread_count():
    """The guarantee README "Many videos" states: only the detector's numbers move with the thread count."""
    from posetrack.models.registry import seeded_state_dict

    model = build_pose_model("hrnet_tiny_128x96")
    model.load_state_dict(seeded_state_dict(model, 1))
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    boxes = np.array([[10, 20, 150, 230], [100, 40, 300, 235], [50, 50, 120, 200]], np.float32)
    before = torch.get_num_threads()
    try:
        got = []
        for threads in (1, 2, 3):
            torch.set_num_threads(threads)
            got.append(PoseEstimator(model, device="cpu")(frame, boxes))
    finally:
        torch.set_num_threads(before)
    assert np.array_equal(got[0], got[1]) and np.array_equal(got[0], got[2])
