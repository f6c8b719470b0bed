"""Validation during training: COCO keypoint AP (pycocotools) of the official test pipeline.

People are estimated by :class:`posetrack.pose.estimator.PoseEstimator` - the path ``posetrack run``
uses - in ground-truth boxes (the official training-time setting, ``USE_GT_BBOX``) or in the boxes
of a detection-results file, with the flip test. Then, as the official ``COCODataset.evaluate``:

* **rescoring**: a person's score is its box score times the mean of its keypoint scores above
  ``in_vis_threshold`` (0.2), accumulated in float32 as officially (0 when none passes);
* **OKS-NMS** per image at ``oks_threshold`` (0.9) with the layout's sigmas, each person's area
  being its region's ``(scale * 200)`` product (padding included);
* COCO results ``{"image_id", "category_id": 1, "keypoints": [x, y, score] * K, "score"}`` scored
  by ``COCOeval(..., "keypoints")`` with the layout's OKS sigmas.
"""
from __future__ import annotations

import contextlib
import io
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from posetrack.keypoints import KeypointLayout
from posetrack.oks import oks_nms
from posetrack.pose.crops import xywh_to_center_scale
from posetrack.training.config import ValidationSettings
from posetrack.training.data import KeypointSet, read_detections

__all__ = ["STAT_NAMES", "ValResult", "rescore", "image_results", "coco_keypoint_stats", "validation_regions",
           "validate"]

#: ``COCOeval.stats`` for keypoints, in order (the official ``stats_names``).
STAT_NAMES = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")


@dataclass(frozen=True)
class ValResult:
    """One validation.

    Attributes:
        stats: COCO keypoint metrics by :data:`STAT_NAMES` (fractions in [0, 1]; -1 where COCOeval
            has nothing to score).
        images: images evaluated; people: regions estimated; seconds: wall time.
        results: the COCO results scored (what ``COCO.loadRes`` read).
    """

    stats: Dict[str, float]
    images: int
    people: int
    seconds: float
    results: Tuple[Dict[str, Any], ...] = ()

    @property
    def ap(self) -> float:
        return self.stats["AP"]


def rescore(keypoints: np.ndarray, box_scores: np.ndarray, in_vis_threshold: float = 0.2) -> np.ndarray:
    """The official rescoring: box score x mean keypoint score above the threshold.

    Args:
        keypoints: (N, K, 3) float32 x, y, score.
        box_scores: (N,) box scores (1 for ground-truth boxes).

    Returns:
        (N,) float64 person scores.
    """
    s = np.asarray(keypoints, dtype=np.float32)[..., 2]
    passing = s > in_vis_threshold
    # float32, summed joint by joint (cumsum is sequential) like the official Python loop
    total = np.cumsum(np.where(passing, s, np.float32(0)), axis=-1, dtype=np.float32)[..., -1]
    count = passing.sum(-1)
    mean = np.where(count > 0, total / np.maximum(count, 1).astype(np.float32), total)
    return mean.astype(np.float64) * np.asarray(box_scores, dtype=np.float64)


def image_results(image_id: int, keypoints: np.ndarray, box_scores: np.ndarray, scales: np.ndarray,
                  layout: KeypointLayout, settings: ValidationSettings = ValidationSettings()
                  ) -> List[Dict[str, Any]]:
    """The COCO results of one image after rescoring and OKS-NMS (official order: NMS order).

    Args:
        keypoints: (N, K, 3) float32 frame pixels and scores; box_scores: (N,);
        scales: (N, 2) float32 region scales (area = product of ``scale * 200``, as officially).

    Returns:
        result dicts; all N when NMS keeps none (the official fallback), else the kept ones.
    """
    if len(keypoints) == 0:
        return []
    kp = np.asarray(keypoints, dtype=np.float32)
    scores = rescore(kp, box_scores, settings.in_vis_threshold)
    areas = np.prod(np.asarray(scales, dtype=np.float32) * np.float32(200), axis=1).astype(np.float64)
    # the official order is ``scores.argsort()[::-1]``: equal scores in reverse input order, which a stable
    # descending sort of the reversed input gives
    rev = np.arange(len(kp))[::-1]
    keep = rev[oks_nms(kp[rev], scores[rev], areas[rev], layout.sigma_array(), settings.oks_threshold)]
    if len(keep) == 0:
        keep = np.arange(len(kp))
    return [{"image_id": int(image_id), "category_id": 1,
             "keypoints": kp[i].astype(np.float64).ravel().tolist(), "score": float(scores[i])} for i in keep]


def coco_keypoint_stats(ground_truth: Dict[str, Any], results: Sequence[Dict[str, Any]], image_ids: Sequence[int],
                        sigmas: np.ndarray) -> Dict[str, float]:
    """``COCOeval(gt, dt, "keypoints")`` on ``image_ids`` with the given OKS sigmas; pycocotools' printing
    is swallowed (the library never prints).

    Returns:
        :data:`STAT_NAMES` -> value; all 0 when there are no results.
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    if not results:
        return {name: 0.0 for name in STAT_NAMES}
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = ground_truth
        gt.createIndex()
        dt = gt.loadRes(list(results))
        ev = COCOeval(gt, dt, "keypoints")
        ev.params.useSegm = None
        ev.params.imgIds = sorted(int(i) for i in image_ids)
        ev.params.kpt_oks_sigmas = np.asarray(sigmas, dtype=np.float64)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {name: float(v) for name, v in zip(STAT_NAMES, ev.stats)}


@dataclass(frozen=True)
class _Regions:
    image_index: np.ndarray     # (I,) images of the set, in evaluation order
    centers: List[np.ndarray]   # per image (n, 2)
    scales: List[np.ndarray]
    box_scores: List[np.ndarray]


def validation_regions(people: KeypointSet, aspect_ratio: float, detections: Optional[str] = None,
                       image_threshold: float = 0.0, max_images: Optional[int] = None) -> _Regions:
    """The regions to estimate per image: ground-truth boxes (score 1) or detections (file order)."""
    if detections is None:
        order = list(dict.fromkeys(people.person_image.tolist()))
        c, s = xywh_to_center_scale(people.boxes, aspect_ratio)
        per = {i: np.flatnonzero(people.person_image == i) for i in order}
        regions = [(i, c[per[i]], s[per[i]], np.ones(len(per[i]))) for i in order]
    else:
        index = {int(v): i for i, v in enumerate(people.image_ids)}
        regions = []
        for image_id, (boxes, scores) in read_detections(detections, image_threshold).items():
            if image_id in index:
                c, s = xywh_to_center_scale(boxes, aspect_ratio)
                regions.append((index[image_id], c, s, scores))
    if max_images is not None:
        regions = regions[:max_images]
    return _Regions(np.asarray([r[0] for r in regions], dtype=np.int64), [r[1] for r in regions],
                    [r[2] for r in regions], [r[3] for r in regions])


def validate(estimator, people: KeypointSet, settings: ValidationSettings = ValidationSettings(),
             detections: Optional[str] = None, progress: Optional[Callable[[int, int], None]] = None,
             frames_per_batch: int = 8) -> ValResult:
    """COCO keypoint AP of ``estimator`` on a validation set.

    Args:
        estimator: a :class:`~posetrack.pose.estimator.PoseEstimator` (its layout must be the set's).
        people: the validation :class:`~posetrack.training.data.KeypointSet`.
        detections: a COCO detection-results file; None: ground-truth boxes.
        progress: ``progress(images_done, images_total)``.

    Raises:
        InputError: an image cannot be read (named).
    """
    from posetrack.training.dataset import read_image

    t0 = time.perf_counter()
    w, h = estimator.input_wh
    regions = validation_regions(people, w / h, detections, settings.image_threshold, settings.max_images)
    results: List[Dict[str, Any]] = []
    n = len(regions.image_index)
    for start in range(0, n, frames_per_batch):
        chunk = range(start, min(start + frames_per_batch, n))
        images = [read_image(people.image_paths[regions.image_index[i]]) for i in chunk]
        poses = estimator.estimate_regions(images, [regions.centers[i] for i in chunk],
                                           [regions.scales[i] for i in chunk])
        for i, kp in zip(chunk, poses):
            image_id = int(people.image_ids[regions.image_index[i]])
            results += image_results(image_id, kp, regions.box_scores[i], regions.scales[i], people.layout, settings)
        if progress is not None:
            progress(chunk.stop, n)
    # COCOeval scores every image of the split (those without a region count their people as missed), as
    # officially; a quick validation (max_images) scores only the images it estimated
    ids = people.image_ids if settings.max_images is None else people.image_ids[regions.image_index]
    stats = coco_keypoint_stats(people.ground_truth, results, ids, people.layout.sigma_array())
    return ValResult(stats=stats, images=n, people=int(sum(len(c) for c in regions.centers)),
                     seconds=time.perf_counter() - t0, results=tuple(results))
