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

Every line is a struct of :mod:`posetrack.tracksfile.schema` (``JournalHead``, ``StateLine``,
``TrackFrame``), written with the standard library's ``json`` (its float spelling, ``1e-07``,
and ASCII escapes, as every journal so far) and read back with msgspec.

Lines are read strictly (:mod:`msgspec`: NaN and Infinity are not JSON). A line that does
not decode, or a state line that breaks the schema or whose tracker state the caller's
``check_tracker`` refuses (the pipeline passes :func:`posetrack.tracking.state.check_state`:
this layer sits below the tracker and treats its state as opaque), counts as damaged: it is
skipped like a torn line, so a resume recomputes from the last good state before it and no
finished frame is lost (frames are kept from their own lines).

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
from typing import Any, Callable, Dict, Optional, Union

import msgspec

from posetrack import validation
from posetrack.errors import ConfigError, FormatError, ResumeError
from posetrack.io.atomic import append_line, named_os_errors, open_append, write_atomic
from posetrack.keypoints import get_layout
from posetrack.tracksfile import schema
from posetrack.tracksfile.codec import frame_from_dict, frame_record
from posetrack.types import FrameResult, VideoInfo

__all__ = ["JOURNAL_FORMAT", "JOURNAL_VERSION", "TrackerCheck", "journal_path", "journal_head", "JournalContents",
           "read_journal", "validate_head", "Journal", "frame_to_exact_dict"]

log = logging.getLogger(__name__)

PathLike = Union[str, os.PathLike]

JOURNAL_FORMAT = schema.JOURNAL_FORMAT
JOURNAL_VERSION = schema.JOURNAL_VERSION

#: ``check_tracker(state, num_keypoints)`` raises :class:`~posetrack.errors.FormatError` for a tracker
#: state that cannot be loaded (:func:`posetrack.tracking.state.check_state`).
TrackerCheck = Callable[[Any, int], None]


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
    record = schema.JournalHead(
        video=schema.JournalVideo(path=video.path, fps=video.fps, width=video.width, height=video.height,
                                  frames=video.frames, identity=identity),
        layout=layout, settings=settings, run=run, inputs=inputs or {})
    return msgspec.to_builtins(record)


def _line(record: Any) -> str:
    """One journal line: a schema struct (or its Python objects) through the standard library's ``json``."""
    return json.dumps(msgspec.to_builtins(record))


# ---------------------------------------------------------------- exact frame lines

def frame_to_exact_dict(result: FrameResult) -> Dict[str, Any]:
    """One frame in the tracks file's ``frames`` entry form, floats unrounded (:func:`~posetrack.tracksfile.codec.frame_record`).

    :func:`posetrack.tracksfile.codec.frame_from_dict` reads it back bit for bit (every value is
    a float32 written as the float64 it widens to, which JSON round-trips exactly).
    """
    return msgspec.to_builtins(frame_record(result, exact=True))


# ---------------------------------------------------------------- reading

@dataclass(frozen=True)
class JournalContents:
    """What a journal holds.

    Attributes:
        path: the journal file.
        head: its first line (see the module docstring), as Python objects.
        frames: finished frames by frame index, exactly as they were computed.
        states: state records by run position (``{"position", "frame", "tracker"}``).
        skipped: damaged lines skipped: torn, not JSON, or a state line that breaks the
            schema or whose tracker state the caller's ``check_tracker`` refused.
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
    if head.get("format") == schema.TRACKS_FORMAT:   # version 1: the tracks header, rounded frames, no states
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


def validate_head(head: Dict[str, Any], path: Path) -> schema.JournalHead:
    """The whole head against the schema (when a run is resumed; reading a journal checks only
    what it needs, so a damaged head never hides an interrupted run's frames).

    Raises:
        ResumeError: naming the journal, line 1 and the field.
    """
    return validation.convert(head, schema.JournalHead, str(path),
                              lambda where, doc: "line 1, " + ".".join(map(str, where)), ResumeError)


def _num_keypoints(head: Dict[str, Any], path: Path) -> int:
    try:
        return get_layout(str(head.get("layout"))).num_keypoints
    except ConfigError as e:
        raise ResumeError(f"{path}: line 1, layout: {e}") from None


@dataclass
class _Reader:
    """Reads a journal's lines after the head into frames and states (see :func:`read_journal`)."""

    path: Path
    num_keypoints: int
    tracked: bool
    check_tracker: Optional[TrackerCheck]
    frames: Dict[int, FrameResult]
    states: Dict[int, Dict[str, Any]]
    skipped: int = 0

    def line(self, n: int, line: bytes, complete: bool) -> None:
        """Line ``n``; ``complete``: it ends with a newline (a torn line is the last one, without)."""
        try:
            record = msgspec.json.decode(line)
        except msgspec.DecodeError as e:
            self.skipped += 1
            if complete:
                log.warning("%s: line %d: not valid JSON (%s); skipped", self.path, n, e)
            return
        if isinstance(record, dict) and "state" in record:
            self.state(n, record["state"])
        else:
            fr = frame_from_dict(record, self.num_keypoints, self.path, where=f"line {n}")
            self.frames.setdefault(fr.frame, fr)

    def state(self, n: int, state: Any) -> None:
        problem = self.problem(state)
        if problem is not None:
            log.warning("%s: line %d: %s; skipped (the run resumes from an earlier state)", self.path, n, problem)
            self.skipped += 1
            return
        self.states.setdefault(state["position"], state)

    def problem(self, state: Any) -> Optional[str]:
        """Why a state record cannot be used (None: it can)."""
        if not isinstance(state, dict):
            return "a state record must be an object"
        try:
            record = msgspec.convert(state, schema.TrackerStateRecord)
        except msgspec.ValidationError:
            return ("a state record needs 'tracker'" if {"position", "frame"} <= set(state) and "tracker" not in state
                    else "a state record needs 'position' and 'frame', whole numbers of 0 or more")
        if not self.tracked:
            return None if record.tracker is None else "state.tracker: an untracked run's state must be null"
        if record.tracker is None:
            return "state.tracker: a tracked run's state must not be null"
        if self.check_tracker is not None:
            try:
                self.check_tracker(record.tracker, self.num_keypoints)
            except FormatError as e:
                return f"state.{e}"
        return None


def read_journal(out: PathLike, check_tracker: Optional[TrackerCheck] = None) -> Optional[JournalContents]:
    """The journal of output ``out``: finished frames and tracker states (None: no journal).

    Torn lines (a write cut short by a kill or a full disk) are skipped, and so are lines
    that are not strict JSON (NaN, Infinity) and state lines that are not valid for the run
    (each logged with its line number): a resume then restarts from an earlier good state,
    and every finished frame is still kept. A frame written twice keeps its first line.

    Args:
        out: the tracks file whose journal is read.
        check_tracker: validates a tracked run's tracker state (``check_tracker(state,
            num_keypoints)`` raises FormatError); None checks only the record around it.

    Raises:
        ResumeError: the head is damaged, of another format or of an older version.
        FormatError: a complete line that breaks the schema (names the line).
    """
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
    tracked = isinstance(head.get("settings"), dict) and head["settings"].get("tracker") is not None
    reader = _Reader(path, _num_keypoints(head, path), tracked, check_tracker, frames={}, states={})
    for n, line in enumerate(lines[1:], start=2):
        if line.strip():
            reader.line(n, line, complete=n < len(lines))
    if reader.skipped:
        log.info("%s: skipped %d damaged line(s) (a write cut short, or not valid)", path, reader.skipped)
    return JournalContents(path, head, reader.frames, reader.states, reader.skipped)


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
        write_atomic(path, [_line(head) + "\n"])
        return cls(path, open_append(path))

    @classmethod
    def reopen(cls, out: PathLike) -> "Journal":
        """Append to the existing journal of ``out`` (a resumed run)."""
        path = journal_path(out)
        return cls(path, open_append(path))

    def _append(self, record: msgspec.Struct) -> None:
        if self._fd is None:
            raise ValueError(f"{self.path}: the journal is closed")
        append_line(self._fd, _line(record), self.path)

    def state(self, position: int, frame: int, tracker: Optional[Dict[str, Any]]) -> None:
        """Record the tracker's state before the batch starting at run position ``position``; fsyncs."""
        self.sync()
        self._append(schema.StateLine(schema.TrackerStateRecord(int(position), int(frame), tracker)))

    def frame(self, result: FrameResult) -> None:
        """Record one finished frame at full precision."""
        self._append(frame_record(result, exact=True))

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
