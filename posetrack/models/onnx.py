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
from posetrack.models.detection_parity import DecisionRule, Detections, compare_detections
from posetrack.errors import ConfigError, MissingDependencyError

__all__ = ["ParityResult", "export_pose", "check_pose", "export_detector", "check_detector", "decision_rule",
           "POSE_TOLERANCE", "DETECTOR_TOLERANCE_PX", "EXPORT_FORMATS"]

PathLike = Union[str, os.PathLike]

#: Largest accepted ONNX Runtime - PyTorch difference of float32 heatmaps (ranges are about 10).
POSE_TOLERANCE = 1e-4
#: Largest accepted difference of a detector box corner, in pixels. Measured: 0.02-0.03 px with seeded
#: weights on a 360x480 image (Faster R-CNN ResNet-50 FPN v2 and MobileNet-v3; float32 box decoding
#: after an upscale to 800 px); a tenth of a pixel moves a pose crop by less than decoding resolves.
DETECTOR_TOLERANCE_PX = 0.1


@dataclass(frozen=True)
class ParityResult:
    """ONNX Runtime against PyTorch on the same input.

    Attributes:
        max_abs_error: largest absolute difference of the outputs.
        output_range: max - min of the PyTorch output (for scale).
        shape: the compared output's shape (for the detector: the boxes found in both runs).
        tolerance: the largest ``max_abs_error`` that passes.
        note: what was left out of the comparison and why ("" when nothing was).
    """

    max_abs_error: float
    output_range: float
    shape: tuple
    tolerance: float
    note: str = ""

    @property
    def ok(self) -> bool:
        """Whether the outputs agree within the tolerance."""
        return self.max_abs_error <= self.tolerance


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
    return ParityResult(float(np.abs(got - want).max()), float(want.max() - want.min()), tuple(want.shape),
                        POSE_TOLERANCE)


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

    Only the boxes both runs keep are compared: a box whose score sits on the score threshold, or that
    one run's NMS keeps and the other's suppresses in favour of a (nearly) tied overlapping box, may be
    in one output only (:mod:`posetrack.models.detection_parity`). ``note`` counts those.

    Raises:
        ConfigError: a box is in one output only and no threshold decision explains it.
    """
    import numpy as np
    import torch

    got = Detections(*_ort_session(path).run(["boxes", "labels", "scores"], {"image": image.numpy()}))
    net = copy.deepcopy(model).cpu().float().eval()
    with torch.no_grad():
        out = net([image])[0]
    want = Detections(*(out[k].numpy() for k in ("boxes", "labels", "scores")))
    parity = compare_detections(want, got, decision_rule(net))
    if parity.unexplained:
        run, i = parity.unexplained[0]
        which, box = ("PyTorch", want.boxes[i]) if run == 0 else ("ONNX Runtime", got.boxes[i])
        raise ConfigError(f"{path}: {len(parity.unexplained)} boxes differ between ONNX Runtime "
                          f"({len(got.boxes)} boxes) and PyTorch ({len(want.boxes)}), e.g. {which}'s "
                          f"{np.round(box, 1).tolist()} has no counterpart")
    span = float(want.boxes.max() - want.boxes.min()) if len(want.boxes) else 0.0
    note = f"{parity.tipped} boxes on a score or NMS threshold left out" if parity.tipped else ""
    return ParityResult(parity.max_abs_error, span, (parity.compared, 4), DETECTOR_TOLERANCE_PX, note)


def decision_rule(model) -> DecisionRule:
    """The score threshold, NMS IoU and detection cap of a torchvision Faster R-CNN or RetinaNet."""
    head = getattr(model, "roi_heads", model)
    return DecisionRule(score_thresh=float(head.score_thresh), nms_iou=float(head.nms_thresh),
                        max_detections=int(head.detections_per_img))
