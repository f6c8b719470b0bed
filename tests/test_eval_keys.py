"""Misspelled and unknown keys in PoseTrack files (Hypothesis): never read as an empty list.

At every container level of every format (2017: the document, a frame, a rect, an ``annopoints`` entry, an
ignore region; 2018 and PoseTrack21: the document, an image, an annotation) a key that the format does not
know is refused with one line naming the file, the place (frame, person), the key and the closest valid key.
Elsewhere (a 2017 point, a category) unknown keys stay accepted, as poseval and the kit accept them.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, List, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posetrack.errors import FormatError
from posetrack.eval import schema
from posetrack.eval.formats import read_posetrack
from posetrack.eval.posetrack21.read import load_sequence21
from posetrack.eval.synthetic import make_posetrack21_set, make_posetrack_set
from posetrack.tracksfile.posetrack21 import Document21
from posetrack.validation import struct_keys

EXAMPLES = int(os.environ.get("POSETRACK_FUZZ_EXAMPLES", "60"))
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, derandomize=not os.environ.get("POSETRACK_FUZZ_RANDOM"),
                    database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _seed(fmt: str, root: Path) -> dict:
    if fmt == "posetrack21":
        make_posetrack21_set(root, seed=5, sequences=1, frames=(6, 6), people=(2, 2))
    else:
        make_posetrack_set(root, seed=3, sequences=3, frames=(6, 6), people=(2, 2), fmt=fmt)
    docs = [json.loads(p.read_text()) for p in sorted((root / "gt").glob("*.json"))]
    docs.sort(key=lambda d: -len(json.dumps(d).split('"ignore_regions')))    # one with ignore regions first
    return docs[0]


def _containers(doc: Any, fmt: str) -> List[Tuple]:
    """Paths of the objects at container levels (root, frames, rects, annopoints, regions / images, annotations)."""
    if fmt != "2017":
        return [()] + [(k, i) for k in ("images", "annotations") for i in range(len(doc[k]))]
    out: List[Tuple] = [()]
    for f, frame in enumerate(doc["annolist"]):
        out.append(("annolist", f))
        for r, rect in enumerate(frame["annorect"]):
            out.append(("annolist", f, "annorect", r))
            out += [("annolist", f, "annorect", r, "annopoints", k) for k in range(len(rect.get("annopoints", [])))]
        out += [("annolist", f, "ignore_regions", k) for k in range(len(frame.get("ignore_regions", [])))]
    return out


def _get(doc: Any, path: Tuple) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def _read(fmt: str, path: Path) -> None:
    if fmt == "posetrack21":
        load_sequence21(path, gt=True)
    else:
        read_posetrack(path)


@st.composite
def misspelled(draw, key: str) -> str:
    """A plausible typing slip of ``key``."""
    i = draw(st.integers(0, max(0, len(key) - 1)))
    op = draw(st.sampled_from(["drop", "double", "swap", "case", "plural", "insert"]))
    if op == "drop" and len(key) > 1:
        return key[:i] + key[i + 1:]
    if op == "double":
        return key[:i] + key[i] + key[i:]
    if op == "swap" and len(key) > 1:
        i = min(i, len(key) - 2)
        return key[:i] + key[i + 1] + key[i] + key[i + 2:]
    if op == "case":
        return key[:i] + key[i].swapcase() + key[i + 1:]
    if op == "plural":
        return key[:-1] if key.endswith("s") else key + "s"
    return key[:i] + draw(st.sampled_from("aeiox_")) + key[i:]


ROOTS = {"2017": schema.PoseTrackDocument, "2018": schema.PoseTrackDocument, "posetrack21": Document21}


@pytest.mark.parametrize("fmt", ["2017", "2018", "posetrack21"])
def test_a_misspelled_key_at_any_container_level_is_refused_naming_it(tmp_path_factory, fmt):
    seed = _seed(fmt, tmp_path_factory.mktemp("seed"))
    places = _containers(seed, fmt)

    @PROPERTY
    @given(data=st.data())
    def check(data):
        where = data.draw(st.sampled_from(places))
        doc = json.loads(json.dumps(seed))
        obj = _get(doc, where)
        key = data.draw(st.sampled_from(sorted(obj)))
        valid = set(struct_keys(ROOTS[fmt], list(where)))
        wrong = data.draw(misspelled(key))
        if wrong in valid or wrong in obj:
            return
        obj[wrong] = obj.pop(key)
        path = tmp_path_factory.mktemp("bad") / "seq.json"
        path.write_text(json.dumps(doc))
        with pytest.raises(FormatError) as info:
            _read(fmt, path)
        message = str(info.value)
        assert message.startswith(f"{path}: ") and "\n" not in message
        assert f"unknown key {wrong!r}" in message, message
        hint = re.search(r"\(did you mean '([^']*)'\?\)|\(valid keys: ", message)
        assert hint and (hint.group(1) is None or hint.group(1) in valid), message
        if len(where) >= 2:                                    # inside a frame: the frame is named
            assert re.search(r"\b(frame|image|annotation) \d", message), message

    check()


@pytest.mark.parametrize("fmt", ["2017", "2018", "posetrack21"])
def test_any_unknown_key_at_a_container_level_is_refused_and_elsewhere_accepted(tmp_path_factory, fmt):
    seed = _seed(fmt, tmp_path_factory.mktemp("seed"))
    places = _containers(seed, fmt)

    @PROPERTY
    @given(data=st.data(), key=st.text(st.characters(codec="ascii", categories=["L", "N", "P"]), min_size=1,
                                      max_size=12))
    def check(data, key):
        where = data.draw(st.sampled_from(places))
        valid = set(struct_keys(ROOTS[fmt], list(where)))
        doc = json.loads(json.dumps(seed))
        if key in valid or key in _get(doc, where):
            return
        _get(doc, where)[key] = data.draw(st.sampled_from([[], 1, "x", {"a": 1}, None]))
        path = tmp_path_factory.mktemp("bad") / "seq.json"
        path.write_text(json.dumps(doc))
        with pytest.raises(FormatError, match=re.escape(f"unknown key {key!r}")):
            _read(fmt, path)

    check()
    # elsewhere, unknown keys are read as poseval reads them: ignored
    doc = json.loads(json.dumps(seed))
    if fmt == "2017":
        doc["annolist"][0]["annorect"][0]["annopoints"][0]["point"][0]["note"] = "hand-checked"
    else:
        doc.setdefault("categories", [{"name": "person", "keypoints": []}])[0]["extra"] = [1, 2]
    path = tmp_path_factory.mktemp("ok") / "seq.json"
    path.write_text(json.dumps(doc))
    _read(fmt, path)


def test_known_but_unread_keys_accept_any_value(tmp_path):
    """Keys of PoseTrack, the kit's submissions and COCO that no evaluator reads (vid_id, bbox, info, ...)."""
    seed = _seed("posetrack21", tmp_path / "s")
    seed["info"] = {"year": 2021}
    seed["images"][0].update(vid_id=1, width="1280", license=None, has_no_densepose=True)
    seed["annotations"][0].update(bbox=None, area=[1], iscrowd=0, segmentation={"counts": []}, person_id="p")
    path = tmp_path / "seq.json"
    path.write_text(json.dumps(seed))
    load_sequence21(path, gt=True)


@pytest.mark.parametrize("side", ["gt", "pred"])
def test_posetrack21_files_are_read_or_refused_cleanly_and_eval_never_crashes(tmp_path_factory, side):
    """Any mutation of a PoseTrack21 file (test_fuzz's mutations): `eval` scores it or exits 1 with one line
    naming the file (or, when GT and prediction no longer pair, the prediction file); never a traceback."""
    from click.testing import CliRunner

    from posetrack_cli import cli
    from helpers.fuzz import FUZZ_CLI, mutated

    seed_root = tmp_path_factory.mktemp("seed21")
    make_posetrack21_set(seed_root, seed=6, sequences=1, frames=(6, 6), people=(2, 2))
    name = next((seed_root / "gt").glob("*.json")).name
    seed = json.loads((seed_root / side / name).read_text())

    @FUZZ_CLI
    @given(raw=mutated(seed))
    def check(raw):
        root = tmp_path_factory.mktemp("ev21")
        for d in ("gt", "pred"):
            (root / d).mkdir()
            (root / d / name).write_bytes((seed_root / d / name).read_bytes())
        (root / side / name).write_bytes(raw)
        result = CliRunner().invoke(cli, ["eval", "--gt", str(root / "gt"), "--pred", str(root / "pred"), "--format",
                                          "posetrack21", "--json", str(root / "s.json")], terminal_width=200)
        assert result.exit_code in (0, 1), result.output
        assert "Traceback" not in result.output and "internal error" not in result.output, result.output
        if result.exit_code == 1:
            errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
            assert len(errors) == 1, result.output       # naming a file (the GT's, for a frame the prediction lacks)
            assert str(root / side / name) in errors[0] or str(root / "pred" / name) in errors[0], result.output
        else:
            json.loads((root / "s.json").read_text(), parse_constant=pytest.fail)

    check()
