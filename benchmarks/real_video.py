"""Real poses on a real video: `posetrack track` on ``../shared/real``, scored against hand-labelled identities.

The poses (``../shared/real/vtest_0-299.poses.json``: OpenCV's HOG people detector and
MediaPipe BlazePose on OpenCV's ``vtest.avi``, a street with about ten pedestrians; see the
README there) go through the real `posetrack track` code path
(:func:`posetrack.pipeline.retrack.retrack`, the video decoded by
:func:`posetrack.io.video.open_source`, DIS flow, refinement when the preset has it) for
every tracker under test. Printed per tracker:

* **ids**: distinct track ids; **fragments**: how many more (person, id) pieces than people
  (0: every person keeps one id); **short tracks**: ids with fewer than 10 observed poses;
* **duplicates**: pairs of output people in one frame whose poses are near-identical (OKS of
  0.8 or more): one person tracked twice;
* **cuts**: frames marked as scene cuts (the video has none);
* **ID-F1**, **IDP**, **IDR** and **ID switches** against the identities labelled by hand in
  ``tests/data/real/vtest_0-299.truth.json`` (``--segment 300-794``: the poses and labels of frames
  300-794 in ``tests/data/real``, where six people leave the view and come back 3-18 s later) (:func:`posetrack.eval.identity.identity_scores`;
  false and duplicate poses count against a tracker that keeps them);
* **ms/frame**: tracking (and refinement) time, the optical flow excluded (printed once).

    python benchmarks/real_video.py                                   # flowtrack and the default preset
    python benchmarks/real_video.py --segment 300-794                 # frames 300-794: people leave and come back
    python benchmarks/real_video.py --variant "no-reid:refine.reentry_gap=0"
    python benchmarks/real_video.py --poses my.poses.json --video my.mp4 --truth none

A truth file holds, per frame, the true person of each pose in the poses file's order
(``null`` for a false or duplicate pose).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tracking_benchmark import CachedFlow, tracker_configs  # noqa: E402

from posetrack.eval.identity import IdentityScores, identity_scores  # noqa: E402
from posetrack.tracksfile.codec import TrackFile, read_tracks  # noqa: E402

SHARED = ROOT.parent / "shared" / "real"
DATA = ROOT / "tests" / "data" / "real"
TRUTH = DATA / "vtest_0-299.truth.json"
SEGMENTS = {"0-299": (SHARED / "vtest_0-299.poses.json", TRUTH),
            "300-794": (DATA / "vtest_300-794.poses.json", DATA / "vtest_300-794.truth.json")}


def box_key(frame: int, box: np.ndarray) -> Tuple[int, Tuple[float, ...]]:
    """A pose's identity across files: its frame and box (the tracker keeps boxes; files round to 0.01 px)."""
    return frame, tuple(np.round(np.asarray(box, np.float64), 1).tolist())


def score(poses: TrackFile, tracks: TrackFile, truth: Dict[str, list]) -> IdentityScores:
    """ID-F1 and ID switches of ``tracks`` (observed people only) against ``truth`` for ``poses``."""
    label = {}
    for f in poses.frames:
        for box, person in zip(f.poses.boxes, truth[str(f.frame)]):
            label[box_key(f.frame, box)] = person
    true, predicted, frames = [], [], []
    for f in tracks.frames:
        for i, box in enumerate(f.poses.boxes):
            if f.interpolated is not None and f.interpolated[i]:
                continue
            true.append(label.get(box_key(f.frame, box)))
            predicted.append(int(f.track_ids[i]))
            frames.append(f.frame)
    total = sum(1 for people in truth.values() for p in people if p is not None)
    return identity_scores(true, predicted, frames, total)


def counts(tracks: TrackFile, layout) -> Dict[str, int]:
    """ids, short tracks, duplicates and cuts of a tracked file."""
    from posetrack.boxes import box_areas
    from posetrack.oks import oks_matrix

    per_id: Dict[int, int] = {}
    duplicates = 0
    sigmas = layout.sigma_array()
    for f in tracks.frames:
        observed = np.ones(len(f), bool) if f.interpolated is None else ~f.interpolated
        for tid in f.track_ids[observed] if f.track_ids is not None else []:
            per_id[int(tid)] = per_id.get(int(tid), 0) + 1
        p = f.poses.select(observed)
        if len(p) > 1:
            conf = p.keypoint_scores > 0.4
            o = oks_matrix(p.keypoints, p.keypoints, box_areas(p.boxes), box_areas(p.boxes), sigmas,
                           conf[:, None] & conf[None])
            duplicates += int((np.triu(o, 1) >= 0.8).sum())
    return {"ids": len(per_id), "short": sum(n < 10 for n in per_id.values()), "duplicates": duplicates,
            "cuts": sum(bool(f.cut) for f in tracks.frames)}


def main(argv: Optional[List[str]] = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--segment", choices=sorted(SEGMENTS), default="0-299",
                    help="a labelled segment of vtest.avi: its poses and truth (300-794: six people leave and come back)")
    ap.add_argument("--poses", type=Path, help="poses to track [default: the segment's]")
    ap.add_argument("--video", type=Path, default=SHARED / "vtest.avi")
    ap.add_argument("--truth", help="hand-labelled identities, or 'none' [default: the segment's]")
    ap.add_argument("--no-video", action="store_true", help="track without the frames (no flow, cuts, colours)")
    ap.add_argument("--variant", action="append", default=[],
                    help="NAME[@PRESET]:key=value,... a preset with overrides (dotted keys for sections)")
    args = ap.parse_args(argv)
    args.poses = args.poses or SEGMENTS[args.segment][0]
    args.truth = args.truth or str(SEGMENTS[args.segment][1])
    from posetrack.io.video import open_source
    from posetrack.pipeline.retrack import retrack
    from posetrack.tracking.flow import build_flow

    poses = read_tracks(args.poses)
    truth = None if args.truth == "none" else json.loads(Path(args.truth).read_text())["labels"]
    frames = None
    if not args.no_video:
        wanted = {f.frame for f in poses.frames}
        with open_source(args.video) as source:
            frames = [f for f in source if f.index <= max(wanted)]
    configs = tracker_configs(args.variant)
    flow = CachedFlow(build_flow(configs[0][2])) if frames is not None else None
    n = len(poses.frames)
    print(f"{args.poses.name}: {n} frames, {sum(len(f) for f in poses.frames)} poses"
          + ("" if truth is None else f", {sum(1 for v in truth.values() for p in v if p is not None)} labelled")
          + ("" if frames is not None else "; no video (no flow, cuts or colours)") + "\n", flush=True)
    print("| tracker | ids | fragments | short tracks | duplicates | cuts | ID-F1 | IDP | IDR | ID switches | ms/frame |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, tcfg, fcfg in configs:
        before = flow.seconds if flow is not None else 0.0
        t = time.perf_counter()
        out = retrack(poses, tcfg, frames, fcfg, flow_estimator=flow)
        ms = 1000 * (time.perf_counter() - t - ((flow.seconds - before) if flow is not None else 0.0)) / n
        c = counts(out, poses.layout)
        if truth is not None:
            s = score(poses, out, truth)
            people = len({p for v in truth.values() for p in v if p is not None})
            tail = f"{s.pieces - people} | {c['short']} | {c['duplicates']} | {c['cuts']} | {s.idf1:.3f} | {s.idp:.3f} | " \
                   f"{s.idr:.3f} | {s.switches}"
        else:
            tail = f"- | {c['short']} | {c['duplicates']} | {c['cuts']} | - | - | - | -"
        print(f"| {name} | {c['ids']} | {tail} | {ms:.2f} |", flush=True)
    if flow is not None and flow.calls:
        print(f"\nDIS flow ({configs[0][2].dis_preset}): {1000 * flow.seconds / flow.calls:.1f} ms/frame, excluded above.")


if __name__ == "__main__":
    main()
