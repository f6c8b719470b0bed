"""Motion models and their math: camera motion from flow, texture, the vectorised box Kalman
filter, covered fractions and OKS with extra variance, each against a naive reference."""
import numpy as np
import pytest

from posetrack.boxes import box_centres, covered_fraction
from posetrack.tracking.motion import BoxKalman, StillBoxes, camera_motion, textured
from posetrack.oks import oks_matrix


def test_camera_motion_recovers_zoom_and_pan_and_ignores_people():
    h, w = 240, 320
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    scale, tx, ty = 1.02, -3.5, 1.25
    flow = np.stack([(scale - 1) * xs + tx, (scale - 1) * ys + ty], -1)
    people = np.array([[40, 40, 100, 200], [200, 60, 260, 220]])
    for x1, y1, x2, y2 in people:
        flow[y1:y2, x1:x2] = (12.0, -4.0)                           # they walk on their own
    np.testing.assert_allclose(camera_motion(flow, people), [scale, tx, ty], atol=1e-4)
    # An unknown mover (not excluded) covering a few cells is rejected as an outlier.
    flow[100:140, 140:180] = (-20.0, 9.0)
    np.testing.assert_allclose(camera_motion(flow, people), [scale, tx, ty], atol=1e-3)


def test_camera_motion_needs_texture_and_flow():
    h, w = 240, 320
    flow = np.full((h, w, 2), 7.0, np.float32)                          # what DIS fills a flat area with
    flat = np.full((h, w, 3), 90, np.uint8)
    assert camera_motion(flow, image=flat) is None                       # cannot tell
    noisy = np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8)
    np.testing.assert_allclose(camera_motion(flow, image=noisy), [1.0, 7.0, 7.0], atol=1e-6)
    assert camera_motion(None).tolist() == [1.0, 0.0, 0.0]


def test_textured_cells_match_a_naive_loop():
    rng = np.random.default_rng(1)
    image = np.full((100, 150, 3), 50, np.uint8)
    image[20:60, 30:90] = rng.integers(0, 255, (40, 60, 3))
    got = textured(image, step=16)
    grey = image[::4, ::4].astype(np.float64).mean(-1)
    want = np.zeros(got.shape, bool)
    for i in range(got.shape[0]):
        for j in range(got.shape[1]):
            total = 0.0
            for y in range(4 * i, 4 * i + 4):
                for x in range(4 * j, 4 * j + 4):
                    if y < grey.shape[0] and x + 1 < grey.shape[1]:
                        total += abs(grey[y, x + 1] - grey[y, x])
                    if y + 1 < grey.shape[0] and x < grey.shape[1]:
                        total += abs(grey[y + 1, x] - grey[y, x])
            want[i, j] = total / 16 > 2.0
    np.testing.assert_array_equal(got, want)
    assert got.any() and not got.all()


def test_box_kalman_learns_a_constant_velocity_and_follows_the_camera():
    kf = BoxKalman()
    kf.add(np.array([[100.0, 200.0, 80.0], [300.0, 150.0, 120.0]]))
    for k in range(1, 30):
        kf.predict(1, np.array([1.0, 0.0, 0.0]))
        kf.update(np.array([0, 1]), np.array([[100 + 4.0 * k, 200.0, 80.0], [300.0, 150.0 - 2.0 * k, 120.0]]))
    np.testing.assert_allclose(kf.x[:, 3:5], [[4.0, 0.0], [0.0, -2.0]], atol=0.15)
    before = kf.x.copy()
    kf.predict(3, np.array([1.1, 5.0, -2.0]))                           # zoom in 10%, pan
    np.testing.assert_allclose(kf.x[0, :2], 1.1 * before[0, :2] + [5.0, -2.0] + 3 * 1.1 * before[0, 3:5])
    np.testing.assert_allclose(kf.x[:, 2], 1.1 * before[:, 2] + 3 * 1.1 * before[:, 5])
    assert np.all(np.linalg.eigvalsh(kf.P) > 0)                          # covariances stay positive definite
    kf.select(np.array([1]))
    assert len(kf) == 1 and kf.x[0, 0] == pytest.approx(1.1 * before[1, 0] + 5.0 + 3 * 1.1 * before[1, 3])
    restored = BoxKalman()
    restored.load_state_dict(kf.state_dict())
    np.testing.assert_array_equal(restored.x, kf.x)
    np.testing.assert_array_equal(restored.P, kf.P)


def test_still_boxes_only_follow_the_camera():
    model = StillBoxes()
    model.add(np.array([[100.0, 200.0, 80.0]]))
    model.update(np.array([0]), np.array([[110.0, 200.0, 80.0]]))
    model.predict(5, np.array([1.0, -3.0, 0.0]))
    assert model.x[0, 3:].tolist() == [0.0, 0.0, 0.0]
    before = model.x[0, 0]
    model.predict(5, np.array([1.0, -3.0, 0.0]))
    assert model.x[0, 0] == pytest.approx(before - 3.0)


def test_covered_fraction_matches_a_naive_loop():
    rng = np.random.default_rng(0)
    a = np.c_[rng.uniform(0, 50, (6, 2)), rng.uniform(0, 50, (6, 2))]
    a[:, 2:] += a[:, :2]
    b = a[::-1] + 5
    b[0, 2] = b[0, 0]                                                    # empty boxes cover nothing
    want = np.zeros((6, 6))
    for i, p in enumerate(a):
        for j, q in enumerate(b):
            iw = max(0.0, min(p[2], q[2]) - max(p[0], q[0]))
            ih = max(0.0, min(p[3], q[3]) - max(p[1], q[1]))
            want[i, j] = iw * ih / ((p[2] - p[0]) * (p[3] - p[1]))
    np.testing.assert_allclose(covered_fraction(a, b), want, atol=1e-12)
    assert covered_fraction(np.array([[0, 0, 0, 5]]), a).tolist() == [[0.0] * 6]
    np.testing.assert_allclose(box_centres(a), (a[:, :2] + a[:, 2:]) / 2)


def test_oks_with_extra_variance_matches_the_formula():
    rng = np.random.default_rng(2)
    xa, xb = rng.uniform(0, 100, (3, 5, 2)), rng.uniform(0, 100, (4, 5, 2))
    areas_a, areas_b = rng.uniform(500, 3000, 3), rng.uniform(500, 3000, 4)
    sigmas = rng.uniform(0.03, 0.1, 5)
    extra = np.array([0.0, 10.0, 400.0, 2500.0])
    got = oks_matrix(xa, xb, areas_a, areas_b, sigmas, extra_b=extra)
    want = np.zeros((3, 4))
    for i in range(3):
        for j in range(4):
            s = (areas_a[i] + areas_b[j]) / 2 + np.spacing(1)
            d2 = ((xa[i] - xb[j]) ** 2).sum(-1)
            want[i, j] = np.mean(np.exp(-d2 / (2 * (s * (2 * sigmas) ** 2 + extra[j]))))
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(got[:, 0], oks_matrix(xa, xb[:1], areas_a, areas_b[:1], sigmas)[:, 0], rtol=1e-12)
    assert np.all(got[:, 3] >= oks_matrix(xa, xb, areas_a, areas_b, sigmas)[:, 3])     # more variance, more tolerance
