"""Reading the records back: :func:`undo` the last edits of a file, :func:`replay` one file's edits on another."""
from __future__ import annotations

from typing import Dict, List

from posetrack.tracksfile.codec import TrackFile, frame_from_dict, frame_to_dict
from posetrack.tracksfile.edit.applying import apply_timed
from posetrack.tracksfile.edit.operations import apply_one, swapped, unmerge
from posetrack.tracksfile.edit.people import People, need, rebuilt
from posetrack.tracksfile.edit.schema import (EDITS_KEY, Delete, EditError, Merge, Operation, Relabel, Removed, Split,
                                              Swap, Undo, decode, describe, existing, recorded, with_records)

__all__ = ["undo", "replay"]


def replay(tracks: TrackFile, edited: TrackFile) -> TrackFile:
    """The edits recorded in ``edited`` and not yet in ``tracks``, applied to ``tracks`` with their times.

    Records that ``tracks`` already holds at the start of its own list are skipped, so replaying a
    file edited from ``tracks`` (or from a file equal to it, e.g. a rerun of a deterministic
    tracker) gives that edited file again.
    """
    mine = existing(tracks)
    try:
        theirs, timed = existing(edited), recorded(edited)
    except EditError as e:
        raise EditError(f"the edited file's records: {e}", field="edited") from None
    common = 0
    while common < min(len(mine), len(theirs)) and mine[common] == theirs[common]:
        common += 1
    return apply_timed(tracks, timed[common:])


def undo(tracks: TrackFile, count: int = 1) -> TrackFile:
    """``tracks`` as it was before its last ``count`` recorded edits (their records removed too).

    Undoing every edit of a file gives back the file as it was before them, byte for byte once
    written (``tests/test_edit.py`` checks this as a property).

    Raises:
        EditError: fewer than ``count`` records, a record that breaks the schema, or a file changed
            by other means since the edit (an id the edit made is missing); nothing is undone then.
    """
    edits = existing(tracks)
    if not 1 <= count <= len(edits):
        raise EditError(f"cannot undo {count} edit(s): the file records {len(edits)} "
                        f"(settings.{EDITS_KEY})", field="count")
    for k in range(len(edits) - 1, len(edits) - 1 - count, -1):
        op, data, _ = decode(edits[k], k)
        try:
            tracks = _undo_one(tracks, op, data or Undo())
        except EditError as e:
            raise EditError(f"cannot undo settings.{EDITS_KEY}[{k}] ({describe(op)}): {e}") from None
    return with_records(tracks, tracks.frames, edits[:len(edits) - count])


def _undo_one(tracks: TrackFile, op: Operation, data: Undo) -> TrackFile:
    if isinstance(op, Delete):
        return _restore(tracks, data.people)
    people = People.of(tracks)
    if isinstance(op, Swap):
        people = swapped(people, op)
    elif isinstance(op, Relabel):
        people = apply_one(people, Relabel(op.new, op.a), tracks)[0]
    elif isinstance(op, Split):
        need(people, op.a, op.new)
        people = apply_one(people, Merge(op.a, op.new), tracks)[0]
    else:
        people = unmerge(people, op, data.frames)
    return with_records(tracks, rebuilt(tracks, people), existing(tracks))


def _restore(tracks: TrackFile, removed: List[Removed]) -> TrackFile:
    """Put deleted people back at their places in their frames."""
    by_frame: Dict[int, List[Removed]] = {}
    for r in removed:
        by_frame.setdefault(r.frame, []).append(r)
    k = tracks.layout.num_keypoints
    frames = []
    for fr in tracks.frames:
        back = by_frame.pop(fr.frame, None)
        if back is None:
            frames.append(fr)
            continue
        entry = frame_to_dict(fr)
        for r in sorted(back, key=lambda r: r.index):
            if r.index > len(entry["people"]):
                raise EditError(f"frame {fr.frame} has {len(entry['people'])} people; a deleted one was number "
                                f"{r.index}")
            entry["people"].insert(r.index, r.person)
        frames.append(frame_from_dict(entry, k, where=f"frame {fr.frame}"))
    if by_frame:
        raise EditError(f"frame {min(by_frame)} is no longer in the file")
    return TrackFile(header=tracks.header, frames=tuple(frames), complete=tracks.complete)
