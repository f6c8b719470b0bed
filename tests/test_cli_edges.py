"""Daily-use edges of the command line: the ETA, --debug anywhere, Ctrl-C, offline weights, download bars."""
from __future__ import annotations

import json
import re
import shlex

import pytest
from click.testing import CliRunner

import posetrack_cli._errors as errors
import posetrack_cli._progress as progress
from helpers.api_data import N, Server, checkpoint_bytes, closed_port_url, make_video, model_config, sha
from posetrack.tracksfile.journal import journal_path
from posetrack.tracksfile.codec import read_tracks
from posetrack_cli import _hoist_debug, cli


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("edges"))


pytestmark = pytest.mark.usefixtures("isolated_caches")   # tests/conftest.py


def invoke(*args):
    return CliRunner().invoke(cli, list(map(str, args)), terminal_width=200)


def tiny_args(data, out):
    return [data["frames"], "--out", out, "--pose-model", "hrnet_tiny_128x96", "--pose-weights", data["weights"],
            "--boxes", data["boxes"], "--device", "cpu"]


# ---------------------------------------------------------------- progress and ETA

class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_eta_follows_the_current_speed_not_the_average(monkeypatch):
    """The reported case: fast first frames, then 2 s per frame; the ETA must say minutes, not a second."""
    clock = FakeClock()
    monkeypatch.setattr(progress.time, "perf_counter", clock)
    bar = progress.FrameProgress("frames", total=120, enabled=True, window=10.0)
    bar._start = lambda: None                           # no terminal; the arithmetic is what is tested
    bar._bar = type("Quiet", (), {"update": lambda *a, **k: None, "stop": lambda *a: None})()
    done = 0
    for _ in range(20):                                  # 20 frames at 50 fps (model warm, empty frames)
        clock.now += 0.02
        done += 1
        bar(done)
    for _ in range(15):                                  # then 2 s per frame
        clock.now += 2.0
        done += 1
        bar(done)
    left = 120 - done
    average_eta = left / (done / (0.4 + 30.0))           # what an average since the start would say
    assert bar.eta() == pytest.approx(left * 2.0, rel=0.05)
    assert average_eta < 0.5 * bar.eta()
    assert progress.FrameProgress._format_eta(bar.eta()) == "eta 0:02:50"


def test_below_one_frame_per_second_the_rate_is_seconds_per_frame():
    assert progress.FrameProgress._format_rate(0.25).strip() == "4.0 s/frame"
    assert progress.FrameProgress._format_rate(12.5).strip() == "12.5 fps"
    assert progress.FrameProgress._format_rate(None) == ""
    assert progress.FrameProgress._format_eta(None) == "eta -:--:--"


def test_frames_slower_than_the_window_still_give_a_rate(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(progress.time, "perf_counter", clock)
    bar = progress.FrameProgress("frames", total=10, window=10.0)
    bar._bar = type("Quiet", (), {"update": lambda *a, **k: None, "stop": lambda *a: None})()
    for i in range(1, 5):
        clock.now += 30.0 if i > 1 else 1.0
        bar(i)
    assert progress.FrameProgress._format_rate(bar._rate).strip() == "30.0 s/frame"
    assert bar.eta() == pytest.approx(6 * 30.0)


def test_slow_run_shows_seconds_per_frame_and_an_eta(monkeypatch, capsys):
    clock = FakeClock()
    monkeypatch.setattr(progress.time, "perf_counter", clock)
    bar = progress.FrameProgress("frames", total=10, window=10.0)
    for i in range(1, 4):
        clock.now += 4.0
        bar(i, extra="2 people")
    bar.stop()
    err = capsys.readouterr().err
    assert "4.0 s/frame" in err and "eta 0:00:28" in err and "3/10" in err


# ---------------------------------------------------------------- --debug anywhere

@pytest.mark.parametrize("where", ["front", "after_command", "at_end"])
def test_debug_works_in_any_position(data, tmp_path, where):
    args = ["run", data["frames"], "--pose-model", "w48_384x280", "--out", tmp_path / "t.json"]
    args = {"front": ["--debug", *args], "after_command": [args[0], "--debug", *args[1:]],
            "at_end": [*args, "--debug"]}[where]
    result = invoke(*args)
    from posetrack.errors import ConfigError

    assert isinstance(result.exception, ConfigError)     # --debug re-raises: the traceback is shown
    assert "did you mean 'w48_384x288'" in str(result.exception)


def test_without_debug_the_error_is_one_line_with_the_hint(data, tmp_path):
    result = invoke("run", data["frames"], "--pose-model", "w48_384x280", "--out", tmp_path / "t.json")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "did you mean 'w48_384x288'" in result.output and "--debug shows the traceback" in result.output


def test_debug_after_a_double_dash_is_an_argument():
    assert _hoist_debug(["run", "--", "--debug"]) == ["run", "--", "--debug"]
    assert _hoist_debug(["run", "v.mp4", "--debug", "--", "x"]) == ["--debug", "run", "v.mp4", "--", "x"]


# ---------------------------------------------------------------- Ctrl-C

def test_ctrl_c_says_how_to_resume_and_that_command_completes_the_run(data, tmp_path, monkeypatch):
    out = tmp_path / "tracks.json"
    calls = {"n": 0}
    real = progress.FrameProgress.__call__

    def interrupt_on_third_frame(self, done, total=None, extra="", **rate):
        real(self, done, total, extra, **rate)
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(progress.FrameProgress, "__call__", interrupt_on_third_frame)
    result = invoke("run", *tiny_args(data, out))
    assert result.exit_code == 130
    hint = re.search(r"Continue with: (posetrack run .* --resume)", result.output)
    assert hint, result.output
    assert read_tracks(out).complete is False and journal_path(out).exists()
    monkeypatch.setattr(progress.FrameProgress, "__call__", real)
    command = shlex.split(hint.group(1))
    assert command[:2] == ["posetrack", "run"]
    resumed = invoke(*command[1:], "--pose-model", "hrnet_tiny_128x96", "--pose-weights", data["weights"],
                     "--boxes", data["boxes"], "--device", "cpu")
    assert resumed.exit_code == 0, resumed.output
    tracks = read_tracks(out)
    assert tracks.complete and [f.frame for f in tracks.frames] == list(range(N))


# ---------------------------------------------------------------- offline weights

def test_offline_run_lists_every_missing_file_with_its_flag(data, tmp_path):
    url = closed_port_url("tiny-abcdef12_2024.pth")
    config = model_config(tmp_path, url, "abcdef12")
    result = invoke("run", data["frames"], "--out", tmp_path / "t.json", "--pose-model", config, "--device", "cpu")
    assert result.exit_code == 1
    out = result.output
    assert "2 weight files missing" in out and url in out and "abcdef12" in out
    assert str(tmp_path / "torch_home" / "posetrack" / "tiny-abcdef12_2024.pth") in out
    assert "fasterrcnn_resnet50_fpn_v2" in out and "dd69338a" in out
    assert ("On the command line: --pose-weights PATH; --detector-weights PATH, or --boxes FILE in place of the "
            "detector.") in out
    assert "boxes_file" in out and "settings named first" not in out      # the library's words: a boxes file
    assert "internal error" not in out and not (tmp_path / "t.json").exists()


def test_only_the_missing_files_flags_are_named(data, tmp_path):
    url = closed_port_url("tiny-abcdef12_2024.pth")
    config = model_config(tmp_path, url, "abcdef12")
    result = invoke("run", data["frames"], "--out", tmp_path / "t.json", "--pose-model", config,
                    "--boxes", data["boxes"], "--device", "cpu")
    assert result.exit_code == 1
    assert "1 weight file missing" in result.output and "--pose-weights PATH" in result.output
    assert "--detector-weights" not in result.output
    assert "--boxes FILE" not in result.output and "boxes_file" not in result.output    # boxes given already


def test_export_without_weights_names_the_flag(tmp_path):
    """`export` offline said "...or load a local copy instead" without naming --pose-weights."""
    url = closed_port_url("tiny-abcdef12_2024.pth")
    config = model_config(tmp_path, url, "abcdef12")
    result = invoke("export", "--pose-model", config, "--out", tmp_path / "x.onnx")
    assert result.exit_code == 1
    assert "1 weight file missing" in result.output and url in result.output
    assert result.output.rstrip().endswith("On the command line: --pose-weights PATH.  (--debug shows the traceback)")
    assert "--boxes" not in result.output and not (tmp_path / "x.onnx").exists()


def test_downloads_show_a_progress_bar(data, tmp_path):
    server = Server()
    try:
        body = checkpoint_bytes()
        name = f"tiny-{sha(body)[:8]}_2024.pth"
        config = model_config(tmp_path, server.serve("/" + name, body), sha(body)[:8])
        result = invoke("run", data["frames"], "--out", tmp_path / "t.json", "--pose-model", config,
                        "--boxes", data["boxes"], "--device", "cpu", "--end", "2")
    finally:
        server.stop()
    assert result.exit_code == 0, result.output
    assert f"downloading {name}" in result.output
    assert f"{len(body) / 1e6:.1f}/{len(body) / 1e6:.1f} MB" in result.output
    assert json.loads((tmp_path / "t.json").read_text())["status"] == "complete"


# ---------------------------------------------------------------- library messages, CLI flags

def test_flag_hint_maps_settings_named_by_the_library_to_the_commands_flags():
    """The settings an error carries (``err.fields``, set where it is raised) become the command's flags."""
    import click

    from posetrack.errors import EncoderError, InputError, WeightsError

    ctx = click.Context(cli)
    render, run = cli.get_command(ctx, "render"), cli.get_command(ctx, "run")
    encoder = EncoderError("no h264 encoder in this FFmpeg; use codec=mpeg4 or frames_dir", fields=("codec=mpeg4",
                                                                                                      "frames_dir"))
    assert errors.flag_hint(encoder, render) == "--codec mpeg4, --frames-dir"
    assert errors.flag_hint(encoder, run) == ""                       # `run` has neither option
    assert errors.flag_hint(WeightsError("give the weights", field="pose_weights"), run) == "--pose-weights"
    assert errors.flag_hint(InputError("nothing to resume", field="resume=False"), run) == "without --resume"
    assert errors.flag_hint(InputError("no flip", field="flip=False"), run) == "--no-flip"
    assert errors.flag_hint(InputError("no setting named"), run) == ""
