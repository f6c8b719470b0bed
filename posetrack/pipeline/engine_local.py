"""The embedded engine: needs nothing installed.

``workers=1`` (the default) runs the videos one after another in this process, with the
models loaded once. ``workers=N`` starts N worker processes (``spawn``, so CUDA is safe)
from the standard library's :class:`concurrent.futures.ProcessPoolExecutor`; each loads
the models once. With GPUs, worker k runs on ``cuda:(k mod GPUs)``, one per GPU when N
equals the GPU count. The N workers split the CPU cores (OpenMP, torch and OpenCV
threads = cores // N each, or ``threads``), which is also what keeps them from slowing each
other down on CPU; a video run in this process uses the same count (see
:mod:`posetrack.pipeline.engines` on why).

A worker that dies (SIGKILL, out of memory) breaks the pool, which also stops the other
workers: the engine starts a new pool and submits again every video that was not
finished; each resumes from its journal, so no finished frame is done twice (only the
frames in flight are computed again). Workers ignore SIGINT: on Ctrl-C this process asks
them to stop, and each writes its partial output (journal kept) before returning.
"""
from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import logging
import multiprocessing as mp
import os
import queue
import signal
import time
from concurrent.futures.process import BrokenProcessPool
from typing import Dict, List, Optional, Sequence

from posetrack.pipeline.batch import (BatchResult, FramesDone, Job, Listener, VideoFinished, VideoResult, VideoStarted,
                    in_order, interrupted_result, models_options, run_job, split_done)
from posetrack.pipeline.engines import thread_count, use_threads
from posetrack.errors import ConfigError, PosetrackError
from posetrack.pipeline.loading import load_models
from posetrack.pipeline.options import RunOptions

__all__ = ["LocalEngine"]

log = logging.getLogger(__name__)

_PROGRESS_EVERY = 0.25     # seconds between progress events a worker sends


class LocalEngine:
    """Videos in this process (``workers=1``) or in ``workers`` processes on this machine.

    Args:
        workers: 1 runs in this process; N > 1 starts N worker processes.
        max_retries: how many times a video whose worker died is started again.
        threads: CPU threads per video, in this process or a worker; None: cores // workers (this
            process's default count when it runs the videos itself).
    """

    name = "local"

    def __init__(self, workers: int = 1, max_retries: int = 2, threads: Optional[int] = None):
        if workers < 1 or max_retries < 0:
            raise ConfigError(f"workers must be at least 1 and max_retries at least 0, got {workers}, {max_retries}",
                              field="workers")
        self.workers = workers
        self.max_retries = max_retries
        self.threads = thread_count(threads, workers=workers)

    def run(self, jobs: Sequence[Job], opts: RunOptions, on_event: Optional[Listener] = None,
            force: bool = False) -> BatchResult:
        """Run every job not finished by an earlier run; see the module docstring.

        Raises:
            WeightsError, DeviceError, ConfigError: the models cannot be loaded (no video
                can run); a video's own failure is a "failed" record instead.
        """
        t0 = time.perf_counter()
        emit = on_event or (lambda event: None)
        results, todo = split_done(jobs, force, on_event)
        interrupted = False
        if todo and (self.workers == 1 or len(todo) == 1):
            with use_threads(self.threads):
                interrupted = self._in_process(todo, opts, emit, force, results)
        elif todo:
            interrupted = _Pool(min(self.workers, len(todo)), self.max_retries, opts, emit, force,
                                self.threads).run(todo, results)
        return BatchResult(in_order(jobs, results), self.name, time.perf_counter() - t0, interrupted)

    def _in_process(self, todo: List[Job], opts: RunOptions, emit: Listener, force: bool,
                    results: Dict[int, VideoResult]) -> bool:
        models = load_models(models_options(opts, todo))
        import torch

        worker = f"main (pid {os.getpid()}, {_threads_label(torch.get_num_threads())})"
        for job in todo:
            emit(VideoStarted(job.index, job.name, "main", 1))
            progress = _throttled(lambda d, t, f, job=job: emit(
                FramesDone(job.index, job.name, "main", d, t, f, os.getpid())))
            try:
                result = run_job(job, opts, models, worker=worker, progress=progress, force=force)
            except KeyboardInterrupt:
                results[job.index] = interrupted_result(job, worker)
                return True
            results[job.index] = result
            emit(VideoFinished(result))
        return False


def _threads_label(threads: int) -> str:
    return f"{threads} thread" + ("s" if threads != 1 else "")


def _throttled(fn, every: float = _PROGRESS_EVERY):
    """A progress callback that forwards at most every ``every`` seconds, and always the last frame."""
    last = [0.0]

    def call(done: int, total: int, fps: float) -> None:
        now = time.perf_counter()
        if done >= total or now - last[0] >= every:
            last[0] = now
            fn(done, total, fps)
    return call


# ---------------------------------------------------------------- worker processes

class _Pool:
    """One batch on a process pool, rebuilt when a worker dies."""

    def __init__(self, workers: int, max_retries: int, opts: RunOptions, emit: Listener, force: bool, threads: int):
        self.workers, self.max_retries, self.opts, self.emit, self.force = workers, max_retries, opts, emit, force
        self.threads = threads
        self.ctx = mp.get_context("spawn")
        self.events = self.ctx.Queue()
        self.stop = self.ctx.Event()
        self.attempts: Dict[int, int] = {}
        self.started: set = set()

    def run(self, todo: List[Job], results: Dict[int, VideoResult]) -> bool:
        pending = list(todo)
        idle_rounds = 0
        try:
            while pending:
                pending = self._round(pending, results)
                idle_rounds = 0 if self.started else idle_rounds + 1
                if idle_rounds == 2:
                    raise RuntimeError("the worker processes keep dying before they start any video")
        except KeyboardInterrupt:
            return True
        finally:
            self._drain()
        return False

    def _executor(self) -> cf.ProcessPoolExecutor:
        slots = self.ctx.Queue()
        for k in range(self.workers):
            slots.put(k)
        return cf.ProcessPoolExecutor(self.workers, mp_context=self.ctx, initializer=_init_worker,
                                      initargs=(models_options(self.opts, self._jobs), self.threads, slots,
                                                self.events, self.stop))

    def _round(self, jobs: List[Job], results: Dict[int, VideoResult]) -> List[Job]:
        """Submit ``jobs`` to a fresh pool; return those to submit again after a worker died."""
        self._jobs = jobs
        self.started = set()
        executor = self._executor()
        # A retried job resumes from its journal, even when the batch was asked to start over.
        futures = {executor.submit(_work, job, self.opts, self.force and job.index not in self.attempts,
                                   self.attempts.get(job.index, 0) + 1): job for job in jobs}
        again: List[Job] = []
        try:
            waiting = set(futures)
            while waiting:
                done, waiting = cf.wait(waiting, timeout=0.1, return_when=cf.FIRST_COMPLETED)
                self._drain()
                for future in done:
                    self._collect(future, futures[future], results, again)
        except KeyboardInterrupt:
            self._interrupt(executor, futures, results)
            raise
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
        return again

    def _collect(self, future, job: Job, results: Dict[int, VideoResult], again: List[Job]) -> None:
        try:
            result = future.result()
        except (PosetrackError, OSError):   # the worker could not load the models: no video can run
            raise
        except BrokenProcessPool:
            self._drain()
            if job.index not in self.started:      # never began: not its fault
                again.append(job)
                return
            self.attempts[job.index] = self.attempts.get(job.index, 0) + 1
            if self.attempts[job.index] <= self.max_retries:
                log.warning("%s: a worker died, which stops the pool; starting the video again (it resumes "
                            "from its journal)", job.source)
                again.append(job)
                return
            result = VideoResult(job.index, job.name, job.source, "failed", attempts=self.attempts[job.index],
                                 error=f"its worker died {self.attempts[job.index]} times (killed, out of memory?)")
        results[job.index] = result
        self.emit(VideoFinished(result))

    def _interrupt(self, executor, futures, results: Dict[int, VideoResult]) -> None:
        """Ctrl-C: ask running videos to stop (they write their partial output), keep what finishes."""
        self.stop.set()
        for future, job in futures.items():
            if job.index in results or future.cancel():
                continue
            try:
                result = future.result()
            except BaseException:
                result = interrupted_result(job)
            results[job.index] = result
            self.emit(VideoFinished(result))

    def _drain(self) -> None:
        while True:
            try:
                event = self.events.get_nowait()
            except (queue.Empty, OSError, ValueError):
                return
            if isinstance(event, VideoStarted):
                self.started.add(event.index)
            self.emit(event)


# Worker-process state, set once by the pool's initializer (the ProcessPoolExecutor idiom).
_WORKER: dict = {}


def _init_worker(opts: RunOptions, threads: int, slots, events, stop) -> None:
    # OpenMP reads its thread count when torch is first imported.
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import cv2   # reason: imports OpenCV, after OMP_NUM_THREADS is set
    import torch   # reason: imports torch, after OMP_NUM_THREADS is set

    signal.signal(signal.SIGINT, signal.SIG_IGN)      # the parent decides when to stop
    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)
    slot = slots.get()
    _WORKER.update(events=events, stop=stop, slot=f"worker {slot}", name=f"worker {slot} (pid {os.getpid()})")
    device = opts.device
    gpus = torch.cuda.device_count() if device in ("auto", "cuda") else 0
    if gpus:
        device = f"cuda:{slot % gpus}"
    try:
        _WORKER["models"] = load_models(_replace_device(opts, device))
    except (PosetrackError, OSError) as e:      # raised by every job, so the parent sees it
        _WORKER["error"] = e
    _WORKER["name"] = f"worker {slot} (pid {os.getpid()}, {device}, {_threads_label(threads)})"


def _replace_device(opts: RunOptions, device: str) -> RunOptions:
    return dataclasses.replace(opts, device=device)


def _work(job: Job, opts: RunOptions, force: bool, attempt: int) -> VideoResult:
    """One job in a worker process."""
    if "error" in _WORKER:
        raise _WORKER["error"]
    events, stop, worker, slot = _WORKER["events"], _WORKER["stop"], _WORKER["name"], _WORKER["slot"]
    if stop.is_set():
        return VideoResult(job.index, job.name, job.source, "not run")
    events.put(VideoStarted(job.index, job.name, slot, attempt))
    send = _throttled(lambda done, total, fps: events.put(
        FramesDone(job.index, job.name, slot, done, total, fps, os.getpid())))

    def progress(done: int, total: int, fps: float) -> None:
        if stop.is_set():
            raise KeyboardInterrupt      # run_video writes the partial output and keeps the journal
        send(done, total, fps)

    try:
        return run_job(job, opts, _WORKER["models"], worker=worker, attempt=attempt, force=force,
                       progress=progress)
    except KeyboardInterrupt:
        return interrupted_result(job, worker, attempt)
