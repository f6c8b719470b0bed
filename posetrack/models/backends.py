"""Where the pose network runs: eager/compiled PyTorch, ONNX Runtime or TensorRT.

A backend is a callable from a normalised crop batch to heatmaps::

    heatmaps = backend(x)     # x: (B, 3, H, W) float32 on backend.device -> (B, K, H/4, W/4) float32

Everything around the network (crops, flip test, decoding) stays in
:class:`posetrack.pose.estimator.PoseEstimator`, so every backend gets the official pre- and
post-processing. Backends are chosen by name from :data:`BACKENDS`.

Precision (``fp32``, ``fp16``, ``bf16``) is autocast for ``torch`` (weights stay float32;
convolutions run in the reduced type, heatmaps come back as float32). ``auto`` picks
:data:`DEFAULT_PRECISION` for the device, chosen from the measurements in the README's
"Speed" section.

Determinism: for identical inputs and identical batch composition every backend gives
identical outputs on CPU (no autotuning; ``cudnn.benchmark`` is left off on CUDA, so cuDNN
picks its algorithms by heuristics, the same in every run). ``max_batch`` pads every batch to
one fixed size, which also makes a crop's result independent of how many crops share its batch.
"""
from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Callable, Dict, Optional, Union

from posetrack.errors import ConfigError, DeviceError, MissingDependencyError

__all__ = ["PRECISIONS", "DEFAULT_PRECISION", "BACKENDS", "resolve_precision", "TorchBackend",
           "OnnxRuntimeBackend", "TensorRTBackend", "build_backend"]

log = logging.getLogger(__name__)

PRECISIONS = ("fp32", "fp16", "bf16")
# "auto" per device type. CPU: fp32, because bf16 autocast moved argmax keypoints by more than
# 0.1 px on average (benchmarks/precision_accuracy.py, README "Speed"); CUDA: fp16, whose error
# on the same measurement is ~8x smaller than bf16's (10 vs 7 mantissa bits), to be confirmed on
# a GPU by benchmarks/gpu_check.sh.
DEFAULT_PRECISION: Dict[str, str] = {"cpu": "fp32", "cuda": "fp16"}


def resolve_precision(precision: str, device_type: str) -> str:
    """``auto`` -> the measured default for the device; anything else is checked.

    Raises:
        ConfigError: an unknown precision name.
    """
    if precision == "auto":
        return DEFAULT_PRECISION.get(device_type, "fp32")
    if precision not in PRECISIONS:
        raise ConfigError(f"unknown precision {precision!r}; choose auto or one of: {', '.join(PRECISIONS)}")
    return precision


def _torch_dtype(precision: str):
    import torch

    return {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]


def _pad(x, size: Optional[int]):
    """Pad a batch with zero crops to ``size`` (static shapes); returns (padded, real count)."""
    import torch

    n = x.shape[0]
    if size is None or n >= size:
        return x, n
    return torch.cat([x, x.new_zeros((size - n, *x.shape[1:]))]), n


class TorchBackend:
    """The network in PyTorch: eager, or ``torch.compile``d.

    Args:
        model: the pose network (BatchNorm already folded if wanted), any device.
        device: where it runs.
        precision: fp32, fp16 or bf16 (autocast; heatmaps are returned as float32).
        channels_last: NHWC memory layout for model and input (faster convolutions on CPU
            oneDNN and on tensor-core GPUs).
        compile: ``torch.compile`` the model; on CUDA with ``max_batch`` set it uses CUDA graphs
            (mode ``reduce-overhead``), else the default mode (no autotuning, so deterministic).
        max_batch: pad every batch to this size (static shapes for CUDA graphs; larger
            batches run unpadded).
    """

    name = "torch"

    def __init__(self, model, device, precision: str = "fp32", channels_last: bool = False,
                 compile: bool = False, max_batch: Optional[int] = None):
        import torch

        self.device = torch.device(device)
        self.precision = resolve_precision(precision, self.device.type)
        self.channels_last = bool(channels_last)
        self.max_batch = max_batch
        model = model.to(self.device).eval()
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        self._forward = model
        self._graphs = False
        if compile:
            self._graphs = self.device.type == "cuda" and bool(max_batch)
            self._forward = torch.compile(model, mode="reduce-overhead" if self._graphs else None, dynamic=False)

    def __call__(self, x):
        import torch

        x, n = _pad(x, self.max_batch)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        reduced = self.precision != "fp32"
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=_torch_dtype(self.precision),
                                                    enabled=reduced):
            if self._graphs:
                torch.compiler.cudagraph_mark_step_begin()
            out = self._forward(x)
        if self._graphs:          # CUDA graph outputs are overwritten by the next replay: copy them out
            return out[:n].float().clone()
        return out[:n].float().contiguous()


#: Lowest ONNX opset posetrack exports (HRNet's resize and the detector's RoIAlign need 11).
MIN_OPSET = 11


def check_opset(opset: int) -> None:
    """Refuse an ONNX opset the installed torch's TorchScript exporter cannot write, before exporting.

    Raises:
        ConfigError: ``opset`` is not an integer in MIN_OPSET..(the exporter's maximum), naming the range.
    """
    try:
        from torch.onnx import _constants
        top = int(getattr(_constants, "ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET", _constants.ONNX_MAX_OPSET))
    except (ImportError, AttributeError):      # a torch without these constants: let the exporter judge
        top = None
    valid = isinstance(opset, int) and not isinstance(opset, bool) and opset >= MIN_OPSET and \
        (top is None or opset <= top)
    if not valid:
        import torch

        upper = f" to {top}" if top is not None else " and up"
        raise ConfigError(f"opset={opset!r} is out of range: the ONNX exporter of torch {torch.__version__} writes opsets "
                          f"{MIN_OPSET}{upper}", field=f"opset={opset!r}")


def export_target(path: Union[str, os.PathLike], opset: int) -> Path:
    """What every ONNX export checks first: the opset in the exporter's range, the onnx package
    present; then the output's folder is made. Returns ``path`` as a Path.

    Raises:
        ConfigError: an opset out of range. MissingDependencyError: no onnx package.
    """
    check_opset(opset)
    try:
        import onnx  # noqa: F401  (the exporter needs it)
    except ImportError:
        raise MissingDependencyError("ONNX export needs the onnx package", "onnx") from None
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def export_onnx(model, path: Union[str, os.PathLike], input_size, *, opset: int = 17) -> Path:
    """Write the pose network as ONNX with a dynamic batch axis (``input`` -> ``heatmaps``).

    Uses the TorchScript-based exporter (it needs only the ``onnx`` package and takes seconds
    for W48). The model is exported as given: fold BatchNorm first for a faster graph.

    Args:
        model: the network (moved to CPU float32 for export; the caller's model is not changed).
        path: the ``.onnx`` file to write.
        input_size: crop (height, width).

    Returns:
        the path written.
    """
    import copy

    import torch

    path = export_target(path, opset)
    net = copy.deepcopy(model).to("cpu", torch.float32).eval()
    h, w = input_size
    with torch.inference_mode(False), torch.no_grad():
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # the input-size check is traced as a constant: intended
            torch.onnx.export(net, (torch.zeros(1, 3, h, w),), str(path), dynamo=False, opset_version=opset,
                              input_names=["input"], output_names=["heatmaps"],
                              dynamic_axes={"input": {0: "batch"}, "heatmaps": {0: "batch"}})
    return path


class OnnxRuntimeBackend:
    """The network in ONNX Runtime (CPU, or CUDA when onnxruntime-gpu is installed).

    Args:
        model: the pose network (exported to a temporary ONNX file), or the path of an
            ``.onnx`` file written by :func:`export_onnx` / ``posetrack export``.
        device: ``cpu`` or ``cuda``; outputs are returned on this device.
        input_size: crop (height, width), needed when exporting ``model``.
        threads: intra-op threads; None uses torch's thread count (same as the torch backend).
        max_batch: pad every batch to this size.
    """

    name = "onnxruntime"

    def __init__(self, model, device="cpu", input_size=None, threads: Optional[int] = None,
                 max_batch: Optional[int] = None, precision: str = "fp32"):
        import torch

        try:
            import onnxruntime as ort
        except ImportError:
            raise MissingDependencyError("backend 'onnxruntime' needs the onnxruntime package", "onnx") from None
        self.device = torch.device(device)
        self.precision = resolve_precision(precision, "cpu")
        if self.precision != "fp32":
            raise ConfigError(f"backend 'onnxruntime' runs fp32 only, not {self.precision}")
        self.max_batch = max_batch
        self._tmp = None
        if isinstance(model, (str, os.PathLike)):
            path = Path(model)
        else:
            if input_size is None:
                input_size = model.config.input_size
            self._tmp = tempfile.TemporaryDirectory(prefix="posetrack-onnx-")
            path = export_onnx(model, Path(self._tmp.name) / "pose.onnx", input_size)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(threads or torch.get_num_threads())
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        providers = ["CPUExecutionProvider"]
        if self.device.type == "cuda":
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise DeviceError("backend 'onnxruntime' on CUDA needs onnxruntime-gpu "
                                  "(this onnxruntime has only: " + ", ".join(ort.get_available_providers()) + ")")
            providers = [("CUDAExecutionProvider", {"device_id": self.device.index or 0})] + providers
        self.session = ort.InferenceSession(str(path), opts, providers=providers)
        self.path = path

    def __call__(self, x):
        import torch

        x, n = _pad(x, self.max_batch)
        out = self.session.run(["heatmaps"], {"input": x.detach().float().cpu().contiguous().numpy()})[0]
        return torch.from_numpy(out[:n]).to(self.device)


class TensorRTBackend:
    """The network compiled by Torch-TensorRT (CUDA only; needs the ``torch_tensorrt`` package).

    Args:
        model: the pose network.
        device: a CUDA device.
        precision: fp32, fp16 or bf16 (TensorRT's enabled precisions).
        max_batch: the largest batch the engine is built for (batches are padded to it).
    """

    name = "tensorrt"

    def __init__(self, model, device="cuda", precision: str = "fp16", max_batch: Optional[int] = None,
                 input_size=None):
        import torch

        self.device = torch.device(device)
        if self.device.type != "cuda":
            raise DeviceError("backend 'tensorrt' needs a CUDA device")
        try:
            import torch_tensorrt
        except ImportError:
            raise MissingDependencyError("backend 'tensorrt' needs the torch_tensorrt package",
                                         install="pip install torch-tensorrt (the build that matches your torch)") from None
        self.precision = resolve_precision(precision, "cuda")
        self.max_batch = int(max_batch or 64)
        h, w = input_size or model.config.input_size
        model = model.to(self.device).eval()
        spec = torch_tensorrt.Input(min_shape=(1, 3, h, w), opt_shape=(self.max_batch, 3, h, w),
                                    max_shape=(self.max_batch, 3, h, w), dtype=torch.float32)
        self._engine = torch_tensorrt.compile(model, ir="dynamo", inputs=[spec],
                                              enabled_precisions={_torch_dtype(self.precision)})

    def __call__(self, x):
        import torch

        x, n = _pad(x, self.max_batch)
        with torch.inference_mode():
            return self._engine(x.float())[:n].float()


BACKENDS: Dict[str, Callable] = {"torch": TorchBackend, "onnxruntime": OnnxRuntimeBackend,
                                 "tensorrt": TensorRTBackend}


def build_backend(name: str, model, *, device, precision: str = "fp32", channels_last: bool = False,
                  compile: bool = False, max_batch: Optional[int] = None):
    """The backend called ``name`` for ``model``; an unknown name lists the valid ones.

    Raises:
        ConfigError: unknown backend or precision. MissingDependencyError: a backend's package is missing.
        DeviceError: the backend cannot run on ``device``.
    """
    if name not in BACKENDS:
        raise ConfigError(f"unknown backend {name!r}; choose one of: {', '.join(BACKENDS)}")
    if name == "torch":
        return TorchBackend(model, device, precision, channels_last=channels_last, compile=compile,
                            max_batch=max_batch)
    if compile or channels_last:
        log.info("backend %s: compile/channels_last apply to the torch backend only; ignored", name)
    if name == "onnxruntime":
        return OnnxRuntimeBackend(model, device, max_batch=max_batch, precision=precision)
    return TensorRTBackend(model, device, precision=precision, max_batch=max_batch)
