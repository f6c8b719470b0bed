"""Pure drawing: colours, visibility, sizes and trails on tiny synthetic frames."""
import itertools

import numpy as np
import pytest

from posetrack.rendering.draw import (UNTRACKED_COLOR, DrawStyle, Trails, draw_frame, foot_points, line_width, track_color,
                            visible_keypoints)
from posetrack.keypoints import COCO, POSETRACK17, POSETRACK18
from posetrack.types import FrameResult, Poses

GREY = 90


def canvas(h=240, w=320):
    return np.full((h, w, 3), GREY, np.uint8)


def person(dx=0.0, dy=0.0, k=17, score=0.9):
    """A person with keypoints spread on a grid (no two joints overlap), shifted by dx, dy."""
    xs = 40 + 30 * (np.arange(k) % 6) + dx
    ys = 30 + 40 * (np.arange(k) // 6) + dy
    kp = np.stack([xs, ys], 1).astype(np.float32)
    box = [kp[:, 0].min() - 5, kp[:, 1].min() - 5, kp[:, 0].max() + 5, kp[:, 1].max() + 5]
    return kp, np.full(k, score, np.float32), box


def result_of(people, ids=(5,), frame=0):
    kps = np.stack([p[0] for p in people])
    scores = np.stack([p[1] for p in people])
    boxes = np.array([p[2] for p in people], np.float32)
    return FrameResult(frame, Poses(boxes, np.ones(len(people)), kps, scores),
                       None if ids is None else np.array(ids))


def px(image, xy):
    x, y = np.round(xy).astype(int)
    return tuple(int(c) for c in image[y, x])


def color_dist(a, b):
    return float(np.linalg.norm(np.subtract(a, b, dtype=float)))


# ---------------------------------------------------------------- colours

def test_track_color_is_stable_and_valid():
    for tid in range(300):
        c = track_color(tid)
        assert c == track_color(tid) and len(c) == 3 and all(0 <= v <= 255 for v in c)


def test_neighbouring_ids_get_clearly_different_colours():
    worst = min(color_dist(track_color(i), track_color(i + 1)) for i in range(500))
    assert worst > 100


def test_ids_with_close_hues_still_differ():
    """Golden-ratio hues come close for Fibonacci differences; brightness/saturation keep them apart."""
    for diff in (8, 13, 21, 34, 55, 89):
        worst = min(color_dist(track_color(i), track_color(i + diff)) for i in range(300))
        assert worst > 25, diff


def test_the_first_twenty_ids_are_all_distinct():
    colors = [track_color(i) for i in range(20)]
    assert min(color_dist(a, b) for a, b in itertools.combinations(colors, 2)) > 25


@pytest.mark.parametrize("h, w, expected", [(120, 160, 1), (240, 320, 1), (480, 640, 2), (720, 1280, 3),
                                            (1080, 1920, 5), (2160, 3840, 9)])
def test_line_width_follows_the_frame_size(h, w, expected):
    assert line_width(h, w) == expected


def test_line_scale_multiplies_the_width():
    assert line_width(720, 1280, scale=2.0) == 6
    assert line_width(240, 320, scale=0.1) == 1


# ---------------------------------------------------------------- visibility

def test_visible_keypoints_matches_a_naive_loop():
    rng = np.random.default_rng(0)
    kp = rng.uniform(0, 100, (4, 17, 2)).astype(np.float32)
    kp[1, 3, 0] = np.nan
    kp[2, 5, 1] = np.inf
    scores = rng.uniform(0, 1, (4, 17)).astype(np.float32)
    poses = Poses(np.zeros((4, 4)), np.ones(4), kp, scores)
    got = visible_keypoints(poses, 0.4)
    for n in range(4):
        for k in range(17):
            assert got[n, k] == (scores[n, k] >= 0.4 and np.isfinite(kp[n, k]).all())


def test_foot_points_matches_a_naive_loop():
    rng = np.random.default_rng(1)
    kp = rng.uniform(0, 100, (5, 17, 2)).astype(np.float32)
    scores = rng.uniform(0, 1, (5, 17)).astype(np.float32)
    scores[3] = 0.0  # nobody visible -> bottom centre of the box
    boxes = rng.uniform(0, 50, (5, 4)).astype(np.float32)
    boxes[:, 2:] += 50
    got = foot_points(Poses(boxes, np.ones(5), kp, scores), 0.5)
    for n in range(5):
        vis = [k for k in range(17) if scores[n, k] >= 0.5]
        if vis:
            want = (np.mean([kp[n, k, 0] for k in vis]), max(kp[n, k, 1] for k in vis))
        else:
            want = ((boxes[n, 0] + boxes[n, 2]) / 2, boxes[n, 3])
        assert got[n] == pytest.approx(want, abs=1e-3)


# ---------------------------------------------------------------- draw_frame

def test_draw_frame_returns_a_new_image_and_leaves_the_input_alone():
    image = canvas()
    before = image.copy()
    out = draw_frame(image, result_of([person()]), COCO)
    assert out is not image and out.shape == image.shape and out.dtype == np.uint8
    assert np.array_equal(image, before)
    assert not np.array_equal(out, image)


def test_joints_carry_the_colour_of_their_track():
    a, b = person(), person(dx=10, dy=125)  # b sits below a: nothing of a covers b's joints
    out = draw_frame(canvas(), result_of([a, b], ids=(3, 4)), COCO, DrawStyle(ids=False))
    for kp, tid in ((a[0], 3), (b[0], 4)):
        for xy in kp:
            assert px(out, xy) == track_color(tid)


def test_limbs_are_drawn_between_visible_joints():
    kp, s, box = person()
    out = draw_frame(canvas(), result_of([(kp, s, box)], ids=(2,)), COCO, DrawStyle(ids=False))
    for i, j in COCO.skeleton:
        mid = (kp[i] + kp[j]) / 2
        assert color_dist(px(out, mid), track_color(2)) < 40, (i, j)


def test_low_score_joints_and_their_limbs_are_hidden():
    kp, s, box = person()
    hidden, elbow = COCO.index("left_wrist"), COCO.index("left_elbow")  # limb (7, 9)
    kp[hidden], kp[elbow] = (300, 220), (260, 200)  # away from the grid: no other limb crosses (7, 9)
    s = s.copy()
    s[hidden] = 0.2
    style = DrawStyle(min_score=0.3, ids=False)
    out = draw_frame(canvas(), result_of([(kp, s, box)]), COCO, style)
    assert px(out, kp[hidden]) == (GREY,) * 3
    assert px(out, (kp[hidden] + kp[elbow]) / 2) == (GREY,) * 3
    assert px(out, kp[elbow]) == track_color(5)
    # the same person with a lower threshold shows the wrist
    out = draw_frame(canvas(), result_of([(kp, s, box)]), COCO, DrawStyle(min_score=0.1, ids=False))
    assert px(out, kp[hidden]) == track_color(5)


def test_nan_keypoints_are_not_drawn():
    kp, s, box = person()
    kp = kp.copy()
    kp[0] = np.nan
    out = draw_frame(canvas(), result_of([(kp, s, box)]), COCO)
    assert out.shape == (240, 320, 3)  # no exception, the rest is drawn
    assert px(out, kp[1]) == track_color(5)


@pytest.mark.parametrize("empty", [None, "no people"])
def test_a_frame_without_people_is_unchanged(empty):
    image = canvas()
    result = None if empty is None else FrameResult(0, Poses.empty(17), np.zeros(0, np.int64))
    assert np.array_equal(draw_frame(image, result, COCO, DrawStyle(boxes=True)), image)


def test_untracked_people_use_the_neutral_colour_and_get_no_label():
    kp, s, box = person()
    out = draw_frame(canvas(), result_of([(kp, s, box)], ids=None), COCO)
    assert px(out, kp[3]) == UNTRACKED_COLOR
    out_no_ids = draw_frame(canvas(), result_of([(kp, s, box)], ids=None), COCO, DrawStyle(ids=False))
    assert np.array_equal(out, out_no_ids)


def test_boxes_are_optional():
    kp, s, box = person()
    edge = ((box[0] + box[2]) / 2, box[3])  # middle of the bottom edge, away from any joint
    plain = draw_frame(canvas(), result_of([(kp, s, box)]), COCO, DrawStyle(boxes=False, ids=False))
    boxed = draw_frame(canvas(), result_of([(kp, s, box)]), COCO, DrawStyle(boxes=True, ids=False))
    assert px(plain, edge) == (GREY,) * 3
    assert color_dist(px(boxed, edge), track_color(5)) < 40


def test_the_id_label_sits_above_the_head_in_the_track_colour():
    kp, s, box = person(dy=40)
    top = kp[:, 1].min()
    region = (slice(0, int(top) - 2), slice(0, 320))
    with_ids = draw_frame(canvas(), result_of([(kp, s, box)], ids=(12,)), COCO, DrawStyle(ids=True))
    without = draw_frame(canvas(), result_of([(kp, s, box)], ids=(12,)), COCO, DrawStyle(ids=False))
    assert np.all(without[region] == GREY)
    label = with_ids[region]
    assert np.all(label == track_color(12), axis=2).sum() > 30  # the label's background
    text = (0, 0, 0) if sum(track_color(12)) > 380 else (255, 255, 255)
    assert np.all(label == text, axis=2).sum() > 3  # the digits


def test_a_label_near_the_border_stays_inside_the_frame():
    kp, s, box = person()
    kp[0] = (318, 2)  # only the nose is visible, in the top-right corner
    s = np.zeros_like(s)
    s[0] = 1.0
    out = draw_frame(canvas(), result_of([(kp, s, box)], ids=(123,)), COCO)
    assert np.all(out[:5, 300:] == track_color(123), axis=2).sum() > 20


def test_limbs_widen_with_the_frame_as_line_width_says():
    def core_width(h, w):
        kp = np.array([[w * 0.2, h * 0.5], [w * 0.8, h * 0.5]] + [[0, 0]] * 15, np.float32)
        s = np.array([1, 1] + [0] * 15, np.float32)  # only nose and left eye: limb (0, 1)
        out = draw_frame(np.zeros((h, w, 3), np.uint8), result_of([(kp, s, [0, 0, 1, 1])]), COCO,
                         DrawStyle(ids=False))
        return int((out[:, w // 2].max(axis=1) > 127).sum())  # pixels more than half covered

    sizes = [(240, 320), (360, 640), (720, 1280), (1080, 1920), (2160, 3840)]
    cores = [core_width(h, w) for h, w in sizes]
    assert cores == sorted(cores) and cores[-1] >= 3 * cores[0]
    for (h, w), core in zip(sizes, cores):  # OpenCV's anti-aliased lines come out up to 2 px wider
        assert 0 <= core - line_width(h, w) <= 2


@pytest.mark.parametrize("layout", [COCO, POSETRACK18, POSETRACK17])
def test_every_layout_draws(layout):
    out = draw_frame(canvas(), result_of([person(k=layout.num_keypoints)]), layout)
    assert not np.array_equal(out, canvas())


def test_wrong_number_of_keypoints_is_an_error():
    with pytest.raises(ValueError, match="15 keypoints but layout 'coco' has 17"):
        draw_frame(canvas(), result_of([person(k=15)]), COCO)


def test_not_an_rgb_image_is_an_error():
    with pytest.raises(ValueError, match="uint8"):
        draw_frame(np.zeros((10, 10), np.uint8), None, COCO)
    with pytest.raises(ValueError, match="uint8"):
        draw_frame(np.zeros((10, 10, 3), np.float32), None, COCO)


@pytest.mark.parametrize("kwargs", [{"min_score": -0.1}, {"min_score": float("nan")}, {"trails": -1},
                                    {"line_scale": 0}])
def test_draw_style_rejects_bad_values(kwargs):
    with pytest.raises(ValueError):
        DrawStyle(**kwargs)


# ---------------------------------------------------------------- trails

def walker(x, tid=1, frame=0, visible=True):
    kp = np.array([[x, 50.0]] * 17, np.float32)
    kp[:, 1] += np.arange(17)  # lowest keypoint at y = 66
    s = np.full(17, 0.9 if visible else 0.0, np.float32)
    return FrameResult(frame, Poses([[x - 5, 40, x + 5, 80]], [1.0], kp[None], s[None]), np.array([tid]))


def test_trails_keep_the_last_n_positions_per_track():
    trails = Trails(3)
    for t in range(5):
        trails.update(walker(10.0 * t, frame=t))
    path = trails.paths()[1]
    assert path.shape == (3, 2)
    assert path[:, 0].tolist() == [20.0, 30.0, 40.0]  # oldest first
    assert path[:, 1].tolist() == [66.0, 66.0, 66.0]  # at the feet


def test_trails_of_tracks_that_left_fade_out():
    trails = Trails(3)
    trails.update(walker(10.0, tid=1))
    trails.update(walker(20.0, tid=2))
    assert set(trails.paths()) == {1, 2}
    trails.update(None)
    trails.update(None)
    assert set(trails.paths()) == {2}
    trails.update(None)
    assert trails.paths() == {}


def test_trails_use_the_box_when_no_keypoint_is_visible_and_reset_clears():
    trails = Trails(5)
    trails.update(walker(30.0, visible=False))
    assert trails.paths()[1].tolist() == [[30.0, 80.0]]
    trails.reset()
    assert trails.paths() == {}


def test_two_trails_objects_do_not_share_state():
    a, b = Trails(4), Trails(4)
    a.update(walker(10.0))
    assert b.paths() == {}


def test_trails_are_drawn_in_the_track_colour():
    trails = Trails(10)
    for t in range(10):
        trails.update(walker(40.0 + 20 * t, tid=6, frame=t))
    out = draw_frame(canvas(), None, COCO, DrawStyle(trails=10), trails)
    hits = [color_dist(px(out, (x, 66)), track_color(6)) < 60 for x in range(60, 220, 10)]
    assert all(hits)
    assert px(out, (300, 66)) == (GREY,) * 3


def test_trail_length_must_be_positive():
    with pytest.raises(ValueError):
        Trails(0)
