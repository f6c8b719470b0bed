"""End to end on PoseTrack: run the pipeline on every sequence a GT folder names, write predictions.

Layouts searched under ``root`` (the official downloads):

* PoseTrack 2017: ``posetrack_data/annotations/<split>/*.json`` (or ``annotations/<split>``),
  image names relative to ``posetrack_data/`` (``images/bonn/000001_bonn/00000001.jpg``);
* PoseTrack 2018: ``annotations/<split>/*.json``, file names relative to ``root``
  (``images/val/000342_mpii_test/000000.jpg``);
* PoseTrack21: ``posetrack_data/<split>/*.json``, file names relative to ``root`` (the same
  ``images/val/...`` folders).

Predictions are written in the GT file's own format, with the same file name, one entry per
GT image (poseval matches frames by position; PoseTrack21 files copy the GT's image ids, which the
kit checks). Model keypoints are mapped to the 15 PoseTrack joints as
:mod:`posetrack.tracksfile.exports` documents.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import msgspec

from posetrack.io.atomic import write_atomic
from posetrack.pipeline.batch import BatchResult, Job, Listener, plan_jobs
from posetrack.errors import FormatError, SourceError
from posetrack.eval.detect import file_format
from posetrack.eval.formats import read_posetrack
from posetrack.eval.posetrack21.read import load_sequence21
from posetrack.io.video import list_images
from posetrack.pipeline.engines import get_engine
from posetrack.pipeline.options import RunOptions
from posetrack.tracksfile.exports import export_posetrack2017, export_posetrack2018
from posetrack.tracksfile.posetrack21 import export_posetrack21, gt_images
from posetrack.tracksfile.codec import read_tracks

__all__ = ["find_gt_dir", "SequenceJob", "plan_sequences", "sequence_jobs", "write_predictions", "check_batch",
           "predict_dataset"]

log = logging.getLogger(__name__)


def find_gt_dir(root: Path, split: str) -> Path:
    """The annotation folder of ``split`` under a PoseTrack root; the error lists where it looked."""
    tried = [root / "posetrack_data" / "annotations" / split, root / "annotations" / split,
             root / "posetrack_data" / split, root / split]
    for d in tried:
        if d.is_dir() and any(d.glob("*.json")):
            return d
    raise FileNotFoundError(f"{root}: no '{split}' annotations; looked in " + ", ".join(str(t) for t in tried))


@dataclass(frozen=True)
class SequenceJob:
    """One sequence to predict: its GT file, image folder, GT image names (frame order) and format
    ("2017", "2018" or "posetrack21")."""

    gt_file: Path
    images: Path
    image_names: Tuple[str, ...]
    format: str


def _image_folder(root: Path, gt_dir: Path, name: str) -> Path:
    rel = Path(name)
    for base in (root / "posetrack_data", root, gt_dir.parent.parent):
        if (base / rel).exists():
            return (base / rel).parent
    raise FileNotFoundError(f"image {name} not found under {root} (nor {root / 'posetrack_data'}); "
                            "download the PoseTrack images next to the annotations")


def plan_sequences(root: Path, split: str) -> List[SequenceJob]:
    """Every sequence of the split with its image folder, checked before any model is loaded."""
    gt_dir = find_gt_dir(root, split)
    jobs = []
    for gt_file in sorted(gt_dir.glob("*.json")):
        if file_format(gt_file) == "posetrack21":
            names, fmt = load_sequence21(gt_file, gt=True).image_names, "posetrack21"
        else:
            seq = read_posetrack(gt_file)
            names, fmt = tuple(seq.image_names), seq.format
        if not names or not names[0]:
            raise FormatError(f"{gt_file}: frames carry no image names, so their images cannot be found")
        jobs.append(SequenceJob(gt_file, _image_folder(root, gt_dir, names[0]), names, fmt))
    return jobs


def sequence_jobs(sequences: Sequence[SequenceJob], out_dir: Path, boxes_dir: Optional[Path] = None) -> List[Job]:
    """One batch job per sequence: its image folder into ``out_dir/tracks/<GT file stem>.tracks.json``.

    With ``boxes_dir``, each sequence's boxes come from ``boxes_dir/<GT file stem>.json``.
    """
    return plan_jobs([str(s.images) for s in sequences], Path(out_dir) / "tracks",
                     names=[s.gt_file.stem for s in sequences], boxes_dir=boxes_dir)


def write_predictions(sequences: Sequence[SequenceJob], jobs: Sequence[Job], out_dir: Path) -> None:
    """Each sequence's tracks as a prediction file ``out_dir/<GT file name>``, one entry per GT image."""
    for seq, job in zip(sequences, jobs):
        tracks = read_tracks(job.outputs.tracks)
        folder_names = _folder_names(seq.images)
        position = {n: k for k, n in enumerate(folder_names)}
        by_gt_order = [position.get(Path(n).name) for n in seq.image_names]
        missing = [n for n, k in zip(seq.image_names, by_gt_order) if k is None]
        if missing:
            log.warning("%s: %d GT images are not in %s (first: %s); they get no predictions",
                        seq.gt_file.name, len(missing), seq.images, missing[0])
        tracks = _reindexed(tracks, by_gt_order)
        if seq.format == "posetrack21":
            data = msgspec.json.encode(export_posetrack21(tracks, gt_images(seq.gt_file)))
        else:
            export = export_posetrack2017 if seq.format == "2017" else export_posetrack2018
            data = json.dumps(export(tracks, list(seq.image_names)), allow_nan=False).encode()
        write_atomic(Path(out_dir) / seq.gt_file.name, [data])


def check_batch(result: BatchResult) -> None:
    """Scores over a split with missing sequences would be wrong: stop on any failed or unfinished one.

    Raises:
        KeyboardInterrupt: the batch was interrupted (its finished sequences are kept).
        SourceError: sequences failed; the message names each with its error.
    """
    if result.interrupted:
        raise KeyboardInterrupt
    bad = [v for v in result.videos if not v.ok]
    if bad:
        raise SourceError(f"{len(bad)} of {len(result.videos)} sequences have no predictions, so the split cannot "
                          "be scored: " + "; ".join(f"{v.name}: {v.error or v.status}" for v in bad))


def predict_dataset(root: Path, split: str, out_dir: Path, opts: RunOptions = RunOptions(), *,
                    engine=None, on_event: Optional[Listener] = None,
                    boxes_dir: Optional[Path] = None) -> Tuple[Path, Path]:
    """Run the pipeline over every GT sequence and write prediction files into ``out_dir``.

    The sequences run as one batch on ``engine`` (:mod:`posetrack.pipeline.engines`; default: the
    local engine in this process). Tracks files go to ``out_dir/tracks/`` (finished
    sequences are not redone, an interrupted one is resumed from its journal);
    predictions to ``out_dir/<gt file name>``.

    Args:
        root, split: the PoseTrack root and annotation split.
        out_dir: where tracks and predictions go.
        opts: pipeline choices.
        engine: an engine from :func:`posetrack.pipeline.engines.get_engine`.
        on_event: the engine's progress listener.
        boxes_dir: precomputed boxes, ``<GT file stem>.json`` per sequence.

    Returns:
        (GT folder, prediction folder) for :func:`posetrack.eval.evaluate.evaluate`.

    Raises:
        SourceError: a sequence failed (see :func:`check_batch`).
    """
    sequences = plan_sequences(root, split)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = sequence_jobs(sequences, out_dir, boxes_dir)
    check_batch((engine or get_engine("local")).run(jobs, opts, on_event=on_event))
    write_predictions(sequences, jobs, out_dir)
    return find_gt_dir(root, split), out_dir


def _folder_names(folder: Path) -> List[str]:
    return [p.name for p in list_images(folder)]


def _reindexed(tracks, order: List[Optional[int]]):
    """The tracks with frame i = the folder frame of GT image i (None: no frame)."""
    by_frame = tracks.by_frame()
    frames = [replace(by_frame[k], frame=i) for i, k in enumerate(order) if k is not None and k in by_frame]
    return replace(tracks, frames=tuple(frames))
