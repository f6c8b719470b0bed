"""Export the pose network (and the torchvision detector) to ONNX, and check the files with ONNX Runtime.

The pose graph is the HRNet with BatchNorm folded (``posetrack.models.bn_folding``), input ``input``
(B, 3, H, W) float32 ImageNet-normalised RGB, output ``heatmaps`` (B, K, H/4, W/4), with a
dynamic batch axis. Crops, flip test and decoding stay outside the graph: run them with
``PoseEstimator(..., backend="onnxruntime")`` or copy the official pipeline.

The detector graph is torchvision's whole model (resize, normalisation, RPN, box head and
its per-class NMS): input ``image`` (3, H, W) float32 RGB in [0, 1], any H and W; outputs
``boxes`` (N, 4) x1 y1 x2 y2 in input pixels, ``labels`` (N,) and ``scores`` (N,). The person
filter of :class:`posetrack.pose.detector.PersonDetector` is not part of it.

Example:
    >>> from posetrack.models.registry import build_pose_model
    >>> from posetrack.models.onnx import export_pose, check_pose      # doctest: +SKIP
    >>> model = build_pose_model("w48_384x288", weights="coco")         # doctest: +SKIP
    >>> path = export_pose(model, "w48_384x288.onnx")                   # doctest: +SKIP
    >>> check_pose(model, path).max_abs_error < 1e-4                    # doctest: +SKIP
    True
"""
from __future__ import annotations

import copy
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Union

from posetrack.models.backends import export_onnx, export_target
from posetrack.errors import ConfigError, MissingDependencyError

__all__ = ["ParityResult", "export_pose", "check_pose", "export_detector", "check_detector", "EXPORT_FORMATS"]

PathLike = Union[str, os.PathLike]


@dataclass(frozen=True)
class ParityResult:
    """ONNX Runtime against PyTorch on the same input.

    Attributes:
        max_abs_error: largest absolute difference of the outputs.
        output_range: max - min of the PyTorch output (for scale).
        shape: the compared output's shape.
    """

    max_abs_error: float
    output_range: float
    shape: tuple


def _ort_session(path: PathLike):
    try:
        import onnxruntime as ort
    except ImportError:
        raise MissingDependencyError("checking ONNX files needs onnxruntime", "onnx") from None
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def export_pose(model, path: PathLike, *, fuse_bn: bool = True, opset: int = 17) -> Path:
    """Write the pose network as ONNX (BatchNorm folded unless ``fuse_bn`` is False).

    Args:
        model: an HRNet from :func:`posetrack.models.registry.build_pose_model` (left unchanged).
        path: the ``.onnx`` file.

    Returns:
        the path written.
    """
    from posetrack.models.bn_folding import fold_batchnorm

    net = copy.deepcopy(model).cpu().float().eval()
    if fuse_bn:
        net = fold_batchnorm(net)
    return export_onnx(net, path, model.config.input_size, opset=opset)


#: Formats the pose network exports to (``posetrack export --format``) -> the function writing one.
EXPORT_FORMATS = {"onnx": export_pose}


def check_pose(model, path: PathLike, batch: int = 2, seed: int = 0) -> ParityResult:
    """Run the ONNX file and the (unfolded, float32) PyTorch model on one seeded input batch.

    Args:
        model: the model the file was exported from.
        path: the ``.onnx`` file.
        batch: crops in the test batch (a batch size other than the export's 1 checks the dynamic axis).
    """
    import numpy as np
    import torch

    h, w = model.config.input_size
    x = np.random.default_rng(seed).standard_normal((batch, 3, h, w)).astype(np.float32)
    got = _ort_session(path).run(["heatmaps"], {"input": x})[0]
    net = copy.deepcopy(model).cpu().float().eval()
    with torch.no_grad():
        want = net(torch.from_numpy(x)).numpy()
    return ParityResult(float(np.abs(got - want).max()), float(want.max() - want.min()), tuple(want.shape))


def export_detector(model, path: PathLike, *, opset: int = 17, sample_size=(480, 640)) -> Path:
    """Write a torchvision detection model (``PersonDetector.model``) as ONNX with dynamic image size.

    Args:
        model: a torchvision Faster R-CNN / RetinaNet in eval mode (left unchanged).
        path: the ``.onnx`` file.
        sample_size: (height, width) of the tracing image.
    """
    import torch

    path = export_target(path, opset)
    net = copy.deepcopy(model).cpu().float().eval()
    image = torch.rand(3, *sample_size)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")   # torchvision's tracer warnings on size arithmetic are expected
        torch.onnx.export(net, ([image],), str(path), dynamo=False, opset_version=opset, input_names=["image"],
                          output_names=["boxes", "labels", "scores"],
                          dynamic_axes={"image": {1: "height", 2: "width"}, "boxes": {0: "n"}, "labels": {0: "n"},
                                        "scores": {0: "n"}})
    return path


def check_detector(model, path: PathLike, image) -> ParityResult:
    """Run the ONNX detector and the PyTorch one on ``image`` ((3, H, W) float tensor in [0, 1]); compare boxes.

    Raises:
        ConfigError: the two keep different numbers of boxes (the max error is then undefined).
    """
    import numpy as np
    import torch

    got = _ort_session(path).run(["boxes"], {"image": image.numpy()})[0]
    net = copy.deepcopy(model).cpu().float().eval()
    with torch.no_grad():
        want = net([image])[0]["boxes"].numpy()
    if got.shape != want.shape:
        raise ConfigError(f"{path}: ONNX Runtime kept {len(got)} boxes, PyTorch {len(want)}")
    err = float(np.abs(got - want).max()) if len(want) else 0.0
    span = float(want.max() - want.min()) if len(want) else 0.0
    return ParityResult(err, span, tuple(want.shape))
