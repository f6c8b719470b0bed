"""posetrack.io.download against a loopback HTTP server: caching, hash checks, and failing well offline."""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
import torch
from torch import nn

from helpers.server import closed_port_url
from posetrack.models.checkpoint import load_checkpoint
from posetrack.io.download import (CheckpointError, cache_path, cache_root, download_url, file_sha256,
                                hash_from_name, verify_sha256)


pytestmark = pytest.mark.usefixtures("isolated_caches")   # tests/conftest.py


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 1)
        self.final_layer = nn.Conv2d(4, 2, 1)


def _checkpoint_bytes() -> tuple:
    torch.manual_seed(3)
    model = Net()
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return model, buf.getvalue()


def test_good_file_is_downloaded_cached_and_reused_without_the_server(server, tmp_path):
    body = b"x" * (3 * (1 << 20) + 123)  # several chunks
    digest = hashlib.sha256(body).hexdigest()
    url = server.serve("/models/tiny-" + digest[:8] + ".pth", body)
    calls = []
    path = download_url(url, sha256=digest[:8], cache_dir=tmp_path / "cache",
                        progress=lambda done, total: calls.append((done, total)))
    assert path == tmp_path / "cache" / f"tiny-{digest[:8]}.pth"
    assert path.read_bytes() == body
    assert calls[0] == (0, len(body)) and calls[-1] == (len(body), len(body))
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert list(path.parent.iterdir()) == [path]  # no .partial left behind

    server.stop()
    again = download_url(url, sha256=digest, cache_dir=tmp_path / "cache")
    assert again == path
    assert server.requests == [f"/models/tiny-{digest[:8]}.pth"]


def test_load_checkpoint_from_url_caches_under_torch_home(server, tmp_path):
    model, body = _checkpoint_bytes()
    url = server.serve("/w.pth", body)
    loaded = load_checkpoint(Net(), url, sha256=hashlib.sha256(body).hexdigest())
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v)
    assert (tmp_path / "torch_home" / "posetrack" / "w.pth").read_bytes() == body


def test_wrong_hash_is_reported_and_leaves_no_file(server, tmp_path):
    body = b"not the file you wanted"
    actual = hashlib.sha256(body).hexdigest()
    url = server.serve("/model-deadbeef.pth", body)
    with pytest.raises(CheckpointError) as err:
        download_url(url, sha256="deadbeef", cache_dir=tmp_path / "cache")
    message = str(err.value)
    assert f"SHA-256 {actual}, expected deadbeef" in message and url in message
    assert list((tmp_path / "cache").iterdir()) == []


def test_server_gone_says_where_to_put_the_file(tmp_path):
    url = closed_port_url("hrnet_w32-c78dce93_20200708.pth")
    with pytest.raises(CheckpointError) as err:
        download_url(url, cache_dir=tmp_path / "cache", timeout=5)
    message = str(err.value)
    expected_path = tmp_path / "cache" / "hrnet_w32-c78dce93_20200708.pth"
    assert f"could not download {url}" in message
    assert f"put it at {expected_path}" in message
    assert "local copy" in message and "--" not in message   # the library names no command-line flag
    assert not expected_path.exists() and list((tmp_path / "cache").iterdir()) == []


def test_load_checkpoint_from_unreachable_url_names_the_default_cache_path(tmp_path):
    url = closed_port_url("w.pth")
    with pytest.raises(CheckpointError, match=str(tmp_path / "torch_home" / "posetrack" / "w.pth")):
        load_checkpoint(Net(), url)


def test_http_error_is_reported(server, tmp_path):
    with pytest.raises(CheckpointError, match="HTTP Error 404"):
        download_url(server.base + "/missing.pth", cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_corrupted_cache_is_removed_with_a_message(tmp_path, caplog):
    url = closed_port_url("w-0123abcd.pth")
    cached = cache_path(url, tmp_path)
    cached.write_bytes(b"truncated")
    with pytest.raises(CheckpointError, match=r"could not download .*the cached file was removed"):
        download_url(url, sha256="0123abcd", cache_dir=tmp_path)
    assert not cached.exists()
    assert "the cached file was removed" in caplog.text
    cached.write_bytes(b"truncated")
    assert download_url(url, cache_dir=tmp_path) == cached  # without a hash it is taken as is


def test_bad_cached_copy_is_replaced_by_a_fresh_download(server, tmp_path):
    model, body = _checkpoint_bytes()
    digest = hashlib.sha256(body).hexdigest()
    url = server.serve(f"/hrnet_w32_coco_256x192-{digest[:8]}_20200708.pth", body)
    cached = cache_path(url, tmp_path)
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(body[:100])                      # an interrupted copy made by hand
    assert download_url(url, sha256=digest[:8], cache_dir=tmp_path) == cached
    assert cached.read_bytes() == body and len(server.requests) == 1


def test_url_named_with_a_hash_is_verified_without_being_told(server, tmp_path):
    """mmpose's name-<sha256 prefix>_<date>.pth: junk under such a name is caught, deleted, called corrupt."""
    junk = b"\x80\x02junk that is not the published checkpoint" * 10
    url = server.serve("/models/hrnet_w48_coco_256x192-b9e0b3ab_20200708.pth", junk)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(Net(), url)
    message = str(err.value)
    assert f"SHA-256 {hashlib.sha256(junk).hexdigest()}, expected b9e0b3ab" in message and "deleted" in message
    assert "safety" not in message
    assert not (tmp_path / "torch_home" / "posetrack" / "hrnet_w48_coco_256x192-b9e0b3ab_20200708.pth").exists()
    model, body = _checkpoint_bytes()                   # the right bytes under a name with their hash load
    good = server.serve(f"/w-{hashlib.sha256(body).hexdigest()[:8]}.pth", body)
    loaded = load_checkpoint(Net(), good)
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in model.state_dict().items())


def test_offline_mode_only_looks_in_the_cache(tmp_path):
    url = closed_port_url("w.pth")
    with pytest.raises(CheckpointError, match="downloading is turned off.*put it at " + str(tmp_path / "w.pth")):
        download_url(url, cache_dir=tmp_path, allow_download=False)
    (tmp_path / "w.pth").write_bytes(b"abc")
    assert download_url(url, cache_dir=tmp_path, allow_download=False) == tmp_path / "w.pth"


def test_file_already_in_torch_hub_cache_is_reused(tmp_path):
    body = b"torchvision downloaded me"
    hub = tmp_path / "torch_home" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    (hub / "det-1234abcd.pth").write_bytes(body)
    url = closed_port_url("det-1234abcd.pth")
    assert download_url(url, sha256=hashlib.sha256(body).hexdigest()[:10]) == hub / "det-1234abcd.pth"


def test_cache_root_precedence(monkeypatch, tmp_path):
    assert cache_root() == tmp_path / "torch_home" / "posetrack"
    monkeypatch.setenv("POSETRACK_CACHE", str(tmp_path / "ours"))
    assert cache_root() == tmp_path / "ours"
    assert cache_root(tmp_path / "explicit") == tmp_path / "explicit"
    monkeypatch.delenv("POSETRACK_CACHE")
    monkeypatch.delenv("TORCH_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "torch" / "posetrack"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_root() == Path("~/.cache/torch/posetrack").expanduser()


def test_hash_from_name_follows_torchvision_and_mmpose_names():
    assert hash_from_name("https://download.pytorch.org/models/fasterrcnn_resnet50_fpn_v2_coco-dd69338a.pth") \
        == "dd69338a"
    assert hash_from_name("https://download.openmmlab.com/mmpose/top_down/hrnet/"
                          "hrnet_w32_coco_256x192-c78dce93_20200708.pth") == "c78dce93"
    assert hash_from_name("https://example.org/pose_hrnet_w32_256x192.pth") is None
    assert hash_from_name("https://example.org/model-v2.pth") is None


def test_hash_argument_is_validated(tmp_path):
    (tmp_path / "f").write_bytes(b"abc")
    digest = file_sha256(tmp_path / "f")
    verify_sha256(tmp_path / "f", digest.upper())
    verify_sha256(tmp_path / "f", digest[:8])
    for bad in ("abc", "not-hex-at-all", digest + "0"):
        with pytest.raises(CheckpointError, match="8 to 64 hex characters"):
            verify_sha256(tmp_path / "f", bad)
