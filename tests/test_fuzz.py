"""Property-based fuzzing of every reader and of `eval`, `track` and `render` end to end (Hypothesis).

A valid seed document is mutated (a value anywhere replaced by another JSON value, including
400-digit integers, Infinity, NaN, 2^63 and lists where strings belong; a key deleted; a list
element repeated; the bytes truncated or given an invalid UTF-8 byte). Properties:

* a reader either accepts the file or raises a :class:`posetrack.errors.FormatError` naming the
  file: no other exception, never a traceback;
* what a reader accepts round-trips: written by our writer and read again it is the same;
* the commands exit 0 or 1, with exactly one ``Error:`` line when they fail.

Bounded for CI: a few dozen examples per reader, a dozen per command, no deadline (shared CI
machines have noisy timings), and derandomized, so CI runs the same examples every time. For a
longer hunt with fresh random examples::

    POSETRACK_FUZZ_EXAMPLES=1000 POSETRACK_FUZZ_RANDOM=1 python -m pytest tests/test_fuzz.py
"""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.data import CASES
from posetrack.config import ConfigError, config_path, from_dict
from posetrack.pose.detector import load_boxes
from posetrack.errors import FormatError
from posetrack.eval.formats import read_posetrack, to_annolist, to_posetrack18, write_json
from posetrack.tracking.tracker import TrackerConfig, load_tracking_config
from posetrack.tracksfile.codec import read_tracks, write_tracks
from posetrack_cli import cli
from helpers.fuzz import FUZZ_SCALE, FUZZ, FUZZ_CLI, mutated
from helpers.posetrack_files import semantic


def refused_cleanly(error: Exception, path: Path) -> None:
    assert isinstance(error, FormatError), f"{type(error).__name__}: {error}"
    assert str(path) in str(error) and "\n" not in str(error)


# ----------------------------------------------------------------------------- seed documents

def _rect(tid: int, dx: float, scored: bool = True) -> dict:
    points = [{"id": [j], "x": [10.0 + dx + j], "y": [20.0 + 2 * j]} for j in range(0, 15, 3)]
    if scored:
        for k, p in enumerate(points):
            p["score"] = [0.5 + 0.05 * k]
    return {"x1": [dx], "y1": [0.0], "x2": [dx + 30.0], "y2": [40.0], "track_id": [tid], "score": [0.9],
            "annopoints": [{"point": points}]}


POSETRACK_2017 = {"annolist": [
    {"image": [{"name": f"images/val/000042_mpii_test/{t:06d}.jpg"}], "imgnum": [t + 1],
     "annorect": [_rect(1, 3.0 * t), _rect(2, 200.0 + t, scored=t != 1)],
     **({"ignore_regions": [{"point": [{"x": [300.0], "y": [0.0]}, {"x": [400.0], "y": [0.0]},
                                       {"x": [350.0], "y": [90.0]}]}]} if t == 0 else {})}
    for t in range(3)]}
TRACKS = json.loads((CASES / "tracks" / "bbox_one_value.tracks.json").read_text()
                    .replace('"bbox": [120.0]', '"bbox": [120.0, 100.0, 150.0, 160.0]'))
TRACKS["frames"].append(dict(json.loads(json.dumps(TRACKS["frames"][0])), frame=3, time=0.3))
BOXES = [{"image_id": 0, "bbox": [10.0, 20.0, 30.0, 40.0], "score": 0.9, "category_id": 1},
         {"image_id": 2, "bbox": [1.5, 2.5, 3.0, 4.0], "score": 0.5}]


def _posetrack_2018() -> dict:
    from posetrack.eval.formats import parse_posetrack
    return to_posetrack18(parse_posetrack(POSETRACK_2017))


# ----------------------------------------------------------------------------- readers

@pytest.mark.parametrize("fmt", ["2017", "2018"])
def test_posetrack_reader_accepts_or_refuses_cleanly_and_round_trips(tmp_path_factory, fmt):
    seed_doc = POSETRACK_2017 if fmt == "2017" else _posetrack_2018()

    @FUZZ
    @given(raw=mutated(seed_doc))
    def check(raw):
        folder = tmp_path_factory.mktemp("pt")
        path = folder / "seq.json"
        path.write_bytes(raw)
        try:
            seq = read_posetrack(path)
        except FormatError as e:
            return refused_cleanly(e, path)
        again = folder / "again.json"
        write_json(to_annolist(seq) if seq.format == "2017" else to_posetrack18(seq), again)
        assert semantic(read_posetrack(again)) == semantic(seq)

    check()


def test_tracks_reader_accepts_or_refuses_cleanly_and_round_trips(tmp_path_factory):
    @FUZZ
    @given(raw=mutated(TRACKS))
    def check(raw):
        folder = tmp_path_factory.mktemp("tr")
        path = folder / "t.json"
        path.write_bytes(raw)
        try:
            tracks = read_tracks(path)
        except FormatError as e:
            return refused_cleanly(e, path)
        write_tracks(folder / "again.json", tracks)
        json.loads((folder / "again.json").read_text(), parse_constant=pytest.fail)   # strict JSON
        back = read_tracks(folder / "again.json")
        assert back.header.video == tracks.header.video and back.complete == tracks.complete
        assert [f.frame for f in back.frames] == [f.frame for f in tracks.frames]
        for a, b in zip(back.frames, tracks.frames):
            np.testing.assert_allclose(a.poses.boxes, b.poses.boxes, atol=0.006)
            np.testing.assert_allclose(a.poses.keypoints, b.poses.keypoints, atol=0.006)
            assert (a.track_ids is None) == (b.track_ids is None)
            assert a.track_ids is None or a.track_ids.tolist() == b.track_ids.tolist()

    check()


def test_boxes_reader_accepts_or_refuses_cleanly(tmp_path_factory):
    @FUZZ
    @given(raw=mutated(BOXES))
    def check(raw):
        path = tmp_path_factory.mktemp("bx") / "b.json"
        path.write_bytes(raw)
        try:
            boxes = load_boxes(path)
        except FormatError as e:
            return refused_cleanly(e, path)
        for det in boxes.values():
            assert np.isfinite(det.boxes).all() and ((det.scores >= 0) & (det.scores <= 1)).all()
            assert (det.boxes[:, 2:] >= det.boxes[:, :2]).all()

    check()


def test_config_reader_accepts_or_refuses_cleanly_and_round_trips(tmp_path_factory):
    """A mutated tracker YAML (presets, overrides, flow) loads or fails with one line naming the file."""
    import tempfile

    seed_doc = yaml.safe_load(config_path("tracker").read_text())
    folder = tmp_path_factory.mktemp("configs")

    @FUZZ
    @given(raw=mutated(seed_doc), preset=st.sampled_from([None, "robust", "flowtrack"]))
    def check(raw, preset):
        try:
            data = json.loads(raw)
        except ValueError:
            return
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", dir=folder, delete=False) as f:
            f.write(json.dumps(data))          # JSON is YAML
        path = Path(f.name)
        try:
            cfg, flow = load_tracking_config(str(path), preset=preset)
        except ConfigError as e:
            assert path.name in str(e) and "\n" not in str(e), str(e)
            return
        finally:
            path.unlink()

        def finite(v):
            return not isinstance(v, float) or math.isfinite(v)
        values = dataclasses.astuple(cfg) + dataclasses.astuple(flow)
        assert all(finite(v) for v in values if not isinstance(v, tuple))
        assert from_dict(TrackerConfig, dataclasses.asdict(cfg), "again") == cfg

    check()


# ----------------------------------------------------------------------------- commands end to end

def _one_line_or_success(result, out: Path) -> None:
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    if result.exit_code == 1:
        assert len([line for line in result.output.splitlines() if line.startswith("Error:")]) == 1, result.output
    else:
        json.loads(out.read_text(), parse_constant=pytest.fail)


@pytest.mark.parametrize("fmt", ["2017", "2018"])
def test_eval_end_to_end(tmp_path_factory, fmt):
    gt_doc = json.loads(json.dumps(POSETRACK_2017 if fmt == "2017" else _posetrack_2018()))

    @FUZZ_CLI
    @given(raw=mutated(gt_doc), side=st.sampled_from(["gt", "pred"]))
    def check(raw, side):
        root = tmp_path_factory.mktemp("ev")
        for d in ("gt", "pred"):
            (root / d).mkdir()
            (root / d / "s.json").write_text(json.dumps(gt_doc))
        (root / side / "s.json").write_bytes(raw)
        out = root / "scores.json"
        result = CliRunner().invoke(cli, ["eval", "--gt", str(root / "gt"), "--pred", str(root / "pred"),
                                          "--json", str(out)], terminal_width=200)
        _one_line_or_success(result, out)

    check()


def test_track_end_to_end(tmp_path_factory):
    @FUZZ_CLI
    @given(raw=mutated(TRACKS))
    def check(raw):
        root = tmp_path_factory.mktemp("tk")
        (root / "in.json").write_bytes(raw)
        result = CliRunner().invoke(cli, ["track", str(root / "in.json"), "--out", str(root / "o.json"), "--quiet"],
                                    terminal_width=200)
        _one_line_or_success(result, root / "o.json")

    check()


def test_render_end_to_end(tmp_path_factory):
    @settings(FUZZ_CLI, max_examples=max(1, round(8 * FUZZ_SCALE)))
    @given(raw=mutated(TRACKS))
    def check(raw):
        root = tmp_path_factory.mktemp("rd")
        (root / "in.json").write_bytes(raw)
        result = CliRunner().invoke(cli, ["render", str(CASES / "tracks" / "clip15.mp4"), str(root / "in.json"),
                                          "--frames-dir", str(root / "frames")], terminal_width=200)
        assert result.exit_code in (0, 1), result.output
        assert "Traceback" not in result.output and "internal error" not in result.output, result.output
        if result.exit_code == 1:
            assert len([ln for ln in result.output.splitlines() if ln.startswith("Error:")]) == 1, result.output

    check()
