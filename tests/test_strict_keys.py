"""A misspelled key is an error naming it and the closest valid key, at every level of the tracks file and in
every entry of the boxes file (Hypothesis; issue 17: `peopel` once read as a frame without people).

Each example takes a valid file, picks a level and one of its keys, and misspells the key by one edit
(a letter deleted, doubled, replaced, swapped with its neighbour, or its case changed). Derandomized and
bounded for CI; POSETRACK_FUZZ_EXAMPLES / POSETRACK_FUZZ_RANDOM widen the hunt as in tests/test_fuzz.py.
"""
from __future__ import annotations

import json
import logging
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posetrack.errors import FormatError
from posetrack.keypoints import COCO
from posetrack.pose.detector import load_boxes
from posetrack.tracksfile.codec import TrackFile, TracksHeader, read_tracks, write_tracks
from posetrack.types import FrameResult, Poses, VideoInfo

_SCALE = int(os.environ.get("POSETRACK_FUZZ_EXAMPLES", "60")) / 60
KEYS = settings(max_examples=max(1, round(60 * _SCALE)), deadline=None,
                derandomize=not os.environ.get("POSETRACK_FUZZ_RANDOM"), database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

EDITS = ("delete", "double", "replace", "swap", "case")


@st.composite
def misspelled(draw, key: str, valid):
    """``key`` after one edit, never a valid key of its level."""
    edit = draw(st.sampled_from(EDITS))
    i = draw(st.integers(0, len(key) - 1))
    if edit == "delete":
        new = key[:i] + key[i + 1:]
    elif edit == "double":
        new = key[:i] + key[i] + key[i:]
    elif edit == "replace":
        new = key[:i] + draw(st.sampled_from("aeiouxz_")) + key[i + 1:]
    elif edit == "swap":
        i = min(i, len(key) - 2)
        new = key[:i] + key[i + 1] + key[i] + key[i + 2:]
    else:
        new = key[:i] + key[i].swapcase() + key[i + 1:]
    if not new or new in valid or new == key:
        new = key + "_x"
    return new


def _tracks_doc(tmp_path) -> dict:
    """A valid two-frame, two-person tracks file as Python objects (written by our writer)."""
    rng = np.random.default_rng(0)
    frames = []
    for f in range(2):
        kps = rng.uniform(10, 100, (2, 17, 2)).astype(np.float32)
        poses = Poses(np.array([[10, 10, 60, 120], [70, 20, 110, 130]], np.float32), np.array([0.9, 0.8], np.float32),
                      kps, np.full((2, 17), 0.7, np.float32))
        frames.append(FrameResult(frame=f, poses=poses, track_ids=np.array([0, 1]), time=f / 25,
                                  interpolated=np.array([False, True])))
    header = TracksHeader(video=VideoInfo("v.mp4", 25.0, 160, 140, 2), layout=COCO, settings={"start": 0})
    write_tracks(tmp_path / "ok.json", TrackFile(header=header, frames=tuple(frames), complete=True))
    return json.loads((tmp_path / "ok.json").read_text())


LEVELS = {
    "top level": lambda doc: doc,
    "video": lambda doc: doc["video"],
    "frame 1": lambda doc: doc["frames"][1],
    "frame 1, person 1": lambda doc: doc["frames"][1]["people"][1],
}


@KEYS
@given(data=st.data())
def test_a_misspelled_tracks_file_key_is_named_with_the_closest_valid_key(tmp_path_factory, data):
    tmp = tmp_path_factory.mktemp("keys")
    doc = _tracks_doc(tmp)
    where = data.draw(st.sampled_from(sorted(LEVELS)))
    node = LEVELS[where](doc)
    valid = sorted(node)
    key = data.draw(st.sampled_from(valid))
    new = data.draw(misspelled(key, valid))
    node[new] = node.pop(key)
    path = tmp / "t.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(FormatError) as e:
        read_tracks(path)
    message = str(e.value)
    location = where if key != "frame" else where.replace("frame 1", "frames[1]")   # the frame number is gone
    assert message.startswith(f"{path}: {location}: unknown key {new!r} ("), message
    suggested = message.split("did you mean ")[-1] if "did you mean" in message else message.split("valid keys: ")[1]
    assert any(repr(k) in suggested or k in suggested for k in valid), message


BOX_KEYS = ("image_id", "bbox", "score", "category_id")


@KEYS
@given(data=st.data())
def test_a_misspelled_boxes_file_key_is_an_error_naming_the_entry(tmp_path_factory, caplog, data):
    tmp = tmp_path_factory.mktemp("boxes")
    entries = [{"image_id": t, "bbox": [10.0, 20.0, 30.0, 60.0], "score": 0.9, "category_id": 1} for t in range(3)]
    if data.draw(st.booleans()):    # COCO keypoint results: still a boxes file, whatever else reads keypoints
        entries = [{**e, "keypoints": [25.0, 50.0, 1.0] * 17} for e in entries]
    i = data.draw(st.integers(0, 2))
    key = data.draw(st.sampled_from(BOX_KEYS))
    new = data.draw(misspelled(key, BOX_KEYS))
    if new == "box" and i == 0 and "keypoints" in entries[0]:
        new = "bbx"     # image_id, box, score, keypoints, category_id: an AlphaPose entry by every key, read as one
    entries[i][new] = entries[i].pop(key)
    path = tmp / "b.json"
    path.write_text(json.dumps(entries))
    with caplog.at_level(logging.WARNING), pytest.raises(FormatError) as e:
        load_boxes(path, 3)
    message = str(e.value)
    assert message.startswith(f"{path}: entry {i}"), message
    # category_id has a default, so only the near miss stands between a misspelling and every box a person
    want = [f"unknown key {new!r} (did you mean {key!r}?)"] if key == "category_id" else \
        [f"unknown key {new!r} (did you mean {key!r}?)", f"missing required field {key!r}"]
    assert any(w in message for w in want), message


def test_coco_result_keys_are_allowed_and_other_keys_skipped_with_one_warning(tmp_path, caplog):
    entry = {"image_id": 0, "bbox": [10.0, 20.0, 30.0, 60.0], "score": 0.9, "category_id": 1}
    path = tmp_path / "b.json"
    # keypoints in the first entry: COCO results still (AlphaPose's files have keypoints too, but "box", not "bbox")
    path.write_text(json.dumps([{**entry, "segmentation": [[1, 2, 3, 4]], "area": 5.0, "id": 3, "iscrowd": 0,
                                 "keypoints": [25.0, 50.0, 1.0] * 17, "num_keypoints": 17},
                                {**entry, "detector": "yolo", "image": "000000.jpg"}]))
    with caplog.at_level(logging.WARNING):
        boxes = load_boxes(path, 1)
    assert boxes[0].boxes.tolist() == [[10.0, 20.0, 40.0, 80.0]] * 2
    assert boxes[0].scores.tolist() == pytest.approx([0.9, 0.9])
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == [
        f"{path}: skipped keys 'detector', 'image' (an entry is read by image_id, bbox, score, category_id)"]
