"""`posetrack train` on the command line: help, one-line errors, no clobbering, a whole run on a synthetic set."""
import subprocess
import sys

import pytest
from click.testing import CliRunner

from posetrack_cli import cli


pytestmark = pytest.mark.usefixtures("one_thread")


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


@pytest.mark.parametrize("args,flags", [
    (["--config", "coco_w32_25x192"], "--config"),
    (["--config", "tiny_synthetic", "--keypoints", "nope"], "--keypoints"),
    (["--config", "tiny_synthetic", "--weights", "seeded:x"], "--weights"),
    (["--config", "tiny_synthetic", "--resume"], "--out, without --resume"),
    (["--config", "tiny_synthetic", "--batch-size", "1000"], "--batch-size, --data"),
    (["--config", "tiny_synthetic", "--data-is-empty"], "--data"),
])
def test_errors_name_the_flags_to_change(tmp_path, args, flags):
    """training/ names the settings at fault (``err.fields``); the CLI shows train's flags (cli/_errors.FIELD_FLAGS)."""
    from posetrack.training.synthetic import make_stick_figures

    data = tmp_path / "d"
    if "--data-is-empty" in args:
        args = [a for a in args if a != "--data-is-empty"]
        data.mkdir()
    else:
        make_stick_figures(data, train=2, val=1)
    result = CliRunner().invoke(cli, ["train", *args, "--data", str(data), "--out", str(tmp_path / "o"),
                                      "--quiet", "--device", "cpu"])
    assert result.exit_code == 1, result.output
    assert f"[on the command line: {flags}]" in result.output


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


def test_a_custom_keypoint_layout_end_to_end(tmp_path):
    """Five keypoints of the user's own naming, from a layout YAML: training, validation with its OKS sigmas,
    and weights that `run`'s loader reads with that layout."""
    import json

    import numpy as np

    from posetrack.models.registry import build_pose_model
    from posetrack.training.synthetic import make_stick_figures

    data = make_stick_figures(tmp_path / "toy", train=16, val=4)
    slots = [0, 5, 6, 11, 12]                                    # nose, shoulders, hips of the stick figures
    for split in ("train", "val"):
        path = data / "annotations" / f"person_keypoints_{split}.json"
        doc = json.loads(path.read_text())
        for a in doc["annotations"]:
            kp = np.asarray(a["keypoints"]).reshape(17, 3)[slots]
            a["keypoints"], a["num_keypoints"] = kp.ravel().tolist(), int((kp[:, 2] > 0).sum())
        path.write_text(json.dumps(doc))
    layout = tmp_path / "torso.yaml"
    layout.write_text("name: torso\nkeypoints: [head, l_shoulder, r_shoulder, l_hip, r_hip]\n"
                      "flip_pairs: [[l_shoulder, r_shoulder], [l_hip, r_hip]]\nsigmas: [0.026, 0.079, 0.079, 0.107, 0.107]\n"
                      "skeleton: [[l_shoulder, r_shoulder], [l_hip, r_hip]]\nupper_body: [head, l_shoulder, r_shoulder]\n")
    result = CliRunner().invoke(cli, ["train", "--config", "tiny_synthetic", "--data", str(data), "--out",
                                      str(tmp_path / "run"), "--keypoints", str(layout), "--epochs", "1",
                                      "--batch-size", "16", "--device", "cpu", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "torso layout, 5 keypoints" in result.output and "best AP" in result.output
    model = build_pose_model("hrnet_tiny_128x96", weights=str(tmp_path / "run" / "model_best.pth"))
    assert model.config.layout.names == ("head", "l_shoulder", "r_shoulder", "l_hip", "r_hip")
    assert model.config.layout.flip_pairs == ((1, 2), (3, 4)) and model.final_layer.out_channels == 5
