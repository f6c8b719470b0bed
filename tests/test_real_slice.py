"""Real poses on a real video, in CI: 60 frames (120-179) of tests/data/real, tracked by `posetrack track`
and scored against the identities labelled by hand (tests/data/README.md: origins).

The slice holds ten people: two walking side by side, a man leaving at the right edge as another
enters there, a woman crossing the street, a far walker, people at the sign. The thresholds sit
below the measured figures (default preset: ID-F1 0.92, 5 switches; flowtrack: 0.73, 26): they
catch a tracker that lost its grip, not a change of a few poses.
"""
from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from posetrack.eval.identity import identity_scores
from posetrack.tracksfile.codec import read_tracks
from posetrack_cli import cli

DATA = Path(__file__).parent / "data" / "real"


def scores(out: Path):
    import numpy as np

    poses = read_tracks(DATA / "vtest_120-179.poses.json")
    labels = json.loads((DATA / "vtest_120-179.truth.json").read_text())["labels"]
    key = {}
    for f in poses.frames:
        for box, person in zip(np.round(f.poses.boxes.astype(np.float64), 1), labels[str(f.frame)]):
            key[(f.frame, tuple(box))] = person
    true, pred, frames = [], [], []
    tracks = read_tracks(out)
    for f in tracks.frames:
        for i, box in enumerate(np.round(f.poses.boxes.astype(np.float64), 1)):
            if f.interpolated is None or not f.interpolated[i]:
                true.append(key.get((f.frame, tuple(box))))
                pred.append(int(f.track_ids[i]))
                frames.append(f.frame)
    total = sum(1 for v in labels.values() for p in v if p is not None)
    return identity_scores(true, pred, frames, total), tracks


def track(tmp_path: Path, *extra: str) -> Path:
    out = tmp_path / f"tracks{len(extra)}.json"
    result = CliRunner().invoke(cli, ["track", str(DATA / "vtest_120-179.poses.json"), "--video",
                                      str(DATA / "vtest_120-179.mp4"), "--out", str(out), "--quiet", *extra])
    assert result.exit_code == 0, result.output
    return out


def test_the_default_tracker_keeps_real_identities(tmp_path):
    s, tracks = scores(track(tmp_path))
    assert s.idf1 >= 0.85 and s.switches <= 8, s
    assert not any(f.cut for f in tracks.frames)                    # one shot: no cut
    flowtrack, _ = scores(track(tmp_path, "--tracker", "flowtrack"))
    assert s.idf1 >= flowtrack.idf1 + 0.1, (s, flowtrack)
