"""Compute devices: what ``--device`` accepts, checked before any model loads, and the precision a run gets.

Accepted device strings:

* ``auto``: the first CUDA GPU when there is one, else ``cpu`` (``mps`` only when asked for);
* ``cpu``;
* ``cuda`` (the first GPU), ``cuda:N``, or just ``N`` (a GPU index, as ``nvidia-smi`` counts);
* ``mps`` (Apple silicon).

A device this machine does not have fails at once with :class:`DeviceError` (one line
naming the devices it does have); a string that names no device at all is a
:class:`ConfigError`.

The ``half`` switch (float16) applies on CUDA only; elsewhere it is ignored and
:func:`effective_precision` says so in the log (the run's settings record it).

Example:
    >>> from posetrack.models.devices import effective_precision, resolve_device
    >>> device = resolve_device("0")            # "cuda:0" on a GPU machine; DeviceError elsewhere
    >>> effective_precision("cpu", half=True)   # logs a warning
    'auto'
"""
from __future__ import annotations

import logging
import re
from typing import Union

from posetrack.errors import ConfigError, DeviceError

__all__ = ["resolve_device", "effective_precision", "DEVICE_CHOICES"]

log = logging.getLogger(__name__)

DEVICE_CHOICES = "auto, cpu, cuda, cuda:N, N (a GPU index) or mps"

_CUDA = re.compile(r"^(?:cuda(?::(\d+))?|(\d+))$")


def _cuda_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _mps_available() -> bool:
    import torch

    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def _have() -> str:
    """The devices this machine has, for error messages."""
    n = _cuda_count()
    gpus = [f"cuda:{i}" for i in range(n)]
    return ", ".join(["cpu", *gpus, *(["mps"] if _mps_available() else [])])


def resolve_device(device: Union[str, int]) -> str:
    """The torch device string for ``device``, checked against this machine.

    Args:
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``N`` (int or digit string) or ``mps``.

    Returns:
        ``"cpu"``, ``"cuda:N"`` or ``"mps"`` (``cuda`` and ``auto`` give ``cuda:0``).

    Raises:
        DeviceError: the device is not available on this machine (one line, naming those that are).
        ConfigError: ``device`` names no device.
    """
    name = str(device).strip().lower()
    if name == "auto":
        return "cuda:0" if _cuda_count() else "cpu"
    if name == "cpu":
        return "cpu"
    if name == "mps":
        if not _mps_available():
            raise DeviceError(f"device 'mps': Apple's Metal (MPS) is not available on this machine "
                              f"(available: {_have()})")
        return "mps"
    m = _CUDA.match(name)
    if m is None:
        raise ConfigError(f"unknown device {str(device)!r}; use {DEVICE_CHOICES}")
    index = int(m.group(1) or m.group(2) or 0)
    n = _cuda_count()
    if n == 0:
        raise DeviceError(f"device {str(device)!r}: CUDA is not available on this machine (available: {_have()})")
    if index >= n:
        raise DeviceError(f"device {str(device)!r}: this machine has {n} CUDA device{'s' * (n > 1)} "
                          f"(available: {_have()})")
    return f"cuda:{index}"


def effective_precision(device: str, half: bool, precision: str = "auto") -> str:
    """The autocast precision a run asks for on ``device``: ``half`` means fp16, on CUDA only.

    ``half`` (the old float16 switch) is honoured on CUDA; elsewhere it is ignored, with a
    warning, and ``precision`` stands (measured on CPU: fp16 autocast has no fast kernels
    there, 1.1x against 1.77x for the fp32 default; README "Speed").

    Args:
        device: a resolved torch device ("cpu", "cuda:0", "mps").
        half: the run's ``half`` setting.
        precision: the run's ``precision`` ("auto", "fp32", "fp16", "bf16").

    Returns:
        The precision to resolve further ("auto" becomes fp16 on CUDA, fp32 elsewhere).
    """
    kind = str(device).split(":")[0]
    if not half:
        return precision
    if kind == "cuda":
        return "fp16"
    log.warning("half precision (float16) is ignored on %s: the networks run in %s", kind,
                "float32" if precision == "auto" else precision)
    return precision
