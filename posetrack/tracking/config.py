"""Tracker settings: typed, frozen, loaded from the presets of ``configs/tracker.yaml``.

``configs/tracker.yaml`` holds named **presets** (``flowtrack``: the paper; the default
preset: what measured best) and the ``flow:`` section. A user's YAML file may add presets,
pick one with ``preset:``, and override single settings of it in a ``tracker:`` section::

    preset: flowtrack
    tracker:
      queue: 3
      refine: {enabled: true}

The dataclass defaults are the paper's FlowTrack with every later addition switched off,
so ``TrackerConfig()`` is FlowTrack; the shipped default is ``load_tracking_config()``.

Example:
    >>> from posetrack.tracking.config import load_tracking_config, preset_names
    >>> preset_names()
    ('flowtrack', 'robust')
    >>> tracker, flow = load_tracking_config(preset="flowtrack")
    >>> tracker.queue, tracker.max_lost, flow.method
    (5, None, 'dis')
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Tuple

from posetrack.errors import ConfigError
from posetrack.tracking.cuts import CutConfig
from posetrack.tracking.flow import FlowConfig
from posetrack.tracking.matching import MATCHERS
from posetrack.tracking.motion import MOTIONS, TRACK_MOTIONS

__all__ = ["RefineConfig", "TrackerConfig", "CutConfig", "load_tracking_config", "preset_names", "default_preset",
           "apply_overrides"]


@dataclass(frozen=True)
class RefineConfig:
    """Offline refinement of a whole tracked file (:mod:`posetrack.tracking.refine`); off by default.

    Attributes:
        enabled: refine at all.
        stitch_gap: seconds; a track that starts at most this long after another ended
            may continue it (0: no stitching).
        stitch_distance: the start must lie within this many body heights of the end,
            extrapolated with each fragment's velocity, plus ``stitch_distance_rate``
            heights per second of gap.
        stitch_distance_rate: body heights per second of gap added to the allowed distance.
        stitch_scale: the two fragments' heights may differ by at most this factor.
        split_gap: seconds; tracks are first cut at every gap longer than this next to a piece
            shorter than ``min_track_frames`` (a lost track that took a stranger's pose or two),
            and stitching decides those links again, knowing what came after. None: tracks stay
            whole.
        interpolate_gap: gaps inside a track of at most this many frames are filled by
            linear interpolation (people marked ``interpolated``); 0: none.
        interpolated_score: interpolated joints score this times the lower of the two
            ends' scores.
        interpolated_iou: an interpolated pose whose box overlaps an observed pose of the
            same frame (another track's) by more than this IoU is not added: that person is
            already there, and the gap was a fragment's, not a miss. None: always added.
        stitch_velocity: a pair whose ends move in opposite directions, both faster than this
            many body heights per second, is never stitched (fragments of two people passing
            do; a person stopping or turning on the spot is slower). None: no such veto.
        stitch_appearance: a pair whose colours (:mod:`posetrack.tracking.appearance`) are
            less alike than this is never stitched. None: no such veto (and without the
            video's frames there is nothing to compare).
        reentry_appearance: a track that left the frame and one that entered it are stitched
            only when their colours are at least this alike (position and time say nothing
            about who comes back). None: never.
        reentry_gap: seconds an exit and an entry (or the end and the new start of a person
            hidden in place) may lie apart to be stitched on colours: the re-identification
            horizon of refinement.
        reentry_margin: such a pair is linked only when its colours are this much more alike
            than those of any rival pair of the same ends.
        hidden_distance: a person hidden in place comes back within this many body heights of
            where they were last seen.
        end_poses: the colours of a fragment's end (for ``stitch_appearance``, re-entries and
            people hidden in place) are the mean of its last (first) this many poses' colour
            histograms.
        relink_margin: at every encounter (two tracks within ``relink_distance`` body heights, or
            a track ending or starting within ``relink_reach`` seconds and
            ``relink_reach_distance`` body heights of another), the tracks are cut and the pairing
            of heads and tails is decided again on colours (:mod:`posetrack.tracking.encounters`);
            a new pairing must beat the tracker's by this much (summed similarities). None: off.
        relink_distance: body heights between box centres that make an encounter.
        relink_similarity: a link between colours less alike than this lowers a pairing's score.
        relink_window: poses on each side of an encounter whose colours are compared.
        relink_reach: seconds before and after an encounter in which other tracks' ends and
            starts take part.
        relink_reach_distance: ... within this many body heights of the encounter.
        ambiguous_iou: after re-linking, a pose is left out when another established track
            (``min_track_frames`` poses) is unseen in its frame, seen at most ``ambiguous_gap``
            seconds before and after and expected in front of it, and the pose's box overlaps
            that track's box, moved linearly across the gap, by at least this IoU (0: any overlap).
            Two people in one box: whose pose it is cannot be told (:mod:`posetrack.tracking.ambiguous`).
            None: kept.
        ambiguous_gap: seconds; see ``ambiguous_iou``.
        swap_outlier_iou: before anything is stitched, a pose whose box overlaps the mean box of
            its track's poses in the frames just before and after it by less than this IoU, while
            another track's pose of that frame overlaps that mean by at least ``swap_fit_iou``,
            is exchanged with it (a one-frame swap of greedy matching;
            :mod:`posetrack.tracking.swaps`). None: off.
        swap_fit_iou: see ``swap_outlier_iou``.
        edge_margin: a track "left" (or "entered") the frame when its last (first) box lies
            within this many body heights of the frame's edge, or beyond it.
        min_track_frames: tracks with fewer observed (not interpolated) poses, counted after
            stitching, are removed (a file shorter than twice this uses half its length).
        min_track_score: tracks whose mean box score is below this are removed.
        restitch_chains: after stitching, the chains of fragments so made are stitched once
            more as wholes, so people who come back seen in pieces count as established
            (``min_track_frames``) for the long-gap rules (hidden in place, left and re-entered).
        piece_score: a fragment shorter than ``min_track_frames`` takes part in stitching only
            when its mean box score is at least this (a person seen in pieces is usually seen
            well; a false pose that comes and goes is not); pieces left alone are then removed.
        min_joint_extent: tracks whose confident joints span, on average, less than this
            fraction of their boxes' heights are removed (a pose found on a car or a wall
            bunches its joints). None: kept.
        smooth: One-Euro filtering of every track's keypoints (Casiez et al., CHI 2012).
        smooth_min_cutoff: One-Euro minimum cutoff frequency, Hz.
        smooth_beta: One-Euro speed coefficient, per (pixels per second).
    """

    enabled: bool = False
    stitch_gap: float = 0.0
    stitch_distance: float = 0.5
    stitch_distance_rate: float = 0.5
    stitch_scale: float = 1.3
    interpolate_gap: int = 0
    interpolated_score: float = 0.8
    interpolated_iou: Optional[float] = None
    split_gap: Optional[float] = None
    stitch_velocity: Optional[float] = None
    stitch_appearance: Optional[float] = None
    reentry_appearance: Optional[float] = None
    reentry_gap: float = 0.0
    reentry_margin: float = 0.05
    hidden_distance: float = 1.0
    end_poses: int = 8
    relink_margin: Optional[float] = None
    relink_distance: float = 0.5
    relink_similarity: float = 0.9
    relink_window: int = 20
    relink_reach: float = 1.0
    relink_reach_distance: float = 1.0
    ambiguous_iou: Optional[float] = None
    ambiguous_gap: float = 1.6
    swap_outlier_iou: Optional[float] = None
    swap_fit_iou: float = 0.7
    edge_margin: float = 0.3
    min_track_frames: int = 0
    min_track_score: float = 0.0
    piece_score: float = 0.0
    restitch_chains: bool = False
    min_joint_extent: Optional[float] = None
    smooth: bool = False
    smooth_min_cutoff: float = 1.0
    smooth_beta: float = 0.01

    def __post_init__(self) -> None:
        if not 0.0 < self.smooth_min_cutoff <= 1e3:
            raise ConfigError(f"refine.smooth_min_cutoff must be above 0 and at most 1000 Hz, got {self.smooth_min_cutoff}")
        if self.smooth_beta > 1e3:
            raise ConfigError(f"refine.smooth_beta must be at most 1000, got {self.smooth_beta}")
        for name in ("stitch_gap", "stitch_distance", "stitch_distance_rate", "smooth_beta", "edge_margin",
                     "reentry_gap", "reentry_margin", "hidden_distance", "relink_distance", "relink_reach",
                     "relink_reach_distance", "split_gap", "ambiguous_gap", "stitch_velocity", "relink_margin",
                     "interpolate_gap", "min_track_frames"):                   # None (where allowed) turns the rule off
            if getattr(self, name) is not None and getattr(self, name) < 0:
                raise ConfigError(f"refine.{name} must be 0 or more, got {getattr(self, name)}")
        for name in ("end_poses", "relink_window"):
            if getattr(self, name) < 1:
                raise ConfigError(f"refine.{name} must be at least 1, got {getattr(self, name)}")
        if self.stitch_scale < 1:
            raise ConfigError(f"refine.stitch_scale must be at least 1, got {self.stitch_scale}")
        for name in ("interpolated_score", "min_track_score", "piece_score", "interpolated_iou", "stitch_appearance",
                     "reentry_appearance", "min_joint_extent", "relink_similarity", "ambiguous_iou",
                     "swap_outlier_iou", "swap_fit_iou"):
            if getattr(self, name) is not None and not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"refine.{name} must be in [0, 1], got {getattr(self, name)}")


@dataclass(frozen=True)
class TrackerConfig:
    """Tracker settings; the defaults are the paper's FlowTrack (``configs/tracker.yaml`` states sources).

    FlowTrack (Xiao et al. 2018):
        box_score: poses (and detector boxes) scoring below this are not tracked.
        joint_score: joints scoring at or below this are ignored by similarity and boxes.
        box_expand: relative growth of a propagated joints' box (0.15 = 15%).
        nms_iou: NMS threshold unifying detector and propagated boxes.
        queue: Q, frames of past poses compared with a new pose.
        min_similarity: a pose and a track with a lower flow-based OKS are never matched.
        matching: "greedy" (the paper) or "hungarian".
        motion: how queued poses reach the new frame: "flow" (the paper), "kalman" or "none".

    Later additions (each off at its default):
        preset: the preset these settings came from (informational, recorded in outputs).
        start_score: only poses with a box score at least this start a track; those between
            ``box_score`` and this only continue one (ByteTrack's two thresholds, Zhang et al.
            2022). None: ``box_score`` (one threshold).
        max_lost: seconds a track unseen stays *lost* (predicted by ``lost_motion``, matched
            after the active tracks); None: a track ends when its queue is empty (FlowTrack).
        lost_motion: how lost and occluded tracks move: "kalman" (constant velocity of the
            box in camera-compensated coordinates) or "still" (they stay with the background).
        occlusion: a track whose predicted box is covered by at least this fraction by a
            track nearer the camera moves with ``lost_motion``, not with the flow; None: never.
        camera_motion: estimate the camera's pan and zoom from the flow and compensate lost
            tracks' motion for it.
        lost_growth: OKS tolerance of a lost track grows by this many body heights per
            second unseen (its predicted position is less certain).
        lost_gate: a lost track and a pose whose box centres are more than this many body
            heights apart (plus ``lost_growth`` per second) never match.
        lost_scale: a lost track and a pose whose heights differ by more than this factor
            never match.
        lost_hold: a lost track may also have stopped where it was hidden: its queued poses
            are also compared (and gated) where its motion would have put them after this many
            seconds unseen, and the better of the two places counts; None: constant velocity only.
        lost_margin: a pose that two or more lost tracks resemble (similarity above 0) goes to
            none of them unless the most similar beats the next by this much: it starts a new
            track, and refinement, seeing whole fragments, decides; None: no such rule.
        min_hits: a track matched in fewer frames is tentative: it is not kept lost, it
            ends after Q frames unseen (a one-frame false positive leaves no lost track).
        cascade: the tracks seen in the previous frame first take the poses they match with
            at least this similarity; then all free tracks and poses are matched together.
            None: one matching of all tracks (FlowTrack).
        duplicate_iou: a pose that matched no track and overlaps a tracked pose of the same
            frame by more than this IoU is dropped as a duplicate; None: kept.
        max_propagated: frames a track may be continued by poses from propagated boxes alone
            (no detector box); after that it proposes no box. None: no limit (FlowTrack).
        proposals_start_tracks: whether a pose from a propagated box may start a track.
        costs: the association's cost terms and their weights, by name
            (:data:`posetrack.tracking.association.COST_TERMS`: ``oks``, ``iou``,
            ``appearance``); a weight of 0 leaves a term out.
        oks_floor: pixels added (in quadrature) to every keypoint's spread in the ``oks``
            term: a detector's joints are never more precise than that, however small the
            person (without it two estimates of a 12 px person hardly ever reach OKS 0.3).
        oks_flip: the ``oks`` term also compares each pose mirrored (its left and right joints
            swapped) and keeps the better: estimators swap left and right when a person turns.
        duplicate_oks: poses of one frame at least this alike by OKS, or whose boxes overlap by
            IoU of at least ``duplicate_box_iou``, are near-duplicates. Before association a
            group of them keeps its best-scored poses, as many as the established tracks that
            match any of them (at least one); after it, a near-duplicate of a tracked pose never
            starts a track, and takes the track when it scores higher. None: no merging.
        duplicate_box_iou: see ``duplicate_oks``.
        fallback_iou: after matching by the cost terms, a track seen in the last Q frames that
            matched nothing takes a pose that matched nothing when the box of its joints
            overlaps the track's predicted box by at least this IoU (ByteTrack's second, IoU
            association: an estimator's odd pose of someone turning round is still where they
            are). None: no second chance.
        flow_min_height, flow_full_height: people shorter than ``flow_min_height`` pixels
            move with their box motion model, not the flow; the flow's share rises linearly
            to 1 at ``flow_full_height``. None: the flow is trusted at any size.
        flow_check: with the backward flow (frame k to k-1) given, a track whose joints'
            forward-backward error is large trusts its motion model more
            (:func:`posetrack.tracking.motion.flow_weights`, ``flow_fb_tolerance`` pixels).
        appearance_rate: how fast a track's colour descriptor follows its new poses (0-1).
        appearance_veto: a track and a pose whose colours are less alike than this never match.
            None: no veto.
        reid_horizon: seconds an ended track (lost beyond ``max_lost``) stays in the gallery,
            where a newcomer that looks like it takes its id back. None: no re-identification.
        reid_similarity: colours at least this alike re-identify...
        reid_margin: ...and at least this much more alike than any other ended track.
        reid_speed: ...and only if the person could have walked there: within one body
            height plus this many per second since last seen.
        max_tracks: never more than this many identities: once reached, a newcomer takes the
            id of the free identity (lost or ended) it looks most like, or is left out. None:
            no limit.
        cuts: scene-cut detection (:class:`~posetrack.tracking.cuts.CutConfig`).
        refine: offline refinement of whole files (:class:`RefineConfig`).
    """

    preset: Optional[str] = None
    box_score: float = 0.5
    joint_score: float = 0.4
    box_expand: float = 0.15
    nms_iou: float = 0.4
    queue: int = 5
    min_similarity: float = 0.3
    matching: str = "greedy"
    motion: str = "flow"
    start_score: Optional[float] = None
    max_lost: Optional[float] = None
    lost_motion: str = "kalman"
    occlusion: Optional[float] = None
    camera_motion: bool = False
    lost_growth: float = 0.0
    lost_gate: float = 1.0
    lost_scale: float = 1.5
    lost_hold: Optional[float] = None
    lost_margin: Optional[float] = None
    min_hits: int = 0
    cascade: Optional[float] = None
    duplicate_iou: Optional[float] = None
    max_propagated: Optional[int] = None
    proposals_start_tracks: bool = True
    costs: Dict[str, float] = field(default_factory=lambda: {"oks": 1.0})
    oks_floor: float = 0.0
    oks_flip: bool = False
    duplicate_oks: Optional[float] = None
    duplicate_box_iou: float = 0.7
    fallback_iou: Optional[float] = None
    flow_min_height: Optional[float] = None
    flow_full_height: float = 0.0
    flow_check: bool = False
    flow_fb_tolerance: float = 2.0
    appearance_rate: float = 0.2
    appearance_veto: Optional[float] = None
    reid_horizon: Optional[float] = None
    reid_similarity: float = 0.8
    reid_margin: float = 0.1
    reid_speed: float = 2.0
    max_tracks: Optional[int] = None
    cuts: CutConfig = field(default_factory=CutConfig)
    refine: RefineConfig = field(default_factory=RefineConfig)

    def __post_init__(self) -> None:
        if self.matching not in MATCHERS:
            raise ConfigError(f"unknown matching {self.matching!r}; choose one of: {', '.join(MATCHERS)}")
        if self.motion not in MOTIONS:
            raise ConfigError(f"unknown motion {self.motion!r}; choose one of: {', '.join(MOTIONS)}")
        if self.lost_motion not in TRACK_MOTIONS:
            raise ConfigError(f"unknown lost_motion {self.lost_motion!r}; choose one of: {', '.join(TRACK_MOTIONS)}")
        if self.queue < 1:
            raise ConfigError(f"queue must be at least 1 frame, got {self.queue}")
        for name in ("box_score", "joint_score", "nms_iou", "min_similarity", "start_score", "occlusion",
                     "duplicate_iou", "cascade"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], got {value}")
        for name in ("box_expand", "max_lost", "lost_growth", "lost_gate", "lost_hold", "lost_margin"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ConfigError(f"{name} must be 0 or more, got {value}")
        if self.lost_scale < 1:
            raise ConfigError(f"lost_scale must be at least 1, got {self.lost_scale}")
        if self.min_hits < 0:
            raise ConfigError(f"min_hits must be 0 or more, got {self.min_hits}")
        if self.max_propagated is not None and self.max_propagated < 0:
            raise ConfigError(f"max_propagated must be 0 or more, got {self.max_propagated}")
        from posetrack.tracking.association import COST_TERMS

        unknown = [name for name in self.costs if name not in COST_TERMS]
        if unknown:
            raise ConfigError(f"costs: unknown cost term {unknown[0]!r}; choose from: {', '.join(COST_TERMS)}")
        if any(w < 0 for w in self.costs.values()) or not any(w > 0 for w in self.costs.values()):
            raise ConfigError(f"costs: weights must be 0 or more, at least one above 0, got {dict(self.costs)}")
        for name in ("duplicate_oks", "duplicate_box_iou", "fallback_iou", "appearance_rate", "appearance_veto", "reid_similarity", "reid_margin"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], got {value}")
        for name in ("oks_floor", "flow_min_height", "flow_full_height", "flow_fb_tolerance", "reid_horizon",
                     "reid_speed"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ConfigError(f"{name} must be 0 or more, got {value}")
        if self.flow_min_height is not None and self.flow_full_height <= self.flow_min_height:
            raise ConfigError(f"flow_full_height ({self.flow_full_height}) must be above flow_min_height "
                              f"({self.flow_min_height})")
        if self.max_tracks is not None and self.max_tracks < 1:
            raise ConfigError(f"max_tracks must be at least 1, got {self.max_tracks}")
        if self.start_score is not None and self.start_score < self.box_score:
            raise ConfigError(f"start_score ({self.start_score}) must be at least box_score ({self.box_score})")

    @property
    def start_threshold(self) -> float:
        """The box score a pose needs to start a track."""
        return self.box_score if self.start_score is None else self.start_score


@dataclass(frozen=True)
class _TrackingFile:
    """The sections of a tracker YAML file; a missing section takes the defaults."""

    preset: Optional[str] = None
    presets: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    tracker: Dict[str, Any] = field(default_factory=dict)
    flow: FlowConfig = field(default_factory=FlowConfig)


def _read(name: str) -> _TrackingFile:
    from posetrack.config import load_yaml

    return load_yaml(_TrackingFile, name, kind="tracker config", names=("tracker",))


def preset_names() -> Tuple[str, ...]:
    """The presets shipped in ``configs/tracker.yaml``, in file order."""
    return tuple(_read("tracker").presets)


def default_preset() -> str:
    """The name of the shipped default preset."""
    return _read("tracker").preset or preset_names()[0]


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> Dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, Mapping) and isinstance(out.get(key), Mapping) else value
    return out


def load_tracking_config(name: str = "tracker", preset: Optional[str] = None) -> Tuple[TrackerConfig, FlowConfig]:
    """The tracker settings of a preset and the flow settings, from a shipped config or a YAML path.

    Args:
        name: "tracker" (the shipped ``configs/tracker.yaml``) or a YAML path, whose
            ``presets:`` add to the shipped ones and whose ``tracker:`` section overrides
            single settings of the chosen preset.
        preset: the preset to use; None: the file's ``preset:``, else the shipped default.

    Raises:
        ConfigError: an unknown preset (the message lists them), section or key (with a
            "did you mean"), or a bad value.
    """
    from posetrack.config import config_path, from_dict

    if preset is not None and not str(preset).strip():
        raise ConfigError(f"an empty tracker preset name; choose one of: {', '.join(preset_names())}")
    shipped = _read("tracker")
    user = _read(name) if name != "tracker" else shipped
    presets = {**shipped.presets, **user.presets}
    if user.preset is not None and not user.preset.strip():
        raise ConfigError(f"{name}: preset: an empty tracker preset name; choose one of: {', '.join(presets)}")
    chosen = preset or user.preset or shipped.preset or next(iter(presets), None)
    if chosen not in presets:
        where = "" if name == "tracker" else f"{name}: "
        raise ConfigError(f"{where}unknown tracker preset {chosen!r}; choose one of: {', '.join(presets)}")
    file = config_path(name).name
    for own in user.presets if name != "tracker" else ():     # a user's presets: errors name them
        from_dict(TrackerConfig, {"preset": own, **user.presets[own]}, where=f"{file}: presets.{own}")
    values = _merge({"preset": chosen, **presets[chosen]}, user.tracker)
    where = f"{file}: tracker" if user.tracker else f"{file}: presets.{chosen}"
    return from_dict(TrackerConfig, values, where=where), user.flow


def apply_overrides(config: TrackerConfig, overrides: Mapping[str, Any]) -> TrackerConfig:
    """``config`` with settings replaced; keys may be dotted (``refine.enabled``); string values are YAML.

    Raises:
        ConfigError: an unknown key or a bad value.
    """
    from posetrack.config import from_dict, yaml_load

    nested: Dict[str, Any] = {}
    for key, value in overrides.items():
        if isinstance(value, str):
            value = yaml_load(value)
        *parents, last = key.split(".")
        node = nested
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    return from_dict(TrackerConfig, _merge(dataclasses.asdict(config), nested), where="overrides")
