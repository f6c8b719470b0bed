"""Where a batch of videos runs: engines chosen by name.

* ``local`` (:class:`~posetrack.pipeline.engine_local.LocalEngine`, the default): nothing to install;
  the videos one after another in this process, or ``workers`` processes, one per GPU.
* ``ray`` (:class:`~posetrack.pipeline.engine_ray.RayEngine`): a Ray cluster (``pip install
  "posetrack[ray]"``), local or joined with ``address="auto"``; actors holding the models,
  one per GPU (fractions allowed).

Every engine runs each job with :func:`posetrack.pipeline.batch.run_job`, so every engine writes
the files a sequential single-video run writes, byte for byte. Every engine skips jobs
an earlier run finished, resumes partial ones from their journals, retries a job whose
worker died (it resumes from its journal, so no finished frame is done again), records a
video that fails for its own reasons and goes on, and on Ctrl-C returns with the
finished videos kept and the rest marked "interrupted" or "not run".

Thread count: torchvision's detector gives slightly different numbers with different CPU thread
counts (its input resize and box-head matrix products split their work by thread; measured with
1 and 2 threads: boxes 2e-4 px apart, scores 2e-7), so every engine computes each video with a
stated number of threads (:func:`thread_count`): ``threads`` when given, else the cores shared
among the workers (this process's own default when it runs the videos itself). The same ``threads``
gives the same bytes on every engine and worker count.
The pose network, crops, optical flow and tracking give identical bits with any thread count.

What every engine shares (skipping finished jobs, results in job order) is in
:mod:`posetrack.pipeline.batch`.

Example:
    >>> from posetrack.pipeline.batch import plan_jobs
    >>> from posetrack.pipeline.engines import get_engine
    >>> jobs = plan_jobs(["a.mp4", "b.mp4"], "out/")                      # doctest: +SKIP
    >>> result = get_engine("local", workers=2).run(jobs, RunOptions())   # doctest: +SKIP
"""
from __future__ import annotations

import contextlib
import importlib
import os
from typing import TYPE_CHECKING, Dict, Optional, Protocol, Sequence

from posetrack.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover   (annotations only: the CLI lists ENGINES without loading the pipeline)
    from posetrack.pipeline.batch import BatchResult, Job, Listener
    from posetrack.pipeline.options import RunOptions

__all__ = ["ENGINES", "Engine", "get_engine", "thread_count", "use_threads"]

# name -> "module:class"; modules are imported only when their engine is chosen.
ENGINES: Dict[str, str] = {
    "local": "posetrack.pipeline.engine_local:LocalEngine",
    "ray": "posetrack.pipeline.engine_ray:RayEngine",
}


class Engine(Protocol):
    """Runs jobs somewhere; returns one record per job, in job order."""

    name: str

    def run(self, jobs: Sequence[Job], opts: RunOptions, on_event: Optional[Listener] = None,
            force: bool = False) -> BatchResult:
        ...


def get_engine(name: str, **options) -> Engine:
    """The engine called ``name``, built with its keyword ``options``.

    Raises:
        ConfigError: an unknown name (the message lists the valid ones) or an option the
            engine does not take.
    """
    if name not in ENGINES:
        raise ConfigError(f"unknown engine {name!r}; choose one of: {', '.join(ENGINES)}")
    module, cls = ENGINES[name].split(":")
    engine_cls = getattr(importlib.import_module(module), cls)
    try:
        return engine_cls(**options)
    except TypeError as e:
        raise ConfigError(f"engine {name!r}: {e}") from None


def thread_count(threads: Optional[int], cores_each: Optional[int] = None, workers: int = 1) -> Optional[int]:
    """The CPU threads each video is computed with: ``threads`` when given, else ``cores_each``, else this
    machine's cores divided among ``workers`` (at least 1); None for one worker, which is this process:
    torch's own default count then.

    Raises:
        ConfigError: ``threads`` is given and below 1.
    """
    if threads is not None:
        if threads < 1:
            raise ConfigError(f"threads must be at least 1, got {threads}")
        return int(threads)
    if cores_each:
        return int(cores_each)
    return None if workers == 1 else max(1, (os.cpu_count() or 1) // workers)


@contextlib.contextmanager
def use_threads(threads: Optional[int]):
    """torch's and OpenCV's CPU thread counts set to ``threads`` inside the block, restored after (None: kept)."""
    if threads is None:
        yield
        return
    import cv2
    import torch

    before = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before[0])
        cv2.setNumThreads(before[1])
