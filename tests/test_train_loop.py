"""`posetrack train` end to end on CPU: a tiny HRNet learns stick figures; runs are deterministic; a killed run
resumes to the very weights an uninterrupted run ends with; two DDP processes (gloo) equal one process.

One thread per process: the runs compare weights bit for bit, and on a busy 2-core machine one thread is
also the fastest.
"""
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from posetrack.training import load_train_config, train
from posetrack.training.synthetic import make_stick_figures

ROOT = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return make_stick_figures(tmp_path_factory.mktemp("toy"), train=48, val=12, seed=0)


def _short(**changes):
    """tiny_synthetic with 2 short epochs of batch 8, a resume checkpoint every 2 steps, no validation."""
    base = {"optimizer.epochs": 2, "optimizer.batch_size": 8, "checkpoint_every": 2, "validation.every": 0,
            "log_every": 2}
    return load_train_config("tiny_synthetic").replace(**{**base, **changes})


def _weights(path):
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


def _assert_same(a, b, atol=0.0):
    assert list(a) == list(b)
    for k in a:
        if atol == 0:
            assert torch.equal(a[k], b[k]), k
        else:
            torch.testing.assert_close(a[k].float(), b[k].float(), atol=atol, rtol=0, msg=k)


@pytest.fixture(scope="module")
def short_run(toy, tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("short")
    summary = train(_short(), toy, out, device="cpu")
    return out, summary


def test_tiny_hrnet_learns_stick_figures_far_above_the_untrained_model(toy, tmp_path):
    cfg = load_train_config("tiny_synthetic").replace(**{"optimizer.epochs": 13, "optimizer.batch_size": 8,
                                                         "validation.every": 13})
    untrained = _untrained_ap(cfg, toy)
    events = []
    summary = train(cfg, toy, tmp_path / "run", device="cpu", progress=events.append)
    assert summary.steps >= 130
    assert untrained < 0.05 and summary.final_ap > 0.3, (untrained, summary.final_ap)
    steps = [e for e in events if e.phase == "step"]
    assert steps[-1].loss < steps[0].loss and steps[-1].lr == pytest.approx(1e-3)
    assert steps[-1].eta is not None and events[-1].phase == "done"
    rows = (tmp_path / "run" / "log.csv").read_text().splitlines()
    assert rows[0].startswith("kind,epoch,step,lr,loss,AP") and rows[-1].startswith("epoch,12,")
    assert (tmp_path / "run" / "curves.png").stat().st_size > 10_000
    # the best weights load in `run` as they are, with their layout and the AP recorded beside them
    from posetrack.models.registry import build_pose_model

    model = build_pose_model("hrnet_tiny_128x96", weights=str(tmp_path / "run" / "model_best.pth"))
    meta = torch.load(tmp_path / "run" / "model_best.pth", weights_only=True)["meta"]
    assert model.config.layout.name == "coco" and meta["metrics"]["AP"] == pytest.approx(summary.best_ap)
    assert meta["data_hash"] == summary.data_hash and meta["train_config"]["model"] == "hrnet_tiny_128x96"


def _untrained_ap(cfg, toy):
    """The validation AP of the run's starting model (the official initialisation, same seed)."""
    from posetrack.models.registry import build_pose_model
    from posetrack.pose.estimator import PoseEstimator
    from posetrack.training.data import find_split, read_keypoint_files
    from posetrack.training.finetune import init_model
    from posetrack.training.validation import validate

    model = build_pose_model(cfg.model)
    init_model(model, model.config, None, model.config.layout, {}, cfg.seed)
    people = read_keypoint_files(*find_split(toy, "coco", "val"), model.config.layout)
    return validate(PoseEstimator(model, device="cpu"), people, cfg.validation).ap


def test_same_seed_same_weights(short_run, toy, tmp_path):
    out, summary = short_run
    again = train(_short(), toy, tmp_path, device="cpu")
    assert again.steps == summary.steps == 22
    _assert_same(_weights(out / "final_state.pth"), _weights(tmp_path / "final_state.pth"))
    train(_short(seed=1), toy, tmp_path / "seed1", device="cpu")
    assert not torch.equal(_weights(out / "final_state.pth")["final_layer.weight"],
                           _weights(tmp_path / "seed1" / "final_state.pth")["final_layer.weight"])


KILLED = textwrap.dedent("""
    import os, signal, sys, torch
    torch.set_num_threads(1)
    from posetrack.training import load_train_config, train
    cfg = load_train_config("tiny_synthetic").replace(**{{"optimizer.epochs": 2, "optimizer.batch_size": 8,
        "checkpoint_every": 2, "validation.every": 0, "log_every": 2}})
    def progress(event):
        if event.phase == "step" and event.step == {kill_at}:
            os.kill(os.getpid(), signal.SIGKILL)             # no cleanup of any kind runs
    train(cfg, sys.argv[1], sys.argv[2], device="cpu", progress=progress)
""")


@pytest.mark.parametrize("kill_at,checkpoint", [(15, 14), (12, 11)])   # mid-epoch; just after an epoch's end
def test_resume_after_a_kill_ends_with_the_uninterrupted_weights(short_run, toy, tmp_path, kill_at, checkpoint):
    out, summary = short_run
    proc = subprocess.run([sys.executable, "-c", KILLED.format(kill_at=kill_at), str(toy), str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert not (tmp_path / "final_state.pth").exists()
    resumed = train(_short(), toy, tmp_path, device="cpu", resume=True)
    assert resumed.resumed_from == checkpoint
    _assert_same(_weights(out / "final_state.pth"), _weights(tmp_path / "final_state.pth"))
    assert _no_times(tmp_path / "log.csv") == _no_times(out / "log.csv")


def _no_times(log):
    """log.csv without its wall-time column."""
    return [row.rsplit(",", 1)[0] for row in log.read_text().splitlines()]


def _torchrun(config, toy, out):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
                           port, "-m", "posetrack_cli", "train", "--config", str(config), "--data", str(toy),
                           "--out", str(out), "--device", "cpu", "--quiet"],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)


def _losses(out):
    return np.array([float(r.split(",")[4]) for r in (out / "log.csv").read_text().splitlines()[1:]
                     if r.startswith("step")])


def test_two_ddp_processes_equal_one_process_with_the_same_total_batch(tmp_path):
    # Two optimiser steps of the recipe. Longer runs drift apart: the order of the gradient sums differs (one
    # batch vs two halves summed by DDP), and Adam, dividing each gradient entry by its own size, turns that
    # rounding in entries near zero into visible steps; a few steps later the runs are different runs.
    toy = make_stick_figures(tmp_path / "toy", train=14, val=0, seed=1)
    cfg = _short(**{"optimizer.epochs": 2, "optimizer.batch_size": 16, "optimizer.batchnorm_batch": 8,
                    "checkpoint_every": 0, "log_every": 1, "weights": "seeded:0", "data.val": None})
    from posetrack.training.config import config_to_dict

    config = tmp_path / "ddp.yaml"
    config.write_text(yaml.safe_dump(config_to_dict(cfg)))
    proc = _torchrun(config, toy, tmp_path / "two")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr.count("2 steps, 2 epochs") == 1                     # one summary, from rank 0
    one = train(cfg, toy, tmp_path / "one", device="cpu")
    assert one.steps == 2
    np.testing.assert_allclose(_losses(tmp_path / "two"), _losses(tmp_path / "one"), rtol=1e-6)
    a, b = _weights(tmp_path / "one" / "final_state.pth"), _weights(tmp_path / "two" / "final_state.pth")
    assert list(a) == list(b)
    diff = torch.cat([(a[k].double() - b[k].double()).abs().flatten() for k in a])
    assert float((diff <= 1e-5).double().mean()) > 0.999          # measured: 99.95 %; 97 % within 1e-6
    assert float(diff.max()) <= 2 * cfg.optimizer.lr               # Adam moves an entry by at most lr per step
    # BatchNorm over the whole batch of 16 (not per process) is measurably another computation
    train(cfg.replace(**{"optimizer.batchnorm_batch": None}), toy, tmp_path / "whole", device="cpu")
    assert np.abs(_losses(tmp_path / "whole") - _losses(tmp_path / "two"))[1] > 1e-3


def test_fine_tune_coco_weights_on_posetrack_files_with_frozen_stages(toy, tmp_path):
    """PoseTrack 2018 layout (one file per video, posetrack18 slots) from a COCO-layout checkpoint: the head gets
    head_bottom/head_top, stages 1-2 stay as loaded, and `run` reads the result as posetrack18."""
    import json

    from posetrack.models.registry import build_pose_model

    coco = json.loads((toy / "annotations" / "person_keypoints_train.json").read_text())
    root = tmp_path / "pt18"
    for i, image in enumerate(coco["images"][:12]):
        video = f"{i:06d}_mpii_train"
        name = f"images/train/{video}/000000.png"
        (root / name).parent.mkdir(parents=True)
        (root / name).write_bytes((toy / "images" / "train" / image["file_name"]).read_bytes())
        people = [dict(a, track_id=k, bbox_head=[0, 0, 1, 1]) for k, a in enumerate(coco["annotations"])
                  if a["image_id"] == image["id"]]
        for p in people:
            p.pop("area")                                             # PoseTrack files have none
        (root / "annotations" / "train").mkdir(parents=True, exist_ok=True)
        (root / "annotations" / "train" / f"{video}.json").write_text(json.dumps(
            {"images": [{"id": image["id"], "file_name": name, "is_labeled": True}], "annotations": people}))
    start = build_pose_model("hrnet_tiny_128x96")
    torch.save(start.state_dict(), tmp_path / "coco.pth")
    cfg = _short(**{"data.format": "posetrack18", "optimizer.epochs": 1, "checkpoint_every": 0,
                    "weights": str(tmp_path / "coco.pth"), "head_init": {"head_top": "right_eye"}, "freeze_stages": 2})
    summary = train(cfg, root, tmp_path / "run", device="cpu")
    assert summary.steps >= 2
    weights = _weights(tmp_path / "run" / "final_state.pth")
    torch.testing.assert_close(weights["stage2.0.branches.0.0.conv1.weight"],
                               start.state_dict()["stage2.0.branches.0.0.conv1.weight"], rtol=0, atol=0)
    torch.testing.assert_close(weights["bn1.running_mean"], start.state_dict()["bn1.running_mean"], rtol=0, atol=0)
    assert not torch.equal(weights["stage3.0.branches.0.0.conv1.weight"],
                           start.state_dict()["stage3.0.branches.0.0.conv1.weight"])
    model = build_pose_model("hrnet_tiny_128x96", weights=str(tmp_path / "run" / "final_state.pth"))
    assert model.config.layout.name == "posetrack18"
    meta = torch.load(tmp_path / "run" / "final_state.pth", weights_only=True)["meta"]
    assert meta["init"]["head"]["head_top"] == "right_eye" and meta["init"]["head"]["head_bottom"] == "official init"
    assert meta["frozen"][:5] == ["conv1", "bn1", "conv2", "bn2", "layer1"]
