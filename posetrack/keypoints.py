"""Keypoint layouts: names, skeleton, flip pairs and OKS sigmas, defined once.

Three layouts are used across posetrack:

* ``coco`` — the 17 COCO keypoints predicted by COCO-trained HRNet weights.
* ``posetrack18`` — the 17 slots of PoseTrack 2018 / PoseTrack-fine-tuned weights
  (COCO order, but slots 1 and 2 hold ``head_bottom`` and ``head_top`` instead of the
  eyes; the ear slots are never annotated in PoseTrack).
* ``posetrack17`` — the 15 joints PoseTrack evaluation (poseval) scores, in poseval's
  joint-id order, named as PoseTrack 2018 files name them (joint 12 is ``head_bottom``).
  poseval's own reports call joint 12 "neck" (:data:`POSEVAL_JOINT_NAMES`, derived from it).

Every stage (pose estimation, tracking similarity, export, evaluation, drawing) takes a
:class:`KeypointLayout` instead of assuming one of them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, Tuple

from posetrack.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = ["KeypointLayout", "COCO", "POSETRACK18", "POSETRACK17", "LAYOUTS", "get_layout", "POSEVAL_JOINT_NAMES",
           "POSEVAL_MISSING_SCORE"]


@dataclass(frozen=True)
class KeypointLayout:
    """A named set of keypoints.

    Attributes:
        name: short identifier used in configs and output files.
        names: keypoint names, index = keypoint slot.
        skeleton: limbs as 0-based (i, j) index pairs, for drawing.
        flip_pairs: left/right slot pairs swapped by a horizontal flip.
        sigmas: per-keypoint OKS sigmas (COCO convention: the value that is doubled
            inside the OKS formula), shape (K,).
    """

    name: str
    names: Tuple[str, ...]
    skeleton: Tuple[Tuple[int, int], ...]
    flip_pairs: Tuple[Tuple[int, int], ...]
    sigmas: Tuple[float, ...]

    def __post_init__(self) -> None:
        k = len(self.names)
        if len(self.sigmas) != k:
            raise ValueError(f"layout {self.name!r}: {len(self.sigmas)} sigmas for {k} keypoints")
        for i, j in self.skeleton + self.flip_pairs:
            if not (0 <= i < k and 0 <= j < k):
                raise ValueError(f"layout {self.name!r}: pair ({i}, {j}) out of range for {k} keypoints")

    @property
    def num_keypoints(self) -> int:
        return len(self.names)

    def to_dict(self) -> Dict[str, object]:
        """Plain JSON-able data (lists), as stored in checkpoints; :meth:`from_dict` reads it back."""
        return {"name": self.name, "names": list(self.names), "skeleton": [list(p) for p in self.skeleton],
                "flip_pairs": [list(p) for p in self.flip_pairs], "sigmas": [float(s) for s in self.sigmas]}

    @classmethod
    def from_dict(cls, data: Dict[str, object]) -> "KeypointLayout":
        """The layout :meth:`to_dict` wrote (lists become tuples).

        Raises:
            ConfigError: a missing field, or pairs out of range.
        """
        try:
            return cls(name=str(data["name"]), names=tuple(str(n) for n in data["names"]),
                       skeleton=tuple((int(i), int(j)) for i, j in data.get("skeleton", ())),
                       flip_pairs=tuple((int(i), int(j)) for i, j in data.get("flip_pairs", ())),
                       sigmas=tuple(float(s) for s in data["sigmas"]))
        except (KeyError, TypeError, ValueError) as e:
            raise ConfigError(f"keypoint layout record: {e}") from None

    def index(self, name: str) -> int:
        """Slot of a keypoint by name; raises ConfigError listing the valid names."""
        try:
            return self.names.index(name)
        except ValueError:
            raise ConfigError(f"layout {self.name!r} has no keypoint {name!r}; it has: {', '.join(self.names)}") from None

    def flip_permutation(self) -> np.ndarray:
        """Index array p such that ``flipped[:, p]`` swaps every left/right pair, shape (K,)."""
        import numpy as np      # imported here: model configs carry layouts and are read without numpy

        perm = np.arange(self.num_keypoints)
        for i, j in self.flip_pairs:
            perm[i], perm[j] = j, i
        return perm

    def sigma_array(self) -> np.ndarray:
        """OKS sigmas as a float64 array, shape (K,)."""
        import numpy as np

        return np.asarray(self.sigmas, dtype=np.float64)


# COCO keypoint sigmas (cocoapi, pycocotools/cocoeval.py), divided by 10 as there.
_COCO_SIGMAS = (0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072,
                0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089)

# Limbs shared by the two 17-slot layouts (body part; the face differs).
_BODY_LIMBS = ((15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12),
               (5, 6), (5, 7), (6, 8), (7, 9), (8, 10))
_LR17 = ((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16))

COCO = KeypointLayout(
    name="coco",
    names=("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
           "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
           "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"),
    # COCO's own skeleton (person_keypoints annotations), made 0-based.
    skeleton=_BODY_LIMBS + ((1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6)),
    flip_pairs=_LR17,
    sigmas=_COCO_SIGMAS,
)

POSETRACK18 = KeypointLayout(
    name="posetrack18",
    names=("nose", "head_bottom", "head_top", "left_ear", "right_ear", "left_shoulder",
           "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
           "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"),
    # Head drawn as top -> bottom -> shoulders, with the nose hanging off head_bottom;
    # the ears are never annotated in PoseTrack, so no limb uses them.
    skeleton=_BODY_LIMBS + ((2, 1), (0, 1), (1, 5), (1, 6)),
    flip_pairs=((3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)),
    # mmpose's PoseTrack18 dataset uses the COCO sigmas slot by slot.
    sigmas=_COCO_SIGMAS,
)

POSETRACK17 = KeypointLayout(
    name="posetrack17",
    # poseval joint ids 0..14, named as in PoseTrack 2018 files (poseval's 2018 reader requires these
    # names and maps head_bottom to id 12, which its evaluator calls "neck").
    names=("right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle",
           "right_wrist", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow",
           "left_wrist", "head_bottom", "nose", "head_top"),
    skeleton=((0, 1), (1, 2), (5, 4), (4, 3), (2, 3), (2, 8), (3, 9), (8, 9), (8, 7),
              (7, 6), (9, 10), (10, 11), (14, 12), (13, 12), (12, 8), (12, 9)),
    flip_pairs=((0, 5), (1, 4), (2, 3), (6, 11), (7, 10), (8, 9)),
    # The COCO sigma of the same body part; nose/head as the PoseTrack18 slots.
    sigmas=(0.089, 0.087, 0.107, 0.107, 0.087, 0.089, 0.062, 0.072, 0.079, 0.079,
            0.072, 0.062, 0.025, 0.026, 0.025),
)

#: poseval's names of its joint ids 0..14, as its reports (and ours: ``posetrack eval --json``) print them:
#: the PoseTrack 2018 names of :data:`POSETRACK17`, with joint 12 (head_bottom) called "neck" (poseval's
#: ``eval_helpers.Joint``; the official evaluator's ``joint_names`` in tests/data/eval-parity).
POSEVAL_JOINT_NAMES: Tuple[str, ...] = tuple("neck" if n == "head_bottom" else n for n in POSETRACK17.names)

#: poseval's score for a predicted joint that has none: it ranks below every scored joint.
POSEVAL_MISSING_SCORE = -9999.0

LAYOUTS: Dict[str, KeypointLayout] = {l.name: l for l in (COCO, POSETRACK18, POSETRACK17)}


def get_layout(name: str) -> KeypointLayout:
    """Look up a layout by name; an unknown name lists the valid ones."""
    try:
        return LAYOUTS[name]
    except KeyError:
        raise ConfigError(f"unknown keypoint layout {name!r}; choose one of: {', '.join(sorted(LAYOUTS))}") from None
