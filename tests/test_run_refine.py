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
