"""How fast `posetrack eval` scores a PoseTrack2017-val-sized set, against the official poseval.

Builds the synthetic val-sized set of ``../shared/eval-parity`` (50 sequences of 60-80 frames,
5-7 people, predictions on every frame: 1,999 evaluated frames) in a temporary folder, then
prints the wall time of :func:`posetrack.evaluate.evaluate` (median of 3), its peak memory and
the ratio to poseval's 34.6 s (median of 3 on the same kind of 2-core machine, both AP and MOT).

    python benchmarks/eval_speed.py [--repeats 3] [--keep DIR]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GENERATOR = ROOT.parent / "shared" / "eval-parity" / "make_posetrack_set.py"
SET_ARGS = ["--seed", "2024", "--sequences", "50", "--frames", "60,80", "--people", "5,7", "--pred-unlabeled"]
POSEVAL_SECONDS = 34.6
POSEVAL_PEAK_MIB = 488

_RSS_CHILD = """
import resource, sys
from posetrack.evaluate import evaluate
evaluate(sys.argv[1], sys.argv[2])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def build_set(out: Path) -> Path:
    subprocess.run([sys.executable, str(GENERATOR), "--out", str(out), *SET_ARGS], check=True)
    return out


def time_eval(root: Path, repeats: int):
    from posetrack.evaluate import evaluate

    evaluate(root / "gt", root / "pred")          # warm-up: imports, page cache
    times, results = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        results.append(evaluate(root / "gt", root / "pred"))
        times.append(time.perf_counter() - start)
    return times, results


def peak_memory(root: Path):
    """(tracemalloc peak of one evaluation in MiB, peak RSS of a fresh process doing one, in MiB)."""
    from posetrack.evaluate import evaluate

    tracemalloc.start()
    evaluate(root / "gt", root / "pred")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    out = subprocess.run([sys.executable, "-c", _RSS_CHILD, str(root / "gt"), str(root / "pred")],
                         check=True, capture_output=True, text=True).stdout
    return peak / 2 ** 20, int(out.split()[-1]) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--keep", type=Path, default=None, help="build the set here and keep it")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = build_set(args.keep or Path(tmp) / "val-sized")
        times, results = time_eval(root, args.repeats)
        traced, rss = peak_memory(root)
    first = results[0].to_json()
    same = all(json.dumps(r.to_json()) == json.dumps(first) for r in results)
    median = statistics.median(times)
    print(f"evaluated frames : {results[0].overall.frames} in {len(results[0].sequences)} sequences")
    print(f"total AP / MOTA  : {first['ap']['total']:.4f} / {first['mota']['total']:.4f}"
          f"  (identical over runs: {same})")
    print(f"seconds          : median {median:.3f}  (runs: {', '.join(f'{t:.3f}' for t in times)})")
    print(f"peak memory      : {traced:.0f} MiB traced (tracemalloc), {rss:.0f} MiB peak RSS of a fresh process"
          f"  (poseval: {POSEVAL_PEAK_MIB} MiB RSS)")
    print(f"speed-up         : {POSEVAL_SECONDS / median:.1f}x faster than poseval's {POSEVAL_SECONDS} s")


if __name__ == "__main__":
    main()
