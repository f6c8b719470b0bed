"""Tracking benchmark: `posetrack track` on rendered scenes, scored by `posetrack eval`.

For each difficulty (easy, medium, hard; see ``benchmarks/tracking_scenes.py``) and seed, a
scene is rendered and encoded as H.264, its estimated poses (jitter, misses, false
positives, duplicates, score noise) are written as an untracked tracks file and its ground
truth as a PoseTrack 2017 file. Then, for every tracker under test, the real `posetrack track`
code path runs on them (:func:`posetrack.pipeline.retrack.retrack` with the video decoded by
:func:`posetrack.io.video.open_source` and DIS flow, offline refinement included when the
preset has it), the result is exported as PoseTrack 2017 predictions
(:func:`posetrack.tracksfile.exports.export_posetrack2017`) and scored by :func:`posetrack.eval.evaluate.evaluate`
(poseval's per-joint MOTA, ID switches and mAP). The optical flow of a scene is computed
once and shared by all trackers (it does not depend on the tracker).

Besides the three difficulties, ``--kinds`` adds scene kinds (``tracking_scenes.KINDS``, on the
medium difficulty): crowds with overlapping boxes, hard cuts, people leaving and others (or
the same) entering, tiny people, duplicate poses and plain crossings. After the scores, the
scene cuts the default preset found are printed per scene group: the cut kind has one true
cut per scene; everywhere else (panning, zooming and shaking cameras) any cut is false.

Trackers: the ``flowtrack`` preset (the paper), the shipped default preset, an **oracle**
(the poses FlowTrack tracks, those scoring above its thresholds, with their true ids: what
perfect association of them would score), and
any ``--variant`` (a preset with overrides, for measuring a setting).

    python benchmarks/tracking_benchmark.py --quick                  # 3 seeds x 100 frames, ~2 min
    python benchmarks/tracking_benchmark.py                          # 8 seeds x 150 frames
    python benchmarks/tracking_benchmark.py --seeds 8-15             # confirm on other seeds
    python benchmarks/tracking_benchmark.py --variant "no-refine:refine.enabled=false" \\
        --variant "lost1s:max_lost_seconds=1.0"                      # measure settings
    python benchmarks/tracking_benchmark.py --cli                    # also run the posetrack CLI once per scene
    python benchmarks/tracking_benchmark.py --kinds all --difficulties ""   # the situation kinds only

Printed: one row per tracker and difficulty with MOTA, ID switches (joint level), mAP,
misses and false positives (joint level), and tracking time per frame (flow excluded; the
DIS flow time per frame is printed once).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tracking_scenes import DIFFICULTIES, FPS, H, W, Scene, make_scene  # noqa: E402

from posetrack.eval.evaluate import evaluate  # noqa: E402
from posetrack.tracksfile.exports import export_posetrack2017  # noqa: E402
from posetrack.tracksfile.codec import TrackFile, read_tracks, write_tracks  # noqa: E402


class CachedFlow:
    """DIS flow between consecutive frames, computed once per frame pair and timed."""

    def __init__(self, estimator):
        self.estimator = estimator
        self.cache: Dict[Tuple[int, int], np.ndarray] = {}
        self.seconds = 0.0
        self.calls = 0

    def __call__(self, prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
        key = (id(prev), id(nxt))
        if key not in self.cache:
            t = time.perf_counter()
            self.cache[key] = self.estimator(prev, nxt)
            self.seconds += time.perf_counter() - t
            self.calls += 1
        return self.cache[key]


@dataclasses.dataclass
class Prepared:
    scene: Scene
    poses: TrackFile           # read back from the written file, as `posetrack track` reads it
    frames: list               # decoded video frames (posetrack.types.Frame)
    video: Path


def prepare(scene: Scene, folder: Path) -> Prepared:
    """Write the scene's video, poses and ground truth; read the poses and video back."""
    from posetrack.io.encode import open_writer
    from posetrack.io.video import open_source

    video = folder / f"{scene.name}.mp4"
    with open_writer(video, fps=FPS, size=(W, H)) as writer:
        for image in scene.images:
            writer.write(image)
    poses_path = folder / f"{scene.name}.poses.json"
    write_tracks(poses_path, scene.poses_file())
    (folder / "gt").mkdir(exist_ok=True)
    (folder / "gt" / f"{scene.name}.json").write_text(json.dumps(scene.posetrack_gt()))
    with open_source(video) as source:
        frames = list(source)
    return Prepared(scene, read_tracks(poses_path), frames, video)


def tracker_configs(variants: List[str]):
    """(name, TrackerConfig, FlowConfig) for the presets under test and each variant."""
    from posetrack.tracking.config import apply_overrides, default_preset, load_tracking_config

    default = default_preset()
    out = [("flowtrack", *load_tracking_config(preset="flowtrack")),
           (f"{default} (default)", *load_tracking_config())]
    for v in variants:
        name, _, rest = v.partition(":")
        preset, _, rest2 = name.partition("@")
        tcfg, fcfg = load_tracking_config(preset=rest2 or default)
        overrides = dict(kv.split("=", 1) for kv in rest.split(",") if kv)
        out.append((preset, apply_overrides(tcfg, overrides), fcfg))
    return out


def run_tracker(prep: Prepared, tcfg, fcfg, flow: CachedFlow) -> Tuple[TrackFile, float]:
    from posetrack.pipeline.retrack import retrack

    before = flow.seconds
    t = time.perf_counter()
    out = retrack(prep.poses, tcfg, prep.frames, fcfg, flow_estimator=flow)
    return out, time.perf_counter() - t - (flow.seconds - before)


def run_cli(prep: Prepared, folder: Path) -> TrackFile:
    from click.testing import CliRunner

    from posetrack_cli import cli

    out = folder / f"{prep.scene.name}.cli.json"
    poses = folder / f"{prep.scene.name}.poses.json"
    result = CliRunner().invoke(cli, ["track", str(poses), "--video", str(prep.video), "--out", str(out), "--quiet"])
    logging.getLogger("posetrack").setLevel(logging.WARNING)          # the CLI set up logging for itself
    if result.exit_code != 0:
        raise RuntimeError(result.output)
    return read_tracks(out)


def parse_seeds(text: str) -> List[int]:
    out: List[int] = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b) + 1)) if b else [int(a)]
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 seeds x 100 frames per difficulty")
    ap.add_argument("--seeds", default=None, help="e.g. 0-7 or 0,3,5  [default: 0-7, quick: 0-2]")
    ap.add_argument("--frames", type=int, default=None, help="frames per scene  [default: 150, quick: 100]")
    ap.add_argument("--difficulties", default="easy,medium,hard")
    ap.add_argument("--kinds", default="", help="scene kinds, each on the medium difficulty: "
                    "crowd,cut,reentry,tiny,duplicates,crossing (tracking_scenes.KINDS), or 'all'")
    ap.add_argument("--style", default="textured", choices=["textured", "flat"],
                    help="background: textured, or flat grey (the camera's motion is invisible in the flow)")
    ap.add_argument("--variant", action="append", default=[],
                    help="NAME[@PRESET]:key=value,... a preset with overrides (dotted keys for sections)")
    ap.add_argument("--cli", action="store_true", help="also run `posetrack track` (CLI) with defaults and check "
                                                       "it writes what the default row scores")
    ap.add_argument("--keep", type=Path, default=None, help="keep the scenes, videos and predictions here")
    args = ap.parse_args(argv)
    seeds = parse_seeds(args.seeds or ("0-2" if args.quick else "0-7"))
    frames = args.frames or (100 if args.quick else 150)
    from tracking_scenes import KINDS

    kinds = list(KINDS) if args.kinds == "all" else [k for k in args.kinds.split(",") if k]
    groups = [(d, "") for d in args.difficulties.split(",") if d] + [("medium", k) for k in kinds]
    difficulties = [kind or diff for diff, kind in groups]
    configs = tracker_configs(args.variant)
    names = [c[0] for c in configs] + ["oracle"]
    folder = args.keep or Path(tempfile.mkdtemp(prefix="tracking_benchmark_"))
    folder.mkdir(parents=True, exist_ok=True)
    from posetrack.tracking.flow import build_flow

    print(f"{len(seeds)} seeds ({args.seeds or ('0-2' if args.quick else '0-7')}) x {frames} frames per difficulty, "
          f"{W}x{H} at {FPS:g} fps; scored by posetrack eval (per-joint MOTA, ID switches, mAP)\n", flush=True)
    rows = []
    cut_rows = []
    flow_seconds, flow_calls = 0.0, 0
    for diff, kind in groups:
        preds: Dict[str, Dict[str, dict]] = {n: {} for n in names}
        seconds = {n: 0.0 for n in names}
        n_frames = 0
        cuts = {"true": 0, "found": 0, "false": 0}
        for seed in seeds:
            prep = prepare(make_scene(diff, seed, frames, args.style, kind), folder)
            image_names = [prep.scene.image_name(k) for k in range(frames)]
            n_frames += frames
            flow = CachedFlow(build_flow(configs[0][2]))
            for name, tcfg, fcfg in configs:
                out, sec = run_tracker(prep, tcfg, fcfg, flow)
                seconds[name] += sec
                if name.endswith("(default)"):
                    _count_cuts(prep.scene, out, cuts)
                preds[name][prep.scene.name] = export_posetrack2017(out, image_names)
                if args.cli and name.endswith("(default)"):
                    cli_out = run_cli(prep, folder)
                    write_tracks(folder / "library.json", out)             # the file rounds coordinates
                    if export_posetrack2017(cli_out, image_names) != \
                            export_posetrack2017(read_tracks(folder / "library.json"), image_names):
                        raise RuntimeError(f"{prep.scene.name}: the CLI's output differs from the library call's")
            preds["oracle"][prep.scene.name] = export_posetrack2017(prep.scene.oracle(), image_names)
            flow_seconds += flow.seconds
            flow_calls += flow.calls
            del prep, flow
        cut_rows.append((kind or diff, cuts, n_frames))
        for name in names:
            r = _score(folder, kind or diff, name, preds[name])
            c = r.overall.counts
            rows.append((name, kind or diff, r.overall.total("mota"), int(c.switches.sum()), r.overall.total("ap"),
                         int(c.misses.sum()), int(c.false_positives.sum()), 1000 * seconds[name] / n_frames))
            print(_row(rows[-1]), flush=True)
    print("\n| tracker | difficulty | MOTA | ID switches | mAP | misses | false pos. | ms/frame |")
    print("|---|---|---|---|---|---|---|---|")
    for row in sorted(rows, key=lambda r: (names.index(r[0]), difficulties.index(r[1]))):
        print(_row(row))
    print("\nScene cuts found by the default preset (a cut scene has one; the others have none):\n")
    print("| scenes | frames | true cuts | found | false cuts | false cuts per 1000 frames |")
    print("|---|---|---|---|---|---|")
    for group, c, n in cut_rows:
        print(f"| {group} | {n} | {c['true']} | {c['found']} | {c['false']} | {1000 * c['false'] / max(n, 1):.2f} |")
    print(f"\nDIS flow ({configs[0][2].dis_preset}): {1000 * flow_seconds / max(flow_calls, 1):.1f} ms/frame, "
          f"excluded above (computed once per scene); ms/frame of the oracle is 0 (no tracking).")
    if args.keep is None:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


def _count_cuts(scene: Scene, tracks: TrackFile, cuts: Dict[str, int]) -> None:
    """Add a tracked scene's true cuts, cuts found and false cuts to ``cuts``.

    A true cut is a frame whose people share no id with the frame before (the cut kind
    renumbers everybody); a found cut is a frame the tracker marked ``cut``.
    """
    true = {k for k in range(1, len(scene.truth)) if len(scene.truth[k].ids) and len(scene.truth[k - 1].ids)
            and not set(scene.truth[k].ids.tolist()) & set(scene.truth[k - 1].ids.tolist())
            and min(scene.truth[k].ids) >= 1_000 > max(scene.truth[k - 1].ids)}
    found = {f.frame for f in tracks.frames if f.cut}
    cuts["true"] += len(true)
    cuts["found"] += len(true & found)
    cuts["false"] += len(found - true)


def _score(folder: Path, diff: str, name: str, files: Dict[str, dict]):
    pred = folder / "pred" / diff / name.split(" ")[0]
    pred.mkdir(parents=True, exist_ok=True)
    for scene_name, doc in files.items():
        (pred / f"{scene_name}.json").write_text(json.dumps(doc))
    gt = {n: folder / "gt" / f"{n}.json" for n in files}
    return evaluate(gt, {n: pred / f"{n}.json" for n in files})


def _row(r) -> str:
    name, diff, mota, sw, ap, miss, fp, ms = r
    return f"| {name} | {diff} | {mota:.1f} | {sw} | {ap:.1f} | {miss} | {fp} | {ms:.2f} |"


if __name__ == "__main__":
    main()
