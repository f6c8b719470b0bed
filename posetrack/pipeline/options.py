"""The choices of a run, in four typed parts, and the record a resumed run must match.

:class:`RunOptions` composes four frozen parts, each validated on its own:

* :class:`ModelOptions` (``models``): the pose model and its test-time choices, the person
  detector or a boxes file;
* :class:`TrackingOptions` (``tracking``): the tracker preset and its overrides, refinement,
  how often the detector runs;
* :class:`FrameRange` (``frames``): start, end and stride;
* :class:`RuntimeOptions` (``runtime``): device, precision, backend, batch sizes, threads.

The Python API and the command line name every choice by one flat keyword
(``RunOptions(stride=2)``, ``posetrack.run(..., stride=2)``, ``--stride 2``); each keyword
belongs to exactly one part (:data:`KEYWORDS`), and reading ``opts.stride`` reads
``opts.frames.stride``. The library itself reads the parts.

:class:`ResumeIdentity` lists exactly the options that change a single number of the output:
an interrupted run's journal records it, and a resume must match it.

Example:
    >>> from posetrack.pipeline.options import RunOptions
    >>> opts = RunOptions(stride=2, matching="hungarian")
    >>> opts.frames.stride, opts.tracking.matching, opts.stride
    (2, 'hungarian', 2)
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from posetrack.errors import ConfigError
from posetrack.models import DEFAULT_BATCH_SIZE, DEFAULT_POSE_MODEL
from posetrack.models.devices import effective_precision
from posetrack.validation import MAX_FRAMES, short_repr

__all__ = ["ModelOptions", "TrackingOptions", "FrameRange", "RuntimeOptions", "RunOptions", "KEYWORDS", "HALF",
           "ResumeIdentity", "RESUME_IDENTITY_VERSION", "option_choices", "INT_RANGES", "defaults"]

#: The ``precision`` the ``half`` switch (``--half``) stands for: float16 on CUDA; elsewhere
#: ignored with a warning, the networks running as with "auto" (README "Devices").
HALF = "half"


@dataclass(frozen=True)
class ModelOptions:
    """Which networks find and estimate the people.

    Attributes:
        pose_model: a pose model config name (``posetrack models``) or a YAML path.
        pose_weights: a weights name of the model config (``coco``, ``posetrack18``), a file or a URL;
            None: the config's default.
        detector_name: a torchvision detector (:data:`posetrack.pose.detector.DETECTORS`); None: the one
            configs/detector.yaml names.
        detector_weights: a local detector weights file; None: torchvision's published weights.
        boxes_file: precomputed boxes (COCO detection results, image_id = 0-based frame, or another tool's
            file: :mod:`posetrack.io.formats`); no detector is loaded.
        boxes_format: the boxes file's format, a name of :data:`posetrack.io.formats.INPUT_FORMATS`
            (``--input-format``); None: told from its content.
        flip: the flip test (the official test setting).
        decode: heatmap decoding, one of :data:`posetrack.pose.heatmaps.DECODE_METHODS`.
    """

    pose_model: str = DEFAULT_POSE_MODEL
    pose_weights: Optional[str] = None
    detector_name: Optional[str] = None
    detector_weights: Optional[str] = None
    boxes_file: Optional[str] = None
    boxes_format: Optional[str] = None
    flip: bool = True
    decode: str = "argmax"

    def __post_init__(self) -> None:
        _validate(self)


@dataclass(frozen=True)
class TrackingOptions:
    """How people are linked into tracks.

    Attributes:
        tracker_mode: a preset of ``tracker_config`` (None: its default) or "none" (untracked poses).
        tracker_config: a tracker config name or a YAML path.
        matching: overrides the preset's matching (:data:`posetrack.tracking.matching.MATCHERS`).
        flow_method: overrides the preset's optical flow (:data:`posetrack.tracking.flow.FLOW_METHODS`).
        refine: offline refinement of the finished file, with the preset's refine settings.
        detect_every: run the detector on every N-th frame of the run; FlowTrack's propagated
            boxes carry the people in between (``benchmarks/detect_every.py`` measures the cost).
        max_tracks: never more than this many identities (the tracker's ``max_tracks``); None:
            the preset's (no limit).
    """

    tracker_mode: Optional[str] = None
    tracker_config: str = "tracker"
    matching: Optional[str] = None
    flow_method: Optional[str] = None
    refine: bool = False
    detect_every: int = 1
    max_tracks: Optional[int] = None

    def __post_init__(self) -> None:
        _validate(self)
        if self.tracker_mode == "none" and self.refine:
            raise ConfigError("RunOptions.refine: refinement works on tracks, and tracker_mode is 'none' "
                              "(untracked poses): drop one of them", field="refine", fields=("tracker_mode",))

    @property
    def tracked(self) -> bool:
        """People are tracked (``tracker_mode`` is not "none")."""
        return self.tracker_mode != "none"


@dataclass(frozen=True)
class FrameRange:
    """Which frames of the source a run reads: ``start <= index < end``, every ``stride``-th.

    Attributes:
        start: the first frame (0-based).
        end: the frame to stop before; None: the end of the source.
        stride: every N-th frame.
    """

    start: int = 0
    end: Optional[int] = None
    stride: int = 1

    def __post_init__(self) -> None:
        _validate(self)
        if self.end is not None and self.end <= self.start:
            raise ConfigError(f"RunOptions.end: must be greater than start ({self.start}), got {self.end}",
                              field="end", fields=("start",))


@dataclass(frozen=True)
class RuntimeOptions:
    """Where and how the networks run; only ``precision``, ``backend``, ``compile`` and the batch sizes
    can change a number of the output (floating-point rounding), ``device`` and ``overlap`` never do.

    Attributes:
        device: "auto", "cpu", "cuda", "cuda:N", "N" or "mps" (:func:`posetrack.models.devices.resolve_device`).
        precision: autocast type of the pose and detector networks: "auto" (fp16 on CUDA, fp32
            elsewhere), "fp32", "fp16", "bf16", or :data:`HALF` (float16 on CUDA only, the ``half`` switch).
        backend: where the pose network runs (:data:`posetrack.models.backends.BACKENDS`).
        compile: ``torch.compile`` the pose network.
        batch_size: person crops per pose forward pass.
        frame_batch: frames decoded, detected and estimated together (a journal's states sit at its multiples).
        overlap: compute flow and write outputs on threads while poses are estimated (never changes a result).
    """

    device: str = "auto"
    precision: str = "auto"
    backend: str = "torch"
    compile: bool = False
    batch_size: int = DEFAULT_BATCH_SIZE
    frame_batch: int = 8
    overlap: bool = True

    def __post_init__(self) -> None:
        _validate(self)

    def precision_on(self, device: str) -> str:
        """The precision to run with on the resolved ``device`` ("auto" is resolved further by the backend).

        :data:`HALF` is float16 on CUDA; elsewhere it is ignored with a warning (measured on CPU:
        fp16 autocast has no fast kernels there; README "Speed").
        """
        half = self.precision == HALF
        return effective_precision(device, half, "auto" if half else self.precision)

    def half_record(self, device_type: str):
        """What a tracks file's settings record under ``half``: False, True, or ``"ignored on cpu"``."""
        if self.precision != HALF:
            return False
        return True if device_type == "cuda" else f"ignored on {device_type}"


_PARTS = {"models": ModelOptions, "tracking": TrackingOptions, "frames": FrameRange, "runtime": RuntimeOptions}

#: Every flat keyword of :class:`RunOptions` -> the part that holds it.
KEYWORDS: Dict[str, str] = {f.name: part for part, cls in _PARTS.items() for f in dataclasses.fields(cls)}


@dataclass(frozen=True, init=False)
class RunOptions:
    """The pipeline choices of a run (where results go is :class:`~posetrack.pipeline.outputs.Outputs`).

    Made from flat keywords, each :data:`KEYWORDS` names the part it sets; defaults are the
    paper's setting. ``half=True`` is ``precision="half"`` (the ``--half`` switch).

    Args:
        models, tracking, frames, runtime: the parts (None: their defaults); keywords change them.
        half: True: float16 on CUDA only (see :data:`HALF`), not to be combined with another ``precision``;
            False: not :data:`HALF` (it becomes "auto"); None: as ``precision`` says.
        **keywords: any of :data:`KEYWORDS`.

    Raises:
        ConfigError: an unknown keyword, or a value of the wrong type, range or choice
            (``RunOptions.stride: expected an integer from 1 to 10000000, got -1``), naming the field.
    """

    models: ModelOptions
    tracking: TrackingOptions
    frames: FrameRange
    runtime: RuntimeOptions

    def __init__(self, models: Optional[ModelOptions] = None, tracking: Optional[TrackingOptions] = None,
                 frames: Optional[FrameRange] = None, runtime: Optional[RuntimeOptions] = None, *,
                 half: Optional[bool] = None, **keywords: Any):
        given = {"models": models, "tracking": tracking, "frames": frames, "runtime": runtime}
        for name in keywords:
            if name not in KEYWORDS:
                raise ConfigError(f"RunOptions: unknown option {name!r}", field=name)
        keywords = _with_half(half, keywords, runtime)
        for part, cls in _PARTS.items():
            value = cls() if given[part] is None else given[part]
            if not isinstance(value, cls):
                raise ConfigError(f"RunOptions.{part}: expected a {cls.__name__}, got {short_repr(value)}",
                                  field=part)
            changes = {k: v for k, v in keywords.items() if KEYWORDS[k] == part}
            object.__setattr__(self, part, dataclasses.replace(value, **changes) if changes else value)

    def __getattr__(self, name: str) -> Any:
        """A flat keyword reads its part's field: ``opts.stride`` is ``opts.frames.stride``."""
        part = KEYWORDS.get(name)
        if part is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return getattr(getattr(self, part), name)

    @property
    def half(self) -> bool:
        """``precision`` is :data:`HALF` (the ``--half`` switch)."""
        return self.runtime.precision == HALF

    @staticmethod
    def keywords() -> Tuple[str, ...]:
        """Every keyword :class:`RunOptions` takes (the parts' fields, then ``half``)."""
        return (*KEYWORDS, "half")

    def flat(self) -> Dict[str, Any]:
        """Every keyword's value, in :data:`KEYWORDS` order (``RunOptions(**opts.flat()) == opts``)."""
        return {name: getattr(getattr(self, part), name) for name, part in KEYWORDS.items()}


def _with_half(half: Any, keywords: Dict[str, Any], runtime: Optional[RuntimeOptions]) -> Dict[str, Any]:
    """``keywords`` with the ``half`` switch turned into its precision."""
    if half is None:
        return keywords
    if not isinstance(half, bool):
        raise ConfigError(f"RunOptions.half: expected True or False, got {short_repr(half)}", field="half")
    asked = keywords.get("precision", runtime.precision if runtime is not None else "auto")
    if not half:
        return {**keywords, "precision": "auto"} if asked == HALF else keywords
    if asked not in ("auto", HALF):
        raise ConfigError(f"RunOptions.half: half is float16 on CUDA, and precision is {short_repr(asked)}: give one "
                          "of them", field="half", fields=("precision",))
    return {**keywords, "precision": HALF}


# ---------------------------------------------------------------- validation

#: Fields that name files: given as pathlib.Path, kept as str.
_PATH_FIELDS = ("pose_model", "pose_weights", "detector_weights", "boxes_file", "tracker_config")
_TEXT_FIELDS = ("pose_model", "pose_weights", "detector_name", "detector_weights", "boxes_file", "boxes_format",
                "tracker_mode", "tracker_config", "device")
_OPTIONAL_FIELDS = ("pose_weights", "detector_name", "detector_weights", "boxes_file", "boxes_format", "tracker_mode",
                    "matching", "flow_method", "end", "max_tracks")
_BOOL_FIELDS = ("refine", "compile", "flip", "overlap")
_INT64_MAX = 2 ** 63 - 1
#: Crops or frames in one batch: 65536 crops of 384x288 are 86 GB of input; more is a mistake.
_MAX_BATCH = 65536
#: (lowest, highest) of the integer fields; strides reach the tracks file's frame limit.
INT_RANGES: Dict[str, Tuple[int, int]] = {
    "start": (0, _INT64_MAX), "end": (1, _INT64_MAX), "stride": (1, MAX_FRAMES), "detect_every": (1, MAX_FRAMES),
    "max_tracks": (1, _INT64_MAX), "batch_size": (1, _MAX_BATCH), "frame_batch": (1, _MAX_BATCH)}


def defaults() -> Dict[str, Any]:
    """Every keyword's default value (the command line shows these), read without validating anything."""
    return {f.name: f.default for cls in _PARTS.values() for f in dataclasses.fields(cls)}


def _matchers() -> Tuple[str, ...]:
    from posetrack.tracking.matching import MATCHERS   # reason: imports numpy (the CLI reads defaults without it)

    return tuple(MATCHERS)


def _flow_methods() -> Tuple[str, ...]:
    from posetrack.tracking.flow import FLOW_METHODS   # reason: imports numpy (the CLI reads defaults without it)

    return tuple(FLOW_METHODS)


def _precisions() -> Tuple[str, ...]:
    from posetrack.models.backends import PRECISIONS   # reason: the CLI reads defaults without the backends

    return ("auto", *PRECISIONS)


def _backends() -> Tuple[str, ...]:
    from posetrack.models.backends import BACKENDS   # reason: the CLI reads defaults without the backends

    return tuple(BACKENDS)


def _decode_methods() -> Tuple[str, ...]:
    from posetrack.pose.heatmaps import DECODE_METHODS   # reason: imports numpy (the CLI reads defaults without it)

    return tuple(DECODE_METHODS)


def _boxes_formats() -> Tuple[str, ...]:
    from posetrack.io.formats import INPUT_FORMATS   # reason: imports numpy (the CLI reads defaults without it)

    return tuple(name for name in INPUT_FORMATS if name != "posetrack")    # a tracks file holds poses, not boxes


#: Keyword -> its valid values, read from the strategy table that uses them.
_CHOICES = {"boxes_format": _boxes_formats, "matching": _matchers, "flow_method": _flow_methods, "precision": _precisions, "backend": _backends,
            "decode": _decode_methods}


def option_choices(*names: str) -> Dict[str, Tuple[str, ...]]:
    """The valid values of the options chosen by name (all of them, or ``names``), from their registries.

    ``precision`` also takes :data:`HALF`, the ``half`` switch's value (not listed: it is a switch of its own).
    """
    return {name: _CHOICES[name]() for name in (names or _CHOICES)}


def _validate(part) -> None:
    """Check the type, range and choice of every field of ``part`` (paths given as ``os.PathLike`` become str).

    Raises:
        ConfigError: ``RunOptions.<field>: expected ..., got ...``, with ``field`` set.
    """
    choices = option_choices(*(f.name for f in dataclasses.fields(part) if f.name in _CHOICES))
    for f in dataclasses.fields(part):
        name, value = f.name, getattr(part, f.name)
        if name in _PATH_FIELDS and isinstance(value, os.PathLike):
            value = os.fspath(value)
            object.__setattr__(part, name, value)
        if value is None and name in _OPTIONAL_FIELDS:
            continue
        problem = _problem(name, value, choices.get(name))
        if problem:
            raise ConfigError(f"RunOptions.{name}: {problem}", field=name)


def _problem(name: str, value: Any, choices: Optional[Tuple[str, ...]]) -> Optional[str]:
    """What is wrong with ``value`` for field ``name`` (None: nothing)."""
    optional = " or None" if name in _OPTIONAL_FIELDS else ""
    if name in _TEXT_FIELDS and not (isinstance(value, str) and value):
        return f"expected a non-empty string{optional}, got {short_repr(value)}"
    if name in _BOOL_FIELDS and not isinstance(value, bool):
        return f"expected True or False, got {short_repr(value)}"
    if name in INT_RANGES:
        low, high = INT_RANGES[name]
        if isinstance(value, bool) or not isinstance(value, int):
            return f"expected an integer, got {short_repr(value)}"
        if not low <= value <= high:
            return f"expected an integer from {low} to {high}, got {short_repr(value)}"
    if choices is not None and value not in choices and not (name == "precision" and value == HALF):
        return f"expected one of {', '.join(choices)}, got {short_repr(value)}"
    return None


# ---------------------------------------------------------------- the resume identity

#: Version of :class:`ResumeIdentity`; a journal recording another version (or none: posetrack
#: before it existed) cannot be resumed.
RESUME_IDENTITY_VERSION = 3      # 2: boxes_format (the boxes file's format, issue 20); 3: max_tracks (issue 16)


@dataclass(frozen=True)
class ResumeIdentity:
    """Every run option that changes a single number of the output: a resume must match each one.

    Input files are not here: the journal identifies the boxes file, the weights and the
    tracker config by their contents (:func:`posetrack.pipeline.outputs.input_files`), so the
    same file named another way resumes. ``device`` (only its type counts) and ``overlap`` never
    change a result and are left out. Adding a field, or changing what one means, raises
    :data:`RESUME_IDENTITY_VERSION`.

    Attributes:
        version: :data:`RESUME_IDENTITY_VERSION`.
        device_type: "cpu", "cuda" or "mps": kernels differ in their last bits.
        others: the :class:`RunOptions` keywords of the same name.
    """

    version: int
    pose_model: str
    detector_name: Optional[str]
    boxes_format: Optional[str]
    flip: bool
    decode: str
    tracker_mode: Optional[str]
    matching: Optional[str]
    flow_method: Optional[str]
    refine: bool
    detect_every: int
    max_tracks: Optional[int]
    start: int
    end: Optional[int]
    stride: int
    precision: str
    backend: str
    compile: bool
    batch_size: int
    frame_batch: int
    device_type: str

    @classmethod
    def of(cls, opts: RunOptions, device: str) -> "ResumeIdentity":
        """The identity of a run with ``opts`` on the resolved ``device`` ("cuda:1" counts as "cuda")."""
        named = {f.name: getattr(opts, f.name) for f in dataclasses.fields(cls) if f.name in KEYWORDS}
        return cls(version=RESUME_IDENTITY_VERSION, device_type=device.split(":")[0], **named)

    def to_dict(self) -> Dict[str, Any]:
        """As the journal head's ``run`` holds it: a plain JSON-ready dict."""
        return dataclasses.asdict(self)
