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

from typing import List, Literal, Optional, Sequence

import numpy as np

from posetrack.pose.heatmaps import decode_argmax_torch, decode_heatmaps, flip_back_torch
from posetrack.errors import ConfigError
from posetrack.models import DEFAULT_BATCH_SIZE
from posetrack.types import Detections, Poses
from posetrack.pose.crops import affine_matrices, apply_affine, boxes_to_center_scale, crop_opencv, crop_torch

__all__ = ["PoseEstimator", "CROPS"]

CROPS = ("auto", "opencv", "torch")


class PoseEstimator:
    """Estimate keypoints inside person boxes.

    Args:
        model: an HRNet from :func:`posetrack.models.registry.build_pose_model` (its ``config``
            gives the input size, normalisation and keypoint layout). The estimator works on
            a copy when it folds BatchNorm, so the caller's model is left as it was.
        flip_test: average with the mirrored crop's heatmaps (official test setting). Both
            crops run in one forward pass of twice the batch.
        decode: ``argmax`` (official; done on the device, only coordinates travel back) or
            ``dark`` (distribution-aware refinement, on the host).
        device: torch device; defaults to the model's.
        batch_size: person crops per forward pass (crops of several frames share batches).
        crop: ``opencv`` (official ``cv2.warpAffine``, bit-exact), ``torch`` (``grid_sample``
            on the device: frames go up once through pinned memory, crops never come back;
            see the README for its deviation) or ``auto`` (torch on CUDA, opencv on CPU).
        half: alias of ``precision="fp16"`` (the old ``--half`` flag).
        precision: ``auto``, ``fp32``, ``fp16`` or ``bf16``
            (:data:`posetrack.models.backends.DEFAULT_PRECISION` for ``auto``).
        fuse_bn: fold BatchNorm into the convolutions (outputs move by ~1e-6 of their range).
        channels_last: NHWC layout (torch backend); None: on, which measured faster on CPU
            and is the tensor-core layout on GPU.
        compile: ``torch.compile`` the network (torch backend).
        backend: ``torch``, ``onnxruntime`` or ``tensorrt`` (:data:`posetrack.models.backends.BACKENDS`).
        static_batch: pad every forward pass to ``batch_size`` crops (x2 with the flip test):
            one input shape for CUDA graphs and TensorRT, and a crop's result then never
            depends on how many other crops the frame batch had.
    """

    def __init__(self, model, flip_test: bool = True, decode: Literal["argmax", "dark"] = "argmax",
                 device=None, batch_size: int = DEFAULT_BATCH_SIZE, crop: Literal["auto", "opencv", "torch"] = "opencv",
                 half: bool = False, *, precision: str = "fp32", fuse_bn: bool = True,
                 channels_last: Optional[bool] = None, compile: bool = False, backend: str = "torch",
                 static_batch: bool = False):
        import copy

        import torch

        from posetrack.models.backends import build_backend, resolve_precision
        from posetrack.models.bn_folding import fold_batchnorm

        if crop not in CROPS:
            raise ConfigError(f"unknown crop backend {crop!r}; choose one of: {', '.join(CROPS)}")
        if decode not in ("argmax", "dark"):
            raise ConfigError(f"unknown decoding {decode!r}; choose 'argmax' or 'dark'")
        self.config = model.config
        self.layout = model.config.layout
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        cuda = self.device.type == "cuda"
        self.precision = resolve_precision("fp16" if half else precision, self.device.type)
        self.half = self.precision == "fp16"
        self.flip_test = flip_test
        self.decode = decode
        self.batch_size = int(batch_size)
        self.crop = ("torch" if cuda else "opencv") if crop == "auto" else crop
        net = model
        if fuse_bn:
            net = fold_batchnorm(copy.deepcopy(model).eval())
        max_batch = self.batch_size * (2 if flip_test else 1) if static_batch else None
        self.backend = build_backend(backend, net, device=self.device, precision=self.precision,
                                     channels_last=True if channels_last is None else channels_last,
                                     compile=compile, max_batch=max_batch)
        self.model = getattr(self.backend, "model", net)
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
        ar = self.input_wh[0] / self.input_wh[1]
        centers, scales = [], []
        for b in boxes:
            c, s = boxes_to_center_scale(np.asarray(b, dtype=np.float32).reshape(-1, 4), ar)
            centers.append(c)
            scales.append(s)
        return self.estimate_regions(images, centers, scales)

    def estimate_regions(self, images: Sequence[np.ndarray], centers: Sequence[np.ndarray],
                         scales: Sequence[np.ndarray]) -> List[np.ndarray]:
        """Keypoints in regions given as the official centre and scale (what boxes become).

        Training-time validation passes the official ``_xywh2cs`` regions of ground-truth or
        detected boxes here, so it runs the very path ``run`` uses from this point on.

        Args:
            images: F frames, each (H, W, 3) uint8 RGB.
            centers: F arrays (N_i, 2) float32, region centres in frame pixels.
            scales: F arrays (N_i, 2) float32, region width and height / 200 (padding included).

        Returns:
            one (N_i, K, 3) float32 array per frame: x, y in frame pixels and the heatmap score.
        """
        matrices, owners = [], []
        for f, (c, s) in enumerate(zip(centers, scales)):
            if len(c):
                matrices.append(affine_matrices(c, s, self.input_wh))
                owners.append(np.full(len(c), f))
        k = self.layout.num_keypoints
        if not matrices:
            return [np.zeros((0, k, 3), np.float32) for _ in images]
        frames = np.unique(np.concatenate(owners))
        crops = self.crops([images[f] for f in frames], matrices)
        coords, maxvals = self.keypoints_from_crops(crops)
        c = np.concatenate([np.asarray(c, np.float32).reshape(-1, 2) for c in centers])
        s = np.concatenate([np.asarray(s, np.float32).reshape(-1, 2) for s in scales])
        xy = apply_affine(coords, affine_matrices(c, s, self.heatmap_wh, inverse=True))
        result = np.concatenate([xy, maxvals[..., None]], axis=-1).astype(np.float32)
        owner = np.concatenate(owners)
        return [result[owner == f] for f in range(len(images))]

    def crops(self, images: Sequence[np.ndarray], matrices: Sequence[np.ndarray]):
        """Cut the model inputs: one (N_i, 2, 3) forward affine per frame -> (N, 3, h, w) crops.

        ``opencv``: uint8 crops on the host (pinned when the device is a GPU); ``torch``: each
        frame goes to the device once (through pinned memory, asynchronously) and is sampled
        there; the result is float32 in [0, 255] on the device.
        """
        import torch

        if self.crop == "opencv":
            x = np.concatenate([crop_opencv(np.ascontiguousarray(img), m, self.input_wh)
                                for img, m in zip(images, matrices)])
            x = torch.from_numpy(x).permute(0, 3, 1, 2)                   # uint8 NCHW view
            if self.device.type == "cuda":
                x = x.contiguous().pin_memory()
            return x
        out = []
        for img, m in zip(images, matrices):
            out.append(crop_torch(self._upload(img), m, self.input_wh))
        return torch.cat(out)

    def _upload(self, image: np.ndarray):
        """A frame on the device; to a GPU through a pinned staging copy, without blocking."""
        import torch

        src = torch.from_numpy(np.ascontiguousarray(image))
        if self.device.type != "cuda":
            return src.to(self.device)
        staging = torch.empty(src.shape, dtype=src.dtype, pin_memory=True)   # cached by torch's host allocator
        staging.copy_(src)
        return staging.to(self.device, non_blocking=True)

    def keypoints_from_crops(self, crops):
        """Network, flip test and decoding for (N, 3, h, w) crops (uint8 or float in [0, 255]).

        Returns:
            coords (N, K, 2) in heatmap pixels and maxvals (N, K), float32 numpy arrays.
        """
        heatmaps = self.heatmaps(crops)
        if self.decode == "argmax":
            return decode_argmax_torch(heatmaps)
        return decode_heatmaps(heatmaps.cpu().numpy(), self.decode)

    def heatmaps(self, crops):
        """Flip-averaged heatmaps (N, K, h, w) float32 on the device, in batches of ``batch_size`` crops."""
        import torch

        outs = []
        with torch.inference_mode():
            for i in range(0, len(crops), self.batch_size):
                x = crops[i:i + self.batch_size].to(self.device, non_blocking=True).float()
                x = (x / 255.0 - self._mean) / self._std          # ToTensor, then Normalize (official order)
                n = len(x)
                if self.flip_test:
                    hm = self.backend(torch.cat([x, torch.flip(x, dims=[3])]))
                    hm = (hm[:n] + flip_back_torch(hm[n:], self.layout.flip_pairs)) * 0.5
                else:
                    hm = self.backend(x)
                outs.append(hm)
        return torch.cat(outs) if len(outs) > 1 else outs[0]
