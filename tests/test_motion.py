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


def _tracks(model, z):
    from posetrack.tracking.state import Table

    return Table(model.columns, **model.start(np.asarray(z, np.float64)))


def test_box_kalman_learns_a_constant_velocity_and_follows_the_camera():
    kf = BoxKalman()
    t = _tracks(kf, [[100.0, 200.0, 80.0], [300.0, 150.0, 120.0]])
    for k in range(1, 30):
        t = kf.predict(t, 1, np.array([1.0, 0.0, 0.0]))
        t = kf.correct(t, np.array([0, 1]), np.array([[100 + 4.0 * k, 200.0, 80.0], [300.0, 150.0 - 2.0 * k, 120.0]]))
    np.testing.assert_allclose(kf.velocities(t), [[4.0, 0.0], [0.0, -2.0]], atol=0.15)
    before = t.motion_x.copy()
    t = kf.predict(t, 3, np.array([1.1, 5.0, -2.0]))                    # zoom in 10%, pan
    np.testing.assert_allclose(kf.centres(t)[0], 1.1 * before[0, :2] + [5.0, -2.0] + 3 * 1.1 * before[0, 3:5])
    np.testing.assert_allclose(kf.heights(t), 1.1 * before[:, 2] + 3 * 1.1 * before[:, 5])
    assert np.all(np.linalg.eigvalsh(t.motion_P) > 0)                   # covariances stay positive definite
    one = t.select(np.array([1]))
    assert len(one) == 1 and kf.centres(one)[0, 0] == pytest.approx(1.1 * before[1, 0] + 5.0 + 3 * 1.1 * before[1, 3])
    np.testing.assert_allclose(kf.boxes(one, np.array([0.5]))[0, [0, 2]] - kf.centres(one)[0, 0],
                               [-0.25 * kf.heights(one)[0], 0.25 * kf.heights(one)[0]])


def test_box_kalman_matches_the_textbook_filter_written_out():
    """The vectorised filter against a plain one-track Kalman filter (F, H, Q, R written out)."""
    from posetrack.tracking.motion import POSITION_NOISE, VELOCITY_NOISE

    kf = BoxKalman()
    z0 = np.array([50.0, 80.0, 60.0])
    t = _tracks(kf, [z0])
    x, P = t.motion_x[0].copy(), t.motion_P[0].copy()
    rng = np.random.default_rng(3)
    for k in range(1, 12):
        dt = 1 + k % 2
        F = np.eye(6)
        F[:3, 3:] = dt * np.eye(3)
        x = F @ x
        h = max(x[2], 1.0)
        Q = np.diag(np.r_[np.full(3, (POSITION_NOISE * h) ** 2), np.full(3, (VELOCITY_NOISE * h) ** 2)]) * dt
        P = F @ P @ F.T + Q
        t = kf.predict(t, dt, np.array([1.0, 0.0, 0.0]))
        np.testing.assert_allclose(t.motion_x[0], x, rtol=1e-9)
        z = z0 + [3.0 * k, -1.0 * k, 0.5 * k] + rng.normal(0, 1, 3)
        Hm = np.eye(3, 6)
        R = np.eye(3) * (POSITION_NOISE * max(x[2], 1.0)) ** 2
        K = P @ Hm.T @ np.linalg.inv(Hm @ P @ Hm.T + R)
        x, P = x + K @ (z - Hm @ x), (np.eye(6) - K @ Hm) @ P
        t = kf.correct(t, np.array([0]), z[None])
        np.testing.assert_allclose(t.motion_x[0], x, rtol=1e-9)
        np.testing.assert_allclose(t.motion_P[0], P, rtol=1e-7, atol=1e-9)


def test_still_boxes_only_follow_the_camera():
    model = StillBoxes()
    t = _tracks(model, [[100.0, 200.0, 80.0]])
    t = model.correct(t, np.array([0]), np.array([[110.0, 200.0, 80.0]]))
    t = model.predict(t, 5, np.array([1.0, -3.0, 0.0]))
    assert model.velocities(t)[0].tolist() == [0.0, 0.0]
    before = model.centres(t)[0, 0]
    t = model.predict(t, 5, np.array([1.0, -3.0, 0.0]))
    assert model.centres(t)[0, 0] == pytest.approx(before - 3.0)


def test_flow_weights_fall_with_size_and_forward_backward_error():
    from posetrack.tracking.motion import flow_weights

    w = flow_weights(np.array([10.0, 30.0, 50.0, 80.0]), None, min_height=20, full_height=60, fb_tolerance=2.0)
    np.testing.assert_allclose(w, [0.0, 0.25, 0.75, 1.0])
    w = flow_weights(np.array([80.0, 80.0, 80.0]), np.array([0.0, 2.0, np.nan]), 20, 60, 2.0)
    np.testing.assert_allclose(w, [1.0, np.exp(-0.5), 1.0])


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
