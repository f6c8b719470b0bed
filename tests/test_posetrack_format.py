"""Reading both PoseTrack formats as poseval does, clear errors on bad files, and 2017 <-> 2018 round trips."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from posetrack.keypoints import POSETRACK18
from posetrack.eval.formats import (JOINT_NAMES, parse_posetrack, read_posetrack, to_annolist,
                                        to_posetrack18, write_json)
from helpers.posetrack_files import semantic

ROOT = Path(__file__).resolve().parents[1]
PARITY = ROOT / "tests" / "data" / "eval-parity"     # origins: tests/data/README.md
PUBLIC = PARITY / "public"


# ----------------------------------------------------------------------------- 2017

def test_2017_reading_rules():
    data = {"annolist": [
        {"image": [{"name": "a/000000.jpg"}], "annorect": [
            {"x1": [0], "y1": [1], "x2": [30], "y2": [41], "track_id": [3], "score": [0.5],
             "annopoints": [{"point": [{"id": [2], "x": [1.5], "y": [2], "score": [0.25]},
                                       {"id": [2], "x": [9], "y": [9], "score": [0.75]},     # later duplicate
                                       {"id": None, "x": [5], "y": [5]},                     # null id
                                       {"id": [15], "x": [6], "y": [6]},                     # not a joint
                                       {"id": [4], "x": [7], "y": [8]}]}]},
            {"track_id": [4]},                                                               # box-only
            {"track_id": [5], "annopoints": [{}]},                                           # fails the test
            {"track_id": [6], "annopoints": [{"point": []}]}],                               # passes it
         "ignore_regions": [{"point": [{"x": [0], "y": [0]}, {"x": [10], "y": [0]}, {"x": [0], "y": [10]}]}]},
        {"annorect": []}]}
    seq = parse_posetrack(data, "mem.json")
    assert seq.num_frames == 2 and seq.frame_start.tolist() == [0, 4, 4]
    assert seq.image_names == ("a/000000.jpg", "")
    assert seq.track_id.tolist() == [3, 4, 5, 6] and seq.has_track_id.all()
    assert seq.has_head_box.tolist() == [True, False, False, False]
    assert seq.head_box[0].tolist() == [0, 1, 30, 41]
    assert seq.has_box_score.tolist() == [True, False, False, False] and seq.box_score[0] == 0.5
    assert seq.has_annopoints.tolist() == [True, False, False, True]
    assert seq.point_start.tolist() == [0, 5, 5, 5, 5]
    assert seq.point_is_joint.tolist() == [True, True, False, False, True]
    assert seq.point_joint[seq.point_is_joint].tolist() == [2, 2, 4]
    assert seq.point_has_score.tolist() == [True, True, False, False, False]
    assert seq.point_xy[4].tolist() == [7, 8]
    assert seq.ignore_regions[0][0].tolist() == [[0, 0], [10, 0], [0, 10]] and seq.ignore_regions[1] == ()


@pytest.mark.parametrize("rect, pattern", [
    ({"annopoints": [{"point": [{"id": [0], "x": [1], "y": [2]}, {"id": [1], "x": [float("nan")], "y": [2]}]}]},
     r"bad\.json: frame 0 \(v/1\.jpg\), annorect 1, point 1, 'x': expected a number >= -100000.0, got nan"),
    ({"annopoints": [{"point": [{"id": [0], "x": ["12"], "y": [2]}]}]}, r"annorect 1, point 0, 'x': expected a number, got a string"),
    ({"annopoints": [{"point": [{"x": [1], "y": [2]}]}]}, r"annorect 1, point 0: missing required field 'id'"),
    ({"annopoints": [{"point": [{"id": [0], "x": [1], "y": [2], "score": ["high"]}]}]},
     r"annorect 1, point 0, 'score': expected a number, got a string"),
    ({"track_id": [2.5]}, r"frame 0 \(v/1\.jpg\), annorect 1, 'track_id': expected an integer, got a float"),
    ({"track_id": [3.0]}, r"annorect 1, 'track_id': expected an integer, got a float"),
    ({"track_id": [2 ** 63]}, r"annorect 1, 'track_id': expected an integer <= 9223372036854775807"),
    ({"x1": [0], "y1": [0], "x2": [1], "y2": [10 ** 400]}, r"annorect 1, 'y2': number out of range"),
    ({"x1": [0], "y1": [0], "x2": [1], "y2": [1, 2]}, r"annorect 1, 'y2': expected a list of exactly 1 value"),
    ({"x1": [0], "y1": [0], "x2": [1], "y2": 1}, r"annorect 1, 'y2': expected a list or null, got an integer"),
    ({"annopoints": [{"point": [{"id": 4, "x": [7], "y": [8]}]}]}, r"point 0, 'id': expected a list or null"),
    ({"x1": [0], "y1": [0], "x2": [1], "y2": [90000]}, r"annorect 1: head box is 1 x 90000 pixels"),
    ({"annopoints": [{"point": [{"id": ["nose"], "x": [1], "y": [2]}]}]},
     r"annorect 1, point 0, 'id': expected an integer, got a string"),
    ({"x1": [0], "y1": [0], "x2": [1]}, r"annorect 1: head box is incomplete: y2 missing"),
    ({"x1": [0], "y1": [0], "x2": [1], "y2": [float("inf")]}, r"annorect 1, 'y2': expected a number <= 100000.0, got inf"),
    ({"annopoints": {"point": []}}, r"annorect 1, 'annopoints': expected a list or null, got an object"),
])
def test_2017_errors_name_file_frame_and_field(rect, pattern):
    ok = {"track_id": [1], "annopoints": [{"point": [{"id": [0], "x": [1], "y": [1]}]}]}
    data = {"annolist": [{"image": [{"name": "v/1.jpg"}], "annorect": [ok, rect]}]}
    with pytest.raises(ValueError, match=pattern):
        parse_posetrack(data, "bad.json")


def test_unreadable_files(tmp_path):
    (tmp_path / "broken.json").write_text('{"annolist": [')
    with pytest.raises(ValueError, match=r"broken\.json: not valid JSON"):
        read_posetrack(tmp_path / "broken.json")
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(ValueError, match=r"list\.json: expected a JSON object"):
        read_posetrack(tmp_path / "list.json")
    (tmp_path / "other.json").write_text('{"frames": []}')      # an unknown top-level key names the valid ones
    with pytest.raises(ValueError, match=r"other\.json: unknown key 'frames' \(valid keys: annolist, annotations"):
        read_posetrack(tmp_path / "other.json")
    (tmp_path / "empty.json").write_text('{}')
    with pytest.raises(ValueError, match=r"neither 'annolist'.*found"):
        read_posetrack(tmp_path / "empty.json")
    with pytest.raises(OSError):
        read_posetrack(tmp_path / "missing.json")


def test_frame_mask_packs_only_the_frames_asked_for_but_validates_all():
    frames = [{"annorect": [{"track_id": [t], "annopoints": [{"point": [{"id": [0], "x": [t], "y": [0]}]}]}]}
              for t in range(3)]
    seq = parse_posetrack({"annolist": frames}, "m.json", frames=np.array([False, True]))
    assert seq.num_frames == 3 and seq.frames_read.tolist() == [False, True, False]
    assert seq.frame_start.tolist() == [0, 0, 1, 1] and seq.point_xy.tolist() == [[1, 0]]
    frames[2]["annorect"][0]["annopoints"][0]["point"][0]["x"] = ["not read"]
    with pytest.raises(ValueError, match=r"m\.json: frame 2, annorect 0, point 0, 'x': expected a number"):
        parse_posetrack({"annolist": frames}, "m.json", frames=np.array([False, True]))


# ----------------------------------------------------------------------------- 2018

def doc_2018(annotations, names=POSETRACK18.names, images=None):
    images = images or [{"file_name": "images/val/000042_mpii_test/000000.jpg", "id": 7,
                         "ignore_regions_x": [[0, 10, 0]], "ignore_regions_y": [[0, 0, 10]]},
                        {"file_name": "images/val/000042_mpii_test/000001.jpg", "id": 8}]
    return {"images": images, "annotations": annotations,
            "categories": [{"name": "person", "keypoints": list(names)}]}


def keypoints_17(**points):
    """17 x (x, y, v), zeros except the named slots."""
    kps = [0] * 51
    for name, (x, y, v) in points.items():
        s = POSETRACK18.index(name)
        kps[3 * s:3 * s + 3] = [x, y, v]
    return kps


def test_2018_reading_rules():
    ann = {"image_id": 7, "track_id": 9, "bbox_head": [10, 20, 30, 40], "score": 0.8,
           "keypoints": keypoints_17(nose=(5, 6, 1), head_bottom=(7, 8, 0), left_ear=(3, 3, 1), head_top=(0, 0, 1)),
           "scores": [0.1 * k for k in range(17)]}
    seq = parse_posetrack(doc_2018([ann, {"image_id": 8, "track_id": 1, "keypoints": [0] * 51},
                                    {"image_id": 99, "track_id": 2, "keypoints": [0] * 51}]), "new.json")
    assert seq.format == "2018" and seq.frame_start.tolist() == [0, 1, 2]
    assert seq.head_box[0].tolist() == [10, 20, 40, 60] and not seq.has_head_box[1]
    assert seq.track_id.tolist() == [9, 1] and seq.box_score[0] == 0.8
    # nose (13), head_bottom with v=0 but real coordinates (12, kept), head_top at (0, 0) with v=1 (14, kept);
    # the ear is dropped, and so are the x = y = v = 0 slots.
    assert seq.point_joint.tolist() == [13, 12, 14] and seq.point_is_joint.all()
    assert seq.point_xy.tolist() == [[5, 6], [7, 8], [0, 0]]
    assert seq.point_score.tolist() == pytest.approx([0.0, 0.1, 0.2])       # scores by keypoint position
    assert seq.point_start.tolist() == [0, 3, 3] and seq.has_annopoints.all()
    assert seq.ignore_regions[0][0].tolist() == [[0, 0], [10, 0], [0, 10]]
    assert any("refer to no image" in w for w in seq.warnings)


def test_2018_fifteen_names_in_any_order_and_only_the_first_video():
    names = list(reversed(JOINT_NAMES[:12])) + ["head_top", "nose", "head_bottom"]
    kps = [0] * 45
    kps[0:3] = [1, 2, 1]                                                    # slot 0 = left_wrist = joint 11
    images = [{"file_name": "x/000001_bonn/000000.jpg", "id": 1}, {"file_name": "x/000002_bonn/000000.jpg", "id": 2},
              {"file_name": "x/000001_bonn/000001.jpg", "id": 3}]
    seq = parse_posetrack(doc_2018([{"image_id": 1, "track_id": 0, "keypoints": kps},
                                    {"image_id": 2, "track_id": 0, "keypoints": kps}], names, images), "v.json")
    assert seq.num_frames == 2 and seq.image_names[1] == "x/000001_bonn/000001.jpg"
    assert seq.point_joint.tolist() == [11] and not seq.point_has_score.any()
    assert any("other videos" in w for w in seq.warnings)


@pytest.mark.parametrize("mutate, pattern", [
    (lambda d: d["categories"].append({"name": "car"}), r"categories: expected exactly one category"),
    (lambda d: d["categories"][0]["keypoints"].__setitem__(1, "neck"), r"keypoints: missing head_bottom"),
    (lambda d: d["annotations"][0].pop("track_id"), r"frame 0 \(.*000000\.jpg\), annotation 0: missing required field 'track_id'"),
    (lambda d: d["annotations"][0].update(keypoints=[0] * 50), r"annotation 0: 'keypoints' must be a list of 51"),
    (lambda d: d["annotations"][0].update(scores=[0.5] * 3), r"annotation 0: 'scores' has 3 values for 17"),
    (lambda d: d["annotations"][0]["keypoints"].__setitem__(4, None), r"annotation 0, 'keypoints' value 4 \(keypoint 1\): expected a number, got null"),
    (lambda d: d["images"][0].pop("ignore_regions_y"), r"'ignore_regions_x' and 'ignore_regions_y' must be given"),
])
def test_2018_errors(mutate, pattern):
    d = doc_2018([{"image_id": 7, "track_id": 1, "keypoints": keypoints_17(nose=(1, 1, 1))}])
    mutate(d)
    with pytest.raises(ValueError, match=pattern):
        parse_posetrack(d, "bad18.json")


# ----------------------------------------------------------------------------- conversion round trips

@pytest.mark.parametrize("side", ["gt", "pred"])
def test_2017_to_2018_and_back_keeps_everything_scored(side, tmp_path):
    for path in sorted((PUBLIC / side).glob("*.json")):
        seq = read_posetrack(path)
        write_json(to_posetrack18(seq), tmp_path / "a.json")
        as18 = read_posetrack(tmp_path / "a.json")
        write_json(to_annolist(as18), tmp_path / "b.json")
        back = read_posetrack(tmp_path / "b.json")
        assert as18.format == "2018" and back.format == "2017"
        assert semantic(as18) == semantic(seq)
        assert semantic(back) == semantic(seq)


def test_box_only_and_point_less_rects_round_trip():
    data = {"annolist": [{"image": [{"name": "v/0.jpg"}], "annorect": [
        {"track_id": [1], "x1": [0], "y1": [0], "x2": [1], "y2": [1]},
        {"track_id": [2], "annopoints": [{"point": []}]},
        {"track_id": [3], "annopoints": [{"point": [{"id": [0], "x": [0], "y": [0], "score": [0.25]},
                                                    {"id": [1], "x": [2], "y": [3], "score": [0.5]}]}]}]}]}
    seq = parse_posetrack(data)
    back = parse_posetrack(to_annolist(parse_posetrack(to_posetrack18(seq))))
    assert semantic(back) == semantic(seq)
    assert back.has_annopoints.tolist() == [False, True, True]


def test_partly_scored_person_gets_poseval_missing_score_in_2018():
    # 2018 holds one score list per person: a point without score is written as -9999, the score
    # poseval gives such a point, so the evaluation does not change.
    data = {"annolist": [{"annorect": [{"track_id": [3], "annopoints": [{"point": [
        {"id": [0], "x": [0], "y": [0]}, {"id": [1], "x": [2], "y": [3], "score": [0.5]}]}]}]}]}
    back = parse_posetrack(to_posetrack18(parse_posetrack(data)))
    assert semantic(back)[0][1][0][4] == {0: (0.0, 0.0, -9999.0), 1: (2.0, 3.0, 0.5)}


def test_2018_to_2017_and_back():
    root = PARITY / "small2018"
    for path in sorted(root.glob("*/*.json")):
        seq = read_posetrack(path)
        assert seq.format == "2018"
        as17 = parse_posetrack(json.loads(json.dumps(to_annolist(seq))))
        again = parse_posetrack(json.loads(json.dumps(to_posetrack18(as17))))
        assert semantic(as17) == semantic(seq) and semantic(again) == semantic(seq)


def test_write_json_refuses_nan(tmp_path):
    with pytest.raises(ValueError):
        write_json({"x": float("nan")}, tmp_path / "n.json")
