"""Exact resume: a run killed at any moment, then resumed, writes the file an uninterrupted run writes.

Real SIGKILLs hit `posetrack run` subprocesses at random moments (while it starts, while it
journals, while it writes the tracks file, and again while it resumes); faults injected at
every write step (each ``os.write``, ``os.fsync`` and ``os.replace`` of a run) check that an
I/O error loses no finished frame, names its file and leaves no ``.tmp`` behind. The tiny
HRNet's float outputs depend on how many crops share a forward pass, so a byte-identical
tracks file also proves that the resumed frame batches were composed as in one run.

``POSETRACK_KILL_TRIALS=20 pytest tests/test_resume.py -k sigkill`` runs more kill trials.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from posetrack.errors import ResumeError
from posetrack.pipeline.checked_journal import read_journal
from posetrack.tracksfile.journal import journal_path
from posetrack.pipeline.runner import Outputs, load_models, run_video
from helpers.resume_runs import command, decoded_frames, journal_lines, leftovers, next_command, run_and_kill
from helpers.runpath import make_clip, run_options
from helpers.videos import write_video

N = 16
KILL_TRIALS = int(os.environ.get("POSETRACK_KILL_TRIALS", "3"))


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("clip"), frames=N)


@pytest.fixture(scope="module")
def reference(clip, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference") / "tracks.json"
    t0 = time.monotonic()
    subprocess.run(command(clip, out), check=True, capture_output=True)
    return out, time.monotonic() - t0


@pytest.mark.parametrize("trial", range(KILL_TRIALS))
def test_sigkill_at_random_moments_then_resume_gives_the_same_file(clip, reference, tmp_path, trial):
    ref, seconds = reference
    rng = np.random.default_rng(1000 + trial)
    out = tmp_path / "tracks.json"
    cmd = command(clip, out)
    for _kill in range(2):                      # killed once, then killed again while resuming
        killed = run_and_kill(cmd, out, rng, seconds)
        cmd = next_command(clip, out)
        if not killed or cmd is None:
            break
    if cmd is not None:
        done = subprocess.run(cmd, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    assert out.read_bytes() == ref.read_bytes()
    assert not journal_path(out).exists() and leftovers(tmp_path) == []
    assert len(decoded_frames(out.with_suffix(".mp4"))) == N       # the whole annotated video


# ---------------------------------------------------------------- faults at every write step

@pytest.fixture(scope="module")
def inprocess(clip, tmp_path_factory):
    """Models loaded once, a short run's options, and its uninterrupted outputs."""
    opts = run_options(clip, end=5, frame_batch=2)
    models = load_models(opts)
    d = tmp_path_factory.mktemp("inprocess")
    outputs = Outputs(d / "tracks.json", posetrack2018=d / "p18.json")
    run_video(clip["frames"], outputs, opts, models=models)
    return opts, models, outputs


def _in(folder: Path, op: str, args) -> bool:
    if op == "replace":
        return str(args[0]).startswith(str(folder))
    try:
        return os.readlink(f"/proc/self/fd/{args[0]}").startswith(str(folder))
    except OSError:
        return False


@contextlib.contextmanager
def faults(monkeypatch, folder: Path, fail_at=None, code=errno.ENOSPC):
    """Count (and make the ``fail_at[op]``-th one fail) os.write/fsync/replace on files in ``folder``."""
    counts = {"write": 0, "fsync": 0, "replace": 0}
    for op in counts:
        real = getattr(os, op)

        def wrapper(*args, _op=op, _real=real, **kwargs):
            if _in(folder, _op, args):
                counts[_op] += 1
                if fail_at and fail_at.get(_op) == counts[_op]:
                    raise OSError(code, os.strerror(code))
            return _real(*args, **kwargs)

        monkeypatch.setattr(os, op, wrapper)
    try:
        yield counts
    finally:
        monkeypatch.undo()


def recover(clip, outputs: Outputs, opts, models):
    """After a failure: resume if there is a journal, start over if nothing was kept."""
    out = outputs.tracks
    if journal_path(out).exists():
        return run_video(clip["frames"], outputs, opts, models=models, resume=True)
    return run_video(clip["frames"], outputs, opts, models=models, force=True)


def test_a_fault_at_any_write_step_loses_nothing_and_leaves_no_tmp(clip, inprocess, tmp_path, monkeypatch):
    opts, models, ref = inprocess
    with faults(monkeypatch, tmp_path / "count") as counts:
        (tmp_path / "count").mkdir()
        run_video(clip["frames"], Outputs(tmp_path / "count" / "tracks.json", posetrack2018=tmp_path / "count" / "p18.json"),
                  opts, models=models)
    assert counts["write"] >= 5 + 3 + 2 and counts["fsync"] >= 3 and counts["replace"] == 3   # frames, states, files
    steps = [(op, n) for op in counts for n in range(1, counts[op] + 1)]
    for op, n in steps:
        d = tmp_path / f"{op}{n}"
        d.mkdir()
        outputs = Outputs(d / "tracks.json", posetrack2018=d / "p18.json")
        with faults(monkeypatch, d, {op: n}):
            with pytest.raises(OSError) as failure:
                run_video(clip["frames"], outputs, opts, models=models)
        assert failure.value.errno == errno.ENOSPC
        assert Path(failure.value.filename).parent == d, (op, n, failure.value.filename)
        assert leftovers(d) == [], (op, n)
        kept = read_journal(outputs.tracks)
        summary = recover(clip, outputs, opts, models)
        assert outputs.tracks.read_bytes() == ref.tracks.read_bytes(), (op, n)
        assert outputs.posetrack2018.read_bytes() == ref.posetrack2018.read_bytes(), (op, n)
        assert summary.frames == 5 and summary.resumed == (len(kept.frames) if kept else 0)
        assert leftovers(d) == [] and not journal_path(outputs.tracks).exists()


def test_a_fault_while_resuming_loses_nothing_either(clip, inprocess, tmp_path, monkeypatch):
    opts, models, ref = inprocess
    outputs = Outputs(tmp_path / "tracks.json")
    for n, fail_at in enumerate(({"write": 6}, {"write": 3}, {"fsync": 2}, {"replace": 1})):
        with faults(monkeypatch, tmp_path, fail_at):
            with pytest.raises(OSError):
                recover(clip, outputs, opts, models) if n else run_video(clip["frames"], outputs, opts, models=models)
        assert leftovers(tmp_path) == []
    recover(clip, outputs, opts, models)
    assert outputs.tracks.read_bytes() == ref.tracks.read_bytes()


# ---------------------------------------------------------------- what resume checks and keeps

def interrupt_after(monkeypatch, frames: int):
    """Ctrl-C while the ``frames + 1``-th frame is journaled."""
    import posetrack.tracksfile.journal as journal

    real, calls = journal.Journal.frame, {"n": 0}

    def frame(self, result):
        calls["n"] += 1
        if calls["n"] > frames:
            raise KeyboardInterrupt
        real(self, result)

    monkeypatch.setattr(journal.Journal, "frame", frame)


def interrupted_run(monkeypatch, source, outputs, opts, models, after: int) -> None:
    """A run interrupted by Ctrl-C while its ``after + 1``-th frame is journaled."""
    interrupt_after(monkeypatch, after)
    with pytest.raises(KeyboardInterrupt):
        run_video(source, outputs, opts, models=models)
    monkeypatch.undo()


def test_resume_render_gives_the_whole_video_and_a_summary_of_the_whole_run(clip, inprocess, tmp_path, monkeypatch):
    opts, models, _ = inprocess
    ref = Outputs(tmp_path / "ref.json", render=tmp_path / "ref.mp4")
    whole = run_video(clip["frames"], ref, opts, models=models)
    outputs = Outputs(tmp_path / "tracks.json", render=tmp_path / "tracks.mp4")
    interrupted_run(monkeypatch, clip["frames"], outputs, opts, models, after=3)
    partial = json.loads(outputs.tracks.read_text())
    assert partial["status"] == "partial" and len(partial["frames"]) == 3
    assert len(decoded_frames(outputs.render)) == 3            # Ctrl-C keeps a playable partial video
    summary = run_video(clip["frames"], outputs, opts, models=models, resume=True)
    assert outputs.tracks.read_bytes() == ref.tracks.read_bytes()
    np.testing.assert_array_equal(decoded_frames(outputs.render), decoded_frames(ref.render))
    assert (summary.frames, summary.tracks, summary.resumed) == (whole.frames, whole.tracks, 3)
    assert summary.times.frames == 5 - 2         # this call: frames 2 (its batch's first, recomputed) to 4


def test_resume_needs_the_same_options(clip, inprocess, tmp_path, monkeypatch):
    opts, models, _ = inprocess
    out = tmp_path / "tracks.json"
    interrupted_run(monkeypatch, clip["frames"], out, opts, models, after=3)
    from dataclasses import replace

    with pytest.raises(ResumeError, match=r"frame_batch 2 -> 3"):
        run_video(clip["frames"], out, replace(opts, frame_batch=3), models=models, resume=True)
    shorter = tmp_path / "shorter"
    shorter.mkdir()
    for png in sorted(clip["frames"].iterdir())[:10]:
        (shorter / png.name).write_bytes(png.read_bytes())
    with pytest.raises(ResumeError, match="different video"):
        run_video(shorter, out, opts, models=models, resume=True)


def test_nothing_to_resume_and_old_journals_are_clear_errors(clip, inprocess, tmp_path):
    opts, models, _ = inprocess
    out = tmp_path / "tracks.json"
    with pytest.raises(ResumeError, match="nothing to resume"):
        run_video(clip["frames"], out, opts, models=models, resume=True)
    run_video(clip["frames"], out, opts, models=models)
    with pytest.raises(ResumeError, match="already finished"):
        run_video(clip["frames"], out, opts, models=models, resume=True)
    # A journal of the version 1 format: the tracks file's header, then rounded frame lines.
    old = {"format": "posetrack-tracks", "version": 1, "video": {"path": "x", "fps": 25, "width": 192,
                                                                  "height": 144, "frames": N}}
    journal_path(out).write_text(json.dumps(old) + "\n" + json.dumps({"frame": 0, "people": []}) + "\n")
    out.unlink()
    with pytest.raises(ResumeError, match="older posetrack"):
        run_video(clip["frames"], out, opts, models=models, resume=True)


# ---------------------------------------------------------------- input files, by contents

def own_inputs(clip, folder: Path, opts):
    """Copies of the clip's boxes, weights and a tracker config in ``folder``, and options naming them."""
    from dataclasses import replace

    from posetrack.config import config_path

    folder.mkdir(exist_ok=True)
    for name in ("dets.json", "pose.pth"):
        (folder / name).write_bytes(Path(clip["dets" if name == "dets.json" else "weights"]).read_bytes())
    (folder / "tracking.yaml").write_text(config_path("tracker").read_text())
    return replace(opts, boxes_file=str(folder / "dets.json"), pose_weights=str(folder / "pose.pth"),
                   tracker_config=str(folder / "tracking.yaml"))


@pytest.mark.parametrize("which", ["dets.json", "pose.pth", "tracking.yaml"])
def test_resume_refuses_an_input_file_whose_contents_changed(clip, inprocess, tmp_path, monkeypatch, which):
    """Frames 0-2 came from the old file: continuing with the new one would match neither whole run."""
    opts, models, ref = inprocess
    opts = own_inputs(clip, tmp_path / "in", opts)
    out = tmp_path / "tracks.json"
    interrupted_run(monkeypatch, clip["frames"], out, opts, models, after=3)
    changed = tmp_path / "in" / which
    original = changed.read_bytes()
    if which == "dets.json":
        dets = json.loads(original)
        for d in dets:
            d["bbox"][0] += 20
        changed.write_text(json.dumps(dets))
    elif which == "pose.pth":
        import torch

        state = torch.load(changed)
        state["final_layer.bias"] += 0.5
        torch.save(state, changed)
    else:
        changed.write_bytes(original.replace(b"\n", b"\n# edited\n", 1))
    with pytest.raises(ResumeError) as e:
        run_video(clip["frames"], out, opts, models=models, resume=True)
    message = str(e.value)
    assert message.startswith(f"{changed.resolve()}: changed since the interrupted run (") and "SHA-256" in message
    assert "\n" not in message
    changed.write_bytes(original)                  # the same bytes again: resumed exactly
    run_video(clip["frames"], out, opts, models=models, resume=True)
    assert json.loads(out.read_text())["frames"] == json.loads(ref.tracks.read_text())["frames"]


def test_resume_accepts_the_same_files_spelled_differently(clip, inprocess, tmp_path, monkeypatch):
    """--boxes in/dets.json, then --boxes /abs/.../in/dets.json: the same file (compared by contents, as the
    video is); the run finishes as one run with the second spelling would."""
    from dataclasses import replace

    opts, models, _ = inprocess
    absolute = own_inputs(clip, tmp_path / "in", opts)
    ref = tmp_path / "ref.json"
    run_video(clip["frames"], ref, absolute, models=models)
    monkeypatch.chdir(tmp_path)
    relative = replace(absolute, boxes_file="in/dets.json", pose_weights="./in/../in/pose.pth",
                       tracker_config="in/tracking.yaml")
    out = tmp_path / "tracks.json"
    interrupted_run(monkeypatch, clip["frames"], out, relative, models, after=3)
    head = read_journal(out).head
    assert head["inputs"]["boxes_file"]["path"] == str(tmp_path / "in" / "dets.json")
    assert set(head["inputs"]) == {"boxes_file", "pose_weights", "tracker_config"}
    summary = run_video(clip["frames"], out, absolute, models=models, resume=True)
    assert summary.resumed == 3 and out.read_bytes() == ref.read_bytes()


def test_sigkill_then_a_changed_boxes_file_is_refused_and_the_same_one_resumes(clip, reference, tmp_path):
    """A real kill mid-run; the boxes file changes: refused naming it. The same bytes again, spelled as an
    absolute path where the killed run had a relative one: resumed, the uninterrupted run's file."""
    ref, _ = reference
    work = tmp_path / "rs"
    work.mkdir()
    boxes = work / "long.json"
    boxes.write_bytes(Path(clip["dets"]).read_bytes())
    out = tmp_path / "tracks.json"
    args = [a if a != str(clip["dets"]) else "rs/long.json" for a in command(clip, out)]
    proc = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while proc.poll() is None and journal_lines(out) < 6:      # head, states and some frames
        time.sleep(0.002)
    proc.kill()
    assert proc.wait() != 0, "the run finished before it could be killed"
    original = boxes.read_bytes()
    dets = json.loads(original)
    for d in dets:
        d["bbox"][0] += 20
    boxes.write_text(json.dumps(dets))
    absolute = [a if a != "rs/long.json" else str(boxes) for a in args] + ["--resume"]
    refused = subprocess.run(absolute, cwd=tmp_path, capture_output=True, text=True)
    assert refused.returncode == 1
    assert f"{boxes}: changed since the interrupted run (boxes_file: SHA-256 " in refused.stderr
    boxes.write_bytes(original)
    absolute = [a if a != str(boxes) else str(clip["dets"]) for a in absolute]   # the reference's spelling
    done = subprocess.run(absolute, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == ref.read_bytes()


# ---------------------------------------------------------------- damaged journals

def damage_state(out: Path, position: int, edit) -> int:
    """Rewrite the journal's state line at ``position`` with ``edit(line text)``; returns its line number."""
    lines = journal_path(out).read_text().split("\n")
    for n, line in enumerate(lines):
        if line.startswith('{"state"') and json.loads(line)["state"]["position"] == position:
            lines[n] = edit(line)
            journal_path(out).write_text("\n".join(lines))
            return n + 1
    raise AssertionError(f"no state at position {position}")


def _set_tracker(line: str, tracker_json: str) -> str:
    return line[:line.index('"tracker":')] + '"tracker": ' + tracker_json + "}}"


DAMAGE = {
    "NaN next_id": lambda line: line.replace('"next_id": ', '"next_id": NaN, "was": ', 1),
    "queue not arrays": lambda line: line.replace('"queue": {', '"queue": {"keypoints": 5}, "old": {', 1),
    "negative next_id": lambda line: line.replace('"next_id": ', '"next_id": -5, "was": ', 1),
    "tracker a string": lambda line: _set_tracker(line, '"x"'),
    "tracker null": lambda line: _set_tracker(line, "null"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_state_line_is_skipped_like_a_torn_one(clip, inprocess, tmp_path, monkeypatch, caplog, damage):
    """The resume restarts from the last good state before it: every finished frame is kept, the file is exact."""
    import logging

    opts, models, ref = inprocess
    out = tmp_path / "tracks.json"
    # states at positions 0 and 2, frames 0-2
    interrupted_run(monkeypatch, clip["frames"], out, opts, models, after=3)
    line = damage_state(out, 2, DAMAGE[damage])
    contents = read_journal(out)
    assert sorted(contents.states) == [0] and sorted(contents.frames) == [0, 1, 2] and contents.skipped == 1
    with caplog.at_level(logging.WARNING, logger="posetrack.tracksfile.journal"):
        summary = run_video(clip["frames"], out, opts, models=models, resume=True)
    assert f"tracks.json.journal: line {line}: " in caplog.text
    assert summary.resumed == 3 and summary.times.frames == 5          # recomputed from position 0
    assert out.read_bytes() == ref.tracks.read_bytes()


def test_load_state_dict_refuses_a_bad_state_and_keeps_its_own(clip, inprocess):
    from posetrack.errors import FormatError
    from posetrack.keypoints import get_layout
    from posetrack.tracking.tracker import PoseTracker

    opts, models, ref = inprocess
    from posetrack.tracksfile.codec import read_tracks

    tracker = PoseTracker(get_layout("coco"))
    for result in read_tracks(ref.tracks).frames:
        tracker.update(result.frame, result.poses)
    good = json.loads(json.dumps(tracker.state_dict()))
    assert len(good["tracks"]["ids"]) > 0
    fresh = PoseTracker(get_layout("coco"))
    fresh.load_state_dict(good)
    assert fresh.state_dict() == good
    cases = {"next_id": -5, "queue": {"keypoints": 5}, "last_frame": 1.5, "propagated": "yes"}
    for key, value in cases.items():
        with pytest.raises(FormatError, match=rf"^tracker\.{key}"):
            fresh.load_state_dict({**good, key: value})
    short = json.loads(json.dumps(good))
    short["queue"]["keypoints"][0] = short["queue"]["keypoints"][0][:16]
    with pytest.raises(FormatError, match=r"tracker\.queue\.keypoints: "):
        fresh.load_state_dict(short)
    ids = json.loads(json.dumps(good))
    ids["next_id"] = max(ids["tracks"]["ids"])
    with pytest.raises(FormatError, match=r"tracker\.next_id: must be above"):
        fresh.load_state_dict(ids)
    assert fresh.state_dict() == good                      # a refused state changes nothing


def test_a_version_2_journal_is_refused_clearly(clip, inprocess, tmp_path, monkeypatch):
    opts, models, _ = inprocess
    out = tmp_path / "tracks.json"
    interrupted_run(monkeypatch, clip["frames"], out, opts, models, after=3)
    lines = journal_path(out).read_text().split("\n")
    head = json.loads(lines[0])
    head["version"] = 2
    del head["inputs"]
    journal_path(out).write_text("\n".join([json.dumps(head)] + lines[1:]))
    with pytest.raises(ResumeError, match=r"older posetrack \(version 2, without the digests of its input files\)"):
        run_video(clip["frames"], out, opts, models=models, resume=True)


def _reencode(src: Path, dst: Path, fps: float, shift: int = 0) -> None:
    """The frames of ``src`` written again to ``dst`` at ``fps`` (``shift`` brightens them: other contents)."""
    import cv2

    cap = cv2.VideoCapture(str(src))
    frames = []
    ok, img = cap.read()
    while ok:
        frames.append(np.clip(img[..., ::-1].astype(int) + shift, 0, 255).astype(np.uint8))
        ok, img = cap.read()
    cap.release()
    write_video(dst, frames=frames, fps=fps, codec="mpeg4")


def test_resume_refuses_another_video_and_accepts_the_same_one_elsewhere(clip, inprocess, tmp_path, monkeypatch):
    """Found by a second attacker pass: a re-encode at 30 fps (same frames, same size) or other contents at
    the same path were resumed, giving a file whose times go back. The journal keeps the video's fps and
    a fingerprint of its bytes."""
    import shutil

    opts, models, _ = inprocess
    video = tmp_path / "walk.mp4"
    shutil.copy(clip["mp4"], video)
    out = tmp_path / "tracks.json"
    interrupted_run(monkeypatch, video, out, opts, models, after=3)
    saved = video.read_bytes()
    _reencode(clip["mp4"], video, fps=30.0)
    with pytest.raises(ResumeError, match=r"walk.mp4: not the video the interrupted run was made from \(10.0 fps"):
        run_video(video, out, opts, models=models, resume=True)
    _reencode(clip["mp4"], video, fps=10.0, shift=40)
    with pytest.raises(ResumeError, match=r"walk.mp4: changed since the interrupted run"):
        run_video(video, out, opts, models=models, resume=True)
    moved = tmp_path / "elsewhere" / "walk.mp4"          # the same bytes under another path: resumed
    moved.parent.mkdir()
    moved.write_bytes(saved)
    summary = run_video(moved, out, opts, models=models, resume=True)
    assert summary.resumed == 3 and json.loads(out.read_text())["status"] == "complete"
