"""`posetrack render` through click's CliRunner, on tiny synthetic clips."""
import subprocess
import sys
from fractions import Fraction

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from posetrack.io import encode
from posetrack.tracksfile.codec import write_tracks
from posetrack.io.video import open_source
from posetrack_cli import cli
from helpers.render_data import EMPTY_FRAME, FPS, H, N, W, make_clip, make_tracks
from helpers.videos import VFR_TIMES, decode, decoded_times, write_video


def invoke(*args):
    return CliRunner().invoke(cli, ["render", *map(str, args)], terminal_width=100)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    clip = make_clip(d / "clip.mp4")
    write_tracks(d / "tracks.json", make_tracks())
    return d, clip, d / "tracks.json"


def test_help_teaches_with_examples():
    result = invoke("-h")
    assert result.exit_code == 0
    for text in ("posetrack render video.mp4 tracks.json", "--frames-dir", "--min-score", "[default: 0.3",
                 "--trails N", "--boxes / --no-boxes", "--ids / --no-ids", "--only-ids 3,7", "--codec [h264|mpeg4]",
                 "VIDEO_annotated.mp4", "H.264"):
        assert text in result.output, text


def test_help_imports_nothing_heavy():
    code = ("import sys; from click.testing import CliRunner; from posetrack_cli import cli; "
            "r = CliRunner().invoke(cli, ['render', '-h']); assert r.exit_code == 0, r.output; "
            "print(sorted(m for m in ('cv2', 'av', 'torch', 'decord', 'rich.progress') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_renders_an_h264_video_next_to_the_input_by_default(inputs):
    d, clip, tracks = inputs
    result = invoke(clip, tracks, "--trails", 5, "--boxes")
    assert result.exit_code == 0, result.output
    out = d / "clip_annotated.mp4"
    assert f"Wrote {out}: {N} frames ({N - 1} with people), {W}x{H} at 25 fps." in result.output
    codec, pix_fmt, w, h, rate, frames = decode(out)
    assert (codec, pix_fmt, w, h, rate, len(frames)) == ("h264", "yuv420p", W, H, FPS, N)


def test_start_end_into_png_frames(inputs, tmp_path):
    _, clip, tracks = inputs
    result = invoke(clip, tracks, "--frames-dir", tmp_path / "pngs", "--start", 2, "--end", 6)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "pngs").iterdir()) == [f"frame_{i:06d}.png" for i in range(2, 6)]
    assert cv2.imread(str(tmp_path / "pngs" / "frame_000002.png")).shape == (H, W, 3)


def test_options_change_the_drawing(inputs, tmp_path):
    _, clip, tracks = inputs

    def frame3(*options):
        out = tmp_path / ("_".join(map(str, options)) or "plain")
        assert invoke(clip, tracks, "--frames-dir", out, "--start", 3, "--end", 4, *options).exit_code == 0
        return cv2.imread(str(out / "frame_000003.png")).astype(int)

    plain = frame3()
    assert np.abs(frame3("--min-score", 0.95) - plain).max() > 100  # every joint (0.9) is hidden
    assert np.abs(frame3("--no-ids") - plain).max() > 100
    assert np.abs(frame3("--boxes") - plain).max() > 100
    assert np.abs(frame3("--only-ids", "3") - plain).max() > 100
    assert np.abs(frame3("--only-ids", "3,8") - plain).max() == 0


def test_a_frame_without_people_is_copied(inputs, tmp_path):
    _, clip, tracks = inputs
    result = invoke(clip, tracks, "--frames-dir", tmp_path, "--start", EMPTY_FRAME, "--end", EMPTY_FRAME + 1)
    assert result.exit_code == 0 and "(0 with people)" in result.output


def test_mismatching_tracks_are_refused_with_what_differs(inputs, tmp_path):
    _, clip, _ = inputs
    write_tracks(tmp_path / "other.json", make_tracks(w=640, h=480, frames=30))
    result = invoke(clip, tmp_path / "other.json", "-o", tmp_path / "x.mp4")
    assert result.exit_code == 1
    assert "does not match" in result.output
    assert "size: the video is 320x240, the tracks are for 640x480" in result.output
    assert f"frame count: the video has {N} frames, the tracks file says 30" in result.output
    assert "--allow-mismatch" in result.output
    assert not (tmp_path / "x.mp4").exists()
    forced = invoke(clip, tmp_path / "other.json", "-o", tmp_path / "x.mp4", "--allow-mismatch")
    assert forced.exit_code == 0, forced.output
    assert (tmp_path / "x.mp4").exists()


def test_unknown_ids_are_pointed_out(inputs, tmp_path):
    _, clip, tracks = inputs
    result = invoke(clip, tracks, "--only-ids", "3,99", "--frames-dir", tmp_path, "--end", 1)
    assert result.exit_code == 0 and "No person has track id 99" in result.output


@pytest.mark.parametrize("args, message", [
    (["--only-ids", "3,x"], "expected comma-separated integers"),
    (["--start", "5", "--end", "5"], "must be greater than --start"),
    (["--out", "a.mp4", "--frames-dir", "d"], "choose one"),
    (["--codec", "vp9"], "'vp9' is not one of 'h264', 'mpeg4'"),
])
def test_usage_errors_exit_2(inputs, args, message):
    _, clip, tracks = inputs
    result = invoke(clip, tracks, *args)
    assert result.exit_code == 2 and message in result.output


def test_missing_inputs_exit_2(inputs, tmp_path):
    _, clip, tracks = inputs
    assert invoke(tmp_path / "nope.mp4", tracks).exit_code == 2
    assert invoke(clip, tmp_path / "nope.json").exit_code == 2


def test_library_errors_are_one_red_line(inputs, tmp_path):
    _, clip, tracks = inputs
    result = invoke(clip, tracks, "--start", 500, "-o", tmp_path / "x.mp4")
    assert result.exit_code == 1
    assert "Error:" in result.output and "start frame 500 is past the end" in result.output
    assert "Traceback" not in result.output
    (tmp_path / "bad.json").write_text("{not json")
    result = invoke(clip, tmp_path / "bad.json", "-o", tmp_path / "x.mp4")
    assert result.exit_code == 1 and "not valid JSON" in result.output


def test_no_h264_encoder_tells_the_user_what_to_do(inputs, tmp_path, monkeypatch):
    _, clip, tracks = inputs
    monkeypatch.setitem(encode.CODECS, "h264", ("no_such_h264_encoder",))
    result = invoke(clip, tracks, "-o", tmp_path / "x.mp4")
    assert result.exit_code == 1
    assert "no h264 encoder" in result.output and "--codec mpeg4" in result.output
    fallback = invoke(clip, tracks, "-o", tmp_path / "x.mp4", "--codec", "mpeg4")
    assert fallback.exit_code == 0, fallback.output
    assert decode(tmp_path / "x.mp4")[0] == "mpeg4"


def test_refuses_to_overwrite_the_input(inputs):
    _, clip, tracks = inputs
    before = clip.read_bytes()
    result = invoke(clip, tracks, "-o", clip, "--force")
    assert result.exit_code == 1 and "the output out would overwrite the input source" in result.output
    assert "--out" in result.output and clip.read_bytes() == before


def test_image_folder_input(inputs, tmp_path):
    _, clip, tracks = inputs
    folder = tmp_path / "seq"
    folder.mkdir()
    for i in range(N):
        cv2.imwrite(str(folder / f"{i}.jpg"), np.full((H, W, 3), 100, np.uint8))
    result = invoke(folder, tracks)
    assert result.exit_code == 0, result.output
    assert len(decode(tmp_path / "seq_annotated.mp4")[5]) == N


# ---------------------------------------------------------------- timing, stride and sources

def test_stride_renders_play_at_fps_over_n(inputs, tmp_path):

    _, clip, tracks = inputs
    result = invoke(clip, tracks, "-o", tmp_path / "s3.mp4", "--stride", 3)
    assert result.exit_code == 0, result.output
    assert "8.33333 fps (1 frame in 3 of 25 fps)" in result.output
    rate, times = decoded_times(tmp_path / "s3.mp4")
    assert rate == Fraction(25, 3) and times == pytest.approx([i / FPS for i in range(0, N, 3)], abs=1e-3)


def test_the_stride_defaults_to_the_runs(inputs, tmp_path):
    """Tracks made with --stride 2 are drawn on every 2nd frame: no flicker of empty frames in between."""

    _, clip, _ = inputs
    t = make_tracks()
    t = type(t)(type(t.header)(t.header.video, t.header.layout, {"stride": 2}), t.frames, t.complete)
    write_tracks(tmp_path / "s2.json", t)
    assert invoke(clip, tmp_path / "s2.json", "-o", tmp_path / "s2.mp4").exit_code == 0
    rate, times = decoded_times(tmp_path / "s2.mp4")
    assert rate == Fraction(25, 2) and len(times) == (N + 1) // 2


def test_a_variable_frame_rate_video_keeps_its_timing(tmp_path):

    clip = write_video(tmp_path / "vfr.mp4", n=len(VFR_TIMES), size=(W, H), fps=30, times=VFR_TIMES)
    with open_source(clip) as src:
        info = src.info
    tracks = make_tracks(n=len(VFR_TIMES), fps=info.fps)
    write_tracks(tmp_path / "vfr.json", tracks)
    result = invoke(clip, tmp_path / "vfr.json", "-o", tmp_path / "out.mp4")
    assert result.exit_code == 0, result.output
    _, times = decoded_times(tmp_path / "out.mp4")
    assert times[10] == pytest.approx(VFR_TIMES[10], abs=0.033)
    assert times == pytest.approx(VFR_TIMES, abs=1e-3)


def test_streams_need_an_output_and_cameras_are_refused(inputs):
    _, _, tracks = inputs
    result = invoke("http://127.0.0.1:9/clip.mp4", tracks)
    assert result.exit_code == 2 and "give the video to write with --out" in result.output
    result = invoke("0", tracks, "-o", "x.mp4")
    assert result.exit_code == 2 and "is a camera index" in result.output
