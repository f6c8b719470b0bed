"""RunOptions as four typed parts, the half switch, the versioned resume identity, errors that carry their fields."""
import dataclasses
import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest

import posetrack
from posetrack.errors import ConfigError, ResumeError
from posetrack.keypoints import get_layout
from posetrack.pipeline.options import (HALF, KEYWORDS, RESUME_IDENTITY_VERSION, FrameRange, ModelOptions,
                                        ResumeIdentity, RunOptions, RuntimeOptions, TrackingOptions)
from posetrack.tracksfile.codec import TrackFile, TracksHeader
from posetrack.tracksfile.resume import ResumePlan, check_head
from posetrack.types import FrameResult, Poses, VideoInfo


def test_flat_keywords_land_in_their_part():
    opts = RunOptions(pose_model="hrnet_tiny_128x96", matching="hungarian", stride=3, frame_batch=4)
    assert opts.models == ModelOptions(pose_model="hrnet_tiny_128x96")
    assert opts.tracking == TrackingOptions(matching="hungarian")
    assert opts.frames == FrameRange(stride=3)
    assert opts.runtime == RuntimeOptions(frame_batch=4)
    assert (opts.stride, opts.matching, opts.frame_batch) == (3, "hungarian", 4)     # flat reads
    assert set(KEYWORDS) | {"half"} == set(RunOptions.keywords())
    assert RunOptions(**opts.flat()) == opts
    again = dataclasses.replace(opts, frame_batch=8)            # flat keywords through dataclasses.replace
    assert again.runtime.frame_batch == 8 and again.frames.stride == 3
    assert pickle.loads(pickle.dumps(opts)) == opts             # engines send options to worker processes
    with pytest.raises(AttributeError):
        opts.no_such_option


def test_parts_are_checked_and_errors_name_their_field():
    with pytest.raises(ConfigError, match=r"RunOptions\.stride: expected an integer from 1") as err:
        RunOptions(frames=FrameRange(stride=0))
    assert err.value.field == "stride"
    with pytest.raises(ConfigError) as err:
        RunOptions(start=5, end=3)
    assert err.value.fields == ("end", "start")
    with pytest.raises(ConfigError) as err:
        RunOptions(tracker_mode="none", refine=True)
    assert err.value.fields == ("refine", "tracker_mode")
    with pytest.raises(ConfigError, match=r"unknown option 'strides'") as err:
        RunOptions(strides=2)
    with pytest.raises(ConfigError, match=r"RunOptions\.frames: expected a FrameRange"):
        RunOptions(frames=RuntimeOptions())


def test_half_is_a_precision():
    opts = RunOptions(half=True)
    assert opts.runtime.precision == HALF and opts.half
    assert RunOptions(half=True, precision="auto") == opts
    assert dataclasses.replace(opts, half=False).runtime.precision == "auto"
    assert dataclasses.replace(opts, stride=2).half                          # kept when other options change
    with pytest.raises(ConfigError, match="half is float16 on CUDA, and precision is 'bf16'") as err:
        RunOptions(half=True, precision="bf16")
    assert err.value.fields == ("half", "precision")
    runtime = opts.runtime
    assert (runtime.half_record("cuda"), runtime.half_record("cpu")) == (True, "ignored on cpu")
    assert RuntimeOptions(precision="fp16").half_record("cpu") is False
    assert runtime.precision_on("cuda:0") == "fp16" and runtime.precision_on("cpu") == "auto"
    assert RuntimeOptions(precision="fp16").precision_on("cpu") == "fp16"     # asked for by name: it runs


def test_the_resume_identity_lists_what_changes_the_numbers():
    opts = RunOptions(boxes_file="d.json", pose_weights="w.pth", stride=2)
    record = ResumeIdentity.of(opts, "cuda:1").to_dict()
    assert record["version"] == RESUME_IDENTITY_VERSION and record["device_type"] == "cuda"
    assert record["stride"] == 2 and record["frame_batch"] == 8
    for name in ("device", "overlap", "boxes_file", "pose_weights", "detector_weights", "tracker_config"):
        assert name not in record          # never changes a number, or a file compared by its contents
    assert ResumeIdentity.of(dataclasses.replace(opts, overlap=False, device="cuda:0"), "cuda:0").to_dict() == record
    assert ResumeIdentity.of(dataclasses.replace(opts, batch_size=8), "cuda:1").to_dict() != record


def _head(run: dict) -> dict:
    return {"layout": "coco", "settings": {"stride": 1}, "run": run, "inputs": {}}


def test_a_resume_compares_the_identity_and_refuses_an_unversioned_one():
    record = ResumeIdentity.of(RunOptions(frame_batch=2), "cpu").to_dict()
    plan = ResumePlan(journal=Path("t.json.journal"), head=_head(record))
    check_head(plan, _head(record))
    changed = ResumeIdentity.of(RunOptions(frame_batch=3), "cpu").to_dict()
    with pytest.raises(ResumeError, match=r"other settings \(frame_batch 2 -> 3\)"):
        check_head(plan, _head(changed))
    old = {k: v for k, v in record.items() if k != "version"}          # recorded before the identity had one
    with pytest.raises(ResumeError, match=r"t.json.journal: a journal from another posetrack \(its run options are "
                                          r"recorded with no version"):
        check_head(ResumePlan(journal=plan.journal, head=_head(old)), _head(record))


def test_render_draws_every_frame_of_the_run_that_made_the_tracks(tmp_path):
    """posetrack.render and `posetrack render` share one path: a stride-2 run's file is drawn on every 2nd frame."""
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(7):
        cv2.imwrite(str(folder / f"{i:03d}.png"), np.full((48, 64, 3), 20 * i, np.uint8))
    layout = get_layout("coco")
    kp = np.tile(np.array([[20.0, 20.0]], np.float32), (1, 17, 1))
    poses = Poses(np.array([[10, 10, 40, 40]], np.float32), np.array([0.9], np.float32), kp,
                  np.full((1, 17), 0.9, np.float32))
    frames = tuple(FrameResult(i, poses, np.array([0])) for i in range(0, 7, 2))
    header = TracksHeader(VideoInfo(str(folder), 25.0, 64, 48, 7), layout, {"stride": 2})
    summary = posetrack.render(folder, TrackFile(header, frames), tmp_path / "out", frames_dir=True)
    assert (summary.frames, summary.frames_with_people, summary.stride) == (4, 4, 2)
    assert len(list((tmp_path / "out").glob("frame_*.png"))) == 4
    one = posetrack.render(folder, TrackFile(header, frames), tmp_path / "all", frames_dir=True, stride=1)
    assert (one.frames, one.frames_with_people) == (7, 4)


def test_pipeline_thresholds_are_the_trackers():
    from posetrack.pipeline.frames import Pipeline
    from posetrack.tracking.tracker import PoseTracker, TrackerConfig

    class Estimator:
        layout = get_layout("coco")

    cfg = dataclasses.replace(TrackerConfig(), nms_iou=0.25, box_score=0.7)
    tracked = Pipeline(Estimator(), lambda frames: [], tracker=PoseTracker(Estimator.layout, cfg))
    assert (tracked.nms_iou, tracked.box_score) == (0.25, 0.7)
    untracked = Pipeline(Estimator(), lambda frames: [])
    assert (untracked.nms_iou, untracked.box_score) == (TrackerConfig().nms_iou, TrackerConfig().box_score)
