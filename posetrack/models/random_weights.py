"""Deterministic random HRNet weights in the official state-dict layout, for tests and benchmarks.

No pretrained weights can be shipped with the tests, so they are made here, reproducibly, from a
seed, following the recipe documented with the project's reference data
(``../shared/reference/hrnet/make_weights.py``; the recipe, not its code): one
``numpy.random.default_rng(seed)`` walks the official state-dict manifest in order; BatchNorm
running means ~ N(0, 0.1), running variances and gammas ~ U(0.5, 1.5), betas ~ N(0, 0.1); conv
weights ~ N(0, (0.4 * sqrt(2 / fan_in))^2) (He-normal scaled by 0.4 so activations stay in range
through the network with eval-mode BatchNorm); the final conv's bias ~ N(0, 0.01^2); every value
drawn in float64 and cast to float32; ``num_batches_tracked`` = 0 without a draw. The official
HRNet-W48's output on seed-0 weights is committed in ``tests/data/hrnet`` and reproduced to 1e-4.

Example:
    >>> from posetrack.models.random_weights import make_state_dict
    >>> sd = make_state_dict("tests/data/hrnet/keys_w32.json", seed=0)   # doctest: +SKIP
"""
from __future__ import annotations

import json
import math
import os
from collections import OrderedDict
from typing import Any, List, Tuple, Union

import numpy as np

__all__ = ["CONV_GAIN", "Manifest", "load_manifest", "make_state_dict"]

#: Multiplier on the He-normal std of conv weights (see the module docstring).
CONV_GAIN = 0.4

Manifest = List[Tuple[str, List[int], str]]


def load_manifest(path: Union[str, os.PathLike]) -> Manifest:
    """A state-dict manifest: ``[[key, shape, dtype], ...]`` in state-dict order (JSON)."""
    with open(path) as f:
        return [(str(k), [int(d) for d in shape], str(t)) for k, shape, t in json.load(f)]


def make_state_dict(manifest: Union[str, os.PathLike, Manifest], seed: int = 0,
                    conv_gain: float = CONV_GAIN) -> "OrderedDict[str, Any]":
    """Deterministic random weights in a manifest's layout (see the module docstring for the recipe).

    Returns:
        an OrderedDict of CPU tensors (float32; int64 scalars for ``num_batches_tracked``) in
        manifest order, loadable with ``load_state_dict(strict=True)``.

    Raises:
        ValueError: a manifest entry that no rule covers.
    """
    import torch

    entries = manifest if isinstance(manifest, list) else load_manifest(manifest)
    keys = {k for k, _, _ in entries}
    rng = np.random.default_rng(seed)
    out: "OrderedDict[str, Any]" = OrderedDict()
    for key, shape, dtype in entries:
        prefix, suffix = key.rsplit(".", 1)
        size = tuple(shape)
        if suffix == "num_batches_tracked":
            out[key] = torch.tensor(0, dtype=torch.int64)
            continue
        if dtype != "float32":
            raise ValueError(f"{key}: no rule for dtype {dtype}")
        batch_norm = f"{prefix}.running_mean" in keys
        if suffix == "running_mean":
            value = rng.normal(0.0, 0.1, size)
        elif suffix == "running_var":
            value = rng.uniform(0.5, 1.5, size)
        elif suffix == "weight" and len(shape) == 4:
            fan_in = shape[1] * shape[2] * shape[3]
            value = rng.normal(0.0, conv_gain * math.sqrt(2.0 / fan_in), size)
        elif suffix == "weight" and len(shape) == 1 and batch_norm:
            value = rng.uniform(0.5, 1.5, size)
        elif suffix == "bias" and len(shape) == 1:
            value = rng.normal(0.0, 0.1 if batch_norm else 0.01, size)
        else:
            raise ValueError(f"{key}: no rule for shape {shape}")
        out[key] = torch.from_numpy(np.ascontiguousarray(value.astype(np.float32)))
    return out
