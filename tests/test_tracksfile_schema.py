"""One schema per artefact: the structs of posetrack.tracksfile.schema write and read the tracks file and journal."""
import json

import msgspec
import numpy as np

from posetrack.errors import FormatError
from posetrack.keypoints import get_layout
from posetrack.tracksfile.codec import frame_from_dict, frame_record, frame_to_dict
from posetrack.tracksfile.journal import Journal, journal_head, journal_path, read_journal
from posetrack.types import FrameResult, Poses, VideoInfo


def tiny_frame(k=2, time=0.5, interpolated=(False, True), ids=(4, 9)):
    boxes = np.array([[1.004, 2, 30, 40], [5, 6, 7.125, 8]], np.float32)
    kps = np.array([[[1.2345, 2.5]] * k, [[np.nan, 3.0]] * k], np.float32)
    scores = np.array([[0.123456] * k, [0.5] * k], np.float32)
    return FrameResult(frame=3, poses=Poses(boxes, np.array([0.98766, np.nan], np.float32), kps, scores),
                       track_ids=None if ids is None else np.array(ids), time=time, interpolated=interpolated)


def test_a_tracks_file_frame_is_rounded_and_writes_optional_fields_only_when_set():
    line = json.dumps(frame_to_dict(tiny_frame()))
    assert line == ('{"frame": 3, "time": 0.5, "people": ['
                    '{"track_id": 4, "bbox": [1.0, 2.0, 30.0, 40.0], "score": 0.9877, '
                    '"keypoints": [[1.23, 2.5, 0.1235], [1.23, 2.5, 0.1235]]}, '
                    '{"track_id": 9, "bbox": [5.0, 6.0, 7.12, 8.0], "score": null, '
                    '"keypoints": [[null, 3.0, 0.5], [null, 3.0, 0.5]], "interpolated": true}]}')
    bare = frame_to_dict(tiny_frame(time=None, interpolated=None, ids=None))
    assert "time" not in bare and all("interpolated" not in p and p["track_id"] is None for p in bare["people"])


def test_journal_frames_round_trip_bit_for_bit():
    rng = np.random.default_rng(0)
    n, k = 3, 17
    kps = (rng.standard_normal((n, k, 2)) * 10.0 ** rng.integers(-9, 5, (n, k, 2))).astype(np.float32)
    kps[1, 4] = np.nan
    scores = (rng.random((n, k)) * 10.0 ** rng.integers(-9, 1, (n, k))).astype(np.float32)
    boxes = (rng.random((n, 4)) * 1000).astype(np.float32)
    boxes[:, 2:] += boxes[:, :2]
    result = FrameResult(7, Poses(boxes, rng.random(n).astype(np.float32), kps, scores), track_ids=np.arange(n),
                         time=1 / 3, interpolated=[True, False, False])
    back = frame_from_dict(json.loads(json.dumps(msgspec.to_builtins(frame_record(result, exact=True)))), k)
    np.testing.assert_array_equal(back.poses.keypoints, kps)            # NaN where not located
    assert back.poses.keypoint_scores.tobytes() == scores.tobytes() and back.poses.boxes.tobytes() == boxes.tobytes()
    assert back.time == 1 / 3 and back.interpolated.tolist() == [True, False, False]
    assert back.track_ids.tolist() == [0, 1, 2]


def test_state_lines_carry_an_opaque_tracker_state_checked_by_the_caller(tmp_path):
    out = tmp_path / "tracks.json"
    video = VideoInfo("v.mp4", 25.0, 64, 48, 10)
    journal = Journal.create(out, journal_head(video, "coco", {"tracker": "robust"}, {}))
    journal.state(0, 0, {"anything": [1, 2]})
    journal.state(4, 4, {"anything": "refused"})
    journal.frame(FrameResult(0, Poses.empty(get_layout("coco").num_keypoints)))
    journal.close()
    lines = journal_path(out).read_text().splitlines()
    assert json.loads(lines[1]) == {"state": {"position": 0, "frame": 0, "tracker": {"anything": [1, 2]}}}
    assert sorted(read_journal(out).states) == [0, 4]

    def check(state, num_keypoints):
        assert num_keypoints == 17
        if state["anything"] == "refused":
            raise FormatError("tracker.anything: refused")

    checked = read_journal(out, check)
    assert sorted(checked.states) == [0] and checked.skipped == 1 and sorted(checked.frames) == [0]
