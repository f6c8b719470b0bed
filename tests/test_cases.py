"""Every case of tests/data/cases (inputs posetrack once got wrong) with the behaviour it must have now.

Each case stands for a kind of fault, so most tests also try a sibling the case does not cover
(another field, the other PoseTrack format). Expected outcomes: tests/data/README.md.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import msgspec
import numpy as np
import pytest
from click.testing import CliRunner

from helpers.data import CASES
from posetrack.keypoints import COCO
from posetrack.types import FrameResult, Poses, VideoInfo
from posetrack.tracksfile.codec import TrackFile, TracksHeader, read_tracks, write_tracks
from posetrack_cli import cli

EVAL = CASES / "eval"
TRACKS = CASES / "tracks"


def invoke(*args):
    return CliRunner().invoke(cli, [*map(str, args)], terminal_width=200)


def one_error_line(result) -> str:
    """The run failed with exit 1 and exactly one 'Error:' line, no traceback."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, result.output
    return lines[0]


def evaluate_case(case: Path, tmp_path: Path, *extra):
    out = tmp_path / "scores.json"
    return invoke("eval", "--gt", case / "gt", "--pred", case / "pred", "--json", out, *extra), out


# ----------------------------------------------------------------------------- eval/

def test_coordinate_with_400_digits_names_file_frame_and_field(tmp_path):
    result, _ = evaluate_case(EVAL / "coordinate-with-400-digits", tmp_path)
    line = one_error_line(result)
    assert "pred/000001_mpii_test.json: frame 0 (images/val/000001_mpii_test/000000.jpg), annorect 0, point 0, 'x'" \
        in line and "out of range" in line


@pytest.mark.parametrize("field, value, words", [
    ("y", "-" + "9" * 400, "'y': number out of range"),
    ("score", "1e999", "'score': number out of range"),
    ("x", "Infinity", "'x': Infinity is not a JSON number"),
    ("x", '"12"', "'x': expected a number, got a string"),
    ("x", "{}", "'x': expected a list, got an object"),
    ("x", "7", "'x': expected a list, got an integer"),
])
def test_siblings_of_the_400_digit_coordinate(tmp_path, field, value, words):
    case = tmp_path / "case"
    shutil.copytree(EVAL / "coordinate-with-400-digits", case)
    pred = case / "pred" / "000001_mpii_test.json"
    doc = json.loads(pred.read_text())
    point = doc["annolist"][0]["annorect"][0]["annopoints"][0]["point"][0]
    point["x"] = [20.0]                                                   # the case itself, repaired
    point[field] = ["@"]
    pred.write_text(json.dumps(doc).replace('["@"]', f"[{value}]" if value[0] in '-1I"' else value))
    line = one_error_line(evaluate_case(case, tmp_path)[0])
    assert "frame 0 (images/val/000001_mpii_test/000000.jpg), annorect 0, point 0" in line and words in line


def _scores(path: Path) -> dict:
    return json.loads(path.read_text())


def test_frames_listed_in_another_order_are_paired_by_image(tmp_path):
    result, out = evaluate_case(EVAL / "frames-listed-in-another-order-2018", tmp_path)
    assert result.exit_code == 0, result.output
    scores = _scores(out)
    assert scores["ap"]["total"] == 100.0 and scores["mota"]["total"] == 100.0   # the predictions are perfect


def test_reordered_2017_predictions_score_as_in_order(tmp_path):
    """The same kind of fault in the 2017 format: frames paired by image name."""
    src = EVAL / "predictions-without-scores-2017"
    case = tmp_path / "case"
    shutil.copytree(src, case)
    pred = case / "pred" / "000001_mpii_test.json"
    doc = json.loads(pred.read_text())
    doc["annolist"].reverse()
    pred.write_text(json.dumps(doc))
    _, in_order = evaluate_case(src, tmp_path / "a")
    result, reversed_ = evaluate_case(case, tmp_path / "b")
    assert result.exit_code == 0, result.output
    assert _scores(reversed_)["ap"] == _scores(in_order)["ap"]
    assert _scores(reversed_)["mota"] == _scores(in_order)["mota"]


def test_unpairable_frames_name_the_first_mismatch(tmp_path):
    case = tmp_path / "case"
    shutil.copytree(EVAL / "frames-listed-in-another-order-2018", case)
    pred = case / "pred" / "000001_mpii_test.json"
    doc = json.loads(pred.read_text())
    doc["images"][2]["file_name"] = "images/val/000001_mpii_test/000099.jpg"
    doc["images"][2]["id"] = 12345
    pred.write_text(json.dumps(doc))
    line = one_error_line(evaluate_case(case, tmp_path)[0])
    assert "pred/000001_mpii_test.json: frame 2 (images/val/000001_mpii_test/000099.jpg) matches no frame" in line
    doc["images"][2]["id"] = doc["images"][3]["id"]                       # a frame listed twice
    pred.write_text(json.dumps(doc))
    line = one_error_line(evaluate_case(case, tmp_path)[0])
    assert "images 2 and 3 have the same id" in line


def test_head_box_of_1e308_is_an_error(tmp_path):
    line = one_error_line(evaluate_case(EVAL / "head-box-1e308", tmp_path)[0])
    assert "gt/000001_mpii_test.json: frame 0 (images/val/000001_mpii_test/000000.jpg), annorect 0, 'y2'" in line


@pytest.mark.parametrize("box, words", [
    ([10, 10, 40, 90000], "head box is 30 x 89990 pixels"),      # finite, in range, absurd
    ([10, 10, 1e6, 50], "'x2': expected a number <= 100000.0"),
])
def test_absurd_head_boxes_are_errors(tmp_path, box, words):
    case = tmp_path / "case"
    shutil.copytree(EVAL / "head-box-1e308", case)
    gt = case / "gt" / "000001_mpii_test.json"
    doc = json.loads(gt.read_text())
    for frame in doc["annolist"]:                                         # the case itself, repaired
        for rect in frame["annorect"]:
            rect.update(x1=[10], y1=[10], x2=[40], y2=[50])
    doc["annolist"][0]["annorect"][0].update(x1=[box[0]], y1=[box[1]], x2=[box[2]], y2=[box[3]])
    gt.write_text(json.dumps(doc))
    line = one_error_line(evaluate_case(case, tmp_path)[0])
    assert "frame 0 (images/val/000001_mpii_test/000000.jpg), annorect 0" in line and words in line


def test_predictions_without_scores_get_poseval_numbers_and_a_warning(tmp_path):
    case = EVAL / "predictions-without-scores-2017"
    result, out = evaluate_case(case, tmp_path)
    assert result.exit_code == 0, result.output
    scores = _scores(out)
    assert any("180 predicted joint(s) in 1 file(s)" in w and "-9999" in w for w in scores["warnings"])
    expected = _scores(case / "scores.json")
    for metric in ("ap", "mota", "motp", "precision", "recall"):
        for joint, value in expected[metric].items():
            assert scores[metric][joint] == pytest.approx(value, abs=1e-9), (metric, joint)


def test_scores_longer_than_keypoints_name_file_and_field(tmp_path):
    line = one_error_line(evaluate_case(EVAL / "scores-longer-than-keypoints-2018", tmp_path)[0])
    assert "pred/000001_mpii_test.json: frame 0 (images/val/000001_mpii_test/000000.jpg), annotation 0: " \
           "'scores' has 19 values for 17 keypoints" in line


@pytest.mark.parametrize("mutate, words", [
    (lambda a: a.update(scores=a["scores"][:16]), "'scores' has 16 values for 17 keypoints"),
    (lambda a: a.update(keypoints=a["keypoints"] + [1.0]), "'keypoints' must be a list of 51 numbers"),
    (lambda a: a.update(bbox_head=[10, 10, 30]), "'bbox_head': expected a list of at least 4 values"),
    (lambda a: a.update(track_id=2 ** 63), "'track_id': expected an integer"),
    (lambda a: a.update(track_id=[1]), "'track_id': expected an integer or null, got a list"),
    (lambda a: a["keypoints"].__setitem__(0, {"x": 1}), "'keypoints' value 0 (keypoint 0): expected a number, got an object"),
])
def test_siblings_of_the_long_scores_list(tmp_path, mutate, words):
    case = tmp_path / "case"
    shutil.copytree(EVAL / "scores-longer-than-keypoints-2018", case)
    pred = case / "pred" / "000001_mpii_test.json"
    doc = json.loads(pred.read_text())
    doc["annotations"][0]["scores"] = doc["annotations"][0]["scores"][:17]
    mutate(doc["annotations"][0])
    pred.write_text(json.dumps(doc))
    line = one_error_line(evaluate_case(case, tmp_path)[0])
    assert "pred/000001_mpii_test.json: frame 0 (images/val/000001_mpii_test/000000.jpg), annotation 0" in line
    assert words in line


# ----------------------------------------------------------------------------- tracks/

TRACK_CASES = [("width_inf", "video.width: Infinity is not a JSON number"),
               ("layout_list", "keypoint_layout: expected a string or null, got a list"),
               ("bbox_one_value", "frame 0, person 0, bbox: expected a list of at least 4 values"),
               ("kp_inf", "frame 0, person 0, keypoint 0 (nose), x: Infinity is not a JSON number"),
               ("settings_inf", "settings.stride: Infinity is not a JSON number")]


@pytest.mark.parametrize("name, words", TRACK_CASES)
def test_track_refuses_bad_tracks_files_in_one_line(tmp_path, name, words):
    path = TRACKS / f"{name}.tracks.json"
    line = one_error_line(invoke("track", path, "--out", tmp_path / "o.json"))
    assert f"{path}: {words}" in line
    assert not (tmp_path / "o.json").exists()


@pytest.mark.parametrize("name, words", TRACK_CASES)
def test_render_refuses_bad_tracks_files_in_one_line(tmp_path, name, words):
    path = TRACKS / f"{name}.tracks.json"
    line = one_error_line(invoke("render", TRACKS / "clip15.mp4", path, "-o", tmp_path / "o.mp4"))
    assert f"{path}: {words}" in line


def _tracks_doc() -> dict:
    return json.loads((TRACKS / "bbox_one_value.tracks.json").read_text().replace('"bbox": [120.0]',
                                                                                    '"bbox": [120.0, 100, 150, 160]'))


@pytest.mark.parametrize("mutate, words", [
    (lambda d: d["video"].update(fps=0), "video.fps: expected a number > 0.0"),
    (lambda d: d["video"].update(fps=1e308), "video.fps: expected a number <= 1000000.0"),   # seconds to frames overflowed
    (lambda d: d["video"].update(height="288"), "video.height: expected an integer, got a string"),
    (lambda d: d["frames"][0]["people"][0].update(track_id=2 ** 63), "frame 0, person 0, track_id: expected an integer"),
    (lambda d: d["frames"][0]["people"][0].update(track_id=-1), "frame 0, person 0, track_id: expected an integer >= 0"),
    (lambda d: d["frames"][0]["people"][0].update(bbox=[1, 2, 3, 4, 5]), "bbox: expected a list of at most 4 values"),
    (lambda d: d["frames"][0]["people"][0]["keypoints"].__setitem__(2, {"x": 1, "y": 2, "s": 3}),
     "frame 0, person 0, keypoint 2 (right_eye): expected a list, got an object"),
    (lambda d: d["frames"][0]["people"][0]["keypoints"][3].append(0.5), "keypoint 3 (left_ear): expected a list of at"),
    (lambda d: d["frames"][0]["people"][0].update(interpolated=1), "interpolated: expected true or false"),
    (lambda d: d["frames"][0].update(time=-0.5), "frame 0, time: expected a number >= 0.0"),
    (lambda d: d["frames"].append(dict(d["frames"][0])), "frame 0: listed twice"),
    (lambda d: d.update(status="done"), "status: 'done' is not an allowed value"),
])
def test_siblings_of_the_tracks_cases(tmp_path, mutate, words):
    doc = _tracks_doc()
    mutate(doc)
    path = tmp_path / "t.tracks.json"
    path.write_text(json.dumps(doc))
    line = one_error_line(invoke("track", path, "--out", tmp_path / "o.json"))
    assert str(path) in line and words in line


@pytest.mark.parametrize("depth", [900, 100_000])
def test_deep_nesting_is_one_line(tmp_path, depth):
    """Nesting beyond the decoders' recursion limit (and just below Python's) is refused in one line."""
    doc = json.dumps(_tracks_doc()).replace('"settings": {}', '"settings": {"a": ' + "[" * depth + "NaN" + "]" * depth + "}")
    path = tmp_path / "t.tracks.json"
    path.write_text(doc)
    line = one_error_line(invoke("track", path, "--out", tmp_path / "o.json"))
    assert str(path) in line
    for side in ("gt", "pred"):
        (tmp_path / side).mkdir(exist_ok=True)
        (tmp_path / side / "s.json").write_text('{"annolist": ' + "[" * depth + "]" * depth + "}")
    assert "s.json" in one_error_line(invoke("eval", "--gt", tmp_path / "gt", "--pred", tmp_path / "pred"))


def test_invalid_utf8_is_one_line(tmp_path):
    path = tmp_path / "t.tracks.json"
    path.write_bytes(json.dumps(_tracks_doc()).replace("clip15_small.mp4", "clip\udcff.mp4", 1)
                     .encode("utf-8", "surrogateescape"))
    assert "not UTF-8 text" in one_error_line(invoke("track", path, "--out", tmp_path / "o.json"))


def test_writer_output_is_always_json(tmp_path):
    """settings_inf: what a writer is given may hold non-finite numbers; the file stays valid JSON."""
    poses = Poses(np.array([[0, 0, 10, 10]], np.float32), np.array([np.inf], np.float32),
                  np.full((1, 17, 2), np.nan, np.float32), np.full((1, 17), np.inf, np.float32))
    header = TracksHeader(VideoInfo("v.mp4", 25.0, 64, 48, 1), COCO, {"stride": float("inf"), "thr": np.float32(0.5)})
    path = tmp_path / "t.json"
    write_tracks(path, TrackFile(header, (FrameResult(0, poses, np.array([3]), time=float("nan")),)))
    doc = msgspec.json.decode(path.read_bytes())              # strict JSON: no Infinity / NaN tokens
    assert doc["settings"] == {"stride": None, "thr": 0.5}
    back = read_tracks(path)
    assert back.frames[0].poses.box_scores.tolist() == [1.0] and back.frames[0].time is None


@pytest.mark.parametrize("text, words", [
    ("- tracker\n- flow\n", "expected a mapping of settings, got list"),
    ("tracker:\n  queue: 2.5\n", "tracker.queue: expected an integer, got a float"),
    ("tracker:\n  box_score: .nan\n", "tracker.box_score: expected a finite number, got nan"),
    ("tracker:\n  box_score: '0.5'\n", "tracker.box_score: expected a number, got a string"),
    ("tracker:\n  quue: 3\n", "did you mean 'queue'"),
    ("flow: [1, 2]\n", "flow: expected an object, got a list"),
    ("tracker: " + "[" * 3000 + "]" * 3000 + "\n", "nested too deeply"),
    ("tracker:\n  queue: [\n", "not valid YAML"),
])
def test_bad_tracker_configs_are_one_line(tmp_path, text, words):
    """The same kind of fault in the YAML configs (posetrack track --config FILE)."""
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    tracks = tmp_path / "t.tracks.json"
    tracks.write_text(json.dumps(_tracks_doc()))
    line = one_error_line(invoke("track", tracks, "--out", tmp_path / "o.json", "--config", config))
    assert "bad.yaml" in line and words in line
