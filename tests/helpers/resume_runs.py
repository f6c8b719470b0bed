"""Runs of ``posetrack run`` in a subprocess, killed with SIGKILL at random moments and resumed (the
resume tests and benchmarks/resume_trials.py)."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from helpers.runpath import cli_args
from helpers.videos import decode
from posetrack.tracksfile.journal import journal_path


def leftovers(folder: Path):
    return sorted(p.name for p in folder.rglob("*.tmp"))


def decoded_frames(path: Path) -> np.ndarray:
    return np.stack(decode(path)[5])


def command(clip, out: Path, *extra):
    return [sys.executable, "-m", "posetrack_cli", "run", *cli_args(clip, "mp4"), "--out", str(out),
            "--frame-batch", "4", "--render", str(out.with_suffix(".mp4")), *extra]


def journal_lines(out: Path) -> int:
    try:
        return journal_path(out).read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def run_and_kill(cmd, out: Path, rng, reference_seconds: float, frames: int = 16) -> bool:
    """Start ``cmd`` and SIGKILL it at a random moment; True if it was killed before finishing.

    Half the kills wait for a random number of journal lines (plus up to 30 ms), so they
    land while frames are being journaled; the others at a random time of a whole run,
    which also hits start-up and the writing of the tracks file.
    """
    by_lines = rng.random() < 0.5
    target = int(rng.integers(0, frames + frames // 4 + 2))
    deadline = time.monotonic() + rng.uniform(0.3, 1.1) * reference_seconds
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while proc.poll() is None:
        if (by_lines and journal_lines(out) >= target) or (not by_lines and time.monotonic() >= deadline):
            time.sleep(rng.uniform(0, 0.03) if by_lines else 0)
            proc.kill()
            break
        time.sleep(0.002)
    return proc.wait() != 0


def next_command(clip, out: Path):
    """What a user does after a kill: resume if a journal exists, else start over."""
    if journal_path(out).exists():
        return command(clip, out, "--resume")
    if out.exists() and json.loads(out.read_text())["status"] == "complete":
        return None
    return command(clip, out, "--force")
