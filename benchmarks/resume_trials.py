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

from posetrack.tracksfile.journal import journal_path
from helpers.runpath import make_clip
from helpers.resume_runs import command, decoded_frames, journal_lines, leftovers, next_command, run_and_kill


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
                killed = run_and_kill(cmd, out, rng, seconds, frames=args.frames)
                lines = journal_lines(out)
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
