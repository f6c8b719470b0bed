"""One review of one tracks file: what the page shows, what it may change, and saving it.

The page keeps the list of edits made so far (undo and redo move along it) and sends the
whole list; :meth:`ReviewSession.view` answers with every person's id after those edits, the
timeline lanes and the hints, computed by :mod:`posetrack.tracksfile.edit` itself, so the page
shows exactly what :meth:`ReviewSession.save` writes: ``edit.apply`` of the same list to the
file as it was loaded, the same bytes ``posetrack edit`` writes.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import msgspec
import numpy as np

from posetrack import validation
from posetrack.errors import InputError
from posetrack.rendering.draw import DrawStyle, track_color
from posetrack.review.hints import find_hints
from posetrack.tracksfile import edit
from posetrack.tracksfile.codec import TrackFile, read_tracks, write_tracks
from posetrack.types import VideoInfo

__all__ = ["ReviewSession", "SaveConflictError", "parse_operations", "read_cuts"]

log = logging.getLogger(__name__)


class SaveConflictError(InputError):
    """The file to save was changed by another program since the review read (or last wrote) it."""


def read_cuts(path: Path, tracks: TrackFile) -> List[int]:
    """Scene-cut frames of a tracks file: its frames marked ``"cut": true`` and the list in
    ``settings.cuts``; [] when none.

    Issue 16's tracker marks the frames where a hard cut ends every track (``posetrack track``
    also lists them in ``settings.cuts``); older files have neither. ``settings`` is the one
    free-form part of the file: a top-level ``cuts`` is an unknown key, which the tracks-file
    reader refuses (issue 17). A malformed list is ignored with a warning naming ``path`` (it
    only marks the timeline).
    """
    marked = {f.frame for f in tracks.frames if f.cut}
    try:
        listed = msgspec.convert(tracks.header.settings.get("cuts") or [], List[validation.NonNegInt64])
    except msgspec.ValidationError as e:
        log.warning("%s: cuts: %s (not shown)", path, e)
        listed = []
    return sorted(marked.union(listed))


def parse_operations(items: Any) -> List[edit.Operation]:
    """The page's edits (records as in ``settings.edits``: ``{"verb": "swap", "a": 3, "b": 5, "from": 120}``)."""
    return validation.convert(items, List[edit.Operation], "edits", validation.path_labeler(), edit.EditError)


def _fingerprint(path: Path) -> Optional[Tuple[int, int]]:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_size, st.st_mtime_ns


def _color(track_id: int) -> str:
    return "#%02x%02x%02x" % track_color(track_id)


@dataclass(frozen=True)
class _Flat:
    """The loaded file's people in file order: (P,) frame position and interpolated flag; (F,) people per frame."""

    position: np.ndarray
    interpolated: np.ndarray
    counts: np.ndarray

    @classmethod
    def of(cls, tracks: TrackFile) -> "_Flat":
        counts = np.asarray([len(f) for f in tracks.frames], dtype=np.int64)
        position = np.repeat(np.arange(len(tracks.frames)), counts)
        interp = [f.interpolated if f.interpolated is not None else np.zeros(len(f), bool) for f in tracks.frames]
        interpolated = np.concatenate([np.zeros(0, bool)] + interp)
        return cls(position, interpolated, counts)


class ReviewSession:
    """A tracks file under review, and where it is saved.

    Args:
        tracks_path: the tracks file (read once, now).
        out: where Save writes; None: ``tracks_path`` itself (atomically, beside it then renamed).
        video: the video's information, to compare with the file's (differences are shown).

    Raises:
        TracksFormatError: the file breaks the schema. EditError: it has no track ids.
    """

    def __init__(self, tracks_path: Path, out: Optional[Path] = None, video: Optional[VideoInfo] = None):
        self.tracks_path = Path(tracks_path)
        self.out = Path(out) if out is not None else None
        self._expected = {self.target: _fingerprint(self.tracks_path)} if out is None else {}
        self.tracks = read_tracks(self.tracks_path)
        edit.track_ids(self.tracks)                     # refuses a file without track ids, now
        self.cuts = read_cuts(self.tracks_path, self.tracks)
        self.flat = _Flat.of(self.tracks)
        self.video = video
        self._saved: List[Tuple[edit.Operation, str]] = []
        self.latest: List[edit.Operation] = []          # the edits the page showed last

    @property
    def target(self) -> Path:
        return self.out if self.out is not None else self.tracks_path

    # ------------------------------------------------------------ what the page reads

    def meta(self) -> Dict[str, Any]:
        """The file's header for the page: video, layout, frames, people per frame, cuts, warnings."""
        from posetrack.rendering.render import check_tracks_match

        h = self.tracks.header
        return {
            "tracks": self.tracks_path.name, "target": str(self.target),
            "video": {"name": Path(h.video.path).name, "fps": h.video.fps, "width": h.video.width,
                      "height": h.video.height, "frames": h.video.frames},
            "keypoints": list(h.layout.names), "skeleton": [list(p) for p in h.layout.skeleton],
            "min_score": DrawStyle().min_score,
            "frames": [f.frame for f in self.tracks.frames], "counts": self.flat.counts.tolist(),
            "times": [f.time for f in self.tracks.frames], "cuts": self.cuts,
            "recorded": len(h.settings.get(edit.EDITS_KEY, []) or []),
            "warnings": check_tracks_match(self.video, self.tracks) if self.video is not None else [],
        }

    def people(self, start: int, end: int) -> List[List[Dict[str, Any]]]:
        """People of the frames at positions ``start:end`` of the file: box, keypoints (x, y, score flat)."""
        out = []
        for fr in self.tracks.frames[max(0, start):max(0, end)]:
            p = fr.poses
            kps = np.round(p.as_array().reshape(len(p), -1).astype(np.float64), 2)
            boxes = np.round(p.boxes.astype(np.float64), 2)
            out.append([{"b": boxes[i].tolist(), "k": kps[i].tolist()} for i in range(len(p))])
        return out

    def view(self, ops: Sequence[edit.Operation]) -> Dict[str, Any]:
        """Every person's id after ``ops`` (null: deleted), the lanes of the timeline and the hints.

        Raises:
            EditError: an edit cannot be applied (the page shows the message and drops the edit).
        """
        pv = edit.preview(self.tracks, ops)
        self.latest = list(pv.operations)
        edited = edit.apply(self.tracks, ops, time="") if ops else self.tracks
        ids = [int(i) if k else None for i, k in zip(pv.ids.tolist(), pv.keep.tolist())]
        return {"ids": ids, "lanes": self._lanes(pv), "hints": [_hint(h) for h in find_hints(edited)],
                "edits": [msgspec.to_builtins(op) for op in pv.operations],
                "described": [edit.describe(op) for op in pv.operations]}

    def _lanes(self, pv: edit.Preview) -> List[Dict[str, Any]]:
        """One lane per id: runs ``[first frame, last frame, interpolated]`` over consecutive file frames."""
        keep = pv.keep
        ids, pos, interp = pv.ids[keep], self.flat.position[keep], self.flat.interpolated[keep]
        order = np.lexsort((pos, ids))
        ids, pos, interp = ids[order], pos[order], interp[order]
        frames = np.asarray([f.frame for f in self.tracks.frames], dtype=np.int64)
        lanes = []
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if len(ids) else np.zeros(0, np.int64)
        for s, e in zip(starts, np.r_[starts[1:], len(ids)]):
            p, f = pos[s:e], interp[s:e]
            cut = np.flatnonzero((np.diff(p) != 1) | (f[1:] != f[:-1])) + 1
            bounds = np.r_[0, cut, len(p)]
            runs = [[int(frames[p[a]]), int(frames[p[b - 1]]), bool(f[a])] for a, b in zip(bounds[:-1], bounds[1:])]
            tid = int(ids[s])
            lanes.append({"id": tid, "color": _color(tid), "runs": runs, "poses": int(e - s)})
        return sorted(lanes, key=lambda lane: (lane["runs"][0][0], lane["id"]))

    # ------------------------------------------------------------ saving

    def unsaved(self) -> List[edit.Operation]:
        """The edits the page shows that are not saved (all of its edits), or [] when it is saved."""
        saved = [op for op, _ in self._saved]
        resolved = list(edit.preview(self.tracks, saved).operations) if saved else []
        return [] if resolved == self.latest else self.latest

    def save(self, ops: Sequence[edit.Operation]) -> Dict[str, Any]:
        """Write the loaded file with ``ops`` applied to :attr:`target`, atomically (as ``posetrack edit``).

        Edits saved before keep the time they were first saved with, so saving twice writes the same
        records. Raises SaveConflictError when another program changed the target since the review
        read or wrote it; EditError when an edit cannot be applied.
        """
        target = self.target
        if target in self._expected and _fingerprint(target) != self._expected[target]:
            raise SaveConflictError(f"{target}: changed on disk since the review read it (another program wrote "
                                    "it); not saved, so those changes are kept: restart the review to edit them")
        now, same = edit.edit_time(), 0
        while same < min(len(ops), len(self._saved)) and self._saved[same][0] == ops[same]:
            same += 1
        timed = self._saved[:same] + [(op, now) for op in ops[same:]]
        result = edit.apply_timed(self.tracks, timed) if timed else self.tracks
        write_tracks(target, result)
        self._expected[target] = _fingerprint(target)
        self._saved = timed
        return {"saved": str(target), "edits": len(timed)}


def _hint(h) -> Dict[str, Any]:
    return {"kind": h.kind, "frame": h.frame, "ids": list(h.ids), "text": h.text,
            "suggestion": None if h.suggestion is None else msgspec.to_builtins(h.suggestion),
            "described": None if h.suggestion is None else edit.describe(h.suggestion)}
