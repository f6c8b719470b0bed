"""A seeded fuzzing run of `posetrack eval` over PoseTrack 2017, 2018 and PoseTrack21 inputs, with counts.

Small valid seed sets (our synthetic generators) are mutated, one mutation per case, in the GT or the
prediction file, and each case runs as ``posetrack eval --gt ... --pred ... --json ...`` (in-process,
click's test runner). Mutations of two kinds:

* **must refuse** (the input is broken; exit 1 with one line naming the file is the only right answer):
  a misspelled or unknown key at a container level, a string / boolean / list / object where a number
  belongs, Infinity, NaN or a 400-digit number, a truncated file, an invalid UTF-8 byte, a required key
  deleted (a 2017 point's id/x/y, an image id, an annotation's image_id, a PoseTrack21 GT image's
  is_labeled), a keypoint or score list of the wrong length, two images with one id;
* **either** (a value replaced by any JSON value, a key deleted, a number changed, a list element
  repeated): accepting or refusing cleanly are both fine.

Counted: cases; clean refusals (exit 1, exactly one ``Error:`` line, naming the file); silent acceptances
(exit 0 on a must-refuse mutation); crashes (any other exit, a traceback, or "internal error").

    python benchmarks/fuzz_eval.py [--seed 17] [--cases 600]
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, List, Tuple

from click.testing import CliRunner

from posetrack.eval.synthetic import make_posetrack21_set, make_posetrack_set
from posetrack_cli import cli

ODD = [10 ** 400, float("inf"), float("nan"), -float("inf")]
WRONG_TYPES = ["12", True, [1.0], {"x": 1}]
CONTAINER_KEYS = {
    "2017": ["annolist", "image", "annorect", "ignore_regions", "annopoints", "point", "x1", "track_id"],
    "2018": ["images", "annotations", "categories", "keypoints", "scores", "bbox_head", "track_id", "image_id",
             "file_name", "ignore_regions_x"],
    "posetrack21": ["images", "annotations", "keypoints", "scores", "bbox_head", "track_id", "image_id",
                    "is_labeled", "ignore_regions_x"],
}


def _walk(doc: Any, path: Tuple = ()) -> List[Tuple]:
    out = [path]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _walk(v, path + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _walk(v, path + (i,))
    return out


def _get(doc: Any, path: Tuple) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def _misspell(key: str, rng: random.Random) -> str:
    i = rng.randrange(len(key))
    return rng.choice([key[:i] + key[i + 1:], key[:i] + key[i] + key[i:], key + "s", key.capitalize()])


#: Number fields the evaluators read (the others, imgnum, is_visible, frame_id, bbox, ..., accept any value).
READ = {"x", "y", "score", "x1", "y1", "x2", "y2", "track_id", "keypoints", "scores", "bbox_head", "image_id",
        "ignore_regions_x", "ignore_regions_y"}


def _numbers(doc, read_only: bool = False) -> List[Tuple]:
    """Paths of the numbers in ``doc``; ``read_only``: only those of fields an evaluator reads."""
    out = []
    for p in _walk(doc):
        if not p or type(_get(doc, p)) not in (int, float):
            continue
        names = [step for step in p if isinstance(step, str)]
        field = names[-1]
        if not read_only or field in READ or (field == "id" and names[-2:] in (["images", "id"], ["point", "id"])):
            out.append(p)
    return out


def must_refuse(fmt: str, doc: Any, rng: random.Random) -> Tuple[str, Any]:
    """(mutation name, mutated doc or raw bytes) of a mutation whose result is broken."""
    kind = rng.choice(["misspelled key", "unknown key", "wrong type", "non-finite", "truncated", "bad utf-8",
                       "required key deleted", "wrong length", "duplicate image id"])
    if kind in ("misspelled key", "required key deleted"):
        keys = CONTAINER_KEYS[fmt] if kind == "misspelled key" else {
            "2017": ["id", "x", "y"], "2018": ["id", "image_id"], "posetrack21": ["id", "image_id", "is_labeled"]}[fmt]
        places = [p for p in _walk(doc) if p and p[-1] in keys and isinstance(_parent(doc, p), dict)]
        if kind == "required key deleted" and fmt != "2017":       # an annotation's own id is not read
            places = [p for p in places if p[-1] == "image_id" or p[0] == "images"]
        p = rng.choice(places)
        parent = _parent(doc, p)
        value = parent.pop(p[-1])
        if kind == "misspelled key":
            parent[_misspell(p[-1], rng)] = value
        return kind, doc
    if kind == "unknown key":
        containers = [p for p in _walk(doc) if isinstance(_get(doc, p), dict) and (
            not p or p[-2:-1] in (("images",), ("annotations",), ("annolist",), ("annorect",), ("annopoints",)))]
        _get(doc, rng.choice(containers))["note" + str(rng.randrange(100))] = 1
        return kind, doc
    if kind in ("wrong type", "non-finite"):
        p = rng.choice(_numbers(doc, read_only=True))
        _parent(doc, p)[p[-1]] = rng.choice(WRONG_TYPES if kind == "wrong type" else ODD)
        return kind, doc
    if kind == "wrong length":
        lists = [p for p in _walk(doc) if p and p[-1] in ("keypoints", "scores") and isinstance(_get(doc, p), list)
                 and p[0] == "annotations"] if fmt != "2017" else []
        if not lists:
            return must_refuse(fmt, doc, rng)
        _get(doc, rng.choice(lists)).pop()
        return kind, doc
    if kind == "duplicate image id":
        if fmt == "2017":
            return must_refuse(fmt, doc, rng)
        doc["images"][1]["id"] = doc["images"][0]["id"]
        return kind, doc
    raw = json.dumps(doc).encode()
    if kind == "truncated":
        return kind, raw[:rng.randrange(1, len(raw) - 1)]
    at = rng.randrange(len(raw))
    return kind, raw[:at] + b"\xff" + raw[at:]


def _parent(doc, path):
    return _get(doc, path[:-1])


def either(fmt: str, doc: Any, rng: random.Random) -> Tuple[str, Any]:
    """(mutation name, mutated doc) of a mutation that may leave the file valid."""
    kind = rng.choice(["value replaced", "key deleted", "number changed", "element repeated"])
    paths = [p for p in _walk(doc) if p]
    if kind == "number changed":
        p = rng.choice(_numbers(doc))
        _parent(doc, p)[p[-1]] = rng.choice([rng.uniform(-1e4, 1e4), rng.randint(-3, 10 ** 4), 0])
    elif kind == "value replaced":
        p = rng.choice(paths)
        _parent(doc, p)[p[-1]] = rng.choice([None, 0, -1, 0.5, "", [], {}, [0.5, 1], 2 ** 63])
    elif kind == "key deleted":
        p = rng.choice([p for p in paths if isinstance(p[-1], str)])
        del _parent(doc, p)[p[-1]]
    else:
        p = rng.choice([p for p in paths if isinstance(p[-1], int)])
        _parent(doc, p).insert(p[-1], json.loads(json.dumps(_get(doc, p))))
    return kind, doc


def seeds(root: Path) -> dict:
    sets = {}
    for fmt in ("2017", "2018"):
        make_posetrack_set(root / fmt, seed=2, sequences=1, frames=(8, 8), people=(2, 3), fmt=fmt)
        sets[fmt] = root / fmt
    make_posetrack21_set(root / "posetrack21", seed=2, sequences=1, frames=(8, 8), people=(2, 3))
    sets["posetrack21"] = root / "posetrack21"
    return sets


def run_case(case: Path, side: str, name: str) -> Tuple[str, str]:
    out = case / "s.json"
    result = CliRunner().invoke(cli, ["eval", "--gt", str(case / "gt"), "--pred", str(case / "pred"), "--json",
                                      str(out)], terminal_width=200)
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    if result.exit_code == 0:
        return "accepted", ""
    if result.exit_code == 1 and len(errors) == 1 and "internal error" not in errors[0] \
            and "Traceback" not in result.output and str(case / side / name) in errors[0]:
        return "refused", errors[0]
    return "crash", result.output[-400:]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--cases", type=int, default=600)
    ap.add_argument("--show", type=int, default=3, help="examples shown per silent acceptance or crash kind")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    counts: Counter = Counter()
    by_kind: Counter = Counter()
    shown: List[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sets = seeds(tmp / "seeds")
        for n in range(args.cases):
            fmt = rng.choice(sorted(sets))
            side = rng.choice(["gt", "pred"])
            name = next((sets[fmt] / side).glob("*.json")).name
            doc = json.loads((sets[fmt] / side / name).read_text())
            broken = rng.random() < 0.6
            kind, mutated = (must_refuse if broken else either)(fmt, doc, rng)
            case = tmp / f"case{n}"
            for s in ("gt", "pred"):
                (case / s).mkdir(parents=True)
                (case / s / name).write_bytes((sets[fmt] / s / name).read_bytes())
            data = mutated if isinstance(mutated, bytes) else json.dumps(mutated).encode()
            (case / side / name).write_bytes(data)
            outcome, detail = run_case(case, side, name)
            label = {"accepted": "silent acceptance" if broken else "accepted", "refused": "clean refusal",
                     "crash": "crash"}[outcome]
            counts[label] += 1
            by_kind[(fmt, kind, label)] += 1
            if label in ("silent acceptance", "crash") and len(shown) < 20:
                shown.append(f"{label}: {fmt} {side} {kind}: {detail[:300]}")
    total = sum(counts.values())
    print(f"seed {args.seed}: {total} cases; clean refusals {counts['clean refusal']}, accepted (valid after an "
          f"'either' mutation) {counts['accepted']}, silent acceptances {counts['silent acceptance']}, crashes "
          f"{counts['crash']}")
    for (fmt, kind, label), k in sorted(by_kind.items()):
        print(f"  {fmt:<12} {kind:<22} {label:<18} {k}")
    for line in shown:
        print(line)
    return 1 if counts["silent acceptance"] or counts["crash"] else 0


if __name__ == "__main__":
    sys.exit(main())
