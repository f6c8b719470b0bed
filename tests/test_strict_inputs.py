"""Hostile inputs found by an attacker: each is refused with one line naming the file or option and the field
(or, for boxes outside the frame, dropped with one warning), never an internal error or a silent coercion."""
from __future__ import annotations

import json
import logging
import math
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import posetrack
from posetrack.config import config_path, yaml_load
from posetrack.pose.detector import load_boxes
from posetrack.rendering.draw import DrawStyle
from posetrack.errors import ConfigError, InputError, SourceError
from posetrack.rendering.render import select_ids
from posetrack.pipeline.runner import RunOptions
from posetrack.io.source_list import expand_sources
from posetrack.tracksfile.codec import TracksFormatError, read_tracks, write_tracks
from posetrack_cli import cli
from helpers.render_data import make_clip, make_tracks

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = ROOT / "tests" / "data" / "eval-parity" / "public"       # origin: tests/data/README.md
SMALL2018 = ROOT / "tests" / "data" / "eval-parity" / "small2018"


def invoke(*args):
    return CliRunner().invoke(cli, [*map(str, args)], terminal_width=100)


def one_error_line(result, code=1) -> str:
    """The single 'Error:' line of a failed command; no traceback, no internal error."""
    assert result.exit_code == code, result.output
    assert "internal error" not in result.output and "Traceback" not in result.output, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    return errors[0]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    d = tmp_path_factory.mktemp("strict")
    video = make_clip(d / "clip.mp4")
    write_tracks(d / "ok.json", make_tracks())
    return d, video, d / "ok.json"


def _edited(d: Path, tracks: Path, name: str, edit) -> Path:
    doc = json.loads(tracks.read_text())
    edit(doc)
    out = d / name
    out.write_text(json.dumps(doc))
    return out


# ---------------------------------------------------------------- render options and tracks-file settings

def test_only_ids_beyond_int64_is_a_usage_error_naming_the_option(clip, tmp_path):
    d, video, tracks = clip
    line = one_error_line(invoke("render", video, tracks, "-o", tmp_path / "x.mp4",
                                 "--only-ids", "99999999999999999999999"), code=2)
    assert "--only-ids" in line and "out of range" in line


def test_select_ids_ignores_ids_no_track_can_have():
    tracks = make_tracks()
    result = next(f for f in tracks.frames if f.track_ids is not None and len(f.track_ids))
    kept = select_ids(result, [10 ** 30, int(result.track_ids[0])])
    assert kept.track_ids.tolist() == [int(result.track_ids[0])]


def test_line_scale_is_bounded(clip, tmp_path):
    d, video, tracks = clip
    line = one_error_line(invoke("render", video, tracks, "-o", tmp_path / "x.mp4", "--line-scale", "1e308"), code=2)
    assert "--line-scale" in line
    with pytest.raises(ConfigError, match="line_scale"):
        DrawStyle(line_scale=1e308)
    with pytest.raises(ConfigError, match="line_scale"):
        DrawStyle(line_scale=float("nan"))
    assert DrawStyle(line_scale=100).line_scale == 100


@pytest.mark.parametrize("key, value, message", [
    ("stride", int("1" + "0" * 400), "settings.stride: expected an integer <= 10000000, got 100000000000...(401"),
    ("stride", "abc", "settings.stride: expected an integer or null, got a string"),
    ("stride", 0, "settings.stride: expected an integer >= 1, got 0"),
    ("stride", -3, "settings.stride: expected an integer >= 1, got -3"),
    ("stride", 2.5, "settings.stride: expected an integer or null, got a float"),
    ("stride", 10 ** 18, "settings.stride: expected an integer <= 10000000"),
    ("stride", True, "settings.stride: expected an integer or null, got true or false"),
    ("start", "x", "settings.start: expected an integer or null, got a string"),
    ("end", -4, "settings.end: expected an integer >= 1, got -4"),
])
def test_run_range_settings_are_validated(clip, tmp_path, key, value, message):
    d, video, tracks = clip
    bad = _edited(tmp_path, tracks, "it.json", lambda doc: doc.setdefault("settings", {}).__setitem__(key, value))
    with pytest.raises(TracksFormatError) as err:
        read_tracks(bad)
    assert str(bad) in str(err.value) and message in str(err.value)
    line = one_error_line(invoke("render", video, bad, "-o", tmp_path / "x.mp4"))
    assert message in line and not (tmp_path / "x.mp4").exists()


def test_settings_end_must_follow_start(clip, tmp_path):
    d, _, tracks = clip
    bad = _edited(tmp_path, tracks, "it.json", lambda doc: doc.setdefault("settings", {}).update(start=5, end=3))
    with pytest.raises(TracksFormatError, match="settings.end: must be greater than settings.start"):
        read_tracks(bad)


def test_a_valid_settings_stride_is_used_by_render(clip, tmp_path):
    d, video, tracks = clip
    good = _edited(tmp_path, tracks, "it.json", lambda doc: doc.setdefault("settings", {}).update(stride=3, end=None))
    result = invoke("render", video, good, "-o", tmp_path / "x.mp4")
    assert result.exit_code == 0, result.output
    assert "(1 frame in 3 of 25 fps)" in result.output


# ---------------------------------------------------------------- tracks files: scores, labels, other formats

def test_box_scores_are_bounded_like_keypoint_scores(clip, tmp_path):
    d, _, tracks = clip

    def huge(doc):
        doc["frames"][0]["people"][0]["score"] = 1e300

    with pytest.raises(TracksFormatError, match=r"frame 0, person 0, score: expected a number <= 100000.0, got 1e\+300"):
        read_tracks(_edited(tmp_path, tracks, "it.json", huge))


def _invert(doc):
    doc["frames"][1]["people"][0]["bbox"] = [100, 100, 10, 10]


def _skeleton(doc):
    doc["skeleton"] = [[0, 99]]


def _beyond(doc):
    doc["frames"][-1]["frame"] = doc["video"]["frames"] + 500


def _time_back(doc):
    doc["frames"][2]["time"], doc["frames"][1]["time"] = 0.5, 0.9


@pytest.mark.parametrize("edit, message", [
    (_invert, r"frame 1, person 0, bbox: expected \[x1, y1, x2, y2\] with x2 >= x1"),
    (_skeleton, r"skeleton\[0\]: joint 99 does not exist"),
    (_beyond, r"frame \d+: beyond the video's \d+ frames \(video.frames\)"),
    (_time_back, r"frame 2, time: 0.5 s is earlier than frame 1's 0.9 s"),
])
def test_inconsistent_tracks_files_are_refused(clip, tmp_path, edit, message):
    """Siblings the attacker found accepted silently: an inverted box, a skeleton joint that does not
    exist, a frame past the video's end, times going back."""
    d, video, tracks = clip
    path = _edited(tmp_path, tracks, "it.json", edit)
    with pytest.raises(TracksFormatError, match=message):
        read_tracks(path)
    line = one_error_line(invoke("track", path, "-o", tmp_path / "o.json", "--quiet"))
    assert "it.json" in line


def test_a_huge_frame_number_is_shortened_in_the_label(clip, tmp_path):
    d, _, tracks = clip

    def huge(doc):
        doc["frames"][1]["frame"] = int("7" * 400)

    with pytest.raises(TracksFormatError) as err:
        read_tracks(_edited(tmp_path, tracks, "it.json", huge))
    assert "7" * 30 not in str(err.value) and "frame 777777777777...(400 characters)" in str(err.value)


@pytest.mark.parametrize("path, kind", [
    (PUBLIC / "gt" / "005629_mpii_test.json", "PoseTrack 2017 (annolist)"),
    (SMALL2018 / "gt" / "001148_mpii_test.json", "PoseTrack 2018 (images + annotations)"),
])
def test_a_posetrack_file_is_named_as_one(clip, tmp_path, path, kind):
    d, video, _ = clip
    with pytest.raises(TracksFormatError, match=re.escape(f"this is a {kind} annotation file")):
        read_tracks(path)
    for args in (("render", video, path, "-o", tmp_path / "x.mp4"), ("track", path, "-o", tmp_path / "t.json")):
        assert "posetrack eval" in one_error_line(invoke(*args))


def test_read_tracks_of_a_folder_is_one_format_error(tmp_path):
    with pytest.raises(TracksFormatError, match="is a folder; a tracks file"):
        read_tracks(tmp_path)


# ---------------------------------------------------------------- list files, export

def test_a_list_file_that_is_not_utf8_names_the_file_and_line(tmp_path):
    lst = tmp_path / "l.txt"
    lst.write_bytes(b"# sources\n\xff\xfe\x00bad\n")
    with pytest.raises(SourceError, match=r"l.txt, line 2: not UTF-8 text \(invalid byte 0xff\)"):
        expand_sources([str(lst)])
    line = one_error_line(invoke("run", lst, "--out-dir", tmp_path / "o", "--boxes-dir", tmp_path, "--device", "cpu",
                                 "--quiet"))
    assert "not UTF-8" in line


def test_export_opset_beyond_the_exporter_is_refused_before_exporting(tmp_path):
    pytest.importorskip("onnx")
    out = tmp_path / "t.onnx"
    line = one_error_line(invoke("export", "--seeded", "--pose-model", "hrnet_tiny_128x96", "-o", out,
                                 "--opset", "30"))
    assert "opset=30 is out of range" in line and "--opset 30" in line
    assert not out.exists()


# ---------------------------------------------------------------- boxes files

def _boxes(tmp_path, entries) -> Path:
    path = tmp_path / "dets.json"
    path.write_text(json.dumps(entries))
    return path


def test_boxes_outside_the_frame_or_under_a_pixel_are_dropped_with_one_warning(tmp_path, caplog):
    path = _boxes(tmp_path, [
        {"image_id": 0, "bbox": [-90000, -90000, 10, 10], "score": 0.9},   # wholly outside
        {"image_id": 0, "bbox": [10, 10, 1e-30, 1e-30], "score": 0.9},     # under 1 px
        {"image_id": 0, "bbox": [200, 10, 20, 20], "score": 0.9},          # right of a 160 px frame
        {"image_id": 0, "bbox": [-10, -10, 20, 20], "score": 0.8},         # overlaps the corner: kept whole
        {"image_id": 1, "bbox": [150, 110, 40, 40], "score": 0.7},         # overlaps the far corner: kept
    ])
    with caplog.at_level(logging.WARNING, logger="posetrack.pose.detector"):
        boxes = load_boxes(path, num_frames=2, frame_size=(160, 120))
    np.testing.assert_array_equal(boxes[0].boxes, [[-10, -10, 10, 10]])
    np.testing.assert_array_equal(boxes[1].boxes, [[150, 110, 190, 150]])
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].getMessage() == (f"{path}: dropped 3 boxes (1 less than 1 px wide or high, "
                                        "2 wholly outside the 160x120 frame)")
    assert len(load_boxes(path, num_frames=2)[0]) == 3      # no frame size: only the tiny box goes


def test_a_run_gives_no_pose_for_boxes_outside_the_frame(tmp_path):
    from helpers.api_data import H, W, make_video, tiny_options

    data = make_video(tmp_path / "v")
    entries = json.loads(Path(data["boxes"]).read_text())
    entries += [{"image_id": 0, "bbox": [-90000, -90000, 10, 10], "score": 0.99, "category_id": 1},
                {"image_id": 0, "bbox": [10, 10, 1e-30, 1e-30], "score": 0.99, "category_id": 1}]
    boxes = _boxes(tmp_path, entries)
    options = {**tiny_options(data), "boxes_file": str(boxes), "tracker_mode": "none", "end": 1}
    results = list(posetrack.track(data["video"], **options))
    assert len(results) == 1 and len(results[0]) == 2          # the video's two figures only
    assert (results[0].poses.boxes[:, 2] > 0).all() and (results[0].poses.boxes[:, 0] < W).all()
    assert (results[0].poses.boxes[:, 3] > 0).all() and (results[0].poses.boxes[:, 1] < H).all()


# ---------------------------------------------------------------- eval thresholds and inputs

@pytest.mark.parametrize("flag, value", [("--joint-thr", "nan"), ("--box-thr", "inf"), ("--box-thr", "1e400"),
                                         ("--joint-thr", "-1e6")])
def test_eval_thresholds_must_be_finite_and_in_range(flag, value):
    line = one_error_line(invoke("eval", "--gt", PUBLIC / "gt", "--pred", PUBLIC / "pred", flag, value))
    assert flag.lstrip("-").replace("-", "_") in line and "out of range" in line


@pytest.mark.parametrize("kwargs", [{"joint_thr": float("nan")}, {"box_thr": math.inf}, {"box_thr": "0.5"},
                                    {"joint_thr": True}, {"workers": 0}])
def test_evaluate_refuses_bad_thresholds(kwargs):
    name = next(iter(kwargs))
    with pytest.raises(ConfigError, match=name):
        posetrack.evaluate(PUBLIC / "gt", PUBLIC / "pred", **kwargs)


def test_evaluate_accepts_one_gt_file_and_its_prediction_file():
    gt = PUBLIC / "gt" / "005629_mpii_test.json"
    pred = PUBLIC / "pred" / "005629_mpii_test.json"
    one = posetrack.evaluate(gt, pred)
    mapped = posetrack.evaluate({"005629_mpii_test": gt}, {"005629_mpii_test": pred})
    assert list(one.sequences) == ["005629_mpii_test"]
    np.testing.assert_array_equal(one.overall.ap, mapped.overall.ap)
    result = invoke("eval", "--gt", gt, "--pred", pred)
    assert result.exit_code == 0, result.output


def test_evaluate_of_a_missing_path_says_no_such_folder_or_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such GT folder or file"):
        posetrack.evaluate(tmp_path / "nope", PUBLIC / "pred")


# ---------------------------------------------------------------- RunOptions

@pytest.mark.parametrize("kwargs, message", [
    ({"stride": "2"}, "RunOptions.stride: expected an integer, got '2'"),
    ({"stride": 2.5}, "RunOptions.stride: expected an integer, got 2.5"),
    ({"end": float("nan")}, "RunOptions.end: expected an integer, got nan"),
    ({"end": math.inf}, "RunOptions.end: expected an integer, got inf"),
    ({"batch_size": True}, "RunOptions.batch_size: expected an integer, got True"),
    ({"stride": -1}, "RunOptions.stride: expected an integer from 1 to 10000000, got -1"),
    ({"start": 5, "end": 3}, "RunOptions.end: must be greater than start (5), got 3"),
    ({"flip": "no"}, "RunOptions.flip: expected True or False, got 'no'"),
    ({"precision": "fp8"}, "RunOptions.precision: expected one of auto, fp32, fp16, bf16, got 'fp8'"),
    ({"decode": "soft"}, "RunOptions.decode: expected one of argmax, dark"),
    ({"matching": "best"}, "RunOptions.matching: expected one of greedy, hungarian"),
    ({"flow_method": "farneback"}, "RunOptions.flow_method: expected one of dis, raft, none"),
    ({"backend": "tvm"}, "RunOptions.backend: expected one of torch, onnxruntime, tensorrt"),
    ({"pose_model": ""}, "RunOptions.pose_model: expected a non-empty string"),
    ({"device": None}, "RunOptions.device: expected a non-empty string, got None"),
])
def test_run_options_are_checked(kwargs, message):
    with pytest.raises(ConfigError) as err:
        posetrack.run_options(**kwargs)
    assert message in str(err.value)
    with pytest.raises(ConfigError):
        RunOptions(**kwargs)


def test_track_checks_options_before_iterating():
    with pytest.raises(ConfigError, match="RunOptions.stride"):
        posetrack.track("video.mp4", stride="2")     # raised at the call, not at the first frame


def test_run_options_accept_paths_and_every_cli_default(tmp_path):
    opts = posetrack.run_options(boxes_file=tmp_path / "d.json", pose_weights=tmp_path / "w.pth")
    assert opts.boxes_file == str(tmp_path / "d.json") and isinstance(opts.pose_weights, str)
    assert RunOptions() == posetrack.run_options()
    posetrack.run_options(matching="hungarian", flow_method="none", decode="dark", precision="bf16",
                          backend="onnxruntime", end=10, start=9, stride=10_000_000)


def test_cli_start_after_end_is_one_line(clip, tmp_path):
    line = one_error_line(invoke("run", clip[1], "-o", tmp_path / "t.json", "--start", 5, "--end", 3,
                                 "--device", "cpu", "--quiet"))
    assert "end" in line and "start (5)" in line


# ---------------------------------------------------------------- YAML configs

def test_yaml_reads_exponent_floats_as_numbers():
    doc = yaml_load("a: 5e-1\nb: 1e3\nc: -2E+2\nd: 1.5\ne: 12\nf: .inf\ng: abc\nh: 1e\n")
    assert doc == {"a": 0.5, "b": 1000.0, "c": -200.0, "d": 1.5, "e": 12, "f": math.inf, "g": "abc", "h": "1e"}
    assert isinstance(doc["e"], int)


def test_tracker_config_with_an_exponent_float(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("tracker:\n  box_score: 5e-1\n  min_similarity: 3e-1\n")
    tracker = posetrack.build_tracker(str(cfg))
    assert tracker.config.box_score == 0.5 and tracker.config.min_similarity == 0.3


def test_config_paths_say_no_such_file_and_any_suffix_is_read(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match=r"missing.yaml: no such file$"):
        config_path(str(tmp_path / "missing.yaml"))
    with pytest.raises(ConfigError, match=r"^missing.yml: no such file$"):
        config_path("missing.yml")
    with pytest.raises(ConfigError, match="no config named 'trackr' \\(did you mean 'tracker'\\?\\)"):
        config_path("trackr")
    txt = tmp_path / "cfg.txt"
    txt.write_text("tracker:\n  queue: 7\n")
    assert config_path(str(txt)) == txt
    monkeypatch.chdir(tmp_path)
    assert config_path("cfg.txt") == Path("cfg.txt")
    assert posetrack.build_tracker("cfg.txt").config.queue == 7
    assert config_path("tracker").parent.name == "configs"       # a shipped name still wins


def test_cli_tracker_config_missing_file_is_one_line(clip, tmp_path):
    _, _, tracks = clip
    line = one_error_line(invoke("track", tracks, "-o", tmp_path / "t.json", "--tracker-config",
                                 tmp_path / "missing.yaml"))
    assert "missing.yaml: no such file" in line and "shipped configs" not in line


def test_input_error_family_is_used():
    assert issubclass(TracksFormatError, InputError)


def test_second_attacker_pass_siblings(tmp_path):
    """An empty preset in a config file, a One-Euro cutoff of 0, refinement without a tracker, and one
    prediction file for a GT folder are refused with one line (found by a second attacker pass)."""
    from posetrack.tracking.tracker import load_tracking_config

    empty = tmp_path / "e.yaml"
    empty.write_text('preset: ""\n')
    with pytest.raises(ConfigError, match=r"e.yaml: preset: an empty tracker preset name"):
        load_tracking_config(str(empty))
    frozen = tmp_path / "f.yaml"
    frozen.write_text("tracker:\n  refine: {smooth: true, smooth_min_cutoff: 0}\n")
    with pytest.raises(ConfigError, match=r"smooth_min_cutoff must be above 0"):
        load_tracking_config(str(frozen))
    with pytest.raises(ConfigError, match=r"RunOptions.refine: refinement works on tracks"):
        RunOptions(tracker_mode="none", refine=True)
    one = next((PUBLIC / "pred").glob("*.json"))
    with pytest.raises(InputError, match=r"a single prediction file for the GT folder"):
        posetrack.evaluate(PUBLIC / "gt", one)
    line = one_error_line(invoke("eval", "--gt", PUBLIC / "gt", "--pred", one))
    assert one.name in line


def test_render_force_never_writes_a_frame_through_a_link_to_an_input(clip, tmp_path):
    """A frames folder whose frame_000001.png links to the tracks file: --force must not overwrite the input."""
    d, video, tracks = clip
    mine = tmp_path / "in.json"
    mine.write_bytes(tracks.read_bytes())
    folder = tmp_path / "fd"
    folder.mkdir()
    (folder / "frame_000001.png").symlink_to(mine)
    line = one_error_line(invoke("render", video, mine, "--frames-dir", folder, "--force"))
    assert "would overwrite the input" in line and mine.read_bytes() == tracks.read_bytes()
