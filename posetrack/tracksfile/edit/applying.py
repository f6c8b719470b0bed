"""Applying edits to a tracks file: :func:`apply` (all or none, each recorded), :func:`preview`, one function a verb."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from posetrack.tracksfile.codec import TrackFile
from posetrack.tracksfile.edit.operations import apply_one
from posetrack.tracksfile.edit.people import People, rebuilt
from posetrack.tracksfile.edit.schema import (Delete, EditError, Merge, Operation, Relabel, Split, Swap, describe,
                                              edit_time, existing, record, with_records)

__all__ = ["Preview", "preview", "track_ids", "apply", "apply_timed", "swap", "merge", "split", "delete", "relabel"]


@dataclass(frozen=True)
class Preview:
    """Where :func:`apply` puts every person of a file, without building the new file.

    Attributes:
        frame: (P,) int64 frame index of each of the file's P people, in file order.
        ids: (P,) int64 track id of each person after the edits.
        keep: (P,) bool, False for a person the edits delete.
        operations: the edits as applied (a split's new id filled in).
    """

    frame: np.ndarray
    ids: np.ndarray
    keep: np.ndarray
    operations: Tuple[Operation, ...]


def preview(tracks: TrackFile, edits: Sequence[Operation]) -> Preview:
    """Each person's id after ``edits`` (flat, in file order: what a review page draws); as :func:`apply`.

    Raises:
        EditError: as :func:`apply`.
    """
    people, done = _applied(tracks, [(op, "") for op in edits])
    return Preview(people.frame, people.ids, people.keep, tuple(op for op, _ in done))


def track_ids(tracks: TrackFile) -> List[int]:
    """The track ids in a tracks file, sorted."""
    return [int(i) for i in People.of(tracks).known()]


def _applied(tracks: TrackFile, timed: Sequence[Tuple[Operation, str]]) -> Tuple[People, List[Tuple[Operation, Dict]]]:
    """The people after ``timed`` edits, and each edit as applied with its record."""
    people = People.of(tracks)
    done = []
    for k, (op, time) in enumerate(timed):
        try:
            people, resolved, undo_data = apply_one(people, op, tracks)
        except EditError as e:
            where = f"edit {k + 1} of {len(timed)}, " if len(timed) > 1 else ""
            raise EditError(f"{where}{describe(op)}: {e}") from None
        done.append((resolved, record(resolved, time, undo_data)))
    return people, done


def apply_timed(tracks: TrackFile, timed: Sequence[Tuple[Operation, str]]) -> TrackFile:
    """As :func:`apply`, with its own record time for each edit: ``[(operation, time), ...]``."""
    people, done = _applied(tracks, timed)
    return with_records(tracks, rebuilt(tracks, people), existing(tracks) + [r for _, r in done])


def apply(tracks: TrackFile, edits: Sequence[Operation], time: Optional[str] = None) -> TrackFile:
    """``tracks`` with ``edits`` applied in order, all of them or none, each recorded in ``settings["edits"]``.

    Args:
        tracks: a tracked file (every person has a track id).
        edits: operations, applied one after the other (a later one sees the ids an earlier one made).
        time: the time stored in the records (default :func:`edit_time`: now, in UTC).

    Returns:
        A new :class:`TrackFile`; ``tracks`` is not changed. People keep their order within a frame.

    Raises:
        EditError: an operation names an id that is not in the file (at that point), a frame outside
            the video, or merges two tracks that share a frame (the frames are listed); the message
            names the operation. Nothing is applied then.
    """
    if not edits:
        return tracks
    time = edit_time() if time is None else time
    return apply_timed(tracks, [(op, time) for op in edits])


def swap(tracks: TrackFile, a: int, b: int, start: int, time: Optional[str] = None) -> TrackFile:
    """Ids ``a`` and ``b`` trade places in frames >= ``start`` (:class:`Swap`, through :func:`apply`)."""
    return apply(tracks, [Swap(a, b, start)], time)


def merge(tracks: TrackFile, a: int, b: int, time: Optional[str] = None) -> TrackFile:
    """Track ``b`` becomes ``a``; refused where both have a pose in one frame (:class:`Merge`)."""
    return apply(tracks, [Merge(a, b)], time)


def split(tracks: TrackFile, a: int, at: int, new: Optional[int] = None, time: Optional[str] = None) -> TrackFile:
    """``a``'s poses in frames >= ``at`` get the id ``new`` (default: largest id + 1) (:class:`Split`)."""
    return apply(tracks, [Split(a, at, new)], time)


def delete(tracks: TrackFile, a: int, frames: Optional[Tuple[int, int]] = None,
           time: Optional[str] = None) -> TrackFile:
    """Remove ``a``'s poses, all or those in ``frames[0] <= frame < frames[1]`` (:class:`Delete`)."""
    return apply(tracks, [Delete(a, None if frames is None else tuple(frames))], time)


def relabel(tracks: TrackFile, a: int, new: int, time: Optional[str] = None) -> TrackFile:
    """Track ``a`` takes the unused id ``new`` (:class:`Relabel`)."""
    return apply(tracks, [Relabel(a, new)], time)
