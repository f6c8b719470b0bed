"""OKS and OKS-NMS against deliberately naive loops."""
import math

import numpy as np

from posetrack.keypoints import COCO
from posetrack.oks import box_areas, oks_matrix, oks_nms


def naive_oks(a, b, area_a, area_b, sigmas, mask=None):
    total, count = 0.0, 0
    for k in range(len(sigmas)):
        if mask is not None and not mask[k]:
            continue
        d2 = (a[k][0] - b[k][0]) ** 2 + (a[k][1] - b[k][1]) ** 2
        var = (2 * sigmas[k]) ** 2
        total += math.exp(-d2 / var / ((area_a + area_b) / 2 + np.spacing(1)) / 2)
        count += 1
    return total / count if count else 0.0


def test_oks_matrix_matches_naive_loop():
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0, 100, (4, 17, 2)), rng.uniform(0, 100, (3, 17, 2))
    aa, ab = rng.uniform(500, 5000, 4), rng.uniform(500, 5000, 3)
    mask = rng.random((4, 3, 17)) > 0.3
    sig = COCO.sigma_array()
    got = oks_matrix(a, b, aa, ab, sig)
    got_m = oks_matrix(a, b, aa, ab, sig, mask)
    for i in range(4):
        for j in range(3):
            assert got[i, j] == np.float64(naive_oks(a[i], b[j], aa[i], ab[j], sig)).round(12) or \
                abs(got[i, j] - naive_oks(a[i], b[j], aa[i], ab[j], sig)) < 1e-12
            assert abs(got_m[i, j] - naive_oks(a[i], b[j], aa[i], ab[j], sig, mask[i, j])) < 1e-12


def test_oks_identical_poses_is_one_and_empty_shapes():
    p = np.random.default_rng(1).uniform(0, 50, (2, 17, 2))
    assert np.allclose(np.diag(oks_matrix(p, p, [100, 100], [100, 100], COCO.sigma_array())), 1.0)
    assert oks_matrix(np.zeros((0, 17, 2)), p, [], [1, 1], COCO.sigma_array()).shape == (0, 2)


def naive_nms(kpts, scores, areas, sigmas, thr, vis):
    order = list(np.argsort(-scores, kind="stable"))
    keep = []
    while order:
        i = order.pop(0)
        keep.append(i)
        rest = []
        for j in order:
            mask = kpts[j, :, 2] > vis if vis is not None else None
            if naive_oks(kpts[i, :, :2], kpts[j, :, :2], areas[i], areas[j], sigmas, mask) <= thr:
                rest.append(j)
        order = rest
    return keep


def test_oks_nms_matches_naive_loop():
    rng = np.random.default_rng(2)
    base = rng.uniform(0, 200, (5, 17, 2))
    kpts = np.concatenate([base, base + rng.normal(0, 2, base.shape), base + rng.normal(0, 30, base.shape)])
    kpts = np.concatenate([kpts, rng.uniform(0, 1, (15, 17, 1))], axis=2)
    scores = rng.uniform(0, 1, 15)
    areas = rng.uniform(2000, 8000, 15)
    for vis in (None, 0.2):
        keep = oks_nms(kpts, scores, areas, COCO.sigma_array(), 0.9, vis)
        assert keep.tolist() == naive_nms(kpts, scores, areas, COCO.sigma_array(), 0.9, vis)
    assert 5 <= len(oks_nms(kpts, scores, areas, COCO.sigma_array(), 0.9)) < 15


def test_box_areas():
    assert box_areas(np.array([[0, 0, 10, 5], [5, 5, 4, 9]])).tolist() == [50.0, 0.0]
