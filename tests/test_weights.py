"""The up-front weights check: every missing file listed at once, before any model is built."""
from __future__ import annotations

import pytest
import torch

from helpers.server import closed_port_url, sha
from helpers.weights import checkpoint_bytes, model_config
from posetrack.io.download import cache_path
from posetrack.errors import MissingWeightsError, PosetrackError, WeightsError
from posetrack.pipeline.runner import RunOptions, load_models
from posetrack.pipeline.weights import fetch_weights, missing_weights, required_weights


pytestmark = pytest.mark.usefixtures("isolated_caches")   # tests/conftest.py


def test_required_files_follow_the_options(tmp_path):
    from torchvision.models import get_model_weights

    default = required_weights(RunOptions())
    assert [w.setting for w in default] == ["pose_weights", "detector_weights"]
    pose, det = default
    assert pose.url.endswith("hrnet_w48_coco_384x288-314c8528_20200708.pth") and pose.sha256 == "314c8528"
    assert pose.path == cache_path(pose.url) and pose.path.parent == tmp_path / "torch_home" / "posetrack"
    assert det.url == get_model_weights("fasterrcnn_resnet50_fpn_v2").DEFAULT.url and det.sha256 == "dd69338a"
    assert [w.setting for w in required_weights(RunOptions(boxes_file="d.json"))] == ["pose_weights"]
    small = required_weights(RunOptions(detector_name="fasterrcnn_mobilenet_v3_large_fpn", pose_weights="posetrack18"))
    assert "posetrack18" in small[0].url and "mobilenet" in small[1].url
    raft = required_weights(RunOptions(flow_method="raft", boxes_file="d.json"))
    assert [w.setting for w in raft] == ["pose_weights", "flow.raft_weights"] and "raft_small" in raft[1].url
    assert len(required_weights(RunOptions(flow_method="raft", tracker_mode="none", boxes_file="d.json"))) == 1
    local = required_weights(RunOptions(pose_weights=str(tmp_path / "w.pth"), detector_weights="det.pth"))
    assert [(w.url, w.path.name) for w in local] == [(None, "w.pth"), (None, "det.pth")]


def test_offline_lists_every_missing_file_in_one_error(tmp_path):
    with pytest.raises(MissingWeightsError) as err:
        fetch_weights(RunOptions(flow_method="raft"), download=False)
    e = err.value
    assert [m[0] for m in e.missing] == ["pose_weights", "detector_weights", "flow.raft_weights"]
    message = str(e)
    for wf in required_weights(RunOptions(flow_method="raft")):
        assert wf.url in message and str(wf.path) in message and wf.sha256 in message
    assert message.startswith("3 weight files missing (downloading is turned off)")
    assert "--" not in message                      # the library names settings, never flags
    assert "pass its path in the setting its line starts with (pose_weights, detector_weights, flow.raft_weights)" \
        in message
    assert "Precomputed person boxes (boxes_file" in message       # the way round the detector's weights
    with pytest.raises(MissingWeightsError) as err:
        fetch_weights(RunOptions(boxes_file="d.json"), download=False)
    assert "boxes_file" not in str(err.value)                        # no detector: nothing to say about it
    assert isinstance(e, WeightsError) and isinstance(e, PosetrackError)


def test_network_down_costs_one_attempt_and_lists_all(tmp_path, server):
    body = checkpoint_bytes()
    url = closed_port_url(f"tiny-{sha(body)[:8]}_2024.pth")
    opts = RunOptions(pose_model=str(model_config(tmp_path, url, sha(body)[:8])), flow_method="raft")
    with pytest.raises(MissingWeightsError) as err:
        fetch_weights(opts)
    assert [m[0] for m in err.value.missing] == ["pose_weights", "detector_weights", "flow.raft_weights"]
    assert "refused" in str(err.value).lower()      # the reason of the one failed attempt
    assert [w.setting for w in missing_weights(opts)] == ["pose_weights", "detector_weights", "flow.raft_weights"]


def test_missing_files_are_reported_before_any_model_is_built(tmp_path, monkeypatch):
    import posetrack.pose.detector
    import posetrack.models.registry

    def never(*args, **kwargs):
        raise AssertionError("a model was built before the weights check")

    monkeypatch.setattr(posetrack.models.registry, "build_pose_model", never)
    monkeypatch.setattr(posetrack.pose.detector, "build_detector", never)
    url = closed_port_url("tiny-abcdef12_2024.pth")
    opts = RunOptions(pose_model=str(model_config(tmp_path, url, "abcdef12")), device="cpu")
    with pytest.raises(MissingWeightsError) as err:
        load_models(opts)
    assert len(err.value.missing) == 2


def test_downloads_what_is_missing_with_progress_then_loads(tmp_path, server):
    body = checkpoint_bytes()
    name = f"tiny-{sha(body)[:8]}_2024.pth"
    url = server.serve("/" + name, body)
    opts = RunOptions(pose_model=str(model_config(tmp_path, url, sha(body)[:8])), boxes_file="dets.json",
                      device="cpu")
    seen = []
    paths = fetch_weights(opts, progress=lambda *args: seen.append(args))
    assert paths == (cache_path(url),) and paths[0].read_bytes() == body
    assert seen[0] == (name, 0, len(body)) and seen[-1] == (name, len(body), len(body))
    assert all(a[1] <= b[1] for a, b in zip(seen, seen[1:]))
    assert missing_weights(opts) == ()
    models = load_models(opts)                       # from the cache: no second request
    assert server.requests == ["/" + name]
    state = models.estimator.model.state_dict()
    torch.manual_seed(1)
    from posetrack.models.registry import build_pose_model

    expected = build_pose_model("hrnet_tiny_128x96").state_dict()
    assert torch.equal(state["final_layer.weight"].cpu(), expected["final_layer.weight"])


def test_http_error_on_one_file_does_not_skip_the_others(tmp_path, server):
    body = checkpoint_bytes()
    pose_url = server.base + f"/gone-{sha(body)[:8]}_2024.pth"          # 404
    det_url = server.serve("/det.pth", b"detector bytes")
    opts = RunOptions(pose_model=str(model_config(tmp_path, pose_url, sha(body)[:8])), detector_weights=det_url)
    with pytest.raises(MissingWeightsError) as err:
        fetch_weights(opts)
    assert [m[0] for m in err.value.missing] == ["pose_weights"] and "404" in str(err.value)
    assert cache_path(det_url).read_bytes() == b"detector bytes"


def test_a_download_with_the_wrong_hash_is_not_reported_as_missing(tmp_path, server):
    url = server.serve("/tiny-00000000_2024.pth", checkpoint_bytes())
    opts = RunOptions(pose_model=str(model_config(tmp_path, url, "00000000")), boxes_file="d.json")
    with pytest.raises(WeightsError) as err:
        fetch_weights(opts)
    assert not isinstance(err.value, MissingWeightsError) and "SHA-256" in str(err.value)
    assert not cache_path(url).exists()


def test_missing_local_file_is_listed(tmp_path):
    opts = RunOptions(pose_model="hrnet_tiny_128x96", pose_weights=str(tmp_path / "nope.pth"), boxes_file="d.json")
    with pytest.raises(MissingWeightsError, match=r"pose_weights \(HRNet hrnet_tiny_128x96\): .*nope.pth: no such file"):
        fetch_weights(opts)
