"""The Ray engine: many videos over the GPUs and machines of a Ray cluster.

Install the extra (``pip install "posetrack[ray]"``); Ray is imported only when this
engine runs. ``address=None`` starts Ray on this machine (or joins ``$RAY_ADDRESS``);
``address="auto"`` joins the cluster this machine belongs to (``ray start --head`` on
one machine, ``ray start --address HEAD:6379`` on the others).

Each worker is an actor holding the loaded models (loaded once, reused for every video it
runs), with ``gpus_per_worker`` of a GPU (fractions let several actors share one GPU) and
``cpus_per_worker`` cores. Decoding (a prefetch thread) and optical flow (OpenCV DIS)
run on those reserved CPU cores, next to the network on the GPU: a video is one ordered
stream whose flow and tracks depend on the frame before, so it stays on one worker, and
whole videos are spread over the workers. The driver hands each free actor the next
video, polls every busy actor for its progress (the per-worker status lines), and when
an actor dies (SIGKILL, out of memory, node lost) Ray restarts it (models loaded again)
and the driver starts the video again, which resumes from its journal: no finished
frame is done twice. Outputs, journals and sources must be on storage every node sees;
actors work in the driver's current folder, so relative paths mean the same everywhere.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import deque
from typing import Dict, List, Optional, Sequence

from posetrack.pipeline.batch import (BatchResult, FramesDone, Job, Listener, VideoFinished, VideoResult, VideoStarted,
                    in_order, interrupted_result, models_options, run_job, split_done)
from posetrack.pipeline.engines import thread_count
from posetrack.errors import ConfigError, MissingDependencyError, PosetrackError
from posetrack.pipeline.loading import load_models
from posetrack.pipeline.options import RunOptions

__all__ = ["RayEngine", "import_ray"]

log = logging.getLogger(__name__)

_POLL = 0.5          # seconds between progress polls of busy actors


def import_ray():
    """The ``ray`` module, or a MissingDependencyError saying how to install it."""
    try:
        import ray   # reason: an optional dependency (posetrack[ray]), heavy to import
    except ImportError:
        raise MissingDependencyError('the "ray" engine needs Ray, which is not installed here', "ray") from None
    return ray


class RayEngine:
    """Videos on a Ray cluster, one actor per worker.

    Args:
        address: None starts Ray here (or joins ``$RAY_ADDRESS``); "auto" joins this
            machine's cluster; "HOST:PORT" joins that one. Ignored when Ray is already
            initialised in this process.
        workers: actors to start; None: one per GPU share (GPUs / gpus_per_worker), or
            one per ``cpus_per_worker`` cores on a cluster without GPUs; never more than
            the videos to run.
        gpus_per_worker: GPU share of each actor (0.5 puts two on a GPU); None: 1 when
            the cluster has GPUs and the device is not "cpu", else 0.
        cpus_per_worker: cores each actor reserves (decoding, flow, CPU inference).
        num_cpus: cores a Ray started here may use (None: all).
        max_retries: how many times a video whose actor died is started again.
        threads: CPU threads each actor computes a video with; None: ``cpus_per_worker``.
    """

    name = "ray"

    def __init__(self, address: Optional[str] = None, workers: Optional[int] = None,
                 gpus_per_worker: Optional[float] = None, cpus_per_worker: int = 1, num_cpus: Optional[int] = None,
                 max_retries: int = 2, threads: Optional[int] = None):
        if workers is not None and workers < 1:
            raise ConfigError(f"workers must be at least 1, got {workers}", field="workers")
        if (gpus_per_worker is not None and gpus_per_worker < 0) or cpus_per_worker < 1 or max_retries < 0:
            raise ConfigError("gpus_per_worker must be >= 0, cpus_per_worker >= 1 and max_retries >= 0",
                              fields=("gpus_per_worker", "cpus_per_worker"))
        self.address, self.workers, self.gpus_per_worker = address, workers, gpus_per_worker
        self.cpus_per_worker, self.num_cpus, self.max_retries = cpus_per_worker, num_cpus, max_retries
        self.threads = thread_count(threads, cpus_per_worker)

    def run(self, jobs: Sequence[Job], opts: RunOptions, on_event: Optional[Listener] = None,
            force: bool = False) -> BatchResult:
        """Run every job not finished by an earlier run; see the module docstring.

        Raises:
            MissingDependencyError: Ray is not installed. ConfigError: the cluster cannot be reached.
            WeightsError, DeviceError: an actor cannot load the models (no video can run).
        """
        t0 = time.perf_counter()
        results, todo = split_done(jobs, force, on_event)
        interrupted = False
        if todo:
            ray = import_ray()
            started_here = self._connect(ray)
            try:
                interrupted = _Driver(ray, self, opts, on_event or (lambda e: None), force).run(todo, results)
            finally:
                if started_here:
                    ray.shutdown()
        return BatchResult(in_order(jobs, results), self.name, time.perf_counter() - t0, interrupted)

    def _connect(self, ray) -> bool:
        """Initialise Ray unless it already is; True when this call started it."""
        if ray.is_initialized():
            return False
        kwargs = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
        if self.address is None and self.num_cpus is not None:
            kwargs["num_cpus"] = self.num_cpus
        try:
            ray.init(address=self.address, **kwargs)
        except ConnectionError as e:
            raise ConfigError(f"cannot reach the Ray cluster at {self.address or '$RAY_ADDRESS'}: {e} "
                              "(start one with `ray start --head`)") from None
        return True

    def layout(self, ray, opts: RunOptions, videos: int) -> tuple:
        """(actors, GPUs per actor) for this cluster."""
        resources = ray.cluster_resources()
        gpus = float(resources.get("GPU", 0))
        share = self.gpus_per_worker
        if share is None:
            share = 1.0 if gpus and opts.device != "cpu" else 0.0
        if share > 0 and not gpus:
            raise ConfigError(f"gpus_per_worker is {share} but the Ray cluster has no GPUs", field="gpus_per_worker")
        if self.workers is not None:
            count = self.workers
        elif share > 0:
            count = int(gpus / share + 1e-9)
        else:
            count = int(resources.get("CPU", 1) // self.cpus_per_worker)
        count = max(1, min(count, videos))
        cpus = float(resources.get("CPU", 0))
        if count * share > gpus + 1e-9 or count * self.cpus_per_worker > cpus + 1e-9:
            # Ray would wait for ever to place the actors that do not fit.
            raise ConfigError(f"{count} workers x ({share:g} GPU, {self.cpus_per_worker} CPU) do not fit the Ray "
                              f"cluster ({gpus:g} GPUs, {cpus:g} CPUs); use fewer workers or smaller shares")
        return count, share


class _VideoWorker:
    """The actor: loaded models, one video at a time, its progress readable at any time."""

    def __init__(self, slot: int, opts: RunOptions, cwd: str, threads: int):
        import cv2   # reason: imports OpenCV
        import torch   # reason: imports torch

        if os.path.isdir(cwd):
            os.chdir(cwd)
        torch.set_num_threads(threads)
        cv2.setNumThreads(threads)
        self.slot = f"worker {slot}"
        self.label = f"worker {slot} ({socket.gethostname()}, pid {os.getpid()}, {threads} thread" + \
            ("s)" if threads != 1 else ")")
        self._lock = threading.Lock()
        self._status: Optional[FramesDone] = None
        self._stop = threading.Event()
        self.error: Optional[BaseException] = None
        try:
            self.models = load_models(opts)
        except (PosetrackError, OSError) as e:      # reported by ready(), raised by the driver
            self.error = e

    def ready(self):
        """This worker's label, or the error that kept it from loading the models."""
        return self.error if self.error is not None else self.label

    def status(self) -> Optional[FramesDone]:
        with self._lock:
            return self._status

    def stop(self) -> None:
        """Ctrl-C on the driver: stop the running video after its current frame."""
        self._stop.set()

    def run(self, job: Job, opts: RunOptions, force: bool, attempt: int) -> VideoResult:
        self._stop.clear()

        def progress(done: int, total: int, fps: float) -> None:
            if self._stop.is_set():
                raise KeyboardInterrupt      # run_video writes the partial output and keeps the journal
            with self._lock:
                self._status = FramesDone(job.index, job.name, self.slot, done, total, fps, os.getpid())

        try:
            return run_job(job, opts, self.models, worker=self.label, attempt=attempt, force=force,
                           progress=progress)
        except KeyboardInterrupt:
            return interrupted_result(job, self.label, attempt)
        finally:
            with self._lock:
                self._status = None


class _Driver:
    """The scheduling loop on the driver: free actors take the next video; dead ones are waited for."""

    def __init__(self, ray, engine: RayEngine, opts: RunOptions, emit: Listener, force: bool):
        self.ray, self.engine, self.opts, self.emit, self.force = ray, engine, opts, emit, force
        self.attempts: Dict[int, int] = {}

    def _start_actors(self, todo: List[Job]) -> list:
        count, share = self.engine.layout(self.ray, self.opts, len(todo))
        cls = self.ray.remote(_VideoWorker).options(
            num_cpus=self.engine.cpus_per_worker, num_gpus=share, max_restarts=-1, max_concurrency=3)
        load_opts = models_options(self.opts, todo)
        actors = [cls.remote(k, load_opts, os.getcwd(), self.engine.threads) for k in range(count)]
        for label in self.ray.get([a.ready.remote() for a in actors]):
            if isinstance(label, BaseException):
                raise label
        return actors

    def run(self, todo: List[Job], results: Dict[int, VideoResult]) -> bool:
        actors = self._start_actors(todo)
        self.pending = deque(todo)
        self.free = deque(range(len(actors)))
        self.busy: Dict[object, tuple] = {}          # run ref -> (actor index, job)
        self.restarting: Dict[object, int] = {}      # ready ref -> actor index
        try:
            while self.pending or self.busy:
                self._dispatch(actors)
                waiting = list(self.busy) + list(self.restarting)
                ready, _ = self.ray.wait(waiting, num_returns=1, timeout=_POLL)
                for ref in ready:
                    self._settle(ref, actors, results)
                self._poll(actors)
                if self.pending and not (self.busy or self.free or self.restarting):
                    self._give_up(results, "no Ray worker is left to run it")
        except KeyboardInterrupt:
            self._interrupt(actors, results)
            return True
        finally:
            for a in actors:
                self.ray.kill(a, no_restart=True)
        return False

    def _dispatch(self, actors: list) -> None:
        while self.pending and self.free:
            k, job = self.free.popleft(), self.pending.popleft()
            attempt = self.attempts.get(job.index, 0) + 1
            # A retried job resumes from its journal, even when the batch was asked to start over.
            force = self.force and job.index not in self.attempts
            ref = actors[k].run.options(max_task_retries=0).remote(job, self.opts, force, attempt)
            self.busy[ref] = (k, job)
            self.emit(VideoStarted(job.index, job.name, f"worker {k}", attempt))

    def _settle(self, ref, actors: list, results: Dict[int, VideoResult]) -> None:
        exceptions = self.ray.exceptions
        if ref in self.restarting:
            k = self.restarting.pop(ref)
            try:
                self.ray.get(ref)
                self.free.append(k)
            except exceptions.RayError:
                log.warning("Ray worker %d could not be restarted; going on without it", k)
            return
        k, job = self.busy.pop(ref)
        try:
            result = self.ray.get(ref)
        except exceptions.RayActorError:
            result = self._actor_died(job)
            self.restarting[actors[k].ready.options(max_task_retries=-1).remote()] = k
        except exceptions.RayTaskError as e:
            result = VideoResult(job.index, job.name, job.source, "failed", attempts=self.attempts.get(job.index, 0) + 1,
                                 error=f"internal error, a bug in posetrack: {e.cause!r}")
            self.free.append(k)
        else:
            self.free.append(k)
        if result is not None:
            results[job.index] = result
            self.emit(VideoFinished(result))

    def _actor_died(self, job: Job) -> Optional[VideoResult]:
        attempts = self.attempts[job.index] = self.attempts.get(job.index, 0) + 1
        if attempts <= self.engine.max_retries:
            log.warning("%s: its Ray worker died; starting it again (it resumes from its journal)", job.source)
            self.pending.appendleft(job)
            return None
        return VideoResult(job.index, job.name, job.source, "failed", attempts=attempts,
                           error=f"its Ray worker died {attempts} times (killed, out of memory, node lost?)")

    def _poll(self, actors: list) -> None:
        """Per-worker progress: ask every busy actor (a threaded actor answers while it works)."""
        refs = {actors[k].status.remote(): k for k, _ in self.busy.values()}
        if not refs:
            return
        ready, _ = self.ray.wait(list(refs), num_returns=len(refs), timeout=0.2)
        for ref in ready:
            try:
                status = self.ray.get(ref)
            except self.ray.exceptions.RayError:
                continue
            if status is not None:
                self.emit(status)

    def _give_up(self, results: Dict[int, VideoResult], why: str) -> None:
        while self.pending:
            job = self.pending.popleft()
            results[job.index] = VideoResult(job.index, job.name, job.source, "failed", error=why)
            self.emit(VideoFinished(results[job.index]))

    def _interrupt(self, actors: list, results: Dict[int, VideoResult], wait: float = 60.0) -> None:
        """Ctrl-C: running videos stop after their current frame and write their partial output."""
        for k, _ in self.busy.values():
            actors[k].stop.remote()
        ready, _ = self.ray.wait(list(self.busy), num_returns=len(self.busy), timeout=wait)
        for ref in list(self.busy):
            k, job = self.busy.pop(ref)
            try:
                result = self.ray.get(ref) if ref in ready else None
            except self.ray.exceptions.RayError:
                result = None
            results[job.index] = result or interrupted_result(job)
            self.emit(VideoFinished(results[job.index]))
