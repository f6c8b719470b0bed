"""Decoding PoseTrack files: stdlib json vs msgspec (typed, validated) vs pydantic v2 (typed, validated).

Why posetrack's readers use msgspec: on the val-sized synthetic set (50 sequences, 34 MB of GT and
prediction JSON, built by :func:`posetrack.eval.synthetic.make_posetrack_set`) it decodes *and* validates the
PoseTrack 2017 schema (``posetrack.eval.schema.PoseTrackDocument``: types, finite bounded numbers, one-element
lists) faster than the stdlib parses the same bytes into untyped dicts. pydantic v2 is measured with
equivalent models (same types and bounds), when it is installed (it is not a posetrack dependency).

Each figure is the median CPU time of ``--repeats`` passes over every file, the garbage collector
paused as posetrack's evaluator does, plus the time to free the decoded objects.

    python benchmarks/json_decode_speed.py [--repeats 3] [--keep DIR]
"""
from __future__ import annotations

import argparse
import gc
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Annotated, List, Optional, Tuple

import msgspec

from posetrack import validation
from posetrack.eval import schema
from posetrack.eval.synthetic import make_posetrack_set

SET = dict(seed=2024, sequences=50, frames=(60, 80), people=(5, 7), predict_unlabeled=True)


def pydantic_decoder():
    """pydantic v2 models equivalent to posetrack.eval.schema's 2017 structs, or None if pydantic is missing."""
    try:
        from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
    except ImportError:
        return None
    coord = Annotated[float, Field(ge=-validation.MAX_COORD, le=validation.MAX_COORD, allow_inf_nan=False)]
    finite = Annotated[float, Field(allow_inf_nan=False)]
    int64 = Annotated[int, Field(ge=-2 ** 63, le=2 ** 63 - 1)]
    strict = ConfigDict(strict=True)

    class Point(BaseModel):
        model_config = strict
        id: Optional[Tuple[int64]]
        x: Tuple[coord]
        y: Tuple[coord]
        score: Optional[Tuple[finite]] = None

    class AnnoPoints(BaseModel):
        model_config = strict
        point: Optional[List[Point]] = None

    class Rect(BaseModel):
        model_config = strict
        x1: Optional[Tuple[coord]] = None
        y1: Optional[Tuple[coord]] = None
        x2: Optional[Tuple[coord]] = None
        y2: Optional[Tuple[coord]] = None
        track_id: Optional[Tuple[int64]] = None
        score: Optional[Tuple[finite]] = None
        annopoints: Optional[List[AnnoPoints]] = None

    class Image(BaseModel):
        model_config = strict
        name: str = ""

    class RegionPoint(BaseModel):
        model_config = strict
        x: Tuple[coord]
        y: Tuple[coord]

    class Region(BaseModel):
        model_config = strict
        point: List[RegionPoint] = []

    class Frame(BaseModel):
        model_config = strict
        image: Optional[List[Image]] = None
        annorect: Optional[List[Rect]] = None
        ignore_regions: Optional[List[Region]] = None

    class Document(BaseModel):
        model_config = strict
        annolist: List[Frame]

    return TypeAdapter(Document).validate_json


def measure(decode, raws, repeats: int):
    decode_times, free_times = [], []
    for _ in range(repeats):
        gc.disable()
        start = time.process_time()
        docs = [decode(r) for r in raws]
        decode_times.append(time.process_time() - start)
        start = time.process_time()
        del docs
        free_times.append(time.process_time() - start)
        gc.enable()
    return statistics.median(decode_times), statistics.median(free_times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--keep", type=Path, default=None, help="build the set here (reused if present)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp) / "val-sized"
        if not (root / "gt").is_dir():
            make_posetrack_set(root, **SET)
        raws = [p.read_bytes() for p in sorted(root.glob("*/*.json"))]
    typed = msgspec.json.Decoder(schema.PoseTrackDocument)
    candidates = [("stdlib json (untyped, no checks)", json.loads),
                  ("msgspec (untyped, no checks)", msgspec.json.decode),
                  ("msgspec (typed + validated)", typed.decode)]
    pyd = pydantic_decoder()
    if pyd is not None:
        import pydantic

        candidates.append((f"pydantic {pydantic.VERSION} (typed + validated)", pyd))
    print(f"{len(raws)} files, {sum(map(len, raws)) / 1e6:.1f} MB; median CPU seconds of {args.repeats} passes")
    base = None
    for label, decode in candidates:
        dec, free = measure(decode, raws, args.repeats)
        base = base or dec
        print(f"{label:<40} decode {dec:6.3f} s  free {free:6.3f} s  ({base / dec:4.1f}x the stdlib's decode speed)")
    if pyd is None:
        print("pydantic is not installed: pip install pydantic to include it")


if __name__ == "__main__":
    main()
