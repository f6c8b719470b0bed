"""Fixing track ids by hand: swap, merge, split, delete and relabel, each recorded in the file.

No tracker is perfect on real footage; these five operations fix what it got wrong. Each is a
frozen :class:`msgspec.Struct` (one schema writes and reads the records), applied by pure functions
on a :class:`~posetrack.tracksfile.codec.TrackFile`, never in place. Every applied operation is
appended to ``settings["edits"]`` as a record: the verb, its arguments, the UTC time it was applied
and, where the operation loses information (``merge``, ``delete``), what :func:`undo` needs to put it
back. ``posetrack edit`` and the review page (``posetrack review``) both call :func:`apply`.

=======  =================================  ==============================================================
verb     arguments                          effect
=======  =================================  ==============================================================
swap     ``a``, ``b``, ``from``             ids ``a`` and ``b`` trade places in frames >= ``from``
merge    ``a``, ``b``                       ``b`` becomes ``a``; refused where both have a pose in a frame
split    ``a``, ``at``, ``new``             ``a``'s poses in frames >= ``at`` get the id ``new``
delete   ``a``, ``frames`` (optional)       ``a``'s poses removed (only in ``frames[0] <= f < frames[1]``)
relabel  ``a``, ``new``                     ``a`` becomes ``new``, an id not in the file
=======  =================================  ==============================================================

Frames are the file's frame indices (``frame`` in the tracks file); frame ranges end before their
second number, as ``--end`` and Python slices do.

Example:
    >>> import posetrack
    >>> from posetrack import edit
    >>> tracks = posetrack.read_tracks("tracks.json")
    >>> fixed = edit.apply(tracks, [edit.Swap(3, 5, start=120), edit.Merge(3, 8), edit.Delete(9, (10, 20))])
    >>> posetrack.write_tracks("fixed.json", fixed)       # settings["edits"] holds the three records
    >>> edit.undo(fixed, 3)                               # the original tracks, exactly
"""
from __future__ import annotations

import dataclasses
import datetime
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import msgspec
import numpy as np

from posetrack import validation
from posetrack.errors import InputError
from posetrack.tracksfile.codec import TrackFile, TracksHeader, frame_from_dict, frame_to_dict
from posetrack.types import FrameResult
from posetrack.validation import INT64_MAX, NonNegInt64

__all__ = ["Swap", "Merge", "Split", "Delete", "Relabel", "Operation", "EditError", "EDITS_KEY", "apply", "apply_timed",
           "preview", "Preview",
           "swap", "merge", "split", "delete", "relabel", "undo", "replay", "recorded", "describe",
           "edit_time", "track_ids"]

#: The key of ``settings`` that holds the records of applied edits, oldest first.
EDITS_KEY = "edits"


class EditError(InputError):
    """An edit that cannot be applied (or undone): an unknown id, a frame out of range, an overlap.

    ``field`` names the argument at fault where it is not the operations themselves: ``count``
    (:func:`undo`), ``edited`` (:func:`replay`'s file of records) or ``time`` (``SOURCE_DATE_EPOCH``).
    """


# ---------------------------------------------------------------- the operations (one schema for records)

class _Op(msgspec.Struct, frozen=True, omit_defaults=True, tag_field="verb"):
    pass


class Swap(_Op, tag="swap"):
    """Ids ``a`` and ``b`` trade places in every frame from ``start`` on (``--from`` on the command line)."""

    a: NonNegInt64
    b: NonNegInt64
    start: NonNegInt64 = msgspec.field(name="from")


class Merge(_Op, tag="merge"):
    """Track ``b`` becomes track ``a``; refused if both have a pose in one frame."""

    a: NonNegInt64
    b: NonNegInt64


class Split(_Op, tag="split"):
    """``a``'s poses from frame ``at`` on get the id ``new`` (None: one more than the largest id)."""

    a: NonNegInt64
    at: NonNegInt64
    new: Optional[NonNegInt64] = None


class Delete(_Op, tag="delete"):
    """Remove ``a``'s poses: all of them, or those in frames ``frames[0] <= f < frames[1]``."""

    a: NonNegInt64
    frames: Optional[Tuple[NonNegInt64, NonNegInt64]] = None


class Relabel(_Op, tag="relabel"):
    """Track ``a`` takes the id ``new``, which no pose has yet (to join two tracks, use :class:`Merge`)."""

    a: NonNegInt64
    new: NonNegInt64


Operation = Union[Swap, Merge, Split, Delete, Relabel]


class _Removed(msgspec.Struct, frozen=True):
    """A deleted person, as :func:`undo` puts it back: its frame, its place in that frame, its entry."""

    frame: NonNegInt64
    index: NonNegInt64
    person: Dict[str, Any]


class _Undo(msgspec.Struct, frozen=True, omit_defaults=True):
    frames: List[Tuple[NonNegInt64, NonNegInt64]] = []     # merge: b's frames, as [start, end) runs
    people: List[_Removed] = []                             # delete: the removed people


class _Record(msgspec.Struct, frozen=True, omit_defaults=True):
    """The fields of an edit record beside its operation's."""

    time: str
    undo: Optional[_Undo] = None


def describe(op: Operation) -> str:
    """The operation as ``posetrack edit`` spells it, e.g. ``swap 3 5 --from 120``."""
    if isinstance(op, Swap):
        return f"swap {op.a} {op.b} --from {op.start}"
    if isinstance(op, Merge):
        return f"merge {op.a} {op.b}"
    if isinstance(op, Split):
        return f"split {op.a} --at {op.at}" + ("" if op.new is None else f" --new {op.new}")
    if isinstance(op, Delete):
        return f"delete {op.a}" + ("" if op.frames is None else f" --frames {op.frames[0]}:{op.frames[1]}")
    return f"relabel {op.a} {op.new}"


def edit_time() -> str:
    """Now in UTC, as edit records store it (``2025-03-01T12:00:00Z``).

    ``SOURCE_DATE_EPOCH`` (seconds since 1970, the reproducible-builds convention), when set,
    stands in for now, so two runs of the same edits write the same bytes.
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is not None:
        try:
            when = datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc)
        except (ValueError, OverflowError, OSError):
            raise EditError(f"SOURCE_DATE_EPOCH must be whole seconds since 1970, got {epoch!r}",
                            field="time") from None
    else:
        when = datetime.datetime.now(datetime.timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------- every person of the file as flat arrays

@dataclass(frozen=True)
class _People:
    """All people of a tracks file in file order, as flat arrays (P people in all).

    Attributes:
        frame: (P,) int64 frame index of each person.
        ids: (P,) int64 track id of each person (after the edits so far).
        keep: (P,) bool, False for a person deleted by an edit so far.
        total: frames in the video (``video.frames``); frames of edits lie in ``[0, total)``.
    """

    frame: np.ndarray
    ids: np.ndarray
    keep: np.ndarray
    total: int

    @classmethod
    def of(cls, tracks: TrackFile) -> "_People":
        for fr in tracks.frames:
            if len(fr) and fr.track_ids is None:
                raise EditError(f"frame {fr.frame} has people without track ids: the file was made without a "
                                "tracker (--tracker none); run `posetrack track` on it first")
        counts = [len(fr) for fr in tracks.frames]
        frame = np.repeat(np.asarray([fr.frame for fr in tracks.frames], dtype=np.int64), counts)
        ids = np.concatenate([np.zeros(0, np.int64)] + [fr.track_ids for fr in tracks.frames if len(fr)])
        total = max(int(tracks.header.video.frames or 0), int(frame.max(initial=-1)) + 1)
        return cls(frame, ids.astype(np.int64), np.ones(len(ids), dtype=bool), total)

    def of_id(self, track_id: int) -> np.ndarray:
        """(P,) bool: the kept people with ``track_id``."""
        return self.keep & (self.ids == track_id)

    def known(self) -> np.ndarray:
        """The ids that have a kept person, sorted."""
        return np.unique(self.ids[self.keep])

    def replace(self, **changes) -> "_People":
        return dataclasses.replace(self, **changes)


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
    return [int(i) for i in _People.of(tracks).known()]


def _ranges(frames: np.ndarray) -> List[Tuple[int, int]]:
    """Sorted unique frame indices as ``[start, end)`` runs: [3, 4, 5, 9] -> [(3, 6), (9, 10)]."""
    frames = np.unique(frames)
    if not len(frames):
        return []
    breaks = np.flatnonzero(np.diff(frames) != 1) + 1
    starts = frames[np.concatenate([[0], breaks])]
    ends = frames[np.concatenate([breaks - 1, [len(frames) - 1]])] + 1
    return [(int(s), int(e)) for s, e in zip(starts, ends)]


def _ranges_text(frames: np.ndarray, limit: int = 6) -> str:
    """'frames 12-15, 20, 31-40' (inclusive) or 'frame 20', at most ``limit`` runs then '...'."""
    runs = _ranges(frames)
    parts = [str(s) if e == s + 1 else f"{s}-{e - 1}" for s, e in runs[:limit]]
    text = ", ".join(parts) + (f", ... ({len(runs) - limit} more runs)" if len(runs) > limit else "")
    return ("frame " if len(frames) == 1 else "frames ") + text


def _ids_text(ids: np.ndarray, limit: int = 12) -> str:
    shown = ", ".join(str(int(i)) for i in ids[:limit])
    return (shown + f", ... ({len(ids)} in all)") if len(ids) > limit else (shown or "none")


# ---------------------------------------------------------------- checks shared by the operations

def _need(people: _People, *track_ids: int) -> None:
    for tid in track_ids:
        if not people.of_id(tid).any():
            raise EditError(f"id {tid} is not in the file (ids: {_ids_text(people.known())})")


def _need_frame(people: _People, frame: int, what: str) -> None:
    if not 0 <= frame < people.total:
        raise EditError(f"{what} {frame} is out of range: the video has frames 0-{people.total - 1}")


def _need_distinct(a: int, b: int) -> None:
    if a == b:
        raise EditError(f"the two ids are the same ({a})")


def _need_new(people: _People, new: int) -> None:
    if not 0 <= new <= INT64_MAX:
        raise EditError(f"a track id is an integer 0..2^63-1, got {new}")
    if people.of_id(new).any():
        raise EditError(f"id {new} is already in the file (merge joins two tracks)")


# ---------------------------------------------------------------- applying one operation

def _swap(people: _People, op: Swap) -> Tuple[_People, Operation, Optional[_Undo]]:
    _need_distinct(op.a, op.b)
    _need(people, op.a, op.b)
    _need_frame(people, op.start, "frame")
    later = people.keep & (people.frame >= op.start)
    if not (later & np.isin(people.ids, (op.a, op.b))).any():
        raise EditError(f"neither {op.a} nor {op.b} has a pose from frame {op.start} on")
    return _swapped(people, op), op, None


def _swapped(people: _People, op: Swap) -> _People:
    """The id exchange itself (its own inverse)."""
    later = people.keep & (people.frame >= op.start)
    in_a, in_b = later & (people.ids == op.a), later & (people.ids == op.b)
    ids = people.ids.copy()
    ids[in_a], ids[in_b] = op.b, op.a
    return people.replace(ids=ids)


def _merge(people: _People, op: Merge) -> Tuple[_People, Operation, Optional[_Undo]]:
    _need_distinct(op.a, op.b)
    _need(people, op.a, op.b)
    in_b = people.of_id(op.b)
    both = np.intersect1d(people.frame[people.of_id(op.a)], people.frame[in_b])
    if len(both):
        raise EditError(f"{op.a} and {op.b} both have a pose in {_ranges_text(both)}; "
                        f"one person cannot be two people in a frame (delete or split one of them there first)")
    ids = people.ids.copy()
    ids[in_b] = op.a
    return people.replace(ids=ids), op, _Undo(frames=_ranges(people.frame[in_b]))


def _split(people: _People, op: Split) -> Tuple[_People, Operation, Optional[_Undo]]:
    _need(people, op.a)
    _need_frame(people, op.at, "frame")
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
    _need_new(people, new)
    ids = people.ids.copy()
    ids[in_a & (people.frame >= op.at)] = new
    return people.replace(ids=ids), Split(op.a, op.at, new), None


def _delete(people: _People, op: Delete, tracks: TrackFile) -> Tuple[_People, Operation, Optional[_Undo]]:
    _need(people, op.a)
    gone = people.of_id(op.a)
    if op.frames is not None:
        start, end = op.frames
        if end <= start:
            raise EditError(f"frames {start}:{end} is empty: the end comes after the start (and is not deleted)")
        _need_frame(people, start, "frame")
        if end > people.total:
            raise EditError(f"frame range {start}:{end} runs past the video's {people.total} frames")
        gone &= (people.frame >= start) & (people.frame < end)
        if not gone.any():
            raise EditError(f"{op.a} has no pose in frames {start}-{end - 1}")
    keep = people.keep & ~gone
    return people.replace(keep=keep), op, _Undo(people=_removed(people, gone, tracks))


def _relabel(people: _People, op: Relabel) -> Tuple[_People, Operation, Optional[_Undo]]:
    _need(people, op.a)
    _need_new(people, op.new)
    ids = people.ids.copy()
    ids[people.of_id(op.a)] = op.new
    return people.replace(ids=ids), op, None


def _removed(people: _People, gone: np.ndarray, tracks: TrackFile) -> List[_Removed]:
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
        out.append(_Removed(int(fr.frame), int(place[p]), frame_to_dict(one)["people"][0]))
    return out


def _one(people: _People, op: Operation, tracks: TrackFile) -> Tuple[_People, Operation, Optional[_Undo]]:
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


# ---------------------------------------------------------------- from flat arrays back to a file

def _rebuilt(tracks: TrackFile, people: _People) -> Tuple[FrameResult, ...]:
    """``tracks``' frames with ``people``'s ids and deletions; frames nothing changed are kept as they are."""
    out, pos = [], 0
    for fr in tracks.frames:
        n = len(fr)
        ids, keep = people.ids[pos:pos + n], people.keep[pos:pos + n]
        pos += n
        if keep.all() and (n == 0 or np.array_equal(ids, fr.track_ids)):
            out.append(fr)
            continue
        out.append(FrameResult(fr.frame, fr.poses.select(keep), ids[keep] if keep.any() else None, fr.time,
                               None if fr.interpolated is None else fr.interpolated[keep]))
    return tuple(out)


def _with_settings(tracks: TrackFile, frames: Tuple[FrameResult, ...], edits: List[Any]) -> TrackFile:
    settings = dict(tracks.header.settings)
    if edits:
        settings[EDITS_KEY] = edits
    else:
        settings.pop(EDITS_KEY, None)
    header = TracksHeader(video=tracks.header.video, layout=tracks.header.layout, settings=settings)
    return TrackFile(header=header, frames=frames, complete=tracks.complete)


def _existing(tracks: TrackFile) -> List[Any]:
    edits = tracks.header.settings.get(EDITS_KEY, [])
    if not isinstance(edits, list):
        raise EditError(f"settings.{EDITS_KEY} is {type(edits).__name__}, not a list of edit records")
    return list(edits)


def _record(op: Operation, time: str, undo_data: Optional[_Undo]) -> Dict[str, Any]:
    """The record as JSON types (lists, not tuples), equal to what reading it back from a file gives."""
    record = {**msgspec.to_builtins(op), **msgspec.to_builtins(_Record(time, undo_data))}
    return msgspec.json.decode(msgspec.json.encode(record))


def _applied(tracks: TrackFile, timed: Sequence[Tuple[Operation, str]]) -> Tuple[_People, List[Tuple[Operation, Dict]]]:
    """The people after ``timed`` edits, and each edit as applied with its record."""
    people = _People.of(tracks)
    done = []
    for k, (op, time) in enumerate(timed):
        try:
            people, resolved, undo_data = _one(people, op, tracks)
        except EditError as e:
            where = f"edit {k + 1} of {len(timed)}, " if len(timed) > 1 else ""
            raise EditError(f"{where}{describe(op)}: {e}") from None
        done.append((resolved, _record(resolved, time, undo_data)))
    return people, done


def apply_timed(tracks: TrackFile, timed: Sequence[Tuple[Operation, str]]) -> TrackFile:
    """As :func:`apply`, with its own record time for each edit: ``[(operation, time), ...]``."""
    people, done = _applied(tracks, timed)
    return _with_settings(tracks, _rebuilt(tracks, people), _existing(tracks) + [r for _, r in done])


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


# ---------------------------------------------------------------- reading records back: undo and replay

def _decode(record: Any, k: int) -> Tuple[Operation, _Record]:
    where = f"settings.{EDITS_KEY}[{k}]"
    labeler = validation.path_labeler()
    op = validation.convert(record, Operation, where, labeler, EditError)
    return op, validation.convert(record, _Record, where, labeler, EditError)


def recorded(tracks: TrackFile) -> List[Tuple[Operation, str]]:
    """The edits recorded in ``tracks`` (oldest first), each with the time it was applied.

    Raises:
        EditError: a record does not follow the schema (named as ``settings.edits[k]``).
    """
    out = []
    for k, record in enumerate(_existing(tracks)):
        op, rec = _decode(record, k)
        out.append((op, rec.time))
    return out


def replay(tracks: TrackFile, edited: TrackFile) -> TrackFile:
    """The edits recorded in ``edited`` and not yet in ``tracks``, applied to ``tracks`` with their times.

    Records that ``tracks`` already holds at the start of its own list are skipped, so replaying a
    file edited from ``tracks`` (or from a file equal to it, e.g. a rerun of a deterministic
    tracker) gives that edited file again.
    """
    mine = _existing(tracks)
    try:
        theirs, timed = _existing(edited), recorded(edited)
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
    edits = _existing(tracks)
    if not 1 <= count <= len(edits):
        raise EditError(f"cannot undo {count} edit(s): the file records {len(edits)} "
                        f"(settings.{EDITS_KEY})", field="count")
    for k in range(len(edits) - 1, len(edits) - 1 - count, -1):
        op, rec = _decode(edits[k], k)
        try:
            tracks = _undo_one(tracks, op, rec.undo or _Undo())
        except EditError as e:
            raise EditError(f"cannot undo settings.{EDITS_KEY}[{k}] ({describe(op)}): {e}") from None
    return _with_settings(tracks, tracks.frames, edits[:len(edits) - count])


def _undo_one(tracks: TrackFile, op: Operation, data: _Undo) -> TrackFile:
    if isinstance(op, Delete):
        return _restore(tracks, data.people)
    people = _People.of(tracks)
    if isinstance(op, Swap):
        people = _swapped(people, op)
    elif isinstance(op, Relabel):
        people = _relabel(people, Relabel(op.new, op.a))[0]
    elif isinstance(op, Split):
        _need(people, op.a, op.new)
        people = _merge(people, Merge(op.a, op.new))[0]
    else:
        people = _unmerge(people, op, data.frames)
    return _with_settings(tracks, _rebuilt(tracks, people), _existing(tracks))


def _unmerge(people: _People, op: Merge, runs: List[Tuple[int, int]]) -> _People:
    """Give ``b`` back the frames it had before ``merge a b``."""
    if people.of_id(op.b).any():
        raise EditError(f"id {op.b} is in the file again")
    frames = np.concatenate([np.arange(s, e) for s, e in runs] or [np.zeros(0, np.int64)])
    back = people.of_id(op.a) & np.isin(people.frame, frames)
    if back.sum() != len(frames):
        raise EditError(f"{op.a} no longer has a pose in each of the frames it took from {op.b}")
    ids = people.ids.copy()
    ids[back] = op.b
    return people.replace(ids=ids)


def _restore(tracks: TrackFile, removed: List[_Removed]) -> TrackFile:
    """Put deleted people back at their places in their frames."""
    by_frame: Dict[int, List[_Removed]] = {}
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
