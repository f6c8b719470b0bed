"""Parity of `posetrack eval` on PoseTrack21 with the official kit (anDoer/PoseTrack21 eval/posetrack21, 3e61960).

1. ``tests/data/eval-parity-pt21/public``: the reference set and the kit's own numbers (``expected.json``,
   made by the kit; command and versions inside). Every field must match to 1e-9: keypoint HOTA, DetA,
   AssA, FragA, DetRe, DetPr, AssRe, AssPr, LocA, RHOTA, FA-HOTA, FA-RHOTA and the TP/FN/FP counts per
   alpha, their alpha means, the alpha-0 fields, per joint and Total, combined and per sequence; the
   Count metric; mAP, precision and recall per joint, Total and the kit's body-part groups, combined and
   per sequence.
2. ``tests/data/eval-parity-pt21/edges``: a set from the reference generator with its edge-case switches on
   (ignore regions with annotated crowd persons, ears, zero-size head boxes, bad coordinates, missing
   scores, extra images, large ids, empty frames and sequences, box-only persons, logit scores, id
   switches, fragments, duplicates) and one frame of integer keypoints (the kit's score truncation);
   ``kit.json`` holds the kit's numbers on it (``benchmarks/pt21_kit_numbers.py``, origin in
   ``tests/data/README.md``). Same checks.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from helpers.data import PARITY_PT21
from posetrack.eval.evaluate import evaluate

DATA = PARITY_PT21     # origins: tests/data/README.md
TOL = 1e-9


def assert_close(ours, theirs, what):
    ours, theirs = np.asarray(ours, np.float64), np.array(theirs, dtype=np.float64)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} vs {theirs.shape}"
    assert not np.isnan(theirs).any() and not np.isnan(ours).any(), what
    bad = np.abs(ours - theirs) > TOL
    assert not bad.any(), f"{what}: differs at {np.argwhere(bad)[:5].tolist()}: {ours[bad][:5]} vs {theirs[bad][:5]}"


def check_hota(hota, block, what):
    for field, values in block["per_alpha"].items():
        assert_close(hota.per_alpha[field], values, f"{what} per_alpha {field}")
    for field, values in block["alpha_mean"].items():
        assert_close(hota.mean(field), values, f"{what} alpha_mean {field}")
    for field, values in block["alpha0"].items():
        assert_close(hota.alpha0[field], values, f"{what} alpha0 {field}")


def check_map(ap, block, what):
    for ours, key in (("ap", "ap"), ("precision", "precision"), ("recall", "recall")):
        assert_close(getattr(ap, ours), block[key], f"{what} {key}")
    for part, key in (("map", "ap"), ("precision", "precision"), ("recall", "recall")):
        for name, value in block["parts"][part].items():
            assert abs(ap.parts(key)[name] - value) <= TOL, f"{what} parts {part} {name}"


def check_all(result, reference):
    assert result.benchmark == "posetrack21"
    assert_close(result.alphas, reference.get("hota_alphas") or reference["hota"]["alphas"], "alphas")
    check_hota(result.overall.hota, reference["hota"]["combined"], "combined")
    check_map(result.overall.ap, reference["map"]["combined"], "combined mAP")
    assert dict(result.overall.counts) == reference["count"]["combined"]
    assert set(result.sequences) == {s[:-5] for s in reference["hota"]["per_sequence"]}
    for seq, block in reference["hota"]["per_sequence"].items():
        check_hota(result.sequences[seq[:-5]].hota, block, seq)
        check_map(result.sequences[seq[:-5]].ap, reference["map"]["per_sequence"][seq], f"{seq} mAP")
        counts = {**result.sequences[seq[:-5]].counts, "Frames": result.sequences[seq[:-5]].frames}
        assert counts == reference["count"]["per_sequence"][seq], seq


@pytest.mark.parametrize("workers", [1, 2])
def test_public_set_matches_the_kit(workers):
    expected = json.loads((DATA / "public" / "expected.json").read_text())
    check_all(evaluate(DATA / "public" / "gt", DATA / "public" / "pred", workers=workers), expected)


def test_headline_numbers_as_the_kit_prints_them():
    result = evaluate(DATA / "public" / "gt", DATA / "public" / "pred")
    printed = json.loads((DATA / "public" / "expected.json").read_text())["result_files"]["pose_tracking"]
    values = printed.splitlines()[1].strip(" &").split(" & ")          # DetPr & DetRe & ... (x100, %1.5g)
    names = printed.splitlines()[0].split(" & ")[1:]
    for name, value in zip(names, values):
        field = name.replace("\\_", "_")
        ours = result.overall.hota.alpha0[field][-1] if field.endswith("(0)") else result.overall.hota.mean(field)[-1]
        text = "%d" % int(ours) if field.startswith("HOTA_") else "%1.5g" % (100 * ours)     # the kit's formats
        assert text == value, field


def test_edge_case_set_matches_the_kit():
    kit = json.loads((DATA / "edges" / "kit.json").read_text())
    result = evaluate(DATA / "edges" / "gt", DATA / "edges" / "pred")
    check_all(result, kit)
    # what the set is for: the kit's choices were exercised, each with its warning where we add one
    text = "\n".join(result.warnings)
    assert "ignored with their annotations" in text and "head box of size 0" in text
