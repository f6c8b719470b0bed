"""The tracker's state: tables of named columns, and the saved-state schema that checks itself.

Everything a :class:`~posetrack.tracking.tracker.PoseTracker` knows lives in a few
:class:`Table` s — the queue of recent poses, the live tracks, the gallery of ended tracks
kept for re-identification — each a set of named numpy columns with one row per item. A
table selects, appends, saves and restores all its columns at once, so a new per-track
field is one line in its :class:`Column` spec, not an array kept in step by hand.

:class:`TrackerState` is the saved state (what the crash journal holds and a resume
loads): :meth:`TrackerState.encode` turns a tracker's tables into JSON-ready data and
:meth:`TrackerState.decode` checks such data — types through :mod:`msgspec` (whole numbers
where the tracker keeps integers, no booleans for numbers), the shapes (every column of a
table has the table's length, trailing shapes as the spec says), the ranges (finite
floats, counts and frame indices of 0 or more, ascending track ids, ``next_id`` above every
id in use) — before anything is loaded. A state comes back from a file anyone can edit or
damage; loading a wrong one must fail at once, naming the field.

Example:
    >>> from posetrack.tracking.state import check_state
    >>> check_state({"next_id": -5}, 17)
    Traceback (most recent call last):
    ...
    posetrack.errors.FormatError: tracker.queue: missing
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import msgspec
import numpy as np

from posetrack.errors import FormatError

__all__ = ["Column", "Table", "TrackerState", "check_state"]


@dataclass(frozen=True)
class Column:
    """One column of a :class:`Table`.

    Attributes:
        dtype: numpy dtype name: "float32", "float64", "int64" or "bool".
        shape: the trailing shape of one row (``()`` for a scalar per row).
        minimum: values below this are refused when a saved table is loaded (None: any).
    """

    dtype: str
    shape: Tuple[int, ...] = ()
    minimum: Optional[float] = None


Spec = Mapping[str, Column]


class Table:
    """Named columns with one row per item (a track, a queued pose); immutable.

    Args:
        spec: the columns, name -> :class:`Column`.
        columns: an array per column, all with the same first dimension.

    Columns are read as attributes (``table.ids``); a table never changes in place:
    :meth:`select`, :meth:`append` and :meth:`with_values` return new tables.
    """

    __slots__ = ("spec", "_data")

    def __init__(self, spec: Spec, **columns: np.ndarray):
        if set(columns) != set(spec):
            missing, extra = set(spec) - set(columns), set(columns) - set(spec)
            raise ValueError(f"table columns: missing {sorted(missing)}, unknown {sorted(extra)}")
        data = {}
        n = None
        for name, col in spec.items():
            a = np.asarray(columns[name], dtype=col.dtype)
            if a.ndim == 0 or a.shape[1:] != tuple(col.shape):
                raise ValueError(f"column {name}: rows of shape {tuple(col.shape)} expected, got {a.shape}")
            n = len(a) if n is None else n
            if len(a) != n:
                raise ValueError(f"column {name}: {len(a)} rows, the table has {n}")
            data[name] = a
        object.__setattr__(self, "spec", dict(spec))
        object.__setattr__(self, "_data", data)

    @classmethod
    def empty(cls, spec: Spec) -> "Table":
        return cls(spec, **{n: np.zeros((0, *c.shape), c.dtype) for n, c in spec.items()})

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(f"the table has no column {name!r}") from None

    def __setattr__(self, name, value):
        raise AttributeError("a Table is immutable: use with_values(), select() or append()")

    def __len__(self) -> int:
        return len(next(iter(self._data.values()))) if self._data else 0

    def __deepcopy__(self, memo) -> "Table":
        return self                                  # immutable: a copy is the table itself

    def columns(self) -> Dict[str, np.ndarray]:
        """The columns (the arrays themselves: do not modify them)."""
        return dict(self._data)

    def select(self, rows) -> "Table":
        """The rows ``rows`` (indices or a boolean mask), in that order."""
        return Table(self.spec, **{n: a[rows] for n, a in self._data.items()})

    def append(self, **rows: np.ndarray) -> "Table":
        """This table with ``rows`` (one array per column, equal lengths) added at the end."""
        new = Table(self.spec, **rows)
        return Table(self.spec, **{n: np.concatenate([a, new._data[n]]) for n, a in self._data.items()})

    def with_values(self, rows=None, **values) -> "Table":
        """A copy with the named columns replaced: whole columns, or only at ``rows`` when given."""
        data = dict(self._data)
        for name, value in values.items():
            if name not in data:
                raise AttributeError(f"the table has no column {name!r}")
            if rows is None:
                data[name] = value
            else:
                column = data[name].copy()
                column[rows] = value
                data[name] = column
        return Table(self.spec, **data)

    def state_dict(self) -> Dict[str, list]:
        """Every column as nested lists (JSON-ready; floats widen to Python floats losslessly)."""
        return {n: a.tolist() for n, a in self._data.items()}

    @classmethod
    def from_state(cls, spec: Spec, state: Mapping[str, Any], where: str) -> "Table":
        """A table from :meth:`state_dict` data, checked column by column.

        Raises:
            FormatError: ``tracker.<where>.<column>: ...`` for a missing column, a value of the
                wrong type, a wrong shape, a non-finite float or a value below the minimum.
        """
        if not isinstance(state, Mapping):
            raise _fail(where, f"expected an object, got {type(state).__name__}")
        unknown = sorted(set(state) - set(spec))
        if unknown:
            raise _fail(f"{where}.{unknown[0]}", "unknown column")
        columns, n = {}, None
        for name, col in spec.items():
            here = f"{where}.{name}"
            if name not in state:
                raise _fail(here, "missing")
            values = _typed(state[name], col, here)
            n = len(values) if n is None else n
            columns[name] = _array(values, col, n, here)
        return cls(spec, **columns)


def _fail(where: str, message: str) -> FormatError:
    return FormatError(f"tracker.{where}: {message}" if where else f"tracker: {message}")


_BASE = {"float32": float, "float64": float, "int64": int, "bool": bool}


def _typed(values: Any, col: Column, where: str) -> list:
    """``values`` checked to be nested lists of the column's Python type (msgspec, strict)."""
    tp: Any = _BASE[col.dtype]
    for _ in range(len(col.shape) + 1):
        tp = List[tp]
    try:
        return msgspec.convert(values, tp, strict=True)
    except msgspec.ValidationError as e:
        text = str(e)
        raise _fail(where, text.rsplit(" - at `$", 1)[0]) from None


def _array(values: list, col: Column, n: int, where: str) -> np.ndarray:
    shape = (n, *col.shape)
    try:
        a = np.asarray(values, col.dtype)
    except ValueError:
        raise _fail(where, "rows of different lengths") from None
    if a.size == 0 and 0 in shape:
        return np.zeros(shape, col.dtype)
    if a.shape != shape:
        raise _fail(where, f"expected shape {shape}, got {a.shape}")
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise _fail(where, "values must be finite")
    if col.minimum is not None and a.size and a.min() < col.minimum:
        raise _fail(where, f"values must be {col.minimum:g} or more, got {a.min()}")
    return a


class _Scalars(msgspec.Struct):
    """The tracker's scalar fields; its tables are checked by :meth:`Table.from_state`."""

    queue: Dict[str, Any]
    tracks: Dict[str, Any]
    next_id: int
    last_frame: Optional[int]
    propagated: bool
    frame_now: Optional[int] = None
    gallery: Optional[Dict[str, Any]] = None
    cuts: List[int] = []


@dataclass(frozen=True)
class TrackerState:
    """A tracker's whole state: its tables and counters (the payload of a journal's state record).

    Attributes:
        next_id: the next track id to hand out.
        last_frame: the last frame tracked (None before the first).
        frame_now: the frame the queue was last moved into (None before the first).
        propagated: whether the queue was moved into the coming frame already.
        queue, tracks, gallery: the tracker's tables.
        cuts: frames at which a scene cut ended every track, ascending.
    """

    next_id: int
    last_frame: Optional[int]
    frame_now: Optional[int]
    propagated: bool
    queue: Table
    tracks: Table
    gallery: Table
    cuts: Tuple[int, ...] = ()

    def encode(self) -> Dict[str, Any]:
        """JSON-ready data; :meth:`decode` of it gives this state back exactly."""
        return {"next_id": self.next_id, "last_frame": self.last_frame, "frame_now": self.frame_now,
                "propagated": self.propagated, "queue": self.queue.state_dict(),
                "tracks": self.tracks.state_dict(), "gallery": self.gallery.state_dict(),
                "cuts": list(self.cuts)}

    @classmethod
    def decode(cls, data: Any, specs: Mapping[str, Spec]) -> "TrackerState":
        """Check ``data`` (as :meth:`encode` writes it) against the table ``specs`` and build the state.

        Args:
            data: the saved state.
            specs: the column specs of the "queue", "tracks" and "gallery" tables.

        Raises:
            FormatError: names the first field that is wrong (``tracker.queue.keypoints: ...``).
        """
        if not isinstance(data, dict):
            raise FormatError(f"tracker: expected an object, got {type(data).__name__}")
        try:
            s = msgspec.convert(data, _Scalars, str_keys=True)
        except msgspec.ValidationError as e:
            text = str(e)
            where = text.rsplit(" - at `$", 1)[1].rstrip("`").lstrip(".") if " - at `$" in text else ""
            reason = text.rsplit(" - at `$", 1)[0]
            if reason.startswith("Object missing required field"):
                raise _fail(f"{where}.{reason.split('`')[1]}".lstrip("."), "missing") from None
            raise _fail(where, reason) from None
        queue = Table.from_state(specs["queue"], s.queue, "queue")
        tracks = Table.from_state(specs["tracks"], s.tracks, "tracks")
        gallery = Table.from_state(specs["gallery"], s.gallery, "gallery") if s.gallery is not None \
            else Table.empty(specs["gallery"])
        _check_ids(tracks.ids, "tracks.ids")
        _check_ids(gallery.ids, "gallery.ids")
        used = [int(a.max()) for a in (queue.track_ids, tracks.ids, gallery.ids) if len(a)]
        if s.next_id < 0 or (used and s.next_id <= max(used)):
            raise _fail("next_id", f"must be above every track id in use ({max(used, default=-1)}), got {s.next_id}")
        for name in ("last_frame", "frame_now"):
            value = getattr(s, name)
            if value is not None and value < 0:
                raise _fail(name, f"must be 0 or more, got {value}")
        if any(c < 0 for c in s.cuts) or list(s.cuts) != sorted(set(s.cuts)):
            raise _fail("cuts", "must be distinct frame indices of 0 or more, ascending")
        return cls(s.next_id, s.last_frame, s.frame_now, s.propagated, queue, tracks, gallery, tuple(s.cuts))


def _check_ids(ids: np.ndarray, where: str) -> None:
    if len(ids) > 1 and (np.diff(ids) <= 0).any():
        raise _fail(where, "must be distinct and ascending")


def check_state(state: Any, num_keypoints: int, specs: Optional[Mapping[str, Spec]] = None) -> None:
    """Raise unless ``state`` is a tracker state a tracker with ``num_keypoints`` joints can continue from.

    Args:
        state: JSON-ready data as :meth:`~posetrack.tracking.tracker.PoseTracker.state_dict` writes it.
        num_keypoints: K of the tracker's keypoint layout.
        specs: the table specs (None: those of a default tracker for K joints).

    Raises:
        FormatError: names the first field that is wrong (``tracker.queue.keypoints: ...``).
    """
    if specs is None:
        from posetrack.tracking.tables import table_specs

        specs = table_specs(num_keypoints)
    TrackerState.decode(state, specs)


def stack_rows(rows: Sequence[Mapping[str, np.ndarray]], spec: Spec) -> Dict[str, np.ndarray]:
    """Columns from a list of single-row mappings (an empty list gives empty columns)."""
    if not rows:
        return {n: np.zeros((0, *c.shape), c.dtype) for n, c in spec.items()}
    return {n: np.stack([np.asarray(r[n], c.dtype) for r in rows]) for n, c in spec.items()}
