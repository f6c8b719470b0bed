"""`posetrack track` through click's CliRunner: re-tracking saved poses, with and without video."""
import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from posetrack.tracksfile.codec import TrackFile, read_tracks
from posetrack_cli import cli
from helpers.poses import poses_file

W, H, N = 320, 240, 8


def invoke(*args):
    return CliRunner().invoke(cli, ["track", *map(str, args)], terminal_width=100)


def panning_frames(folder, speed, n=N):
    """PNG frames of a texture moving right by ``speed`` px per frame (the people move with it)."""
    import cv2

    rng = np.random.default_rng(0)
    big_w = W + int(speed * n) + 8
    tex = sum(cv2.resize(rng.random((H // s, big_w // s)).astype(np.float32), (big_w, H)) for s in (2, 4, 8))
    tex = ((tex - tex.min()) / (tex.max() - tex.min()) * 255).astype(np.uint8)
    folder.mkdir()
    x0 = big_w - W
    for k in range(n):
        crop = tex[:, x0 - int(speed * k): x0 - int(speed * k) + W]
        cv2.imwrite(str(folder / f"frame{k}.png"), np.repeat(crop[..., None], 3, axis=2))
    return folder


def track_ids(path):
    return [[] if f.track_ids is None else f.track_ids.tolist() for f in read_tracks(path).frames]


def test_help_teaches_with_examples():
    result = invoke("-h")
    assert result.exit_code == 0
    for text in ("posetrack track poses.json --video video.mp4 --out tracks.json", "--matching [greedy|hungarian]",
                 "--motion [flow|kalman|none]", "--flow [dis|raft|none]", "--config", "[default: tracker]",
                 "ids from 0", "--tracker PRESET", "--refine / --no-refine", "--export-posetrack2017",
                 "--export-posetrack2018", "--tracker flowtrack"):
        assert text in result.output, text
    from posetrack.tracking.config import default_preset, preset_names

    assert f"[default: {default_preset()}]" in result.output
    assert all(name in result.output for name in preset_names())


def test_help_imports_nothing_heavy():
    code = ("import sys; from click.testing import CliRunner; from posetrack_cli import cli; "
            "r = CliRunner().invoke(cli, ['track', '-h']); assert r.exit_code == 0, r.output; "
            "print(sorted(m for m in ('cv2', 'torch', 'scipy', 'filterpy', 'rich.progress') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_retracks_saved_poses_ignoring_their_ids(tmp_path):
    src = poses_file(tmp_path / "poses.json", speed=3, ids=[7, 7 + 1])
    result = invoke(src, "--out", tmp_path / "tracks.json", "--quiet")
    assert result.exit_code == 0, result.output
    assert "8 frames, 16 poses, 2 tracks" in result.output
    out = read_tracks(tmp_path / "tracks.json")
    assert track_ids(tmp_path / "tracks.json") == [[0, 1]] * N
    assert out.header.settings["pose_model"] == "test"                       # kept from the input
    assert out.header.settings["tracker"]["matching"] == "greedy"
    assert out.header.settings["tracker"]["preset"] == "robust"
    assert out.header.settings["refined"]["removed_tracks"] == 0               # what refinement did
    assert out.header.settings["flow"] is None                                # no video, no flow
    np.testing.assert_allclose(out.frames[3].poses.keypoints, read_tracks(src).frames[3].poses.keypoints)


def test_flow_from_the_video_links_fast_motion(tmp_path):
    """15 px/frame is too far for pose-only OKS (each frame would start new tracks); DIS flow from
    the frames carries the queued poses along."""
    src = poses_file(tmp_path / "poses.json", speed=15)
    video = panning_frames(tmp_path / "frames", speed=15)
    result = invoke(src, "--video", video, "--out", tmp_path / "with_flow.json", "--quiet")
    assert result.exit_code == 0, result.output
    assert track_ids(tmp_path / "with_flow.json") == [[0, 1]] * N
    assert json.loads((tmp_path / "with_flow.json").read_text())["settings"]["flow"]["method"] == "dis"
    result = invoke(src, "--out", tmp_path / "pose_only.json", "--quiet", "--tracker", "flowtrack")
    assert result.exit_code == 0, result.output
    assert len({i for ids in track_ids(tmp_path / "pose_only.json") for i in ids}) > 2


def test_kalman_and_hungarian_options(tmp_path):
    src = poses_file(tmp_path / "poses.json", speed=4)
    result = invoke(src, "-o", tmp_path / "t.json", "--motion", "kalman", "--matching", "hungarian", "--quiet")
    assert result.exit_code == 0, result.output
    settings = read_tracks(tmp_path / "t.json").header.settings["tracker"]
    assert (settings["motion"], settings["matching"]) == ("kalman", "hungarian")
    assert track_ids(tmp_path / "t.json") == [[0, 1]] * N


def test_a_custom_config_file(tmp_path):
    cfg = tmp_path / "mine.yaml"
    cfg.write_text("tracker:\n  queue: 2\n  min_similarity: 0.5\n")
    src = poses_file(tmp_path / "poses.json", speed=3)
    result = invoke(src, "-o", tmp_path / "t.json", "--config", cfg, "--quiet")
    assert result.exit_code == 0, result.output
    settings = read_tracks(tmp_path / "t.json").header.settings["tracker"]
    assert (settings["queue"], settings["min_similarity"]) == (2, 0.5)


def test_refine_settings_that_will_not_run_are_named(tmp_path):
    cfg = tmp_path / "mine.yaml"
    cfg.write_text("preset: flowtrack\ntracker:\n  refine:\n    min_track_frames: 3\n")   # flowtrack: refinement off
    src = poses_file(tmp_path / "poses.json", speed=3)
    result = invoke(src, "-o", tmp_path / "t.json", "--config", cfg, "--quiet")
    assert result.exit_code == 0, result.output
    assert "sets refine.min_track_frames, but refinement is off in preset 'flowtrack'" in " ".join(result.output.split())
    result = invoke(src, "-o", tmp_path / "u.json", "--config", cfg, "--quiet", "--refine")
    assert result.exit_code == 0 and "refinement is off" not in result.output, result.output


def test_config_typo_is_one_red_line(tmp_path):
    cfg = tmp_path / "mine.yaml"
    cfg.write_text("tracker:\n  min_similarty: 0.2\n")
    result = invoke(poses_file(tmp_path / "p.json", 3), "-o", tmp_path / "t.json", "--config", cfg)
    assert result.exit_code == 1
    assert "did you mean 'min_similarity'" in result.output and "Traceback" not in result.output


def test_a_video_shorter_than_the_poses_is_an_error(tmp_path):
    src = poses_file(tmp_path / "poses.json", speed=3, n=N)
    video = panning_frames(tmp_path / "frames", speed=3, n=N - 3)
    result = invoke(src, "--video", video, "-o", tmp_path / "t.json")
    assert result.exit_code == 1
    assert f"frame {N - 3}" in result.output and "ended" in result.output
    assert not (tmp_path / "t.json").exists()


@pytest.mark.parametrize("args, code, text", [
    (["--matching", "auction"], 2, "'auction' is not one of 'greedy', 'hungarian'"),
    (["--motion", "teleport"], 2, "'teleport' is not one of 'flow', 'kalman', 'none'"),
    ([], 2, "Missing option '-o' / '--out'"),
])
def test_usage_errors(tmp_path, args, code, text):
    src = poses_file(tmp_path / "poses.json", speed=3)
    result = invoke(src, *(args + (["-o", tmp_path / "t.json"] if args else [])))
    assert result.exit_code == code
    assert text in result.output


def test_bad_input_file_names_it(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = invoke(bad, "-o", tmp_path / "t.json")
    assert result.exit_code == 1
    assert "bad.json" in result.output and "not valid JSON" in result.output


def test_refuses_to_overwrite_its_input(tmp_path):
    src = poses_file(tmp_path / "poses.json", speed=3)
    before = src.read_bytes()
    result = invoke(src, "-o", src)
    assert result.exit_code == 1 and "the output tracks would overwrite the input poses" in result.output
    assert "--out" in result.output and src.read_bytes() == before


def test_retrack_uses_only_the_saved_frames_of_the_video(tmp_path):
    """Poses saved every other frame: flow is computed between saved frames (16 px apart, too far
    for pose-only OKS at this size)."""
    import cv2

    from posetrack.pipeline.retrack import retrack
    from posetrack.types import Frame
    from posetrack.tracking.tracker import TrackerConfig

    folder = panning_frames(tmp_path / "frames", speed=8, n=N)
    images = [cv2.cvtColor(cv2.imread(str(folder / f"frame{k}.png")), cv2.COLOR_BGR2RGB) for k in range(N)]
    full = read_tracks(poses_file(tmp_path / "poses.json", speed=8))
    saved = TrackFile(full.header, full.frames[::2])
    out = retrack(saved, TrackerConfig(), [Frame(k, im) for k, im in enumerate(images)])
    assert [f.frame for f in out.frames] == [0, 2, 4, 6]
    assert [f.track_ids.tolist() for f in out.frames] == [[0, 1]] * 4
    pose_only = retrack(saved, TrackerConfig())
    assert [f.track_ids.tolist() for f in pose_only.frames] != [[0, 1]] * 4
    with pytest.raises(ValueError, match="frame 2: the video has no such frame"):
        retrack(saved, TrackerConfig(), [Frame(k, im) for k, im in enumerate(images) if k != 2])


def test_the_flowtrack_preset_is_the_paper_and_does_not_refine(tmp_path):
    from posetrack.pipeline.retrack import retrack
    from posetrack.tracking.tracker import load_tracking_config

    src = poses_file(tmp_path / "poses.json", speed=4)
    result = invoke(src, "-o", tmp_path / "t.json", "--tracker", "flowtrack", "--quiet")
    assert result.exit_code == 0, result.output
    out = read_tracks(tmp_path / "t.json")
    assert out.header.settings["tracker"]["preset"] == "flowtrack" and "refined" not in out.header.settings
    want = retrack(read_tracks(src), load_tracking_config(preset="flowtrack")[0])
    assert [f.track_ids.tolist() for f in out.frames] == [f.track_ids.tolist() for f in want.frames]
    result = invoke(src, "-o", tmp_path / "r.json", "--tracker", "flowtrack", "--refine", "--quiet")
    assert result.exit_code == 0 and "refined" in read_tracks(tmp_path / "r.json").header.settings
    result = invoke(src, "-o", tmp_path / "x.json", "--tracker", "bytetrack")
    assert result.exit_code == 1 and "unknown tracker preset 'bytetrack'; choose one of: flowtrack, robust" in \
        result.output


def test_exports_posetrack_files_that_score(tmp_path):
    from posetrack.eval.evaluate import evaluate

    src = poses_file(tmp_path / "poses.json", speed=3)
    result = invoke(src, "-o", tmp_path / "t.json", "--quiet", "--export-posetrack2017", tmp_path / "p17" / "clip.json",
                    "--export-posetrack2018", tmp_path / "p18" / "clip.json")
    assert result.exit_code == 0, result.output
    p17 = json.loads((tmp_path / "p17" / "clip.json").read_text())
    assert [a["image"][0]["name"] for a in p17["annolist"]][:2] == ["clip/000000.jpg", "clip/000001.jpg"]
    assert len(p17["annolist"]) == N and len(p17["annolist"][0]["annorect"]) == 2
    p18 = json.loads((tmp_path / "p18" / "clip.json").read_text())
    assert len(p18["images"]) == N and {a["track_id"] for a in p18["annotations"]} == {0, 1}
    # The predictions, scored against themselves as ground truth (head boxes added), are perfect.
    for a in p17["annolist"]:
        for r in a["annorect"]:
            r["x1"], r["y1"], r["x2"], r["y2"] = [r["x1"][0]], [r["y1"][0]], [r["x1"][0] + 30], [r["y1"][0] + 30]
    (tmp_path / "gt").mkdir()
    (tmp_path / "gt" / "clip.json").write_text(json.dumps(p17))
    scores = evaluate(tmp_path / "gt", tmp_path / "p17")
    assert scores.overall.total("mota") == pytest.approx(100.0)
