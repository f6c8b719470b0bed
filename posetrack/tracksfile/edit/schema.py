"""The edit operations and their records in ``settings["edits"]``: one msgspec schema writes and reads both.

A record is the operation's fields (``verb`` tags which one) beside ``time`` and, for the operations
that lose information, ``undo``: ``{"verb": "merge", "a": 3, "b": 8, "time": "...", "undo": {...}}``.
"""
from __future__ import annotations

import datetime
import os
from typing import Any, Dict, List, Optional, Tuple, Union

import msgspec

from posetrack import validation
from posetrack.errors import InputError
from posetrack.tracksfile.codec import TrackFile, TracksHeader
from posetrack.types import FrameResult
from posetrack.validation import NonNegInt64

__all__ = ["EDITS_KEY", "EditError", "Swap", "Merge", "Split", "Delete", "Relabel", "Operation", "Removed", "Undo",
           "describe", "edit_time", "record", "decode", "existing", "recorded", "with_records"]

#: The key of ``settings`` that holds the records of applied edits, oldest first.
EDITS_KEY = "edits"


class EditError(InputError):
    """An edit that cannot be applied (or undone): an unknown id, a frame out of range, an overlap.

    ``field`` names the argument at fault where it is not the operations themselves: ``count``
    (:func:`~posetrack.tracksfile.edit.undo`), ``edited`` (:func:`~posetrack.tracksfile.edit.replay`'s
    file of records) or ``time`` (``SOURCE_DATE_EPOCH``).
    """


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


class Removed(msgspec.Struct, frozen=True):
    """A deleted person, as undo puts it back: its frame, its place in that frame, its entry."""

    frame: NonNegInt64
    index: NonNegInt64
    person: Dict[str, Any]


class Undo(msgspec.Struct, frozen=True, omit_defaults=True):
    """What undoing a record needs that its operation does not say."""

    frames: List[Tuple[NonNegInt64, NonNegInt64]] = []     # merge: b's frames, as [start, end) runs
    people: List[Removed] = []                              # delete: the removed people


class _Record(msgspec.Struct, frozen=True, omit_defaults=True):
    """The fields of an edit record beside its operation's."""

    time: str
    undo: Optional[Undo] = None


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


def record(op: Operation, time: str, undo_data: Optional[Undo]) -> Dict[str, Any]:
    """The record as JSON types (lists, not tuples), equal to what reading it back from a file gives."""
    fields = {**msgspec.to_builtins(op), **msgspec.to_builtins(_Record(time, undo_data))}
    return msgspec.json.decode(msgspec.json.encode(fields))


def decode(entry: Any, k: int) -> Tuple[Operation, Optional[Undo], str]:
    """Record ``k`` of ``settings.edits`` as its operation, undo data and time.

    Raises:
        EditError: the record breaks the schema (named as ``settings.edits[k]`` and the field).
    """
    where = f"settings.{EDITS_KEY}[{k}]"
    labeler = validation.path_labeler()
    op = validation.convert(entry, Operation, where, labeler, EditError)
    rest = validation.convert(entry, _Record, where, labeler, EditError)
    return op, rest.undo, rest.time


def existing(tracks: TrackFile) -> List[Any]:
    """The records in ``tracks`` (a new list), oldest first, as read from the file (not yet decoded)."""
    edits = tracks.header.settings.get(EDITS_KEY, [])
    if not isinstance(edits, list):
        raise EditError(f"settings.{EDITS_KEY} is {type(edits).__name__}, not a list of edit records")
    return list(edits)


def recorded(tracks: TrackFile) -> List[Tuple[Operation, str]]:
    """The edits recorded in ``tracks`` (oldest first), each with the time it was applied.

    Raises:
        EditError: a record does not follow the schema (named as ``settings.edits[k]``).
    """
    out = []
    for k, entry in enumerate(existing(tracks)):
        op, _, time = decode(entry, k)
        out.append((op, time))
    return out


def with_records(tracks: TrackFile, frames: Tuple[FrameResult, ...], edits: List[Any]) -> TrackFile:
    """``tracks`` with ``frames`` and ``edits`` as its records (no ``edits`` key when there are none)."""
    settings = dict(tracks.header.settings)
    if edits:
        settings[EDITS_KEY] = edits
    else:
        settings.pop(EDITS_KEY, None)
    header = TracksHeader(video=tracks.header.video, layout=tracks.header.layout, settings=settings)
    return TrackFile(header=header, frames=frames, complete=tracks.complete)
