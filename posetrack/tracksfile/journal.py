"""The crash journal of a run: every finished frame, and the tracker's state at each frame batch.

A run writing ``tracks.json`` appends to ``tracks.json.journal`` (JSON lines) as it goes:

* line 1, the **head**: ``{"format": "posetrack-journal", "version": 3, "video": {...},
  "layout": "coco", "settings": {...}, "run": {...}, "inputs": {...}}`` — the video, the
  tracks file's settings, every run option that changes the numbers (``run``), and the
  identity of every input file that changes them (``inputs``: setting name ->
  ``{"path": absolute path, "bytes": size, "sha256": hex digest of the contents}``: the
  boxes file, the pose, detector and RAFT weights, the tracker config); a resume must
  match them all, the files by contents, not by how their paths are spelled;
* a **state** line before each frame batch: ``{"state": {"position": p, "frame": i,
  "tracker": {...}}}`` — the tracker's :meth:`~posetrack.tracking.tracker.PoseTracker.state_dict`
  (exact through JSON) before the batch that starts at position ``p`` of the run's frame
  list (frame index ``i``); ``tracker`` is null for an untracked run;
* a **frame** line per finished frame, in the tracks file's ``frames`` entry form but
  with every float at full float32 precision (the tracks file rounds them).

Lines are read strictly (:mod:`msgspec`: NaN and Infinity are not JSON). A line that does
not decode, or a state line whose tracker state fails
:func:`~posetrack.tracking.tracker.check_state`, counts as damaged: it is skipped like a torn line,
so a resume recomputes from the last good state before it and no finished frame is lost
(frames are kept from their own lines).

Version 3 added ``inputs``; a version-2 journal is refused with a clear message (its
inputs cannot be verified, so it cannot be continued exactly).

The journal is only ever appended to (a fresh run writes its head beside and renames it
into place), one line per ``write`` call, so a kill at any moment leaves every earlier
line intact; a torn last line is skipped by :func:`read_journal` and closed off by the
next writer. Lines reach the OS at once (a killed process loses none) and are fsynced to
disk at every batch start and on close (a power cut loses at most one batch).

Example:
    >>> from posetrack.tracksfile.journal import read_journal
    >>> contents = read_journal("tracks.json")          # None: no journal
    >>> sorted(contents.frames)[:3], sorted(contents.states)[:2]
    ([0, 1, 2], [0, 8])
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Union

import msgspec
import numpy as np

from posetrack.io.atomic import append_line, named_os_errors, open_append, write_atomic
from posetrack.errors import ConfigError, FormatError, ResumeError
from posetrack.types import FrameResult, VideoInfo
from posetrack import validation

__all__ = ["JOURNAL_FORMAT", "JOURNAL_VERSION", "journal_path", "journal_head", "JournalContents", "read_journal",
           "Journal", "frame_to_exact_dict"]

log = logging.getLogger(__name__)

PathLike = Union[str, os.PathLike]

JOURNAL_FORMAT = "posetrack-journal"
JOURNAL_VERSION = 3


def journal_path(out: PathLike) -> Path:
    """Where the crash journal of output ``out`` lives (``out + ".journal"``)."""
    return Path(str(out) + ".journal")


def journal_head(video: VideoInfo, layout: str, settings: Dict[str, Any], run: Dict[str, Any],
                 inputs: Optional[Dict[str, Dict[str, Any]]] = None,
                 identity: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The journal's first line: what a resume must agree with (JSON-ready).

    ``inputs`` maps a setting name (``boxes_file``, ``pose_weights``, ...) to the identity
    of the file it names: ``{"path", "bytes", "sha256"}`` (:func:`posetrack.pipeline.runner.input_files`).
    ``identity``: the source's fingerprint (:func:`posetrack.tracksfile.resume.source_identity`), or None.
    """
    return {"format": JOURNAL_FORMAT, "version": JOURNAL_VERSION,
            "video": {"path": video.path, "fps": video.fps, "width": video.width, "height": video.height,
                      "frames": video.frames, "identity": identity},
            "layout": layout, "settings": settings, "run": run, "inputs": inputs or {}}


# ---------------------------------------------------------------- exact frame lines

def _listed(a: np.ndarray) -> list:
    """Nested lists of Python floats (float32 widens to float64 exactly); non-finite values become None."""
    if np.isfinite(a).all():
        return a.tolist()
    return np.where(np.isfinite(a), a.astype(object), None).tolist()


def frame_to_exact_dict(result: FrameResult) -> Dict[str, Any]:
    """One frame in the tracks file's ``frames`` entry form, floats unrounded.

    :func:`posetrack.tracksfile.codec.frame_from_dict` reads it back bit for bit (every value is
    a float32 written as the float64 it widens to, which JSON round-trips exactly).
    """
    p = result.poses
    keypoints = _listed(np.concatenate([p.keypoints, p.keypoint_scores[..., None]], axis=2))
    boxes, scores = _listed(p.boxes), _listed(p.box_scores)
    people = []
    for i in range(len(p)):
        person = {"track_id": None if result.track_ids is None else int(result.track_ids[i]),
                  "bbox": boxes[i], "score": scores[i], "keypoints": keypoints[i]}
        if result.interpolated is not None and result.interpolated[i]:
            person["interpolated"] = True
        people.append(person)
    out: Dict[str, Any] = {"frame": int(result.frame)}
    if result.time is not None:
        out["time"] = float(result.time)
    out["people"] = people
    return out


# ---------------------------------------------------------------- reading

@dataclass(frozen=True)
class JournalContents:
    """What a journal holds.

    Attributes:
        path: the journal file.
        head: its first line (see the module docstring).
        frames: finished frames by frame index, exactly as they were computed.
        states: state records by run position (``{"position", "frame", "tracker"}``).
        skipped: damaged lines skipped: torn, not JSON, or a state line whose tracker
            state is not valid (:func:`~posetrack.tracking.tracker.check_state`).
    """

    path: Path
    head: Dict[str, Any]
    frames: Dict[int, FrameResult]
    states: Dict[int, Dict[str, Any]]
    skipped: int = 0


def _read_head(line: bytes, path: Path) -> Dict[str, Any]:
    try:
        head = validation.loads(line)      # a source path that is not UTF-8 is escaped there
    except msgspec.DecodeError:
        raise ResumeError(f"{path}: the journal's first line is damaged, so it cannot be resumed; "
                          "overwrite the output to start over") from None
    if not isinstance(head, dict):
        raise ResumeError(f"{path}: line 1: not a journal head")
    if head.get("format") == "posetrack-tracks":   # version 1: the tracks header, rounded frames, no states
        raise ResumeError(f"{path}: a journal from an older posetrack (version 1, without the tracker's "
                          "state), so the run cannot be continued exactly; overwrite the output to start over")
    if head.get("format") != JOURNAL_FORMAT:
        raise ResumeError(f"{path}: line 1, format: expected {JOURNAL_FORMAT!r}, got {head.get('format')!r}")
    if head.get("version") == 2:      # no input digests: the inputs cannot be verified
        raise ResumeError(f"{path}: a journal from an older posetrack (version 2, without the digests of its input "
                          "files), so the run cannot be continued exactly; overwrite the output to start over")
    if head.get("version") != JOURNAL_VERSION:
        raise ResumeError(f"{path}: line 1, version: this posetrack reads journal version {JOURNAL_VERSION}, "
                          f"the file has {head.get('version')!r}")
    return head


def _num_keypoints(head: Dict[str, Any], path: Path) -> int:
    from posetrack.keypoints import get_layout

    try:
        return get_layout(str(head.get("layout"))).num_keypoints
    except ConfigError as e:
        raise ResumeError(f"{path}: line 1, layout: {e}") from None


def read_journal(out: PathLike) -> Optional[JournalContents]:
    """The journal of output ``out``: finished frames and tracker states (None: no journal).

    Torn lines (a write cut short by a kill or a full disk) are skipped, and so are lines
    that are not strict JSON (NaN, Infinity) and state lines whose tracker state is not
    valid for the run (each logged with its line number): a resume then restarts from an
    earlier good state, and every finished frame is still kept. A frame written twice
    keeps its first line.

    Raises:
        ResumeError: the head is damaged, of another format or of an older version.
        FormatError: a complete line that breaks the schema (names the line).
    """
    from posetrack.tracksfile.codec import frame_from_dict

    path = journal_path(out)
    with named_os_errors(path):
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
    lines = data.split(b"\n")
    if not lines[0].strip():
        return None
    head = _read_head(lines[0], path)
    k = _num_keypoints(head, path)
    tracked = isinstance(head.get("settings"), dict) and head["settings"].get("tracker") is not None
    frames: Dict[int, FrameResult] = {}
    states: Dict[int, Dict[str, Any]] = {}
    skipped = 0
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        try:
            record = msgspec.json.decode(line)
        except msgspec.DecodeError as e:
            skipped += 1
            if n < len(lines):          # a complete line (a torn one is the last, without its newline)
                log.warning("%s: line %d: not valid JSON (%s); skipped", path, n, e)
            continue
        if isinstance(record, dict) and "state" in record:
            problem = _state_problem(record["state"], k, tracked)
            if problem is not None:
                log.warning("%s: line %d: %s; skipped (the run resumes from an earlier state)", path, n, problem)
                skipped += 1
                continue
            states.setdefault(record["state"]["position"], record["state"])
        else:
            fr = frame_from_dict(record, k, path, where=f"line {n}")
            frames.setdefault(fr.frame, fr)
    if skipped:
        log.info("%s: skipped %d damaged line(s) (a write cut short, or not valid)", path, skipped)
    return JournalContents(path, head, frames, states, skipped)


def _state_problem(state: Any, num_keypoints: int, tracked: bool) -> Optional[str]:
    """Why a state record cannot be used (None: it can)."""
    from posetrack.tracking.state import check_state

    if not isinstance(state, dict):
        return "a state record must be an object"
    position, frame = state.get("position"), state.get("frame")
    if type(position) is not int or position < 0 or type(frame) is not int or frame < 0:
        return "a state record needs 'position' and 'frame', whole numbers of 0 or more"
    if "tracker" not in state:
        return "a state record needs 'tracker'"
    tracker = state["tracker"]
    if not tracked:
        return None if tracker is None else "state.tracker: an untracked run's state must be null"
    if tracker is None:
        return "state.tracker: a tracked run's state must not be null"
    try:
        check_state(tracker, num_keypoints)
    except FormatError as e:
        return f"state.{e}"
    return None


# ---------------------------------------------------------------- writing

class Journal:
    """Appends a run's states and finished frames to its journal; see the module docstring.

    Create with :meth:`create` (a fresh run) or :meth:`reopen` (a resume). Every method
    raises ``OSError`` naming the journal when the disk refuses.
    """

    def __init__(self, path: Path, fd: int):
        self.path = path
        self._fd: Optional[int] = fd

    @classmethod
    def create(cls, out: PathLike, head: Dict[str, Any]) -> "Journal":
        """A new journal holding only ``head``; replaces an old one in one rename."""
        path = journal_path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, [json.dumps(head) + "\n"])
        return cls(path, open_append(path))

    @classmethod
    def reopen(cls, out: PathLike) -> "Journal":
        """Append to the existing journal of ``out`` (a resumed run)."""
        path = journal_path(out)
        return cls(path, open_append(path))

    def _append(self, record: Dict[str, Any]) -> None:
        if self._fd is None:
            raise ValueError(f"{self.path}: the journal is closed")
        append_line(self._fd, json.dumps(record), self.path)

    def state(self, position: int, frame: int, tracker: Optional[Dict[str, Any]]) -> None:
        """Record the tracker's state before the batch starting at run position ``position``; fsyncs."""
        self.sync()
        self._append({"state": {"position": int(position), "frame": int(frame), "tracker": tracker}})

    def frame(self, result: FrameResult) -> None:
        """Record one finished frame at full precision."""
        self._append(frame_to_exact_dict(result))

    def sync(self) -> None:
        """Flush what was appended to the disk."""
        if self._fd is not None:
            with named_os_errors(self.path):
                os.fsync(self._fd)

    def close(self) -> None:
        """Sync and close (safe to call twice)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            with named_os_errors(self.path):
                os.fsync(fd)
        finally:
            os.close(fd)

    def remove(self) -> None:
        """Close and delete the journal (the run's tracks file is complete)."""
        try:
            self.close()
        finally:
            with named_os_errors(self.path):
                self.path.unlink(missing_ok=True)
