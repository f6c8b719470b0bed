"""Outputs that cannot be written, and Ctrl-C, for the commands that write whole files: one line that
names the file, early; no output left that failed its check; no claim that work was kept when none was."""
import pytest
from click.testing import CliRunner

from posetrack.io.encode import Mp4Writer
from posetrack.tracksfile.codec import write_tracks
from posetrack_cli import cli
from helpers.render_data import FPS, make_clip, make_tracks


def invoke(*args):
    return CliRunner().invoke(cli, [*map(str, args)], terminal_width=100)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("outputs")
    clip = make_clip(d / "clip.mp4", n=4)
    write_tracks(d / "tracks.json", make_tracks(n=4))
    return d, clip, d / "tracks.json"


def test_a_video_that_cannot_be_created_fails_before_any_frame_naming_it(tmp_path):
    """FFmpeg opens its output at the first encoded packet, i.e. after the frames were drawn; the
    writer tries the path itself at once (here: a name longer than the file system takes)."""
    path = tmp_path / ("x" * 300 + ".mp4")
    with pytest.raises(OSError) as info:
        Mp4Writer(path, FPS, (64, 48))
    assert info.value.filename == str(path)
    assert not list(tmp_path.iterdir())
    with Mp4Writer(tmp_path / "fine.mp4", FPS, (64, 48)):       # a good path: the check leaves nothing
        assert not list(tmp_path.iterdir())


def test_render_names_the_unwritable_output(inputs):
    d, clip, tracks = inputs
    out = d / ("y" * 300 + ".mp4")
    result = invoke("render", clip, tracks, "-o", out)
    assert result.exit_code == 1, result.output
    assert f"{out}: File name too long" in result.output and "internal error" not in result.output


@pytest.mark.parametrize("command", ["convert", "render"])
def test_a_file_where_a_folder_is_needed_is_named(inputs, tmp_path, command):
    d, clip, tracks = inputs
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a folder")
    out = blocker / "sub" / ("out.txt" if command == "convert" else "out.mp4")
    args = ["convert", tracks, "--to", "mot", "-o", out] if command == "convert" else ["render", clip, tracks, "-o", out]
    result = invoke(*args)
    assert result.exit_code == 1, result.output
    assert f"{out}: cannot make the folder {blocker}: it is a file" in result.output, result.output


def test_export_whose_check_fails_leaves_no_file(tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    import posetrack.models.onnx as onnx_module
    from posetrack.models.onnx import ParityResult

    monkeypatch.setattr(onnx_module, "check_pose", lambda model, path: ParityResult(0.5, 3.0, (2, 17, 32, 24), 1e-4))
    out = tmp_path / "tiny.onnx"
    result = invoke("export", "--seeded", "--pose-model", "hrnet_tiny_128x96", "--out", out)
    assert result.exit_code == 1 and "exceeds 0.0001" in result.output, result.output
    assert not list(tmp_path.iterdir())          # neither tiny.onnx nor tiny.onnx.tmp
    monkeypatch.undo()
    result = invoke("export", "--seeded", "--pose-model", "hrnet_tiny_128x96", "--out", out)   # no --force needed
    assert result.exit_code == 0 and out.stat().st_size > 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.onnx"]


def test_ctrl_c_in_convert_does_not_claim_kept_work(inputs, tmp_path, monkeypatch):
    import posetrack.tracksfile.targets as targets

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(targets, "convert_file", interrupted)
    _, _, tracks = inputs
    result = invoke("convert", tracks, "--to", "mot", "-o", tmp_path / "mot.txt")
    assert result.exit_code == 130
    assert "no output is left half-written" in result.output and "work was kept" not in result.output
    assert not list(tmp_path.iterdir())


def test_ctrl_c_in_render_says_the_video_is_partial(inputs, tmp_path, monkeypatch):
    d, clip, tracks = inputs
    out = tmp_path / "part.mp4"

    import posetrack.rendering.render as render_module

    real_add, drawn = render_module.Renderer.add, []

    def add_two(self, frame, result):         # Ctrl-C while the third frame is drawn
        if len(drawn) == 2:
            raise KeyboardInterrupt
        drawn.append(frame.index)
        return real_add(self, frame, result)

    monkeypatch.setattr(render_module.Renderer, "add", add_two)
    result = invoke("render", clip, tracks, "-o", out)
    assert result.exit_code == 130, result.output
    assert f"Interrupted: {out} holds a playable video of the frames drawn so far, not the whole render" \
        in result.output.replace("\n", " "), result.output
    assert "--force" in result.output and out.exists()
