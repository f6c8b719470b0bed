"""`posetrack eval`: PoseTrack 2017/2018 mAP and MOTA (as poseval) or PoseTrack21 keypoint HOTA and mAP (as the
official PoseTrack21 kit) of prediction files."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Optional

import click

from posetrack.eval.detect import FORMATS

from ._batch import ENGINE_OPTIONS, engine_options
from ._common import CONTEXT, OutputFile, pipeline_options, run_options
from ._progress import fetch_weights

EPILOG = """\b
Example:
  posetrack eval --gt posetrack_data/annotations/val/ --pred out/val/ --json scores.json
  posetrack eval --gt PoseTrack21/posetrack_data/val/ --pred out/ --plot plots/   # HOTA, with pictures
  posetrack eval --gt gt/ --pred pred/ --joint-thr 0.4 --box-thr 0.5   # MOTA as papers report it
  posetrack eval --dataset-root PoseTrack2017/ --split val --out-dir preds/ --pose-weights posetrack18
  posetrack eval --dataset-root PoseTrack2018/ --out-dir preds/ --engine ray --address auto   # on a cluster
  posetrack eval --dataset-root PoseTrack21/ --out-dir preds/    # posetrack_data/val/, scored with HOTA

\b
The --gt and --pred folders hold one JSON file per sequence with the same file names (or each is
one sequence's file). PoseTrack 2017 (annolist) and 2018 (COCO-style) ground truth is scored as
poseval scores it (mAP, MOTA); PoseTrack21 ground truth (recognised by its person_id /
has_labeled_person keys, or named with --format posetrack21) as the official PoseTrack21 kit
scores it (keypoint HOTA, DetA, AssA, LocA, ... and mAP). Without thresholds the numbers equal
the official tools'.
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
              help="A PoseTrack 2017/2018 or PoseTrack21 root: predict every sequence of --split first, then score.")
@click.option("--split", default="val", show_default=True, help="With --dataset-root: the annotation split.")
@click.option("--format", "gt_format", type=click.Choice(FORMATS), default="auto", show_default=True,
              help="The GT's benchmark: posetrack2017/posetrack2018 (poseval: mAP, MOTA) or posetrack21 (the kit: "
                   "HOTA, mAP); auto tells them apart by the GT files' keys.")
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
@click.option("--plot", "plot_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also draw PNGs into this folder: per-joint and per-sequence bars (and, for PoseTrack21, "
                   "HOTA/DetA/AssA against alpha). Needs matplotlib.")
@click.option("--joint-thr", type=float, default=None,
              help="Drop predicted joints scored below this before scoring (default: keep all, as poseval).")
@click.option("--box-thr", type=float, default=None,
              help="Drop predicted persons whose box score is below this before scoring (default: keep all).")
@click.option("--score-workers", type=click.IntRange(min=1), default=None,
              help="Processes scoring sequences (default: 2 on a machine with 2+ cores and 8+ sequences).")
@click.option("--force", is_flag=True, help="Overwrite an existing --json file.")
def eval_cmd(gt_dir: Optional[Path], pred_dir: Optional[Path], dataset_root: Optional[Path], split: str,
             gt_format: str, out_dir: Optional[Path], boxes_dir: Optional[Path], quiet: bool, json_out: Optional[Path],
             per_sequence: bool, plot_dir: Optional[Path], joint_thr: Optional[float], box_thr: Optional[float],
             score_workers: Optional[int], force: bool, **run_opts) -> None:
    """Score predictions against PoseTrack ground truth: AP and MOTA (2017/2018) or HOTA and AP (PoseTrack21).

    PoseTrack 2017/2018: per-joint AP (PCKh@0.5, poseval's prediction-to-GT assignment) and
    CLEAR-MOT MOTA, MOTP, precision, recall, on exactly the frames poseval evaluates, to ~1e-13.
    PoseTrack21: keypoint HOTA with DetA, AssA, LocA, DetRe, DetPr, AssRe, AssPr, FragA per joint
    (means over the 19 alphas; --json keeps every alpha) and the kit's mAP, to ~1e-15. An existing
    --json file or plot is never overwritten without --force; none may be in the GT folder or be a
    prediction file.
    """
    from rich.console import Console
    from rich.text import Text

    import msgspec

    from posetrack.io.atomic import write_atomic
    from posetrack.validation import encode_json
    from posetrack.eval.evaluate import evaluate
    from posetrack.io.guard import check_distinct, check_writes

    if dataset_root is not None:
        from posetrack.pipeline.dataset_eval import find_gt_dir

        out_dir = out_dir or Path(f"posetrack_preds_{split}")
        gt = find_gt_dir(dataset_root, split)
        check_distinct({"out_dir": out_dir}, {"gt": gt})     # predictions are named like the GT files
        check_writes(_outputs(json_out, plot_dir), _scored(gt, out_dir), force=force)
        gt_dir, pred_dir = _predict(dataset_root, split, out_dir, boxes_dir, quiet, run_opts)
    elif gt_dir is None or pred_dir is None:
        raise click.UsageError("give --gt and --pred, or --dataset-root (to predict first)")
    else:
        check_writes(_outputs(json_out, plot_dir), _scored(gt_dir, pred_dir), force=force)
    result = evaluate(gt_dir, pred_dir, joint_thr=joint_thr, box_thr=box_thr, workers=score_workers,
                      format=gt_format)
    width = click.get_current_context().terminal_width or shutil.get_terminal_size().columns
    pt21 = result.benchmark == "posetrack21"
    console = Console(width=max(width, 112 if pt21 else 96), highlight=False)   # the tables need 94 / 110 columns
    if joint_thr is not None or box_thr is not None:
        console.print(f"[yellow]Predictions filtered before scoring:[/yellow] {_filter_text(joint_thr, box_thr)}. "
                      f"The official {'kit' if pt21 else 'poseval'} scores all predictions; papers report "
                      f"{'HOTA' if pt21 else 'MOTA'} after such a cut.")
    _print_result(console, result, per_sequence)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(json_out, [msgspec.json.format(encode_json(result.to_json(per_sequence=per_sequence)), indent=1)])
        console.print(Text(f"Wrote {json_out}"))
    if plot_dir is not None:
        from posetrack.eval.plots import plot_result

        for path in plot_result(result, plot_dir):
            console.print(Text(f"Wrote {path}"))


def _outputs(json_out: Optional[Path], plot_dir: Optional[Path]) -> dict:
    """The files eval writes: --json, and each PNG --plot may write (a plot of another benchmark is harmless)."""
    out = {"json": json_out}
    if plot_dir is not None:
        for name in ("hota_alpha.png", "joints.png", "sequences.png"):
            out[f"plot {name}"] = plot_dir / name
    return out


def _print_result(console, result, per_sequence: bool) -> None:
    from rich.text import Text

    from ._eval_output import poseval_table, posetrack21_headline, posetrack21_sequences, posetrack21_table

    if result.benchmark != "posetrack21":
        if per_sequence:
            for name, scores in result.sequences.items():
                console.print(poseval_table(Text(f"{name} ({scores.frames} frames)"), scores))
        console.print(poseval_table(f"All sequences ({result.overall.frames} evaluated frames)", result.overall))
        return
    if per_sequence:
        click.echo(posetrack21_sequences(result))
    overall = result.overall
    click.echo(posetrack21_table(f"PoseTrack21, all sequences ({overall.frames} labeled frames; HOTA fields are "
                                 f"means over the 19 alphas, x100)", result, overall))
    click.echo(posetrack21_headline(overall))


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


def _predict(root: Path, split: str, out_dir: Path, boxes_dir: Optional[Path], quiet: bool, run_opts) -> tuple:
    """Predict every sequence of the split as one batch on the chosen engine, show its summary, then score."""
    from posetrack.pipeline.batch import models_options
    from posetrack.pipeline.dataset_eval import (check_batch, find_gt_dir, plan_sequences, sequence_jobs,
                                                 write_predictions)

    from ._batch import BatchProgress, make_engine, print_summary

    if run_opts.get("boxes_file"):
        raise click.UsageError("--boxes holds one video's boxes; with --dataset-root use --boxes-dir")
    engine_opts = {k: run_opts.pop(k) for k in ENGINE_OPTIONS}
    opts = run_options(run_opts)     # --device checked before an engine starts
    engine = make_engine(**engine_opts)
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
