"""Tracks as SLEAP ``.slp`` or NWB files, written by ``sleap-io`` (an optional extra:
``pip install "posetrack[sleap]"``).

SLEAP, the ``movement`` toolbox and NWB (``ndx-pose``) readers take these files; ``sleap-io`` does
the writing, posetrack only builds its ``Labels``:

* one :class:`sleap_io.Skeleton` named after the keypoint layout, its nodes the layout's keypoint
  names and its edges the layout's skeleton;
* one :class:`sleap_io.Track` per track id, named ``track_<id>`` (untracked poses have none);
* one :class:`sleap_io.LabeledFrame` per frame with people, holding a
  :class:`sleap_io.PredictedInstance` per person: points in frame pixels (a joint with a
  non-finite coordinate is NaN, SLEAP's missing point), point scores the keypoint scores, the
  instance score the box score;
* one :class:`sleap_io.Video` pointing at the source video (not opened; frame size, rate and
  count are kept in its metadata).

Example:
    >>> from posetrack.tracksfile.sleap import export_sleap
    >>> export_sleap(tracks, "clip.slp")         # or "clip.nwb"            # doctest: +SKIP
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import numpy as np

from posetrack.errors import InputError, MissingDependencyError
from posetrack.tracksfile.codec import TrackFile

__all__ = ["to_sleap_labels", "export_sleap", "track_name", "SLEAP_SUFFIXES"]

SLEAP_SUFFIXES = (".slp", ".nwb")


def track_name(track_id: int) -> str:
    """The SLEAP track name of a posetrack track id."""
    return f"track_{int(track_id)}"


def _sleap_io():
    try:
        import sleap_io
    except ImportError:
        raise MissingDependencyError("writing SLEAP or NWB files needs sleap-io", "sleap") from None
    return sleap_io


def to_sleap_labels(tracks: TrackFile):
    """The :class:`sleap_io.Labels` of ``tracks`` (see the module docstring for the mapping).

    Raises:
        MissingDependencyError: sleap-io is not installed.
    """
    sio = _sleap_io()
    layout = tracks.layout
    skeleton = sio.Skeleton(nodes=list(layout.names), edges=[(layout.names[i], layout.names[j])
                                                             for i, j in layout.skeleton], name=layout.name)
    v = tracks.header.video
    video = sio.Video(filename=str(v.path), open_backend=False,
                      backend_metadata={"shape": (v.frames, v.height, v.width, 3), "fps": v.fps})
    track_objects = {}
    frames = []
    for fr in tracks.frames:
        if not len(fr):
            continue
        points = np.asarray(fr.poses.keypoints, np.float64)
        scores = np.asarray(fr.poses.keypoint_scores, np.float64)
        instances = []
        for i in range(len(fr)):
            track = None
            if fr.track_ids is not None:
                tid = int(fr.track_ids[i])
                track = track_objects.setdefault(tid, sio.Track(name=track_name(tid)))
            box_score = float(fr.poses.box_scores[i])
            instances.append(sio.PredictedInstance.from_numpy(
                points_data=points[i], point_scores=np.nan_to_num(scores[i], nan=0.0), skeleton=skeleton,
                score=box_score if np.isfinite(box_score) else 0.0, track=track))
        frames.append(sio.LabeledFrame(video=video, frame_idx=int(fr.frame), instances=instances))
    return sio.Labels(labeled_frames=frames, videos=[video], skeletons=[skeleton],
                      tracks=[track_objects[t] for t in sorted(track_objects)])


def export_sleap(tracks: TrackFile, path: Union[str, os.PathLike]) -> int:
    """Write ``tracks`` as a SLEAP ``.slp`` or an NWB ``.nwb`` file (by suffix), through sleap-io.

    The file is written beside and renamed into place, so a failed write leaves no half file.

    Returns:
        The number of instances (people x frames) written.

    Raises:
        InputError: another suffix. MissingDependencyError: sleap-io is not installed.
        OSError: the file cannot be written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SLEAP_SUFFIXES:
        raise InputError(f"{path}: a SLEAP export is a .slp or .nwb file")
    sio = _sleap_io()
    labels = to_sleap_labels(tracks)
    path.parent.mkdir(parents=True, exist_ok=True)
    from posetrack.io.atomic import named_os_errors, tmp_path

    tmp = tmp_path(path).with_suffix(".tmp" + suffix)
    with named_os_errors(path):
        try:
            if suffix == ".slp":
                sio.save_slp(labels, str(tmp), verbose=False)
            else:
                sio.save_nwb(labels, str(tmp))
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
    return sum(len(lf.instances) for lf in labels.labeled_frames)
