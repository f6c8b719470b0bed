"""Score many sequences fast: the cyclic GC paused while JSON is decoded, and the tail of the file list
scored by forked worker processes where that is safe (POSIX, torch not loaded)."""
from __future__ import annotations

import contextlib
import gc
import os
from typing import Callable, List, Optional, Sequence, TypeVar

import numpy as np

from posetrack.eval.files import Pair

__all__ = ["gc_paused", "score_all"]

T = TypeVar("T")


@contextlib.contextmanager
def gc_paused():
    """Pause the cyclic GC while large JSON files are decoded (the collector would rescan the
    hundreds of thousands of fresh, acyclic containers over and over: ~30% of the load time)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _score_many(score: Callable[[Pair], T], pairs: Sequence[Pair]) -> List[T]:
    with gc_paused():
        return [score(pair) for pair in pairs]


def _fork_context():
    """multiprocessing's fork context where forking is safe and cheap (POSIX, no torch threads), else None."""
    import multiprocessing
    import sys

    if "fork" not in multiprocessing.get_all_start_methods() or "torch" in sys.modules:
        return None
    return multiprocessing.get_context("fork")


def score_all(score: Callable[[Pair], T], pairs: List[Pair], workers: Optional[int]) -> List[T]:
    """``[score(pair) for pair in pairs]``, with the cyclic GC paused; with ``workers`` > 1 the tail of the
    list goes to forked worker processes while this process scores the head (files are split by size).

    ``score`` must be picklable (a module-level function or a ``functools.partial`` of one) and its
    results too. ``workers`` None: two where the machine has two cores and there are 8+ sequences.
    """
    if workers is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        workers = min(cores, 2) if len(pairs) >= 8 else 1
    context = _fork_context() if workers > 1 and len(pairs) > 1 else None
    if context is None:
        return _score_many(score, pairs)
    from concurrent.futures import ProcessPoolExecutor

    sizes = np.array([g.stat().st_size + (p.stat().st_size if p is not None else 0) for _, g, p in pairs], float)
    bounds = np.searchsorted(np.cumsum(sizes) / sizes.sum(), np.arange(1, workers) / workers) + 1
    chunks = [c for c in np.split(np.arange(len(pairs)), np.minimum(bounds, len(pairs))) if len(c)]
    with ProcessPoolExecutor(max_workers=len(chunks) - 1, mp_context=context) as pool:
        futures = [pool.submit(_score_many, score, [pairs[i] for i in c]) for c in chunks[1:]]
        try:
            out = _score_many(score, [pairs[i] for i in chunks[0]])
        except BaseException:
            for f in futures:
                f.cancel()
            raise
        for f in futures:
            out.extend(f.result())
    return out
