"""The run pipeline against a strictly sequential FlowTrack loop, on a simulated world.

The estimator here depends only on (image, box), as HRNet does up to float rounding, so
the batched pipeline (foreseen recovered boxes, flow on a thread, detector on every N-th
frame) must give exactly what the plain per-frame loop gives: same ids, same floats.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from posetrack.errors import ConfigError
from posetrack.keypoints import COCO
from posetrack.pipeline.frames import Pipeline
from posetrack.tracking.propagation import propose_boxes, unify_boxes
from posetrack.pipeline.recovered import carry_scores
from posetrack.types import Detections, Frame, Poses
from posetrack.tracking.tracker import PoseTracker, TrackerConfig, load_tracking_config
from helpers.runpath import SH, SW, Person, Scene, SimEstimator


def walkers(frames: int = 40, seed: int = 0) -> Scene:
    """Four people, two crossing; the detector misses people for one to three frames in a row."""
    return Scene([Person(0, 40, 120, 3.0, 80, missed=(3, 4, 5, 17, 30)),
                  Person(0, 280, 130, -2.5, 90, missed=(8, 21, 22)),
                  Person(0, 150, 170, 0.5, 110, missed=(11, 25)),
                  Person(6, 10, 110, 4.0, 70, missed=(12, 13, 14, 15))], frames, seed=seed, false_positives=0.3)


def frames_of(scene: Scene):
    return [Frame(k, img, time=k / 25) for k, img in enumerate(scene.frame_images())]


def batches(frames, size):
    return [frames[i:i + size] for i in range(0, len(frames), size)]


def tracker_of(preset: str) -> PoseTracker:
    """FlowTrack, or the robust preset without the cues that read pixels (the scene's "images" are frame
    numbers): camera motion, scene cuts and colours."""
    if preset == "flowtrack":
        return PoseTracker(COCO, TrackerConfig())
    from posetrack.tracking.cuts import CutConfig

    cfg = dataclasses.replace(load_tracking_config(preset=preset)[0], camera_motion=False, cuts=CutConfig(),
                              costs={"oks": 1.0})
    return PoseTracker(COCO, cfg, fps=25, frame_size=(SW, SH))


def run_pipeline(scene: Scene, frame_batch: int = 8, detect_every: int = 1, preset: str = "flowtrack", **kwargs):
    estimator = SimEstimator(scene)
    tracker = tracker_of(preset)
    cfg = tracker.config
    pipeline = Pipeline(estimator, scene.boxes, tracker=tracker, flow=scene.flow,
                        box_score=cfg.box_score, nms_iou=cfg.nms_iou, detect_every=detect_every, **kwargs)
    results = [r for _, r in pipeline.run(iter(batches(frames_of(scene), frame_batch)))]
    return results, estimator, pipeline


def sequential(scene: Scene, detect_every: int = 1, preset: str = "flowtrack"):
    """FlowTrack written out frame by frame: flow, propagate, propose, unify, estimate, track."""
    estimator = SimEstimator(scene)
    tracker = tracker_of(preset)
    cfg = tracker.config
    images = scene.frame_images()
    out = []
    estimator.recovered = 0
    for k in range(scene.frames):
        flow = scene.flow(images[k - 1], images[k]) if k else None
        tracker.propagate(flow, k, images[k - 1] if flow is not None else None)
        proposals = tracker.propose_boxes() if flow is not None else Detections.empty()
        if k % detect_every:    # no detector run: the people keep their last box scores
            q = tracker.queue
            proposals = carry_scores(proposals, q.select(q.frames == q.frames.max()), cfg.joint_score, cfg.box_expand)
        dets = Detections(*scene.detections[k]) if k % detect_every == 0 else Detections.empty()
        dets = dets.select(dets.scores >= cfg.box_score)
        kept = unify_boxes(dets, proposals, cfg.nms_iou, cfg.box_score)
        kept = np.r_[np.sort(kept[kept < len(dets)]), kept[kept >= len(dets)]]     # detections in their own order
        estimator.recovered += int((kept >= len(dets)).sum())
        boxes = Detections.concat([dets, proposals]).select(kept)
        detected = (kept < len(dets)) if k % detect_every == 0 else None
        out.append(tracker.update(k, estimator.estimate_batch([images[k]], [boxes])[0], detected=detected))
    return out, estimator


def assert_same(got, want):
    assert [r.frame for r in got] == [r.frame for r in want]
    for a, b in zip(got, want):
        assert a.track_ids.tolist() == b.track_ids.tolist(), f"frame {a.frame}"
        for name in ("boxes", "box_scores", "keypoints", "keypoint_scores"):
            np.testing.assert_array_equal(getattr(a.poses, name), getattr(b.poses, name), err_msg=f"{name} {a.frame}")


@pytest.mark.parametrize("preset", ["flowtrack", "robust"])
@pytest.mark.parametrize("detect_every", [1, 2, 4])
def test_batched_pipeline_equals_the_sequential_loop_with_fewer_calls(detect_every, preset):
    scene = walkers()
    want, plain = sequential(scene, detect_every, preset)
    got, estimator, pipeline = run_pipeline(scene, detect_every=detect_every, preset=preset)
    assert_same(got, want)
    assert plain.recovered >= 5              # the scene makes the tracker recover people
    assert estimator.calls == pipeline.times.pose_calls
    # The plain loop makes one call per frame. Batched, a frame batch costs one call plus one per
    # link of its longest chain of recovered boxes (a box at frame k needs the pose at k - 1):
    # measured 10, 18 and 28 calls for 40 frames at N = 1, 2, 4 (flowtrack), 10, 21, 31 (robust).
    assert estimator.calls <= {1: 0.3, 2: 0.55, 4: 0.8}[detect_every] * plain.calls, (estimator.calls, plain.calls)


def test_every_variant_of_the_pipeline_gives_the_same_result():
    scene = walkers(seed=3)
    reference, calls = None, {}
    for speculate in (True, False):
        for overlap in (True, False):
            for frame_batch in (1, 3, 8):
                got, estimator, _ = run_pipeline(scene, frame_batch=frame_batch, speculate=speculate, overlap=overlap)
                reference = reference or got
                assert_same(got, reference)
                calls[speculate, frame_batch] = estimator.calls
    # Without foresight every frame with a recovered box costs a call of its own; with it, a
    # batch of one frame has its recovered boxes estimated with its detections.
    assert calls[True, 8] < calls[False, 8]
    assert calls[True, 1] == scene.frames < calls[False, 1]


def test_frame_times_are_kept():
    got, _, _ = run_pipeline(walkers(frames=10))
    assert [r.time for r in got] == [k / 25 for k in range(10)]


def test_detect_every_keeps_ids_through_frames_without_detections():
    scene = Scene([Person(0, 40, 120, 3.0, 80), Person(0, 280, 130, -2.0, 90)], 24)
    got, _, _ = run_pipeline(scene, detect_every=4)
    ids = {0: set(), 1: set()}
    for k, r in enumerate(got):
        assert len(r) == 2, f"frame {k}"          # both people, on detection frames and between them
        for p in (0, 1):
            ids[p].add(int(r.track_ids[np.argmin(np.abs(r.poses.keypoints[:, 0, 0] - scene.keypoints[k][p][0, 0]))]))
    assert len(ids[0]) == 1 and len(ids[1]) == 1 and ids[0] != ids[1]


def test_detect_every_finds_a_person_who_enters_at_the_next_detection_frame():
    newcomer = Person(5, 150, 160, 1.0, 100)      # enters at frame 5; detection frames are 0, 3, 6, 9, ...
    scene = Scene([Person(0, 40, 120, 3.0, 80), newcomer], 15)
    got, _, _ = run_pipeline(scene, frame_batch=4, detect_every=3)
    counts = [len(r) for r in got]
    assert counts[:6] == [1] * 6                   # frames 0-5: the newcomer is not detected yet
    assert counts[6:] == [2] * 9                   # found at frame 6 and carried from then on
    new_ids = [set(r.track_ids.tolist()) - set(got[0].track_ids.tolist()) for r in got[6:]]
    assert all(ids == new_ids[0] and len(ids) == 1 for ids in new_ids)


def test_detect_every_needs_tracking_and_flow():
    scene = walkers(frames=4)
    with pytest.raises(ConfigError, match="detect_every"):
        Pipeline(SimEstimator(scene), scene.boxes, tracker=None, flow=scene.flow, detect_every=2)
    with pytest.raises(ConfigError, match="detect_every"):
        Pipeline(SimEstimator(scene), scene.boxes, tracker=PoseTracker(COCO), flow=None, detect_every=2)
    with pytest.raises(ConfigError, match="at least 1"):
        Pipeline(SimEstimator(scene), scene.boxes, detect_every=0)


def test_a_resumed_pipeline_continues_exactly_from_any_batch_start():
    scene = walkers(frames=24, seed=5)
    frames = frames_of(scene)
    states = {}
    estimator = SimEstimator(scene)
    cfg = TrackerConfig()
    whole = Pipeline(estimator, scene.boxes, tracker=PoseTracker(COCO, cfg), flow=scene.flow, nms_iou=cfg.nms_iou,
                     detect_every=2)
    want = [r for _, r in whole.run(iter(batches(frames, 6)), on_batch=lambda p, i, s: states.update({p: s}))]
    assert sorted(states) == [0, 6, 12, 18]
    for start in (6, 12, 18):
        again = Pipeline(SimEstimator(scene), scene.boxes, tracker=PoseTracker(COCO, cfg), flow=scene.flow,
                         nms_iou=cfg.nms_iou, detect_every=2)
        again.load_tracker_state(states[start])
        again.seed_image(frames[start - 1].image)
        got = [r for _, r in again.run(iter(batches(frames[start:], 6)), position=start)]
        assert_same(got, want[start:])


def test_an_error_in_decoding_comes_after_the_finished_batch():
    scene = walkers(frames=8)
    frames = frames_of(scene)

    def source():
        yield frames[:4]
        raise RuntimeError("decoder broke")

    pipeline = Pipeline(SimEstimator(scene), scene.boxes, tracker=PoseTracker(COCO), flow=scene.flow)
    seen = []
    with pytest.raises(RuntimeError, match="decoder broke"):
        for _, r in pipeline.run(source()):
            seen.append(r.frame)
    assert seen == [0, 1, 2, 3]


def test_untracked_pipeline_estimates_every_detection_in_one_call_per_batch():
    scene = walkers(frames=16)
    estimator = SimEstimator(scene)
    pipeline = Pipeline(estimator, scene.boxes, tracker=None, flow=scene.flow)
    got = [r for _, r in pipeline.run(iter(batches(frames_of(scene), 8)))]
    assert estimator.calls == 2
    assert [len(r) for r in got] == [int((scene.detections[k][1] >= 0.5).sum()) for k in range(16)]
    assert all(r.track_ids is None for r in got)


def test_the_tracker_is_told_which_poses_a_detector_box_supports():
    """A tracker whose update() takes ``detected`` gets the mask on detection frames and None between them."""
    class Recording(PoseTracker):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.seen = []            # per instance: the pipeline's foresight runs copies of the tracker

        def update(self, frame, poses, flow=None, detected=None, image=None, appearance=None):
            self.seen.append((frame, None if detected is None else detected.tolist(), len(poses)))
            return super().update(frame, poses, flow)

    scene = Scene([Person(0, 40, 120, 3.0, 80, missed=(2,)), Person(0, 280, 130, -2.0, 90)], 8)
    cfg = TrackerConfig()
    pipeline = Pipeline(SimEstimator(scene), scene.boxes, tracker=Recording(COCO, cfg), flow=scene.flow,
                        nms_iou=cfg.nms_iou, detect_every=2)
    list(pipeline.run(iter(batches(frames_of(scene), 4))))
    seen = pipeline.tracker.seen
    assert [frame for frame, _, _ in seen] == list(range(8))
    assert [d is None for _, d, _ in seen] == [k % 2 == 1 for k in range(8)]
    assert seen[0][1] == [True, True]
    assert seen[2][1] == [True, False]            # frame 2: person 0 missed by the detector, recovered


def test_carried_scores_follow_their_source_even_through_clipped_boxes():
    scene = walkers(frames=2)
    kp = np.stack([scene.keypoints[0][p] for p in (0, 1)]).astype(np.float32)
    sources = Poses(np.zeros((2, 4)), np.array([0.9, 0.6]), kp, np.full((2, 17), 0.8))
    exact, _ = propose_boxes(sources.keypoints, sources.keypoint_scores, sources.box_scores, 0.4, 0.15)
    faded = Detections(exact.boxes, exact.scores)
    assert np.allclose(faded.scores, [0.72, 0.48])                   # FlowTrack: box score x mean joint score
    assert carry_scores(faded, sources, 0.4, 0.15).scores.tolist() == pytest.approx([0.9, 0.6])
    cut = exact.boxes.copy()
    cut[:, 2] -= 0.2 * (cut[:, 2] - cut[:, 0])                        # a tracker that clips boxes at the frame edge
    assert carry_scores(Detections(cut, exact.scores), sources, 0.4, 0.15).scores.tolist() == pytest.approx([0.9, 0.6])
    nobody = Detections(np.array([[300, 0, 310, 10]], np.float32), np.array([0.3]))
    assert carry_scores(nobody, sources, 0.4, 0.15).scores.tolist() == pytest.approx([0.3])
