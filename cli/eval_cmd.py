"""`posetrack eval`: PoseTrack mAP and MOTA of prediction files, identical to the official poseval."""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Mapping, Optional

import click

from ._batch import ENGINE_OPTIONS, engine_options
from ._common import CONTEXT, fetch_weights, OutputFile, pipeline_options, run_options

EPILOG = """\b
Example:
  posetrack eval --gt posetrack_data/annotations/val/ --pred out/val/ --json scores.json
  posetrack eval --gt gt/ --pred pred/ --joint-thr 0.4 --box-thr 0.5   # MOTA as papers report it
  posetrack eval --dataset-root PoseTrack2017/ --split val --out-dir preds/ --pose-weights posetrack18
  posetrack eval --dataset-root PoseTrack2018/ --out-dir preds/ --engine ray --address auto   # on a cluster

\b
The --gt and --pred folders hold one JSON file per sequence with the same file names (or each is
one sequence's file), in PoseTrack 2017 (annolist) or 2018 (COCO-style) format. Without thresholds the numbers equal poseval's.
With --dataset-root, `posetrack run` (same detector / pose / tracker options) first predicts every
sequence the split's GT files name, as one batch on --engine (local or ray, as `posetrack run
--out-dir`), writing prediction files in the GT's format to --out-dir.
"""


@click.command("eval", epilog=EPILOG, short_help="Score predictions against PoseTrack ground truth.",
               context_settings=CONTEXT)
@click.option("--gt", "gt_dir", type=click.Path(exists=True, path_type=Path),
              help="Folder of ground-truth JSON files, one per sequence (or one sequence's file).")
@click.option("--pred", "pred_dir", type=click.Path(exists=True, path_type=Path),
              help="Folder of prediction JSON files with the same file names (or the file for a --gt file).")
@click.option("--dataset-root", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="A PoseTrack 2017/2018 root: predict every sequence of --split first, then score.")
@click.option("--split", default="val", show_default=True, help="With --dataset-root: the annotation split.")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="With --dataset-root: where predictions go.  [default: posetrack_preds_SPLIT]")
@pipeline_options
@click.option("--boxes-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="With --dataset-root: precomputed boxes, <GT file stem>.json per sequence (no detector).")
@engine_options
@click.option("--quiet", is_flag=True, help="With --dataset-root: no progress display.")
@click.option("--json", "json_out", type=OutputFile(), default=None,
              help="Also write every number at full precision to this JSON file (NaN as null).")
@click.option("--per-sequence", is_flag=True, help="Also show (and write) the figures of every sequence.")
@click.option("--joint-thr", type=float, default=None,
              help="Drop predicted joints scored below this before scoring (default: keep all, as poseval).")
@click.option("--box-thr", type=float, default=None,
              help="Drop predicted persons whose box score is below this before scoring (default: keep all).")
@click.option("--score-workers", type=click.IntRange(min=1), default=None,
              help="Processes scoring sequences (default: 2 on a machine with 2+ cores and 8+ sequences).")
@click.option("--force", is_flag=True, help="Overwrite an existing --json file.")
def eval_cmd(gt_dir: Optional[Path], pred_dir: Optional[Path], dataset_root: Optional[Path], split: str,
             out_dir: Optional[Path], boxes_dir: Optional[Path], quiet: bool, json_out: Optional[Path],
             per_sequence: bool, joint_thr: Optional[float], box_thr: Optional[float], score_workers: Optional[int],
             force: bool, **run_opts) -> None:
    """Score predictions against PoseTrack ground truth: per-joint AP and MOTA, MOTP, precision, recall.

    Multi-person pose estimation AP uses PCKh@0.5 and poseval's prediction-to-GT assignment;
    tracking uses CLEAR-MOT per joint, on exactly the frames poseval evaluates, with its ignore
    regions. Without --joint-thr / --box-thr the numbers are poseval's to ~1e-13. An existing
    --json file is never overwritten without --force; it may not be in the GT folder or be a prediction file.
    """
    from rich.console import Console
    from rich.text import Text

    from posetrack.io.atomic import write_atomic
    from posetrack.eval.evaluate import evaluate
    from posetrack.io.guard import check_distinct, check_writes

    if dataset_root is not None:
        from posetrack.pipeline.dataset_eval import find_gt_dir

        out_dir = out_dir or Path(f"posetrack_preds_{split}")
        gt = find_gt_dir(dataset_root, split)
        check_distinct({"out_dir": out_dir}, {"gt": gt})     # predictions are named like the GT files
        check_writes({"json": json_out}, _scored(gt, out_dir), force=force)
        gt_dir, pred_dir = _predict(dataset_root, split, out_dir, boxes_dir, quiet, run_opts)
    elif gt_dir is None or pred_dir is None:
        raise click.UsageError("give --gt and --pred, or --dataset-root (to predict first)")
    else:
        check_writes({"json": json_out}, _scored(gt_dir, pred_dir), force=force)
    result = evaluate(gt_dir, pred_dir, joint_thr=joint_thr, box_thr=box_thr, workers=score_workers)
    width = click.get_current_context().terminal_width or shutil.get_terminal_size().columns
    console = Console(width=max(width, 96), highlight=False)      # the paper table needs 94 columns
    if joint_thr is not None or box_thr is not None:
        console.print(f"[yellow]Predictions filtered before scoring:[/yellow] {_filter_text(joint_thr, box_thr)}. "
                      "poseval scores all predictions; papers report MOTA after such a cut.")
    if per_sequence:
        for name, scores in result.sequences.items():
            console.print(_table(Text(f"{name} ({scores.frames} frames)"), scores))
    console.print(_table(f"All sequences ({result.overall.frames} evaluated frames)", result.overall))
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(json_out, [json.dumps(result.to_json(per_sequence=per_sequence), indent=1, allow_nan=False)])
        console.print(Text(f"Wrote {json_out}"))


def _scored(gt_dir: Path, pred_dir: Path) -> list:
    """The inputs --json may not touch: the GT folder (a file in it would be scored as a sequence) and every
    prediction file (the folder may hold other files: extra predictions are ignored with a warning)."""
    preds = sorted(pred_dir.glob("*.json")) if pred_dir.is_dir() else []
    return [("gt", gt_dir)] + [("pred", p) for p in preds]


def _filter_text(joint_thr: Optional[float], box_thr: Optional[float]) -> str:
    parts = []
    if joint_thr is not None:
        parts.append(f"joints with score < {joint_thr:g} dropped")
    if box_thr is not None:
        parts.append(f"persons with box score < {box_thr:g} dropped")
    return "; ".join(parts)


def _cell(v: float) -> str:
    return "nan" if math.isnan(v) else f"{v:.1f}"


def _table(title: str, scores):
    """The paper's layout: a mAP row and a MOTA row over the joint groups, then MOTP, Prec, Rec."""
    from rich import box
    from rich.table import Table

    from posetrack.eval.report import ap_row, mot_row

    ap: Mapping[str, float] = ap_row(scores.ap)
    mot = mot_row(scores.mota, scores.motp, scores.precision, scores.recall)
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False,
                  collapse_padding=True)
    table.add_column("", min_width=4, no_wrap=True)
    for name in mot:
        table.add_column(name, justify="right", min_width=6, no_wrap=True)
    table.add_row("mAP", *[_cell(v) for v in ap.values()], "", "", "")
    table.add_row("MOTA", *[_cell(v) for v in mot.values()])
    return table


def _predict(root: Path, split: str, out_dir: Path, boxes_dir: Optional[Path], quiet: bool, run_opts) -> tuple:
    """Predict every sequence of the split as one batch on the chosen engine, show its summary, then score."""
    from posetrack.pipeline.batch import models_options
    from posetrack.pipeline.dataset_eval import check_batch, find_gt_dir, plan_sequences, sequence_jobs, write_predictions

    from ._batch import BatchProgress, make_engine, print_summary

    if run_opts.get("boxes_file"):
        raise click.UsageError("--boxes holds one video's boxes; with --dataset-root use --boxes-dir")
    engine = make_engine(**{k: run_opts.pop(k) for k in ENGINE_OPTIONS})
    opts = run_options(run_opts)
    sequences = plan_sequences(root, split)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = sequence_jobs(sequences, out_dir, boxes_dir)
    fetch_weights(models_options(opts, jobs), quiet)     # every missing weights file, before any sequence starts
    click.get_current_context().ensure_object(dict)["interrupt_hint"] = (
        "Run the same command again to finish: finished sequences are skipped, partial ones resume.")
    with BatchProgress(len(jobs), enabled=not quiet) as bar:
        result = engine.run(jobs, opts, on_event=bar)
    if not quiet or not all(v.ok for v in result.videos):
        print_summary(result, str(out_dir / "tracks"))
    check_batch(result)
    write_predictions(sequences, jobs, out_dir)
    return find_gt_dir(root, split), out_dir
