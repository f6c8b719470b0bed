"""Load weights into any ``nn.Module`` from a path or URL: safely, strictly, and with plain-word errors.

Reads official HRNet ``.pth`` files (a plain state dict, or one wrapped under
``state_dict``/``model``, with or without DataParallel's ``module.`` prefix), mmpose
checkpoints (``backbone.`` and ``keypoint_head.``/``head.`` prefixes next to a ``meta``
entry; mmpose's HRNet uses the official key names under those prefixes) and
``.safetensors`` files. Pickled files are read with ``torch.load(weights_only=True)``:
a file that needs any other Python object to unpickle is refused, never executed.

Example:
    >>> from posetrack.models.checkpoint import load_checkpoint
    >>> load_checkpoint(model, "hrnet_w32_coco_256x192.pth")            # doctest: +SKIP
    >>> load_checkpoint(model, "https://host/w-c78dce93_2020.pth", sha256="c78dce93")  # doctest: +SKIP
"""
from __future__ import annotations

import contextlib
import logging
import os
import pickle
import re
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Tuple, Union

import torch
from torch import Tensor, nn

from posetrack.io.download import CheckpointError, Progress, download_url, hash_from_name, is_url, verify_sha256

__all__ = ["CheckpointError", "read_state_dict", "read_training_meta", "adapt_keys", "load_checkpoint",
           "TRAINING_META_FORMAT"]

log = logging.getLogger(__name__)

Source = Union[str, "os.PathLike[str]"]

# Where training frameworks nest the weights; official HRNet's checkpoint.pth stores the
# model *name* (a string) under "model", so only mappings are unwrapped.
_WRAPPERS = ("state_dict", "model", "net")
_SHOWN = 10  # keys listed per kind of mismatch; the rest are counted
# Shape-mismatch hints: key suffix -> what the first dimension counts.
_HINTS = {
    "final_layer.weight": "a {n}-joint checkpoint; use a config with num_joints: {n}",
    "final_layer.bias": "a {n}-joint checkpoint; use a config with num_joints: {n}",
    "cls_score.weight": "a checkpoint for {n} classes (background included)",
}


def _numpy_globals() -> list:
    """Plain-data numpy types that mmpose/mmengine checkpoints keep in ``meta`` (scalars, small arrays).

    They only rebuild numbers from bytes; an object array would still need other globals
    for its elements, and those stay refused.
    """
    import numpy as np

    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 2
        from numpy.core import multiarray
    allowed = [np.dtype, np.ndarray, multiarray.scalar, multiarray._reconstruct,
               (multiarray.scalar, "numpy.core.multiarray.scalar"),
               (multiarray._reconstruct, "numpy.core.multiarray._reconstruct")]
    return allowed + sorted({type(np.dtype(c)) for c in "?bBhHiIlLqQefdgFD"}, key=str)


def _refused(path: Path, error: Exception) -> CheckpointError:
    wanted = re.search(r"GLOBAL ([\w.]+)", str(error))
    what = f" (it asks for {wanted.group(1)})" if wanted else ""
    return CheckpointError(
        f"{path} contains Python objects other than tensors and plain data{what}; it was refused for safety, "
        "because unpickling them could run arbitrary code. If you trust the file, re-save only its weights "
        "(torch.save(model.state_dict(), 'weights.pth') or a .safetensors file) and load that")


def _in_cache(path: Path) -> bool:
    """True for a file in posetrack's download cache or torch.hub's checkpoint folder (ours to replace)."""
    import torch.hub

    from posetrack.io.download import cache_root

    folders = (cache_root(), Path(torch.hub.get_dir()) / "checkpoints")
    try:
        resolved = path.resolve()
        return any(resolved.is_relative_to(folder.expanduser().resolve()) for folder in folders)
    except (OSError, RuntimeError, ValueError):
        return False


def _corrupt(path: Path, detail: str) -> CheckpointError:
    """A file torch cannot read: a damaged download in the cache (delete it to fetch it again), or a
    user's file that is not a checkpoint (never advise deleting those)."""
    if _in_cache(path):
        return CheckpointError(f"{path} is corrupt or not a PyTorch checkpoint ({detail}); it is a downloaded copy "
                               "in the weights cache: delete it and it is downloaded again")
    return CheckpointError(f"{path} is corrupt or not a PyTorch checkpoint ({detail}); give a weights file saved "
                           "by torch.save (.pth, .pt) or a .safetensors file")


def _load_pickle(path: Path) -> object:
    """Unpickle with ``weights_only``: only a file that *asks for* a Python global outside the allowed
    plain-data types is refused as unsafe; bytes that are not a valid pickle are reported as corrupt."""
    allow = getattr(torch.serialization, "safe_globals", None)
    context = allow(_numpy_globals()) if allow else contextlib.nullcontext()
    try:
        with context:
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if re.search(r"GLOBAL [\w.]+", str(e)):
            raise _refused(path, e) from e
        reason = str(e).strip().splitlines()
        detail = next((line for line in reversed(reason) if "error" in line.lower() or "unsupported" in line.lower()),
                      "not a valid pickle")
        raise _corrupt(path, detail.strip()[:200]) from e
    except Exception as e:  # torch.load fails on foreign bytes with many types (IndexError, RuntimeError, ...)
        raise _corrupt(path, f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}") from e


def _load_safetensors(path: Path) -> Dict[str, Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{path} is not a readable safetensors file ({e})") from e


def _unwrap(obj: object, path: Path) -> Dict[str, Tensor]:
    """The tensors of a (possibly wrapped) state dict; ``meta`` and other non-tensor entries are dropped."""
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{path} holds a {type(obj).__name__}, not a state dict")
    while True:
        inner = next((obj[k] for k in _WRAPPERS if isinstance(obj.get(k), Mapping)), None)
        if inner is None:
            break
        obj = inner
    tensors = {str(k): v for k, v in obj.items() if isinstance(v, Tensor)}
    if not tensors:
        raise CheckpointError(f"{path} holds no tensors; its top-level entries are: {', '.join(map(str, obj))}")
    dropped = [str(k) for k in obj if str(k) not in tensors]
    if dropped:
        log.debug("%s: ignoring non-tensor entries %s", path, ", ".join(dropped))
    return tensors


def read_state_dict(source: Source) -> Dict[str, Tensor]:
    """Read a local ``.pth``/``.pt``/``.tar`` or ``.safetensors`` file into a flat name -> tensor dict.

    Unwraps ``state_dict``/``model`` and drops non-tensor entries such as ``meta``; key
    names are left as saved (:func:`adapt_keys` matches them to a model).

    Raises:
        CheckpointError: the file is missing, unreadable, holds no tensors, or needs
            unsafe unpickling.
    """
    path = Path(source).expanduser()
    if path.is_dir():
        raise CheckpointError(f"{path}: a folder, not a checkpoint file")
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    raw = _load_safetensors(path) if path.suffix == ".safetensors" else _load_pickle(path)
    return _unwrap(raw, path)


#: The ``format`` of the ``meta`` record that ``posetrack train`` stores next to ``state_dict``.
TRAINING_META_FORMAT = "posetrack-train"


def read_training_meta(source: Source) -> Optional[Dict[str, object]]:
    """The training record of a checkpoint written by ``posetrack train``, or None for any other file.

    ``posetrack train`` saves ``{"state_dict": ..., "meta": {"format": "posetrack-train", ...}}``:
    the weights in the official key layout, and beside them the keypoint layout, the model
    config, the training config and the data hash (see :mod:`posetrack.training.checkpoints`).
    Only the small ``meta`` entry is read into memory (the file is memory-mapped).

    Raises:
        CheckpointError: as :func:`read_state_dict` for a missing, corrupt or unsafe file.
    """
    path = Path(source).expanduser()
    if path.suffix == ".safetensors" or not path.is_file():
        return None
    try:
        with contextlib.ExitStack() as stack:
            allow = getattr(torch.serialization, "safe_globals", None)
            if allow:
                stack.enter_context(allow(_numpy_globals()))
            raw = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:           # not a zip-format checkpoint (legacy pickle): read it the ordinary way
        raw = _load_pickle(path)
    meta = raw.get("meta") if isinstance(raw, Mapping) else None
    if isinstance(meta, Mapping) and meta.get("format") == TRAINING_META_FORMAT:
        return dict(meta)
    return None


def _strip(prefixes: Tuple[str, ...]) -> Callable[[str], str]:
    def rename(key: str) -> str:
        for prefix in prefixes:
            if key.startswith(prefix):
                return key[len(prefix):]
        return key
    return rename


def _chain(*renames: Callable[[str], str]) -> Callable[[str], str]:
    def rename(key: str) -> str:
        for r in renames:
            key = r(key)
        return key
    return rename


# Key layouts a checkpoint may be saved in, tried in order; the best match to the model wins.
_LAYOUTS: Dict[str, Callable[[str], str]] = {
    "as saved": lambda k: k,
    "DataParallel (module.)": _strip(("module.",)),
    "mmpose (backbone., keypoint_head., head.)": _chain(
        _strip(("module.",)), _strip(("backbone.", "keypoint_head.", "head."))),
}


def adapt_keys(state_dict: Mapping[str, Tensor], model_keys: Iterable[str]) -> Tuple[Dict[str, Tensor], str]:
    """Rename checkpoint keys to the layout that matches ``model_keys`` best.

    Decided per model rather than always stripping prefixes, because models such as
    torchvision's detectors have their own ``backbone.``/``head.`` submodules.

    Returns:
        the renamed state dict and the name of the layout used.
    """
    wanted = set(model_keys)
    best: Tuple[int, Dict[str, Tensor], str] = (-1, dict(state_dict), "as saved")
    for name, rename in _LAYOUTS.items():
        renamed = {rename(k): v for k, v in state_dict.items()}
        if len(renamed) != len(state_dict):  # two keys collapsed into one: not this layout
            continue
        hits = len(wanted.intersection(renamed))
        if hits > best[0]:
            best = (hits, renamed, name)
    return best[1], best[2]


def _reconcile_bn_counters(state: Dict[str, Tensor], expected: Mapping[str, Tensor]) -> Dict[str, Tensor]:
    """Add or drop BatchNorm ``num_batches_tracked`` counters to match the model.

    The counter only matters for training with ``momentum=None``; checkpoints saved from
    ``FrozenBatchNorm2d`` models (torchvision's trained detectors) lack it, and torch's
    own BatchNorm loader fills it in the same way.
    """
    out = dict(state)
    for key in [k for k in expected if k.endswith(".num_batches_tracked") and k not in out]:
        if key.replace("num_batches_tracked", "running_mean") in out:
            out[key] = torch.zeros_like(expected[key])
    for key in [k for k in out if k.endswith(".num_batches_tracked") and k not in expected]:
        if key.replace("num_batches_tracked", "running_mean") in expected:
            del out[key]
    return out


def _listing(keys: List[str]) -> str:
    shown = ", ".join(keys[:_SHOWN])
    return shown + (f" ... and {len(keys) - _SHOWN} more" if len(keys) > _SHOWN else "")


def _shape_hint(key: str, shape: Tuple[int, ...]) -> str:
    for suffix, template in _HINTS.items():
        if key.endswith(suffix) and shape:
            return " — " + template.format(n=shape[0])
    return ""


def _mismatch(state: Mapping[str, Tensor], expected: Mapping[str, Tensor]) -> str:
    """A plain-words account of how ``state`` differs from the model's ``expected`` state; '' if it fits."""
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(v.shape)}"
              f"{_shape_hint(k, tuple(state[k].shape))}"
              for k, v in expected.items() if k in state and state[k].shape != v.shape]
    parts = []
    if missing and len(missing) == len(expected):
        parts.append("none of its keys match the model's, so it is probably for a different model")
    if missing:
        parts.append(f"{len(missing)} missing (in the model, not in the checkpoint): {_listing(missing)}")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected (in the checkpoint, not in the model): {_listing(unexpected)}")
    if shapes:
        parts.append(f"{len(shapes)} with a different shape: {_listing(shapes)}")
    return "; ".join(parts)


def load_checkpoint(model: nn.Module, source: Source, *, sha256: Optional[str] = None,
                    cache_dir: Union[str, "os.PathLike[str]", None] = None,
                    progress: Optional[Progress] = None) -> nn.Module:
    """Load weights from a file or URL into ``model``, strictly.

    Args:
        model: any module; its ``state_dict()`` defines what must be present.
        source: a local path, or an http(s) URL that is downloaded into the cache first.
        sha256: expected SHA-256 of the file (full or a prefix of >= 8 hex characters). None: for a URL,
            the hash its file name carries (torchvision / mmpose naming), if any; for a path, no check.
        cache_dir: where URLs are cached (default: see :mod:`posetrack.io.download`).
        progress: ``progress(done_bytes, total_bytes_or_None)`` while downloading.

    Returns:
        ``model``, with every parameter and buffer replaced.

    Raises:
        CheckpointError: download or read failed, the hash differs (a bad cached copy is deleted),
            the file is corrupt, it needs unsafe unpickling, or the checkpoint's keys or shapes do
            not fit the model (missing, unexpected and mis-shaped keys are named).
    """
    if is_url(str(source)):
        # torchvision's name-<sha256 prefix>.pth and mmpose's name-<sha256 prefix>_<date>.pth carry their hash
        expected = sha256 if sha256 is not None else hash_from_name(str(source))
        path = download_url(str(source), sha256=expected, cache_dir=cache_dir, progress=progress)
    else:
        path = Path(source).expanduser()
        if path.is_file():
            verify_sha256(path, sha256)
    expected = model.state_dict()
    state, layout = adapt_keys(read_state_dict(path), expected)
    state = _reconcile_bn_counters(state, expected)
    problems = _mismatch(state, expected)
    if problems:
        raise CheckpointError(f"{path} does not fit {type(model).__name__}: {problems}")
    model.load_state_dict(state, strict=True)
    log.info("loaded %s (%d tensors, key layout: %s)", path, len(state), layout)
    return model
