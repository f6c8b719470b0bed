"""The PoseTrack21 part of ``benchmarks/eval_speed.py --posetrack21`` (see its docstring): our whole
``posetrack eval`` process against the official kit's two scripts, on a PoseTrack21-val-sized set, and
whether the numbers agree."""
from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from eval_speed import line, run

HERE = Path(__file__).resolve().parent
#: The reference generator's recipe for a PoseTrack21-val-sized set (README of eval-parity-pt21).
RECIPE = ["--seed", "7", "--sequences", "20", "--frames", "30,60", "--people", "5,7", "--dense", "24",
          "--empty-pred-frame-prob", "0.02"]
OWN_SET = dict(seed=7, sequences=20, frames=(30, 60), people=(5, 7))
KIT_SCRIPTS = {"kit HOTA (run_posetrack_challenge.py)": "scripts/run_posetrack_challenge.py",
               "kit mAP (run_pose_estimation.py)": "scripts/run_pose_estimation.py"}


def build(out: Path, generator, sequences: int = 20) -> str:
    """Write the set into ``out`` (gt/, pred/), ``sequences`` long (20: val-sized); returns how it was made."""
    if (out / "gt").is_dir():
        return f"reused {out}"
    if generator is not None:
        recipe = [str(sequences) if k and RECIPE[k - 1] == "--sequences" else a for k, a in enumerate(RECIPE)]
        subprocess.run([sys.executable, str(generator), "--out", str(out), *recipe], check=True, capture_output=True)
        return f"{generator.name} {' '.join(recipe)}"
    from posetrack.eval.synthetic import make_posetrack21_set

    own = dict(OWN_SET, sequences=sequences)
    make_posetrack21_set(out, **own)
    return f"posetrack.eval.synthetic.make_posetrack21_set({own})"


def time_kit(kit: Path, python: Path, script: str, root: Path, repeats: int):
    """(walls, cpus) of whole runs of one kit script from its folder, on copies of gt/ and pred/."""
    work = Path(tempfile.mkdtemp())
    for side in ("gt", "pred"):
        shutil.copytree(root / side, work / side)
    command = [str(python), script, "--GT_FOLDER", f"{work / 'gt'}/", "--TRACKERS_FOLDER", f"{work / 'pred'}/",
               "--USE_PARALLEL", "False", "--PRINT_RESULTS", "True"]
    walls, cpus = [], []
    for k in range(repeats + 1):                 # the first run warms the page cache and bytecode
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=kit)
        if k:
            walls.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    shutil.rmtree(work)
    return walls, cpus


def largest_difference(ours: dict, kit: dict) -> float:
    """Max |ours - kit| over every HOTA field (per alpha, joint, Total; combined and per sequence) and mAP."""
    worst = 0.0

    def diff(a, b):
        nonlocal worst
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        worst = max(worst, float(np.max(np.abs(a - b))) if a.size else 0.0)

    def hota(doc, block):
        for field, values in block["per_alpha"].items():
            diff([doc["hota_per_alpha"][field][j] for j in doc["hota_per_alpha"][field]], np.asarray(values).T)
        for field, values in block["alpha0"].items():
            diff(list(doc["hota_alpha0"][field].values()), values)

    hota(ours, kit["hota"]["combined"])
    for seq, block in kit["hota"]["per_sequence"].items():
        hota(ours["per_sequence"][seq[:-5]], block)
    for name, ap in (("ap", "ap"), ("ap_precision", "precision"), ("ap_recall", "recall")):
        diff(list(ours[name].values()), kit["map"]["combined"][ap])
        for seq, block in kit["map"]["per_sequence"].items():
            diff(list(ours["per_sequence"][seq[:-5]][name].values()), block[ap])
    return worst


def main_pt21(args) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        root = args.keep or tmp / "pt21-val-sized"
        how = build(root, args.pt21_generator, args.pt21_sequences)
        gt_files = list((root / "gt").glob("*.json"))
        mb = sum(p.stat().st_size for p in root.glob("*/*.json")) / 1e6
        ours = [sys.executable, "-m", "posetrack_cli", "eval", "--gt", str(root / "gt"), "--pred", str(root / "pred")]
        results = {}
        for label, extra in (("posetrack eval", []), ("posetrack eval --score-workers 1", ["--score-workers", "1"])):
            out = tmp / f"{len(results)}.json"
            results[label] = run(ours + extra + ["--json", str(out)], args.repeats, out), json.loads(out.read_text())
        full = tmp / "per_sequence.json"            # every number, for the comparison (not timed)
        subprocess.run(ours + ["--per-sequence", "--json", str(full)], check=True, capture_output=True)
        kit_times, difference = {}, None
        if args.kit is not None:
            python = args.kit_python or Path(sys.executable)
            for label, script in KIT_SCRIPTS.items():
                kit_times[label] = time_kit(args.kit, python, script, root, args.kit_repeats)
            dump = tmp / "kit.json"
            subprocess.run([str(python), str(HERE / "pt21_kit_numbers.py"), "--kit", str(args.kit), "--gt",
                            str(root / "gt"), "--pred", str(root / "pred"), "--out", str(dump)], check=True,
                           capture_output=True)
            difference = largest_difference(json.loads(full.read_text()), json.loads(dump.read_text()))
    first = next(iter(results.values()))[1]
    print(f"set: {len(gt_files)} sequences, {first['evaluated_frames']} labeled frames, "
          f"{first['counts']['GT_Dets']} GT and {first['counts']['Dets']} predicted persons on them, {mb:.1f} MB "
          f"of JSON ({how}); HOTA {first['hota']['HOTA']['total']:.6f}, mAP {first['ap']['total']:.4f}")
    for label, ((walls, cpus), _) in results.items():
        print(line(label, walls, cpus))
    same = all(doc["hota"] == first["hota"] and doc["ap"] == first["ap"] for _, doc in results.values())
    print(f"identical numbers, default vs 1 process: {same}")
    if not kit_times:
        print("kit: skipped (give --kit PATH and --kit-python PATH to time the official PoseTrack21 kit)")
    ours_wall = statistics.median(results["posetrack eval"][0][0])
    ours_cpu = statistics.median(results["posetrack eval"][0][1])
    for label, (walls, cpus) in kit_times.items():
        print(line(label, walls, cpus) + f"  -> posetrack eval is {statistics.median(walls) / ours_wall:5.1f}x "
              f"faster (wall), {statistics.median(cpus) / ours_cpu:5.1f}x less CPU")
    if kit_times:
        both_wall = sum(statistics.median(w) for w, _ in kit_times.values())
        both_cpu = sum(statistics.median(c) for _, c in kit_times.values())
        print(f"kit HOTA + mAP (two processes): {both_wall:.2f} s wall, {both_cpu:.2f} s CPU -> posetrack eval "
              f"(both in one) is {both_wall / ours_wall:.1f}x faster (wall), {both_cpu / ours_cpu:.1f}x less CPU")
        print(f"largest difference to the kit's numbers (every HOTA field per alpha, joint and sequence; mAP): "
              f"{difference:.3g}")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
