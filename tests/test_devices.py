"""Device strings (--device 0 / cuda:0 / cpu / mps / auto) and the precision a run records for --half.

The machines that run these tests may have no GPU: CUDA and MPS are simulated by
monkeypatching torch's availability checks, which is all posetrack.models.devices looks at.
"""
import logging
import time

import pytest
import torch
from click.testing import CliRunner

from posetrack.models.devices import effective_precision, resolve_device
from posetrack.errors import ConfigError, DeviceError
from posetrack_cli import cli


@pytest.fixture
def gpus(monkeypatch):
    """Pretend this machine has `n` CUDA devices (and MPS or not)."""
    def set_(n: int, mps: bool = False):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: n > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: n)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    return set_


@pytest.mark.parametrize("asked, want", [("0", "cuda:0"), (0, "cuda:0"), ("1", "cuda:1"), ("cuda", "cuda:0"),
                                         ("cuda:1", "cuda:1"), ("CUDA:0", "cuda:0"), ("cpu", "cpu"),
                                         ("auto", "cuda:0"), (" 1 ", "cuda:1")])
def test_gpu_machine(gpus, asked, want):
    gpus(2)
    assert resolve_device(asked) == want


def test_cpu_only_machine(gpus):
    gpus(0)
    assert resolve_device("auto") == "cpu" and resolve_device("cpu") == "cpu"
    for asked in ("0", "cuda", "cuda:0"):
        with pytest.raises(DeviceError, match=r"CUDA is not available on this machine \(available: cpu\)"):
            resolve_device(asked)
    with pytest.raises(DeviceError, match=r"'mps': Apple's Metal \(MPS\) is not available"):
        resolve_device("mps")


def test_a_gpu_index_past_the_last_names_those_present(gpus):
    gpus(2)
    with pytest.raises(DeviceError, match=r"device 'cuda:2': this machine has 2 CUDA devices "
                                          r"\(available: cpu, cuda:0, cuda:1\)"):
        resolve_device("cuda:2")
    with pytest.raises(DeviceError, match="device '5'"):
        resolve_device("5")


def test_mps_where_present_and_auto_does_not_pick_it(gpus):
    gpus(0, mps=True)
    assert resolve_device("mps") == "mps"
    assert resolve_device("auto") == "cpu"


@pytest.mark.parametrize("asked", ["tpu", "cuda:x", "-1", "vulkan", "cuda:", ""])
def test_names_of_no_device_are_config_errors(gpus, asked):
    gpus(1)
    with pytest.raises(ConfigError, match="use auto, cpu, cuda, cuda:N, N"):
        resolve_device(asked)


def test_effective_precision(caplog):
    with caplog.at_level(logging.WARNING, logger="posetrack.models.devices"):
        assert effective_precision("cuda:0", True) == "fp16"
        assert effective_precision("cuda:1", False, "bf16") == "bf16"
        assert effective_precision("cpu", False) == "auto"
        assert effective_precision("cpu", False, "fp16") == "fp16"       # asked for by name: it runs
        assert not caplog.text
        assert effective_precision("cpu", True) == "auto"
        assert "float16) is ignored on cpu" in caplog.text
        assert effective_precision("mps", True, "fp32") == "fp32"


def test_the_cli_refuses_a_missing_device_before_anything_loads(gpus, tmp_path):
    """One red line, exit 1, before the video is opened or any weights are looked for."""
    gpus(0)
    video = tmp_path / "video.mp4"
    video.write_bytes(b"not even a video")        # opening it would fail differently
    t0 = time.perf_counter()
    result = CliRunner().invoke(cli, ["run", str(video), "--device", "0", "--pose-weights", "nowhere.pth"],
                                terminal_width=100)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == ["Error: device '0': CUDA is not available on this machine "
                                                  "(available: cpu)"]
    assert time.perf_counter() - t0 < 20
