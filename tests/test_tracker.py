"""FlowTrack tracker on scripted poses: crossings, occlusion, leaving/entering, empty frames,
detector misses recovered by propagated boxes, ids per tracker, matching and motion options."""
import numpy as np
import pytest

from posetrack.config import ConfigError
from posetrack.keypoints import COCO
from posetrack.boxes import box_iou
from posetrack.tracking.propagation import joint_boxes, propose_boxes, unify_boxes
from posetrack.types import Detections, FrameResult, Poses
from posetrack.tracking.tracker import PoseTracker, TrackerConfig, load_tracking_config
from helpers.poses import H, W, body_flow, crossing, ids, joints, people, uniform_flow


def run(tracker, frames, flows=None):
    """Track a list of Poses; flows[k] is the flow into frame k (None: no flow)."""
    flows = flows or [None] * len(frames)
    return [tracker.update(k, p, f) for k, (p, f) in enumerate(zip(frames, flows))]


# ---------------------------------------------------------------- scenarios

def test_a_still_person_keeps_id_zero():
    results = run(PoseTracker(COCO), [people((100, 300))] * 5)
    assert [ids(r) for r in results] == [[0]] * 5


@pytest.mark.parametrize("speed", [6.0, 10.0, 15.0])
def test_two_people_crossing_keep_their_ids(speed):
    frames, flows = crossing(speed)
    assert max(box_iou(f.boxes[:1], f.boxes[1:])[0, 0] for f in frames) > 0.4          # they do overlap
    assert max(int((f.keypoint_scores[0] < 0.4).sum()) for f in frames) >= 10          # and A is half hidden
    results = run(PoseTracker(COCO), frames, flows)
    assert all(ids(r) == [0, 1] for r in results)


def test_the_crossing_needs_flow():
    """Without motion, A's hidden legs leave too few joints near its last pose: A loses its id."""
    frames, _ = crossing(10.0)
    results = run(PoseTracker(COCO, TrackerConfig(motion="none")), frames)
    assert any(ids(r) != [0, 1] for r in results)


@pytest.mark.parametrize("queue, same_id", [(5, True), (3, False)])
def test_occlusion_is_bridged_by_the_queue(queue, same_id):
    """Seen in frames 0-4, hidden in 5-8, back in 9 where the flow carried its queued poses."""
    v = 6.0
    frames = [people((100 + v * k, 300.0)) if not 5 <= k <= 8 else Poses.empty(17) for k in range(12)]
    flows = [None] + [uniform_flow(v)] * 11
    results = run(PoseTracker(COCO, TrackerConfig(queue=queue)), frames, flows)
    assert [ids(r) for r in results[:5]] == [[0]] * 5
    assert all(len(r) == 0 for r in results[5:9])
    assert ids(results[9]) == ([0] if same_id else [1])
    assert ids(results[11]) == ids(results[9])


def test_a_person_leaving_and_another_entering_gets_a_new_id():
    t = PoseTracker(COCO)
    frames = [people((100, 300), (500, 300))] * 4 + [people((100, 300))] * 8 + [people((100, 300), (500, 300))] * 2
    results = run(t, frames)
    assert ids(results[3]) == [0, 1]
    assert ids(results[4]) == [0]
    # The second person is back where person 1 left, but after more than Q frames: a new person.
    assert ids(results[12]) == [0, 2] and ids(results[13]) == [0, 2]


def test_a_newcomer_far_from_a_recently_lost_track_gets_a_new_id():
    frames = [people((100, 300))] * 3 + [people((500, 300))] * 2
    results = run(PoseTracker(COCO), frames)
    assert ids(results[3]) == [1] and ids(results[4]) == [1]


def test_an_empty_frame_changes_nothing():
    frames = [people((100, 300), (400, 300))] * 2 + [Poses.empty(17)] + [people((100, 300), (400, 300))] * 2
    results = run(PoseTracker(COCO), frames)
    assert results[2].track_ids.shape == (0,) and results[2].frame == 2 and len(results[2].poses) == 0
    assert [ids(r) for r in results if len(r)] == [[0, 1]] * 4


def test_a_detector_miss_is_recovered_by_a_propagated_box():
    """Frame 3's detector misses A; A's frame-2 pose moved by the flow gives a box that survives
    NMS next to B's detection, and the pose estimated in it keeps A's id."""
    v = 8.0
    truth = [people((100 + v * k, 300.0), (400.0, 300.0)) for k in range(5)]
    t = PoseTracker(COCO)
    flows = [None] + [body_flow(truth[k - 1], [(v, 0), (0, 0)]) for k in range(1, 5)]
    for k in range(3):
        assert ids(t.update(k, truth[k], flows[k])) == [0, 1]
    t.propagate(flows[3])
    proposals = t.propose_boxes()
    assert len(proposals) == 2
    # What FlowTrack proposes: the moved joints' box, 15% larger (7.5% a side).
    boxes, _ = joint_boxes(truth[3].keypoints, truth[3].keypoint_scores, 0.4, 0.15)
    np.testing.assert_allclose(proposals.boxes, boxes, atol=1e-3)
    np.testing.assert_allclose(proposals.scores, 0.9 * 0.9, atol=1e-6)   # box score x mean joint score
    detections = Detections(truth[3].boxes[1:], [0.95])                   # only B is detected
    kept = unify_boxes(detections, proposals, iou=t.config.nms_iou, min_score=t.config.box_score)
    unified = Detections.concat([detections, proposals]).select(kept)
    assert len(unified) == 2
    np.testing.assert_array_equal(unified.boxes[0], detections.boxes[0])  # the detection wins its overlap
    assert box_iou(unified.boxes[1:], truth[3].boxes[:1])[0, 0] > 0.6      # A's recovered box
    # The pipeline estimates poses in the unified boxes; here we hand back the true poses.
    recovered = Poses(unified.boxes, unified.scores, truth[3].keypoints[[1, 0]], truth[3].keypoint_scores[[1, 0]])
    assert ids(t.update(3, recovered)) == [1, 0]


def test_propose_boxes_of_moved_poses():
    from posetrack.tracking.flow import propagate_points

    p = people((100, 300), (400, 300))
    p = Poses(p.boxes, p.box_scores, p.keypoints, np.where(np.arange(17) < 16, 0.9, 0.1)[None].repeat(2, 0))
    moved_kp = propagate_points(uniform_flow(5.0, -2.0), p.keypoints)
    proposals, source = propose_boxes(moved_kp, p.keypoint_scores, p.box_scores, joint_score=0.4, expand=0.15)
    want, _ = joint_boxes(p.keypoints[:, :16] + [5.0, -2.0], p.keypoint_scores[:, :16], 0.4, 0.15)
    np.testing.assert_allclose(proposals.boxes, want, atol=1e-4)
    assert source.tolist() == [0, 1]


def test_proposals_are_clipped_to_the_frame_and_scored_in_0_1():
    """Heatmap maxima above 1 (a bad model) must not compound along a chain of proposals."""
    kp = np.array([joints(620, 380, 200), joints(-300, 200)])                   # one half out, one wholly out
    scores = np.full((2, 17), 3.5)
    proposals, source = propose_boxes(kp, scores, np.array([7.0, 0.9]), 0.4, 0.15, frame_size=(W, H))
    assert source.tolist() == [0]                                              # nothing left of the second
    b = proposals.boxes[0]
    assert 0 <= b[0] < b[2] <= W and 0 <= b[1] < b[3] <= H and b[2] == W and b[3] == H
    assert proposals.scores.tolist() == [1.0]


def test_unify_boxes_drops_low_scores_and_keeps_lone_proposals():
    dets = Detections(np.array([[0, 0, 10, 10], [100, 100, 110, 110]]), [0.9, 0.3])
    props = Detections(np.array([[1, 0, 11, 10], [100, 100, 110, 110], [50, 50, 60, 60]]), [0.99, 0.7, 0.6])
    kept = unify_boxes(dets, props, iou=0.5, min_score=0.5)
    assert kept.tolist() == [0, 3, 4]            # detection 0, proposals 1 and 2 (offset by 2 detections)
    out = Detections.concat([dets, props]).select(kept)
    assert out.boxes.tolist() == [[0, 0, 10, 10], [100, 100, 110, 110], [50, 50, 60, 60]]
    assert out.scores.tolist() == pytest.approx([0.9, 0.7, 0.6])
    assert len(unify_boxes(Detections.empty(), Detections.empty(), iou=0.5)) == 0


def test_low_score_poses_are_not_tracked():
    p = people((100, 300), (400, 300))
    weak_box = Poses(p.boxes, [0.9, 0.3], p.keypoints, p.keypoint_scores)
    weak_joints = Poses(p.boxes, [0.9, 0.9], p.keypoints, np.r_[p.keypoint_scores[:1], np.full((1, 17), 0.2)])
    for poses in (weak_box, weak_joints):
        result = PoseTracker(COCO).update(0, poses)
        assert ids(result) == [0]
        np.testing.assert_array_equal(result.poses.keypoints, p.keypoints[:1])


def test_reset_restarts_ids_and_trackers_do_not_share_them():
    a, b = PoseTracker(COCO), PoseTracker(COCO)
    run(a, [people((100, 300), (300, 300), (500, 300))])
    assert ids(b.update(0, people((100, 300)))) == [0]                 # b's counter is its own
    a.reset()
    assert len(a.active_ids) == 0
    assert ids(a.update(0, people((500, 300)))) == [0]


def test_hungarian_and_greedy_differ_where_greedy_is_short_sighted():
    """Tracks at x=0 and x=D; pose P0 lies just right of track 0, P1 left of it, out of reach of
    track 1. Greedy gives track 0 to P0 and nothing to P1; Hungarian pairs both."""
    d = 17.0
    base = people((300, 300), (300 + d, 300))
    results = {}
    for method in ("greedy", "hungarian"):
        t = PoseTracker(COCO, TrackerConfig(matching=method, motion="none"))
        t.update(0, base)
        now = people((300 + 6, 300), (300 - 8, 300))
        sim = t.similarity(now)
        assert sim[0, 0] > sim[1, 0] > sim[0, 1] >= 0.3 > sim[1, 1]   # the shape that separates them
        results[method] = ids(t.update(1, now))
    assert results["greedy"] == [0, 2]
    assert results["hungarian"] == [1, 0]


def test_kalman_motion_predicts_through_a_gap_without_flow():
    """8 px/frame is slow enough to match frame to frame without motion, but not across a
    2-frame gap (24 px: OKS 0.06); the Kalman filter's velocity bridges it."""
    v = 8.0
    frames = [people((100 + v * k, 300.0)) if k not in (4, 5) else Poses.empty(17) for k in range(9)]
    kalman = run(PoseTracker(COCO, TrackerConfig(motion="kalman")), frames)
    assert [ids(r) for r in kalman if len(r)] == [[0]] * 7
    still = run(PoseTracker(COCO, TrackerConfig(motion="none")), frames)
    assert [ids(r) for r in still[:4]] == [[0]] * 4 and ids(still[6]) == [1]


def test_similarity_is_the_best_over_the_queue():
    t = PoseTracker(COCO, TrackerConfig(motion="none", queue=3))
    t.update(0, people((100, 300)))
    assert ids(t.update(1, people((108, 300)))) == [0]
    sim_now = t.similarity(people((100, 300)))
    assert sim_now.shape == (1, 1) and sim_now[0, 0] == pytest.approx(1.0)   # frame 0's pose still counts
    assert t.similarity(Poses.empty(17)).shape == (0, 1)


def test_seed_continues_ids_after_a_resume():
    first = run(PoseTracker(COCO), [people((100, 300), (400, 300))] * 3)
    first.append(FrameResult(3, Poses.empty(17)))          # an empty frame read back from a file has no ids
    t = PoseTracker(COCO)
    t.seed(first)
    assert ids(t.update(4, people((100, 300), (400, 300), (250, 300)))) == [0, 1, 2]
    with pytest.raises(ValueError, match="frame 0: seed"):
        t.seed([FrameResult(0, people((100, 300)))])


def test_call_order_is_checked():
    t = PoseTracker(COCO)
    t.update(3, people((100, 300)))
    with pytest.raises(ValueError, match="increasing order"):
        t.update(3, people((100, 300)))
    t.propagate(None)
    with pytest.raises(RuntimeError, match="already called"):
        t.propagate(None)
    with pytest.raises(ValueError, match="keypoints"):
        t.update(4, Poses.empty(15))


def test_shipped_presets_load_and_bad_values_are_named():
    from dataclasses import replace

    from posetrack.tracking.config import default_preset, preset_names

    assert preset_names() == ("flowtrack", "robust") and default_preset() == "robust"
    flowtrack, flow_cfg = load_tracking_config("tracker", preset="flowtrack")
    # The flowtrack preset is the paper, which is what TrackerConfig's defaults are (refine off).
    assert replace(flowtrack, preset=None, refine=TrackerConfig().refine) == TrackerConfig()
    assert not flowtrack.refine.enabled and flow_cfg.method == "dis"
    robust = load_tracking_config()[0]
    assert robust.preset == "robust" and robust.max_lost is not None and robust.refine.enabled
    with pytest.raises(ConfigError, match="unknown tracker preset 'bytetrack'; choose one of: flowtrack, robust"):
        load_tracking_config(preset="bytetrack")
    with pytest.raises(ValueError, match="greedy, hungarian"):
        TrackerConfig(matching="auction")
    with pytest.raises(ValueError, match="flow, kalman, none"):
        TrackerConfig(motion="particles")
    with pytest.raises(ValueError, match="start_score"):
        TrackerConfig(box_score=0.5, start_score=0.3)


def test_a_setting_written_twice_in_a_config_is_refused_not_half_ignored(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text("tracker:\n  refine: {relink_margin: null}\n  refine: {smooth: true}\n")
    with pytest.raises(ConfigError, match="found the key 'refine' twice"):
        load_tracking_config(str(path))
    path.write_text("tracker:\n  refine: {relink_margin: null, smooth: true}\n")
    config, _ = load_tracking_config(str(path))
    assert config.refine.relink_margin is None and config.refine.smooth


def test_unknown_config_key_suggests_the_right_one(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("tracker:\n  min_similarty: 0.2\n")
    with pytest.raises(ConfigError, match="did you mean 'min_similarity'"):
        load_tracking_config(str(path))
    path.write_text("trackr:\n  queue: 2\n")
    with pytest.raises(ConfigError, match="did you mean 'tracker'"):
        load_tracking_config(str(path))
    path.write_text("tracker:\n  refine: {interpolate_gapp: 2}\n")
    with pytest.raises(ConfigError, match="did you mean 'interpolate_gap'"):
        load_tracking_config(str(path))
    path.write_text("flow:\n  method: dis\n")                   # no tracker section: the shipped default preset
    assert load_tracking_config(str(path))[0] == load_tracking_config()[0]


def test_a_setting_written_one_section_too_high_is_sent_to_its_section(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("tracker:\n  ambiguous_iou: null\n")               # belongs under tracker.refine
    with pytest.raises(ConfigError, match=r"mine.yaml: tracker.ambiguous_iou: unknown setting; it belongs in the "
                                          r"'refine' section: tracker.refine.ambiguous_iou"):
        load_tracking_config(str(path))


def test_a_user_file_picks_a_preset_overrides_it_and_adds_presets(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("preset: flowtrack\ntracker:\n  queue: 3\n  refine: {enabled: true}\n"
                    "presets:\n  mine: {queue: 7}\n")
    cfg = load_tracking_config(str(path))[0]
    assert (cfg.preset, cfg.queue, cfg.refine.enabled, cfg.max_lost) == ("flowtrack", 3, True, None)
    assert cfg.refine.interpolate_gap == load_tracking_config(preset="flowtrack")[0].refine.interpolate_gap
    assert load_tracking_config(str(path), preset="mine")[0].queue == 3          # tracker: overrides any preset
    assert load_tracking_config(str(path), preset="robust")[0].max_lost == load_tracking_config()[0].max_lost


def test_box_iou_and_nms_match_naive_loops():
    from posetrack.boxes import nms

    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 50, (9, 2))
    boxes = np.c_[xy, xy + rng.uniform(0, 30, (9, 2))]
    boxes[0, 2] = boxes[0, 0]                                          # a zero-area box

    def iou(a, b):
        iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - iw * ih
        return iw * ih / union if union > 0 else 0.0

    want = np.array([[iou(a, b) for b in boxes] for a in boxes])
    np.testing.assert_allclose(box_iou(boxes, boxes), want, atol=1e-12)
    kept = []
    for i in range(len(boxes)):
        if all(want[i, j] <= 0.2 for j in kept):
            kept.append(i)
    assert nms(boxes, 0.2).tolist() == kept


@pytest.mark.parametrize("motion", ["flow", "kalman", "none"])
def test_state_dict_through_json_resumes_bit_for_bit(motion):
    """A tracker restored from a JSON round trip of state_dict() continues exactly as the original."""
    import json

    frames, flows = crossing(10.0, n=20)
    flows = flows if motion == "flow" else [None] * len(flows)
    original = PoseTracker(COCO, TrackerConfig(motion=motion))
    whole = [original.update(k, f, flows[k]) for k, f in enumerate(frames)]
    first = PoseTracker(COCO, TrackerConfig(motion=motion))
    for k in range(9):
        first.update(k, frames[k], flows[k])
    state = json.loads(json.dumps(first.state_dict()))
    resumed = PoseTracker(COCO, TrackerConfig(motion=motion))
    resumed.load_state_dict(state)
    for k in range(9, len(frames)):
        r = resumed.update(k, frames[k], flows[k])
        np.testing.assert_array_equal(r.track_ids, whole[k].track_ids)
        np.testing.assert_array_equal(r.poses.keypoints, whole[k].poses.keypoints)
    assert json.dumps(resumed.state_dict()) == json.dumps(original.state_dict())


def test_a_config_with_a_lone_surrogate_escape_is_refused_naming_the_file(tmp_path):
    """YAML's "\\ud800" escape decodes to a lone surrogate, which no encoder accepts (found by fuzzing)."""
    path = tmp_path / "mine.yaml"
    path.write_text('presets: "\\ud800"\n')
    with pytest.raises(ConfigError, match="mine.yaml.*not valid Unicode"):
        load_tracking_config(str(path))


def test_an_empty_preset_name_is_refused_not_taken_as_the_default():
    with pytest.raises(ConfigError, match="empty tracker preset name; choose one of: flowtrack, robust"):
        load_tracking_config(preset="")
