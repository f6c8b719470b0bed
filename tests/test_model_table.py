"""`posetrack models` without torch: closed-form params / GFLOPs equal the built models' counts."""
import json
import subprocess
import sys

import pytest
import torch
from click.testing import CliRunner

from posetrack.models.hrnet_spec import StageSpec
from posetrack.models.cost_table import DEFAULT_POSE_MODEL, hrnet_cost, model_summaries
from posetrack.models.registry import build_pose_model, count_gflops, count_parameters, list_pose_models
from posetrack.pipeline.runner import RunOptions
from posetrack_cli import cli


@pytest.mark.parametrize("name", list_pose_models())
def test_formula_equals_the_built_model(name):
    row = {r.name: r for r in model_summaries()}[name]
    with torch.device("meta"):
        model = build_pose_model(name)
    assert row.params == count_parameters(model)
    assert row.gflops == pytest.approx(count_gflops(model, model.config.input_size), rel=0, abs=1e-12)


@pytest.mark.parametrize("stages, size, joints, stem, kernel", [
    # odd shapes the shipped configs do not have: basic stage 1, a width-changing transition,
    # a 3-stage net, a 3x3 head, 15 joints, a non-square crop
    ((StageSpec(1, (2,), (16,), "basic"), StageSpec(2, (1, 2), (16, 24)), StageSpec(1, (1, 1, 1), (8, 16, 40))),
     (96, 160), 15, 32, 3),
    ((StageSpec(2, (1,), (8,), "bottleneck"), StageSpec(1, (1, 1), (8, 16), "bottleneck")), (64, 64), 17, 16, 1),
])
def test_formula_on_other_architectures(stages, size, joints, stem, kernel):
    from posetrack.models.hrnet import HRNet
    from posetrack.models.hrnet_spec import HRNetSpec

    with torch.device("meta"):
        model = HRNet(HRNetSpec(stages=stages, num_joints=joints, stem_channels=stem, final_conv_kernel=kernel))
    params, macs = hrnet_cost(stages, size, joints, stem, kernel)
    assert params == count_parameters(model)
    assert macs / 2 ** 30 == pytest.approx(count_gflops(model, size), rel=0, abs=1e-15)


def test_default_model_is_the_run_default():
    assert DEFAULT_POSE_MODEL == RunOptions().pose_model
    rows = model_summaries()
    assert [r.name for r in rows if r.default] == [DEFAULT_POSE_MODEL]
    assert [r.name for r in rows][:4] == ["w32_256x192", "w32_384x288", "w48_256x192", "w48_384x288"]


def test_models_command_marks_default_and_never_imports_torch():
    code = ("import sys; from posetrack_cli import main\n"
            "try:\n    main(['models'])\nexcept SystemExit:\n    pass\n"
            "print('HEAVY', [m for m in ('torch', 'cv2', 'numpy') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"COLUMNS": "120", "PATH": ""}).stdout
    assert "HEAVY []" in out
    assert "w48_384x288 (default)" in out and "coco*" in out


def test_models_json_marks_default():
    result = CliRunner().invoke(cli, ["models", "--json"])
    rows = json.loads(result.output)
    assert [r["name"] for r in rows if r["default"]] == ["w48_384x288"]
    assert rows[0]["weights"]["coco"]["dataset"] == "COCO train2017"
