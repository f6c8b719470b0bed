"""The formats the next tool reads, by name: one table for ``run``/``track`` exports and ``convert``.

=============== ============================================ ================================
name            what                                         module
=============== ============================================ ================================
``mot``         MOTChallenge text (TrackEval, py-motmetrics)  :mod:`posetrack.tracksfile.mot`
``coco-dataset`` COCO keypoints dataset, tracks for CVAT      :mod:`posetrack.tracksfile.coco_dataset`
``slp``         SLEAP labels (SLEAP, movement), via sleap-io  :mod:`posetrack.tracksfile.sleap`
``nwb``         NWB with ndx-pose, via sleap-io               :mod:`posetrack.tracksfile.sleap`
=============== ============================================ ================================

Each writer takes the tracks, the output path and, for an image-folder source, the images'
file names in frame order; it writes atomically and returns the number of people written.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from posetrack.errors import ConfigError, InputError
from posetrack.tracksfile.codec import TrackFile

__all__ = ["Target", "TARGETS", "check_target", "write_target"]


@dataclass(frozen=True)
class Target:
    """An output format.

    Attributes:
        name: its name (``convert --to NAME``).
        title: what it is.
        suffixes: the file suffixes it is written with (the first is the default).
        needs: the optional package it needs (checked before any work starts), or None.
    """

    name: str
    title: str
    suffixes: tuple
    needs: Optional[str] = None


TARGETS: Dict[str, Target] = {t.name: t for t in (
    Target("mot", "MOTChallenge text (frame,id,x,y,w,h,conf,-1,-1,-1; frames from 1)", (".txt",)),
    Target("coco-dataset", "COCO keypoints dataset with track_id attributes (CVAT imports tracks)", (".json",)),
    Target("slp", "SLEAP labels file, written by sleap-io", (".slp",), "sleap_io"),
    Target("nwb", "NWB file (ndx-pose), written by sleap-io", (".nwb",), "sleap_io"),
)}


def check_target(name: str, path: Optional[Path] = None) -> Target:
    """The :class:`Target` ``name``, checked before any work: known, its package installed, its suffix.

    Raises:
        ConfigError: an unknown name, or a path whose suffix the format cannot have.
        InputError: the optional package it needs is not installed (the message gives the pip command).
    """
    if name not in TARGETS:
        raise ConfigError(f"unknown output format {name!r}; valid: {', '.join(TARGETS)}")
    target = TARGETS[name]
    if target.needs and importlib.util.find_spec(target.needs) is None:
        raise InputError(f"writing {target.title.split(',')[0]} needs {target.needs.replace('_', '-')}: "
                         'pip install "posetrack[sleap]"')
    if path is not None and target.name in ("slp", "nwb") and Path(path).suffix.lower() not in target.suffixes:
        raise ConfigError(f"{path}: a {target.name} file must end in {target.suffixes[0]}")
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


_WRITERS: Dict[str, Callable[[TrackFile, Path, Optional[Sequence[str]]], int]] = {
    "mot": _mot, "coco-dataset": _coco_dataset, "slp": _sleap, "nwb": _sleap}


def write_target(name: str, tracks: TrackFile, path: Path, image_names: Optional[Sequence[str]] = None) -> str:
    """Write ``tracks`` as the format ``name`` at ``path``; returns a note for the user ("wrote PATH (...)").

    Raises:
        ConfigError, InputError: see :func:`check_target`.
        OSError: the file cannot be written (naming it).
    """
    check_target(name, path)
    count = _WRITERS[name](tracks, Path(path), image_names)
    return f"wrote {path} ({TARGETS[name].title.split(' (')[0]}, {count} people)"


def write_targets(paths: Dict[str, Optional[Path]], tracks: TrackFile,
                  image_names: Optional[Sequence[str]] = None) -> List[str]:
    """Write each ``{name: path}`` that is set; returns one note per file."""
    return [write_target(name, tracks, path, image_names) for name, path in paths.items() if path is not None]
