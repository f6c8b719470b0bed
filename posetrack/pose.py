"""Top-down pose estimation with the official HRNet COCO test pipeline.

For each person box: centre/scale with the model's aspect ratio (x1.25 padding), an
affine crop with bilinear sampling, ImageNet normalisation, a batched forward pass
(plus the mirrored crop for the flip test), heatmap decoding and the inverse affine
back to frame pixels.

Example:
    >>> estimator = PoseEstimator(build_pose_model("w48_384x288", weights="coco"))
    >>> keypoints = estimator(frame_rgb, boxes_xyxy)      # (N, 17, 3): x, y, score
"""
from __future__ import annotations

from typing import List, Literal, Sequence

import numpy as np

from .decode import decode_heatmaps, flip_back
from .errors import ConfigError
from .structures import Detections, Poses
from .transforms import affine_matrices, apply_affine, boxes_to_center_scale, crop_opencv, crop_torch

__all__ = ["PoseEstimator"]


class PoseEstimator:
    """Estimate keypoints inside person boxes.

    Args:
        model: an HRNet from :func:`posetrack.models.build_pose_model` (its ``config``
            gives the input size, normalisation and keypoint layout).
        flip_test: average with the mirrored crop's heatmaps (official test setting).
        decode: ``argmax`` (official) or ``dark`` (distribution-aware refinement).
        device: torch device; defaults to the model's.
        batch_size: crops per forward pass (crops of several frames share batches).
        crop: ``opencv`` (official ``cv2.warpAffine``, bit-exact) or ``torch``
            (``grid_sample`` on the device; faster on GPU, see README for its deviation).
        half: run the network in float16 (CUDA only).
    """

    def __init__(self, model, flip_test: bool = True, decode: Literal["argmax", "dark"] = "argmax",
                 device=None, batch_size: int = 64, crop: Literal["opencv", "torch"] = "opencv",
                 half: bool = False):
        import torch

        if crop not in ("opencv", "torch"):
            raise ConfigError(f"unknown crop backend {crop!r}; choose 'opencv' or 'torch'")
        if decode not in ("argmax", "dark"):
            raise ConfigError(f"unknown decoding {decode!r}; choose 'argmax' or 'dark'")
        self.config = model.config
        self.layout = model.config.layout
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.half = bool(half) and self.device.type == "cuda"
        self.model = model.to(self.device).eval()
        if self.half:
            self.model = self.model.half()
        self.flip_test = flip_test
        self.decode = decode
        self.batch_size = int(batch_size)
        self.crop = crop
        h, w = self.config.input_size
        self.input_wh = (w, h)
        self.heatmap_wh = (w // 4, h // 4)
        self._mean = torch.tensor(self.config.mean, device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(self.config.std, device=self.device).view(1, 3, 1, 1)

    def __call__(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """Keypoints of the people in ``boxes``.

        Args:
            image: (H, W, 3) uint8 RGB frame.
            boxes: (N, 4) x1, y1, x2, y2 in frame pixels.

        Returns:
            (N, K, 3) float32: x, y in frame pixels and the heatmap score.
        """
        return self.estimate_many([image], [boxes])[0]

    def estimate(self, image: np.ndarray, detections: Detections) -> Poses:
        """Like calling the estimator, but with and returning the stage dataclasses."""
        return self.estimate_batch([image], [detections])[0]

    def estimate_batch(self, images: Sequence[np.ndarray], detections: Sequence[Detections]) -> List[Poses]:
        """Poses in the detections of several frames; all crops share forward batches.

        Args:
            images: F frames, each (H, W, 3) uint8 RGB.
            detections: F :class:`Detections`, the person boxes of each frame.

        Returns:
            F :class:`Poses`, each with its frame's boxes and box scores.
        """
        arrays = self.estimate_many(images, [d.boxes for d in detections])
        return [Poses.from_array(d.boxes, d.scores, kp) for d, kp in zip(detections, arrays)]

    def estimate_many(self, images: Sequence[np.ndarray], boxes: Sequence[np.ndarray]) -> List[np.ndarray]:
        """Keypoints for several frames at once; all crops share forward batches.

        Returns:
            one (N_i, K, 3) array per frame.
        """
        centers, scales, crops, owners = [], [], [], []
        ar = self.input_wh[0] / self.input_wh[1]
        for f, (img, b) in enumerate(zip(images, boxes)):
            b = np.asarray(b, dtype=np.float32).reshape(-1, 4)
            if len(b) == 0:
                continue
            c, s = boxes_to_center_scale(b, ar)
            crops.append(self._crop(img, affine_matrices(c, s, self.input_wh)))
            centers.append(c)
            scales.append(s)
            owners.append(np.full(len(b), f))
        k = self.layout.num_keypoints
        if not crops:
            return [np.zeros((0, k, 3), np.float32) for _ in images]
        heatmaps = self._heatmaps(crops)
        coords, maxvals = decode_heatmaps(heatmaps, self.decode)
        c, s = np.concatenate(centers), np.concatenate(scales)
        xy = apply_affine(coords, affine_matrices(c, s, self.heatmap_wh, inverse=True))
        result = np.concatenate([xy, maxvals[..., None]], axis=-1).astype(np.float32)
        owner = np.concatenate(owners)
        return [result[owner == f] for f in range(len(images))]

    def _crop(self, image: np.ndarray, matrices: np.ndarray):
        if self.crop == "opencv":
            return crop_opencv(np.ascontiguousarray(image), matrices, self.input_wh)
        import torch

        img = torch.as_tensor(np.ascontiguousarray(image), device=self.device)
        return crop_torch(img, matrices, self.input_wh)

    def _heatmaps(self, crops: list) -> np.ndarray:
        """Run the network (and the flip test) on all crops, in batches; (N, K, h, w) float32."""
        import torch

        if self.crop == "opencv":
            x_all = torch.from_numpy(np.concatenate(crops)).permute(0, 3, 1, 2)   # uint8 NCHW on CPU
        else:
            x_all = torch.cat(crops)
        outs = []
        with torch.inference_mode():
            for i in range(0, len(x_all), self.batch_size):
                x = x_all[i:i + self.batch_size].to(self.device, non_blocking=True).float()
                x = (x / 255.0 - self._mean) / self._std          # ToTensor, then Normalize
                if self.half:
                    x = x.half()
                hm = self.model(x).float()
                if self.flip_test:
                    hf = self.model(torch.flip(x, dims=[3])).float().cpu().numpy()
                    hm = (hm.cpu().numpy() + flip_back(hf, self.layout.flip_pairs)) * 0.5
                else:
                    hm = hm.cpu().numpy()
                outs.append(hm)
        return np.concatenate(outs).astype(np.float32)
