"""`posetrack run --tracker PRESET --refine` end to end (the synthetic video of helpers.e2e, the `video` fixture)."""
import json

from helpers.e2e import N, base_args, run_cli


def test_run_with_a_preset_refines_the_finished_file_and_records_it(video, tmp_path):
    out = tmp_path / "tracks.json"
    result = run_cli(base_args(video, out) + ["--tracker", "flowtrack", "--refine"])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["status"] == "complete" and len(data["frames"]) == N
    assert data["settings"]["tracker"]["preset"] == "flowtrack"
    refined = data["settings"]["refined"]
    assert refined["enabled"] and {"removed_tracks", "stitched", "interpolated"} <= refined.keys()
    assert len({p["track_id"] for f in data["frames"] for p in f["people"]}) == 2
    result = run_cli(base_args(video, tmp_path / "x.json") + ["--tracker", "bytetrack"])
    assert result.exit_code == 1 and "choose one of: flowtrack, robust" in result.output


def test_run_refines_with_every_frames_colours_read_again_from_the_video(video, tmp_path, monkeypatch):
    """Refinement's re-identification needs colours for every frame, also those finished before a resume:
    the run reads the video once more at the end and describes every frame's people."""
    import posetrack.pipeline.journaled as journaled

    seen = {}
    real = journaled.refine_file

    def spy(tracks, config, appearance=None):
        seen["frames"], seen["appearance"] = tracks.frames, appearance
        return real(tracks, config, appearance=appearance)

    monkeypatch.setattr(journaled, "refine_file", spy)
    out = tmp_path / "tracks.json"
    result = run_cli(base_args(video, out) + ["--tracker", "robust", "--refine"])
    assert result.exit_code == 0, result.output
    looks, frames = seen["appearance"], seen["frames"]
    assert looks is not None and len(looks) == len(frames) == N
    assert [len(a) for a in looks] == [len(f) for f in frames]
    assert all(a.histograms is not None for a in looks)
    assert sum(float(a.weights.sum()) for a in looks) > 0          # the people were sampled, not left blank
