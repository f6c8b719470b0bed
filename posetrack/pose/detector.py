"""Find people in frames: a torchvision detector, or fixed boxes read from a file.

The detector comes from torchvision's weights API: the person class index is looked up
in ``weights.meta["categories"]`` and images go through ``weights.transforms()``. The
weights file is fetched by :mod:`posetrack.io.download` (cached, hash-checked against the
prefix in torchvision's file name) or given as a local path for offline use.

Fixed boxes (``--boxes dets.json``) make runs reproducible with the same detections,
as the HRNet and FlowTrack papers did; then no detector is built at all.

Example:
    >>> from posetrack.pose.detector import DetectorConfig, build_detector
    >>> detector = build_detector(DetectorConfig(name="fasterrcnn_mobilenet_v3_large_fpn"))  # doctest: +SKIP
    >>> detections = detector([frame_rgb])          # one Detections per frame   # doctest: +SKIP
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor, nn

import msgspec

from posetrack import validation
from posetrack.io import boxes_file
from posetrack.models.checkpoint import load_checkpoint
from posetrack.io.download import Progress, download_url, hash_from_name
from posetrack.errors import ConfigError, FormatError
from posetrack.types import Detections

__all__ = ["DETECTORS", "DetectorConfig", "PersonDetector", "build_detector", "person_label", "load_boxes",
           "boxes_file_format",
           "BoxesFileError"]

log = logging.getLogger(__name__)

# Supported torchvision builders -> names of their post-processing settings
# (score threshold, NMS IoU, detections per image). COCO val2017 box AP over all classes,
# from each weights' meta: 46.7, 37.0, 32.8, 22.8, 41.5.
_RCNN = ("box_score_thresh", "box_nms_thresh", "box_detections_per_img")
_RETINA = ("score_thresh", "nms_thresh", "detections_per_img")
DETECTORS: Dict[str, tuple] = {
    "fasterrcnn_resnet50_fpn_v2": _RCNN,
    "fasterrcnn_resnet50_fpn": _RCNN,
    "fasterrcnn_mobilenet_v3_large_fpn": _RCNN,
    "fasterrcnn_mobilenet_v3_large_320_fpn": _RCNN,
    "retinanet_resnet50_fpn_v2": _RETINA,
}
# Candidates the model's own post-processing may keep per image, over all 90 classes. It
# runs before our person filter, so it must be loose enough never to crowd out people.
_MODEL_CANDIDATES = 1000
# torchvision sets BatchNorm eps to 0 after loading these weights (they were trained that way).
_ZERO_EPS_WEIGHTS = {"FasterRCNN_ResNet50_FPN_Weights.COCO_V1", "RetinaNet_ResNet50_FPN_Weights.COCO_V1"}


@dataclass(frozen=True)
class DetectorConfig:
    """Which detector and how its boxes are filtered (``configs/detector.yaml``).

    Attributes:
        name: a torchvision detection builder, one of :data:`DETECTORS`.
        score_threshold: person boxes scoring below this are dropped. A low floor (torchvision's own
            0.05): which boxes get poses and tracks is the tracker's ``box_score`` (0.5, as in the paper).
        nms_iou: person boxes overlapping a higher-scoring one by more than this IoU are dropped.
        max_detections: most person boxes kept per frame (the highest-scoring ones).
        batch_size: frames per forward pass.
        min_size: shorter image side the model resizes to; None keeps the model's own (800; 320 for the 320 variant).
        max_size: cap on the longer side after resizing; None keeps the model's own.
        half: alias of ``precision: fp16`` (the old setting).
        precision: autocast type of the forward pass: ``auto`` (fp16 on CUDA, fp32 on CPU, where
            fp16 kernels are slow and bf16 is not measured for boxes), ``fp32``, ``fp16`` or ``bf16``.
            Boxes are post-processed in float32 either way.
    """

    name: str = "fasterrcnn_resnet50_fpn_v2"
    score_threshold: float = 0.05
    nms_iou: float = 0.5
    max_detections: int = 100
    batch_size: int = 4
    min_size: Optional[int] = None
    max_size: Optional[int] = None
    half: bool = False
    precision: str = "auto"

    def __post_init__(self) -> None:
        from posetrack.models.backends import PRECISIONS

        if self.precision != "auto" and self.precision not in PRECISIONS:
            raise ConfigError(f"unknown precision {self.precision!r}; choose auto or one of: {', '.join(PRECISIONS)}")
        if self.name not in DETECTORS:
            raise ConfigError(f"unknown detector {self.name!r}; choose one of {', '.join(DETECTORS)}")
        if not 0.0 <= self.score_threshold <= 1.0:
            raise ConfigError(f"score_threshold must be in [0, 1], got {self.score_threshold}")
        if not 0.0 < self.nms_iou <= 1.0:
            raise ConfigError(f"nms_iou must be in (0, 1], got {self.nms_iou}")
        for field in ("max_detections", "batch_size", "min_size", "max_size"):
            value = getattr(self, field)
            if value is not None and value < 1:
                raise ConfigError(f"{field} must be at least 1, got {value}")


def person_label(categories: Sequence[str]) -> int:
    """Index of "person" in a detector's category list (its output label for people)."""
    try:
        return list(categories).index("person")
    except ValueError:
        raise ConfigError(f"the detector's categories have no 'person': {list(categories)[:10]} ...") from None


class PersonDetector:
    """Callable that turns RGB frames into person :class:`Detections`, a batch at a time.

    Args:
        model: a torchvision detection model in eval mode.
        transforms: the weights' own preprocessing (``weights.transforms()``).
        label: the model's output label for people.
        cfg: thresholds and batch size.
    """

    def __init__(self, model: nn.Module, transforms: Callable[[Tensor], Tensor], label: int, cfg: DetectorConfig):
        self.model = model.eval()
        self.transforms = transforms
        self.label = label
        self.cfg = cfg

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def precision(self) -> str:
        """The autocast precision in use: the config's, with ``auto`` (and ``half``) resolved for the device."""
        if self.cfg.half:
            return "fp16"
        if self.cfg.precision == "auto":
            return "fp16" if self.device.type == "cuda" else "fp32"
        return self.cfg.precision

    def to(self, device: Union[str, torch.device]) -> "PersonDetector":
        """Move the model to ``device``; returns self."""
        self.model.to(device)
        return self

    def __call__(self, images: Sequence[np.ndarray]) -> List[Detections]:
        """Detect people.

        Args:
            images: frames, each (H, W, 3) uint8 RGB; sizes may differ.

        Returns:
            one :class:`Detections` per frame, boxes in that frame's pixels, highest score first.
        """
        for i, image in enumerate(images):
            if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3
                    and image.shape[2] == 3):
                raise ValueError(f"image {i}: expected an (H, W, 3) uint8 RGB array, got "
                                 f"{getattr(image, 'dtype', type(image).__name__)} {getattr(image, 'shape', '')}")
        step = self.cfg.batch_size
        return [d for start in range(0, len(images), step) for d in self._batch(images[start:start + step])]

    @torch.inference_mode()
    def _batch(self, images: Sequence[np.ndarray]) -> List[Detections]:
        device = self.device
        tensors = [self.transforms(_upload(im, device).permute(2, 0, 1)) for im in images]
        precision = self.precision
        dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(precision, torch.float32)
        with torch.autocast(device.type, dtype=dtype, enabled=precision != "fp32"):
            outputs = self.model(tensors)
        return [self._postprocess(out, im.shape[0], im.shape[1]) for out, im in zip(outputs, images)]

    def _postprocess(self, output: Mapping[str, Tensor], height: int, width: int) -> Detections:
        """Keep people above the threshold, clip to the frame, suppress overlaps, keep the best few.

        The model's own post-processing already thresholds and suppresses per class; this
        re-states the contract so it holds for every architecture in :data:`DETECTORS`.
        """
        from torchvision.ops import clip_boxes_to_image, nms

        scores = output["scores"].float()
        keep = (output["labels"] == self.label) & (scores >= self.cfg.score_threshold)
        boxes = clip_boxes_to_image(output["boxes"].float()[keep], (height, width))
        scores = scores[keep]
        order = nms(boxes, scores, self.cfg.nms_iou)[: self.cfg.max_detections]
        return Detections(boxes[order].cpu().numpy(), scores[order].cpu().numpy())


def _upload(image: np.ndarray, device: torch.device) -> Tensor:
    """A uint8 frame on ``device``; to a GPU through pinned memory without blocking the host."""
    src = torch.from_numpy(np.ascontiguousarray(image))
    if device.type != "cuda":
        return src.to(device)
    staging = torch.empty(src.shape, dtype=src.dtype, pin_memory=True)   # cached by torch's host allocator
    staging.copy_(src)
    return staging.to(device, non_blocking=True)


def _model_kwargs(cfg: DetectorConfig) -> dict:
    score, iou, per_image = DETECTORS[cfg.name]
    kwargs = {score: cfg.score_threshold, iou: cfg.nms_iou, per_image: _MODEL_CANDIDATES}
    kwargs.update({k: v for k, v in (("min_size", cfg.min_size), ("max_size", cfg.max_size)) if v is not None})
    return kwargs


def _match_torchvision_eps(model: nn.Module, weights) -> None:
    """Repeat torchvision's ``overwrite_eps(model, 0.0)`` for the weights that were trained with it."""
    if str(weights) in _ZERO_EPS_WEIGHTS:
        for module in model.modules():
            if hasattr(module, "running_var") and hasattr(module, "eps"):  # BatchNorm and FrozenBatchNorm
                module.eps = 0.0


def build_detector(cfg: DetectorConfig, weights_path: Union[str, os.PathLike, None] = None, device: str = "cpu",
                   download: bool = True, *, cache_dir: Union[str, os.PathLike, None] = None,
                   progress: Optional[Progress] = None) -> PersonDetector:
    """Build a COCO person detector with torchvision's pretrained weights.

    The architecture is built without weights (``weights=None``, no backbone download), and
    the weights file is loaded strictly through :func:`posetrack.models.checkpoint.load_checkpoint`.

    Args:
        cfg: which model and how to filter its boxes.
        weights_path: a local copy of torchvision's weights file for ``cfg.name`` (offline use);
            None fetches ``weights.url`` into the cache (see :mod:`posetrack.io.download`).
        device: where the model runs.
        download: False never touches the network; the file must then be in the cache.
        cache_dir: overrides the cache folder.
        progress: ``progress(done_bytes, total_bytes_or_None)`` while downloading.

    Raises:
        CheckpointError: the weights cannot be fetched (the message says where to put them) or do not fit.
    """
    from torchvision.models import get_model, get_model_weights

    weights = get_model_weights(cfg.name).DEFAULT
    label = person_label(weights.meta["categories"])
    source = weights_path if weights_path is not None else download_url(
        weights.url, sha256=hash_from_name(weights.url), cache_dir=cache_dir, progress=progress,
        allow_download=download)
    model = get_model(cfg.name, weights=None, weights_backbone=None, num_classes=len(weights.meta["categories"]),
                      **_model_kwargs(cfg))
    load_checkpoint(model, source)
    _match_torchvision_eps(model, weights)
    log.info("detector %s (%s), person label %d", cfg.name, weights, label)
    return PersonDetector(model, weights.transforms(), label, cfg).to(device)


class BoxesFileError(FormatError):
    """A precomputed boxes file is malformed; the message names the file, entry index and field."""


def load_boxes(path: Union[str, os.PathLike], num_frames: Optional[int] = None, category_id: int = 1, *,
               min_score: float = 0.0, frame_size: Optional[Tuple[int, int]] = None,
               input_format: Optional[str] = None, image_names: Optional[Sequence[str]] = None) -> Dict[int, Detections]:
    """Read fixed person boxes from a COCO detection-results JSON list, or another tool's file.

    Each entry is ``{"image_id": 0-based frame index, "bbox": [x, y, w, h], "score": s,
    "category_id": c}``; ``category_id`` may be left out (the entry is then a person). Other
    tools' files (:mod:`posetrack.io.formats`: mmpose, AlphaPose, OpenPose, Ultralytics poses
    give their people's boxes; MOTChallenge ``det.txt`` / ``gt.txt``) are told apart by their
    content, or named by ``input_format``; ``image_names`` (an image folder's files in frame
    order) places files that name their frames by image.

    Args:
        path: the JSON file.
        num_frames: frames in the video; ids beyond it are an error, and frames 0..num_frames-1
            all get an entry. None: frames up to the largest id.
        category_id: the people's category (1 in COCO).
        min_score: drop boxes scoring below this.
        frame_size: (width, height) of the frames in pixels: boxes wholly outside the frame are
            dropped (a box that overlaps it is kept whole). None: not checked.
        input_format: a boxes format of :data:`posetrack.io.formats.INPUT_FORMATS` ("coco": COCO
            detection results); None: told from the content.
        image_names: an image folder's file names in frame order, or None.

    Returns:
        frame index -> :class:`Detections` (x1, y1, x2, y2, highest score first); frames without
        boxes map to empty Detections. Boxes less than 1 px wide or high (no person; the crop
        would be blown up from less than one pixel) and boxes outside the frame are dropped,
        with one warning that counts them.

    Raises:
        BoxesFileError: the file is not UTF-8 JSON, not a list, or an entry is malformed (a missing
            field, a wrong type, a non-finite number, a bbox of other than 4 values, a score outside
            [0, 1], a frame index beyond ``num_frames`` or 10 million); the message names the entry and field.
    """
    path = Path(path)
    fmt = input_format or boxes_file_format(path)
    if fmt != "coco":
        return _foreign_boxes(path, fmt, num_frames, min_score, frame_size, image_names)
    entries = _read_entries(path)
    per_frame: Dict[int, list] = {}
    tiny = outside = 0
    for i, entry in enumerate(entries):
        _check_entry(path, i, entry, num_frames)
        if (entry.category_id is not None and entry.category_id != category_id) or entry.score < min_score:
            continue
        x, y, w, h = entry.bbox
        if w < 1 or h < 1:
            tiny += 1
            continue
        if frame_size is not None and (x + w <= 0 or y + h <= 0 or x >= frame_size[0] or y >= frame_size[1]):
            outside += 1
            continue
        per_frame.setdefault(entry.image_id, []).append((entry.score, [x, y, x + w, y + h]))
    _warn_dropped(path, tiny, outside, frame_size)
    count = num_frames if num_frames is not None else max((e.image_id for e in entries), default=-1) + 1
    return {f: _detections(per_frame.get(f, [])) for f in range(count)}


def _read_entries(path: Path) -> list:
    """The validated entries of a boxes file (:mod:`posetrack.io.boxes_file`)."""
    raw = path.read_bytes()
    validation.check_utf8(raw, str(path), BoxesFileError)
    if not raw.lstrip()[:1] == b"[":
        try:
            kind = type(msgspec.json.decode(raw)).__name__
        except msgspec.DecodeError:
            kind = None
        if kind is not None:
            raise BoxesFileError(f"{path}: expected a JSON list of detections, got a {kind}")
    return boxes_file.decode_boxes(raw, str(path), BoxesFileError)


def _check_entry(path: Path, i: int, entry, num_frames: Optional[int]) -> None:
    """What the schema cannot say: a box of negative size, a frame past the video's end."""
    if entry.bbox[2] < 0 or entry.bbox[3] < 0:
        raise BoxesFileError(f"{path}: entry {i}, bbox: width and height must not be negative, got {entry.bbox}")
    if num_frames is not None and entry.image_id >= num_frames:
        raise BoxesFileError(f"{path}: entry {i}, image_id: {entry.image_id} is past the last frame "
                             f"({num_frames} frames)")


def _warn_dropped(path: Path, tiny: int, outside: int, frame_size: Optional[Tuple[int, int]]) -> None:
    if tiny or outside:
        parts = ([f"{tiny} less than 1 px wide or high"] if tiny else []) + \
            ([f"{outside} wholly outside the {frame_size[0]}x{frame_size[1]} frame"] if outside else [])
        log.warning("%s: dropped %d boxes (%s)", path, tiny + outside, ", ".join(parts))


def boxes_file_format(path: Union[str, os.PathLike]) -> str:
    """The boxes file's format by content, a name of :data:`posetrack.io.formats.INPUT_FORMATS`: "coco"
    when it is none of the others (that reader names what is wrong).

    COCO results may carry ``keypoints`` (an allowed key, :mod:`posetrack.io.boxes_file`), which
    :func:`~posetrack.io.formats.detect_format` takes for AlphaPose; see :func:`_coco_with_keypoints`.

    Raises:
        BoxesFileError: a folder or text file of no format read here.
        OSError: the file cannot be read.
    """
    from posetrack.io.formats import ForeignFormatError, detect_format

    path = Path(path)
    try:
        fmt = detect_format(path)
    except ForeignFormatError as e:
        if path.is_dir() or path.read_bytes()[:4096].lstrip()[:1] not in (b"[", b"{"):
            raise BoxesFileError(str(e)) from None
        return "coco"
    if fmt == "alphapose" and _coco_with_keypoints(path.read_bytes()):
        return "coco"
    return "coco" if fmt == "posetrack" else fmt


def _coco_with_keypoints(raw: bytes) -> bool:
    """Whether a list of ``image_id`` + ``keypoints`` entries is COCO results rather than AlphaPose's.

    AlphaPose writes ``image_id``, ``category_id``, ``keypoints``, ``score``, ``box`` and ``idx``
    (``alphapose/utils/pPose_nms.py``). The first entry is read as COCO results, so that their strict
    keys and scores apply, when it has ``bbox`` (COCO's box), a key AlphaPose does not write that is a
    near miss of a COCO entry key (``scores``, ``bbx``), or no ``box`` but a key AlphaPose does not
    write (``bobx``, ``area``). A COCO file whose ``bbox`` is spelled ``box`` is AlphaPose's by every
    key, and is read as such.
    """
    from posetrack.io.formats.alphapose import Person

    try:
        items = msgspec.json.decode(raw, type=List[msgspec.Raw])
        keys = set(msgspec.json.decode(items[0], type=Dict[str, msgspec.Raw])) if items else set()
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return False
    other = keys - set(Person.__struct_fields__)
    return "bbox" in keys or any(boxes_file.near_miss(k) for k in other) or (bool(other) and "box" not in keys)


def _foreign_boxes(path: Path, fmt: str, num_frames: Optional[int], min_score: float,
                   frame_size: Optional[Tuple[int, int]], image_names) -> Dict[int, Detections]:
    """Boxes of another tool's file (:func:`posetrack.io.formats.read_boxes`), filtered as COCO results are."""
    from posetrack.io.formats import Placement, read_boxes

    frames = read_boxes(path, fmt, Placement(frame_size=frame_size, image_names=image_names))
    if num_frames is not None and frames and frames[-1][0] >= num_frames:
        raise BoxesFileError(f"{path}: frame {frames[-1][0]} (0-based) is past the last frame ({num_frames} frames)")
    per_frame: Dict[int, list] = {}
    tiny = outside = 0
    for f, dets in frames:
        for (x1, y1, x2, y2), score in zip(dets.boxes.tolist(), dets.scores.tolist()):
            if score < min_score:
                continue
            if x2 - x1 < 1 or y2 - y1 < 1:
                tiny += 1
            elif frame_size is not None and (x2 <= 0 or y2 <= 0 or x1 >= frame_size[0] or y1 >= frame_size[1]):
                outside += 1
            else:
                per_frame.setdefault(f, []).append((score, [x1, y1, x2, y2]))
    _warn_dropped(path, tiny, outside, frame_size)
    count = num_frames if num_frames is not None else (frames[-1][0] + 1 if frames else 0)
    return {f: _detections(per_frame.get(f, [])) for f in range(count)}


def _detections(items: list) -> Detections:
    items = sorted(items, key=lambda item: -item[0])  # stable: equal scores keep file order
    if not items:
        return Detections.empty()
    return Detections(np.array([box for _, box in items], np.float32), np.array([s for s, _ in items], np.float32))
