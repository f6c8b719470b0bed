"""`posetrack train` on the command line: help, one-line errors, no clobbering, a whole run on a synthetic set."""
import subprocess
import sys

import pytest
import torch
from click.testing import CliRunner

from posetrack_cli import cli


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_help_teaches_and_imports_nothing_heavy():
    result = CliRunner().invoke(cli, ["train", "-h"], terminal_width=100)
    assert result.exit_code == 0
    for text in ("--config", "--freeze-stages", "--resume", "torchrun", "coco_w32_256x192", "--pose-weights"):
        assert text in result.output
    code = ("import sys; from posetrack_cli import main\ntry:\n    main(['train', '-h'])\nexcept SystemExit:\n    pass\n"
            "print('HEAVY', [m for m in ('torch', 'cv2', 'pycocotools', 'matplotlib') if m in sys.modules])")
    assert "HEAVY []" in subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout


@pytest.mark.parametrize("args,message", [
    (["--config", "coco_w32_25x192"], "no training config named 'coco_w32_25x192' (did you mean 'coco_w32_256x192'?)"),
    (["--config", "tiny_synthetic", "--keypoints", "nope"], "no keypoint layout 'nope'"),
    (["--config", "tiny_synthetic", "--weights", "seeded:x"], "write seeded:N with an integer seed N"),
])
def test_bad_settings_are_one_red_line(tmp_path, args, message):
    from posetrack.training.synthetic import make_stick_figures

    make_stick_figures(tmp_path / "d", train=2, val=1)
    result = CliRunner().invoke(cli, ["train", *args, "--data", str(tmp_path / "d"), "--out", str(tmp_path / "o"),
                                      "--quiet", "--device", "cpu"])
    assert result.exit_code == 1, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1


def test_a_bad_annotation_file_is_named(tmp_path):
    (tmp_path / "d" / "annotations").mkdir(parents=True)
    (tmp_path / "d" / "annotations" / "person_keypoints_train.json").write_text('{"images": [], "annotations": [{}]}')
    result = CliRunner().invoke(cli, ["train", "--config", "tiny_synthetic", "--data", str(tmp_path / "d"),
                                      "--out", str(tmp_path / "o"), "--quiet", "--device", "cpu"])
    assert result.exit_code == 1
    assert "person_keypoints_train.json: annotation 0" in result.output and "image_id" in result.output


def test_run_on_a_synthetic_set_then_refuse_to_clobber_then_resume(tmp_path):
    data, out = tmp_path / "toy", tmp_path / "run"
    args = ["train", "--config", "tiny_synthetic", "--data", str(data), "--out", str(out), "--epochs", "1",
            "--batch-size", "32", "--device", "cpu", "--quiet"]
    result = CliRunner().invoke(cli, [*args, "--make-synthetic"])
    assert result.exit_code == 0, result.output
    assert "3 steps, 1 epochs on 127 people" in result.output and "best AP" in result.output
    for name in ("checkpoint.pth", "model_best.pth", "final_state.pth", "log.csv", "curves.png"):
        assert (out / name).is_file(), name
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 1 and "--resume" in again.output and "--force" in again.output
    done = CliRunner().invoke(cli, [*args, "--resume"])                     # nothing left to do: same weights
    assert done.exit_code == 0 and "3 steps, 1 epochs" in done.output
    other = CliRunner().invoke(cli, [*args, "--resume", "--lr", "0.5"])
    assert other.exit_code == 1 and "other settings (optimizer differ)" in other.output


def test_tensorboard_events(tmp_path):
    pytest.importorskip("tensorboard")
    from posetrack.training import load_train_config, train
    from posetrack.training.synthetic import make_stick_figures

    data = make_stick_figures(tmp_path / "toy", train=16, val=0)
    cfg = load_train_config("tiny_synthetic").replace(**{"optimizer.epochs": 1, "optimizer.batch_size": 16,
                                                         "data.val": None, "log_every": 1})
    train(cfg, data, tmp_path / "run", device="cpu", tensorboard=True)
    assert any((tmp_path / "run" / "tensorboard").glob("events.out.tfevents.*"))
