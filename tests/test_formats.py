"""Reading other tools' poses and boxes (posetrack.io.formats): each tool's documented format, the same
scene in posetrack's own tracks file, `track` on both, `--boxes` on both, and bad files as one line.

The files in tests/data/formats were written by tests/data/formats/make_formats.py from each tool's
documentation (origins in tests/data/README.md), not by posetrack.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posetrack.io.formats import ForeignFormatError, Placement, detect_format, read_boxes, read_poses
from posetrack.pose.detector import load_boxes
from posetrack.tracksfile.codec import read_tracks
from posetrack.tracksfile.foreign import read_poses_file
from posetrack_cli import cli

from helpers.api_data import figure_boxes, make_video
from helpers.videos import write_video
from helpers.weights import write_tiny_weights

DATA = Path(__file__).parent / "data" / "formats"
W, H, FPS, N = 320, 240, 25.0, 12
POSE_FILES = {"alphapose-results.json": "alphapose", "mmpose-predictions.json": "mmpose",
              "openpose_body25": "openpose", "openpose_coco18": "openpose",
              "ultralytics-results.json": "ultralytics", "ultralytics_labels": "ultralytics"}


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """One still shot: the default coded frames flip whole bars between frames, which the robust
    preset rightly takes for scene cuts (ending every track)."""
    def still(i: int, w: int, h: int) -> np.ndarray:
        return np.repeat(np.linspace(40, 220, w, dtype=np.uint8)[None, :, None], h, 0).repeat(3, 2)

    return write_video(tmp_path_factory.mktemp("clip") / "clip.mp4", n=N, size=(W, H), fps=FPS, image=still)


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    return write_tiny_weights(tmp_path_factory.mktemp("weights") / "pose.pth", seed=0, bias=0.0)


def _cli(*args):
    return CliRunner().invoke(cli, list(map(str, args)), terminal_width=100)


def test_formats_are_told_from_content():
    expected = {**POSE_FILES, "tracks.json": "posetrack", "mot-det.txt": "mot", "mot-gt.txt": "mot",
                "coco-boxes.json": "coco"}
    assert {name: detect_format(DATA / name) for name in expected} == expected


@pytest.mark.parametrize("name", sorted(POSE_FILES))
def test_each_tools_poses_equal_the_same_poses_in_our_format(name):
    own = read_tracks(DATA / "tracks.json")
    theirs = read_poses_file(DATA / name, fps=FPS, frame_size=(W, H))
    assert [f.frame for f in theirs.frames] == list(range(N))          # 0-based, whatever the tool's numbering
    assert theirs.layout.name == "coco" and theirs.header.settings["input"]["format"] == POSE_FILES[name]
    tol = 1e-3 if name == "ultralytics_labels" else 1e-6              # labels are normalised, 6 digits (%g)
    for a, b in zip(theirs.frames, own.frames):
        np.testing.assert_allclose(a.poses.keypoints, b.poses.keypoints, atol=tol * W)
        np.testing.assert_allclose(a.poses.keypoint_scores, b.poses.keypoint_scores, atol=1e-6)
        if not name.startswith("openpose"):                            # OpenPose stores no box
            np.testing.assert_allclose(a.poses.boxes, b.poses.boxes, atol=tol * W)
            np.testing.assert_allclose(a.poses.box_scores, b.poses.box_scores, atol=1e-5)


def test_openpose_box_is_the_located_joints_extent_and_its_score_their_mean():
    frame = read_poses(DATA / "openpose_body25", "openpose")[0][1]
    own = read_tracks(DATA / "tracks.json").frames[0].poses
    for i in range(2):
        xy = own.keypoints[i]
        np.testing.assert_allclose(frame.boxes[i], [*xy.min(axis=0), *xy.max(axis=0)], atol=1e-4)
        assert frame.box_scores[i] == pytest.approx(own.keypoint_scores[i].mean(), abs=1e-6)


def _ids_by_person(path: Path):
    """Per frame, the track ids ordered by the person's nose x (person identity independent of file order)."""
    return [[int(p["track_id"]) for p in sorted(f["people"], key=lambda p: p["keypoints"][0][0])]
            for f in json.loads(path.read_text())["frames"]]


@pytest.mark.parametrize("name", sorted(POSE_FILES))
def test_track_on_each_tool_gives_the_tracks_of_our_format(name, clip, tmp_path):
    ours, theirs = tmp_path / "ours.json", tmp_path / "theirs.json"
    assert _cli("track", DATA / "tracks.json", "--video", clip, "-o", ours, "--quiet").exit_code == 0
    result = _cli("track", DATA / name, "--video", clip, "-o", theirs, "--quiet")
    assert result.exit_code == 0, result.output
    ids = _ids_by_person(theirs)
    assert ids == _ids_by_person(ours)
    assert len({tuple(row) for row in ids}) == 1 and len(set(ids[0])) == 2     # two people, one id each, all along
    assert json.loads(theirs.read_text())["video"]["frames"] == N


def test_named_format_is_used_and_a_wrong_name_says_what_it_expected(clip, tmp_path):
    ok = _cli("track", DATA / "alphapose-results.json", "--input-format", "alphapose", "--video", clip,
              "-o", tmp_path / "a.json", "--quiet")
    assert ok.exit_code == 0, ok.output
    bad = _cli("track", DATA / "alphapose-results.json", "--input-format", "mmpose", "--video", clip,
               "-o", tmp_path / "b.json", "--quiet")
    assert bad.exit_code == 1 and len(bad.output.strip().splitlines()) == 1
    assert "expected mmpose predictions" in bad.output


def test_image_names_are_placed_by_the_image_folder_never_guessed(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    names = [f"img_{i + 1:04d}.png" for i in range(N)]          # 1-based names: the folder says frame 0 is 0001
    import cv2
    for name in names:
        cv2.imwrite(str(folder / name), np.zeros((H, W, 3), np.uint8))
    entries = json.loads((DATA / "alphapose-results.json").read_text())
    for e in entries:
        e["image_id"] = names[int(e["image_id"].split(".")[0])]
    path = tmp_path / "alphapose-results.json"
    path.write_text(json.dumps(entries))
    with pytest.raises(ForeignFormatError, match="names its frame by the image 'img_0001.png'; give the folder"):
        read_poses(path, "alphapose")
    placed = read_poses_file(path, video=folder)
    own = read_tracks(DATA / "tracks.json")
    assert [f.frame for f in placed.frames] == list(range(N))
    np.testing.assert_allclose(placed.frames[5].poses.keypoints, own.frames[5].poses.keypoints, atol=1e-4)
    names.remove("img_0004.png")
    with pytest.raises(ForeignFormatError, match="'img_0004.png' is not in"):
        read_poses(path, "alphapose", Placement(image_names=names, source=str(folder)))


def test_normalised_coordinates_need_the_frame_size():
    with pytest.raises(ForeignFormatError, match="labels are normalised; the frame size is needed"):
        read_poses(DATA / "ultralytics_labels", "ultralytics")


def test_normalised_ultralytics_json_is_scaled_by_the_frame(tmp_path):
    frames = json.loads((DATA / "ultralytics-results.json").read_text())
    for dets in frames:
        for d in dets:
            d["box"] = {k: v / (W if k[0] == "x" else H) for k, v in d["box"].items()}
            d["keypoints"]["x"] = [x / W for x in d["keypoints"]["x"]]
            d["keypoints"]["y"] = [y / H for y in d["keypoints"]["y"]]
    path = tmp_path / "normalised.json"
    path.write_text(json.dumps(frames))
    with pytest.raises(ForeignFormatError, match="within \\[0, 1\\]"):
        read_poses(path, "ultralytics")
    scaled = read_poses(path, "ultralytics", Placement(frame_size=(W, H)))
    np.testing.assert_allclose(scaled[3][1].keypoints, read_tracks(DATA / "tracks.json").frames[3].poses.keypoints,
                               atol=1e-3)


# ---------------------------------------------------------------- boxes (--boxes)

@pytest.mark.parametrize("name", ["mot-det.txt", "alphapose-results.json", "mmpose-predictions.json",
                                  "ultralytics-results.json"])
def test_boxes_of_each_tool_equal_the_coco_boxes_file(name):
    coco = load_boxes(DATA / "coco-boxes.json", num_frames=N, frame_size=(W, H))
    theirs = load_boxes(DATA / name, num_frames=N, frame_size=(W, H))
    assert sorted(theirs) == sorted(coco) == list(range(N))
    for f in coco:
        np.testing.assert_allclose(theirs[f].boxes, coco[f].boxes, atol=1e-4)
        np.testing.assert_allclose(theirs[f].scores, coco[f].scores, atol=1e-5)


def test_mot_ground_truth_keeps_people_to_consider():
    gt = dict(read_boxes(DATA / "mot-gt.txt", "mot"))
    det = dict(read_boxes(DATA / "mot-det.txt", "mot"))
    assert sorted(gt) == list(range(N))                   # MOT frame 1 is frame 0
    for f in gt:                                          # the car (class 3) and the ignored person are gone
        np.testing.assert_allclose(gt[f].boxes, det[f].boxes)
        assert (gt[f].scores == 1).all()


def test_run_with_mot_boxes_equals_run_with_coco_boxes(tmp_path):
    data = make_video(tmp_path / "v")
    lines = [f"{t + 1},-1,{b[0]:.2f},{b[1]:.2f},{b[2] - b[0]:.2f},{b[3] - b[1]:.2f},0.95,-1,-1,-1"
             for t, fb in enumerate(figure_boxes()) for b in fb]
    (tmp_path / "det.txt").write_text("\n".join(lines) + "\n")
    outs = {}
    for name, boxes in (("coco", data["boxes"]), ("mot", tmp_path / "det.txt")):
        outs[name] = tmp_path / f"{name}.json"
        extra = ["--export-mot", tmp_path / "out.txt", "--export-coco-dataset", tmp_path / "cvat.json"] \
            if name == "mot" else []
        result = _cli("run", data["video"], "--out", outs[name], "--pose-model", "hrnet_tiny_128x96",
                      "--pose-weights", data["weights"], "--boxes", boxes, "--device", "cpu", "--quiet", *extra)
        assert result.exit_code == 0, result.output
    a, b = json.loads(outs["coco"].read_text()), json.loads(outs["mot"].read_text())
    assert a["frames"] == b["frames"]
    assert (tmp_path / "out.txt").read_text().count("\n") == sum(len(f["people"]) for f in b["frames"])
    assert len(json.loads((tmp_path / "cvat.json").read_text())["images"]) == len(b["frames"])


def test_a_boxes_folder_is_identified_by_its_files_for_a_resume(tmp_path):
    """OpenPose's boxes come as a folder: the journal identifies it by its files' contents."""
    from posetrack.pipeline.options import RunOptions
    from posetrack.pipeline.outputs import input_files

    folder = tmp_path / "op"
    shutil.copytree(DATA / "openpose_body25", folder)
    first = input_files(RunOptions(boxes_file=folder, tracker_mode="none"))["boxes_file"]
    assert first["bytes"] == sum(p.stat().st_size for p in folder.iterdir())
    assert input_files(RunOptions(boxes_file=folder, tracker_mode="none"))["boxes_file"] == first
    one = folder / "clip_000000000003_keypoints.json"
    one.write_text(one.read_text().replace("0.", "1.", 1))
    assert input_files(RunOptions(boxes_file=folder, tracker_mode="none"))["boxes_file"]["sha256"] != first["sha256"]


# ---------------------------------------------------------------- bad files: one line naming what was expected

def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


BAD = {
    "alphapose: keypoints not triplets": (
        "a.json", '[{"image_id": "0.jpg", "keypoints": [1, 2, 0.5, 3], "score": 2.0}]',
        "entry 0, keypoints: 4 values, expected x, y, score per keypoint"),
    "alphapose: MPII 16 joints": (
        "a.json", json.dumps([{"image_id": "0.jpg", "keypoints": [1.0] * 48, "score": 2.0}]),
        "16 keypoints per person; expected 17 (COCO-17)"),
    "alphapose: a string coordinate": (
        "a.json", '[{"image_id": "0.jpg", "keypoints": [1, "2", 0.5], "score": 2.0}]',
        "entry 0, keypoints[1]: expected a number, got a string"),
    "mmpose: Infinity": (
        "m.json", '[{"frame_id": 0, "instances": [{"keypoints": [[1, Infinity]], "keypoint_scores": [1]}]}]',
        "is not a JSON number"),
    "mmpose: scores and keypoints differ": (
        "m.json", json.dumps([{"frame_id": 0, "instances": [{"keypoints": [[1, 2]] * 17, "keypoint_scores": [1]}]}]),
        "person 0, keypoint_scores: 1 scores for 17 keypoints"),
    "mmpose: a frame twice": (
        "m.json", json.dumps([{"frame_id": 0, "instances": []}, {"frame_id": 0, "instances": []}]),
        "frame 0 is listed twice"),
    "ultralytics: inverted box": (
        "u.json", json.dumps([[{"confidence": 0.9, "box": {"x1": 5, "y1": 5, "x2": 1, "y2": 9},
                                "keypoints": {"x": [1] * 17, "y": [1] * 17}}]]),
        "box: expected x2 >= x1"),
    "mot: frame 0": ("det.txt", "0,-1,1,2,3,4,0.5,-1,-1,-1\n", "line 1, frame: expected an integer from 1"),
    "mot: DPM score": ("det.txt", "1,-1,1,2,3,4,0.5,-1,-1,-1\n2,-1,1,2,3,4,-0.3,-1,-1,-1\n",
                       "line 2, conf: expected a box score in [0, 1], got -0.3"),
    "mot: 5 values": ("det.txt", "1,-1,1,2,3\n", "cannot tell its format"),
    "mot: text in a number": ("det.txt", "1,-1,1,2,3,4,0.5\n1,-1,x,2,3,4,0.5\n", "line 2, value 3: expected a finite"),
    "empty list": ("e.json", "[]", "an empty list: its format cannot be told"),
    "unknown list": ("e.json", '[{"foo": 1}]', "a JSON list whose entries have the keys ['foo']"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_file_is_one_line_naming_what_was_expected(case, tmp_path, clip, tiny_weights):
    name, text, message = BAD[case]
    path = _write(tmp_path, name, text)
    command = ["run", clip, "--boxes", path, "--out", tmp_path / "o.json", "--pose-model", "hrnet_tiny_128x96",
               "--pose-weights", tiny_weights, "--device", "cpu", "--quiet"] if name == "det.txt" else \
        ["track", path, "--video", clip, "-o", tmp_path / "o.json", "--quiet"]
    result = _cli(*command)
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.strip().splitlines() if not line.startswith(("INFO", " "))]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], result.output
    assert str(path) in lines[0]


def test_openpose_folder_errors_name_the_file(tmp_path, clip):
    folder = tmp_path / "op"
    shutil.copytree(DATA / "openpose_body25", folder)
    bad = folder / "clip_000000000003_keypoints.json"
    bad.write_text('{"version": 1.3, "people": [{"pose_keypoints_2d": [1, 2, 0.5]}]}')
    result = _cli("track", folder, "--video", clip, "-o", tmp_path / "o.json", "--quiet")
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
    assert f"{bad}: person 0, pose_keypoints_2d: 3 values; expected 75 (BODY_25" in result.output
    (folder / "other_000000000001_keypoints.json").write_text('{"people": []}')
    with pytest.raises(ForeignFormatError, match="several videos \\(clip, other\\)"):
        read_poses(folder, "openpose")


def test_foreign_poses_without_a_video_are_refused(tmp_path):
    result = _cli("track", DATA / "mmpose-predictions.json", "-o", tmp_path / "o.json")
    assert result.exit_code == 1 and "holds no frame size or frame rate" in result.output
    assert "[on the command line: --video]" in result.output


def test_poses_past_the_videos_end_are_refused(tmp_path):
    short = write_video(tmp_path / "short.mp4", n=5, size=(W, H), fps=FPS)
    with pytest.raises(ForeignFormatError, match="frame 11 \\(0-based\\) is past the end of .* which has 5 frames"):
        read_poses_file(DATA / "alphapose-results.json", video=short)


# ---------------------------------------------------------------- misspelled container keys (issue 17's spirit)

# (format, a valid document, the path of the object holding the key, the key)
_DOCS = {
    "mmpose": ([{"frame_id": 0, "instances": [{"keypoints": [[1.0, 2.0]] * 17, "keypoint_scores": [0.9] * 17}]}],
               [0], ["frame_id", "instances"]),
    "mmpose-person": ([{"frame_id": 0, "instances": [{"keypoints": [[1.0, 2.0]] * 17, "keypoint_scores": [0.9] * 17}]}],
                      [0, "instances", 0], ["keypoints", "keypoint_scores"]),
    "alphapose": ([{"image_id": "0.jpg", "keypoints": [1.0, 2.0, 0.9] * 17, "score": 2.5}], [0],
                  ["image_id", "keypoints", "score"]),
    "openpose": ({"version": 1.3, "people": [{"pose_keypoints_2d": [1.0, 2.0, 0.9] * 25}]}, [], ["people"]),
    "openpose-person": ({"version": 1.3, "people": [{"pose_keypoints_2d": [1.0, 2.0, 0.9] * 25}]}, [0],
                        ["pose_keypoints_2d"]),
    "ultralytics": ([[{"confidence": 0.9, "box": {"x1": 1, "y1": 1, "x2": 5, "y2": 9},
                       "keypoints": {"x": [1] * 17, "y": [1] * 17}}]], [0, 0], ["box", "keypoints", "confidence"]),
}


def _misspell(key: str, data) -> str:
    i = data.draw(st.integers(0, len(key) - 1))
    kind = data.draw(st.sampled_from(["drop", "double", "swap", "case"]))
    if kind == "drop":
        out = key[:i] + key[i + 1:]
    elif kind == "double":
        out = key[:i] + key[i] + key[i:]
    elif kind == "swap" and i + 1 < len(key) and key[i] != key[i + 1]:
        out = key[:i] + key[i + 1] + key[i] + key[i + 2:]
    else:
        out = key[:i] + key[i].upper() + key[i + 1:]
    return out if out != key else key + "s"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_misspelled_container_key_is_named_with_the_valid_one(tmp_path_factory, data):
    case = data.draw(st.sampled_from(sorted(_DOCS)))
    doc, where, keys = _DOCS[case]
    key = data.draw(st.sampled_from(keys))
    wrong = _misspell(key, data)
    doc = json.loads(json.dumps(doc))
    target = doc
    if case.startswith("openpose") and where:
        target = doc["people"][where[0]]
    else:
        for step in where:
            target = target[step]
    target[wrong] = target.pop(key)
    folder = tmp_path_factory.mktemp("misspelled")
    fmt = case.split("-")[0]
    if fmt == "openpose":
        path = folder / "clip_000000000000_keypoints.json"
        path.write_text(json.dumps(doc))
        path = folder
    else:
        path = folder / "poses.json"
        path.write_text(json.dumps(doc))
    with pytest.raises(ForeignFormatError) as err:
        read_poses(path, fmt, Placement(frame_size=(W, H)))
    message = str(err.value)
    assert "\n" not in message
    assert f"missing required field '{key}'" in message and f"(the object has {wrong!r})" in message
