"""The training data pipeline: augmented crops, targets and weights, in a seeded, resumable order.

Samples are addressed by ``(epoch, index)``: the crop of a sample depends only on the seed, the
epoch and its index (:func:`posetrack.training.augment.sample_generators`), and the order of an
epoch only on the seed and the epoch (:func:`epoch_order`). So a run gives the same batches on
any number of loader workers, a resume re-creates the rest of an epoch exactly, and with several
processes (DDP) each rank takes its share of the same global batches that one process would use.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterator, List, Sequence, Tuple

import numpy as np

from posetrack.errors import InputError
from posetrack.pose.crops import xywh_to_center_scale
from posetrack.training.augment import AugmentSettings, apply, draw, sample_generators
from posetrack.training.data import KeypointSet
from posetrack.training.layouts import TrainLayout
from posetrack.training.targets import generate_targets

__all__ = ["read_image", "CropSettings", "KeypointDataset", "epoch_order", "EpochBatches", "collate"]


def read_image(path) -> np.ndarray:
    """An image file as (H, W, 3) uint8 RGB, read as the official loader does (EXIF orientation ignored).

    Raises:
        InputError: the file is missing or not a decodable image (named).
    """
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if image is None:
        raise InputError(f"{path}: missing or not a readable image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


@dataclass(frozen=True)
class CropSettings:
    """What a training crop needs besides the augmentation settings.

    Attributes:
        input_size: (width, height) of the model input.
        heatmap_size: (width, height) of its heatmaps.
        sigma: target Gaussian std in heatmap pixels.
        seed: the run's seed.
    """

    input_size: Tuple[int, int]
    heatmap_size: Tuple[int, int]
    sigma: float
    seed: int


class KeypointDataset:
    """A map-style dataset over ``(epoch, index)`` keys (a ``torch.utils.data.Dataset`` by duck typing).

    Each item is a dict: ``image`` (3, h, w) uint8 RGB crop (normalised on the device),
    ``target`` (K, H, W) float32, ``target_weight`` (K, 1) float32, ``index`` int.
    """

    def __init__(self, people: KeypointSet, layout: TrainLayout, crop: CropSettings,
                 augment: AugmentSettings = AugmentSettings()):
        self.people = people
        self.layout = layout
        self.crop = crop
        self.augment = augment
        w, h = crop.input_size
        self.centers, self.scales = xywh_to_center_scale(people.boxes, w / h)

    def __len__(self) -> int:
        return len(self.people)

    def __getitem__(self, key: Tuple[int, int]) -> Dict[str, object]:
        import torch

        epoch, index = key
        p = self.people
        joints = np.zeros((p.joints.shape[1], 3))
        joints[:, :2] = p.joints[index]
        vis = np.zeros_like(joints)
        vis[:, 0] = vis[:, 1] = p.labelled[index]
        np_rng, py_rng = sample_generators(self.crop.seed, epoch, index)
        settings = self.augment if self.layout.upper_body else _no_half_body(self.augment)
        draws = draw(settings, int(vis[:, 0].sum()), np_rng, py_rng)
        image = read_image(p.image_paths[p.person_image[index]])
        sample = apply(image, joints, vis, self.centers[index], self.scales[index], draws, self.crop.input_size,
                       self.layout.layout.flip_pairs, self.layout.upper_body, settings)
        target, weight = generate_targets(sample.joints, sample.joints_vis, self.crop.input_size,
                                          self.crop.heatmap_size, self.crop.sigma)
        return {"image": torch.from_numpy(np.ascontiguousarray(sample.image.transpose(2, 0, 1))),
                "target": torch.from_numpy(target), "target_weight": torch.from_numpy(weight),
                "index": index}


def _no_half_body(settings: AugmentSettings) -> AugmentSettings:
    import dataclasses

    return dataclasses.replace(settings, half_body_prob=0.0)


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The shuffled sample order of an epoch (official ``SHUFFLE`` true), from (seed, epoch) only."""
    return np.random.default_rng([int(seed), int(epoch), 0x5EED]).permutation(n)


class EpochBatches:
    """The batches of one epoch for one process: lists of ``(epoch, index)`` keys (a batch sampler).

    The epoch's order is cut into global batches of ``batch_size`` (an incomplete last batch is
    dropped, so every process always holds an equal share); rank ``r`` of ``world`` takes the
    ``r``-th slice of each. ``start`` skips the first global batches (a resume in mid-epoch).
    """

    def __init__(self, n: int, batch_size: int, seed: int, epoch: int, start: int = 0, rank: int = 0,
                 world: int = 1):
        if batch_size % world:
            raise InputError(f"batch size {batch_size} is not divisible by the {world} processes",
                             field="optimizer.batch_size")
        self.order = epoch_order(n, seed, epoch)
        self.batch_size, self.epoch, self.start, self.rank, self.world = batch_size, epoch, start, rank, world

    @property
    def steps(self) -> int:
        """Global batches (optimiser steps) in the whole epoch."""
        return len(self.order) // self.batch_size

    def __len__(self) -> int:
        return max(self.steps - self.start, 0)

    def __iter__(self) -> Iterator[List[Tuple[int, int]]]:
        share = self.batch_size // self.world
        for step in range(self.start, self.steps):
            batch = self.order[step * self.batch_size:(step + 1) * self.batch_size]
            yield [(self.epoch, int(i)) for i in batch[self.rank * share:(self.rank + 1) * share]]


def collate(items: Sequence[Dict[str, object]]) -> Dict[str, object]:
    """Stack a batch's items (one tensor per field)."""
    import torch

    return {"image": torch.stack([it["image"] for it in items]),
            "target": torch.stack([it["target"] for it in items]),
            "target_weight": torch.stack([it["target_weight"] for it in items]),
            "index": torch.tensor([it["index"] for it in items])}
