"""SIGKILL trials: `posetrack run` killed at random moments (and again while resuming), then resumed.

Each trial starts `posetrack run` on a synthetic clip (tiny HRNet with seeded weights, a
boxes file, ``--render``), SIGKILLs it at a random moment, resumes (``--resume`` if a
journal exists, else ``--force``), SIGKILLs the resume at a random moment too, then lets a
last resume finish, and compares the tracks file byte for byte with an uninterrupted
run's. It prints where each kill landed (journal lines written by then: 0 = before any
frame) and the count of identical results.

Usage::

    python benchmarks/resume_trials.py --trials 20
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from posetrack.journal import journal_path
from runpath_data import make_clip
from test_resume import command, decoded_frames, journal_lines, leftovers, next_command


def kill_at_random(cmd, out: Path, rng, seconds: float, frames: int):
    """Run ``cmd``; SIGKILL it at a random moment. Returns (killed, journal lines at the kill)."""
    by_lines = rng.random() < 0.5
    target = int(rng.integers(0, frames + frames // 4 + 2))
    deadline = time.monotonic() + rng.uniform(0.3, 1.1) * seconds
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while proc.poll() is None:
        if (by_lines and journal_lines(out) >= target) or (not by_lines and time.monotonic() >= deadline):
            time.sleep(rng.uniform(0, 0.03) if by_lines else 0)
            proc.kill()
            break
        time.sleep(0.002)
    killed = proc.wait() != 0
    return killed, journal_lines(out)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clip = make_clip(tmp / "clip", frames=args.frames)
        ref = tmp / "ref" / "tracks.json"
        ref.parent.mkdir()
        t0 = time.monotonic()
        subprocess.run(command(clip, ref), check=True, capture_output=True)
        seconds = time.monotonic() - t0
        print(f"{args.frames} frames, frame batch 4, uninterrupted run {seconds:.1f} s\n")
        identical, kills = 0, 0
        for trial in range(args.trials):
            rng = np.random.default_rng(args.seed + trial)
            out = tmp / f"t{trial}" / "tracks.json"
            out.parent.mkdir()
            cmd, landed = command(clip, out), []
            for _ in range(2):
                killed, lines = kill_at_random(cmd, out, rng, seconds, args.frames)
                landed.append(f"killed at {lines} journal lines" if killed else "finished")
                kills += killed
                cmd = next_command(clip, out)
                if not killed or cmd is None:
                    break
            if cmd is not None:
                subprocess.run(cmd, check=True, capture_output=True)
            same = (out.read_bytes() == ref.read_bytes() and not journal_path(out).exists()
                    and not leftovers(out.parent) and len(decoded_frames(out.with_suffix(".mp4"))) == args.frames)
            identical += same
            print(f"trial {trial:2d}: {'; '.join(landed):55s} -> {'identical' if same else 'DIFFERENT'}")
        print(f"\n{identical} of {args.trials} trials identical to the uninterrupted run ({kills} SIGKILLs)")


if __name__ == "__main__":
    main()
