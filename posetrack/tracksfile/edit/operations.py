"""Each edit operation on the flat arrays of :class:`~posetrack.tracksfile.edit.people.People`.

:func:`apply_one` checks an operation against the people as they are after the edits before it,
and returns the people after it, the operation as applied (a split's new id filled in) and what
undoing it needs (:class:`~posetrack.tracksfile.edit.schema.Undo`, for ``merge`` and ``delete``).
:func:`swapped` and :func:`unmerge` are the inverses undo uses.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np

from posetrack.tracksfile.codec import TrackFile, frame_to_dict
from posetrack.tracksfile.edit.people import People, need, need_distinct, need_frame, need_new, ranges, ranges_text
from posetrack.tracksfile.edit.schema import (Delete, EditError, Merge, Operation, Relabel, Removed, Split, Swap,
                                              Undo)
from posetrack.types import FrameResult
from posetrack.validation import INT64_MAX

__all__ = ["Applied", "apply_one", "swapped", "unmerge"]

#: The people after an operation, the operation as applied, and what undoing it needs (or None).
Applied = Tuple[People, Operation, Optional[Undo]]


def _swap(people: People, op: Swap) -> Applied:
    need_distinct(op.a, op.b)
    need(people, op.a, op.b)
    need_frame(people, op.start, "frame")
    later = people.keep & (people.frame >= op.start)
    if not (later & np.isin(people.ids, (op.a, op.b))).any():
        raise EditError(f"neither {op.a} nor {op.b} has a pose from frame {op.start} on")
    return swapped(people, op), op, None


def swapped(people: People, op: Swap) -> People:
    """The id exchange itself (its own inverse)."""
    later = people.keep & (people.frame >= op.start)
    in_a, in_b = later & (people.ids == op.a), later & (people.ids == op.b)
    ids = people.ids.copy()
    ids[in_a], ids[in_b] = op.b, op.a
    return people.replace(ids=ids)


def _merge(people: People, op: Merge) -> Applied:
    need_distinct(op.a, op.b)
    need(people, op.a, op.b)
    in_b = people.of_id(op.b)
    both = np.intersect1d(people.frame[people.of_id(op.a)], people.frame[in_b])
    if len(both):
        raise EditError(f"{op.a} and {op.b} both have a pose in {ranges_text(both)}; "
                        f"one person cannot be two people in a frame (delete or split one of them there first)")
    ids = people.ids.copy()
    ids[in_b] = op.a
    return people.replace(ids=ids), op, Undo(frames=ranges(people.frame[in_b]))


def _split(people: People, op: Split) -> Applied:
    need(people, op.a)
    need_frame(people, op.at, "frame")
    in_a = people.of_id(op.a)
    frames = people.frame[in_a]
    if not (frames < op.at).any():
        raise EditError(f"{op.a} has no pose before frame {op.at} (its first is frame {frames.min()}): "
                        f"nothing would keep the id; relabel changes a whole track's id")
    if not (frames >= op.at).any():
        raise EditError(f"{op.a} has no pose from frame {op.at} on (its last is frame {frames.max()})")
    new = op.new
    if new is None:
        top = int(people.known().max())
        if top >= INT64_MAX:
            raise EditError("no free id above the largest one (2^63-1); give --new")
        new = top + 1
    need_new(people, new)
    ids = people.ids.copy()
    ids[in_a & (people.frame >= op.at)] = new
    return people.replace(ids=ids), Split(op.a, op.at, new), None


def _delete(people: People, op: Delete, tracks: TrackFile) -> Applied:
    need(people, op.a)
    gone = people.of_id(op.a)
    if op.frames is not None:
        start, end = op.frames
        if end <= start:
            raise EditError(f"frames {start}:{end} is empty: the end comes after the start (and is not deleted)")
        need_frame(people, start, "frame")
        if end > people.total:
            raise EditError(f"frame range {start}:{end} runs past the video's {people.total} frames")
        gone &= (people.frame >= start) & (people.frame < end)
        if not gone.any():
            raise EditError(f"{op.a} has no pose in frames {start}-{end - 1}")
    keep = people.keep & ~gone
    return people.replace(keep=keep), op, Undo(people=_removed(people, gone, tracks))


def _relabel(people: People, op: Relabel) -> Applied:
    need(people, op.a)
    need_new(people, op.new)
    ids = people.ids.copy()
    ids[people.of_id(op.a)] = op.new
    return people.replace(ids=ids), op, None


def _removed(people: People, gone: np.ndarray, tracks: TrackFile) -> List[Removed]:
    """The people about to be deleted: frame, index among the frame's people still kept, tracks-file entry."""
    counts = [len(fr) for fr in tracks.frames]
    first = np.repeat(np.cumsum([0] + counts[:-1]), counts)        # flat index of each frame's first person
    kept_before = np.cumsum(people.keep) - people.keep              # kept people before each person
    place = kept_before - kept_before[first] if len(first) else kept_before
    frame_at = np.repeat(np.arange(len(tracks.frames)), counts)
    local = np.arange(len(first)) - first
    out = []
    for p in np.flatnonzero(gone):
        fr = tracks.frames[frame_at[p]]
        one = FrameResult(fr.frame, fr.poses.select([local[p]]), np.asarray([people.ids[p]]),
                          interpolated=None if fr.interpolated is None else fr.interpolated[[local[p]]])
        out.append(Removed(int(fr.frame), int(place[p]), frame_to_dict(one)["people"][0]))
    return out


def apply_one(people: People, op: Operation, tracks: TrackFile) -> Applied:
    """``op`` applied to ``people`` (the people of ``tracks`` after the edits before it).

    Raises:
        EditError: ``op`` does not apply (an id not in the file, a frame out of range, an overlap),
            or is not an operation.
    """
    if isinstance(op, Swap):
        return _swap(people, op)
    if isinstance(op, Merge):
        return _merge(people, op)
    if isinstance(op, Split):
        return _split(people, op)
    if isinstance(op, Delete):
        return _delete(people, op, tracks)
    if isinstance(op, Relabel):
        return _relabel(people, op)
    raise EditError(f"not an edit operation: {op!r} (expected Swap, Merge, Split, Delete or Relabel)")


def unmerge(people: People, op: Merge, runs: List[Tuple[int, int]]) -> People:
    """Give ``b`` back the frames it had before ``merge a b`` (``runs``: the record's ``[start, end)`` runs)."""
    if people.of_id(op.b).any():
        raise EditError(f"id {op.b} is in the file again")
    frames = np.concatenate([np.arange(s, e) for s, e in runs] or [np.zeros(0, np.int64)])
    back = people.of_id(op.a) & np.isin(people.frame, frames)
    if back.sum() != len(frames):
        raise EditError(f"{op.a} no longer has a pose in each of the frames it took from {op.b}")
    ids = people.ids.copy()
    ids[back] = op.b
    return people.replace(ids=ids)
