"""`posetrack eval` end to end: paper table, --json at full precision, --per-sequence, thresholds, errors."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from posetrack_cli import cli

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = ROOT / "tests" / "data" / "eval-parity" / "public"     # origin: tests/data/README.md


def invoke(*args):
    return CliRunner().invoke(cli, ["eval", *map(str, args)], terminal_width=100)


@pytest.fixture(scope="module")
def expected():
    return json.loads((PUBLIC / "expected.json").read_text())


def test_help_has_example():
    result = invoke("-h")
    assert result.exit_code == 0 and "Example" in result.output and "--joint-thr" in result.output


def test_table_and_json_match_poseval(tmp_path, expected):
    out = tmp_path / "scores.json"
    result = invoke("--gt", PUBLIC / "gt", "--pred", PUBLIC / "pred", "--json", out)
    assert result.exit_code == 0, result.output
    for header in ("Head", "Shou", "Elb", "Wri", "Hip", "Knee", "Ankl", "Total", "MOTP", "Prec", "Rec"):
        assert header in result.output
    # poseval's printed rows, %1.1f: AP 63.3 ... 62.2 and MOT 38.9 ... 83.2
    ap_cells = expected["printed_tables"]["ap"].splitlines()[1].strip("& \\").split(" & ")
    mot_cells = expected["printed_tables"]["mot"].splitlines()[2].strip("& \\").split(" & ")
    rows = {line.split()[0]: line.split()[1:] for line in result.output.splitlines() if line.strip()}
    assert rows["mAP"] == [c.strip() for c in ap_cells]
    assert rows["MOTA"] == [c.strip() for c in mot_cells]
    doc = json.loads(out.read_text())
    assert doc["joints"] == expected["joint_names"]
    assert set(doc) >= {"joints", "ap", "mota", "motp", "precision", "recall"}
    for metric, src in (("ap", expected["ap"]["ap"]), ("mota", expected["mot"]["mota"]),
                        ("motp", expected["mot"]["motp"]), ("precision", expected["mot"]["precision"]),
                        ("recall", expected["mot"]["recall"])):
        ours = [doc[metric][n] for n in doc["joints"]] + [doc[metric]["total"]]
        assert ours == pytest.approx(src, abs=1e-9), metric
    assert "per_sequence" not in doc and doc["filters"] == {"joint_thr": None, "box_thr": None}


def test_per_sequence_and_nan_as_null(tmp_path, expected):
    out = tmp_path / "s.json"
    empty = tmp_path / "empty_pred"
    empty.mkdir()
    for f in (PUBLIC / "pred").glob("*.json"):
        (empty / f.name).write_text(json.dumps({"annolist": [{"annorect": []}] * len(
            json.loads(f.read_text())["annolist"])}))
    result = invoke("--gt", PUBLIC / "gt", "--pred", empty, "--json", out, "--per-sequence")
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert set(doc["per_sequence"]) == set(expected["per_sequence"]["sequences"])
    for name in doc["per_sequence"]:
        assert name in result.output
    # no predictions anywhere: AP 0 everywhere, MOT precision 0/(FP + 0) = 0, MOTP 0
    assert set(doc["ap"].values()) == {0.0} and set(doc["motp"].values()) == {0.0}


def test_nan_is_written_as_null(tmp_path):
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    gt.mkdir()
    pred.mkdir()
    person = {"track_id": [1], "x1": [0], "y1": [0], "x2": [30], "y2": [40],
              "annopoints": [{"point": [{"id": [0], "x": [5], "y": [5]}]}]}
    (gt / "a.json").write_text(json.dumps({"annolist": [{"annorect": [person]}] * 2}))
    (pred / "a.json").write_text(json.dumps({"annolist": [{"annorect": [person]}] * 2}))
    out = tmp_path / "n.json"
    result = invoke("--gt", gt, "--pred", pred, "--json", out)
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["mota"]["right_ankle"] == 100.0 and doc["mota"]["head_top"] is None
    assert doc["recall"]["nose"] is None and doc["mota"]["total"] == 100.0
    assert "nan" in result.output


def test_thresholds_are_announced_and_recorded(tmp_path):
    out = tmp_path / "t.json"
    result = invoke("--gt", PUBLIC / "gt", "--pred", PUBLIC / "pred", "--joint-thr", "0.4", "--box-thr", "0.5",
                    "--json", out)
    assert result.exit_code == 0, result.output
    assert "filtered before scoring" in result.output and "score < 0.4" in result.output
    doc = json.loads(out.read_text())
    assert doc["filters"] == {"joint_thr": 0.4, "box_thr": 0.5}
    assert doc["mota"]["total"] != pytest.approx(37.82262018671556, abs=1e-3)


def test_missing_prediction_file_warns_and_scores(tmp_path):
    pred = tmp_path / "pred"
    pred.mkdir()
    names = sorted(p.name for p in (PUBLIC / "pred").glob("*.json"))
    for name in names[1:]:
        (pred / name).write_bytes((PUBLIC / "pred" / name).read_bytes())
    result = invoke("--gt", PUBLIC / "gt", "--pred", pred)
    assert result.exit_code == 0, result.output
    assert "no prediction file" in result.output and names[0] in result.output.replace("\n", "")


@pytest.mark.parametrize("content, message", [
    ('{"annolist": [', "not valid JSON"),
    ('{"annolist": [{"annorect": [{"track_id": [1], "annopoints": [{"point": '
     '[{"id": [0], "x": [NaN], "y": [1]}]}]}]}]}', "point 0, 'x': NaN is not a JSON number"),
])
def test_bad_prediction_file_is_one_red_line(tmp_path, content, message):
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    gt.mkdir()
    pred.mkdir()
    person = {"track_id": [1], "x1": [0], "y1": [0], "x2": [30], "y2": [40],
              "annopoints": [{"point": [{"id": [0], "x": [5], "y": [5]}]}]}
    (gt / "seq.json").write_text(json.dumps({"annolist": [{"annorect": [person]}]}))
    (pred / "seq.json").write_text(content)
    result = invoke("--gt", gt, "--pred", pred)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    error_lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1 and "seq.json" in error_lines[0] and message in error_lines[0]


def test_frame_count_mismatch_is_an_error(tmp_path):
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    gt.mkdir()
    pred.mkdir()
    (gt / "s.json").write_text(json.dumps({"annolist": [{"annorect": []}] * 3}))
    (pred / "s.json").write_text(json.dumps({"annolist": [{"annorect": []}] * 2}))
    result = invoke("--gt", gt, "--pred", pred)
    assert result.exit_code == 1 and "2 frames, but the GT file" in result.output


def test_missing_folder_is_a_usage_error(tmp_path):
    result = invoke("--gt", tmp_path / "nope", "--pred", tmp_path)
    assert result.exit_code == 2 and "does not exist" in result.output


def test_scoring_never_imports_torch_or_opencv(tmp_path):
    """`eval --gt --pred` is pure scoring: importing torch alone would triple its time (benchmarks/eval_speed.py)."""
    from helpers.startup import fresh_cli

    code, out, heavy = fresh_cli(["eval", "--gt", PUBLIC / "gt", "--pred", PUBLIC / "pred",
                                  "--json", tmp_path / "s.json", "--score-workers", "1"],
                                 ("torch", "cv2", "torchvision", "scipy.optimize"))
    assert code == 0 and heavy == [], out


def test_repeated_gt_track_ids_and_joints_are_warned_not_silent(tmp_path):
    """Kept-back siblings of the shared eval cases: poseval accepts a GT track id used twice in a frame and
    a joint listed twice for a person (so the numbers stay poseval's), but the user hears of it."""
    import posetrack

    gt = tmp_path / "gt"
    gt.mkdir()
    for f in (PUBLIC / "gt").glob("*.json"):
        doc = json.loads(f.read_text())
        if f.name == "005629_mpii_test.json":
            rects = doc["annolist"][0]["annorect"]
            rects[1]["track_id"] = list(rects[0]["track_id"])                   # two persons, one GT id
            points = rects[2]["annopoints"][0]["point"]
            points.append(dict(points[0]))                                         # a joint listed twice
        (gt / f.name).write_text(json.dumps(doc))
    result = posetrack.evaluate(gt, PUBLIC / "pred")
    said = " | ".join(result.warnings)
    assert "005629_mpii_test.json: frame 0" in said and "GT 'track_id' 11 is used by two persons" in said, said
    assert "is listed twice for one GT person" in said, said
    clean = posetrack.evaluate(PUBLIC / "gt", PUBLIC / "pred")
    assert not [w for w in clean.warnings if "twice" in w or "two persons" in w]
