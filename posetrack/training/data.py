"""Keypoint data sets on disk: COCO keypoint files, PoseTrack 2018 / 2021 files, and their image folders.

All three are COCO-like JSON: ``images`` (``id``, ``file_name``, optionally ``width``/``height``),
``annotations`` (``image_id``, ``keypoints`` as ``[x, y, v] * K``, ``bbox`` as x, y, w, h,
``area``, ``iscrowd``, ``category_id``). PoseTrack files hold 17 slots in the ``posetrack18``
layout (head_bottom and head_top in COCO's eye slots; the ear slots are never labelled), one
file per video. Where they are (:func:`find_split`):

=============  ===============================================  ==========================================
format         annotation files                                 image ``file_name`` relative to
=============  ===============================================  ==========================================
``coco``       ``ROOT/annotations/person_keypoints_SPLIT.json``  ``ROOT/images/SPLIT``, ``ROOT/SPLIT`` or ``ROOT``
``posetrack18`` ``ROOT/annotations/SPLIT/*.json``               ``ROOT`` (``images/SPLIT/<video>/000000.jpg``)
``posetrack21`` ``ROOT/posetrack_data/SPLIT/*.json``            ``ROOT``
=============  ===============================================  ==========================================

``SPLIT`` may also be a JSON file or a folder of JSON files (a custom set); its images are then
looked up beside it and under ``ROOT``.

Reading is strict (msgspec): a wrong type, a keypoint list of the wrong length, an unknown image
id or a visibility flag outside 0..2 is one error line naming the file, the annotation (index and
id) and the field. The people used for training are selected as the official COCO loader does
(``COCODataset._load_coco_keypoint_annotation_kernal``): category person, not crowd, some keypoint
value non-zero, positive area, and a box that stays valid after ``clean_bbox`` (clipped to the
image, shrunk by one pixel).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Dict, List, Optional, Sequence, Tuple

import msgspec
import numpy as np
from msgspec import Meta

from posetrack.errors import FormatError, InputError
from posetrack.keypoints import KeypointLayout
from posetrack.validation import Coord, Int64, NonNegFinite, Segment, decode_json

__all__ = ["FORMATS", "KeypointSet", "find_split", "read_keypoint_files", "clean_boxes", "data_hash"]

FORMATS = ("coco", "posetrack18", "posetrack21")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


class _Image(msgspec.Struct, gc=False):
    id: Int64
    file_name: str
    width: Optional[Annotated[int, Meta(ge=1, le=100_000)]] = None
    height: Optional[Annotated[int, Meta(ge=1, le=100_000)]] = None


class _Annotation(msgspec.Struct, gc=False):
    image_id: Int64
    id: Optional[Int64] = None
    category_id: Int64 = 1
    keypoints: Optional[List[Coord]] = None
    bbox: Optional[Annotated[List[Coord], Meta(min_length=4, max_length=4)]] = None
    area: Optional[NonNegFinite] = None
    iscrowd: Annotated[int, Meta(ge=0, le=1)] = 0
    num_keypoints: Optional[Annotated[int, Meta(ge=0)]] = None


class _Category(msgspec.Struct, gc=False):
    id: Int64
    name: str = ""
    keypoints: Optional[List[str]] = None


class _KeypointFile(msgspec.Struct, gc=False):
    images: List[_Image]
    annotations: List[_Annotation]
    categories: Optional[List[_Category]] = None


_DECODER = msgspec.json.Decoder(_KeypointFile)


def _labeler(path: List[Segment], doc: Any) -> str:
    """``$.annotations[12].keypoints[4]`` -> ``annotation 12 (id 345), keypoints[4]``."""
    parts: List[str] = []
    if len(path) >= 2 and path[0] in ("annotations", "images") and isinstance(path[1], int):
        word = "annotation" if path[0] == "annotations" else "image"
        ident = ""
        try:
            ident = f" (id {doc[path[0]][path[1]]['id']})"
        except (KeyError, IndexError, TypeError):
            pass
        parts.append(f"{word} {path[1]}{ident}")
        path = path[2:]
    rest = ""
    for seg in path:
        rest += f"[{seg}]" if isinstance(seg, int) else (f".{seg}" if rest else seg)
    if rest:
        parts.append(rest)
    return ", ".join(parts)


@dataclass(frozen=True)
class KeypointSet:
    """The people of a keypoint data set split, ready for training or validation.

    Attributes:
        layout: the keypoint layout of ``joints``.
        files: the annotation files read (sorted).
        image_paths: (I,) image files, one per listed image (also those without people).
        image_ids: (I,) int64 ids as in the files (PoseTrack ids are unique across videos).
        image_sizes: (I, 2) int64 width, height; 0 where the file gives none and no person needs it.
        person_image: (N,) int64 index into the image arrays, per person (file order).
        boxes: (N, 4) float64 ``clean_bbox`` x, y, w, h in pixels.
        joints: (N, K, 2) float64 keypoint x, y in pixels (0 where unlabelled).
        labelled: (N, K) float64 1 for labelled keypoints (COCO visibility 1 or 2), else 0.
        annotation_ids: (N,) int64 (-1 where the file gives none).
        ground_truth: the whole split as a COCO dict for pycocotools (every person annotation,
            crowd and keypoint-less ones included; ``area`` = box area where the file gives none;
            annotation ids renumbered from 1, as COCOeval takes id 0 for "unmatched").
    """

    layout: KeypointLayout
    files: Tuple[Path, ...]
    image_paths: Tuple[Path, ...]
    image_ids: np.ndarray
    image_sizes: np.ndarray
    person_image: np.ndarray
    boxes: np.ndarray
    joints: np.ndarray
    labelled: np.ndarray
    annotation_ids: np.ndarray
    ground_truth: Dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    def __len__(self) -> int:
        return len(self.person_image)

    def subset(self, people: Sequence[int]) -> "KeypointSet":
        """The same set with only the people at ``people`` (indices), e.g. for a quick validation."""
        idx = np.asarray(people, dtype=np.int64)
        return KeypointSet(self.layout, self.files, self.image_paths, self.image_ids, self.image_sizes,
                           self.person_image[idx], self.boxes[idx], self.joints[idx], self.labelled[idx],
                           self.annotation_ids[idx], self.ground_truth)


def _json_files(p: Path) -> List[Path]:
    return sorted(p.glob("*.json")) if p.is_dir() else [p]


def find_split(root: Path, fmt: str, split: str) -> Tuple[List[Path], List[Path]]:
    """The annotation files of a split and the folders its image names may be relative to.

    Raises:
        InputError: no annotation file where the format keeps them (every place tried is named).
    """
    root = Path(root)
    if fmt not in FORMATS:
        raise InputError(f"unknown data format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    given = Path(split) if Path(split).is_absolute() else root / split
    if split.endswith(".json") or (given.is_dir() and any(given.glob("*.json"))):
        files = _json_files(given)
        base = given.parent if given.is_file() else given
        return files, [base, base.parent, root, root / "images"]
    if fmt == "coco":
        tried = [root / "annotations" / f"person_keypoints_{split}.json"]
        images = [root / "images" / split, root / split, root / "images", root]
    elif fmt == "posetrack18":
        tried = [root / "annotations" / split, root / "posetrack_data" / "annotations" / split,
                 root / "annotations" / f"posetrack18_{split}.json"]
        images = [root, root / "posetrack_data"]
    else:
        tried = [root / "posetrack_data" / split, root / "data" / "posetrack_data" / split]
        images = [root, root / "data"]
    for candidate in tried:
        files = _json_files(candidate) if candidate.exists() else []
        if files and all(f.is_file() for f in files):
            return files, images
    raise InputError(f"{root}: no {fmt} annotations for split {split!r}; looked for "
                     + ", ".join(str(t) for t in tried), field="data")


def _image_folder(name: str, bases: Sequence[Path], source: Path) -> Path:
    for base in bases:
        if (base / name).is_file():
            return base
    raise InputError(f"{source}: image {name} is in none of " + ", ".join(str(b) for b in bases))


def _image_size(path: Path) -> Tuple[int, int]:
    """Width and height from the image file's header (PIL reads no pixels)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return im.size
    except (OSError, UnidentifiedImageError) as e:
        raise InputError(f"{path}: not a readable image ({e})") from None


def clean_boxes(boxes: np.ndarray, width: np.ndarray, height: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The official ``clean_bbox``: clip x, y, w, h boxes to the image and shrink them by one pixel.

    ``x1 = max(0, x)``, ``x2 = min(width - 1, x1 + max(0, w - 1))`` (likewise y); the box is
    valid when ``x2 >= x1`` and ``y2 >= y1``.

    Args:
        boxes: (N, 4) x, y, w, h; width, height: (N,) image sizes.

    Returns:
        (N, 4) float64 cleaned x, y, w, h and an (N,) bool mask of valid boxes.
    """
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    x1 = np.maximum(0, b[:, 0])
    y1 = np.maximum(0, b[:, 1])
    x2 = np.minimum(np.asarray(width) - 1, x1 + np.maximum(0, b[:, 2] - 1))
    y2 = np.minimum(np.asarray(height) - 1, y1 + np.maximum(0, b[:, 3] - 1))
    return np.stack([x1, y1, x2 - x1, y2 - y1], axis=1), (x2 >= x1) & (y2 >= y1)


def _check_annotation(ann: _Annotation, i: int, k: int, images: Dict[int, int], source: Path) -> None:
    where = f"{source}: annotation {i}" + (f" (id {ann.id})" if ann.id is not None else "")
    if ann.image_id not in images:
        raise FormatError(f"{where}, image_id: no image has id {ann.image_id}")
    if ann.keypoints is not None and len(ann.keypoints) not in (0, 3 * k):
        raise FormatError(f"{where}, keypoints: expected {3 * k} values ({k} keypoints x, y, v), "
                          f"got {len(ann.keypoints)}")
    if ann.keypoints:
        v = np.asarray(ann.keypoints[2::3])
        bad = np.flatnonzero((v < 0) | (v > 2))
        if len(bad):
            raise FormatError(f"{where}, keypoints[{3 * bad[0] + 2}]: visibility of keypoint {bad[0]} must be "
                              f"0, 1 or 2, got {v[bad[0]]}")
    if ann.bbox is not None and (ann.bbox[2] < 0 or ann.bbox[3] < 0):
        raise FormatError(f"{where}, bbox: width and height must be >= 0, got {ann.bbox[2]}, {ann.bbox[3]}")


def _read_file(path: Path, k: int) -> _KeypointFile:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise FormatError(f"{path}: cannot read ({e.strerror})") from None
    doc = decode_json(raw, _DECODER, str(path), _labeler)
    seen: Dict[int, int] = {}
    for i, im in enumerate(doc.images):
        if im.id in seen:
            raise FormatError(f"{path}: image {i}, id: {im.id} is also image {seen[im.id]}'s id")
        seen[im.id] = i
    for i, ann in enumerate(doc.annotations):
        _check_annotation(ann, i, k, seen, path)
    return doc


class _Collector:
    """The images and people of the files read so far (one per split)."""

    def __init__(self, k: int):
        self.k = k
        self.paths: List[Path] = []
        self.ids: List[int] = []
        self.sizes: List[Tuple[int, int]] = []
        self.index_of: Dict[int, int] = {}
        self.gt_images: List[Dict[str, Any]] = []
        self.gt_anns: List[Dict[str, Any]] = []
        self.people: Dict[str, list] = {"image": [], "box": [], "kp": [], "ann": []}

    def add_images(self, doc: _KeypointFile, path: Path, image_bases: Sequence[Path]) -> Dict[int, int]:
        """Add a file's images (all in the folder its first image is found in); its id -> index."""
        folder = _image_folder(doc.images[0].file_name, image_bases, path)
        local: Dict[int, int] = {}
        for im in doc.images:
            if im.id in self.index_of:
                raise InputError(f"{path}: image id {im.id} is also used in an earlier file")
            self.index_of[im.id] = local[im.id] = len(self.paths)
            self.paths.append(folder / im.file_name)
            self.ids.append(im.id)
            self.sizes.append((im.width or 0, im.height or 0))
            self.gt_images.append({"id": im.id, "file_name": im.file_name})
        return local

    def add_person(self, ann: _Annotation, local: Dict[int, int]) -> None:
        """Add a person annotation to the ground truth, and to the people when the official loader keeps it."""
        k = self.k
        kp = np.zeros((k, 3)) if not ann.keypoints else np.asarray(ann.keypoints, dtype=np.float64).reshape(k, 3)
        box = ann.bbox
        if box is None and kp[:, 2].any():           # PoseTrack: some people carry keypoints but no box
            xy = kp[kp[:, 2] > 0, :2]
            box = [*xy.min(0), *(xy.max(0) - xy.min(0))]
        if box is None:
            return
        area = ann.area if ann.area is not None else float(box[2] * box[3])
        nk = ann.num_keypoints if ann.num_keypoints is not None else int((kp[:, 2] > 0).sum())
        # COCOeval marks an unmatched detection with gt id 0, so ids are renumbered from 1
        self.gt_anns.append({"id": len(self.gt_anns) + 1, "image_id": ann.image_id,
                             "category_id": 1, "keypoints": kp.ravel().tolist(), "num_keypoints": nk,
                             "bbox": [float(v) for v in box], "area": area, "iscrowd": ann.iscrowd})
        if ann.iscrowd or kp.max() == 0 or area <= 0:   # the official selection (max over x, y and v)
            return
        self.people["image"].append(local[ann.image_id])
        self.people["box"].append([float(v) for v in box])
        self.people["kp"].append(kp)
        self.people["ann"].append(ann.id if ann.id is not None else -1)

    def keypoint_set(self, layout: KeypointLayout, files: Sequence[Path]) -> "KeypointSet":
        """The people whose boxes stay valid after ``clean_bbox``, with image sizes read where files give none."""
        k, people = self.k, self.people
        image_sizes = np.asarray(self.sizes, dtype=np.int64).reshape(-1, 2)
        person_image = np.asarray(people["image"], dtype=np.int64)
        for i in np.unique(person_image):
            if image_sizes[i].min() == 0:                      # PoseTrack lists no sizes: read the image header
                image_sizes[i] = _image_size(self.paths[i])
        boxes, valid = clean_boxes(np.asarray(people["box"]).reshape(-1, 4), image_sizes[person_image, 0],
                                   image_sizes[person_image, 1])
        kp = np.asarray(people["kp"]).reshape(-1, k, 3)
        keep = np.flatnonzero(valid)
        gt = {"images": self.gt_images, "annotations": self.gt_anns,
              "categories": [{"id": 1, "name": "person", "keypoints": list(layout.names),
                              "skeleton": [[i + 1, j + 1] for i, j in layout.skeleton]}]}
        return KeypointSet(layout=layout, files=tuple(Path(f) for f in files), image_paths=tuple(self.paths),
                           image_ids=np.asarray(self.ids, dtype=np.int64), image_sizes=image_sizes,
                           person_image=person_image[keep], boxes=boxes[keep], joints=kp[keep, :, :2],
                           labelled=(kp[keep, :, 2] > 0).astype(np.float64),
                           annotation_ids=np.asarray(people["ann"], dtype=np.int64)[keep], ground_truth=gt)


def read_keypoint_files(files: Sequence[Path], image_bases: Sequence[Path], layout: KeypointLayout,
                        person_category: int = 1) -> KeypointSet:
    """Read COCO-like keypoint files into a :class:`KeypointSet` (see the module docstring).

    Args:
        files: annotation JSON files (one for COCO, one per video for PoseTrack).
        image_bases: folders an image's ``file_name`` may be relative to, tried in order (the
            first image found fixes the folder for its file).
        layout: the layout of the files' keypoint slots (COCO and PoseTrack: 17 slots).
        person_category: the ``category_id`` of people.

    Raises:
        FormatError: a file breaks the schema (file, annotation and field named).
        InputError: an image is missing or unreadable (a size is needed), an image id repeats across files.
    """
    collected = _Collector(layout.num_keypoints)
    for path in files:
        doc = _read_file(Path(path), layout.num_keypoints)
        if not doc.images:
            continue
        local = collected.add_images(doc, Path(path), image_bases)
        for ann in doc.annotations:
            if ann.category_id == person_category:
                collected.add_person(ann, local)
    return collected.keypoint_set(layout, files)


def data_hash(files: Sequence[Path]) -> str:
    """SHA-256 of the annotation files' bytes, in the order given (the images are identified by the
    names these files list)."""
    digest = hashlib.sha256()
    for f in files:
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


class _Detection(msgspec.Struct, gc=False):
    image_id: Int64
    bbox: Annotated[List[Coord], Meta(min_length=4, max_length=4)]
    score: Annotated[float, Meta(ge=-1e30, le=1e30)]
    category_id: Int64 = 1


_DETECTIONS = msgspec.json.Decoder(List[_Detection])


def read_detections(path: Path, image_threshold: float = 0.0, person_category: int = 1
                    ) -> Dict[int, Tuple[np.ndarray, np.ndarray]]:
    """Person boxes from a COCO detection-results file (``[{"image_id", "category_id", "bbox", "score"}]``).

    As the official ``_load_coco_person_detection_results``: only the person category, and only
    scores ``>= image_threshold`` (``IMAGE_THRE``, 0.0), in file order.

    Returns:
        image id -> ((n, 4) float64 x, y, w, h boxes, (n,) float64 scores).

    Raises:
        FormatError: the file breaks the schema (entry and field named).
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise FormatError(f"{path}: cannot read ({e.strerror})", field="data.detections") from None
    from posetrack.validation import path_labeler

    entries = decode_json(raw, _DETECTIONS, str(path), path_labeler())
    out: Dict[int, list] = {}
    for e in entries:
        if e.category_id != person_category or e.score < image_threshold:
            continue
        out.setdefault(e.image_id, []).append((e.bbox, e.score))
    return {k: (np.asarray([b for b, _ in v], dtype=np.float64).reshape(-1, 4),
                np.asarray([s for _, s in v], dtype=np.float64)) for k, v in out.items()}
