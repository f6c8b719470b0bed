"""`posetrack run` on many sources with the local engine: identical files, skip/resume, failures, Ctrl-C."""
import json
import os
import signal

import pytest
from click.testing import CliRunner

from helpers.many_videos import make_batch
from posetrack.tracksfile.journal import journal_path
from posetrack_cli import cli

NAMES = ["clip0", "clip1", "seq0"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Two 16-frame videos (two frame batches) and one 6-frame PNG sequence, boxes files, sequential references."""
    d = make_batch(tmp_path_factory.mktemp("many"), videos=2, frames=16, sequence_frames=6)
    ref = d["root"] / "reference"
    for source, name in zip(d["sources"], NAMES):   # one single-video run per source, as a user would
        result = invoke(["run", source, "--out", str(ref / f"{name}.tracks.json"), "--boxes",
                         str(d["boxes"] / f"{name}.json"), *model_args(d)])
        assert result.exit_code == 0, result.output
    d["reference"] = ref
    return d


def invoke(args):
    return CliRunner().invoke(cli, args, terminal_width=120)


def model_args(d):
    return ["--pose-model", "hrnet_tiny_128x96", "--pose-weights", str(d["weights"]), "--device", "cpu", "--quiet"]


def batch_args(d, out, *extra):
    return ["run", str(d["videos"]), "--out-dir", str(out), "--boxes-dir", str(d["boxes"]), *model_args(d), *extra]


def assert_identical(d, out, names=NAMES):
    for name in names:
        got, want = (out / f"{name}.tracks.json").read_bytes(), (d["reference"] / f"{name}.tracks.json").read_bytes()
        assert got == want, f"{name}: the batch output differs from the single-video run"
        assert not journal_path(out / f"{name}.tracks.json").exists()


def test_folder_batch_equals_single_runs_and_rerun_skips(data, tmp_path):
    out = tmp_path / "out"
    exports = ["--export-posetrack2018", str(tmp_path / "pred")]
    result = invoke(batch_args(data, out, *exports))
    assert result.exit_code == 0, result.output
    assert_identical(data, out)
    assert sorted(p.name for p in (tmp_path / "pred").iterdir()) == [f"{n}.json" for n in NAMES]
    assert len(json.loads((tmp_path / "pred" / "seq0.json").read_text())["images"]) == 6
    table = result.output
    assert "3 of 3 videos done" in table and all(n in table for n in NAMES)
    for column in ("frames", "people", "tracks", "fps", "status"):
        assert column in table
    again = invoke(batch_args(data, out, *exports))
    assert again.exit_code == 0 and again.output.count("skipped") == 3, again.output
    assert_identical(data, out)


def test_worker_processes_equal_single_runs_and_survive_a_killed_worker(data, tmp_path):
    """Two spawn workers (one thread each) write the same bytes; SIGKILL of one mid-video is retried."""
    from helpers.many_videos import options
    from posetrack.pipeline.batch import FramesDone, plan_jobs
    from posetrack.pipeline.engines import get_engine

    jobs = plan_jobs(data["sources"], tmp_path / "out", boxes_dir=data["boxes"])
    killed = []

    def on_event(event):
        if isinstance(event, FramesDone) and not killed and 1 <= event.done <= event.total - 3:
            killed.append(event.index)
            os.kill(event.pid, signal.SIGKILL)

    result = get_engine("local", workers=2).run(jobs, options(data["weights"]), on_event=on_event)
    # A dead worker breaks the standard library's pool, which stops the other worker too: every
    # video that was running resumes from its journal in a new pool.
    # Progress events reach this process late, so the killed worker may already be on its next
    # video: what must hold is that some video ran twice and every video ended with its bytes.
    assert killed and all(v.status in ("done", "resumed") for v in result.videos)
    threads = max(1, (os.cpu_count() or 1) // 2)
    assert all(f"{threads} thread" in v.worker for v in result.videos)     # the cores split between two
    retried = [v for v in result.videos if v.attempts == 2]
    assert retried, result.videos
    assert_identical(data, tmp_path / "out")


def test_a_batch_in_this_process_uses_the_thread_count_it_is_given(data, tmp_path):
    """threads=1 in this process: each video says so, the bytes equal the other runs', torch's count is restored."""
    import torch

    from helpers.many_videos import options
    from posetrack.pipeline.batch import plan_jobs
    from posetrack.pipeline.engines import get_engine

    before = torch.get_num_threads()
    jobs = plan_jobs(data["sources"], tmp_path / "out", boxes_dir=data["boxes"])
    result = get_engine("local", threads=1).run(jobs, options(data["weights"]))
    assert all(v.status == "done" and v.worker.endswith(", 1 thread)") for v in result.videos), result.videos
    assert_identical(data, tmp_path / "out")
    assert torch.get_num_threads() == before


def test_thread_counts():
    from posetrack.errors import ConfigError
    from posetrack.pipeline.engines import thread_count

    assert thread_count(3, 8, workers=4) == 3 and thread_count(None, 2) == 2
    assert thread_count(None, None, workers=10 ** 6) == 1
    assert thread_count(None, None, workers=2) == max(1, (os.cpu_count() or 1) // 2)
    assert thread_count(None, None, workers=1) is None           # this process: torch's own default
    with pytest.raises(ConfigError, match="threads must be at least 1, got 0"):
        thread_count(0)


def test_interrupted_batch_keeps_finished_videos_and_rerun_completes(data, tmp_path, monkeypatch):
    from posetrack.tracksfile.journal import Journal

    real_add = Journal.frame
    calls = {"n": 0}

    def add_then_interrupt(self, result):
        real_add(self, result)
        calls["n"] += 1
        if calls["n"] == 16 + 3:       # all of clip0, then 3 frames of clip1
            raise KeyboardInterrupt

    monkeypatch.setattr(Journal, "frame", add_then_interrupt)
    out = tmp_path / "out"
    result = invoke(batch_args(data, out))
    assert result.exit_code == 130 and "Run the same command again" in result.output
    assert "interrupted" in result.output and "not run" in result.output
    assert json.loads((out / "clip0.tracks.json").read_text())["status"] == "complete"
    assert journal_path(out / "clip1.tracks.json").exists() and not (out / "seq0.tracks.json").exists()
    monkeypatch.setattr(Journal, "frame", real_add)
    result = invoke(batch_args(data, out))
    assert result.exit_code == 0, result.output
    assert "skipped" in result.output and "resumed" in result.output
    assert_identical(data, out)


def test_a_corrupt_video_is_reported_and_the_rest_complete(data, tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    for name in ("clip0.mp4", "clip1.mp4"):
        (videos / name).symlink_to(data["videos"] / name)
    (videos / "broken.mp4").write_bytes(os.urandom(4000))
    listing = tmp_path / "sources.txt"
    listing.write_text(f"videos/clip0.mp4\nvideos/broken.mp4\n{data['videos'] / 'seq0'}\nvideos/clip1.mp4\n")
    boxes = tmp_path / "boxes"
    boxes.mkdir()
    for name in NAMES + ["broken"]:
        (boxes / f"{name}.json").write_bytes((data["boxes"] / f"{'clip0' if name == 'broken' else name}.json").read_bytes())
    out = tmp_path / "out"
    result = invoke(["run", str(listing), "--out-dir", str(out), "--boxes-dir", str(boxes), *model_args(data)])
    assert result.exit_code == 1
    assert "failed: broken" in result.output and "cannot decode this file as a video" in result.output
    assert "1 of 4 videos failed" in result.output
    for name in NAMES:
        assert json.loads((out / f"{name}.tracks.json").read_text())["status"] == "complete"
    assert not (out / "broken.tracks.json").exists()


@pytest.mark.parametrize("extra,message", [
    ([], "3 sources: give --out-dir"),
    (["--out-dir", "x", "--out", "t.json"], "--out names one tracks file"),
    (["--out-dir", "x", "--address", "auto"], "--address: not an option of --engine local"),
    (["--out-dir", "x", "--engine", "spark"], "'spark' is not one of 'local', 'ray'"),
    (["--out-dir", "x", "--render", "all.mp4"], "--render all.mp4: with --out-dir it names a folder"),
])
def test_batch_usage_errors(data, extra, message):
    result = invoke(["run", str(data["videos"]), *extra])
    assert result.exit_code == 2 and message in result.output, result.output


def test_single_source_default_name_uses_the_whole_stem(data, tmp_path):
    source = tmp_path / "match.part1.mp4"
    source.symlink_to(data["videos"] / "clip0.mp4")
    result = invoke(["run", str(source), "--boxes", str(data["boxes"] / "clip0.json"), *model_args(data)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "match.part1.tracks.json").exists() and not (tmp_path / "match.tracks.json").exists()


def test_ray_engine_missing_is_one_clear_line(data, tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    result = invoke(batch_args(data, tmp_path / "out", "--engine", "ray"))
    assert result.exit_code == 1 and 'pip install "posetrack[ray]"' in result.output
    assert "Traceback" not in result.output


def test_overall_progress_counts_frames_across_workers_and_retries():
    from posetrack.pipeline.batch import FramesDone, VideoFinished, VideoResult, VideoStarted
    from posetrack_cli._batch import BatchProgress

    bar = BatchProgress(videos=4, enabled=False)
    bar(VideoFinished(VideoResult(0, "a", "a.mp4", "skipped", frames=50)))
    bar(VideoStarted(1, "b", "worker 0", 1))
    bar(VideoStarted(2, "c", "worker 1", 1))
    bar(FramesDone(1, "b", "worker 0", 10, 100, 5.0))
    bar(FramesDone(2, "c", "worker 1", 20, 60, 5.0))
    assert bar.frames() == (30, 240)            # video d, not started, counts the mean of b and c
    bar(VideoStarted(1, "b", "worker 1", 2))    # b's worker died after 10 frames: it resumes with 90 left
    bar(FramesDone(1, "b", "worker 1", 5, 90, 5.0))
    assert bar.frames() == (35, 240)
    bar(VideoFinished(VideoResult(3, "d", "d.mp4", "failed", error="unreadable")))
    assert bar.frames() == (35, 160) and bar.finished == 2
