"""The run journal read with the tracker's own check of its saved states.

:mod:`posetrack.tracksfile` sits below :mod:`posetrack.tracking` in the layers, so the journal
treats a journaled tracker state as opaque; the pipeline, which knows both, hands the tracker's
:func:`~posetrack.tracking.state.check_state` in here. A state it refuses is skipped like a torn
line, and a resume restarts from an earlier good state.

Example:
    >>> from posetrack.pipeline.checked_journal import read_journal
    >>> contents = read_journal("tracks.json")          # None: no journal
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

from posetrack.tracking.state import check_state
from posetrack.tracksfile import journal, resume
from posetrack.types import VideoInfo

__all__ = ["read_journal", "plan_resume"]


def read_journal(out: journal.PathLike) -> Optional[journal.JournalContents]:
    """:func:`posetrack.tracksfile.journal.read_journal` with the tracker's state check."""
    return journal.read_journal(out, check_state)


def plan_resume(out: Path, video: VideoInfo, indices: Sequence[int], frame_batch: int) -> resume.ResumePlan:
    """:func:`posetrack.tracksfile.resume.plan_resume` with the tracker's state check."""
    return resume.plan_resume(out, video, indices, frame_batch, check_state)
