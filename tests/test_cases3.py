"""The round-3 cases of tracks files and video sources (issue 17), each with the behaviour it must have now.

Each case stands for a kind of fault, so each test also tries siblings the case does not cover. The
video cases are generated here (the same kinds of fault, nothing read from outside the checkout);
the tracks-file case is copied into tests/data/cases/tracks3 (origins: tests/data/README.md).
"""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from helpers.data import CASES
from posetrack.models.registry import build_pose_model
from posetrack_cli import cli

W, H = 96, 64


def invoke(*args):
    return CliRunner().invoke(cli, [*map(str, args)], terminal_width=200)


def one_error_line(result) -> str:
    """The command failed with exit 1 and exactly one 'Error:' line, no traceback."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, result.output
    return lines[0]


def sprite_frame(i: int) -> np.ndarray:
    img = np.full((H, W, 3), 90, np.uint8)
    img[10:50, 10 + 2 * i:30 + 2 * i] = np.random.default_rng(0).integers(0, 255, (40, 20, 3), dtype=np.uint8)
    return img


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    """Seeded tiny-model weights and a boxes file with one person box in each of 6 frames."""
    d = tmp_path_factory.mktemp("cases3")
    torch.manual_seed(0)
    state = build_pose_model("hrnet_tiny_128x96").state_dict()
    state["final_layer.bias"] += 1.0
    torch.save(state, d / "pose.pth")
    (d / "boxes.json").write_text(json.dumps([{"image_id": t, "bbox": [10 + 2 * t, 10, 20, 40], "score": 0.95}
                                              for t in range(6)]))
    return d


def run(d, source, *args):
    return invoke("run", source, "--boxes", d / "boxes.json", "--pose-model", "hrnet_tiny_128x96",
                  "--pose-weights", d / "pose.pth", "--device", "cpu", "--quiet", *args)


# ----------------------------------------------------------------------------- video3/

def _png_with_bad_crc(image: np.ndarray) -> bytes:
    data = bytearray(cv2.imencode(".png", image)[1].tobytes())
    data[50] ^= 0xFF                                             # inside IDAT: its CRC no longer matches
    return bytes(data)


DAMAGED = {
    # the case: a PNG signature followed by random bytes (OpenCV printed "[ WARN:…] grfmt_png.cpp" and "[ERROR:…]")
    "png-signature-then-random-bytes": (".png", lambda im: b"\x89PNG\r\n\x1a\n" + np.random.default_rng(3).bytes(300)),
    # siblings: libpng and libjpeg print past OpenCV's log level; a TIFF and an empty file go through OpenCV
    "png-cut-off": (".png", lambda im: cv2.imencode(".png", im)[1].tobytes()[:300]),
    "png-bad-crc": (".png", _png_with_bad_crc),
    "jpeg-cut-off": (".jpg", lambda im: cv2.imencode(".jpg", im)[1].tobytes()[:400]),
    "tiff-garbage": (".tif", lambda im: b"II*\x00" + np.random.default_rng(4).bytes(200)),
    "empty-file": (".png", lambda im: b""),
}


@pytest.mark.parametrize("fault", list(DAMAGED))
def test_a_damaged_image_in_a_folder_gives_only_our_line(d, tmp_path, capfd, fault):
    """folder-with-corrupt-png: exit 1 with one line naming the image and its frame, and no decoder lines
    ("[ WARN:…]", "[ERROR:…]", "libpng error", "Corrupt JPEG data") on the process's stderr."""
    suffix, make = DAMAGED[fault]
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(6):
        cv2.imwrite(str(folder / f"{i:06d}.png"), sprite_frame(i))
    (folder / "000003.png").unlink()
    (folder / f"000003{suffix}").write_bytes(make(sprite_frame(3)))
    capfd.readouterr()
    line = one_error_line(run(d, folder, "--out", tmp_path / "t.json"))
    assert f"{folder / f'000003{suffix}'}: cannot read this image (frame 3 of the folder;" in line
    raw = capfd.readouterr()
    for noise in ("[ WARN", "[ERROR", "libpng", "JPEG", "grfmt"):
        assert noise not in raw.err and noise not in raw.out, raw.err


def test_structure_checks_accept_every_intact_image():
    from posetrack.io.decoders.image_check import image_damage

    image = sprite_frame(2)
    for suffix in (".png", ".jpg", ".bmp", ".tif", ".webp"):
        assert image_damage(cv2.imencode(suffix, image)[1].tobytes()) is None, suffix
    assert image_damage(cv2.imencode(".png", image)[1].tobytes() + b"trailing bytes") is None


def test_an_mp4_cut_by_stream_copy_shows_its_edit_list_frames_and_is_complete(d, tmp_path, caplog):
    """AlphaPose #1173: a clip cut by stream copy states 24 frames and shows 19; every frame shown is read,
    the file says complete with 19 frames, and nothing is reported as cut off."""
    from posetrack.io.video import open_source
    from helpers.videos import stream_copy_cut, which, write_video

    full = write_video(tmp_path / "full.mp4", n=24, size=(W, H), fps=25, gop=10)
    clip = stream_copy_cut(full, tmp_path / "clip.mp4", 5, 25)
    with open_source(clip) as src:
        frames = list(src)
        assert src.info.frames == 19 and src.truncated_at is None
    assert [f.index for f in frames] == list(range(19)) and [which(f.image) for f in frames] == list(range(5, 24))
    assert frames[0].time == pytest.approx(0.0) and frames[-1].time == pytest.approx(18 / 25, abs=1e-3)
    assert "decoding failed" not in caplog.text
    out = tmp_path / "clip.json"
    (tmp_path / "b.json").write_text(json.dumps([{"image_id": t, "bbox": [10, 10, 20, 40], "score": 0.95}
                                                 for t in range(19)]))
    result = invoke("run", clip, "--boxes", tmp_path / "b.json", "--pose-model", "hrnet_tiny_128x96",
                    "--pose-weights", d / "pose.pth", "--device", "cpu", "--quiet", "--no-flip", "--out", out)
    assert result.exit_code == 0 and "decoding failed" not in result.output, result.output
    data = json.loads(out.read_text())
    assert data["status"] == "complete" and data["video"]["frames"] == 19 and len(data["frames"]) == 19


# ----------------------------------------------------------------------------- tracks3/

TRACKS3 = CASES / "tracks3"


@pytest.fixture(scope="module")
def video_640x480(tmp_path_factory):
    """A 16-frame 640x480 clip at 25 fps: the video the tracks3 case was made on, in size, length and rate."""
    from helpers.videos import write_video

    return write_video(tmp_path_factory.mktemp("v") / "video.mp4", n=16, size=(640, 480), fps=25)


@pytest.mark.parametrize("command", ["track", "render"])
def test_a_misspelled_people_key_names_the_file_the_frame_and_the_key(tmp_path, video_640x480, command):
    """people-key-misspelled: frame 5 spells `peopl`. It was read as a frame without people (`track` filled it
    back in as interpolated poses); now both commands exit 1 naming the file, frame 5, the key and `people`."""
    tracks = TRACKS3 / "people-key-misspelled" / "tracks.json"
    args = ["track", tracks, "--out", tmp_path / "o.json", "--quiet"] if command == "track" else \
        ["render", video_640x480, tracks, "-o", tmp_path / "r.mp4"]
    line = one_error_line(invoke(*args))
    assert f"{tracks}: frame 5: unknown key 'peopl' (did you mean 'people'?)" in line
    assert not (tmp_path / "o.json").exists() and not (tmp_path / "r.mp4").exists()


@pytest.mark.parametrize("level, edit, words", [
    ("top", ("status", "stauts"), "top level: unknown key 'stauts' (did you mean 'status'?)"),
    ("video", ("fps", "fsp"), "video: unknown key 'fsp' (did you mean 'fps'?)"),
    ("frame", ("time", "tiem"), "frame 3: unknown key 'tiem' (did you mean 'time'?)"),
    ("person", ("track_id", "trackid"), "frame 3, person 1: unknown key 'trackid' (did you mean 'track_id'?)"),
    ("person", ("interpolated", "interpolate"), "frame 3, person 1: unknown key 'interpolate'"),
])
def test_siblings_a_misspelled_key_at_every_level_of_a_tracks_file(tmp_path, level, edit, words):
    from posetrack.tracksfile.codec import TracksFormatError
    from posetrack.tracksfile.codec import read_tracks

    doc = json.loads((TRACKS3 / "people-key-misspelled" / "tracks.json").read_text())
    doc["frames"][5]["people"] = doc["frames"][5].pop("peopl")           # the case, repaired
    node = {"top": doc, "video": doc["video"], "frame": doc["frames"][3],
            "person": doc["frames"][3]["people"][1]}[level]
    old, new = edit
    node[new] = node.pop(old, True)
    path = tmp_path / "t.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(TracksFormatError) as e:
        read_tracks(path)
    assert str(e.value).startswith(f"{path}: {words}")


def test_free_form_settings_keep_any_key(tmp_path):
    from posetrack.tracksfile.codec import read_tracks

    doc = json.loads((TRACKS3 / "people-key-misspelled" / "tracks.json").read_text())
    doc["frames"][5]["people"] = doc["frames"][5].pop("peopl")
    doc["settings"]["my_note"] = {"anything": [1, 2]}
    (tmp_path / "t.json").write_text(json.dumps(doc))
    assert read_tracks(tmp_path / "t.json").header.settings["my_note"] == {"anything": [1, 2]}


# ----------------------------------------------------------------------------- video3/, by description

def test_a_file_name_that_is_not_utf8_round_trips_through_the_journal_and_the_tracks_file(d, tmp_path, monkeypatch):
    """`bad\\xffname.mp4` (legal on Linux): the run used to finish every frame and then fail with
    UnicodeEncodeError at the final write, leaving the journal behind. Now the tracks file holds the name as
    os.fsdecode text (U+DCFF, written as the escape \\udcff), which reads back to the same bytes; an interrupted
    run resumes from its journal to the same file; `track` and `render` read it."""
    import os

    import posetrack.tracksfile.journal as journal
    from posetrack.tracksfile.codec import read_tracks
    from helpers.videos import write_video

    name = os.fsdecode(b"bad\xffname.mp4")
    try:
        video = write_video(tmp_path / name, n=6, size=(W, H), fps=10)
    except (OSError, UnicodeError):
        pytest.skip("this file system refuses names that are not UTF-8")
    args = ["run", video, "--boxes", d / "boxes.json", "--pose-model", "hrnet_tiny_128x96", "--pose-weights",
            d / "pose.pth", "--device", "cpu", "--quiet", "--no-flip", "--frame-batch", "2"]
    whole = invoke(*args, "--out", tmp_path / "whole.json")
    assert whole.exit_code == 0, whole.output
    raw = (tmp_path / "whole.json").read_bytes()
    assert b"bad\\udcffname.mp4" in raw and raw.decode("utf-8")                   # valid UTF-8 JSON
    assert os.fsencode(read_tracks(tmp_path / "whole.json").header.video.path) == os.fsencode(str(video))
    assert not journal.journal_path(tmp_path / "whole.json").exists()

    real, calls = journal.Journal.frame, {"n": 0}

    def frame(self, result):                   # Ctrl-C while the fifth frame is journaled
        calls["n"] += 1
        if calls["n"] > 4:
            raise KeyboardInterrupt
        real(self, result)

    monkeypatch.setattr(journal.Journal, "frame", frame)
    assert invoke(*args, "--out", tmp_path / "t.json").exit_code == 130
    monkeypatch.undo()
    assert journal.journal_path(tmp_path / "t.json").exists()
    resumed = invoke(*args, "--out", tmp_path / "t.json", "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert (tmp_path / "t.json").read_bytes() == raw
    assert invoke("track", tmp_path / "t.json", "--out", tmp_path / "re.json", "--quiet").exit_code == 0
    rendered = invoke("render", video, tmp_path / "t.json", "-o", tmp_path / os.fsdecode(b"r\xff.mp4"))
    assert rendered.exit_code == 0, rendered.output


# ----------------------------------------------------------------------------- issue 17, point 5

@pytest.mark.parametrize("with_video", [False, True])
def test_track_keeps_each_frames_time(tmp_path, video_640x480, with_video):
    """`posetrack track` used to drop every frame's `time`; the re-tracked file keeps the input's times
    (variable gaps here, as a VFR source gives) and leaves a frame without one without one."""
    doc = json.loads((TRACKS3 / "people-key-misspelled" / "tracks.json").read_text())
    doc["frames"][5]["people"] = doc["frames"][5].pop("peopl")           # the case, repaired
    times = [0.0, 0.033, 0.066, 0.3, 0.5, 0.533, 0.9, 1.0, 1.2, 1.25, 1.3, 1.5, 1.6, 1.7, 1.8, 2.0]
    for frame, t in zip(doc["frames"], times):
        frame["time"] = t
    del doc["frames"][7]["time"]
    times[7] = None
    src = tmp_path / "in.json"
    src.write_text(json.dumps(doc))
    video = ["--video", video_640x480] if with_video else []
    result = invoke("track", src, *video, "--out", tmp_path / "out.json", "--quiet")
    assert result.exit_code == 0, result.output
    out = json.loads((tmp_path / "out.json").read_text())
    assert [f.get("time") for f in out["frames"]] == times


# ----------------------------------------------------------------------------- output faults, interrupts, names

@pytest.fixture()
def clip(d, tmp_path):
    """A 6-frame clip with the module's boxes file, and `run`'s arguments for it (tiny model, CPU)."""
    from helpers.videos import write_video

    video = write_video(tmp_path / "clip.mp4", n=6, size=(W, H), fps=10)
    return video, ["--boxes", d / "boxes.json", "--pose-model", "hrnet_tiny_128x96", "--pose-weights",
                   d / "pose.pth", "--device", "cpu", "--no-flip"]


def _read_only(folder, monkeypatch):
    """``folder`` made read-only; as root (who may write anyway) the write-permission check is told so."""
    import os

    folder.mkdir(exist_ok=True)
    folder.chmod(0o555)
    if os.access(folder, os.W_OK):
        import posetrack.io.guard as guard

        real = os.access
        monkeypatch.setattr(guard.os, "access", lambda p, mode: False if str(p) == str(folder) else real(p, mode))


def test_outputs_in_a_read_only_folder_fail_before_any_work(d, clip, tmp_path, monkeypatch):
    """render into a read-only folder used to render every frame, then fail with "[Errno 30]" and no path."""
    video, args = clip
    assert invoke("run", video, *args, "--quiet", "--out", tmp_path / "t.json").exit_code == 0
    ro = tmp_path / "ro"
    _read_only(ro, monkeypatch)
    for command in (["render", video, tmp_path / "t.json", "-o", ro / "r.mp4"],
                    ["track", tmp_path / "t.json", "--out", ro / "t.json", "--quiet"],
                    ["run", video, *args, "--quiet", "--out", ro / "t.json"],
                    ["run", video, *args, "--quiet", "--out", tmp_path / "t2.json", "--render", ro / "r.mp4"]):
        result = invoke(*command)
        line = one_error_line(result)
        assert f": cannot write into the folder {ro}" in line and str(ro) + "/" in line, line
        assert "rendering" not in result.output and "tracking" not in result.output    # nothing was done first
    ro.chmod(0o755)


@pytest.mark.parametrize("command", ["run", "render", "track", "export", "eval", "convert", "edit", "review",
                                     "run --export-mot", "track --export-sleap"])
def test_an_output_that_is_a_folder_is_one_line_naming_it(d, clip, tmp_path, command):
    video, args = clip
    folder = tmp_path / "a folder"
    folder.mkdir()
    if command != "run":
        assert invoke("run", video, *args, "--quiet", "--out", tmp_path / "t.json").exit_code == 0
    argv = {"run": ["run", video, *args, "--out", folder],
            "render": ["render", video, tmp_path / "t.json", "-o", folder],
            "track": ["track", tmp_path / "t.json", "--out", folder],
            "export": ["export", "--seeded", "--pose-model", "hrnet_tiny_128x96", "--out", folder],
            "eval": ["eval", "--gt", tmp_path, "--pred", tmp_path, "--json", folder],
            "convert": ["convert", tmp_path / "t.json", "--to", "mot", "--out", folder],
            "edit": ["edit", tmp_path / "t.json", "--out", folder, "delete", "0"],
            "review": ["review", video, tmp_path / "t.json", "--no-browser", "--out", folder],
            "run --export-mot": ["run", video, *args, "--out", tmp_path / "t2.json", "--export-mot", folder],
            "track --export-sleap": ["track", tmp_path / "t.json", "--out", tmp_path / "t2.json",
                                     "--export-sleap", folder]}[command]
    result = invoke(*argv)
    assert result.exit_code == 1 and "Usage:" not in result.output, result.output
    flag = {"eval": "--json", "run --export-mot": "--export-mot", "track --export-sleap": "--export-sleap"}.get(
        command, "--out")
    assert one_error_line(result) == f"Error: {folder}: is a folder; {flag} takes a file name"


@pytest.mark.parametrize("when", ["while the models load", "at the first frame"])
def test_ctrl_c_before_the_first_frame_is_journaled_does_not_advise_resume(d, clip, tmp_path, monkeypatch, when):
    """It used to print "Continue with: ... --resume", and that command failed with "nothing to resume"."""
    import posetrack.pipeline.runner as runner
    import posetrack.tracksfile.journal as journal

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    if when == "while the models load":
        monkeypatch.setattr(runner, "load_models", interrupt)
    else:
        monkeypatch.setattr(journal.Journal, "frame", interrupt)
    video, args = clip
    out = tmp_path / "t.json"
    result = invoke("run", video, *args, "--quiet", "--out", out)
    assert result.exit_code == 130 and "--resume" not in result.output, result.output
    assert "nothing to keep or resume; run the command again" in result.output
    monkeypatch.undo()
    again = invoke("run", video, *args, "--quiet", "--out", out)         # the advice works
    assert again.exit_code == 0, again.output


def test_paths_with_square_brackets_are_printed_literally(d, clip, tmp_path):
    """`clip [take 2].mp4` disappeared from messages (read as console markup), and an output path with `[/b]`
    crashed a finished run with MarkupError."""
    import shutil

    video, args = clip
    source = tmp_path / "clip [take 2].mp4"
    shutil.copy(video, source)
    out = tmp_path / "o[/b]" / "t [red]x[/red].json"
    result = invoke("run", source, *args, "--out", out)
    assert result.exit_code == 0, result.output
    assert f"-> {out}" in result.output and "Traceback" not in result.output
    batch = invoke("run", source, *args[2:], "--boxes-dir", tmp_path / "boxes [b]", "--out-dir", tmp_path / "[/i]")
    assert f"{tmp_path / 'boxes [b]'}" in batch.output                # its error names the folder as typed
    (tmp_path / "[bold]bad[red].json").write_text("{")
    line = one_error_line(invoke("track", tmp_path / "[bold]bad[red].json", "--out", tmp_path / "x.json"))
    assert f"{tmp_path / '[bold]bad[red].json'}: not valid JSON" in line


def test_off_a_terminal_lines_do_not_wrap_and_the_bar_ends_on_the_summarys_rate(d, clip, tmp_path):
    """Log and summary lines wrapped mid-path at 80 columns when the output was not a terminal; the progress
    bar's fps (a moving rate) and the summary's fps (including start-up) disagreed."""
    import re

    video, args = clip
    out = tmp_path / ("a-long-folder-name-" * 4) / "tracks.json"
    result = invoke("run", video, *args, "--out", out)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.endswith(f"tracks -> {out}") for line in lines), result.output
    assert any(line.startswith("INFO") and line.endswith(f"{d / 'pose.pth'} (386 tensors, key layout: as saved)")
               for line in lines), result.output
    bar = re.findall(r"frames .* 6/6\s+(\S+ (?:fps|s/frame))", result.output)
    row = re.findall(r"frames\s+│\s+[\d.]+\s+│\s+(\S+ (?:fps|s/frame))\s+│", result.output)
    assert bar and row and bar[-1] == row[0], result.output


def test_run_render_takes_trails_as_render_does(d, clip, tmp_path):
    from helpers.resume_runs import decoded_frames

    video, args = clip
    out = tmp_path / "t.json"
    result = invoke("run", video, *args, "--quiet", "--out", out, "--render", tmp_path / "run.mp4", "--trails", "5")
    assert result.exit_code == 0, result.output
    assert invoke("render", video, out, "-o", tmp_path / "render.mp4", "--trails", "5").exit_code == 0
    assert invoke("render", video, out, "-o", tmp_path / "plain.mp4").exit_code == 0
    drawn, same, plain = (decoded_frames(tmp_path / f"{n}.mp4") for n in ("run", "render", "plain"))
    assert np.array_equal(drawn, same) and not np.array_equal(drawn, plain)
    alone = invoke("run", video, *args, "--out", tmp_path / "u.json", "--trails", "5")
    assert alone.exit_code == 2 and "--trails draws into the annotated video: give --render too" in alone.output


@pytest.mark.parametrize("batch", [False, True])
def test_a_bad_box_score_is_reported_before_any_weights_are_fetched_or_loaded(clip, tmp_path, monkeypatch, batch):
    """A newcomer waited for the default weights to download, then learned the boxes file's scores were percentages."""
    import posetrack.pipeline.runner as runner
    import posetrack.pipeline.weights as weights

    def not_yet(*args, **kwargs):
        raise AssertionError("weights fetched or loaded before the boxes file was checked")

    monkeypatch.setattr(weights, "fetch_weights", not_yet)
    monkeypatch.setattr(runner, "load_models", not_yet)
    video, _ = clip
    boxes = tmp_path / "boxes"
    boxes.mkdir()
    (boxes / "clip.json").write_text(json.dumps([{"image_id": 0, "bbox": [1, 2, 30, 40], "score": 97}]))
    where = ["--boxes-dir", boxes, "--out-dir", tmp_path / "out"] if batch else \
        ["--boxes", boxes / "clip.json", "--out", tmp_path / "t.json"]
    line = one_error_line(invoke("run", video, *where))                 # the default W48 and detector
    assert f"{boxes / 'clip.json'}: entry 0, score: expected a number <= 1.0, got 97" in line


def test_other_tools_boxes_are_checked_early_as_the_run_reads_them(d, tmp_path, monkeypatch):
    """The early check places another tool's boxes by the source: normalised Ultralytics labels need its frame
    size (checked without it, they were refused before the run could scale them); a bad det.txt fails first."""
    from pathlib import Path

    from helpers.videos import write_video

    labels = Path(__file__).parent / "data" / "formats" / "ultralytics_labels"      # 12 frames of 320x240
    video = write_video(tmp_path / "clip.mp4", n=12, size=(320, 240), fps=25)
    args = ["--pose-model", "hrnet_tiny_128x96", "--pose-weights", d / "pose.pth", "--device", "cpu", "--quiet"]
    result = invoke("run", video, "--boxes", labels, "--tracker", "none", "--out", tmp_path / "t.json", *args)
    assert result.exit_code == 0, result.output
    assert all(len(f["people"]) == 2 for f in json.loads((tmp_path / "t.json").read_text())["frames"])

    import posetrack.pipeline.runner as runner

    monkeypatch.setattr(runner, "load_models", lambda *a, **k: pytest.fail("models loaded first"))
    (tmp_path / "det.txt").write_text("1,-1,1,2,30,40,0.9,-1,-1,-1\n2,-1,1,2,30,40,-0.3,-1,-1,-1\n")
    line = one_error_line(invoke("run", video, "--boxes", tmp_path / "det.txt", "--out", tmp_path / "u.json", *args))
    assert f"{tmp_path / 'det.txt'}: line 2, conf: expected a box score in [0, 1], got -0.3" in line


def test_the_library_checks_the_boxes_file_before_loading_models(clip, tmp_path, monkeypatch):
    import posetrack.pipeline.runner as runner
    from posetrack.errors import FormatError

    monkeypatch.setattr(runner, "load_models", lambda *a, **k: pytest.fail("models loaded first"))
    video, _ = clip
    (tmp_path / "b.json").write_text(json.dumps([{"image_id": 0, "bbox": [1, 2, 30, 40], "score": -0.5}]))
    with pytest.raises(FormatError, match="entry 0, score"):
        runner.run_video(video, tmp_path / "t.json", runner.RunOptions(boxes_file=str(tmp_path / "b.json")))


def test_a_torch_torchvision_build_mismatch_is_named_as_an_install_problem(clip, tmp_path, monkeypatch):
    """`operator torchvision::nms does not exist` (import torchvision with another build's torch) was reported
    as "internal error, a bug in posetrack ... please report it"."""
    import posetrack.pipeline.runner as runner

    def mismatched(*args, **kwargs):
        raise RuntimeError("operator torchvision::nms does not exist")

    monkeypatch.setattr(runner, "load_models", mismatched)
    video, args = clip
    line = one_error_line(invoke("run", video, *args, "--quiet", "--out", tmp_path / "t.json"))
    assert "torch and torchvision come from different builds (operator torchvision::nms does not exist)" in line
    assert "pip install --force-reinstall torch torchvision --index-url" in line and "please report" not in line


def test_on_a_cpu_run_prints_its_expected_time_and_the_faster_settings_first(clip, tmp_path, monkeypatch):
    """A newcomer's first run (default W48 and detector on a laptop) said nothing about taking hours."""
    import posetrack.pipeline.runner as runner
    import posetrack.pipeline.weights as weights
    from posetrack.errors import WeightsError

    def stop(*args, **kwargs):
        raise WeightsError("stopped where the models would be loaded")

    monkeypatch.setattr(weights, "fetch_weights", lambda *args, **kwargs: ())      # the weights are here
    monkeypatch.setattr(runner, "load_models", stop)
    video, _ = clip                                       # 6 frames
    result = invoke("run", video, "--device", "cpu", "--out", tmp_path / "t.json")
    lines = result.output.splitlines()
    estimate = next(i for i, line in enumerate(lines) if line.startswith("On the CPU, "))
    assert lines[estimate].startswith("On the CPU, w48_384x288 with the flip test and fasterrcnn_resnet50_fpn_v2 take "
                                      "about 9.9 s per frame with one person (+1.5 s per more person) on one core: "
                                      "this run's 6 frames, about ")
    assert lines[estimate + 1].startswith("Faster: --pose-model w32_256x192 --no-flip --detector "
                                          "fasterrcnn_mobilenet_v3_large_fpn --detect-every 4 (about 0.43 s per frame")
    assert estimate < next(i for i, line in enumerate(lines) if "stopped where the models would be loaded" in line)
    for quick in (["--pose-model", "w32_256x192", "--no-flip", "--detector", "fasterrcnn_mobilenet_v3_large_fpn"],
                  ["--boxes", clip[1][1]], ["--quiet"]):
        assert "On the CPU" not in invoke("run", video, "--device", "cpu", *quick, "--out", tmp_path / "u.json").output


def test_a_run_that_cannot_get_its_weights_fails_without_an_estimate_first(clip, tmp_path, monkeypatch):
    """A newcomer offline: `run` printed how long the run would take, then failed for missing weights."""
    import posetrack.pipeline.weights as weights
    from posetrack.errors import WeightsError

    def missing(*args, **kwargs):
        raise WeightsError("stopped where the weights are fetched")

    monkeypatch.setattr(weights, "fetch_weights", missing)
    result = invoke("run", clip[0], "--device", "cpu", "--out", tmp_path / "t.json")
    assert result.exit_code == 1 and "stopped where the weights are fetched" in result.output
    assert "On the CPU" not in result.output and "Faster:" not in result.output


def test_cpu_estimates_follow_the_measured_costs():
    from posetrack.pipeline.cpu_estimate import cpu_estimate, format_duration

    e = cpu_estimate("w48_384x288", True, "fasterrcnn_resnet50_fpn_v2", 1, frames=100, cores=4)
    assert (e.seconds_per_frame, e.seconds_per_person) == (8.4 + 1.5, 1.5) and e.slow
    assert e.total() == pytest.approx((100 * 9.9 / 4, 100 * 9.9))
    assert cpu_estimate("w48_384x288", False, None, frames=None).total() is None            # boxes file, live source
    assert cpu_estimate("w32_256x192", False, "fasterrcnn_mobilenet_v3_large_fpn", 4).seconds_per_frame == \
        pytest.approx(0.94 / 4 + 0.20)
    assert cpu_estimate("hrnet_tiny_128x96", True, None) is None and cpu_estimate("w32_256x192", True, "yolo") is None
    assert [format_duration(s) for s in (8, 125, 3725)] == ["8 s", "2 min 05 s", "1 h 02 min"]


# ----------------------------------------------------------------------------- issue 17, point 4

def test_the_frame_range_is_part_of_the_file_and_render_draws_that_range(clip, tmp_path):
    """`run --end 60` wrote `"frames": 795, "status": "complete"` and render drew all 795 frames, 736 of them
    without anyone. The file records its range; `render` and `posetrack.render` draw that range by default."""
    import posetrack
    from helpers.resume_runs import decoded_frames

    video, args = clip                                                   # 6 frames
    out = tmp_path / "t.json"
    assert invoke("run", video, *args, "--quiet", "--end", "3", "--out", out).exit_code == 0
    doc = json.loads(out.read_text())
    assert (doc["video"]["frames"], doc["status"], len(doc["frames"])) == (6, "complete", 3)
    assert (doc["settings"]["start"], doc["settings"]["end"], doc["settings"]["stride"]) == (0, 3, 1)
    result = invoke("render", video, out, "-o", tmp_path / "r.mp4")
    assert result.exit_code == 0 and "Wrote" in result.output and ": 3 frames (3 with people)" in result.output
    assert len(decoded_frames(tmp_path / "r.mp4")) == 3
    summary = posetrack.render(video, out, tmp_path / "api.mp4")
    assert (summary.frames, summary.frames_with_people) == (3, 3)
    assert len(decoded_frames(tmp_path / "api.mp4")) == 3
    wider = invoke("render", video, out, "-o", tmp_path / "all.mp4", "--start", "0", "--end", "6")
    assert wider.exit_code == 0 and ": 6 frames (3 with people)" in wider.output     # asked for: drawn


def test_a_poses_file_covering_part_of_a_video_renders_without_allow_mismatch(clip, tmp_path):
    import posetrack

    video, args = clip
    out = tmp_path / "t.json"
    assert invoke("run", video, *args, "--quiet", "--end", "4", "--out", out).exit_code == 0
    doc = json.loads(out.read_text())
    doc["video"]["frames"] = 4                                       # saved for the first 4 frames only
    for key in ("start", "end", "stride"):
        del doc["settings"][key]
    part = tmp_path / "part.json"
    part.write_text(json.dumps(doc))
    result = invoke("render", video, part, "-o", tmp_path / "r.mp4")
    assert result.exit_code == 0 and ": 4 frames (4 with people)" in result.output, result.output
    assert posetrack.render(video, part, tmp_path / "api.mp4").frames == 4
    doc["video"]["frames"] = 9                                       # more frames than this video has: another video
    (tmp_path / "other.json").write_text(json.dumps(doc))
    refused = invoke("render", video, tmp_path / "other.json", "-o", tmp_path / "o.mp4")
    assert refused.exit_code == 1 and "frame count: the video has 6 frames, the tracks file says 9" in refused.output


# ----------------------------------------------------------------------------- issue 17, point 8

def test_threads_sets_the_thread_count_of_single_runs_and_batches(clip, tmp_path, monkeypatch):
    """One count for every path: `--threads N` for a single run and for any engine; torch's count is restored."""
    import torch

    from posetrack.pipeline.frames import Pipeline

    seen = []
    real = Pipeline.run

    def counting(self, *args, **kwargs):
        seen.append(torch.get_num_threads())
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "run", counting)
    before = torch.get_num_threads()
    video, args = clip
    assert invoke("run", video, *args, "--quiet", "--threads", "1", "--out", tmp_path / "one.json").exit_code == 0
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "clip.json").write_bytes(args[1].read_bytes())
    batch = invoke("run", video, *args[2:], "--boxes-dir", tmp_path / "b", "--quiet", "--threads", "1",
                   "--out-dir", tmp_path / "out")
    assert batch.exit_code == 0, batch.output
    assert seen == [1, 1] and torch.get_num_threads() == before
    assert (tmp_path / "out" / "clip.tracks.json").read_bytes() != b""
    assert invoke("run", video, *args, "--threads", "0", "--out", tmp_path / "z.json").exit_code == 2
