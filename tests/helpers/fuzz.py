"""Hypothesis settings and JSON mutations shared by the fuzz tests (tests/test_fuzz.py, tests/test_eval_keys.py).

Bounded for CI: a few dozen examples per reader, a dozen per command, no deadline (shared CI
machines have noisy timings), and derandomized, so CI runs the same examples every time.
``POSETRACK_FUZZ_EXAMPLES=1000 POSETRACK_FUZZ_RANDOM=1`` makes a longer hunt with fresh examples.
"""
from __future__ import annotations

import json
import os
from typing import Any, List, Tuple

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

FUZZ_SCALE = int(os.environ.get("POSETRACK_FUZZ_EXAMPLES", "60")) / 60
FUZZ = settings(max_examples=max(1, round(60 * FUZZ_SCALE)), deadline=None,
                derandomize=not os.environ.get("POSETRACK_FUZZ_RANDOM"), database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
FUZZ_CLI = settings(FUZZ, max_examples=max(1, round(12 * FUZZ_SCALE)))

# ----------------------------------------------------------------------------- mutations

ODD_NUMBERS = st.sampled_from([10 ** 400, -10 ** 400, 2 ** 63, 2 ** 64, -2 ** 63 - 1, 1e308, -1e308, 5e-324,
                               float("inf"), float("-inf"), float("nan"), 0, -1, 0.5, 1e5, 1.0])
SCALARS = (st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.floats() | ODD_NUMBERS
           | st.text(max_size=4))
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=6)


def json_paths(doc: Any, here: Tuple = ()) -> List[Tuple]:
    out = [here]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.extend(json_paths(v, here + (k,)))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out.extend(json_paths(v, here + (i,)))
    return out


def parent_of(doc: Any, path: Tuple):
    for step in path[:-1]:
        doc = doc[step]
    return doc


@st.composite
def mutated(draw, seed_doc: Any) -> bytes:
    """The JSON bytes of ``seed_doc`` after one to three random mutations."""
    doc = json.loads(json.dumps(seed_doc))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in json_paths(doc) if p]
        if not paths:
            break
        op = draw(st.sampled_from(["renumber", "renumber", "replace", "replace", "delete", "repeat"]))
        numbers = [p for p in paths if type(parent_of(doc, p)[p[-1]]) in (int, float)]
        path = draw(st.sampled_from(numbers if op == "renumber" and numbers else paths))
        parent, key = parent_of(doc, path), path[-1]
        if op == "renumber":    # another plausible number: most such files are valid, and must round-trip
            parent[key] = draw(st.integers(-3, 10 ** 4) | st.floats(-1e4, 1e4))
        elif op == "replace":
            parent[key] = draw(JSON_VALUES)
        elif op == "delete":
            del parent[key]
        elif isinstance(parent, list):
            parent.insert(key, json.loads(json.dumps(parent[key])))
    raw = json.dumps(doc).encode()          # Infinity / NaN tokens and 400-digit integers included
    tail = draw(st.sampled_from(["", "", "", "", "truncate", "bad-utf8"]))
    if tail == "truncate":
        raw = raw[:draw(st.integers(0, max(0, len(raw) - 1)))]
    elif tail == "bad-utf8":
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + b"\xff" + raw[at:]
    return raw
