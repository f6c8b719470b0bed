"""Render a synthetic clip of walking stick figures and save one annotated frame as a PNG.

The clip (grey figures walking over a two-tone background) and its tracks.json (COCO
layout, three tracks with ids 1, 2 and 7) are made here, so the picture can be checked
by eye without any model: every skeleton should sit on its figure, each in its own
colour, with a readable id above the head, and trails behind the walkers.

    python benchmarks/render_screenshot.py --out-dir /tmp/screenshot
    # writes clip.mp4, tracks.json, annotated.mp4 and frame_030.png (the one to look at)
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from posetrack.rendering.draw import DrawStyle
from posetrack.io.encode import open_writer
from posetrack.keypoints import COCO
from posetrack.rendering.render import render_video
from posetrack.types import FrameResult, Poses, VideoInfo
from posetrack.tracksfile.codec import TrackFile, TracksHeader, write_tracks
from posetrack.io.video import open_source

W, H, FPS, FRAMES = 640, 360, 25.0, 40


def figure_keypoints(cx: float, top: float, size: float, phase: float) -> np.ndarray:
    """COCO keypoints (17, 2) of a stick figure of height ``size`` whose head top is at ``top``."""
    s, swing = size, 0.12 * size * np.sin(phase)
    xy = {
        "nose": (cx, top + 0.07 * s), "left_eye": (cx + 0.025 * s, top + 0.05 * s),
        "right_eye": (cx - 0.025 * s, top + 0.05 * s), "left_ear": (cx + 0.05 * s, top + 0.06 * s),
        "right_ear": (cx - 0.05 * s, top + 0.06 * s),
        "left_shoulder": (cx + 0.11 * s, top + 0.2 * s), "right_shoulder": (cx - 0.11 * s, top + 0.2 * s),
        "left_elbow": (cx + 0.14 * s + 0.3 * swing, top + 0.35 * s),
        "right_elbow": (cx - 0.14 * s - 0.3 * swing, top + 0.35 * s),
        "left_wrist": (cx + 0.15 * s + 0.8 * swing, top + 0.48 * s),
        "right_wrist": (cx - 0.15 * s - 0.8 * swing, top + 0.48 * s),
        "left_hip": (cx + 0.07 * s, top + 0.52 * s), "right_hip": (cx - 0.07 * s, top + 0.52 * s),
        "left_knee": (cx + 0.08 * s - 0.5 * swing, top + 0.74 * s),
        "right_knee": (cx - 0.08 * s + 0.5 * swing, top + 0.74 * s),
        "left_ankle": (cx + 0.08 * s - swing, top + 0.97 * s),
        "right_ankle": (cx - 0.08 * s + swing, top + 0.97 * s),
    }
    return np.array([xy[n] for n in COCO.names], np.float32)


# (track id, start x, speed px/frame, head-top y, height px, keypoint score for the ears)
PEOPLE = [(1, 120.0, 3.0, 60.0, 260.0, 0.9), (2, 330.0, -1.5, 90.0, 230.0, 0.1), (7, 520.0, -2.5, 40.0, 290.0, 0.9)]


def people_at(t: int):
    kps, ids, scores = [], [], []
    for tid, x0, speed, top, size, ear in PEOPLE:
        kps.append(figure_keypoints(x0 + speed * t, top, size, 0.4 * t + tid))
        ids.append(tid)
        s = np.full(17, 0.9, np.float32)
        s[[3, 4]] = ear  # person 2's ears fall under --min-score: hidden
        scores.append(s)
    return np.stack(kps), np.array(ids), np.stack(scores)


def background() -> np.ndarray:
    img = np.zeros((H, W, 3), np.uint8)
    img[: H * 2 // 3] = np.linspace(200, 140, H * 2 // 3, dtype=np.uint8)[:, None, None] * np.array([0.7, 0.8, 1.0])
    img[H * 2 // 3:] = (90, 110, 80)
    return img


def clip_frame(t: int) -> np.ndarray:
    import cv2

    img = background()
    kps, _, _ = people_at(t)
    for kp in kps:  # the "people" in the video: thick grey silhouettes the skeletons must land on
        for i, j in COCO.skeleton:
            cv2.line(img, tuple(map(int, kp[i])), tuple(map(int, kp[j])), (95, 95, 95), 9, cv2.LINE_AA)
        cv2.circle(img, tuple(map(int, kp[0])), 16, (95, 95, 95), -1, cv2.LINE_AA)
    return img


def make_inputs(out_dir: Path) -> tuple:
    clip = out_dir / "clip.mp4"
    with open_writer(clip, FPS, (W, H)) as writer:
        for t in range(FRAMES):
            writer.write(clip_frame(t))
    results = []
    for t in range(FRAMES):
        kps, ids, scores = people_at(t)
        boxes = np.concatenate([kps.min(1) - 10, kps.max(1) + 10], axis=1)
        if t == 5:
            continue  # a frame without people: rendered unchanged
        results.append(FrameResult(t, Poses(boxes, np.full(len(ids), 0.95), kps, scores), ids))
    header = TracksHeader(VideoInfo(str(clip), FPS, W, H, FRAMES), COCO, {"origin": "render_screenshot.py"})
    tracks = TrackFile(header, tuple(results))
    write_tracks(out_dir / "tracks.json", tracks)
    return clip, tracks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out-dir", type=Path, default=Path("screenshot"))
    parser.add_argument("--frame", type=int, default=30)
    parser.add_argument("--boxes", action="store_true")
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    clip, tracks = make_inputs(args.out_dir)
    style = DrawStyle(min_score=0.3, boxes=args.boxes, trails=15)
    with open_source(clip) as source:
        writer = open_writer(args.out_dir / "annotated.mp4", source.info.fps, (W, H))
        summary = render_video(source, tracks, writer, style)
    print(f"rendered {summary.frames} frames into {args.out_dir / 'annotated.mp4'}")
    with open_source(args.out_dir / "annotated.mp4", start=args.frame, end=args.frame + 1) as rendered:
        image = next(iter(rendered)).image
    png = args.out_dir / f"frame_{args.frame:03d}.png"
    import cv2

    cv2.imwrite(str(png), image[..., ::-1])
    print(f"wrote {png}")


if __name__ == "__main__":
    main()
