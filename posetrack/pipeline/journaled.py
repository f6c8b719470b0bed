"""One journaled run of a video after its checks: the frame loop, the journal, the render, the final file.

:class:`JournaledRun` feeds the source's frame batches through the
:class:`~posetrack.pipeline.frames.Pipeline`, journals every finished frame and the
tracker's state at every batch start (:mod:`posetrack.tracksfile.journal`) on a writer
thread, draws the render as frames come, and writes the tracks file once at the end. On
any exception, Ctrl-C included, it writes a partial tracks file and keeps the journal; a
resumed run (:func:`posetrack.tracksfile.resume.plan_resume`) recomputes only the batch
the interruption cut, checking that its finished frames come out the same.

Used by :func:`posetrack.pipeline.runner.run_video`, which opens the source, checks the
outputs and builds the pipeline first.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import time
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Tuple

from posetrack.errors import SourceError
from posetrack.io.atomic import named_os_errors
from posetrack.io.background import OrderedWorker
from posetrack.io.video import open_source
from posetrack.pipeline.frames import Pipeline
from posetrack.pipeline.options import RunOptions
from posetrack.pipeline.outputs import Outputs
from posetrack.pipeline.retrack import describe_people, refine_file, refine_wants_appearance
from posetrack.rendering.draw import DrawStyle
from posetrack.rendering.render import Renderer
from posetrack.tracksfile.codec import TrackFile, TracksHeader, write_tracks
from posetrack.tracksfile.journal import Journal, frame_to_exact_dict
from posetrack.tracksfile.resume import ResumePlan
from posetrack.types import Frame, FrameResult, VideoInfo

__all__ = ["JournaledRun", "Progress"]

log = logging.getLogger(__name__)

Progress = Callable[[int, int, float, int], None]   # (frames done, frames total, fps, people in last frame)


class JournaledRun:
    """One call of :func:`~posetrack.pipeline.runner.run_video` after the checks: journal, pipeline, render, final file.

    Args:
        source: the video, folder, camera or stream (reopened from a batch start on a resume).
        outputs: where the tracks file and the render go.
        opts: the run's choices (frame range, frame batch, threads, refinement).
        indices: the run's frame list, or None for a live source (read once, from ``live``).
        plan: the finished work to keep (an empty plan for a fresh run).
        pipeline: the per-video parts (tracker, flow, estimator).
        header: the tracks file's header.
        progress: ``progress(frames done, frames total, fps, people)`` after every frame.
        live: the opened source of a camera or stream.
    """

    def __init__(self, source, outputs: Outputs, opts: RunOptions, indices: Optional[List[int]], plan: ResumePlan,
                 pipeline: Pipeline, header: TracksHeader, progress: Optional[Progress], live=None):
        self.source, self.outputs, self.opts, self.indices = source, outputs, opts, indices
        self.plan, self.pipeline, self.header, self.progress = plan, pipeline, header, progress
        self.live = live           # the opened FrameSource of a camera or stream (indices is None then)
        self.results: Dict[int, FrameResult] = dict(plan.done)
        self.mismatches: List[int] = []
        self.truncated_at: Optional[int] = None

    def execute(self, fresh_head: Optional[Dict]) -> Tuple[TrackFile, List[str]]:
        """Run to the end; returns the tracks written and notes. Fresh runs pass the journal head."""
        out = self.outputs.tracks
        journal = Journal.create(out, fresh_head) if fresh_head is not None else Journal.reopen(out)
        writer = OrderedWorker("posetrack-writer", threaded=self.opts.runtime.overlap)
        renderer = None
        try:
            renderer = _renderer(self.outputs, self.header.video, self.header.layout, self.opts.frames.stride)
            self._loop(journal, writer, renderer)
            writer.close()
        except BaseException:
            writer.close(raise_error=False)
            _close_quietly(renderer)
            self._keep_partial(journal)
            raise
        try:
            if renderer is not None:
                with named_os_errors(self.outputs.render):
                    renderer.close()
        except BaseException:
            self._keep_partial(journal)
            raise
        if self.truncated_at is not None and not self.results:
            self._nothing_decoded(journal)
        return self._finish(journal)

    def _nothing_decoded(self, journal) -> None:
        """A source cut off before its first wanted frame: no output is left, and the run fails.

        Raises:
            SourceError: always, naming the source and the frame where decoding failed.
        """
        journal.remove()
        if self.outputs.render is not None:
            with contextlib.suppress(FileNotFoundError):
                self.outputs.render.unlink()       # a video without frames
        raise SourceError(f"{self.source}: no frame could be decoded (decoding failed at frame {self.truncated_at}); "
                          "nothing was written", field="source")

    def _loop(self, journal, writer, renderer) -> None:
        plan, pipeline = self.plan, self.pipeline
        total = None if self.indices is None else len(self.indices)
        if total is not None and plan.restart >= total and renderer is None:
            return                       # every frame is done: only the file is left to write
        pipeline.load_tracker_state(plan.tracker)
        done_before, count, t0 = len(plan.done), 0, time.perf_counter()

        def on_batch(position: int, frame: int, state) -> None:
            if position in plan.states:
                self._compare_state(plan.states[position], state, position)
            else:
                writer.submit(journal.state, position, frame, state)

        decode_from = 0 if renderer is not None else max(plan.restart - 1, 0)
        src = self._open_from(decode_from)
        try:
            batches = self._batches(src, decode_from, writer, renderer)
            for frame, result in pipeline.run(batches, position=plan.restart, on_batch=on_batch):
                if result.frame in plan.done:
                    self._compare_frame(plan.done[result.frame], result)
                    result = plan.done[result.frame]
                else:
                    writer.submit(self._journal_frame, journal, result)
                    count += 1
                if renderer is not None:
                    writer.submit(_render, renderer, frame, result, self.outputs.render)
                if self.progress is not None:
                    done = done_before + count
                    self.progress(done if total is None else min(done, total), total,
                                  count / max(time.perf_counter() - t0, 1e-9), len(result))
            self.truncated_at = src.truncated_at
        finally:
            src.close()

    def _journal_frame(self, journal, result: FrameResult) -> None:
        """On the writer thread: journal a finished frame; only journaled frames reach the tracks file."""
        journal.frame(result)
        self.results[result.frame] = result

    def _open_from(self, position: int):
        """The source again, decoding the run's frame list from ``position`` on."""
        if self.live is not None:          # read once: never reopened
            return self.live
        frames = self.opts.frames
        src = open_source(self.source, start=self.indices[position], end=frames.end, stride=frames.stride,
                          batch_size=self.opts.runtime.frame_batch)
        if src.indices != self.indices[position:]:
            src.close()
            raise RuntimeError(f"reopening at frame {self.indices[position]} gave frames {src.indices[:3]}..., "
                               f"expected {self.indices[position:position + 3]}...")
        return src

    def _batches(self, src, position: int, writer, renderer) -> Iterator[List[Frame]]:
        """Batches of the frames to compute, aligned to the run's batch positions.

        Frames before the restart are only rendered (from the journal), the one just
        before it seeds the first flow field.
        """
        restart, batch_size = self.plan.restart, self.opts.runtime.frame_batch
        batch: List[Frame] = []
        try:
            for frame in src:
                if position < restart:
                    if position == restart - 1:
                        self.pipeline.seed_image(frame.image)
                    if renderer is not None:
                        writer.submit(_render, renderer, frame, self.plan.done.get(frame.index), self.outputs.render)
                else:
                    batch.append(frame)
                    if len(batch) == batch_size:
                        yield batch
                        batch = []
                position += 1
        except Exception:
            if batch:       # the source failed part-way (a damaged image): finish the frames before it
                yield batch
            raise
        if batch:
            yield batch

    def _compare_frame(self, journaled: FrameResult, again: FrameResult) -> None:
        """A finished frame recomputed to rebuild its batch should come out the same (it is not rewritten)."""
        if frame_to_exact_dict(journaled) != frame_to_exact_dict(again):
            self.mismatches.append(journaled.frame)
            log.warning("%s: frame %d came out differently when its batch was recomputed (a non-deterministic "
                        "device?); the journaled result is kept", self.outputs.tracks, journaled.frame)

    def _compare_state(self, journaled: Dict, state, position: int) -> None:
        if json.dumps(journaled.get("tracker"), sort_keys=True) != json.dumps(state, sort_keys=True):
            log.warning("%s: the tracker's state at position %d differs from the journaled one",
                        self.outputs.tracks, position)

    def _tracks(self, complete: bool) -> TrackFile:
        header = self.header
        if self.truncated_at is not None:
            header = dataclasses.replace(header, video=dataclasses.replace(header.video, frames=self.truncated_at))
        elif header.video.frames is None:   # a live source: the frames read are its length
            seen = 1 + max(self.results, default=-1)
            header = dataclasses.replace(header, video=dataclasses.replace(header.video, frames=seen))
        frames = tuple(self.results[k] for k in sorted(self.results))
        return TrackFile(header=header, frames=frames, complete=complete)

    def _appearance(self, tracks: TrackFile, config) -> Optional[list]:
        """Every frame's colour descriptors for refinement's re-identification, from the source decoded
        once more (so frames finished before a resume have them too); None for a live source (read
        once), when refinement does not use colours, or when the source cannot be read again."""
        if self.live is not None or not refine_wants_appearance(config) or not tracks.frames:
            return None
        try:
            with self._open_from(0) as src:
                return describe_people(tracks, src, config.joint_score)
        except Exception as e:             # the run's work is done: never lose it to the second reading
            log.warning("%s: could not read the frames again for re-identification (%s); refining without "
                        "colours (people who leave and come back keep new ids)", self.source, e)
            return None

    def _keep_partial(self, journal) -> None:
        """After an error: a partial tracks file with every finished frame, the journal kept for a resume."""
        try:
            if not self.results:            # nothing finished: leave nothing behind
                journal.remove()
                return
            journal.close()
            write_tracks(self.outputs.tracks, self._tracks(complete=False))
        except Exception as e:      # the first error is the one to report
            log.warning("%s: could not write the partial output (%s); the journal %s keeps the finished frames",
                        self.outputs.tracks, e, journal.path)

    def _finish(self, journal) -> Tuple[TrackFile, List[str]]:
        complete = self.truncated_at is None
        tracks = self._tracks(complete)
        tracker = self.pipeline.tracker
        if complete and self.opts.tracking.refine and tracker is not None:   # before the one final write
            tracks = refine_file(tracks, tracker.config, appearance=self._appearance(tracks, tracker.config))
        try:
            write_tracks(self.outputs.tracks, tracks)
        except BaseException:
            journal.close()
            raise
        notes: List[str] = []
        if complete:
            journal.remove()
        else:
            journal.close()
            notes.append(f"{self.source}: decoding failed at frame {self.truncated_at}; the tracks file holds the "
                         f"{len(tracks.frames)} frames before it (status partial)"
                         + ("; it is not refined (`posetrack track` it with --video to refine what was read)"
                            if self.opts.tracking.refine else ""))
        if self.mismatches:
            notes.append(f"{len(self.mismatches)} recomputed frames differed from the journal (first: frame "
                         f"{self.mismatches[0]}); the journaled results were kept")
        return tracks, notes


def _render(renderer, frame: Frame, result: Optional[FrameResult], path: Path) -> None:
    with named_os_errors(path):
        renderer.add(frame, result)


def _close_quietly(renderer) -> None:
    if renderer is not None:
        try:
            renderer.close()
        except Exception as e:
            log.warning("could not finish the render (%s)", e)


def _renderer(outputs: Outputs, info: VideoInfo, layout, stride: int = 1):
    if outputs.render is None:
        return None
    return Renderer.to_file(outputs.render, info, layout, DrawStyle(trails=outputs.render_trails), stride=stride)
