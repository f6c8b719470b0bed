"""From poses to tracks: the tracker with its config and state, association (matching), motion
models, optical flow, box propagation and offline refinement.

:class:`~posetrack.tracking.tracker.PoseTracker` (FlowTrack, Xiao et al., ECCV 2018, Sec. 3, and
what we added to it), per frame k:

1. **cuts** (optional): at a scene cut (:mod:`posetrack.tracking.cuts`, decided by the
   caller from the frames) every track ends and nothing carries over;
2. **propagates** its queue (:mod:`posetrack.tracking.prediction`) — the poses of the live tracks seen in the last Q frames —
   into frame k: with the optical flow F(k-1 -> k) (the paper), or its box motion model, or
   not at all (``motion``). Tracks that are *lost* (not seen in frame k-1) or *occluded*
   (their predicted box covered by a track nearer the camera, whose flow would drag them
   along) move with their box motion model instead (:mod:`posetrack.tracking.motion`:
   constant velocity, compensated for the camera's pan and zoom), and so, in part, do tracks
   the flow cannot follow (too small, or forward and backward flow disagreeing:
   :func:`~posetrack.tracking.motion.flow_weights`);
3. **proposes boxes** from the propagated poses of frame k-1, at most one per live track,
   clipped to the frame (``propagation.propose_boxes``); the pipeline unifies them with the
   detector's boxes before pose estimation (:mod:`posetrack.tracking.step`);
4. **associates** the new poses with the tracks: cost terms (:mod:`posetrack.tracking.association`:
   FlowTrack's flow-based OKS, box IoU, appearance, gates) combined by the weights of
   ``costs`` into one similarity; near-duplicate poses are merged first (``duplicate_oks``);
   a matcher from :mod:`posetrack.tracking.matching` pairs them (greedy, as in the paper).
   Poses scoring below ``start_score`` are matched last, to the tracks still free (ByteTrack's
   two thresholds);
5. **spawns** an id for every unmatched pose that may start a track (box score at least
   ``start_score``, a detector box, not a duplicate of a tracked pose): the id of an ended
   track it looks like (re-identification, within ``reid_horizon`` seconds), else a new one
   (never more than ``max_tracks`` ids) — and **retires** tracks: after Q frames unseen (the
   paper), or after ``max_lost`` seconds lost, when they move to the gallery of ended tracks
   that re-identification searches.

The ``flowtrack`` preset of ``configs/tracker.yaml`` (and ``TrackerConfig()``) is the paper;
the default preset adds the rest. Offline refinement of whole files is :mod:`posetrack.tracking.refine`.


The pipeline's one per-frame ``step`` (:mod:`posetrack.tracking.step`) calls these for ``run``,
its foresight and ``track``. Near-duplicate poses: :mod:`posetrack.tracking.duplicates`; where
queued poses go (flow, motion model, occlusion, camera): :mod:`posetrack.tracking.prediction`;
ids of newcomers (gallery, re-identification, ``max_tracks``): :mod:`posetrack.tracking.identities`;
the tracker's tables: :mod:`posetrack.tracking.tables`; offline refinement: :mod:`posetrack.tracking.refine`,
on fragments (:mod:`posetrack.tracking.fragments`), with the pairings at encounters decided again on
colour histograms (:mod:`posetrack.tracking.encounters`) and the poses that could as well be an
unseen neighbour's left out (:mod:`posetrack.tracking.ambiguous`).
"""
