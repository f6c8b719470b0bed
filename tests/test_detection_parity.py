"""Comparing two runs of one detector: only decisions on a threshold may leave a box in one run only."""
import numpy as np

from posetrack.models.detection_parity import DecisionRule, Detections, compare_detections

RULE = DecisionRule(score_thresh=0.05, nms_iou=0.5, max_detections=4)


def dets(rows):
    """rows: (x1, y1, x2, y2, label, score)."""
    a = np.array(rows, np.float64).reshape(-1, 6)
    return Detections(a[:, :4].astype(np.float32), a[:, 4].astype(np.int64), a[:, 5].astype(np.float32))


def test_the_same_boxes_pair_up_and_their_error_is_measured():
    want = dets([(0, 0, 10, 10, 1, 0.9), (50, 50, 80, 90, 1, 0.7)])
    got = dets([(50, 50, 80, 90.002, 1, 0.7), (0.001, 0, 10, 10, 1, 0.9)])    # other order, tiny shifts
    result = compare_detections(want, got, RULE)
    assert (result.compared, result.tipped, result.unexplained) == (2, 0, ())
    assert abs(result.max_abs_error - 0.002) < 1e-4


def test_a_box_on_the_score_threshold_may_be_in_one_run_only():
    want = dets([(0, 0, 10, 10, 1, 0.9), (50, 50, 80, 90, 1, 0.0502)])
    got = dets([(0, 0, 10, 10, 1, 0.9)])
    result = compare_detections(want, got, RULE)
    assert (result.compared, result.tipped, result.unexplained) == (1, 1, ())


def test_tied_overlapping_boxes_may_survive_nms_in_either_run():
    # two boxes with one score overlapping by IoU 0.6: each runtime's sort decides which NMS keeps
    a, b = (0, 0, 10, 10, 1, 0.6148), (2.5, 0, 12.5, 10, 1, 0.6148)
    result = compare_detections(dets([a]), dets([b]), RULE)
    assert (result.compared, result.tipped, result.unexplained) == (0, 2, ())


def test_a_clearly_scored_box_missing_from_one_run_is_a_real_difference():
    want = dets([(0, 0, 10, 10, 1, 0.9), (50, 50, 80, 90, 1, 0.7)])
    got = dets([(0, 0, 10, 10, 1, 0.9)])
    assert compare_detections(want, got, RULE).unexplained == ((0, 1),)
    # an overlapping box of higher score does not excuse it when the overlap is far below the NMS IoU
    far = dets([(0, 0, 10, 10, 1, 0.9), (70, 50, 100, 90, 1, 0.95)])     # IoU 0.2
    assert compare_detections(want, far, RULE).unexplained == ((0, 1), (1, 1))


def test_another_label_or_a_lower_score_does_not_explain_a_missing_box():
    want = dets([(0, 0, 10, 10, 1, 0.9)])
    assert compare_detections(want, dets([(0, 0, 10, 10, 2, 0.95)]), RULE).unexplained == ((0, 0), (1, 0))
    # the lower-scored box may be one the reference's box suppressed, but nothing excuses the reference's loss
    assert compare_detections(want, dets([(2.5, 0, 12.5, 10, 1, 0.5)]), RULE).unexplained == ((0, 0),)


def test_at_the_detection_cap_the_lowest_kept_score_is_a_threshold():
    kept = [(i * 20, 0, i * 20 + 10, 10, 1, 0.9 - i * 0.1) for i in range(4)]      # 0.9 ... 0.6: the cap
    want = dets(kept[:3] + [(200, 0, 210, 10, 1, 0.6)])                            # a tie at the cap
    result = compare_detections(want, dets(kept), RULE)
    assert (result.compared, result.tipped, result.unexplained) == (3, 2, ())


def test_a_moved_box_is_measured_not_dropped():
    want = dets([(0, 0, 100, 100, 1, 0.9)])
    got = dets([(0, 0, 100, 103, 1, 0.9)])                     # IoU 0.97: the same detection, 3 px off
    result = compare_detections(want, got, RULE)
    assert result.compared == 1 and abs(result.max_abs_error - 3.0) < 1e-4
