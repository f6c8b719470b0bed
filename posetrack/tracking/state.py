"""Validation of a saved tracker state (:meth:`~posetrack.tracking.tracker.PoseTracker.state_dict`) before it is loaded.

A state comes back from a crash journal, a file anyone can edit or damage. Loading a
wrong one would not fail: a ragged or misshapen array could only fail later with an
internal error, and a negative ``next_id`` or a string where the queue belongs would give
a result that matches no uninterrupted run. :func:`check_state` checks the structure
(types through :mod:`msgspec`: whole numbers where the tracker keeps integers, no
booleans for numbers), the shapes (every per-pose array has the queue's length ``E``,
every per-track array the tracks' length ``T``, keypoints ``(E, K, 2)``), and the ranges
(finite floats, frame indices and counts of 0 or more, ascending track ids, ``next_id``
above every id in use).

Example:
    >>> from posetrack.tracking.state import check_state
    >>> check_state({"next_id": -5}, 17)
    Traceback (most recent call last):
    ...
    posetrack.errors.FormatError: tracker.queue: missing
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import msgspec
import numpy as np

from posetrack.errors import FormatError

__all__ = ["check_state"]


class _Queue(msgspec.Struct):
    keypoints: List[List[List[float]]]
    keypoint_scores: List[List[float]]
    areas: List[float]
    box_scores: List[float]
    track_ids: List[int]
    frames: List[int]


class _Filter(msgspec.Struct):
    x: List[float]
    P: List[List[float]]


class _Motion(msgspec.Struct):
    filters: Dict[int, _Filter] = {}


class _BoxModel(msgspec.Struct):
    x: List[List[float]]
    P: List[List[List[float]]]


class _Tracks(msgspec.Struct):
    ids: List[int]
    last_seen: List[int]
    unsupported: List[int]
    hits: List[int]
    aspect: List[float]
    model: _BoxModel


class _State(msgspec.Struct):
    queue: _Queue
    next_id: int
    last_frame: Optional[int]
    propagated: bool
    motion: _Motion
    tracks: _Tracks
    frame_now: Optional[int] = None


def _fail(where: str, message: str) -> FormatError:
    return FormatError(f"tracker.{where}: {message}")


def _array(values: list, dtype, shape: Tuple[int, ...], where: str) -> np.ndarray:
    """``values`` as an array of ``shape`` (an empty list fits any shape with a 0 in it)."""
    try:
        a = np.asarray(values, dtype)
    except ValueError:
        raise _fail(where, "rows of different lengths") from None
    if a.size == 0 and 0 in shape:
        return np.zeros(shape, dtype)
    if a.shape != shape:
        raise _fail(where, f"expected shape {shape}, got {a.shape}")
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise _fail(where, "values must be finite")
    return a


def _non_negative(a: np.ndarray, where: str) -> None:
    if a.size and a.min() < 0:
        raise _fail(where, f"values must be 0 or more, got {a.min()}")


def check_state(state: Any, num_keypoints: int) -> None:
    """Raise unless ``state`` is a tracker state a :class:`~posetrack.tracking.tracker.PoseTracker` with
    ``num_keypoints`` joints can continue from.

    Args:
        state: JSON-ready data as :meth:`~posetrack.tracking.tracker.PoseTracker.state_dict` writes it.
        num_keypoints: K of the tracker's keypoint layout.

    Raises:
        FormatError: names the first field that is wrong (``tracker.queue.keypoints: ...``).
    """
    if not isinstance(state, dict):
        raise FormatError(f"tracker: expected an object, got {type(state).__name__}")
    try:
        s = msgspec.convert(state, _State, str_keys=True)
    except msgspec.ValidationError as e:
        text = str(e)
        where = text.rsplit(" - at `$", 1)[1].rstrip("`").lstrip(".") if " - at `$" in text else ""
        reason = text.rsplit(" - at `$", 1)[0]
        if reason.startswith("Object missing required field"):
            field = reason.split("`")[1]
            raise _fail(f"{where}.{field}".lstrip("."), "missing") from None
        raise (_fail(where, reason) if where else FormatError(f"tracker: {reason}")) from None
    q, t = s.queue, s.tracks
    e, k, n = len(q.track_ids), num_keypoints, len(t.ids)
    _array(q.keypoints, np.float32, (e, k, 2), "queue.keypoints")
    _array(q.keypoint_scores, np.float32, (e, k), "queue.keypoint_scores")
    _non_negative(_array(q.areas, np.float64, (e,), "queue.areas"), "queue.areas")
    _array(q.box_scores, np.float32, (e,), "queue.box_scores")
    queued = _array(q.track_ids, np.int64, (e,), "queue.track_ids")
    _non_negative(queued, "queue.track_ids")
    _non_negative(_array(q.frames, np.int64, (e,), "queue.frames"), "queue.frames")
    ids = _array(t.ids, np.int64, (n,), "tracks.ids")
    _non_negative(ids, "tracks.ids")
    if n > 1 and (np.diff(ids) <= 0).any():
        raise _fail("tracks.ids", "must be distinct and ascending")
    for name in ("last_seen", "unsupported", "hits"):
        _non_negative(_array(getattr(t, name), np.int64, (n,), f"tracks.{name}"), f"tracks.{name}")
    _non_negative(_array(t.aspect, np.float64, (n,), "tracks.aspect"), "tracks.aspect")
    _array(t.model.x, np.float64, (n, 6), "tracks.model.x")
    _array(t.model.P, np.float64, (n, 6, 6), "tracks.model.P")
    for tid, f in s.motion.filters.items():
        _array(f.x, np.float64, (8,), f"motion.filters.{tid}.x")
        _array(f.P, np.float64, (8, 8), f"motion.filters.{tid}.P")
    used = [int(a.max()) for a in (queued, ids) if a.size] + [int(i) for i in s.motion.filters]
    if s.next_id < 0 or (used and s.next_id <= max(used)):
        raise _fail("next_id", f"must be above every track id in use ({max(used, default=-1)}), got {s.next_id}")
    for name in ("last_frame", "frame_now"):
        value = getattr(s, name)
        if value is not None and value < 0:
            raise _fail(name, f"must be 0 or more, got {value}")
