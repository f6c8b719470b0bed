"""The eval cases of round 3 (tests/data/cases/eval3, origins in tests/data/README.md), each with its expected
behaviour, plus siblings of each kind in the other formats.

| case | expected now |
|---|---|
| box-only-2018-pred-keypoint-key | every prediction spells ``keypoint``: exit 1, one line naming the file, frame, annotation, the key and ``keypoints``; with the key removed instead (a real box-only annotation) the file is scored box-only with a warning |
| point-key-misspelled-2017-gt | ``opint`` in one GT ``annopoints`` entry: exit 1 naming the file, frame, person (annorect) and ``point`` |
| gt-frames-shuffled-2017 | the GT lists its frames out of order: scored in list order as poseval does (the numbers stay poseval's), with a warning that the tracking figures depend on it; predictions listed in another order than the GT are paired by image name, with a warning that poseval would score them otherwise |
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from helpers.data import CASES
from posetrack.eval.evaluate import evaluate
from posetrack_cli import cli

EVAL3 = CASES / "eval3"


def eval_cli(case: Path, tmp_path: Path, *extra):
    out = tmp_path / "s.json"
    result = CliRunner().invoke(cli, ["eval", "--gt", str(case / "gt"), "--pred", str(case / "pred"), "--json",
                                      str(out), *extra], terminal_width=200)
    return result, out


def error_line(result) -> str:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, result.output
    return lines[0]


def test_misspelled_keypoints_key_is_an_error_naming_it(tmp_path):
    line = error_line(eval_cli(EVAL3 / "box-only-2018-pred-keypoint-key", tmp_path)[0])
    assert "pred/001074_mpii_test.json: frame 0 (images/val/001074_mpii_test/000000.jpg), annotation 0" in line
    assert "unknown key 'keypoint' (did you mean 'keypoints'?)" in line


def test_annotations_without_keypoints_are_box_only_with_a_warning(tmp_path):
    case = tmp_path / "case"
    shutil.copytree(EVAL3 / "box-only-2018-pred-keypoint-key", case)
    pred = case / "pred" / "001074_mpii_test.json"
    doc = json.loads(pred.read_text())
    for ann in doc["annotations"]:
        del ann["keypoint"]
    pred.write_text(json.dumps(doc))
    result, out = eval_cli(case, tmp_path)
    assert result.exit_code == 0, result.output
    scores = json.loads(out.read_text())
    assert scores["ap"]["total"] == 0.0                                   # nothing predicted, nothing found
    assert any(f"{len(doc['annotations'])} annotation(s) without 'keypoints' read as box-only" in w
               for w in scores["warnings"])


def test_misspelled_point_key_in_2017_gt_names_file_frame_person_and_key(tmp_path):
    line = error_line(eval_cli(EVAL3 / "point-key-misspelled-2017-gt", tmp_path)[0])
    assert "gt/001037_mpii_test.json: frame 3 (images/val/001037_mpii_test/000003.jpg), annorect 1" in line
    assert "unknown key 'opint' (did you mean 'point'?)" in line


def test_shuffled_gt_frames_are_scored_in_list_order_with_a_warning(tmp_path):
    case = EVAL3 / "gt-frames-shuffled-2017"
    shuffled = evaluate(case / "gt", case / "pred")
    ordered = evaluate(case / "unshuffled_gt", case / "pred")
    assert shuffled.overall.total("ap") == ordered.overall.total("ap")          # AP does not depend on order
    assert round(shuffled.overall.total("mota"), 2) == 68.39                      # poseval's number on this file
    assert round(ordered.overall.total("mota"), 2) == 58.30
    assert any("GT frames are not in frame order" in w and "depend on that order" in w for w in shuffled.warnings)
    assert not any("frame order" in w for w in ordered.warnings)
    # the predictions follow the frames' own order, not the GT's list: paired by name, and said so
    assert any("listed in another order than in the GT file" in w and "poseval pairs frames by position" in w
               for w in shuffled.warnings)


def test_same_rule_for_2018_and_posetrack21_gt_out_of_order(tmp_path):
    from posetrack.eval.formats import parse_posetrack, to_posetrack18
    from posetrack.eval.synthetic import make_posetrack21_set

    case = EVAL3 / "gt-frames-shuffled-2017"
    (tmp_path / "gt").mkdir()
    (tmp_path / "pred").mkdir()
    for side, folder in (("gt", "gt"), ("pred", "pred")):
        doc = json.loads((case / folder / "001037_mpii_test.json").read_text())
        converted = to_posetrack18(parse_posetrack(doc, side))
        (tmp_path / side / "001037_mpii_test.json").write_text(json.dumps(converted))
    assert any("GT frames are not in frame order" in w for w in evaluate(tmp_path / "gt", tmp_path / "pred").warnings)
    root = tmp_path / "pt21"
    make_posetrack21_set(root, seed=4, sequences=1, frames=(8, 8), people=(2, 2))
    gt = next((root / "gt").glob("*.json"))
    doc = json.loads(gt.read_text())
    doc["images"] = doc["images"][::-1]
    gt.write_text(json.dumps(doc))
    result = evaluate(root / "gt", root / "pred")
    assert result.benchmark == "posetrack21"
    assert any("GT frames are not in frame order" in w for w in result.warnings)
    assert any("listed in another order" in w for w in result.warnings)


def test_reordered_2017_predictions_score_as_in_order_with_a_warning(tmp_path):
    case = tmp_path / "case"
    shutil.copytree(EVAL3 / "gt-frames-shuffled-2017", case)
    shutil.rmtree(case / "gt")
    shutil.copytree(case / "unshuffled_gt", case / "gt")
    in_order = evaluate(case / "gt", case / "pred")
    pred = case / "pred" / "001037_mpii_test.json"
    doc = json.loads(pred.read_text())
    doc["annolist"].reverse()
    pred.write_text(json.dumps(doc))
    reversed_ = evaluate(case / "gt", case / "pred")
    assert reversed_.overall.total("mota") == in_order.overall.total("mota")
    assert reversed_.overall.total("ap") == in_order.overall.total("ap")
    assert any("paired by image name (poseval pairs frames by position" in w for w in reversed_.warnings)
    assert not any("another order" in w for w in in_order.warnings)
