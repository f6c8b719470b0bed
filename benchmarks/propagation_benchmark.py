"""The `run` path with box proposals, simulated: FlowTrack and the robust preset against a greedy-IoU baseline.

`posetrack run` estimates poses in boxes proposed by the tracker (FlowTrack's propagated
boxes); `posetrack track` cannot (it has no pose estimator), so the rendered benchmark
(``tracking_benchmark.py``) does not exercise them. This one simulates the pose estimator
(the true pose of the person a box overlaps, with jitter) so that proposal settings
(``nms_iou``, ``queue``, ``max_propagated``) can be measured. Nothing is rendered; flow is
synthetic. Each sequence is a street scene of walking people:

* people walk mostly sideways with inertia (velocity relaxes to a preferred speed of
  0.8-4 px per frame per 100 px of height, plus noise), legs and arms swing with their
  stride, size follows depth (farther = smaller and higher in the frame), people enter
  from the sides and leave at the edges, so people at similar depths cross each other;
* half of the sequences pan the camera (a smoothly varying 0-6 px/frame);
* occlusion: nearer people and static pillars hide farther people (a person less than
  30% visible is not annotated and cannot be detected; hidden joints are not annotated);
* the detector misses a visible person with probability 0.1 + 0.4 * (hidden fraction),
  jitters boxes by 4% of their size, gives scores around 0.85 scaled down by
  occlusion, and adds false positives (0.3 per frame, score 0.3-0.75);
* the "pose estimator" returns, for a box overlapping a visible person's true box by
  IoU >= 0.3, that person's pose with 3%-of-height keypoint jitter (hidden joints: 10%
  and a low score), else a junk pose with low scores;
* optical flow is each person's true box motion painted over their box (nearer people
  over farther ones, the static world moving with the camera) plus 0.5 px noise per
  pixel; joints move by their own stride, so flow-moved joints are off by the limb swing.

MOTA is CLEAR-MOT (Bernardin & Stiefelhagen 2008) per person: a prediction matches an
annotated person when their OKS (over the person's visible joints, box area as scale)
is at least 0.5; correspondences persist while they stay above the threshold, the rest
are assigned by Hungarian matching; MOTA = 1 - (misses + false positives + id switches)
/ annotated people. (PoseTrack's MOTA is per joint; this is the per-person analogue.)

Usage::

    python benchmarks/propagation_benchmark.py                 # main table
    python benchmarks/propagation_benchmark.py --sweep         # + min_similarity and nms_iou sweeps
    python benchmarks/propagation_benchmark.py --sequences 4 --frames 60   # quick look
"""
from __future__ import annotations

import argparse
import dataclasses
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np

from posetrack.keypoints import COCO
from posetrack.tracking.matching import match
from posetrack.oks import box_areas, oks_matrix
from posetrack.boxes import box_iou
from posetrack.tracking.propagation import unify_boxes
from posetrack.types import Detections, FrameResult, Poses
from posetrack.tracking.tracker import PoseTracker, TrackerConfig, load_tracking_config

W, H = 640, 360
K = 17
# COCO joints of a standing person, x right and y down in units of body height, feet at 0.
TEMPLATE = np.array([
    [0.0, -0.93], [-0.02, -0.95], [0.02, -0.95], [-0.045, -0.94], [0.045, -0.94],
    [-0.11, -0.81], [0.11, -0.81], [-0.14, -0.65], [0.14, -0.65], [-0.15, -0.50], [0.15, -0.50],
    [-0.07, -0.52], [0.07, -0.52], [-0.07, -0.28], [0.07, -0.28], [-0.07, -0.03], [0.07, -0.03]])
# Horizontal swing amplitude per joint (in heights) at sin(phase) = 1: legs against arms.
SWING = np.zeros(K)
SWING[[13, 15]] = [0.06, 0.12]
SWING[[14, 16]] = [-0.06, -0.12]
SWING[[7, 9]] = [-0.04, -0.08]
SWING[[8, 10]] = [0.04, 0.08]


# ---------------------------------------------------------------- the scene

@dataclass(frozen=True)
class SceneFrame:
    """Ground truth and detector output of one frame; P people in the scene (visible or not)."""

    ids: np.ndarray            # (P,) person ids
    keypoints: np.ndarray      # (P, K, 2) true joints, image pixels
    boxes: np.ndarray          # (P, 4) true boxes
    annotated: np.ndarray      # (P,) bool, at least 30% visible
    joint_visible: np.ndarray  # (P, K) bool
    motion: np.ndarray         # (P, 2) image displacement of the box centre to the next frame (0 if gone)
    pillars: list              # [(x1, x2)] image columns hidden by pillars
    pan: float                 # image x displacement of the static world to the next frame
    noisy_kp: np.ndarray       # (P, K, 2) what the pose estimator returns for this person
    noisy_scores: np.ndarray   # (P, K)
    detections: Detections


@dataclass
class _Walker:
    pid: int
    x: float          # world x of the feet; image x = x - camera
    feet: float       # image y of the feet (depth)
    vx: float
    vy: float
    pref: float
    phase: float

    @property
    def height(self) -> float:
        # Perspective: feet at y = 0.45 H -> 50 px tall, at 0.98 H -> 170 px.
        return 50 + 120 * (self.feet - 0.45 * H) / (0.53 * H)


def _spawn(rng, pid: int, camera: float, at_edge: bool) -> _Walker:
    feet = rng.uniform(0.5, 0.98) * H
    speed = rng.uniform(0.8, 4.0)
    if at_edge:
        left = rng.random() < 0.5
        x, vx = (camera - 20.0, speed) if left else (camera + W + 20.0, -speed)
    else:
        x, vx = camera + rng.uniform(0.1, 0.9) * W, speed * rng.choice([-1, 1])
    return _Walker(pid, x, feet, vx, 0.0, vx, rng.uniform(0, 2 * np.pi))


def _step(w: _Walker, rng) -> None:
    scale = w.height / 100
    w.vx = 0.95 * w.vx + 0.05 * w.pref + rng.normal(0, 0.15)
    w.vy = 0.9 * w.vy + rng.normal(0, 0.08)
    w.x += w.vx * scale
    w.feet = float(np.clip(w.feet + w.vy, 0.5 * H, 0.98 * H))
    w.phase += 2 * np.pi * abs(w.vx) * scale / (0.6 * w.height)


def _pose(w: _Walker, camera: float) -> np.ndarray:
    h = w.height
    kp = TEMPLATE * h
    kp[:, 0] += SWING * h * np.sin(w.phase)
    return kp + np.array([w.x - camera, w.feet])


def _true_box(kp: np.ndarray, h: float) -> np.ndarray:
    lo, hi = kp.min(0), kp.max(0)
    return np.array([lo[0] - 0.05 * h, lo[1] - 0.08 * h, hi[0] + 0.05 * h, hi[1] + 0.03 * h])


def _visibility(boxes: np.ndarray, depth: np.ndarray, kps: np.ndarray, pillars) -> Tuple[np.ndarray, np.ndarray]:
    """Visible fraction (P,) on an 8x8 grid per box, and joint visibility (P, K)."""
    p = len(boxes)
    g = (np.arange(8) + 0.5) / 8
    gx = boxes[:, None, 0] + g[None] * (boxes[:, 2] - boxes[:, 0])[:, None]         # (P, 8)
    gy = boxes[:, None, 1] + g[None] * (boxes[:, 3] - boxes[:, 1])[:, None]
    pts = np.stack(np.broadcast_arrays(gx[:, None, :], gy[:, :, None]), -1).reshape(p, 64, 2)

    def hidden(points):                                                            # (P, Q, 2) -> (P, Q)
        x, y = points[..., 0], points[..., 1]
        out = (x < 0) | (x >= W) | (y < 0) | (y >= H)
        for x1, x2 in pillars:
            out |= (x >= x1) & (x < x2)
        nearer = depth[None, :] > depth[:, None]                                     # (P, P): j in front of i
        inside = ((x[:, :, None] >= boxes[None, None, :, 0]) & (x[:, :, None] < boxes[None, None, :, 2]) &
                  (y[:, :, None] >= boxes[None, None, :, 1]) & (y[:, :, None] < boxes[None, None, :, 3]))
        return out | (inside & nearer[:, None, :]).any(-1)

    return 1 - hidden(pts).mean(1), ~hidden(kps)


def make_sequence(seed: int, frames: int) -> List[SceneFrame]:
    """One sequence. Half the sequences have a panning camera (up to 6 px/frame)."""
    rng = np.random.default_rng(seed)
    pan_pref = rng.uniform(-6, 6) if rng.random() < 0.5 else 0.0
    camera, pan = 0.0, pan_pref
    reach = abs(pan_pref) * frames + W
    world_pillars = [(x, x + rng.uniform(20, 40)) for x in
                     rng.uniform(-reach, reach, rng.poisson(1.0 + 2 * reach / W))]
    walkers = [_spawn(rng, i, camera, at_edge=False) for i in range(rng.integers(3, 7))]
    next_pid = len(walkers)
    out = []
    for _ in range(frames):
        pan = 0.9 * pan + 0.1 * pan_pref + (rng.normal(0, 0.3) if pan_pref else 0.0)
        pillars = [(a - camera, b - camera) for a, b in world_pillars if b > camera and a < camera + W]
        out.append(_frame(walkers, camera, pillars, -pan, rng))
        for w in walkers:
            _step(w, rng)
        camera += pan
        walkers = [w for w in walkers if -40 < w.x - camera < W + 40]
        if rng.random() < 0.04 or len(walkers) < 2:
            walkers.append(_spawn(rng, next_pid, camera, at_edge=True))
            next_pid += 1
        _fill_motion(out[-1], walkers, camera)
    return out


def _fill_motion(frame: SceneFrame, walkers, camera: float) -> None:
    now = {w.pid: _true_box(_pose(w, camera), w.height) for w in walkers}
    for i, pid in enumerate(frame.ids.tolist()):
        if pid in now:
            frame.motion[i] = (now[pid][:2] + now[pid][2:]) / 2 - (frame.boxes[i, :2] + frame.boxes[i, 2:]) / 2


def _frame(walkers, camera: float, pillars, pan: float, rng) -> SceneFrame:
    p = len(walkers)
    kps = np.array([_pose(w, camera) for w in walkers]).reshape(p, K, 2)
    heights = np.array([w.height for w in walkers])
    boxes = np.array([_true_box(k, h) for k, h in zip(kps, heights)]).reshape(p, 4)
    vis, jvis = _visibility(boxes, np.array([w.feet for w in walkers]), kps, pillars)
    annotated = vis >= 0.3
    jitter = np.where(jvis[..., None], 0.03, 0.10) * heights[:, None, None]
    noisy_kp = kps + rng.normal(size=kps.shape) * jitter
    noisy_scores = np.where(jvis, rng.uniform(0.6, 0.95, jvis.shape), rng.uniform(0.05, 0.45, jvis.shape))
    return SceneFrame(np.array([w.pid for w in walkers], np.int64), kps, boxes, annotated, jvis & annotated[:, None],
                      np.zeros((p, 2)), pillars, pan, noisy_kp, noisy_scores, _detect(boxes, vis, annotated, rng))


def _detect(boxes, vis, annotated, rng) -> Detections:
    hit = annotated & (rng.random(len(boxes)) >= 0.1 + 0.4 * (1 - vis))
    b = boxes[hit]
    size = np.tile(b[:, 2:] - b[:, :2], 2)                                       # w, h, w, h
    b = b + rng.normal(size=b.shape) * 0.04 * size
    scores = np.clip(rng.normal(0.85, 0.1, len(b)) * (0.5 + 0.5 * vis[hit]), 0, 1)
    n_fp = rng.poisson(0.3)
    h = rng.uniform(50, 170, n_fp)
    x, y = rng.uniform(0, W, n_fp), rng.uniform(0.3 * H, H, n_fp)
    fp = np.stack([x, y - h, x + 0.4 * h, y], axis=1)
    return Detections(np.concatenate([b, fp]), np.concatenate([scores, rng.uniform(0.3, 0.75, n_fp)]))


def synthetic_flow(prev: SceneFrame, noise: np.ndarray) -> np.ndarray:
    """(H, W, 2) flow from ``prev`` to the next frame: the static world pans, people move over it."""
    flow = np.zeros((H, W, 2), np.float32)
    flow[..., 0] = prev.pan
    for i in np.argsort(prev.boxes[:, 3]):                 # feet lower = nearer, painted last
        x1, y1, x2, y2 = np.clip(np.round(prev.boxes[i]), 0, [W, H, W, H]).astype(int)
        flow[y1:y2, x1:x2] = prev.motion[i]
    for x1, x2 in prev.pillars:
        flow[:, int(max(x1, 0)):int(min(x2, W))] = (prev.pan, 0.0)
    return flow + noise


def estimate(frame: SceneFrame, boxes: Detections, rng) -> Poses:
    """The simulated pose estimator on the given boxes."""
    n = len(boxes)
    kp = np.zeros((n, K, 2), np.float32)
    ks = np.zeros((n, K), np.float32)
    iou = box_iou(boxes.boxes, frame.boxes) * frame.annotated[None]        # (N, P)
    best = iou.argmax(1) if iou.size else np.zeros(n, int)
    for i in range(n):
        if iou.size and iou[i, best[i]] >= 0.3:
            kp[i], ks[i] = frame.noisy_kp[best[i]], frame.noisy_scores[best[i]]
        else:
            x1, y1, x2, y2 = boxes.boxes[i]
            kp[i] = np.stack([rng.uniform(x1, x2, K), rng.uniform(y1, y2, K)], 1)
            ks[i] = rng.uniform(0.05, 0.5, K)
    return Poses(boxes.boxes, boxes.scores, kp, ks)


# ---------------------------------------------------------------- CLEAR-MOT

@dataclass
class MotCounts:
    gt: int = 0
    misses: int = 0
    false_positives: int = 0
    id_switches: int = 0

    @property
    def mota(self) -> float:
        return 1 - (self.misses + self.false_positives + self.id_switches) / max(self.gt, 1)

    def __iadd__(self, other: "MotCounts") -> "MotCounts":
        for f in dataclasses.fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self


class MotCounter:
    """CLEAR-MOT over one sequence, OKS >= ``threshold`` as a match."""

    def __init__(self, threshold: float = 0.5):
        self.threshold = threshold
        self.counts = MotCounts()
        self._last: Dict[int, int] = {}          # gt id -> hypothesis id of its last match

    def add(self, frame: SceneFrame, result: FrameResult) -> None:
        gt = np.flatnonzero(frame.annotated)
        gt_ids, hyp_ids = frame.ids[gt], result.track_ids
        sim = oks_matrix(frame.keypoints[gt], result.poses.keypoints, box_areas(frame.boxes[gt]),
                         box_areas(result.poses.boxes), COCO.sigma_array(), frame.joint_visible[gt][:, None, :])
        ok = sim >= self.threshold
        pairs = []
        for g, gid in enumerate(gt_ids.tolist()):  # keep last frame's correspondences that still hold
            h = np.flatnonzero(hyp_ids == self._last.get(gid, -1))
            if len(h) and ok[g, h[0]] and h[0] not in {b for _, b in pairs}:
                pairs.append((g, int(h[0])))
        taken_g = [g for g, _ in pairs]
        taken_h = [h for _, h in pairs]
        rest = np.where(ok, sim, 0.0)
        rest[taken_g, :] = 0
        rest[:, taken_h] = 0
        m = match(rest, self.threshold, "hungarian")
        for g, h in m.pairs.tolist():
            gid = int(gt_ids[g])
            if gid in self._last and self._last[gid] != hyp_ids[h]:
                self.counts.id_switches += 1
            pairs.append((g, h))
        for g, h in pairs:
            self._last[int(gt_ids[g])] = int(hyp_ids[h])
        self.counts += MotCounts(len(gt), len(gt) - len(pairs), len(hyp_ids) - len(pairs), 0)


# ---------------------------------------------------------------- trackers under test

class IoUTracker:
    """Baseline: greedy matching of box IoU with the previous frame, new ids for the rest."""

    def __init__(self, min_iou: float = 0.3, box_score: float = 0.5):
        self.min_iou, self.box_score = min_iou, box_score
        self._boxes, self._ids, self._next = np.zeros((0, 4)), np.zeros(0, np.int64), 0

    def update(self, frame: int, poses: Poses) -> FrameResult:
        poses = poses.select(poses.box_scores >= self.box_score)
        m = match(box_iou(poses.boxes, self._boxes), self.min_iou, "greedy")
        ids = np.empty(len(poses), np.int64)
        ids[m.pairs[:, 0]] = self._ids[m.pairs[:, 1]]
        ids[m.unmatched_rows] = np.arange(self._next, self._next + len(m.unmatched_rows))
        self._next += len(m.unmatched_rows)
        self._boxes, self._ids = poses.boxes, ids
        return FrameResult(frame, poses, ids)


@dataclass(frozen=True)
class Setting:
    name: str
    config: Optional[TrackerConfig]      # None: the IoU baseline
    proposals: bool = False              # unify flow-propagated boxes with detections


def run_sequence(frames: List[SceneFrame], setting: Setting, seed: int, results: Optional[list] = None) -> MotCounts:
    rng = np.random.default_rng(seed)
    noise = [rng.normal(0, 0.5, (H, W, 2)).astype(np.float32) for _ in range(4)]
    cfg = setting.config or TrackerConfig()
    tracker = PoseTracker(COCO, cfg, fps=25.0, frame_size=(W, H)) if setting.config \
        else IoUTracker(box_score=cfg.box_score)
    counter = MotCounter()
    for k, frame in enumerate(frames):
        proposals = Detections.empty()
        if setting.config:
            flow = synthetic_flow(frames[k - 1], noise[k % 4]) if k and cfg.motion == "flow" else None
            tracker.propagate(flow, k)
            if setting.proposals:
                proposals = tracker.propose_boxes((W, H))
        kept = unify_boxes(frame.detections, proposals, cfg.nms_iou, min_score=cfg.box_score)
        boxes = Detections.concat([frame.detections, proposals]).select(kept)
        poses = estimate(frame, boxes, rng)
        if setting.config:
            result = tracker.update(k, poses, detected=kept < len(frame.detections))
        else:
            result = tracker.update(k, poses)
        counter.add(frame, result)
        if results is not None:
            results.append(result)
    return counter.counts


# ------------------------------------------------- PoseTrack scoring with `posetrack eval`

def _gt_annolist(frames: List[SceneFrame]) -> dict:
    """PoseTrack 2017 GT: annotated people, their visible joints (15-joint mapping), a head box."""
    from posetrack.tracksfile.exports import to_posetrack15

    annolist = []
    for k, f in enumerate(frames):
        xy, vis = to_posetrack15(f.keypoints, f.joint_visible.astype(float), COCO)
        rects = []
        for p in np.flatnonzero(f.annotated):
            h = f.boxes[p, 3] - f.boxes[p, 1]
            nose = f.keypoints[p, 0]
            side = 0.15 * h      # head size: ~15% of body height
            points = [{"id": [j], "x": [float(xy[p, j, 0])], "y": [float(xy[p, j, 1])]}
                      for j in range(15) if vis[p, j] > 0]
            rects.append({"x1": [float(nose[0] - side / 2)], "y1": [float(nose[1] - side / 2)],
                          "x2": [float(nose[0] + side / 2)], "y2": [float(nose[1] + side / 2)],
                          "track_id": [int(f.ids[p])], "annopoints": [{"point": points}]})
        annolist.append({"image": [{"name": f"seq/{k:06d}.jpg"}], "annorect": rects})
    return {"annolist": annolist}


def posetrack_scores(setting: Setting, sequences: List[List[SceneFrame]], seed: int) -> Tuple[float, float]:
    """Total mAP and MOTA of a setting, scored by posetrack eval (poseval's numbers) on PoseTrack files."""
    import json
    import tempfile
    from pathlib import Path

    from posetrack.eval.evaluate import evaluate
    from posetrack.tracksfile.exports import export_posetrack2017
    from posetrack.types import VideoInfo
    from posetrack.tracksfile.codec import TrackFile, TracksHeader

    with tempfile.TemporaryDirectory() as tmp:
        gt_dir, pred_dir = Path(tmp, "gt"), Path(tmp, "pred")
        gt_dir.mkdir()
        pred_dir.mkdir()
        for s, frames in enumerate(sequences):
            results: list = []
            run_sequence(frames, setting, seed + s, results)
            header = TracksHeader(VideoInfo("synthetic", 25.0, W, H, len(frames)), COCO)
            names = [f"seq/{k:06d}.jpg" for k in range(len(frames))]
            (gt_dir / f"{s:03d}.json").write_text(json.dumps(_gt_annolist(frames)))
            pred = export_posetrack2017(TrackFile(header, tuple(results)), names)
            (pred_dir / f"{s:03d}.json").write_text(json.dumps(pred))
        r = evaluate(gt_dir, pred_dir)
        return r.overall.total("ap"), r.overall.total("mota")


def run(setting: Setting, sequences: List[List[SceneFrame]], seed: int) -> Tuple[MotCounts, float]:
    total, t = MotCounts(), time.perf_counter()
    for s, frames in enumerate(sequences):
        total += run_sequence(frames, setting, seed + s)
    return total, time.perf_counter() - t


def main_settings() -> List[Setting]:
    base = TrackerConfig()
    c = lambda **kw: dataclasses.replace(base, **kw)  # noqa: E731
    out = [Setting("greedy IoU baseline", None)]
    for q in (1, 3, 5, 8):
        out.append(Setting(f"flow OKS, greedy, Q={q}", c(queue=q)))
    for q in (1, 3, 5, 8):
        out.append(Setting(f"flow OKS, greedy, Q={q} + propagated boxes", c(queue=q), True))
    out += [Setting(f"flow OKS, hungarian, Q={base.queue} + propagated boxes", c(matching="hungarian"), True),
            Setting(f"pose-only OKS (no motion), greedy, Q={base.queue}", c(motion="none")),
            Setting(f"kalman OKS, greedy, Q={base.queue}", c(motion="kalman")),
            Setting(f"kalman OKS, greedy, Q={base.queue} + propagated boxes", c(motion="kalman"), True)]
    robust = dataclasses.replace(load_tracking_config(preset="robust")[0], refine=base.refine)
    out += [Setting("robust (online) + propagated boxes", robust, True)]
    out += [Setting(f"robust, max_propagated={m} + boxes", dataclasses.replace(robust, max_propagated=m), True)
            for m in (None, 1, 3, 10)]
    out += [Setting("robust, proposals start tracks + boxes",
                    dataclasses.replace(robust, proposals_start_tracks=True), True)]
    return out


def sweep_settings() -> List[Setting]:
    base = TrackerConfig()
    out = [Setting(f"min_similarity={s}, Q={base.queue} + boxes", dataclasses.replace(base, min_similarity=s), True)
           for s in (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)]
    out += [Setting(f"nms_iou={v}, Q={base.queue} + boxes", dataclasses.replace(base, nms_iou=v), True)
            for v in (0.3, 0.4, 0.5, 0.6, 0.7)]
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sequences", type=int, default=16)
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sweep", action="store_true", help="also sweep min_similarity and nms_iou")
    ap.add_argument("--posetrack-eval", action="store_true",
                    help="score the baseline and the default with posetrack eval (PoseTrack mAP / per-joint MOTA)")
    args = ap.parse_args(argv)
    sequences = [make_sequence(args.seed * 1000 + s, args.frames) for s in range(args.sequences)]
    n_gt = sum(int(f.annotated.sum()) for frames in sequences for f in frames)
    n_people = sum(len({int(i) for f in frames for i in f.ids}) for frames in sequences)
    print(f"{args.sequences} sequences x {args.frames} frames, {n_people} people, {n_gt} annotated person-frames, "
          f"seed {args.seed}; defaults {TrackerConfig()}\n")
    settings = main_settings() + (sweep_settings() if args.sweep else [])
    print(f"| {'tracker':<52} | MOTA  | misses | FP    | ID sw | s    |")
    print(f"|{'-' * 54}|-------|--------|-------|-------|------|")
    for setting in settings:
        counts, seconds = run(setting, sequences, args.seed)
        print(f"| {setting.name:<52} | {100 * counts.mota:5.1f} | {counts.misses:6d} | {counts.false_positives:5d} "
              f"| {counts.id_switches:5d} | {seconds:4.1f} |", flush=True)
    if args.posetrack_eval:
        print("\nScored by `posetrack eval` (poseval's metrics: per-joint PCKh AP and CLEAR-MOT MOTA):")
        print(f"| {'tracker':<52} | mAP   | MOTA  |")
        print(f"|{'-' * 54}|-------|-------|")
        for setting in (settings[0], Setting(f"default (Q={TrackerConfig().queue}) + propagated boxes",
                                             TrackerConfig(), True)):
            ap_total, mota = posetrack_scores(setting, sequences, args.seed)
            print(f"| {setting.name:<52} | {ap_total:5.1f} | {mota:5.1f} |", flush=True)


if __name__ == "__main__":
    main()
