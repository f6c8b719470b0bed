"""Which finished work a run keeps: the no-overwrite rule, and where a resumed run restarts.

* :func:`check_outputs`: an existing output is never overwritten unless the call resumes
  it or forces it (:class:`~posetrack.errors.OutputExistsError` names the file).
* :func:`plan_resume`: from an interrupted run's journal, the finished frames to keep,
  and the frame batch to restart at with the tracker's state at its start. A run's frame
  batches sit at fixed positions of its frame list (0, B, 2B, ...), and the pose network's
  output depends on which crops share a forward pass, so the restarted batch is recomputed
  whole — its finished frames only to reproduce the batch, never written twice — and every
  frame after it comes out exactly as in the uninterrupted run.
* :func:`check_head`: the resumed run must use the same video, model, tracker and every
  option that changes the numbers (the versioned :class:`~posetrack.pipeline.options.ResumeIdentity`
  the journal head records under ``run``); the message lists what differs. Input files (boxes,
  weights, tracker config; :func:`file_identity`) are compared by contents (SHA-256), not
  by path, as the video is compared by what it holds: the same file spelled another way
  (relative, absolute, moved) is accepted, a file whose bytes changed is refused, naming it.

Example:
    >>> from posetrack.tracksfile.resume import check_outputs, plan_resume
    >>> check_outputs(["tracks.json", "annotated.mp4"], resume=False, force=False)
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from posetrack.errors import OutputExistsError, PosetrackError, ResumeError
from posetrack.tracksfile.journal import TrackerCheck, validate_head, journal_path, read_journal
from posetrack.types import FrameResult, VideoInfo

__all__ = ["ResumePlan", "check_outputs", "plan_resume", "check_head", "file_identity", "source_identity",
           "BY_CONTENTS"]

# Settings that name an input file: a resume compares the journal head's ``inputs`` (the files'
# contents) instead of these spellings of their paths. The run options (``run``, the resume
# identity) name no file.
BY_CONTENTS = {"run": (), "settings": ("pose_weights", "detector")}


@functools.lru_cache(maxsize=64)
def _digest(path: str, size: int, mtime_ns: int, inode: int) -> str:
    from posetrack.io.download import file_sha256

    return file_sha256(path)


def file_identity(path: os.PathLike) -> Dict[str, Any]:
    """What identifies an input file's contents: ``{"path": absolute, "bytes": size, "sha256": hex}``.

    The SHA-256 of the whole file is computed once per process for a file of the same
    path, size, modification time and inode (a pose weights file of 250 MB takes about a
    second), so many videos run with the same weights hash them once. A folder (another
    tool's per-frame files given as boxes, e.g. OpenPose's) is identified by its files: their
    total size and the SHA-256 of each file's name and SHA-256.

    Raises:
        OSError: the file cannot be read (``filename`` names it).
    """
    p = Path(path).expanduser().resolve()
    if p.is_dir():
        files = [file_identity(f) for f in sorted(p.iterdir()) if f.is_file()]
        listing = "\n".join(f"{Path(f['path']).name}\t{f['sha256']}" for f in files)
        return {"path": str(p), "bytes": sum(f["bytes"] for f in files),
                "sha256": hashlib.sha256(listing.encode("utf-8", "surrogateescape")).hexdigest()}
    st = p.stat()
    return {"path": str(p), "bytes": st.st_size, "sha256": _digest(str(p), st.st_size, st.st_mtime_ns, st.st_ino)}


_SAMPLE = 1 << 20      # bytes read from each end of a video for its fingerprint


def source_identity(path: os.PathLike) -> Optional[Dict[str, Any]]:
    """A cheap fingerprint of a video file or image folder, for a resume to recognise its source.

    A video: its size and the SHA-256 of its first and last MiB (hashing a whole match video
    would cost seconds per run; an edit, a re-encode or another file changes these). An image
    folder: the number of files, their total size and the SHA-256 of their names and sizes.
    None for anything else (cameras and streams are never resumed).
    """
    import hashlib

    p = Path(path).expanduser()
    try:
        if p.is_file():
            size = p.stat().st_size
            h = hashlib.sha256()
            with open(p, "rb") as f:
                h.update(f.read(_SAMPLE))
                if size > 2 * _SAMPLE:
                    f.seek(size - _SAMPLE)
                    h.update(f.read(_SAMPLE))
            return {"bytes": size, "sample_sha256": h.hexdigest()}
        if p.is_dir():
            entries = sorted((e.name, e.stat().st_size) for e in os.scandir(p) if e.is_file())
            h = hashlib.sha256("\n".join(f"{n}\t{s}" for n, s in entries).encode("utf-8", "surrogateescape"))
            return {"files": len(entries), "bytes": sum(s for _, s in entries), "sample_sha256": h.hexdigest()}
    except OSError:
        return None
    return None


@dataclass(frozen=True)
class ResumePlan:
    """Where a run starts.

    Attributes:
        done: finished frames kept from the journal, by frame index.
        restart: position in the run's frame list where computing starts: a batch start,
            or the number of frames when every frame is done.
        tracker: the tracker's state at ``restart`` (None: a fresh tracker).
        states: the journal's state records, by position.
        journal: the journal continued, and its head (None for a fresh run).
    """

    done: Dict[int, FrameResult] = field(default_factory=dict)
    restart: int = 0
    tracker: Optional[Dict[str, Any]] = None
    states: Dict[int, Dict[str, Any]] = field(default_factory=dict)
    journal: Optional[Path] = None
    head: Optional[Dict[str, Any]] = None


def _journal_holds_frames(out: Path) -> bool:
    try:
        contents = read_journal(out)
    except PosetrackError:
        return True        # unreadable, but someone's data all the same
    return contents is not None and bool(contents.frames)


def check_outputs(paths: Union[Sequence[Optional[Path]], Mapping[str, Optional[Path]]], *, resume: bool,
                  force: bool) -> None:
    """Refuse to overwrite: raise if an output (or the tracks file's journal) exists.

    ``paths`` lists the outputs, the tracks file first, or maps each output's setting
    (``tracks``, ``render``, ...) to its path, the tracks file first. A journal holding no
    finished frame does not count. Nothing is checked when ``resume`` (outputs are
    continued) or ``force`` (overwritten). The rule for every output is
    :func:`posetrack.io.guard.refuse_existing`; this adds the interrupted run's journal.

    Raises:
        OutputExistsError: names the first existing file (and its setting) and what to do about it.
    """
    from posetrack.io.guard import refuse_existing

    if resume or force:
        return
    named = dict(paths) if isinstance(paths, Mapping) else {f"output {i}": p for i, p in enumerate(paths)}
    tracks = Path(next(iter(named.values())))
    if _journal_holds_frames(tracks):
        raise OutputExistsError(f"{tracks}: an interrupted run's output (its journal {journal_path(tracks)} holds "
                                "finished frames); resume it, or overwrite it with force", tracks, resumable=True,
                                field=next(iter(named)) if isinstance(paths, Mapping) else None)
    try:
        refuse_existing(named, force=False)
    except OutputExistsError as e:
        if not isinstance(paths, Mapping):
            e.field = None
        raise


def _no_journal(out: Path) -> ResumeError:
    from posetrack.tracksfile.codec import read_tracks

    if not out.exists():
        return ResumeError(f"{out}: nothing to resume (no journal {journal_path(out)} and no partial output)")
    if read_tracks(out).complete:
        return ResumeError(f"{out}: the run already finished; nothing to resume")
    return ResumeError(f"{out}: a partial output without its journal {journal_path(out)}, so the run cannot be "
                       "continued exactly; overwrite it with force")


def plan_resume(out: Path, video: VideoInfo, indices: Sequence[int], frame_batch: int,
                check_tracker: Optional[TrackerCheck] = None) -> ResumePlan:
    """The finished frames and the restart point of an interrupted run of output ``out``.

    Args:
        out: the tracks file.
        video: the source as opened now.
        indices: the run's frame list (start, end and stride applied).
        frame_batch: frames per batch (the journal's states sit at its multiples).
        check_tracker: validates the journaled tracker states (:func:`~posetrack.tracksfile.journal.read_journal`);
            a refused one is skipped and the run restarts from an earlier state.

    Raises:
        ResumeError: no journal, an old or damaged one, or one made from another video.
    """
    out = Path(out)
    contents = read_journal(out, check_tracker)
    if contents is None:
        raise _no_journal(out)
    validate_head(contents.head, contents.path)
    v = contents.head["video"]
    if (v["width"], v["height"], v["frames"]) != (video.width, video.height, video.frames):
        raise ResumeError(f"{contents.path}: it was made from a different video ({v['width']}x{v['height']}, "
                          f"{v['frames']} frames; this one is {video.width}x{video.height}, {video.frames} frames)")
    old_fps = v.get("fps")
    if old_fps is not None and video.fps is not None and abs(old_fps - video.fps) > 1e-6 * max(abs(video.fps), 1.0):
        raise ResumeError(f"{video.path}: not the video the interrupted run was made from ({old_fps} fps then, "
                          f"{video.fps} fps now); the journal {contents.path} cannot be continued with it")
    then, now = v.get("identity"), source_identity(video.path)
    if then is not None and now is not None and then != now:
        raise ResumeError(f"{video.path}: changed since the interrupted run (its size or contents differ); "
                          f"the journal {contents.path} cannot be continued with it: resume with the same video, "
                          "or overwrite the output with force")
    position = {idx: p for p, idx in enumerate(indices)}
    stray = [f for f in contents.frames if f not in position]
    if stray:
        raise ResumeError(f"{contents.path}: frame {stray[0]} is not among this run's frames; resume with the "
                          "same start, end and stride")
    first_todo = next((p for p, idx in enumerate(indices) if idx not in contents.frames), len(indices))
    if first_todo == len(indices):
        return ResumePlan(dict(contents.frames), len(indices), None, contents.states, contents.path, contents.head)
    usable = [p for p, s in contents.states.items()
              if p <= first_todo and p % frame_batch == 0 and s.get("frame") == indices[p]]
    restart = max(usable, default=0)     # no state at all: recompute from the start (still exact)
    state = contents.states[restart]["tracker"] if usable else None
    return ResumePlan(dict(contents.frames), restart, state, contents.states, contents.path, contents.head)


def _normal(x: Any) -> Any:
    """JSON-normalised (tuples become lists, keys strings), as the journal holds it."""
    return json.loads(json.dumps(x))


def _changed_input(old: Dict[str, Any], new: Dict[str, Any]) -> Optional[str]:
    """The first input file that differs between two heads' ``inputs``, in words (None: none)."""
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if b is None:
            return f"the interrupted run used a {key} file ({a.get('path')}), this one uses none"
        if a is None:
            return f"this run uses a {key} file ({b.get('path')}), the interrupted one used none"
        if (a.get("sha256"), a.get("bytes")) != (b.get("sha256"), b.get("bytes")):
            return (f"{b.get('path')}: changed since the interrupted run ({key}: SHA-256 "
                    f"{str(a.get('sha256'))[:12]}..., {a.get('bytes')} bytes, then; {str(b.get('sha256'))[:12]}..., "
                    f"{b.get('bytes')} bytes, now)")
    return None


def _check_identity_version(plan: ResumePlan, old: Dict[str, Any], new: Dict[str, Any]) -> None:
    """The run options (``run``: :class:`~posetrack.pipeline.options.ResumeIdentity`) must be recorded alike.

    A journal of a posetrack before the versioned identity recorded every option instead,
    without a ``version``; their fields cannot be compared one to one.
    """
    if old.get("version") == new.get("version"):
        return
    then = "no version" if old.get("version") is None else f"version {old.get('version')!r}"
    raise ResumeError(f"{plan.journal}: a journal from another posetrack (its run options are recorded with {then}, "
                      f"this one records version {new.get('version')!r}), so the run cannot be continued exactly; "
                      "overwrite the output to start over")


def check_head(plan: ResumePlan, head: Dict[str, Any]) -> None:
    """The resumed run (journal ``head``) must agree with the interrupted one on everything that changes the numbers.

    Input files (``head["inputs"]``) are compared first, by contents: the first one that
    changed is named alone. Then every setting and run option, except those naming an
    input file (:data:`BY_CONTENTS`), whose paths may be spelled differently.

    Raises:
        ResumeError: naming the input file that changed, or every setting and run option that differs.
    """
    old, new = plan.head or {}, _normal(head)
    changed = _changed_input(old.get("inputs") or {}, new.get("inputs") or {})
    if changed is not None:
        raise ResumeError(f"{changed}; the journal {plan.journal} cannot be continued with other input files: resume "
                          "with the same files, or overwrite the output with force")
    _check_identity_version(plan, old.get("run") or {}, new["run"])
    diffs: List[str] = []
    if old.get("layout") != new["layout"]:
        diffs.append(f"keypoint layout {old.get('layout')!r} -> {new['layout']!r}")
    for section in ("settings", "run"):
        a, b = old.get(section) or {}, new[section]
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key) and key not in BY_CONTENTS[section]:
                diffs.append(f"{key} {a.get(key)!r} -> {b.get(key)!r}")
    if diffs:
        raise ResumeError(f"{plan.journal}: the interrupted run used other settings ({'; '.join(diffs)}); "
                          "resume with the same settings, or overwrite the output with force")
