"""Where a run writes, and what it reads: the outputs, the checks before any work, the exports after it.

* :class:`Outputs`: the tracks file and the optional render and exports of one run.
* :func:`check_paths` refuses outputs that would overwrite an input or each other;
  :func:`prepare_outputs` makes their folders and clears a killed run's ``.tmp`` files.
* :func:`check_exports` reads what the exports will need (the PoseTrack21 GT file) before any work.
* :func:`input_files` identifies every input file by its contents, for a resume to match.
* :func:`write_exports` writes the PoseTrack (2017, 2018, 21), COCO and CSV exports of a finished file, and
  the formats other tools read (MOTChallenge, COCO dataset, SLEAP/NWB: :mod:`posetrack.tracksfile.targets`).

Example:
    >>> from posetrack.pipeline.outputs import Outputs, check_paths
    >>> from posetrack.pipeline.options import RunOptions
    >>> outputs = Outputs("tracks.json", render="annotated.mp4")
    >>> check_paths("video.mp4", outputs, RunOptions())   # PathConflictError if an output is an input
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from posetrack.config import config_path
from posetrack.errors import InputError
from posetrack.io.atomic import tmp_path, write_atomic
from posetrack.io.guard import check_distinct, check_writable
from posetrack.io.video import list_images
from posetrack.pipeline.options import RunOptions
from posetrack.pipeline.weights import required_weights
from posetrack.tracksfile.codec import TrackFile, read_tracks
from posetrack.tracksfile.exports import csv_lines, export_coco, export_posetrack2017, export_posetrack2018
from posetrack.tracksfile.foreign import image_file_names
from posetrack.tracksfile.journal import journal_path
from posetrack.tracksfile.posetrack21 import gt_images, write_posetrack21
from posetrack.tracksfile.resume import file_identity
from posetrack.tracksfile.targets import check_target, write_targets

__all__ = ["Outputs", "run_inputs", "check_paths", "check_exports", "prepare_outputs", "input_files",
           "write_exports"]


@dataclass(frozen=True)
class Outputs:
    """Where one run writes its results.

    Attributes:
        tracks: the tracks file (JSON, schema in the README); its journal is ``tracks + ".journal"``.
        render: an annotated video (H.264 MP4) drawn while running, or None.
        posetrack2017: a PoseTrack 2017 (annolist) prediction file, or None.
        posetrack2018: a PoseTrack 2018 (COCO-style) prediction file, or None.
        coco: COCO keypoint results (JSON, image_id = frame index; posetrack.tracksfile.exports.export_coco), or None.
        csv: a long-format CSV, one row per person and frame (posetrack.tracksfile.exports.export_csv), or None.
        mot: MOTChallenge text (posetrack.tracksfile.mot), or None.
        coco_dataset: a COCO keypoints dataset with track ids (posetrack.tracksfile.coco_dataset), or None.
        sleap: a SLEAP ``.slp`` or NWB ``.nwb`` file through sleap-io (posetrack.tracksfile.sleap), or None.
        render_trails: in ``render``, a line along each person's last N positions (``posetrack render
            --trails``); 0 draws none. Not a path.
        posetrack21: a PoseTrack21 prediction file (:func:`posetrack.tracksfile.posetrack21.write_posetrack21`),
            or None.
        posetrack21_gt: the sequence's PoseTrack21 GT file, whose image ids and names the ``posetrack21``
            export copies (frame k is its k-th image); None: PoseTrack's id rule. An input, not an
            output: :meth:`fields` leaves it out, :meth:`inputs` lists it.

    Raises:
        InputError: ``render_trails`` is not an integer 0 or more.
        ConfigError, InputError: an export of :meth:`targets` with the wrong suffix, or whose optional
            package is missing (:func:`posetrack.tracksfile.targets.check_target`), before any work;
            ``posetrack21_gt`` without ``posetrack21``.
    """

    tracks: Path
    render: Optional[Path] = None
    posetrack2017: Optional[Path] = None
    posetrack2018: Optional[Path] = None
    coco: Optional[Path] = None
    csv: Optional[Path] = None
    mot: Optional[Path] = None
    coco_dataset: Optional[Path] = None
    sleap: Optional[Path] = None
    posetrack21: Optional[Path] = None
    posetrack21_gt: Optional[Path] = dataclasses.field(default=None, metadata={"input": True})
    render_trails: int = dataclasses.field(default=0, metadata={"path": False})

    @classmethod
    def _path_fields(cls) -> list:
        return [f for f in dataclasses.fields(cls) if f.metadata.get("path", True)]

    def paths(self) -> List[Path]:
        """Every output path that is set, the tracks file first."""
        return list(self.fields().values())

    def fields(self) -> Dict[str, Path]:
        """Every output that is set, by field name (``tracks``, ``render``, ...), the tracks file first."""
        return {f.name: getattr(self, f.name) for f in self._path_fields()
                if getattr(self, f.name) is not None and not f.metadata.get("input")}

    def inputs(self) -> Dict[str, Path]:
        """The files the exports read (``posetrack21_gt``), by field name; no output may replace them."""
        return {f.name: getattr(self, f.name) for f in self._path_fields()
                if getattr(self, f.name) is not None and f.metadata.get("input")}

    def __post_init__(self) -> None:
        for f in self._path_fields():
            value = getattr(self, f.name)
            if value is not None:
                object.__setattr__(self, f.name, Path(value))
        if isinstance(self.render_trails, bool) or not isinstance(self.render_trails, int) or self.render_trails < 0:
            raise InputError(f"render_trails must be an integer 0 or more, got {self.render_trails!r}",
                             field="render_trails")
        if self.posetrack21_gt is not None and self.posetrack21 is None:
            raise InputError(f"{self.posetrack21_gt}: a PoseTrack21 GT file is read for the PoseTrack21 export only; "
                             "name that export too", field="posetrack21_gt", fields=("posetrack21",))
        for setting, (name, path) in self._targets().items():
            check_target(name, path, setting)     # before any work: a missing package, a wrong suffix

    def _targets(self) -> Dict[str, Tuple[str, Path]]:
        """Field -> (format name of :data:`posetrack.tracksfile.targets.TARGETS`, path), for the exports set."""
        sleap = "nwb" if self.sleap is not None and self.sleap.suffix.lower() == ".nwb" else "slp"
        named = {"mot": ("mot", self.mot), "coco_dataset": ("coco-dataset", self.coco_dataset),
                 "sleap": (sleap, self.sleap)}
        return {field: pair for field, pair in named.items() if pair[1] is not None}

    def targets(self) -> Dict[str, Path]:
        """The exports :mod:`posetrack.tracksfile.targets` writes that are set, by format name (``mot``, ...)."""
        return dict(self._targets().values())


def run_inputs(source: Union[str, Path, None], opts: RunOptions) -> Dict[str, Optional[str]]:
    """The files a run reads, by setting: the source, the boxes file, weights files, YAML configs.

    Names (``posetrack18``, ``tracker``), URLs and cameras are included as given;
    :func:`posetrack.io.guard.check_distinct` skips whatever does not exist as a path.
    """
    models = opts.models
    return {"source": None if source is None else str(source), "boxes_file": models.boxes_file,
            "pose_weights": models.pose_weights, "detector_weights": models.detector_weights,
            "pose_model": models.pose_model, "tracker_config": opts.tracking.tracker_config}


def check_paths(source: Union[str, Path, None], outputs: Outputs, opts: RunOptions, *, live: bool = False) -> None:
    """Refuse outputs that would overwrite an input of the run or each other (before any work).

    The tracks file's journal counts as an output too.

    Raises:
        PathConflictError: names the path and both settings (:func:`posetrack.io.guard.check_distinct`).
    """
    fields = outputs.fields()
    fields["tracks journal"] = journal_path(outputs.tracks)
    check_distinct(fields, {**run_inputs(None if live else source, opts), **outputs.inputs()})


def check_exports(outputs: Outputs) -> None:
    """Read what the exports will need before any work, so that a bad file fails at once, not after the run.

    Today that is the PoseTrack21 GT file (``outputs.posetrack21_gt``), read and validated whole.

    Raises:
        InputError: ``posetrack21_gt`` is a folder (one sequence takes one GT file).
        OSError: the GT file cannot be read (``filename`` names it).
        PoseTrack21FormatError: it is not a valid PoseTrack21 file (naming the file, frame and field).
    """
    gt = outputs.posetrack21_gt
    if gt is None:
        return
    if gt.is_dir():
        raise InputError(f"{gt}: a folder; the PoseTrack21 export of one sequence copies the images of one GT file",
                         field="posetrack21_gt")
    gt_images(gt)


def prepare_outputs(outputs: Outputs) -> None:
    """Fail before any work when an output's folder cannot be created or written; clear stale ``.tmp`` files.

    A run killed while writing a file leaves its ``<name>.tmp`` (nothing can remove it then);
    the next run of the same outputs removes it.

    Raises:
        IsADirectoryError: an output is an existing folder (``filename`` names it).
        OSError: a folder cannot be made or written into (``filename`` names the output).
    """
    check_writable(outputs.fields())
    for name, path in outputs.fields().items():
        for stale in [tmp_path(path)] + ([tmp_path(journal_path(path))] if name == "tracks" else []):
            with contextlib.suppress(OSError):
                stale.unlink()


def input_files(opts: RunOptions) -> Dict[str, Dict[str, Any]]:
    """The identity of every input file whose contents change a run's results (the journal head's ``inputs``).

    Setting name -> :func:`posetrack.tracksfile.resume.file_identity` (absolute path, bytes, SHA-256):
    ``boxes_file``; the weights files of :func:`posetrack.pipeline.weights.required_weights`
    (``pose_weights``, ``detector_weights``, ``flow.raft_weights``: the local file given or
    the downloaded copy); ``tracker_config`` (the YAML file the tracker settings come
    from, the shipped one included) unless the run is untracked. Call after the models are
    loaded (the weights are here then).

    Raises:
        OSError: a file cannot be read.
        ConfigError: see :func:`posetrack.pipeline.weights.required_weights`.
    """
    files: Dict[str, Dict[str, Any]] = {}
    if opts.models.boxes_file:
        files["boxes_file"] = file_identity(opts.models.boxes_file)
    for wf in required_weights(opts):
        if wf.local_path is not None:
            files[wf.setting] = file_identity(wf.local_path)
    if opts.tracking.tracked:
        files["tracker_config"] = file_identity(config_path(opts.tracking.tracker_config))
    return files


def write_exports(outputs: Outputs, tracks: TrackFile, source: Union[str, Path]) -> List[str]:
    """Write the exports ``outputs`` asks for (every path but ``tracks`` and ``render``), atomically.

    PoseTrack 2017/2018 prediction files have one entry per frame of ``source``, matched by
    position: a folder's image paths, or ``<video stem>/<frame:06d>.jpg`` for a video (the names
    PoseTrack's own image folders use). The PoseTrack21 file copies the images of
    ``outputs.posetrack21_gt``, or numbers them by PoseTrack's id rule from ``source``'s name
    (:mod:`posetrack.tracksfile.posetrack21`); its poses are read back from the tracks file
    ``outputs.tracks`` (written first), so that it equals a later export of that file to the bit.
    COCO results and the CSV come from the tracks alone; the formats of :meth:`Outputs.targets`
    name a folder's images by their file names.

    Returns:
        One note per file written ("wrote PATH"), for the caller to show, and one when the
        PoseTrack21 GT file lists another number of frames than the video has.

    Raises:
        OSError: a file cannot be read or written (naming its path).
        PoseTrack21FormatError: ``outputs.posetrack21_gt`` is not a valid PoseTrack21 file.
        InputError: a PoseTrack21 export of tracks without track ids (an untracked run).
    """
    notes = []
    for path in (outputs.posetrack2017, outputs.posetrack2018, outputs.coco, outputs.csv, outputs.posetrack21):
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    for path, fn in ((outputs.posetrack2017, export_posetrack2017), (outputs.posetrack2018, export_posetrack2018)):
        if path is None:
            continue
        names = _image_names(Path(str(source)), tracks.header.video.frames or len(tracks.frames))
        write_atomic(path, [json.dumps(fn(tracks, names), allow_nan=False)])
        notes.append(f"wrote {path}")
    if outputs.coco is not None:
        write_atomic(outputs.coco, [json.dumps(export_coco(tracks), allow_nan=False)])
        notes.append(f"wrote {outputs.coco}")
    if outputs.csv is not None:
        write_atomic(outputs.csv, csv_lines(tracks))
        notes.append(f"wrote {outputs.csv}")
    if outputs.targets():
        notes += write_targets(outputs.targets(), tracks, image_file_names(source))
    if outputs.posetrack21 is not None:     # from the file as written (0.01 px): equal to an export of it later
        notes += write_posetrack21(outputs.posetrack21, read_tracks(outputs.tracks), outputs.posetrack21_gt, source)
        notes.append(f"wrote {outputs.posetrack21}")
    return notes


def _image_names(src: Path, frames: int) -> List[str]:
    if src.is_dir():
        return [str(p) for p in list_images(src)]
    return [f"{src.stem}/{i:06d}.jpg" for i in range(frames)]
