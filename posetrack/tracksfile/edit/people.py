"""Every person of a tracks file as flat arrays, the checks the edit operations share, and back to frames.

The operations work on :class:`People` (one row per person, in file order) and never on frames;
:func:`rebuilt` turns the arrays back into frames, keeping every frame that nothing changed as it was.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import List, Tuple

import numpy as np

from posetrack.tracksfile.codec import TrackFile
from posetrack.tracksfile.edit.schema import EditError
from posetrack.types import FrameResult
from posetrack.validation import INT64_MAX

__all__ = ["People", "ranges", "ranges_text", "need", "need_frame", "need_distinct", "need_new", "rebuilt"]


@dataclass(frozen=True)
class People:
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
    def of(cls, tracks: TrackFile) -> "People":
        """The people of ``tracks``, all kept.

        Raises:
            EditError: a frame has people without track ids (an untracked file).
        """
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

    def replace(self, **changes) -> "People":
        return dataclasses.replace(self, **changes)


def ranges(frames: np.ndarray) -> List[Tuple[int, int]]:
    """Sorted unique frame indices as ``[start, end)`` runs: [3, 4, 5, 9] -> [(3, 6), (9, 10)]."""
    frames = np.unique(frames)
    if not len(frames):
        return []
    breaks = np.flatnonzero(np.diff(frames) != 1) + 1
    starts = frames[np.concatenate([[0], breaks])]
    ends = frames[np.concatenate([breaks - 1, [len(frames) - 1]])] + 1
    return [(int(s), int(e)) for s, e in zip(starts, ends)]


def ranges_text(frames: np.ndarray, limit: int = 6) -> str:
    """'frames 12-15, 20, 31-40' (inclusive) or 'frame 20', at most ``limit`` runs then '...'."""
    runs = ranges(frames)
    parts = [str(s) if e == s + 1 else f"{s}-{e - 1}" for s, e in runs[:limit]]
    text = ", ".join(parts) + (f", ... ({len(runs) - limit} more runs)" if len(runs) > limit else "")
    return ("frame " if len(frames) == 1 else "frames ") + text


def _ids_text(ids: np.ndarray, limit: int = 12) -> str:
    shown = ", ".join(str(int(i)) for i in ids[:limit])
    return (shown + f", ... ({len(ids)} in all)") if len(ids) > limit else (shown or "none")


# ---------------------------------------------------------------- checks shared by the operations

def need(people: People, *track_ids: int) -> None:
    """Each of ``track_ids`` has a kept person; EditError (listing the file's ids) otherwise."""
    for tid in track_ids:
        if not people.of_id(tid).any():
            raise EditError(f"id {tid} is not in the file (ids: {_ids_text(people.known())})")


def need_frame(people: People, frame: int, what: str) -> None:
    """``frame`` lies in the video; EditError naming it as ``what`` otherwise."""
    if not 0 <= frame < people.total:
        raise EditError(f"{what} {frame} is out of range: the video has frames 0-{people.total - 1}")


def need_distinct(a: int, b: int) -> None:
    if a == b:
        raise EditError(f"the two ids are the same ({a})")


def need_new(people: People, new: int) -> None:
    """``new`` is a valid track id that no kept person has."""
    if not 0 <= new <= INT64_MAX:
        raise EditError(f"a track id is an integer 0..2^63-1, got {new}")
    if people.of_id(new).any():
        raise EditError(f"id {new} is already in the file (merge joins two tracks)")


# ---------------------------------------------------------------- from flat arrays back to frames

def rebuilt(tracks: TrackFile, people: People) -> Tuple[FrameResult, ...]:
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
