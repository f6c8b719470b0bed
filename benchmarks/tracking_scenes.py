"""Synthetic tracking scenes rendered to video, with estimated poses and PoseTrack ground truth.

A scene is people on a ground plane seen by a camera that pans, zooms and shakes:

* **People** walk (1.0-1.7 m/s, slowly turning, sometimes towards or away from the
  camera), run (2.5-4 m/s), dance (in place, arms up and down, hips swaying, stepping) or
  stand (swaying, now and then waving). Their image size and height follow a pinhole
  camera 2 m above the ground, so nearer people are larger and lower in the frame; people
  enter from the sides during the scene and leave at the edges.
* **Crossings and occlusion**: people at different depths cross; besides, each scene sets
  up a few *occlusion events* in which a nearer person walks along with a farther one
  (same direction, slightly different speed), hiding them for 0.5-2 s.
* **Rendering**: a textured background (multi-scale noise and blocks), people drawn far to
  near as filled torsos, thick limbs and heads in their own colours; the camera is a 2D
  similarity (pan, zoom, shake) applied to the whole scene. A label image gives each
  joint's visibility and each person's visible fraction.
* **Ground truth** (PoseTrack 2017 annolist): people at least 20% visible, their visible
  joints (mapped to the 15 PoseTrack joints), a head box from the head's size.
* **Estimated poses** (what ``posetrack run --tracker none`` would write): people at least
  30% visible are detected unless missed (a difficulty's miss rate, more when occluded);
  visible joints jitter by a fraction of the body height and score 0.5-0.95; hidden joints
  jitter more, score lower and sometimes snap to the occluder; box scores fall with
  occlusion; false positives (mostly one-frame, sometimes a persistent false pose on the
  background) and duplicates are added.

Used by ``benchmarks/tracking_benchmark.py``. Every scene is a function of its seed and
difficulty.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Tuple

import numpy as np

from posetrack.keypoints import COCO
from posetrack.types import FrameResult, Poses, VideoInfo
from posetrack.tracksfile.codec import TrackFile, TracksHeader

W, H, FPS = 640, 360, 25.0
K = 17
FOCAL, CAM_HEIGHT, HORIZON = 520.0, 2.0, 110.0      # pixels, metres, image row of the horizon

# COCO joints of a person standing, x right and y down in body heights, feet at (0, 0).
TEMPLATE = np.array([
    [0.0, -0.93], [-0.02, -0.95], [0.02, -0.95], [-0.045, -0.94], [0.045, -0.94],
    [-0.11, -0.81], [0.11, -0.81], [-0.14, -0.65], [0.14, -0.65], [-0.15, -0.50], [0.15, -0.50],
    [-0.07, -0.52], [0.07, -0.52], [-0.07, -0.28], [0.07, -0.28], [-0.07, -0.03], [0.07, -0.03]])
LIMBS = [(5, 7), (7, 9), (6, 8), (8, 10), (11, 13), (13, 15), (12, 14), (14, 16)]
ACTIVITIES = ("walk", "run", "dance", "stand")


@dataclass(frozen=True)
class Difficulty:
    """What makes a scene easy or hard."""

    name: str
    people: Tuple[int, int]              # people at the start (inclusive range)
    arrivals: float                      # people entering per second
    activities: Tuple[float, ...]        # weights of walk, run, dance, stand
    occlusions: Tuple[int, int]          # scripted occlusion events per scene
    pan: float                           # largest camera pan, px per frame
    zoom: float                          # largest zoom rate, relative change per frame
    shake: float                         # camera shake, px (std)
    miss: float                          # chance that the detector misses a visible person
    jitter: float                        # keypoint noise of visible joints, fraction of body height
    false_positives: float               # false poses per frame
    duplicates: float                    # chance of a second pose for a detected person
    score_noise: float                   # std of box-score noise
    depth: Tuple[float, float] = (4.5, 16.0)   # where people are placed, metres from the camera
    duplicate_shift: float = 0.08        # std of a duplicate's offset, fraction of body height


DIFFICULTIES: Dict[str, Difficulty] = {
    "easy": Difficulty("easy", (2, 4), 0.1, (0.6, 0.0, 0.1, 0.3), (0, 1), 1.5, 0.0, 0.0,
                       0.04, 0.010, 0.03, 0.0, 0.05),
    "medium": Difficulty("medium", (4, 6), 0.3, (0.5, 0.15, 0.15, 0.2), (1, 2), 3.0, 0.002, 1.0,
                         0.10, 0.015, 0.15, 0.01, 0.08),
    "hard": Difficulty("hard", (6, 9), 0.5, (0.4, 0.2, 0.2, 0.2), (2, 3), 5.0, 0.004, 2.5,
                       0.16, 0.020, 0.35, 0.02, 0.12),
}


# ---------------------------------------------------------------- people

@dataclass
class Person:
    pid: int
    activity: str
    x: float                 # ground position, metres: lateral (right) and depth (away)
    z: float
    vx: float                # metres per second
    vz: float
    size: float              # body height, metres
    phase: float
    colours: np.ndarray      # (4, 3) uint8 RGB: shirt, trousers, skin, hair
    pref: float = 0.0        # preferred speed, metres per second
    wave: float = 0.0        # dancing / waving arm phase offset
    turn: float = 0.0        # heading change, radians per second (walkers)
    start: int = 0           # first frame
    gone: bool = False       # left the view
    steady: bool = False     # keeps its heading (scripted occlusion pairs)
    comeback: float = 0.0    # seconds after leaving the view that they walk back in (0: never)
    depth: Tuple[float, float] = (4.2, 18.0)   # depth range they stay within, metres

    def step(self, rng, dt: float) -> None:
        if self.activity in ("walk", "run"):
            speed = np.hypot(self.vx, self.vz)
            heading = np.arctan2(self.vz, self.vx) + self.turn * dt
            if not self.steady:
                self.turn = 0.95 * self.turn + rng.normal(0, 0.05)
            speed = max(0.3, 0.95 * speed + 0.05 * self.pref + rng.normal(0, 0.02))
            self.vx, self.vz = speed * np.cos(heading), speed * np.sin(heading)
            self.phase += 2 * np.pi * speed * dt / (1.4 if self.activity == "walk" else 2.2)
        elif self.activity == "dance":
            self.phase += 2 * np.pi * 1.8 * dt
            self.vx, self.vz = 0.35 * np.cos(self.phase / 3), 0.15 * np.sin(self.phase / 5)
        else:
            self.phase += 2 * np.pi * 0.3 * dt
            self.vx = self.vz = 0.0
        self.x += self.vx * dt
        self.z = float(np.clip(self.z + self.vz * dt, *self.depth))

    def joints(self) -> np.ndarray:
        """(K, 2) joints in body heights, feet at (0, 0), for the current phase."""
        kp = TEMPLATE.copy()
        s = np.sin(self.phase)
        if self.activity in ("walk", "run"):
            amp = 1.0 if self.activity == "walk" else 1.8
            direction = np.sign(self.vx) or 1.0
            kp[[13, 15], 0] += direction * amp * np.array([0.05, 0.11]) * s
            kp[[14, 16], 0] -= direction * amp * np.array([0.05, 0.11]) * s
            kp[[7, 9], 0] -= direction * amp * np.array([0.035, 0.07]) * s
            kp[[8, 10], 0] += direction * amp * np.array([0.035, 0.07]) * s
            if self.activity == "run":
                kp[[15, 16], 1] -= 0.06 * np.abs(np.array([s, -s])).clip(0)
                kp[[9, 10], 1] -= 0.08                               # bent arms
            kp[:, 1] -= 0.015 * amp * abs(np.cos(self.phase))         # bob
        elif self.activity == "dance":
            up_l, up_r = np.sin(self.phase + self.wave), np.sin(self.phase + self.wave + np.pi)
            kp[7] = [-0.20, -0.80 - 0.10 * up_l]
            kp[9] = [-0.22 + 0.05 * up_l, -0.78 - 0.30 * up_l]
            kp[8] = [0.20, -0.80 - 0.10 * up_r]
            kp[10] = [0.22 - 0.05 * up_r, -0.78 - 0.30 * up_r]
            kp[:13, 0] += 0.04 * np.sin(self.phase / 2)               # hips sway
            kp[[13, 15], 0] -= 0.05 * max(s, 0)
            kp[[14, 16], 0] += 0.05 * max(-s, 0)
            kp[[15], 1] -= 0.05 * max(s, 0)
            kp[[16], 1] -= 0.05 * max(-s, 0)
            kp[:, 1] -= 0.02 * abs(s)
        else:
            kp[:, 0] += 0.01 * s
            if np.sin(self.phase / 3 + self.wave) > 0.6:              # waving now and then
                kp[10] = [0.20 + 0.05 * np.sin(4 * self.phase), -1.0]
                kp[8] = [0.18, -0.85]
        return kp


def project(x: np.ndarray, z: np.ndarray, size: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scene image position of the feet (u, v) and body height in pixels (pinhole camera)."""
    return W / 2 + FOCAL * x / z, HORIZON + FOCAL * CAM_HEIGHT / z, FOCAL * size / z


def _new_person(rng, pid: int, activity: str, x: float, z: float, start: int, direction: float = 0.0) -> Person:
    if activity == "walk":
        speed = rng.uniform(1.0, 1.7)
    elif activity == "run":
        speed = rng.uniform(2.5, 4.0)
    else:
        speed = 0.0
    d = direction or rng.choice([-1.0, 1.0])
    angle = rng.normal(0, 0.35) if rng.random() < 0.75 else rng.uniform(-1.0, 1.0)
    vx, vz = d * speed * np.cos(angle), speed * np.sin(angle) * rng.choice([-1, 1])
    colours = rng.integers(20, 236, (4, 3)).astype(np.uint8)
    colours[2] = rng.choice([[224, 172, 140], [198, 134, 66], [141, 85, 36], [255, 219, 172]])
    return Person(pid, activity, x, z, vx, vz, rng.uniform(1.55, 1.9), rng.uniform(0, 2 * np.pi), colours,
                  pref=speed, wave=rng.uniform(0, 2 * np.pi), start=start)


# ---------------------------------------------------------------- camera and background

def _texture(rng, width: int, height: int) -> np.ndarray:
    """A colour background with structure at every scale (noise, blocks, a ground gradient)."""
    import cv2

    base = np.zeros((height, width, 3), np.float32)
    for scale in (4, 16, 64):
        noise = rng.random((height // scale + 2, width // scale + 2, 3)).astype(np.float32)
        base += cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)[:height, :width] / 3
    base = (base - base.min()) / (np.ptp(base) + 1e-6)
    img = (60 + 150 * base).astype(np.uint8)
    for _ in range(width * height // 6000):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        w, h = int(rng.integers(10, 80)), int(rng.integers(10, 60))
        cv2.rectangle(img, (x, y), (x + w, y + h), tuple(int(c) for c in rng.integers(30, 220, 3)), -1)
    return img


@dataclass
class Camera:
    """Frame = scale * (scene - centre) + frame centre + shake (a 2D similarity per frame)."""

    cx: float
    cy: float
    scale: float
    vx: float
    zoom_rate: float
    shake: Tuple[float, float] = (0.0, 0.0)

    def matrix(self, offset_y: float = 0.0) -> np.ndarray:
        """(2, 3) affine from scene pixels (rows shifted down by ``offset_y``) to frame pixels."""
        s = self.scale
        return np.array([[s, 0, W / 2 - s * self.cx + self.shake[0]],
                         [0, s, H / 2 - s * (self.cy + offset_y) + self.shake[1]]])

    def to_frame(self, xy: np.ndarray) -> np.ndarray:
        m = self.matrix()
        return xy @ m[:, :2].T + m[:, 2]


# ---------------------------------------------------------------- one rendered frame

@dataclass
class FrameTruth:
    """Ground truth of one frame; P people in the scene (some may be invisible)."""

    ids: np.ndarray              # (P,) int64
    keypoints: np.ndarray        # (P, K, 2) frame pixels
    heights: np.ndarray          # (P,) body height, frame pixels
    depth: np.ndarray            # (P,) metres
    visible: np.ndarray          # (P,) visible fraction of the silhouette
    joint_visible: np.ndarray    # (P, K) bool
    occluder: np.ndarray         # (P, K) int64 index of the person covering each hidden joint, -1 if none

    @property
    def annotated(self) -> np.ndarray:
        return self.visible >= 0.2


def _draw_person(canvas: np.ndarray, kp: np.ndarray, h: float, colours, label: Optional[int] = None) -> None:
    """Draw one person (colours, or a single label value) onto ``canvas``."""
    import cv2

    def col(i):
        return (label,) * canvas.shape[2] if label is not None and canvas.ndim == 3 else (
            label if label is not None else tuple(int(c) for c in colours[i]))

    t = max(2, int(round(0.055 * h)))
    pts = np.round(kp * 4).astype(np.int32)                           # 2 fractional bits
    torso = pts[[5, 6, 12, 11]]
    cv2.fillConvexPoly(canvas, torso, col(0), lineType=cv2.LINE_AA if label is None else 8, shift=2)
    for (a, b), part in zip(LIMBS, (0, 2, 0, 2, 1, 1, 1, 1)):
        cv2.line(canvas, tuple(pts[a]), tuple(pts[b]), col(part), t, cv2.LINE_AA if label is None else 8, shift=2)
    neck = ((pts[5] + pts[6]) // 2)
    cv2.line(canvas, tuple(neck), tuple(pts[0]), col(2), t, 8, shift=2)
    head = pts[0] + np.array([0, -int(0.02 * h * 4)])
    cv2.circle(canvas, tuple(head), int(0.065 * h * 4), col(3), -1, cv2.LINE_AA if label is None else 8, shift=2)
    cv2.circle(canvas, tuple(pts[0] + np.array([0, int(0.01 * h * 4)])), int(0.05 * h * 4), col(2), -1,
               8, shift=2)


def render(background: np.ndarray, camera: Camera, people: List[Person]) -> Tuple[np.ndarray, FrameTruth]:
    """The RGB frame (H, W, 3) uint8 and its ground truth."""
    import cv2

    frame = cv2.warpAffine(background, camera.matrix(offset_y=H / 2), (W, H), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REFLECT)
    p = len(people)
    x = np.array([q.x for q in people])
    z = np.array([q.z for q in people])
    size = np.array([q.size for q in people])
    u, v, h = project(x, z, size)
    kp_scene = np.array([q.joints() for q in people]).reshape(p, K, 2) * h[:, None, None] + np.stack([u, v], 1)[:, None]
    kp = camera.to_frame(kp_scene.reshape(-1, 2)).reshape(p, K, 2)
    hf = h * camera.scale
    labels = np.zeros((H, W), np.uint8)
    order = np.argsort(-z, kind="stable")                              # far to near
    for i in order:
        _draw_person(frame, kp[i], hf[i], people[i].colours)
        _draw_person(labels, kp[i], hf[i], None, label=int(i) + 1)
    counts = np.bincount(labels.ravel(), minlength=p + 1)[1:]
    areas = np.array([_silhouette_area(kp[i], hf[i]) for i in range(p)])
    visible = np.where(areas > 0, counts / np.maximum(areas, 1), 0.0)
    xi, yi = np.round(kp[..., 0]).astype(int), np.round(kp[..., 1]).astype(int)
    inside = (xi >= 0) & (xi < W) & (yi >= 0) & (yi < H)
    at = labels[np.clip(yi, 0, H - 1), np.clip(xi, 0, W - 1)].astype(np.int64) - 1    # who is seen there
    own = at == np.arange(p)[:, None]
    joint_visible = inside & (own | (at < 0))
    occluder = np.where(inside & ~joint_visible, at, -1)
    ids = np.array([q.pid for q in people], np.int64)
    return frame, FrameTruth(ids, kp, hf, z, np.clip(visible, 0, 1), joint_visible, occluder)


def _silhouette_area(kp: np.ndarray, h: float) -> int:
    """Pixels of a person drawn alone, inside the frame."""
    import cv2

    lo = np.floor(kp.min(0) - 0.15 * h).astype(int)
    hi = np.ceil(kp.max(0) + 0.15 * h).astype(int)
    lo_c, hi_c = np.maximum(lo, 0), np.minimum(hi, [W, H])
    if np.any(hi_c <= lo_c):
        return 0
    canvas = np.zeros((hi[1] - lo[1], hi[0] - lo[0]), np.uint8)
    _draw_person(canvas, kp - lo, h, None, label=1)
    crop = canvas[lo_c[1] - lo[1]:hi_c[1] - lo[1], lo_c[0] - lo[0]:hi_c[0] - lo[0]]
    total = int(canvas.sum())
    return int(crop.sum()) if total else 0


# ---------------------------------------------------------------- a whole scene

@dataclass
class Scene:
    """A rendered scene: frames, truth, the estimated poses and their true ids."""

    name: str
    difficulty: str
    images: List[np.ndarray]
    truth: List[FrameTruth]
    poses: List[Poses]
    pose_ids: List[np.ndarray]       # (N,) true person id of each estimated pose; false positives get ids >= 10**6
    info: VideoInfo = field(default_factory=lambda: VideoInfo("synthetic", FPS, W, H, 0))

    def poses_file(self) -> TrackFile:
        """The estimated poses as an untracked tracks file (what `posetrack track` reads)."""
        info = VideoInfo(f"{self.name}.mp4", FPS, W, H, len(self.images))
        header = TracksHeader(info, COCO, {"note": f"synthetic {self.difficulty} scene {self.name}"})
        frames = tuple(FrameResult(k, p, None, time=k / FPS) for k, p in enumerate(self.poses))
        return TrackFile(header, frames)

    def oracle(self, box_score: float = 0.5, joint_score: float = 0.4) -> TrackFile:
        """Perfect association: the poses FlowTrack tracks (box score and a joint above its
        thresholds), each with the true id of the person it belongs to (false positives and
        duplicates with ids of their own)."""
        base = self.poses_file()
        frames = []
        for f, ids in zip(base.frames, self.pose_ids):
            p = f.poses
            keep = (p.box_scores >= box_score) & (p.keypoint_scores > joint_score).any(1)
            frames.append(FrameResult(f.frame, p.select(keep), ids[keep], time=f.time))
        return TrackFile(base.header, tuple(frames))

    def posetrack_gt(self) -> dict:
        """PoseTrack 2017 ground truth (annolist): annotated people, visible joints, head boxes."""
        from posetrack.tracksfile.exports import to_posetrack15

        annolist = []
        for k, t in enumerate(self.truth):
            xy, vis = to_posetrack15(t.keypoints, t.joint_visible.astype(float), COCO)
            rects = []
            for p in np.flatnonzero(t.annotated):
                points = [{"id": [j], "x": [float(xy[p, j, 0])], "y": [float(xy[p, j, 1])]}
                          for j in range(15) if vis[p, j] > 0]
                if not points:
                    continue
                side = 0.16 * t.heights[p]
                cx, cy = t.keypoints[p, 0, 0], t.keypoints[p, 0, 1] - 0.03 * t.heights[p]
                rects.append({"x1": [float(cx - side / 2)], "y1": [float(cy - side / 2)],
                              "x2": [float(cx + side / 2)], "y2": [float(cy + side / 2)],
                              "track_id": [int(t.ids[p])], "annopoints": [{"point": points}]})
            annolist.append({"image": [{"name": self.image_name(k)}], "annorect": rects})
        return {"annolist": annolist}

    def image_name(self, k: int) -> str:
        return f"images/{self.name}/{k:06d}.jpg"


def make_scene(difficulty: str, seed: int, frames: int = 150, style: str = "textured", kind: str = "") -> Scene:
    """Render one scene of the given difficulty; deterministic in (difficulty, seed, frames, kind).

    ``style`` "flat" draws the same scene on a plain grey background (like
    ``../shared/cases/tracking``): the camera's motion is then invisible in the flow.
    ``kind`` (:data:`KINDS`) adds a situation trackers get wrong on top of the difficulty.
    """
    if kind == "cut":
        return _cut_scene(difficulty, seed, frames, style)
    d = DIFFICULTIES[difficulty]
    if kind:
        d = replace(d, **KINDS[kind])
    rng = np.random.default_rng([seed, list(DIFFICULTIES).index(difficulty)] + ([sorted(KINDS).index(kind) + 1] if kind else []))
    pan_pref = rng.uniform(-d.pan, d.pan)
    zoom_pref = rng.uniform(-d.zoom, d.zoom)
    background = _texture(rng, int(abs(pan_pref) * frames * 1.5) + 3 * W, 2 * H)
    if style == "flat":
        background[:] = 110
    elif style != "textured":
        raise ValueError(f"unknown scene style {style!r}; choose textured or flat")
    camera = Camera(cx=background.shape[1] / 2, cy=H / 2, scale=1.0, vx=pan_pref, zoom_rate=zoom_pref)
    people: List[Person] = []
    activities = np.array(d.activities) / sum(d.activities)

    def add(activity: str, frame_u: float, z: float, start: int, direction: float = 0.0) -> Person:
        scene_u = (frame_u - W / 2) / camera.scale + camera.cx
        q = _new_person(rng, len(people), activity, (scene_u - W / 2) * z / FOCAL, z, start, direction)
        q.depth = (min(4.2, d.depth[0]), max(18.0, d.depth[1]))
        people.append(q)
        return q

    for _ in range(int(rng.integers(d.people[0], d.people[1] + 1))):
        add(str(rng.choice(ACTIVITIES, p=activities)), rng.uniform(40, W - 40), rng.uniform(*d.depth), 0)
    if kind in SCRIPTS:
        SCRIPTS[kind](rng, add, frames)
    pending = _occlusion_events(rng, d, frames)
    returns: List[Tuple[int, Person]] = []
    images, truth = [], []
    for k in range(frames):
        while pending and pending[0][0] <= k:
            _add_occlusion_pair(rng, add, k, pending.pop(0)[1])
        for when, q in [r for r in returns if r[0] <= k]:
            returns.remove((when, q))
            _walk_back(q, camera)
        if rng.random() < d.arrivals / FPS:
            left = rng.random() < 0.5
            run = d.activities[1] > 0 and rng.random() < 0.2
            add("run" if run else "walk", -30.0 if left else W + 30.0, rng.uniform(*d.depth), k, 1.0 if left else -1.0)
        live = [q for q in people if q.start <= k and not q.gone]
        image, t = render(background, camera, live)
        images.append(image)
        truth.append(t)
        for q in live:
            q.step(rng, 1.0 / FPS)
            q.gone = not _in_view(q, camera, margin=0.8)
            if q.gone and q.comeback > 0:
                returns.append((k + max(1, int(round(q.comeback * FPS))), q))
                q.comeback = 0.0
        camera.vx = 0.9 * camera.vx + 0.1 * pan_pref + rng.normal(0, 0.04 * d.pan)
        camera.cx += camera.vx / camera.scale
        camera.zoom_rate = 0.95 * camera.zoom_rate + 0.05 * zoom_pref
        camera.scale = float(np.clip(camera.scale * (1 + camera.zoom_rate), 0.75, 1.35))
        if camera.scale in (0.75, 1.35):
            zoom_pref, camera.zoom_rate = -zoom_pref, -camera.zoom_rate
        camera.shake = tuple(rng.normal(0, d.shake, 2)) if d.shake else (0.0, 0.0)
    poses, pose_ids = _estimate_poses(rng, d, truth)
    name = f"{difficulty}_{seed:03d}" + (f"_{kind}" if kind else "") + ("" if style == "textured" else f"_{style}")
    return Scene(name, difficulty, images, truth, poses, pose_ids)


# ---------------------------------------------------------------- scene kinds

KINDS: Dict[str, Dict[str, object]] = {
    "crowd": {"occlusions": (0, 0), "arrivals": 0.1},
    "cut": {},
    "reentry": {"occlusions": (0, 0), "arrivals": 0.0, "people": (1, 2)},
    "tiny": {"depth": (40.0, 70.0), "occlusions": (0, 0), "arrivals": 0.0, "people": (5, 7),
             "activities": (0.8, 0.0, 0.0, 0.2), "jitter": 0.03},
    "duplicates": {"duplicates": 0.5, "duplicate_shift": 0.03},
    "crossing": {"occlusions": (0, 0), "arrivals": 0.05},
}
"""Scene kinds (``make_scene(kind=...)``), each a situation trackers get wrong, on a difficulty:

* ``crowd``: groups of two or three people walking side by side, boxes overlapping by IoU 0.3-0.7;
* ``cut``: a hard cut, part-way, to another shot with other people;
* ``reentry``: people walk out of the view; one comes back after 2-8 s, and where another left,
  someone else walks in the other way 1-2 s later;
* ``tiny``: people 40-70 m away, 12-25 pixels tall;
* ``duplicates``: half of the detected people have a near-duplicate pose (3% of their height off);
* ``crossing``: pairs of people at nearly the same depth walk into each other and cross, in view.
"""


def _crowd(rng, add, frames: int) -> None:
    for _ in range(int(rng.integers(2, 4))):
        z = rng.uniform(6, 12)
        direction = float(rng.choice([-1.0, 1.0]))
        u0 = rng.uniform(0.25, 0.75) * W
        gap = rng.uniform(0.3, 0.45) * FOCAL / z                # people 0.3-0.45 m apart (boxes overlap)
        lead = add("walk", u0, z, 0, direction)
        lead.vx, lead.vz, lead.turn, lead.steady = direction * lead.pref, 0.0, 0.0, True
        for i in range(1, int(rng.integers(2, 4))):
            q = add("walk", u0 + i * gap, z + rng.uniform(-0.3, 0.3), 0, direction)
            q.pref = lead.pref
            q.vx, q.vz, q.turn, q.steady = direction * q.pref, 0.0, 0.0, True


def _reentry(rng, add, frames: int) -> None:
    for i in range(2):
        z = rng.uniform(5, 8)
        direction = float(rng.choice([-1.0, 1.0]))
        start = int(rng.integers(0, max(1, frames // 8)))
        u_start = W / 2 + direction * rng.uniform(0.3, 0.4) * W
        leaver = add("walk", u_start, z, start, direction)
        leaver.vx, leaver.vz, leaver.turn, leaver.steady = direction * leaver.pref, 0.0, 0.0, True
        if i == 0:
            leaver.comeback = float(rng.uniform(1.5, 4.0))       # the same person walks back in
        else:                                                     # someone else, the other way
            h = FOCAL * leaver.size / z
            edge = -0.5 * h if direction < 0 else W + 0.5 * h
            eta = start + int(abs(edge - u_start) / (leaver.pref * FOCAL / z / FPS))
            other = add("walk", edge, z, eta + int(rng.integers(25, 50)), -direction)
            other.vx, other.vz, other.turn, other.steady = -direction * other.pref, 0.0, 0.0, True


def _crossing(rng, add, frames: int) -> None:
    for _ in range(int(rng.integers(2, 4))):
        z = rng.uniform(6, 12)
        meet = rng.uniform(0.3, 0.7) * W
        when = rng.uniform(0.3, 0.7) * frames / FPS                  # seconds until they meet
        for direction, dz in ((1.0, 0.0), (-1.0, rng.uniform(0.3, 1.0))):
            q = add("walk", meet, z + dz, 0, direction)
            speed_px = q.pref * FOCAL / (z + dz) / FPS
            scene_u = (meet - direction * speed_px * when * FPS)
            q.x = (scene_u - W / 2) * (z + dz) / FOCAL
            q.vx, q.vz, q.turn, q.steady = direction * q.pref, 0.0, 0.0, True


SCRIPTS = {"crowd": _crowd, "reentry": _reentry, "crossing": _crossing}


def _walk_back(q: Person, camera: Camera) -> None:
    """A person who left the view turns round and walks back in where they left (at its edge)."""
    u, _, h = project(np.array([q.x]), np.array([q.z]), np.array([q.size]))
    left = camera.to_frame(np.array([[u[0], 0.0]]))[0, 0] < W / 2
    frame_u = -0.5 * h[0] * camera.scale if left else W + 0.5 * h[0] * camera.scale
    scene_u = (frame_u - W / 2) / camera.scale + camera.cx
    q.x = (scene_u - W / 2) * q.z / FOCAL
    q.vx, q.vz = (abs(q.vx) if left else -abs(q.vx)), 0.0
    q.gone = False


def _cut_scene(difficulty: str, seed: int, frames: int, style: str) -> Scene:
    """Two shots of one difficulty (other seeds, backgrounds and people), cut part-way."""
    rng = np.random.default_rng([seed, 7919])
    cut = int(rng.integers(int(0.3 * frames), int(0.7 * frames)))
    a = make_scene(difficulty, seed, frames, style)
    b = make_scene(difficulty, seed + 10_000, frames - cut, style)
    shift = 1_000
    truth = a.truth[:cut] + [replace(t, ids=t.ids + shift) for t in b.truth]
    pose_ids = a.pose_ids[:cut] + [ids + shift for ids in b.pose_ids]
    return Scene(f"{difficulty}_{seed:03d}_cut" + ("" if style == "textured" else f"_{style}"), difficulty,
                 a.images[:cut] + b.images, truth, a.poses[:cut] + b.poses, pose_ids)


def _in_view(q: Person, camera: Camera, margin: float) -> bool:
    """Whether the person's feet are within ``margin`` body heights of the frame's sides."""
    u, v, h = project(np.array([q.x]), np.array([q.z]), np.array([q.size]))
    fx = camera.to_frame(np.array([[u[0], v[0]]]))[0, 0]
    reach = margin * h[0] * camera.scale
    return -reach < fx < W + reach


def _occlusion_events(rng, d: Difficulty, frames: int) -> List[Tuple[int, float]]:
    n = int(rng.integers(d.occlusions[0], d.occlusions[1] + 1))
    return sorted((int(rng.integers(0, max(1, frames // 2))), float(rng.uniform(0.5, 2.0))) for _ in range(n))


def _add_occlusion_pair(rng, add, k: int, duration: float) -> None:
    """A near walker that catches up with a far one and hides them for about ``duration`` seconds.

    Both walk the same way; the near one starts a body width behind, at a relative image
    speed that keeps the far one covered for ``duration``.
    """
    z_far, z_near = rng.uniform(9, 15), rng.uniform(4.5, 6.5)
    direction = float(rng.choice([-1.0, 1.0]))
    u0 = W / 2 + rng.uniform(-0.2, 0.2) * W
    far = add("walk", u0, z_far, k, direction)
    far.vx, far.vz, far.turn = direction * far.pref, 0.0, 0.0
    width = 0.5 * FOCAL / z_near                                        # near body width, px
    rel = 1.6 * width / (duration * FPS)                                 # px per frame
    near_px = far.pref * FOCAL / z_far / FPS + rel
    near = add("walk", u0 - direction * 1.3 * width, z_near, k, direction)
    near.pref = near_px * FPS * z_near / FOCAL
    near.vx, near.vz, near.turn = direction * near.pref, 0.0, 0.0
    near.steady = far.steady = True


# ---------------------------------------------------------------- the simulated pose estimator

def _estimate_poses(rng, d: Difficulty, truth: List[FrameTruth]) -> Tuple[List[Poses], List[np.ndarray]]:
    """Detector + pose estimator output for every frame, with the true id of each pose."""
    fp_objects: List[dict] = []
    next_fp = 5000
    poses, ids = [], []
    for t in truth:
        kps, scores, boxes, box_scores, pose_ids = [], [], [], [], []
        for p in range(len(t.ids)):
            if t.visible[p] < 0.3 or rng.random() < d.miss + 0.4 * (1 - t.visible[p]):
                continue
            kp, ks = _noisy_pose(rng, d, t, p)
            kps.append(kp)
            scores.append(ks)
            boxes.append(_noisy_box(rng, kp, t.heights[p]))
            box_scores.append(np.clip(rng.normal(0.88, d.score_noise) * (0.55 + 0.45 * t.visible[p]), 0.05, 1.0))
            pose_ids.append(int(t.ids[p]))
            if rng.random() < d.duplicates:
                shift = rng.normal(0, d.duplicate_shift * t.heights[p], 2)
                kps.append(kp + shift + rng.normal(0, 0.03 * t.heights[p], kp.shape))
                scores.append(ks * rng.uniform(0.5, 0.9))
                boxes.append(_noisy_box(rng, kps[-1], t.heights[p]))
                box_scores.append(box_scores[-1] * rng.uniform(0.4, 0.8))
                pose_ids.append(next_fp)
                next_fp += 1
        for _ in range(rng.poisson(d.false_positives)):
            if rng.random() < 0.05:
                fp_objects.append({"id": next_fp, "left": int(rng.integers(8, 30)), "pose": _false_pose(rng),
                                   "score": rng.uniform(0.4, 0.85)})
            else:
                kp = _false_pose(rng)
                kps.append(kp)
                scores.append(rng.uniform(0.1, 0.7, K))
                boxes.append(_noisy_box(rng, kp, np.ptp(kp[:, 1])))
                box_scores.append(rng.uniform(0.2, 0.75))
                pose_ids.append(next_fp)
            next_fp += 1
        for obj in fp_objects:
            obj["left"] -= 1
            if rng.random() < 0.75:
                kp = obj["pose"] + rng.normal(0, 2.0, (K, 2))
                kps.append(kp)
                scores.append(rng.uniform(0.3, 0.8, K))
                boxes.append(_noisy_box(rng, kp, np.ptp(kp[:, 1])))
                box_scores.append(np.clip(obj["score"] + rng.normal(0, 0.05), 0.05, 1))
                pose_ids.append(obj["id"])
        fp_objects = [o for o in fp_objects if o["left"] > 0]
        n = len(kps)
        poses.append(Poses(np.array(boxes).reshape(n, 4), np.array(box_scores).reshape(n),
                           np.array(kps).reshape(n, K, 2), np.array(scores).reshape(n, K)))
        ids.append(np.array(pose_ids, np.int64))
    return poses, ids


def _noisy_pose(rng, d: Difficulty, t: FrameTruth, p: int) -> Tuple[np.ndarray, np.ndarray]:
    h = t.heights[p]
    vis = t.joint_visible[p]
    kp = t.keypoints[p] + rng.normal(size=(K, 2)) * np.where(vis, d.jitter, 0.08)[:, None] * h
    quality = rng.uniform(0.85, 1.0)
    ks = np.where(vis, rng.uniform(0.55, 0.95, K) * quality, rng.uniform(0.05, 0.45, K))
    snap = (t.occluder[p] >= 0) & (rng.random(K) < 0.3)
    for j in np.flatnonzero(snap):                                        # confused with the occluder's joint
        other = t.keypoints[t.occluder[p, j]]
        nearest = int(np.argmin(((other - t.keypoints[p, j]) ** 2).sum(1)))
        kp[j] = other[nearest] + rng.normal(0, d.jitter * h, 2)
        ks[j] = rng.uniform(0.3, 0.6)
    return kp, ks


def _noisy_box(rng, kp: np.ndarray, h: float) -> np.ndarray:
    lo, hi = kp.min(0), kp.max(0)
    size = np.maximum(hi - lo, 1.0)
    box = np.r_[lo - 0.08 * size, hi + 0.08 * size]
    return box + rng.normal(0, 0.03, 4) * np.tile(size, 2)


def _false_pose(rng) -> np.ndarray:
    """A false pose on the background: a person-like shape, badly deformed, anywhere."""
    h = rng.uniform(50, 180)
    feet = np.array([rng.uniform(20, W - 20), rng.uniform(0.45 * H, H)])
    return TEMPLATE * h + feet + rng.normal(0, 0.08 * h, (K, 2))
