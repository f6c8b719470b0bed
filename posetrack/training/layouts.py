"""Keypoint layouts for training: the named ones (COCO, PoseTrack 2018) or a user's own from a YAML file.

A layout YAML names the keypoints, their left/right flip pairs and OKS sigmas; a skeleton (for
drawing) and the upper-body keypoints (for the half-body crop) are optional:

.. code-block:: yaml

    name: mouse
    keypoints: [nose, left_ear, right_ear, neck, tail_base]
    flip_pairs: [[left_ear, right_ear]]
    sigmas: [0.026, 0.035, 0.035, 0.079, 0.079]      # COCO convention (pycocotools' values / 10)
    skeleton: [[nose, neck], [left_ear, neck], [right_ear, neck], [neck, tail_base]]
    upper_body: [nose, left_ear, right_ear, neck]     # without it, no half-body crops

Pairs may name keypoints or give their 0-based slots.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple, Union

from posetrack.config import from_dict, yaml_load
from posetrack.errors import ConfigError
from posetrack.keypoints import LAYOUTS, KeypointLayout

__all__ = ["TrainLayout", "LayoutFile", "load_layout", "UPPER_BODY"]

#: The official COCO upper body (``COCODataset.upper_body_ids``): nose, eyes, ears, shoulders, elbows,
#: wrists; the PoseTrack 2018 slots are the same body parts (head_bottom/head_top in the eye slots).
UPPER_BODY = {"coco": tuple(range(11)), "posetrack18": tuple(range(11))}

Ref = Union[str, int]


@dataclass(frozen=True)
class LayoutFile:
    """A layout YAML file's fields (see the module docstring)."""

    name: str
    keypoints: Tuple[str, ...]
    sigmas: Tuple[float, ...]
    flip_pairs: Tuple[Tuple[Ref, Ref], ...] = ()
    skeleton: Tuple[Tuple[Ref, Ref], ...] = ()
    upper_body: Optional[Tuple[Ref, ...]] = None


@dataclass(frozen=True)
class TrainLayout:
    """A keypoint layout plus what training needs beyond it.

    Attributes:
        layout: names, skeleton, flip pairs, OKS sigmas.
        upper_body: slots of the half-body crop's upper body; () disables half-body crops.
        source: the layout's name or its YAML file.
    """

    layout: KeypointLayout
    upper_body: Tuple[int, ...]
    source: str

    @property
    def num_keypoints(self) -> int:
        return self.layout.num_keypoints


def _slot(ref: Ref, names: Tuple[str, ...], where: str) -> int:
    if isinstance(ref, int) and not isinstance(ref, bool):
        if 0 <= ref < len(names):
            return ref
        raise ConfigError(f"{where}: keypoint slot {ref} out of range 0..{len(names) - 1}")
    if ref in names:
        return names.index(ref)
    raise ConfigError(f"{where}: no keypoint named {ref!r}; the layout has: {', '.join(names)}")


def _pairs(pairs, names, where) -> Tuple[Tuple[int, int], ...]:
    return tuple((_slot(a, names, f"{where}[{i}]"), _slot(b, names, f"{where}[{i}]")) for i, (a, b) in enumerate(pairs))


def load_layout(name_or_path: str) -> TrainLayout:
    """A named layout (``coco``, ``posetrack18``) or a layout YAML file (see the module docstring).

    Raises:
        ConfigError: an unknown name, a missing file, unknown fields, a pair naming no keypoint,
            sigmas not one per keypoint, repeated names, or a keypoint flipped twice. The message
            names the file and field.
    """
    if name_or_path in LAYOUTS:
        return TrainLayout(LAYOUTS[name_or_path], UPPER_BODY.get(name_or_path, ()), name_or_path)
    path = Path(name_or_path)
    if not path.is_file():
        raise ConfigError(f"no keypoint layout {name_or_path!r}: give one of {', '.join(sorted(LAYOUTS))} "
                          "or a layout YAML file", field="data.keypoints")
    data = yaml_load(path.read_bytes()) or {}
    spec = from_dict(LayoutFile, data, where=f"{path.name}:")
    names = spec.keypoints
    where = path.name
    if spec.name in LAYOUTS:
        raise ConfigError(f"{where}: name: {spec.name!r} is a shipped layout's name; give your layout another")
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: keypoints: a name is listed twice")
    if len(spec.sigmas) != len(names):
        raise ConfigError(f"{where}: sigmas: {len(spec.sigmas)} values for {len(names)} keypoints")
    if any(s <= 0 for s in spec.sigmas):
        raise ConfigError(f"{where}: sigmas: every sigma must be > 0")
    flips = _pairs(spec.flip_pairs, names, f"{where}: flip_pairs")
    flipped: List[int] = [k for pair in flips for k in pair]
    if len(set(flipped)) != len(flipped) or any(a == b for a, b in flips):
        raise ConfigError(f"{where}: flip_pairs: each keypoint may appear in one pair only, paired with another")
    skeleton = _pairs(spec.skeleton, names, f"{where}: skeleton")
    upper = () if spec.upper_body is None else tuple(_slot(r, names, f"{where}: upper_body") for r in spec.upper_body)
    layout = KeypointLayout(name=spec.name, names=names, skeleton=skeleton, flip_pairs=flips, sigmas=spec.sigmas)
    return TrainLayout(layout, upper, str(path))
