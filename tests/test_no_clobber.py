"""No command destroys a user's file: outputs never land on inputs or on each other, never replace an
existing file without --force, and weights errors never tell a user to delete their own file.

Every case is an attack that once succeeded: each asserts the exit code, a message naming the path and
the flags, and that the file under attack is byte for byte what it was.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from posetrack.errors import OutputExistsError, PathConflictError
from posetrack.io.guard import check_distinct, check_writes, refuse_existing, same_file
from posetrack_cli import cli
from helpers.runpath import cli_args, make_clip, run_options

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = ROOT / "tests" / "data" / "eval-parity" / "public"     # origin: tests/data/README.md


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], terminal_width=100)


def one_line(output: str) -> str:
    return " ".join(output.split())


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("clip"), frames=4)


@pytest.fixture
def snapshot(clip):
    """The bytes of every input of the clip, to compare after an attack."""
    def take():
        return {k: clip[k].read_bytes() for k in ("mp4", "dets", "weights")}
    return take


def run_args(clip, source="mp4"):
    return ["run", *cli_args(clip, source)]


# ---------------------------------------------------------------- the library checks

def test_an_output_on_an_input_is_refused_by_path_link_and_hard_link(tmp_path):
    video = tmp_path / "v.mp4"
    video.write_bytes(b"video")
    (tmp_path / "sub").mkdir()
    os.symlink(video, tmp_path / "link.mp4")
    os.link(video, tmp_path / "hard.mp4")
    for out in (video, tmp_path / "sub" / ".." / "v.mp4", tmp_path / "link.mp4", tmp_path / "hard.mp4"):
        with pytest.raises(PathConflictError) as e:
            check_distinct({"tracks": out}, {"source": video})
        assert e.value.fields == ("tracks", "source") and str(out) in str(e.value)
        assert "--" not in str(e.value)            # the library names fields, never flags
    assert same_file(tmp_path / "hard.mp4", video) and not same_file(tmp_path / "other", video)
    check_distinct({"tracks": tmp_path / "t.json"}, {"source": video})


def test_outputs_on_each_other_or_on_a_temporary_file_are_refused(tmp_path):
    with pytest.raises(PathConflictError, match="both the output tracks and the output coco") as e:
        check_distinct({"tracks": tmp_path / "a.json", "coco": tmp_path / "a.json"})
    assert e.value.path == tmp_path / "a.json"
    with pytest.raises(PathConflictError, match="its temporary file"):
        check_distinct({"tracks": tmp_path / "a", "csv": tmp_path / "a.tmp"})
    with pytest.raises(PathConflictError):      # the same setting twice: a batch's outputs
        check_distinct([("render", tmp_path / "x.mp4"), ("render", tmp_path / "x.mp4")])
    check_distinct({"tracks": tmp_path / "a.json", "coco": tmp_path / "b.json", "csv": None})


def test_inside_an_input_folder_is_refused_and_absent_inputs_are_skipped(tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    with pytest.raises(PathConflictError, match="inside the input folder source"):
        check_distinct({"tracks": frames / "deep" / "t.json"}, {"source": frames})
    with pytest.raises(PathConflictError, match="would overwrite the input source"):
        check_distinct({"frames_dir": frames}, {"source": frames})
    # names, URLs and missing files cannot be destroyed: nothing to protect
    check_distinct({"tracks": tmp_path / "posetrack18"}, {"pose_weights": "posetrack18",
                                                          "source": "rtsp://cam/stream", "boxes_file": None})


def test_existing_outputs_need_force(tmp_path):
    out, frames = tmp_path / "out.json", tmp_path / "frames"
    out.write_text("mine")
    frames.mkdir()
    (frames / "notes.txt").write_text("not a frame")
    refuse_existing({"frames_dir": frames}, force=False, patterns={"frames_dir": "frame_*.png"})
    (frames / "frame_000000.png").write_bytes(b"png")
    with pytest.raises(OutputExistsError, match="already holds output files") as e:
        refuse_existing({"frames_dir": frames}, force=False, patterns={"frames_dir": "frame_*.png"})
    assert e.value.field == "frames_dir" and e.value.path == frames
    with pytest.raises(OutputExistsError) as e:
        check_writes({"json": out}, force=False)
    assert e.value.field == "json" and not e.value.resumable
    check_writes({"json": out}, force=True)
    with pytest.raises(PathConflictError):       # force never overrides a conflict
        check_writes({"json": out}, {"gt": out}, force=True)


# ---------------------------------------------------------------- run

@pytest.mark.parametrize("args, flags", [
    (["--out", "{mp4}", "--force"], ("--out", "SOURCE")),
    (["--out", "{tmp}/t.json", "--render", "{mp4}", "--force"], ("--render", "SOURCE")),
    (["--out", "{tmp}/t.json", "--export-posetrack2017", "{mp4}", "--force"], ("--export-posetrack2017",)),
    (["--out", "{tmp}/t.json", "--export-csv", "{dets}", "--force"], ("--export-csv", "--boxes")),
    (["--out", "{tmp}/t.json", "--export-coco", "{weights}", "--force"], ("--export-coco", "--pose-weights")),
])
def test_run_never_writes_over_its_inputs(clip, snapshot, tmp_path, args, flags):
    before = snapshot()
    names = {"mp4": clip["mp4"], "dets": clip["dets"], "weights": clip["weights"], "tmp": tmp_path}
    result = invoke(*run_args(clip), *[a.format(**names) for a in args])
    text = one_line(result.output)
    assert result.exit_code == 1 and "would overwrite the input" in text, result.output
    for flag in flags:
        assert flag in text
    assert snapshot() == before and not (tmp_path / "t.json").exists()


@pytest.mark.parametrize("kinds", [("--out", "--export-posetrack2018"), ("--export-coco", "--export-posetrack2017"),
                                   ("--render", "--export-csv")])
def test_run_outputs_never_replace_each_other(clip, tmp_path, kinds):
    same = tmp_path / "a.json"
    extra = [] if "--out" in kinds else ["--out", tmp_path / "t.json"]
    result = invoke(*run_args(clip), *extra, kinds[0], same, kinds[1], same)
    text = one_line(result.output)
    assert result.exit_code == 1 and f"{same}: both the output" in text and all(k in text for k in kinds)
    assert sorted(tmp_path.iterdir()) == []          # refused before anything was written


def test_run_library_names_the_fields(clip, tmp_path):
    from posetrack.pipeline.runner import Outputs, run_video

    with pytest.raises(PathConflictError) as e:
        run_video(clip["mp4"], Outputs(tmp_path / "t.json", posetrack2018=clip["dets"]), run_options(clip), force=True)
    assert e.value.fields == ("posetrack2018", "boxes_file") and "--" not in str(e.value)


def test_a_source_folder_is_protected(clip, tmp_path):
    before = sorted(p.name for p in clip["frames"].iterdir())
    result = invoke(*run_args(clip, "frames"), "--out", clip["frames"] / "0000.png", "--force")
    assert result.exit_code == 1 and "inside the input folder source" in one_line(result.output)
    assert sorted(p.name for p in clip["frames"].iterdir()) == before


def test_a_batch_never_writes_over_its_sources_or_itself(clip, tmp_path):
    from posetrack.pipeline.batch import plan_jobs

    clips = tmp_path / "clips"
    clips.mkdir()
    for name in ("a.mp4", "b.mp4"):
        (clips / name).write_bytes(clip["mp4"].read_bytes())
    sources = [clips / "a.mp4", clips / "b.mp4"]
    common = ["--pose-model", "hrnet_tiny_128x96", "--pose-weights", clip["weights"], "--device", "cpu", "--quiet"]
    result = invoke("run", *sources, "--out-dir", tmp_path / "out", "--render", clips, *common)
    assert result.exit_code == 1 and "the output render would overwrite the input source" in one_line(result.output)
    assert (clips / "a.mp4").read_bytes() == clip["mp4"].read_bytes()
    result = invoke("run", *sources, "--out-dir", tmp_path / "out", "--export-posetrack2017", tmp_path / "p",
                    "--export-coco", tmp_path / "p", *common)
    text = one_line(result.output)
    assert result.exit_code == 1 and "both the output posetrack2017 and the output coco" in text
    assert "--export-coco" in text and "--export-posetrack2017" in text
    weights = tmp_path / "w" / "a.csv"              # weights are inputs of every job
    weights.parent.mkdir()
    weights.write_bytes(clip["weights"].read_bytes())
    result = invoke("run", *sources, "--out-dir", tmp_path / "out", "--export-csv", weights.parent, *common,
                    "--pose-weights", weights)
    assert result.exit_code == 1 and "input pose_weights" in one_line(result.output)
    assert not (tmp_path / "out").exists()
    with pytest.raises(PathConflictError):
        plan_jobs([str(s) for s in sources], tmp_path / "out", posetrack2018_dir=tmp_path / "p", coco_dir=tmp_path / "p")


# ---------------------------------------------------------------- track

@pytest.fixture
def poses(tmp_path):
    from helpers.poses import poses_file

    return poses_file(tmp_path / "t.json", speed=3)


def test_track_never_writes_over_its_input_or_itself(poses, tmp_path):
    before = poses.read_bytes()
    result = invoke("track", poses, "-o", tmp_path / "n.json", "--export-posetrack2017", poses, "--quiet")
    text = one_line(result.output)
    assert result.exit_code == 1 and "the output posetrack2017 would overwrite the input poses" in text
    assert "--export-posetrack2017" in text and poses.read_bytes() == before
    result = invoke("track", poses, "-o", tmp_path / "n.json", "--export-posetrack2018", tmp_path / "n.json")
    assert result.exit_code == 1 and "both the output tracks and the output posetrack2018" in one_line(result.output)
    assert not (tmp_path / "n.json").exists()


def test_track_needs_force_to_overwrite(poses, tmp_path):
    out = tmp_path / "existing.json"
    out.write_text("someone's file")
    result = invoke("track", poses, "-o", out, "--quiet")
    text = one_line(result.output)
    assert result.exit_code == 1 and f"{out}: already exists" in text and "--force" in text and "--out" in text
    assert out.read_text() == "someone's file"
    result = invoke("track", poses, "-o", out, "--quiet", "--force")
    assert result.exit_code == 0, result.output
    assert out.read_text() != "someone's file"


# ---------------------------------------------------------------- render

@pytest.fixture(scope="module")
def render_inputs(tmp_path_factory):
    from posetrack.tracksfile.codec import write_tracks
    from helpers.render_data import make_clip as make_render_clip
    from helpers.render_data import make_tracks

    d = tmp_path_factory.mktemp("render")
    video = make_render_clip(d / "clip.mp4", n=4)
    write_tracks(d / "tracks.json", make_tracks(n=4, skip=()))
    return video, d / "tracks.json"


def test_render_needs_force_to_overwrite_a_video(render_inputs, tmp_path):
    video, tracks = render_inputs
    out = tmp_path / "existing.mp4"
    out.write_bytes(b"someone's video")
    result = invoke("render", video, tracks, "-o", out)
    text = one_line(result.output)
    assert result.exit_code == 1 and f"{out}: already exists" in text and "--force" in text
    assert out.read_bytes() == b"someone's video"
    assert invoke("render", video, tracks, "-o", out, "--force").exit_code == 0
    assert out.read_bytes() != b"someone's video"


def test_render_needs_force_to_overwrite_frame_pngs(render_inputs, tmp_path):
    video, tracks = render_inputs
    frames = tmp_path / "fd"
    frames.mkdir()
    (frames / "frame_000000.png").write_bytes(b"someone's frame")
    result = invoke("render", video, tracks, "--frames-dir", frames)
    text = one_line(result.output)
    assert result.exit_code == 1 and "already holds output files (frame_000000.png)" in text
    assert "--frames-dir" in text and "--force" in text
    assert (frames / "frame_000000.png").read_bytes() == b"someone's frame"
    assert invoke("render", video, tracks, "--frames-dir", frames, "--force").exit_code == 0
    assert len(list(frames.glob("frame_*.png"))) == 4


def test_render_never_writes_over_its_tracks_or_into_its_frames(render_inputs, tmp_path):
    video, tracks = render_inputs
    before = tracks.read_bytes()
    result = invoke("render", video, tracks, "-o", tracks, "--force")
    assert result.exit_code == 1 and "would overwrite the input tracks" in one_line(result.output)
    assert tracks.read_bytes() == before
    folder = tmp_path / "seq"
    folder.mkdir()
    (folder / "0000.png").write_bytes(b"a frame")
    result = invoke("render", folder, tracks, "--frames-dir", folder, "--force")
    text = one_line(result.output)
    assert result.exit_code == 1 and "the output frames_dir would overwrite the input source" in text
    assert [p.name for p in folder.iterdir()] == ["0000.png"]


def test_render_api_force_overwrites_and_allow_mismatch_draws(render_inputs, tmp_path):
    import posetrack

    video, tracks = render_inputs
    out = tmp_path / "a.mp4"
    out.write_bytes(b"mine")
    with pytest.raises(OutputExistsError) as e:
        posetrack.render(video, tracks, out)
    assert e.value.field == "out" and out.read_bytes() == b"mine"
    assert posetrack.render(video, tracks, out, force=True).frames == 4
    with pytest.raises(PathConflictError):
        posetrack.render(video, tracks, video, force=True)


# ---------------------------------------------------------------- export, eval

def test_export_needs_force_and_never_writes_over_weights(clip, tmp_path):
    existing = tmp_path / "existing.onnx"
    existing.write_bytes(b"someone's model")
    base = ["export", "--seeded", "--pose-model", "hrnet_tiny_128x96", "--no-check"]
    for args in (["--out", existing], ["--out", tmp_path / "new.onnx", "--detector-out", existing]):
        result = invoke(*base, *args)
        text = one_line(result.output)
        assert result.exit_code == 1 and f"{existing}: already exists" in text and "--force" in text
    assert existing.read_bytes() == b"someone's model" and not (tmp_path / "new.onnx").exists()
    weights = clip["weights"].read_bytes()
    result = invoke("export", "--pose-model", "hrnet_tiny_128x96", "--pose-weights", clip["weights"],
                    "--out", clip["weights"], "--force", "--no-check")
    assert result.exit_code == 1 and "would overwrite the input pose_weights" in one_line(result.output)
    assert clip["weights"].read_bytes() == weights
    result = invoke(*base, "--out", tmp_path / "x.onnx", "--detector-out", tmp_path / "x.onnx")
    assert result.exit_code == 1 and "both the output out and the output detector_out" in one_line(result.output)


def test_eval_never_writes_over_ground_truth_or_predictions(tmp_path):
    gt_file = next(iter(sorted((PUBLIC / "gt").glob("*.json"))))
    before = gt_file.read_bytes()
    result = invoke("eval", "--gt", PUBLIC / "gt", "--pred", PUBLIC / "pred", "--json", gt_file, "--force")
    text = one_line(result.output)
    assert result.exit_code == 1 and "inside the input folder gt" in text and "--json" in text and "--gt" in text
    assert gt_file.read_bytes() == before
    pred_file = PUBLIC / "pred" / gt_file.name
    before = pred_file.read_bytes()
    result = invoke("eval", "--gt", PUBLIC / "gt", "--pred", PUBLIC / "pred", "--json", pred_file, "--force")
    assert result.exit_code == 1 and "would overwrite the input pred" in one_line(result.output)
    assert pred_file.read_bytes() == before


def test_eval_needs_force_to_overwrite_its_json(tmp_path):
    out = tmp_path / "scores.json"
    out.write_text("someone's scores")
    result = invoke("eval", "--gt", PUBLIC / "gt", "--pred", PUBLIC / "pred", "--json", out)
    text = one_line(result.output)
    assert result.exit_code == 1 and f"{out}: already exists" in text and "--force" in text
    assert out.read_text() == "someone's scores"
    result = invoke("eval", "--gt", PUBLIC / "gt", "--pred", PUBLIC / "pred", "--json", out, "--force")
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("{")


# ---------------------------------------------------------------- weights messages

def test_a_users_file_as_weights_is_not_to_be_deleted(clip, tmp_path):
    result = invoke(*run_args(clip), "--out", tmp_path / "t.json", "--pose-weights", clip["dets"])
    text = one_line(result.output)
    assert result.exit_code == 1 and "not a PyTorch checkpoint" in text and "delete" not in text
    assert clip["dets"].exists()
    folder = tmp_path / "weights_folder"
    folder.mkdir()
    result = invoke(*run_args(clip), "--out", tmp_path / "t.json", "--pose-weights", folder)
    text = one_line(result.output)
    assert result.exit_code == 1 and f"{folder}: a folder, not a weights file" in text and "no such file" not in text


def test_a_damaged_cached_download_is_to_be_deleted(tmp_path, monkeypatch):
    from posetrack.models.checkpoint import CheckpointError, read_state_dict

    monkeypatch.setenv("POSETRACK_CACHE", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    cached = tmp_path / "cache" / "hrnet-0123abcd.pth"
    cached.write_bytes(b"half a download")
    with pytest.raises(CheckpointError, match="weights cache: delete it"):
        read_state_dict(cached)
    with pytest.raises(CheckpointError, match="a folder, not a checkpoint file"):
        read_state_dict(tmp_path)
