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
  option that changes the numbers; the message lists what differs.

Example:
    >>> from posetrack.resume import check_outputs, plan_resume
    >>> check_outputs(["tracks.json", "annotated.mp4"], resume=False, force=False)
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from .errors import OutputExistsError, PosetrackError, ResumeError
from .journal import journal_path, read_journal
from .structures import FrameResult, VideoInfo

__all__ = ["ResumePlan", "check_outputs", "plan_resume", "check_head"]


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
    :func:`posetrack.guard.refuse_existing`; this adds the interrupted run's journal.

    Raises:
        OutputExistsError: names the first existing file (and its setting) and what to do about it.
    """
    from .guard import refuse_existing

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
    from .tracks_io import read_tracks

    if not out.exists():
        return ResumeError(f"{out}: nothing to resume (no journal {journal_path(out)} and no partial output)")
    if read_tracks(out).complete:
        return ResumeError(f"{out}: the run already finished; nothing to resume")
    return ResumeError(f"{out}: a partial output without its journal {journal_path(out)}, so the run cannot be "
                       "continued exactly; overwrite it with force")


def plan_resume(out: Path, video: VideoInfo, indices: Sequence[int], frame_batch: int) -> ResumePlan:
    """The finished frames and the restart point of an interrupted run of output ``out``.

    Args:
        out: the tracks file.
        video: the source as opened now.
        indices: the run's frame list (start, end and stride applied).
        frame_batch: frames per batch (the journal's states sit at its multiples).

    Raises:
        ResumeError: no journal, an old or damaged one, or one made from another video.
    """
    out = Path(out)
    contents = read_journal(out)
    if contents is None:
        raise _no_journal(out)
    v = contents.head["video"]
    if (v["width"], v["height"], v["frames"]) != (video.width, video.height, video.frames):
        raise ResumeError(f"{contents.path}: it was made from a different video ({v['width']}x{v['height']}, "
                          f"{v['frames']} frames; this one is {video.width}x{video.height}, {video.frames} frames)")
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


def check_head(plan: ResumePlan, head: Dict[str, Any]) -> None:
    """The resumed run (journal ``head``) must agree with the interrupted one on everything that changes the numbers.

    Raises:
        ResumeError: naming every setting and run option that differs.
    """
    old, new = plan.head or {}, _normal(head)
    diffs: List[str] = []
    if old.get("layout") != new["layout"]:
        diffs.append(f"keypoint layout {old.get('layout')!r} -> {new['layout']!r}")
    for section in ("settings", "run"):
        a, b = old.get(section) or {}, new[section]
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                diffs.append(f"{key} {a.get(key)!r} -> {b.get(key)!r}")
    if diffs:
        raise ResumeError(f"{plan.journal}: the interrupted run used other settings ({'; '.join(diffs)}); "
                          "resume with the same settings, or overwrite the output with force")
