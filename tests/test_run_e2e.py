"""`posetrack run` end to end: a synthetic video, test-made weights through the real loaders."""
import json

import pytest
import torch

from posetrack.tracksfile.journal import journal_path
from posetrack.tracksfile.codec import read_tracks
from helpers.e2e import H, N, W, base_args, run_cli


def test_run_writes_schema_with_stable_ids(video, tmp_path):
    out = tmp_path / "tracks.json"
    result = run_cli(base_args(video, out))
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["version"] == 1 and data["status"] == "complete"
    assert data["video"]["frames"] == N and (data["video"]["width"], data["video"]["height"]) == (W, H)
    assert data["keypoints"][0] == "nose" and len(data["skeleton"]) > 10
    assert data["settings"]["pose_model"] == "hrnet_tiny_128x96"
    assert [f["frame"] for f in data["frames"]] == list(range(N))
    ids = []
    for f in data["frames"]:
        assert len(f["people"]) == 2
        for p in f["people"]:
            x1, y1, x2, y2 = p["bbox"]
            assert 0 <= x1 < x2 <= W and 0 <= y1 < y2 <= H
            assert len(p["keypoints"]) == 17 and all(len(k) == 3 for k in p["keypoints"])
        ids.append(sorted((p["bbox"][0], p["track_id"]) for p in f["people"]))
    moving = {row[0][1] for row in ids}   # the left-most person is the moving one
    still = {row[1][1] for row in ids}
    assert len(moving) == 1 and len(still) == 1 and moving != still
    assert not journal_path(out).exists()
    assert f"{N} frames, 2 tracks -> {out}" in result.output and "dropped by the tracker" not in result.output


def test_untracked_and_exports(video, tmp_path):
    out = tmp_path / "poses.json"
    result = run_cli(base_args(video, out) + ["--tracker", "none", "--export-posetrack2017", str(tmp_path / "p17.json"),
                                              "--export-posetrack2018", str(tmp_path / "p18.json")])
    assert result.exit_code == 0, result.output
    tracks = read_tracks(out)
    assert all(f.track_ids is None for f in tracks.frames)
    assert f"{N} frames, {2 * N} poses (untracked) -> {out}" in result.output and "0 tracks" not in result.output
    p17 = json.loads((tmp_path / "p17.json").read_text())
    assert len(p17["annolist"]) == N and len(p17["annolist"][0]["annorect"]) == 2
    p18 = json.loads((tmp_path / "p18.json").read_text())
    assert len(p18["images"]) == N and len(p18["categories"][0]["keypoints"]) == 17


def test_a_run_whose_poses_the_tracker_all_drops_says_which_settings(video, tmp_path):
    # every box scores 0.95 (dets.json): above box_score, below this start_score, so no track can start
    config = tmp_path / "strict.yaml"
    config.write_text("tracker:\n  start_score: 0.99\n")
    out = tmp_path / "tracks.json"
    result = run_cli(base_args(video, out) + ["--tracker-config", str(config)])
    assert result.exit_code == 0, result.output
    assert all(len(f.poses) == 0 for f in read_tracks(out).frames)
    assert f"{N} frames, 0 tracks" in result.output
    line = next(x for x in result.output.splitlines() if "dropped by the tracker" in x)
    assert line.startswith(f"All {2 * N} poses estimated were dropped")
    assert "0.99 (start_score" in line and "0.4 (joint_score)" in line and "--tracker none" in line


def test_interrupted_run_leaves_valid_file_and_resume_completes(video, tmp_path, monkeypatch):
    ref = tmp_path / "ref.json"
    assert run_cli(base_args(video, ref)).exit_code == 0
    out = tmp_path / "tracks.json"
    import posetrack.tracksfile.journal as journal

    real_frame = journal.Journal.frame
    calls = {"n": 0}

    def interrupt_at_the_sixth(self, result):       # Ctrl-C while frame 5 is being journaled
        calls["n"] += 1
        if calls["n"] == 6:
            raise KeyboardInterrupt
        real_frame(self, result)

    monkeypatch.setattr(journal.Journal, "frame", interrupt_at_the_sixth)
    result = run_cli(base_args(video, out) + ["--frame-batch", "4"])
    assert result.exit_code == 130
    assert "Continue with: posetrack run" in result.output and "--frame-batch 4" in result.output
    assert "--resume" in result.output
    partial = json.loads(out.read_text())                # a valid file with the finished frames
    assert partial["status"] == "partial" and [f["frame"] for f in partial["frames"]] == list(range(5))
    assert journal_path(out).exists()
    monkeypatch.setattr(journal.Journal, "frame", real_frame)
    # A hard kill leaves only the journal (and maybe a torn last line): simulate both.
    out.unlink()
    with open(journal_path(out), "a") as f:
        f.write('{"frame": 5, "people": [{"track')
    result = run_cli(base_args(video, out) + ["--frame-batch", "4", "--resume"])
    assert result.exit_code == 0, result.output
    assert "5 kept from the interrupted run" in " ".join(result.output.split())
    done = json.loads(out.read_text())
    assert done["status"] == "complete" and [f["frame"] for f in done["frames"]] == list(range(N))
    expected = json.loads(ref.read_text())
    assert done["frames"] == expected["frames"]           # the same ids, boxes and keypoints as one run
    assert not journal_path(out).exists()


def test_detector_path_with_test_made_weights(video, tmp_path):
    from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_320_fpn

    torch.manual_seed(0)
    det = fasterrcnn_mobilenet_v3_large_320_fpn(weights=None, weights_backbone=None, num_classes=91)
    torch.save(det.state_dict(), tmp_path / "det.pth")
    out = tmp_path / "tracks.json"
    args = [str(video / "walk.mp4"), "--out", str(out), "--pose-model", "hrnet_tiny_128x96",
            "--pose-weights", str(video / "pose.pth"), "--detector", "fasterrcnn_mobilenet_v3_large_320_fpn",
            "--detector-weights", str(tmp_path / "det.pth"), "--end", "4", "--quiet", "--device", "cpu"]
    result = run_cli(args)
    assert result.exit_code == 0, result.output
    tracks = read_tracks(out)
    assert [f.frame for f in tracks.frames] == [0, 1, 2, 3]


@pytest.mark.parametrize("args,message", [
    (["--pose-model", "w48_384x280"], "did you mean 'w48_384x288'"),
    (["--device", "tpu"], "unknown device"),
    (["--pose-weights", "/nonexistent/w.pth"], "/nonexistent/w.pth"),
])
def test_bad_input_is_one_clear_line(video, tmp_path, args, message):
    out = tmp_path / "t.json"
    result = run_cli(base_args(video, out) + args)
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output


def test_detect_every_end_to_end_and_its_limits(video, tmp_path):
    out = tmp_path / "tracks.json"
    result = run_cli(base_args(video, out) + ["--detect-every", "3"])
    assert result.exit_code == 0, result.output
    assert [f.frame for f in read_tracks(out).frames] == list(range(N))
    result = run_cli(base_args(video, tmp_path / "u.json") + ["--detect-every", "3", "--tracker", "none"])
    assert result.exit_code == 1 and "detect_every = 3 needs tracking" in " ".join(result.output.split())
