"""The official PoseTrack21 kit's full-precision numbers on a GT / prediction folder pair, as JSON.

Run with the kit's own interpreter (the kit needs numpy < 1.24, shapely, scipy, tqdm; see the README's
"Scoring" section), never with posetrack's: this script imports nothing from posetrack, so the two
environments stay apart. It calls the kit's classes in-process, exactly as its two scripts
(``scripts/run_posetrack_challenge.py``, ``scripts/run_pose_estimation.py``) configure them, and writes
the values they compute at full precision (the printed tables round them), in the layout of the
project's reference ``expected.json`` (``hota.combined.per_alpha.<F>``: 19 x 16 arrays, ...):

    /tmp/kitvenv/bin/python benchmarks/pt21_kit_numbers.py --kit PATH/eval/posetrack21 \\
        --gt gt/ --pred pred/ --out kit.json

``--kit`` is the kit's folder (``eval/posetrack21`` of anDoer/PoseTrack21, commit 3e61960). The kit
reads every file of the GT folder and needs prediction file names that contain ``_test``; both folders
are copied to a temporary folder first (the kit also writes its result file into the prediction folder).
Per-joint mAP values come from ``PosemAP.compute_metrics``, which the kit calls once per sequence (in
sorted order) and once for the pooled set: the script records its return values. A kit failure is
reported as ``{"error": "..."}`` with exit status 3.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import traceback

HOTA_FIELDS = ("HOTA", "DetA", "AssA", "FragA", "DetRe", "DetPr", "AssRe", "AssPr", "LocA", "RHOTA", "FA-HOTA",
               "FA-RHOTA", "HOTA_TP", "HOTA_FN", "HOTA_FP")
ALPHA0_FIELDS = ("HOTA(0)", "LocA(0)", "HOTALocA(0)", "HOTA_TP(0)", "HOTA_FN(0)", "HOTA_FP(0)")


def _plain(values):
    """A numpy array or number as nested lists of floats, NaN as None."""
    if hasattr(values, "tolist"):
        values = values.tolist()
    if isinstance(values, list):
        return [_plain(v) for v in values]
    v = float(values)
    return None if math.isnan(v) else v


def _hota_block(res):
    return {"per_alpha": {f: _plain(res[f]) for f in HOTA_FIELDS},
            "alpha_mean": {f: _plain(res[f].mean(axis=0)) for f in HOTA_FIELDS},
            "alpha0": {f: _plain(res[f]) for f in ALPHA0_FIELDS}}


def _copy_folders(gt, pred, work):
    for src, name in ((gt, "gt"), (pred, "pred")):
        dst = os.path.join(work, name)
        os.makedirs(dst)
        for entry in sorted(os.listdir(src)):
            if entry.endswith(".json"):
                shutil.copy(os.path.join(src, entry), dst)
    if not any("_test" in n for n in os.listdir(os.path.join(work, "pred"))):
        raise SystemExit("the kit needs prediction file names containing '_test' (e.g. 000342_mpii_test.json)")
    return os.path.join(work, "gt") + "/", os.path.join(work, "pred") + "/"


def hota_numbers(te, gt, pred):
    evaluator = te.Evaluator({"USE_PARALLEL": False, "PRINT_RESULTS": False, "TIME_PROGRESS": False,
                              "OUTPUT_PAPER_SUMMARY": True, "LOG_ON_ERROR": None})
    dataset = te.datasets.PoseTrack({"GT_FOLDER": gt, "TRACKERS_FOLDER": pred, "PRINT_CONFIG": False})
    out, msg = evaluator.evaluate([dataset], [te.metrics.HOTAeypoints()])
    (res,) = out[dataset.get_name()].values()
    combined = res.pop("COMBINED_SEQ")["person"]
    hota = {"combined": _hota_block(combined["HOTAeypoints"]),
            "per_sequence": {seq: _hota_block(r["person"]["HOTAeypoints"]) for seq, r in sorted(res.items())}}
    count = {"combined": {k: int(v) for k, v in combined["Count"].items()},
             "per_sequence": {seq: {k: int(v) for k, v in r["person"]["Count"].items()}
                              for seq, r in sorted(res.items())}}
    return hota, count


def map_numbers(te, gt, pred):
    recorded = []
    original = te.metrics.PosemAP.compute_metrics

    def recording(*args, **kwargs):
        values = original(*args, **kwargs)
        recorded.append(values)
        return values

    te.metrics.PosemAP.compute_metrics = staticmethod(recording)
    try:
        evaluator = te.PoseEvaluator({"USE_PARALLEL": False, "PRINT_RESULTS": False, "TIME_PROGRESS": False,
                                      "OUTPUT_PAPER_SUMMARY": True, "LOG_ON_ERROR": None})
        dataset = te.datasets.PoseTrack({"GT_FOLDER": gt, "TRACKERS_FOLDER": pred, "PRINT_CONFIG": False})
        out, msg = evaluator.evaluate([dataset], [te.metrics.PosemAP()])
    finally:
        te.metrics.PosemAP.compute_metrics = staticmethod(original)
    (res,) = out[dataset.get_name()].values()
    combined = res.pop("COMBINED_SEQ")["person"]["PosemAP"]
    seqs = sorted(res)
    assert len(recorded) == len(seqs) + 1, (len(recorded), len(seqs))

    def block(values, parts):
        ap, precision, recall = values
        return {"ap": _plain(ap[:, 0]), "precision": _plain(precision[:, 0]), "recall": _plain(recall[:, 0]),
                "parts": {m: {k: _plain(v) for k, v in parts[m].items()} for m in ("map", "precision", "recall")}}

    return {"combined": block(recorded[-1], combined),
            "per_sequence": {s: block(v, res[s]["person"]["PosemAP"]) for s, v in zip(seqs, recorded)}}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kit", required=True, help="the kit's folder: eval/posetrack21 of anDoer/PoseTrack21")
    ap.add_argument("--gt", required=True)
    ap.add_argument("--pred", required=True)
    ap.add_argument("--out", required=True, help="JSON file to write")
    args = ap.parse_args(argv)
    sys.path.insert(0, os.path.abspath(args.kit))
    import posetrack21.trackeval as te   # noqa: E402  (the kit; only on its own interpreter)
    import numpy as np

    result = {"kit": os.path.abspath(args.kit), "numpy": np.__version__,
              "hota_alphas": _plain(te.metrics.HOTAeypoints().array_labels)}
    with tempfile.TemporaryDirectory() as work:
        gt, pred = _copy_folders(args.gt, args.pred, work)
        try:
            result["hota"], result["count"] = hota_numbers(te, gt, pred)
            result["map"] = map_numbers(te, gt, pred)
        except Exception as e:     # the kit crashed: say so instead of numbers
            result["error"] = f"{type(e).__name__}: {e}"
            result["traceback"] = traceback.format_exc()
    with open(args.out, "w") as f:
        json.dump(result, f, allow_nan=False)
    return 3 if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main())
