"""`posetrack eval` on PoseTrack21: the kit's table, --json with HOTA per joint and per alpha, --format, --plot."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from helpers.data import PARITY, PARITY_PT21
from posetrack_cli import cli

PT21 = PARITY_PT21 / "public"        # origins: tests/data/README.md
PT17 = PARITY / "public"


def invoke(*args):
    return CliRunner().invoke(cli, ["eval", *map(str, args)], terminal_width=120)


@pytest.fixture(scope="module")
def expected():
    return json.loads((PT21 / "expected.json").read_text())


def test_table_shows_the_kits_rows_and_headline(tmp_path, expected):
    result = invoke("--gt", PT21 / "gt", "--pred", PT21 / "pred")
    assert result.exit_code == 0, result.output
    rows: dict = {}
    for line in result.output.splitlines():
        if line.strip():
            rows.setdefault(line.split()[0], line.split()[1:])       # the table's rows come before the headline
    assert rows["Nose"][:3] == ["Neck", "Head", "LS"] and rows["Nose"][-1] == "Total"
    total = {f: "%.1f" % (100 * expected["hota"]["combined"]["alpha_mean"][f][-1]) for f in ("HOTA", "DetA", "AssA")}
    for field, value in total.items():
        assert rows[field][-1] == value, field
    assert rows["mAP"][-1] == "%.1f" % expected["map"]["combined"]["ap"][-1]
    assert "HOTA 31.23  DetA 23.04  AssA 42.36  LocA 77.74  mAP 64.41" in result.output


def test_json_layout(tmp_path, expected):
    out = tmp_path / "s.json"
    result = invoke("--gt", PT21 / "gt", "--pred", PT21 / "pred", "--json", out, "--per-sequence")
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["benchmark"] == "posetrack21" and len(doc["joints"]) == 15 and len(doc["alphas"]) == 19
    combined = expected["hota"]["combined"]
    for field in ("HOTA", "DetA", "AssA", "LocA", "DetRe", "DetPr", "AssRe", "AssPr", "FragA"):
        ours = [doc["hota"][field][j] for j in doc["joints"]] + [doc["hota"][field]["total"]]
        assert ours == pytest.approx(combined["alpha_mean"][field], abs=1e-12), field
        per_alpha = np.array([doc["hota_per_alpha"][field][j] for j in doc["joints"] + ["total"]]).T
        assert per_alpha == pytest.approx(np.array(combined["per_alpha"][field]), abs=1e-12), field
    ap = [doc["ap"][j] for j in doc["joints"]] + [doc["ap"]["total"]]
    assert ap == pytest.approx(expected["map"]["combined"]["ap"], abs=1e-12)
    assert doc["counts"] == expected["count"]["combined"]
    assert set(doc["per_sequence"]) == {s[:-5] for s in expected["hota"]["per_sequence"]}
    seq = doc["per_sequence"]["001147_mpii_test"]
    assert seq["hota"]["HOTA"]["total"] == pytest.approx(
        expected["hota"]["per_sequence"]["001147_mpii_test.json"]["alpha_mean"]["HOTA"][-1], abs=1e-12)


def test_format_is_detected_or_named(tmp_path):
    """Without PoseTrack21's own keys the files read as PoseTrack 2018 (poseval's MOTA); --format posetrack21
    names the benchmark. A GT folder mixing both is refused in one line."""
    for side in ("gt", "pred"):
        (tmp_path / side).mkdir()
        for path in (PT21 / side).glob("*.json"):
            doc = json.loads(path.read_text())
            for ann in doc["annotations"]:
                ann.pop("person_id", None)
            for image in doc["images"]:
                image.pop("has_labeled_person", None)
            doc["categories"] = json.loads((PT21 / "gt" / path.name).read_text())["categories"]
            (tmp_path / side / path.name).write_text(json.dumps(doc))
    plain = invoke("--gt", tmp_path / "gt", "--pred", tmp_path / "pred")
    assert plain.exit_code == 0, plain.output
    assert "MOTA" in plain.output and "HOTA" not in plain.output
    named = invoke("--gt", tmp_path / "gt", "--pred", tmp_path / "pred", "--format", "posetrack21")
    assert named.exit_code == 0 and "HOTA 31.23" in named.output
    shutil.copy(PT21 / "gt" / "001147_mpii_test.json", tmp_path / "gt" / "001147_mpii_test.json")
    mixed = invoke("--gt", tmp_path / "gt", "--pred", tmp_path / "pred")
    assert mixed.exit_code == 1 and "--format posetrack21" in mixed.output
    assert len([ln for ln in mixed.output.splitlines() if ln.startswith("Error:")]) == 1


def _looks_like_a_chart(path: Path, min_size=(300, 200)):
    from matplotlib.image import imread

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(path)
    assert image.shape[1] >= min_size[0] and image.shape[0] >= min_size[1]
    gray = image[..., :3].mean(axis=2)
    assert gray.std() > 0.05                             # not blank: bars, lines and text on white
    assert (gray < 0.5).mean() > 0.002                   # some dark pixels (text, axes)


@pytest.mark.parametrize("benchmark", ["posetrack21", "posetrack2017"])
def test_plot_writes_readable_pngs_and_never_overwrites(tmp_path, benchmark):
    root = PT21 if benchmark == "posetrack21" else PT17
    plots = tmp_path / "plots"
    result = invoke("--gt", root / "gt", "--pred", root / "pred", "--plot", plots)
    assert result.exit_code == 0, result.output
    names = {"joints.png", "sequences.png"} | ({"hota_alpha.png"} if benchmark == "posetrack21" else set())
    assert {p.name for p in plots.iterdir()} == names
    for name in names:
        _looks_like_a_chart(plots / name)
        assert f"Wrote {plots / name}" in result.output.replace("\n", "")
    again = invoke("--gt", root / "gt", "--pred", root / "pred", "--plot", plots)
    assert again.exit_code == 1 and "exists" in again.output and "--force" in again.output
    forced = invoke("--gt", root / "gt", "--pred", root / "pred", "--plot", plots, "--force")
    assert forced.exit_code == 0, forced.output


def test_scoring_checks_no_device_and_builds_no_log_handler(tmp_path):
    """`eval --gt --pred` loads no model: --device is not checked (checking imports torch) and rich's log
    handler, built at the first log record, is never imported (start-up cost; README "Scoring")."""
    from helpers.startup import fresh_cli

    code, out, loaded = fresh_cli(["eval", "--gt", PT21 / "gt", "--pred", PT21 / "pred", "--device", "cuda:7"],
                                  ("torch", "rich.logging"))
    assert code == 0 and loaded == [] and "HOTA 31.23" in out, out
