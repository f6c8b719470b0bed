"""The Ray engine on a 2-CPU local cluster: same files as sequential runs, a killed worker, a corrupt video."""
import dataclasses
import json
import os
import signal

import pytest
from click.testing import CliRunner

ray = pytest.importorskip("ray")

from helpers.many_videos import make_batch, options, write_boxes  # noqa: E402
from posetrack.pipeline.batch import FramesDone, plan_jobs  # noqa: E402
from posetrack.pipeline.engines import get_engine  # noqa: E402
from posetrack.pipeline.runner import Outputs, run_video  # noqa: E402
from posetrack_cli import cli  # noqa: E402

NAMES = ["clip0", "clip1", "clip2", "clip3", "seq0"]


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """4 short videos and one PNG sequence with boxes files; each run alone with run_video as the reference."""
    d = make_batch(tmp_path_factory.mktemp("ray"), videos=4, frames=16, sequence_frames=8)
    d["reference"] = d["root"] / "reference"
    opts = options(d["weights"])
    for source, name in zip(d["sources"], NAMES):
        run_video(source, Outputs(d["reference"] / f"{name}.tracks.json"),
                  dataclasses.replace(opts, boxes_file=str(d["boxes"] / f"{name}.json")))
    return d


def assert_identical(d, out, names=NAMES):
    for name in names:
        assert (out / f"{name}.tracks.json").read_bytes() == (d["reference"] / f"{name}.tracks.json").read_bytes(), \
            f"{name}: the Ray output differs from the sequential run"


def test_ray_outputs_equal_sequential_runs(cluster, data, tmp_path):
    jobs = plan_jobs(data["sources"], tmp_path / "out", boxes_dir=data["boxes"])
    result = get_engine("ray").run(jobs, options(data["weights"]))
    assert [v.status for v in result.videos] == ["done"] * 5
    workers = {v.worker.split(" (")[0] for v in result.videos}
    assert workers == {"worker 0", "worker 1"}           # one actor per CPU of the 2-CPU cluster, both given videos
    assert_identical(data, tmp_path / "out")


def test_killed_ray_worker_is_retried_and_outputs_are_identical(cluster, data, tmp_path, monkeypatch):
    import posetrack.pipeline.engine_ray as engine_ray

    monkeypatch.setattr(engine_ray, "_POLL", 0.02)     # see the workers mid-video even on a fast machine
    killed = []

    def on_event(event):
        if isinstance(event, FramesDone) and not killed and 1 <= event.done <= event.total - 2:
            killed.append(event.index)
            os.kill(event.pid, signal.SIGKILL)

    for attempt in range(3):        # a 16-frame video can finish between two polls: try again
        out = tmp_path / f"out{attempt}"
        jobs = plan_jobs(data["sources"], out, boxes_dir=data["boxes"])
        result = get_engine("ray").run(jobs, options(data["weights"]), on_event=on_event)
        if killed:
            break
    assert killed, "no video was seen mid-run"
    assert all(v.ok for v in result.videos), result.videos
    # Progress events arrive late: the killed actor may have finished that video and started the
    # next. What must hold: some video ran twice, and every file equals a sequential run's.
    retried = [v for v in result.videos if v.attempts == 2]
    assert retried and all(v.status in ("resumed", "done") and v.frames_run <= 16 for v in retried), result.videos
    assert_identical(data, out)             # the resumed video too, byte for byte


def test_corrupt_video_is_reported_and_the_rest_complete(cluster, data, tmp_path):
    """Through the command line: exit 1, the failure named, the good videos identical."""
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(os.urandom(3000))
    boxes = tmp_path / "boxes"
    boxes.mkdir()
    for name in NAMES:
        (boxes / f"{name}.json").write_bytes((data["boxes"] / f"{name}.json").read_bytes())
    write_boxes(boxes / "broken.json", 0, 16)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, [
        "run", *data["sources"][:2], str(broken), *data["sources"][2:], "--out-dir", str(out),
        "--boxes-dir", str(boxes), "--engine", "ray", "--pose-model", "hrnet_tiny_128x96",
        "--pose-weights", str(data["weights"]), "--device", "cpu", "--quiet"], terminal_width=120)
    assert result.exit_code == 1, result.output
    assert "failed: broken" in result.output and "1 of 6 videos failed" in result.output
    assert "5 of 6 videos done (ray engine" in result.output
    for name in NAMES:
        assert json.loads((out / f"{name}.tracks.json").read_text())["status"] == "complete"
    # The boxes files differ in path from the reference's, so compare the frames, not the bytes.
    for name in NAMES:
        got = json.loads((out / f"{name}.tracks.json").read_text())
        want = json.loads((data["reference"] / f"{name}.tracks.json").read_text())
        assert got["frames"] == want["frames"] and got["video"] == want["video"]


def test_eval_dataset_root_predicts_on_ray(cluster, data, tmp_path):
    from helpers.posetrack_files import make_dataset

    make_dataset(tmp_path / "pt", frames=4)
    boxes = tmp_path / "boxes"
    boxes.mkdir()
    (boxes / "000001_bonn.json").write_text(json.dumps(
        [{"image_id": t, "bbox": [30.0, 10.0, 30.0, 60.0], "score": 0.9, "category_id": 1} for t in range(4)]))
    out = tmp_path / "preds"
    result = CliRunner().invoke(cli, [
        "eval", "--dataset-root", str(tmp_path / "pt"), "--out-dir", str(out), "--boxes-dir", str(boxes),
        "--engine", "ray", "--workers", "1", "--pose-model", "hrnet_tiny_128x96", "--pose-weights",
        str(data["weights"]), "--device", "cpu", "--quiet"], terminal_width=120)
    assert result.exit_code == 0, result.output
    assert json.loads((out / "tracks" / "000001_bonn.tracks.json").read_text())["status"] == "complete"
    assert len(json.loads((out / "000001_bonn.json").read_text())["annolist"]) == 4
    assert "MOTA" in result.output
