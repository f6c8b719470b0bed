"""How fast `posetrack eval` scores a PoseTrack2017-val-sized set, as whole processes, against poseval; with
``--posetrack21``, a PoseTrack21-val-sized set against the official PoseTrack21 kit, run here.

Builds a val-sized synthetic set with our own seeded generator (:func:`posetrack.eval.synthetic.make_posetrack_set`:
50 sequences of 60-80 frames, 5-7 people, predictions on every frame; about 2,000 evaluated frames,
9.7 MB of GT and 24 MB of predictions, the size of the reference set), then times complete
``python -m posetrack_cli eval --gt ... --pred ... --json ...`` processes (interpreter start, imports,
reading, scoring, writing): the median wall time and CPU time (user + sys, children included) of
``--repeats`` runs after one warm-up run (page cache).

Figures printed:

* the ratio to poseval's 34.6 s (the stated anchor: median of 3 runs on the same kind of 2-core
  machine, both AP and MOT, on the reference val-sized set; poseval cannot be installed here);
* with ``--baseline REV``, the same timing of the posetrack source at git revision REV (run from
  a ``git archive`` of it, bypassing the installed package), its ratio to ours, and whether every
  number of both outputs is identical;
* whether our own runs (1 process and the default, ``--workers`` auto) give identical numbers.

On a machine shared with other jobs, wall times include waiting for a core; CPU times do not.

    python benchmarks/eval_speed.py [--repeats 5] [--baseline 9a01ceb] [--keep DIR]

PoseTrack21 (``--posetrack21``): a set of PoseTrack21-val size (20 sequences of 30-60 frames, 5-7 people;
our own :func:`posetrack.eval.synthetic.make_posetrack21_set`, or with ``--pt21-generator PATH`` the
reference generator ``make_pt21_set.py`` with the recipe of its README). Whole ``posetrack eval``
processes (HOTA and mAP in one) are timed against the kit's two scripts (``run_posetrack_challenge.py``:
HOTA, ``run_pose_estimation.py``: mAP), each a whole process run from the kit's folder ``--kit PATH``
(``eval/posetrack21`` of anDoer/PoseTrack21 at 3e61960) with the interpreter ``--kit-python PATH`` of a
separate environment where the kit runs (numpy < 1.24, scipy, shapely, tqdm). Without ``--kit`` the kit
is skipped. The numbers are compared too: ``benchmarks/pt21_kit_numbers.py`` (run with the kit's
interpreter) dumps the kit's values at full precision, and the largest difference to our ``--json``
(every field, per alpha, joint, sequence, and mAP) is printed.

    python benchmarks/eval_speed.py --posetrack21 --kit /tmp/PoseTrack21/eval/posetrack21 \
        --kit-python /tmp/kitvenv/bin/python [--kit-repeats 3] [--pt21-generator PATH/make_pt21_set.py]
        [--pt21-sequences 80]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POSEVAL_SECONDS = 34.6
SET = dict(seed=2024, sequences=50, frames=(60, 80), people=(5, 7), predict_unlabeled=True)
METRICS = ("ap", "ap_precision", "ap_recall", "mota", "motp", "precision", "recall", "mot_counts", "evaluated_frames")

# Runs `posetrack` from a source tree (argv[1]) instead of the installed package.
_FROM_SOURCE = """
import sys
root = sys.argv[1]
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f)]
sys.path.insert(0, root)
sys.argv = ["posetrack"] + sys.argv[2:]
import posetrack, posetrack_cli
assert posetrack.__file__.startswith(root), posetrack.__file__
posetrack_cli.main()
"""


def build_set(out: Path) -> Path:
    from posetrack.eval.synthetic import make_posetrack_set

    if not (out / "gt").is_dir():
        make_posetrack_set(out, **SET)
    return out


def checkout(rev: str, dest: Path) -> Path:
    """The posetrack package and CLI of git revision ``rev``, unpacked into ``dest``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "posetrack", "cli", "configs"],
                             check=True, capture_output=True).stdout
    dest.mkdir(parents=True, exist_ok=True)
    tar = dest / "src.tar"
    tar.write_bytes(archive)
    with tarfile.open(tar) as t:
        t.extractall(dest)
    (dest / "posetrack_cli").symlink_to("cli")
    if not (dest / "posetrack" / "configs").exists():
        (dest / "posetrack" / "configs").symlink_to("../configs")
    return dest


#: As on a user's machine, compiled bytecode is cached (the warm-up run writes it; an environment with
#: PYTHONDONTWRITEBYTECODE=1 would otherwise recompile every posetrack module in every run).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run(command, repeats: int, out: Path):
    """(wall seconds, CPU seconds) of each of ``repeats`` runs of ``command``, after a warm-up run.

    ``out`` (the command's --json file) is removed before each run: eval never overwrites a file.
    """
    out.unlink(missing_ok=True)
    subprocess.run(command, check=True, capture_output=True, env=ENV)
    walls, cpus = [], []
    for _ in range(repeats):
        out.unlink()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=ENV)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return walls, cpus


def figures(path: Path) -> dict:
    doc = json.loads(path.read_text())
    return {k: doc[k] for k in METRICS}


def line(label: str, walls, cpus) -> str:
    return (f"{label:<26} wall median {statistics.median(walls):6.3f} s ({', '.join(f'{t:.2f}' for t in walls)}); "
            f"CPU median {statistics.median(cpus):6.3f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--baseline", metavar="REV", default=None, help="also time posetrack at this git revision")
    ap.add_argument("--keep", type=Path, default=None, help="build the set here (reused if present)")
    ap.add_argument("--posetrack21", action="store_true", help="time a PoseTrack21 set instead (HOTA and mAP)")
    ap.add_argument("--kit", type=Path, default=None, help="the PoseTrack21 kit's folder (eval/posetrack21)")
    ap.add_argument("--kit-python", type=Path, default=None, help="the interpreter of the kit's environment")
    ap.add_argument("--kit-repeats", type=int, default=3)
    ap.add_argument("--pt21-generator", type=Path, default=None, help="the reference make_pt21_set.py")
    ap.add_argument("--pt21-sequences", type=int, default=20,
                    help="sequences in the PoseTrack21 set (20: val-sized; more for a large set)")
    args = ap.parse_args()
    if args.posetrack21:
        from eval_speed_pt21 import main_pt21

        return main_pt21(args)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        root = build_set(args.keep or tmp / "val-sized")
        n_files = len(list((root / "gt").glob("*.json")))
        mb = sum(p.stat().st_size for p in root.glob("*/*.json")) / 1e6
        ours = [sys.executable, "-m", "posetrack_cli", "eval", "--gt", str(root / "gt"), "--pred", str(root / "pred")]
        results = {}
        for label, extra in (("posetrack eval", []), ("posetrack eval --score-workers 1", ["--score-workers", "1"])):
            out = tmp / f"{len(results)}.json"
            results[label] = run(ours + extra + ["--json", str(out)], args.repeats, out), figures(out)
        base = None
        if args.baseline:
            src = checkout(args.baseline, tmp / "baseline")
            out = tmp / "baseline.json"
            cmd = [sys.executable, "-c", _FROM_SOURCE, str(src), *ours[3:], "--json", str(out)]
            base = run(cmd, args.repeats, out), figures(out)
    first = next(iter(results.values()))
    print(f"set: {n_files} sequences, {first[1]['evaluated_frames']} evaluated frames, {mb:.1f} MB of JSON, "
          f"seed {SET['seed']}; total AP {first[1]['ap']['total']:.4f}, MOTA {first[1]['mota']['total']:.4f}")
    for label, ((walls, cpus), _) in results.items():
        print(line(label, walls, cpus) + f"  -> {POSEVAL_SECONDS / statistics.median(walls):5.1f}x poseval's "
              f"{POSEVAL_SECONDS} s")
    same = all(f == first[1] for _, f in results.values())
    print(f"identical numbers, default vs 1 process: {same}")
    if base is not None:
        (walls, cpus), numbers = base
        best = statistics.median(first[0][0])
        print(line(f"baseline {args.baseline}", walls, cpus) + f"  -> {POSEVAL_SECONDS / statistics.median(walls):5.1f}x "
              f"poseval; ours is {statistics.median(walls) / best:.2f}x faster (wall), "
              f"{statistics.median(cpus) / statistics.median(first[0][1]):.2f}x less CPU")
        print(f"identical numbers, ours vs baseline: {numbers == first[1]}")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
