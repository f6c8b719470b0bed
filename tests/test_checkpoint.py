"""posetrack.models.checkpoint: checkpoint layouts, safe unpickling and plain-word mismatch errors."""
from __future__ import annotations

import io

import os
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from posetrack.models.checkpoint import CheckpointError, adapt_keys, load_checkpoint, read_state_dict
from posetrack.io.download import file_sha256


class Net(nn.Module):
    """A tiny stand-in for HRNet: official-style names, a BatchNorm and a ``final_layer`` head."""

    def __init__(self, joints: int = 4):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.final_layer = nn.Conv2d(8, joints, 1)


class Detector(nn.Module):
    """A model with its own ``backbone.`` and ``head.`` submodules, like torchvision's detectors."""

    def __init__(self):
        super().__init__()
        self.backbone = Net()
        self.head = nn.Linear(4, 2)


def _trained(model_cls=Net, seed: int = 1, **kw) -> nn.Module:
    """A model whose every parameter and buffer differs from a fresh one."""
    torch.manual_seed(seed)
    model = model_cls(**kw)
    with torch.no_grad():
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.copy_(torch.randn_like(t).abs() + 0.5)
            else:
                t.fill_(seed + 7)
    return model


def _assert_same(a: nn.Module, b: nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def _prefixed(state, renames):
    out = OrderedDict()
    for k, v in state.items():
        for old, new in renames:
            if k.startswith(old):
                k = new + k[len(old):]
                break
        out[k] = v
    return out


def test_plain_state_dict_round_trip(tmp_path):
    src = _trained()
    torch.save(src.state_dict(), tmp_path / "w.pth")
    dst = load_checkpoint(Net(), tmp_path / "w.pth")
    _assert_same(src, dst)


def test_module_prefixed_checkpoint_loads(tmp_path):
    src = _trained()
    torch.save(_prefixed(src.state_dict(), [("", "module.")]), tmp_path / "dp.pth")
    _assert_same(src, load_checkpoint(Net(), tmp_path / "dp.pth"))


def test_official_hrnet_training_checkpoint_layout_loads(tmp_path):
    # The official train script saves {'epoch', 'model': <name string>, 'state_dict': DataParallel's, 'perf', ...}.
    src = _trained()
    ckpt = {"epoch": 140, "model": "pose_hrnet", "perf": 0.744,
            "state_dict": _prefixed(src.state_dict(), [("", "module.")])}
    torch.save(ckpt, tmp_path / "checkpoint.pth")
    _assert_same(src, load_checkpoint(Net(), tmp_path / "checkpoint.pth"))


def test_wrapped_under_model_loads(tmp_path):
    src = _trained()
    torch.save({"model": src.state_dict(), "optimizer": {"lr": 0.001}}, tmp_path / "m.pt")
    _assert_same(src, load_checkpoint(Net(), tmp_path / "m.pt"))


@pytest.mark.parametrize("head_prefix", ["keypoint_head.", "head."])  # mmpose 0.x, mmpose 1.x
def test_mmpose_checkpoint_loads(tmp_path, head_prefix):
    src = _trained()
    state = _prefixed(src.state_dict(), [("final_layer.", head_prefix + "final_layer."), ("", "backbone.")])
    assert "backbone.conv1.weight" in state and head_prefix + "final_layer.weight" in state
    # meta as mmcv/mmengine write it: strings, ints, and numpy scalars and arrays.
    meta = {"epoch": 210, "mmcv_version": "1.1.1", "config": "model = dict(type='TopDown')",
            "time": "Wed Jul  8 2020", "hook_msgs": {"best_score": np.float64(0.744), "best_epoch": np.int64(200)},
            "flip_pairs": np.array([[1, 2], [3, 4]])}
    torch.save({"meta": meta, "state_dict": state}, tmp_path / "hrnet_w32_coco_256x192-c78dce93_20200708.pth")
    _assert_same(src, load_checkpoint(Net(), tmp_path / "hrnet_w32_coco_256x192-c78dce93_20200708.pth"))


def test_own_backbone_and_head_prefixes_are_kept(tmp_path):
    # A model whose own keys start with backbone./head. must not lose them to the mmpose layout.
    src = _trained(Detector)
    torch.save(src.state_dict(), tmp_path / "det.pth")
    _assert_same(src, load_checkpoint(Detector(), tmp_path / "det.pth"))
    torch.save(_prefixed(src.state_dict(), [("", "module.")]), tmp_path / "det_dp.pth")
    _assert_same(src, load_checkpoint(Detector(), tmp_path / "det_dp.pth"))


def test_adapt_keys_reports_the_layout():
    state = {"backbone.conv1.weight": torch.zeros(1), "keypoint_head.final_layer.bias": torch.zeros(1)}
    renamed, layout = adapt_keys(state, ["conv1.weight", "final_layer.bias"])
    assert set(renamed) == {"conv1.weight", "final_layer.bias"}
    assert layout.startswith("mmpose")
    same, layout = adapt_keys(state, ["backbone.conv1.weight", "keypoint_head.final_layer.bias"])
    assert set(same) == set(state) and layout == "as saved"


def test_safetensors_round_trip(tmp_path):
    src = _trained()
    save_file({k: v.contiguous() for k, v in src.state_dict().items()}, str(tmp_path / "w.safetensors"))
    _assert_same(src, load_checkpoint(Net(), tmp_path / "w.safetensors"))


def test_checkpoint_without_batchnorm_counters_loads(tmp_path):
    # torchvision's trained detectors were saved from FrozenBatchNorm2d, which has no num_batches_tracked.
    src = _trained()
    state = {k: v for k, v in src.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save(state, tmp_path / "frozen.pth")
    dst = load_checkpoint(Net(), tmp_path / "frozen.pth")
    for k, v in state.items():
        assert torch.equal(dst.state_dict()[k], v)


class _OpenFile:
    """Unpickling this calls open(path, 'w'), which creates a file: code execution."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, "w")


class _ShellTouch:
    """Unpickling this runs a shell command through os.system."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return os.system, (f"touch '{self.path}'",)


@pytest.mark.parametrize("payload", [_OpenFile, _ShellTouch])
@pytest.mark.parametrize("container", ["torch.save", "raw pickle"])
def test_malicious_pickle_is_refused_and_not_executed(tmp_path, payload, container):
    # The payload is live: an ordinary unpickle does create its marker file.
    probe = tmp_path / "probe_marker"
    pickle.loads(pickle.dumps(payload(probe)))
    assert probe.exists()

    marker = tmp_path / "pwned_marker"
    path = tmp_path / "evil.pth"
    if container == "torch.save":
        torch.save({"state_dict": {"conv1.weight": torch.zeros(8, 3, 3, 3)}, "extra": payload(marker)}, path)
    else:
        path.write_bytes(pickle.dumps(payload(marker), protocol=2))
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(Net(), path)
    message = str(err.value)
    assert str(path) in message and "refused for safety" in message
    assert not marker.exists()


def test_wrong_joint_count_names_the_key_and_the_fix(tmp_path):
    torch.save(_trained(joints=15).state_dict(), tmp_path / "w15.pth")
    model = Net(joints=17)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(model, tmp_path / "w15.pth")
    message = str(err.value)
    assert "final_layer.weight: checkpoint (15, 8, 1, 1) vs model (17, 8, 1, 1)" in message
    assert "a 15-joint checkpoint; use a config with num_joints: 15" in message
    assert "final_layer.bias: checkpoint (15,) vs model (17,)" in message
    assert "missing" not in message and "unexpected" not in message
    for k, v in model.state_dict().items():  # nothing was half-loaded
        assert torch.equal(v, before[k]), k


def test_missing_and_unexpected_keys_are_named(tmp_path):
    state = _trained().state_dict()
    del state["bn1.running_var"]
    state["fc.weight"] = torch.zeros(2, 2)
    torch.save(state, tmp_path / "odd.pth")
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(Net(), tmp_path / "odd.pth")
    message = str(err.value)
    assert "1 missing (in the model, not in the checkpoint): bn1.running_var" in message
    assert "1 unexpected (in the checkpoint, not in the model): fc.weight" in message
    assert "odd.pth" in message


def test_long_key_lists_are_cut_and_counted(tmp_path):
    state = {f"layer{i}.weight": torch.zeros(1) for i in range(25)}
    torch.save(state, tmp_path / "other.pth")
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(Net(), tmp_path / "other.pth")
    message = str(err.value)
    assert "probably for a different model" in message
    assert "25 unexpected" in message and "... and 15 more" in message
    assert "layer9.weight" in message and "layer10.weight" not in message


def test_unreadable_files_give_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint file"):
        read_state_dict(tmp_path / "absent.pth")
    (tmp_path / "junk.pth").write_bytes(b"this is not a checkpoint at all")
    with pytest.raises(CheckpointError, match="junk.pth is corrupt or not a PyTorch checkpoint"):
        read_state_dict(tmp_path / "junk.pth")
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 20)
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        read_state_dict(tmp_path / "junk.safetensors")
    torch.save({"epoch": 3, "lr": 0.1}, tmp_path / "notensors.pth")
    with pytest.raises(CheckpointError, match="holds no tensors; its top-level entries are: epoch, lr"):
        read_state_dict(tmp_path / "notensors.pth")
    torch.save([torch.zeros(1)], tmp_path / "list.pth")
    with pytest.raises(CheckpointError, match="holds a list, not a state dict"):
        read_state_dict(tmp_path / "list.pth")


@pytest.mark.parametrize("seed", range(6))
def test_corrupt_bytes_are_called_corrupt_never_unsafe(tmp_path, seed):
    """Random bytes, a pickle header followed by junk, and a truncated real checkpoint."""
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    torch.save(_trained().state_dict(), buf)
    real = buf.getvalue()
    for k, body in enumerate([rng.bytes(int(rng.integers(1, 4000))), b"\x80\x02" + rng.bytes(500),
                              real[:int(rng.integers(10, len(real) - 1))]]):
        path = tmp_path / f"c{k}.pth"
        path.write_bytes(body)
        with pytest.raises(CheckpointError) as err:
            read_state_dict(path)
        assert "corrupt" in str(err.value) and "safety" not in str(err.value), str(err.value)


def test_local_file_hash_is_checked_when_given(tmp_path):
    src = _trained()
    torch.save(src.state_dict(), tmp_path / "w.pth")
    digest = file_sha256(tmp_path / "w.pth")
    _assert_same(src, load_checkpoint(Net(), tmp_path / "w.pth", sha256=digest[:8]))
    wrong = ("0" if digest[0] != "0" else "1") + digest[1:12]
    with pytest.raises(CheckpointError, match=f"has SHA-256 {digest}, expected {wrong}"):
        load_checkpoint(Net(), tmp_path / "w.pth", sha256=wrong)
