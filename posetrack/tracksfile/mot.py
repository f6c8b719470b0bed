"""Tracks as MOTChallenge text, the results format TrackEval and py-motmetrics read.

One line per person and frame (motchallenge.net "Submission format"; MOT16 paper, Milan et al.
2016, Sec. 3.3)::

    frame, id, bb_left, bb_top, bb_width, bb_height, conf, -1, -1, -1

``frame`` counts from 1 (posetrack's 0-based frame f is written as f + 1), ``id`` is the track
id (``-1`` for untracked poses, as in MOTChallenge detection files), the box is the person box in
pixels (left, top, width, height; 2 decimals), ``conf`` the box score (4 decimals). The last
three values are the 3-D world coordinates, unused in 2-D tracking. Lines are in frame order,
people in the tracks file's order. A person with a non-finite box is left out.

Example:
    >>> from posetrack.tracksfile.mot import export_mot
    >>> export_mot(tracks, "results/MOT17-02.txt")                  # doctest: +SKIP
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Iterator, Union

from posetrack.tracksfile.codec import TrackFile

__all__ = ["mot_lines", "export_mot", "MOT_FIRST_FRAME"]

#: MOTChallenge numbers frames from 1.
MOT_FIRST_FRAME = 1


def mot_lines(tracks: TrackFile) -> Iterator[str]:
    """The MOTChallenge text of ``tracks``, one line (with its newline) per person and frame."""
    for fr in tracks.frames:
        p = fr.poses
        for i, ((x1, y1, x2, y2), score) in enumerate(zip(p.boxes.tolist(), p.box_scores.tolist())):
            if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
                continue
            tid = -1 if fr.track_ids is None else int(fr.track_ids[i])
            conf = score if math.isfinite(score) else 0.0
            yield (f"{fr.frame + MOT_FIRST_FRAME},{tid},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},"
                   f"{conf:.4f},-1,-1,-1\n")


def export_mot(tracks: TrackFile, path: Union[str, os.PathLike]) -> int:
    """Write ``tracks`` as MOTChallenge text at ``path``, atomically (a failed write leaves no half file).

    Returns:
        The number of lines (people x frames) written.

    Raises:
        OSError: the file cannot be written (naming it).
    """
    from posetrack.io.atomic import write_atomic

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = list(mot_lines(tracks))
    write_atomic(path, lines)
    return len(lines)
