"""Seeded fuzzing of posetrack's track, render, video sources, outputs and interrupts (issue 17's table, minus eval).

    python benchmarks/fuzz_table.py [SEED] [track,render,video,output,interrupt]

Prints one row per kind: cases, clean, silent, crash, then a line for every case that was not clean.
The output faults of a read-only folder and a full disk mount small tmpfs file systems (root only;
skipped elsewhere). Runs the CLI in this process (CliRunner), the video faults in a subprocess so the
decoders' own stderr lines count against a clean result.

Each case has an expected outcome: "error" (exit 1 with exactly one 'Error:' line naming the input or output),
"ok" (exit 0 and a valid result), or "either". Outcomes:
  clean  - as expected (an error that names the file in one line, or a valid result)
  silent - exit 0 where an error was expected, or a wrong result (a wrong status, a missing frame, wrong advice)
  crash  - a traceback, an internal error, several error lines, or an unexpected exit code
"""
from __future__ import annotations

import copy
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import numpy as np
import torch
from click.testing import CliRunner

from posetrack_cli import cli
from helpers.videos import write_video

ROOT = Path(tempfile.mkdtemp(prefix="fuzz17-"))
W, H, N = 96, 64, 6


def invoke(*args):
    return CliRunner().invoke(cli, [*map(str, args)], terminal_width=200)


def classify(result, expect: str, names=()) -> str:
    out = result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return "crash"
    if "Traceback" in out or "internal error" in out:
        return "crash"
    code = result.exit_code
    if code == 0:
        return "silent" if expect == "error" else "clean"
    if code in (1, 2):
        errors = [line for line in out.splitlines() if line.startswith("Error:")]
        if code == 1 and len(errors) != 1:
            return "crash"
        if expect == "ok":
            return "silent" if code == 1 else "crash"   # refused a valid input
        if names and not any(str(n) in out for n in names):
            return "crash"
        return "clean"
    return "crash"


# ----------------------------------------------------------------------------- fixtures

def setup():
    d = ROOT / "base"
    d.mkdir()
    torch.manual_seed(0)
    from posetrack.models.registry import build_pose_model
    state = build_pose_model("hrnet_tiny_128x96").state_dict()
    state["final_layer.bias"] += 1.0
    torch.save(state, d / "pose.pth")
    write_video(d / "clip.mp4", n=N, size=(W, H), fps=10)
    (d / "boxes.json").write_text(json.dumps([{"image_id": t, "bbox": [10 + 2 * t, 10, 20, 40], "score": 0.95}
                                              for t in range(N)] + [{"image_id": t, "bbox": [60, 15, 20, 40], "score": 0.9} for t in range(N)]))
    r = invoke("run", d / "clip.mp4", *model_args(d), "--quiet", "--out", d / "tracks.json")
    assert r.exit_code == 0, r.output
    return d


def model_args(d):
    return ["--boxes", d / "boxes.json", "--pose-model", "hrnet_tiny_128x96", "--pose-weights", d / "pose.pth",
            "--device", "cpu", "--no-flip"]


# ----------------------------------------------------------------------------- tracks-file mutations

def _paths(doc, here=()):
    out = [here]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, here + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:3]):
            out += _paths(v, here + (i,))
    return out


def _get(doc, path):
    for p in path:
        doc = doc[p]
    return doc


def misspell(rng, key):
    i = rng.randrange(len(key))
    kind = rng.choice(["delete", "double", "swap", "replace", "case"])
    if kind == "delete" and len(key) > 1:
        new = key[:i] + key[i + 1:]
    elif kind == "double":
        new = key[:i] + key[i] + key[i:]
    elif kind == "swap" and len(key) > 1:
        i = min(i, len(key) - 2)
        new = key[:i] + key[i + 1] + key[i] + key[i + 2:]
    elif kind == "case":
        new = key[:i] + key[i].swapcase() + key[i + 1:]
    else:
        new = key[:i] + rng.choice("aeiouxz") + key[i + 1:]
    return new if new != key else key + "x"


ODD = [None, True, "12", [], {}, 1e400, float("nan"), float("inf"), -1, 2 ** 64, 10 ** 30, 0.5, -1e9, "", [1, 2]]


def mutate_tracks(rng, doc):
    """(mutated document or raw bytes, expected outcome, description)."""
    doc = copy.deepcopy(doc)
    kind = rng.choice(["misspell", "misspell", "value", "value", "delete", "extra", "settings", "dupframe",
                       "truncate", "utf8", "time_back", "frame_beyond"])
    if kind == "misspell":
        candidates = [p for p in _paths(doc) if p and isinstance(p[-1], str) and "settings" not in p]
        path = rng.choice(candidates)
        parent = _get(doc, path[:-1])
        new = misspell(rng, path[-1])
        if new in parent:
            return doc, "either", "misspell-collision"
        parent[new] = parent.pop(path[-1])
        return doc, "error", f"misspell {'.'.join(map(str, path))} -> {new}"
    if kind == "value":
        candidates = [p for p in _paths(doc) if p and "settings" not in p and not isinstance(_get(doc, p), (dict, list))
                      or (p and isinstance(_get(doc, p), list) and p[-1] in ("bbox",))]
        path = rng.choice(candidates)
        parent = _get(doc, path[:-1])
        value = rng.choice(ODD)
        old = parent[path[-1]]
        parent[path[-1]] = value
        # Optional fields accept null, scores accept any finite number, some values are valid by chance
        expect = "either" if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)
                                              and np.isfinite(float(value)) and abs(float(value)) < 1e5) else "error"
        if isinstance(old, str) and path[-1] in ("path",) and isinstance(value, str):
            expect = "either"
        return doc, expect, f"value {'.'.join(map(str, path))} = {value!r}"
    if kind == "delete":
        candidates = [p for p in _paths(doc) if p and isinstance(p[-1], str) and "settings" not in p]
        path = rng.choice(candidates)
        del _get(doc, path[:-1])[path[-1]]
        optional = path[-1] in ("time", "track_id", "score", "interpolated", "status", "keypoint_layout", "keypoints",
                                "skeleton", "settings", "format", "people")
        return doc, "either" if optional else "error", f"delete {'.'.join(map(str, path))}"
    if kind == "extra":
        level = rng.choice([(), ("video",), ("frames", 1), ("frames", 1, "people", 0)])
        _get(doc, level)[rng.choice(["extra", "note", "id"])] = 1
        return doc, "error", f"unknown key at {level}"
    if kind == "settings":
        doc["settings"][rng.choice(["x", "strat", "pose_modle"])] = rng.choice(ODD[:5])
        return doc, "ok", "settings free-form"
    if kind == "dupframe":
        doc["frames"].append(copy.deepcopy(doc["frames"][1]))
        return doc, "error", "frame listed twice"
    if kind == "time_back" and len(doc["frames"]) > 2:
        doc["frames"][2]["time"] = 0.0 if doc["frames"][1].get("time", 0) > 0 else -1
        return doc, "error", "time goes back"
    if kind == "frame_beyond":
        doc["frames"][-1]["frame"] = doc["video"]["frames"] + rng.randrange(0, 5)
        return doc, "error", "frame beyond video.frames"
    raw = json.dumps(doc).encode()
    if kind == "truncate":
        return raw[: rng.randrange(1, len(raw) - 1)], "error", "truncated"
    i = rng.randrange(len(raw))
    return raw[:i] + b"\xff" + raw[i + 1:], "error", "invalid utf-8 byte"


def write_case(path, case):
    path.write_bytes(case if isinstance(case, bytes) else json.dumps(case, allow_nan=True).encode())


def fuzz_tracks(d, command: str, n: int, seed: int):
    rng = random.Random(seed)
    base = json.loads((d / "tracks.json").read_text())
    counts, notes = {"clean": 0, "silent": 0, "crash": 0}, []
    for k in range(n):
        case, expect, what = mutate_tracks(rng, base)
        f = ROOT / f"{command}{k}.json"
        write_case(f, case)
        out = ROOT / f"{command}{k}.out.{'json' if command == 'track' else 'mp4'}"
        args = ["track", f, "--out", out, "--quiet"] if command == "track" else ["render", d / "clip.mp4", f, "-o", out]
        result = invoke(*args)
        verdict = classify(result, expect, names=[f])
        counts[verdict] += 1
        if verdict != "clean":
            notes.append(f"{command} {k}: {verdict}: {what}: exit {result.exit_code}: {result.output.strip()[-300:]}")
    return counts, notes


# ----------------------------------------------------------------------------- video faults

def video_faults(d):
    from helpers.videos import stream_copy_cut
    cases = []
    v = ROOT / "vf"
    v.mkdir()
    full = write_video(v / "full.mp4", n=12, size=(W, H), fps=10, gop=4)
    data = full.read_bytes()
    boxes12 = v / "b12.json"
    boxes12.write_text(json.dumps([{"image_id": t, "bbox": [10, 10, 20, 40], "score": 0.95} for t in range(12)]))

    def add(name, source, expect, check=None, boxes=boxes12):
        cases.append((name, source, expect, check, boxes))

    for frac in (0.3, 0.6, 0.9):
        p = v / f"cut{frac}.mp4"
        p.write_bytes(data[: int(len(data) * frac)])
        add(f"truncated mp4 {frac}", p, "either", lambda doc: doc["status"] == "partial" or len(doc["frames"]) == 12)
    p = v / "mid.mp4"
    b = bytearray(data)
    for i in range(len(b) // 2, len(b) // 2 + 200):
        b[i] ^= 0x55
    p.write_bytes(bytes(b))
    add("damaged middle", p, "either", lambda doc: doc["status"] == "partial" or len(doc["frames"]) == 12)
    (v / "empty.mp4").write_bytes(b"")
    add("empty file", v / "empty.mp4", "error")
    (v / "text.mp4").write_text("not a video\n" * 20)
    add("text as mp4", v / "text.mp4", "error")
    add("missing file", v / "nope.mp4", "error")
    mkv = write_video(v / "full.mkv", n=12, size=(W, H), fps=10)
    (v / "cut.mkv").write_bytes(mkv.read_bytes()[: int(mkv.stat().st_size * 0.6)])
    add("truncated mkv", v / "cut.mkv", "either", lambda doc: doc["status"] == "partial")
    clip = stream_copy_cut(full, v / "edit.mp4", 4, 10)
    b8 = v / "b8.json"
    b8.write_text(json.dumps([{"image_id": t, "bbox": [10, 10, 20, 40], "score": 0.95} for t in range(8)]))
    add("edit list", clip, "ok", lambda doc: doc["status"] == "complete" and len(doc["frames"]) == 8, boxes=b8)
    odd = os.fsdecode(b"bad\xffname.mp4")
    shutil.copy(full, v / odd)
    add("non-utf8 name", v / odd, "ok", lambda doc: doc["status"] == "complete")
    shutil.copy(full, v / "clip [take 2].mp4")
    add("brackets in name", v / "clip [take 2].mp4", "ok", lambda doc: doc["status"] == "complete")
    import cv2
    for kind in ("corrupt png", "truncated png", "truncated jpg", "odd size", "empty image", "crc png"):
        folder = v / kind.replace(" ", "_")
        folder.mkdir()
        for i in range(6):
            cv2.imwrite(str(folder / f"{i:06d}.png"), np.full((H, W, 3), 40 * i, np.uint8))
        target = folder / "000003.png"
        good = target.read_bytes()
        if kind == "corrupt png":
            target.write_bytes(good[:8] + os.urandom(200))
        elif kind == "truncated png":
            target.write_bytes(good[: len(good) // 2])
        elif kind == "truncated jpg":
            target.unlink()
            (folder / "000003.jpg").write_bytes(cv2.imencode(".jpg", np.full((H, W, 3), 9, np.uint8))[1].tobytes()[:200])
        elif kind == "odd size":
            cv2.imwrite(str(target), np.zeros((H + 2, W, 3), np.uint8))
        elif kind == "empty image":
            target.write_bytes(b"")
        else:
            bad = bytearray(good)
            bad[60] ^= 0xFF
            target.write_bytes(bytes(bad))
        b6 = v / "b6.json"
        b6.write_text(json.dumps([{"image_id": t, "bbox": [10, 10, 20, 40], "score": 0.95} for t in range(6)]))
        add(f"folder: {kind}", folder, "error", boxes=b6)
    (v / "noimages").mkdir()
    (v / "noimages" / "readme.txt").write_text("x")
    add("folder without images", v / "noimages", "error")
    return cases


def run_video_faults(d):
    counts, notes = {"clean": 0, "silent": 0, "crash": 0}, []
    for k, (name, source, expect, check, boxes) in enumerate(video_faults(d)):
        out = ROOT / f"vf{k}.json"
        args = ["run", source, "--boxes", boxes, "--pose-model", "hrnet_tiny_128x96", "--pose-weights",
                d / "pose.pth", "--device", "cpu", "--no-flip", "--quiet", "--out", out]
        # a subprocess: the decoders' own stderr lines count against a clean result
        proc = subprocess.run([sys.executable, "-m", "posetrack_cli", *map(os.fsencode, map(str, args))],
                              capture_output=True, cwd=ROOT)
        text = (proc.stdout + proc.stderr).decode("utf-8", "replace")
        noise = any(s in text for s in ("[ WARN", "[ERROR", "libpng", "Corrupt JPEG", "[h264", "[mov", "[matroska"))
        errors = [line for line in text.splitlines() if line.startswith("Error:")]
        if "Traceback" in text or "internal error" in text or proc.returncode not in (0, 1):
            verdict = "crash"
        elif proc.returncode == 1:
            verdict = "clean" if len(errors) == 1 and expect != "ok" and not noise else ("crash" if len(errors) != 1 or noise else "silent")
        else:
            doc = json.loads(out.read_text())
            verdict = "silent" if expect == "error" or (check and not check(doc)) else "clean"
        counts[verdict] += 1
        if verdict != "clean":
            notes.append(f"video {name}: {verdict}: exit {proc.returncode}: {text.strip()[-300:]}")
    return counts, notes


# ----------------------------------------------------------------------------- output faults

def output_faults(d):
    counts, notes = {"clean": 0, "silent": 0, "crash": 0}, []
    ro = ROOT / "ro"
    ro.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(ro)]).returncode == 0
    full = ROOT / "full"
    full.mkdir()
    small = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40k", "tmpfs", str(full)]).returncode == 0
    (ROOT / "adir").mkdir()
    video, tracks = d / "clip.mp4", d / "tracks.json"
    run = ["run", video, *model_args(d), "--quiet"]
    cases = []
    if mounted:
        cases += [("run ro", [*run, "--out", ro / "t.json"], "error", ro),
                  ("run --render ro", [*run, "--out", ROOT / "o1.json", "--render", ro / "r.mp4"], "error", ro),
                  ("render ro", ["render", video, tracks, "-o", ro / "r.mp4"], "error", ro),
                  ("render frames ro", ["render", video, tracks, "--frames-dir", ro / "f"], "error", ro),
                  ("track ro", ["track", tracks, "--out", ro / "t.json", "--quiet"], "error", ro),
                  ("export ro", ["export", "--seeded", "--pose-model", "hrnet_tiny_128x96", "--out", ro / "x.onnx"],
                   "error", ro),
                  ("batch ro", ["run", video, *model_args(d)[2:], "--boxes-dir", ROOT / "bx", "--quiet", "--out-dir", ro],
                   "error", ro)]
    if small:
        noise = np.random.default_rng(0)
        big = write_video(ROOT / "big.mp4", n=30, size=(320, 240), fps=10,
                          image=lambda i, w, h: noise.integers(0, 255, (h, w, 3), dtype=np.uint8))
        cases += [("render disk full", ["render", big, tracks, "-o", full / "r.mp4", "--allow-mismatch", "--start", "0",
                                        "--end", "30"], "error", full)]
    cases += [("run out is folder", [*run, "--out", ROOT / "adir"], "error", ROOT / "adir"),
              ("render out is folder", ["render", video, tracks, "-o", ROOT / "adir"], "error", ROOT / "adir"),
              ("track out is folder", ["track", tracks, "--out", ROOT / "adir"], "error", ROOT / "adir"),
              ("out with [/b]", [*run, "--out", ROOT / "o[/b]" / "t.json"], "ok", None),
              ("out non-utf8", [*run, "--out", ROOT / os.fsdecode(b"o\xff.json")], "ok", None),
              ("out deep new folder", [*run, "--out", ROOT / "a" / "b" / "c" / "t.json"], "ok", None),
              ("out is input", [*run, "--out", d / "boxes.json", "--force"], "error", d / "boxes.json"),
              ("out exists", [*run, "--out", tracks], "error", tracks),
              ("render out is video", ["render", video, tracks, "-o", video, "--force"], "error", video)]
    (ROOT / "bx").mkdir()
    shutil.copy(d / "boxes.json", ROOT / "bx" / "clip.json")
    for name, args, expect, where in cases:
        result = invoke(*args)
        verdict = classify(result, expect, names=[where] if where else ())
        counts[verdict] += 1
        if verdict != "clean":
            notes.append(f"output {name}: {verdict}: exit {result.exit_code}: {result.output.strip()[-400:]}")
    for m in (ro, full):
        subprocess.run(["umount", str(m)], capture_output=True)
    return counts, notes


# ----------------------------------------------------------------------------- interrupts

def interrupts(d):
    import posetrack.io.atomic as atomic
    import posetrack.pipeline.runner as runner
    import posetrack.tracksfile.journal as journal
    from posetrack.rendering.render import Renderer

    counts, notes = {"clean": 0, "silent": 0, "crash": 0}, []
    video = d / "clip.mp4"
    ref = ROOT / "int_ref.json"
    assert invoke("run", video, *model_args(d), "--quiet", "--frame-batch", "2", "--out", ref).exit_code == 0
    points = []
    for n in range(0, N + 1):
        points.append((f"journal frame {n}", journal.Journal, "frame", n))
    for n in range(0, 3):
        points.append((f"journal state {n}", journal.Journal, "state", n))
    points += [("load models", runner, "load_models", 0), ("journal create", journal.Journal, "create", 0),
               ("final write", atomic, "write_atomic", 0), ("render add 2", Renderer, "add", 2),
               ("render close", Renderer, "close", 0), ("export", runner, "write_exports", 0)]
    points += [(f"batch journal frame {n}", journal.Journal, "frame", n) for n in (0, 3, 8)]
    for name, owner, attr, after in points:
        real = getattr(owner, attr)
        calls = {"n": 0}

        def wrapper(*a, _real=real, _after=after, **k):
            calls["n"] += 1
            if calls["n"] > _after:
                raise KeyboardInterrupt
            return _real(*a, **k)

        batch = name.startswith("batch")
        out = ROOT / f"int_{name.replace(' ', '_')}.json"
        render = ["--render", ROOT / f"int_{name.replace(' ', '_')}.mp4"] if "render" in name else []
        export = ["--export-coco", ROOT / f"int_{name.replace(' ', '_')}.coco.json"] if name == "export" else []
        if batch:
            outd = ROOT / f"intb_{after}"
            (ROOT / "ib").mkdir(exist_ok=True)
            (ROOT / "ibx").mkdir(exist_ok=True)
            for i in range(2):
                shutil.copy(video, ROOT / "ib" / f"v{i}.mp4")
                shutil.copy(d / "boxes.json", ROOT / "ibx" / f"v{i}.json")
            args = ["run", ROOT / "ib", *model_args(d)[2:], "--boxes-dir", ROOT / "ibx", "--quiet", "--frame-batch", "2",
                    "--out-dir", outd]
        else:
            args = ["run", video, *model_args(d), "--quiet", "--frame-batch", "2", "--out", out, *render, *export]
        setattr(owner, attr, wrapper)
        try:
            first = invoke(*args)
        finally:
            setattr(owner, attr, real)
        text = first.output
        if first.exit_code != 130 or "Traceback" in text or "internal error" in text:
            verdict = "clean" if first.exit_code == 0 and calls["n"] <= after else "crash"
            if verdict == "crash":
                notes.append(f"interrupt {name}: exit {first.exit_code}: {text.strip()[-300:]}")
            counts[verdict] += 1
            continue
        if "--resume" in text:
            again = invoke(*args, "--resume")
        elif "--force" in text:
            again = invoke(*args, "--force")
        else:
            again = invoke(*args)
        ok = again.exit_code == 0
        if ok and not batch:
            ok = out.read_bytes() == ref.read_bytes()
        if ok and batch:
            ok = all(json.loads((outd / f"v{i}.tracks.json").read_text())["status"] == "complete" for i in range(2))
        verdict = "clean" if ok else "silent"
        counts[verdict] += 1
        if not ok:
            notes.append(f"interrupt {name}: wrong advice: {text.strip()[-200:]} / then: {again.output.strip()[-300:]}")
    return counts, notes


def main():
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 17
    which = sys.argv[2].split(",") if len(sys.argv) > 2 else ["track", "render", "video", "output", "interrupt"]
    d = setup()
    table = {}
    allnotes = []
    for kind in which:
        if kind in ("track", "render"):
            counts, notes = fuzz_tracks(d, kind, 200, seed + (kind == "render"))
        elif kind == "video":
            counts, notes = run_video_faults(d)
        elif kind == "output":
            counts, notes = output_faults(d)
        else:
            counts, notes = interrupts(d)
        table[kind] = counts
        allnotes += notes
        print(kind, sum(counts.values()), counts, flush=True)
    print("| test | cases | clean | silent | crash |\n|---|---|---|---|---|")
    for kind, c in table.items():
        print(f"| {kind} | {sum(c.values())} | {c['clean']} | {c['silent']} | {c['crash']} |")
    for n in allnotes:
        print("-", n)


if __name__ == "__main__":
    main()
