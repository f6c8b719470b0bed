"""The formats posetrack writes, by name: one table for ``run``/``track`` exports and ``convert``.

================ ============================================ ================================
name             what                                         module
================ ============================================ ================================
``mot``          MOTChallenge text (TrackEval, py-motmetrics)  :mod:`posetrack.tracksfile.mot`
``coco-dataset`` COCO keypoints dataset, tracks for CVAT      :mod:`posetrack.tracksfile.coco_dataset`
``slp``          SLEAP labels (SLEAP, movement), via sleap-io  :mod:`posetrack.tracksfile.sleap`
``nwb``          NWB with ndx-pose, via sleap-io               :mod:`posetrack.tracksfile.sleap`
``posetrack``    the tracks file (e.g. of another tool's poses) :mod:`posetrack.tracksfile.codec`
``coco``         COCO keypoint results (``loadRes``)           :mod:`posetrack.tracksfile.exports`
``csv``          one row per person and frame                  :mod:`posetrack.tracksfile.exports`
================ ============================================ ================================

Each writer takes the tracks, the output path and, for an image-folder source, the images'
file names in frame order; it writes atomically and returns the number of people written.
:func:`convert_file` is what ``posetrack convert`` does: any input posetrack reads, written as
one of these.

Example:
    >>> from posetrack.tracksfile.targets import convert_file
    >>> convert_file("tracks.json", "mot.txt", "mot")                           # doctest: +SKIP
    'wrote mot.txt (MOTChallenge text, 240 people)'
"""
from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence, Union

from posetrack.errors import ConfigError, MissingDependencyError

if TYPE_CHECKING:      # the command line reads TARGETS for its help without the tracks-file codec
    from posetrack.tracksfile.codec import TrackFile

__all__ = ["Target", "TARGETS", "check_target", "write_target", "write_targets", "convert_file"]

PathLike = Union[str, os.PathLike]


@dataclass(frozen=True)
class Target:
    """An output format.

    Attributes:
        name: its name (``convert --to NAME``).
        title: what it is.
        suffixes: the file suffixes it is written with (the first is the default).
        needs: the optional package it needs (checked before any work starts), or None.
        strict_suffix: a file of another suffix is refused (sleap-io picks the format by suffix).
    """

    name: str
    title: str
    suffixes: tuple
    needs: Optional[str] = None
    strict_suffix: bool = False


TARGETS: Dict[str, Target] = {t.name: t for t in (
    Target("mot", "MOTChallenge text (frame,id,x,y,w,h,conf,-1,-1,-1; frames from 1)", (".txt",)),
    Target("coco-dataset", "COCO keypoints dataset with track_id attributes (CVAT imports tracks)", (".json",)),
    Target("slp", "SLEAP labels file, written by sleap-io", (".slp",), "sleap_io", True),
    Target("nwb", "NWB file (ndx-pose), written by sleap-io", (".nwb",), "sleap_io", True),
    Target("posetrack", "tracks file (posetrack's own; untracked for another tool's poses)", (".json",)),
    Target("coco", "COCO keypoint results (the list COCO.loadRes reads)", (".json",)),
    Target("csv", "CSV (one row per person and frame)", (".csv",)),
)}


def check_target(name: str, path: Optional[PathLike] = None, setting: Optional[str] = None) -> Target:
    """The :class:`Target` ``name``, checked before any work: known, its package installed, its suffix.

    Args:
        name: a name of :data:`TARGETS`.
        path: the file to write, or None (its suffix is not checked).
        setting: the setting that names ``path`` (``out``, ``sleap``), for the error's ``field``.

    Raises:
        ConfigError: an unknown name, or a path whose suffix the format cannot have.
        MissingDependencyError: the optional package it needs is not installed (the message gives the pip command).
    """
    if name not in TARGETS:
        raise ConfigError(f"unknown output format {name!r}; valid: {', '.join(TARGETS)}", field=setting)
    target = TARGETS[name]
    if target.needs and importlib.util.find_spec(target.needs) is None:
        raise MissingDependencyError(f"writing {target.title.split(',')[0]} needs {target.needs.replace('_', '-')}",
                                     "sleap", field=setting)
    if path is not None and target.strict_suffix and Path(path).suffix.lower() not in target.suffixes:
        raise ConfigError(f"{path}: a {target.name} file must end in {target.suffixes[0]}", field=setting)
    return target


def _mot(tracks: TrackFile, path: Path, image_names) -> int:
    from posetrack.tracksfile.mot import export_mot

    return export_mot(tracks, path)


def _coco_dataset(tracks: TrackFile, path: Path, image_names) -> int:
    from posetrack.tracksfile.coco_dataset import export_coco_dataset

    return export_coco_dataset(tracks, path, image_names)


def _sleap(tracks: TrackFile, path: Path, image_names) -> int:
    from posetrack.tracksfile.sleap import export_sleap

    return export_sleap(tracks, path)


def _tracks_file(tracks: TrackFile, path: Path, image_names) -> int:
    from posetrack.tracksfile.codec import write_tracks

    write_tracks(path, tracks)
    return sum(len(f) for f in tracks.frames)


def _coco_results(tracks: TrackFile, path: Path, image_names) -> int:
    from posetrack.io.atomic import write_atomic
    from posetrack.tracksfile.exports import export_coco

    results = export_coco(tracks)
    write_atomic(path, [json.dumps(results, allow_nan=False)])
    return len(results)


def _csv(tracks: TrackFile, path: Path, image_names) -> int:
    from posetrack.tracksfile.exports import export_csv

    return export_csv(tracks, path)


_WRITERS: Dict[str, Callable[[TrackFile, Path, Optional[Sequence[str]]], int]] = {
    "mot": _mot, "coco-dataset": _coco_dataset, "slp": _sleap, "nwb": _sleap, "posetrack": _tracks_file,
    "coco": _coco_results, "csv": _csv}


def write_target(name: str, tracks: TrackFile, path: PathLike, image_names: Optional[Sequence[str]] = None,
                 setting: Optional[str] = None) -> str:
    """Write ``tracks`` as the format ``name`` at ``path``; returns a note for the user ("wrote PATH (...)").

    Raises:
        ConfigError, MissingDependencyError: see :func:`check_target`.
        OSError: the file cannot be written (naming it).
    """
    check_target(name, path, setting)
    count = _WRITERS[name](tracks, Path(path), image_names)
    return f"wrote {path} ({TARGETS[name].title.split(' (')[0]}, {count} people)"


def write_targets(paths: Dict[str, Optional[Path]], tracks: TrackFile,
                  image_names: Optional[Sequence[str]] = None) -> List[str]:
    """Write each ``{name: path}`` that is set; returns one note per file."""
    return [write_target(name, tracks, path, image_names) for name, path in paths.items() if path is not None]


def convert_file(poses: PathLike, out: PathLike, to: str, *, input_format: Optional[str] = None,
                 video: Optional[PathLike] = None, force: bool = False) -> str:
    """Write ``poses`` (a tracks file, or another tool's poses) as the format ``to``: ``posetrack convert``.

    No conversion re-tracks: track ids are the input's (another tool's poses have none).

    Args:
        poses: the input file or folder (:func:`posetrack.tracksfile.foreign.read_poses_file`).
        out: the file to write.
        to: a name of :data:`TARGETS`.
        input_format: the input's format (:data:`posetrack.io.formats.INPUT_FORMATS`); None: from its content.
        video: the video or image folder the poses were made from (another tool's poses need it
            for the frame size and rate; a folder's image names go into ``coco-dataset``).
        force: overwrite an existing ``out``.

    Returns:
        A note for the user ("wrote PATH (...)").

    Raises:
        OutputExistsError, PathConflictError: ``out`` exists (without ``force``) or is an input.
        ConfigError, MissingDependencyError: see :func:`check_target`; FormatError: the input cannot be read.
    """
    from posetrack.io.guard import check_writes
    from posetrack.tracksfile.foreign import image_file_names, read_poses_file

    check_writes({"out": out}, {"tracks": poses, "video": video}, force=force)
    check_target(to, out, "out")
    tracks = read_poses_file(poses, input_format, video=video)
    return write_target(to, tracks, out, image_file_names(video), "out")
