"""posetrack.pose.detector: the torchvision person detector (random weights, no internet) and fixed boxes files."""
from __future__ import annotations

import hashlib
import json
import logging
import shutil

import numpy as np
import pytest
import torch
from torch import nn
from torchvision.models import get_model_weights
from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_fpn

from posetrack.config import ConfigError, load_yaml
from posetrack.pose.detector import (BoxesFileError, DetectorConfig, PersonDetector, build_detector, load_boxes,
                              person_label)
from posetrack.io.download import CheckpointError
from helpers.server import Server, closed_port_url

MOBILE = "fasterrcnn_mobilenet_v3_large_fpn"
# Small inputs so a forward pass takes a fraction of a second on 2 CPU cores.
SMALL = dict(name=MOBILE, min_size=128, max_size=160)


pytestmark = pytest.mark.usefixtures("isolated_caches")   # tests/conftest.py


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    """Random mobilenet Faster R-CNN weights in torchvision's layout (91 COCO labels).

    The classifier bias favours label 1 (+5) over label 3 (+4) over the rest, so random
    features still give boxes for both, with label 1 scoring clearly higher.
    """
    torch.manual_seed(0)
    model = fasterrcnn_mobilenet_v3_large_fpn(weights=None, weights_backbone=None, num_classes=91)
    with torch.no_grad():
        model.roi_heads.box_predictor.cls_score.bias[1] += 5.0
        model.roi_heads.box_predictor.cls_score.bias[3] += 4.0
    path = tmp_path_factory.mktemp("weights") / "mobile.pth"
    torch.save(model.state_dict(), path)
    return path


def _frames(n=2, h=120, w=160, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(n)]


def test_detector_runs_on_frames_and_keeps_the_contract(weights_file):
    cfg = DetectorConfig(**SMALL, score_threshold=0.3, max_detections=7, batch_size=2)
    detector = build_detector(cfg, weights_path=weights_file)
    assert not detector.model.training and detector.label == 1
    frames = _frames(3) + [_frames(1, h=90, w=150, seed=1)[0]]
    results = detector(frames)
    assert len(results) == 4
    for dets, frame in zip(results, frames):
        h, w = frame.shape[:2]
        assert 0 < len(dets) <= 7
        assert dets.boxes.dtype == np.float32 and dets.scores.dtype == np.float32
        assert dets.boxes.shape == (len(dets), 4)
        assert (dets.boxes[:, [0, 2]] >= 0).all() and (dets.boxes[:, [0, 2]] <= w).all()
        assert (dets.boxes[:, [1, 3]] >= 0).all() and (dets.boxes[:, [1, 3]] <= h).all()
        assert (dets.boxes[:, 2] >= dets.boxes[:, 0]).all() and (dets.boxes[:, 3] >= dets.boxes[:, 1]).all()
        assert (dets.scores >= 0.3).all() and (np.diff(dets.scores) <= 0).all()


def test_person_label_comes_from_the_weights_meta(weights_file, monkeypatch):
    cfg = DetectorConfig(**SMALL, score_threshold=0.0)
    frames = _frames(1)
    people = build_detector(cfg, weights_path=weights_file)(frames)[0]
    assert len(people) and people.scores.min() > 0.4  # label 1 carries the +5 bias

    weights = get_model_weights(MOBILE).DEFAULT
    categories = list(weights.meta["categories"])
    categories[1], categories[3] = categories[3], categories[1]  # "person" now at index 3
    monkeypatch.setitem(weights.meta, "categories", categories)
    detector = build_detector(cfg, weights_path=weights_file)
    assert detector.label == 3
    moved = detector(frames)[0]
    assert len(moved) and moved.scores.max() < 0.3  # label 3 carries the weaker +4 bias


def test_person_label_lookup():
    assert person_label(["__background__", "person", "car"]) == 1
    assert person_label(["car", "dog", "person"]) == 2
    with pytest.raises(ValueError, match="no 'person'"):
        person_label(["__background__", "car"])


class _Scripted(nn.Module):
    """Stands in for a torchvision detector: returns prepared outputs and records its inputs."""

    def __init__(self, outputs):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))
        self.outputs = list(outputs)
        self.batches = []

    def forward(self, images):
        self.batches.append(images)
        return [self.outputs.pop(0) for _ in images]


def _random_output(rng, n, h, w):
    x1, x2 = np.sort(rng.uniform(-30, w + 30, (2, n)), axis=0)
    y1, y2 = np.sort(rng.uniform(-30, h + 30, (2, n)), axis=0)
    boxes = np.stack([x1, y1, x2, y2], 1)
    boxes[: n // 3] = boxes[0] + rng.uniform(-8, 8, (n // 3, 4))  # a cluster for NMS to thin out
    return {"boxes": torch.tensor(boxes, dtype=torch.float32),
            "labels": torch.tensor(rng.integers(1, 4, n)),
            "scores": torch.tensor(rng.permutation(n) / n + 0.001, dtype=torch.float32)}


def _naive_people(out, h, w, label, threshold, iou, cap):
    """Reference: filter, clip, then greedy NMS written as a plain loop."""
    rows = []
    for box, lab, score in zip(out["boxes"].tolist(), out["labels"].tolist(), out["scores"].tolist()):
        if lab == label and score >= threshold:
            x1, y1, x2, y2 = box
            rows.append((score, [min(max(x1, 0), w), min(max(y1, 0), h), min(max(x2, 0), w), min(max(y2, 0), h)]))
    rows.sort(key=lambda r: -r[0])
    kept = []
    for score, b in rows:
        def overlap(k):
            ix = max(0.0, min(b[2], k[2]) - max(b[0], k[0]))
            iy = max(0.0, min(b[3], k[3]) - max(b[1], k[1]))
            union = (b[2] - b[0]) * (b[3] - b[1]) + (k[2] - k[0]) * (k[3] - k[1]) - ix * iy
            return ix * iy / union if union > 0 else 0.0
        if all(overlap(k) <= iou for _, k in kept):
            kept.append((score, b))
    return kept[:cap]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_postprocessing_matches_a_naive_loop_and_batches(seed):
    rng = np.random.default_rng(seed)
    sizes = [(120, 160), (90, 150), (120, 160), (64, 64), (100, 80)]
    outputs = [_random_output(rng, 60, h, w) for h, w in sizes]
    cfg = DetectorConfig(name=MOBILE, score_threshold=0.25, nms_iou=0.45, max_detections=9, batch_size=2)
    model = _Scripted([{k: v.clone() for k, v in o.items()} for o in outputs])
    detector = PersonDetector(model, get_model_weights(MOBILE).DEFAULT.transforms(), 2, cfg)
    frames = [np.full((h, w, 3), 255, np.uint8) for h, w in sizes]
    results = detector(frames)

    assert [len(b) for b in model.batches] == [2, 2, 1]
    first = model.batches[0][0]
    assert first.dtype == torch.float32 and first.shape == (3, 120, 160) and float(first.max()) == 1.0
    for dets, out, (h, w) in zip(results, outputs, sizes):
        expected = _naive_people(out, h, w, label=2, threshold=0.25, iou=0.45, cap=9)
        assert len(dets) == len(expected) > 0
        np.testing.assert_allclose(dets.scores, [s for s, _ in expected], rtol=1e-6)
        np.testing.assert_allclose(dets.boxes, [b for _, b in expected], atol=1e-4)


def test_bad_images_are_rejected():
    detector = PersonDetector(_Scripted([]), lambda t: t, 1, DetectorConfig(name=MOBILE))
    with pytest.raises(ValueError, match="image 1: expected an \\(H, W, 3\\) uint8"):
        detector([np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), np.uint8)])
    with pytest.raises(ValueError, match="image 0"):
        detector([np.zeros((8, 8, 3), np.float32)])


def test_torchvision_eps_quirk_is_repeated_only_for_its_weights(weights_file):
    from posetrack.pose.detector import _match_torchvision_eps

    frozen = get_model_weights("fasterrcnn_resnet50_fpn").DEFAULT
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4))
    _match_torchvision_eps(model, get_model_weights(MOBILE).DEFAULT)
    assert model[1].eps == 1e-5
    _match_torchvision_eps(model, frozen)
    assert model[1].eps == 0.0


def test_config_file_matches_the_defaults_and_is_checked():
    assert load_yaml(DetectorConfig, "detector") == DetectorConfig()
    with pytest.raises(ValueError, match="unknown detector 'yolo'; choose one of fasterrcnn_resnet50_fpn_v2"):
        DetectorConfig(name="yolo")
    with pytest.raises(ValueError, match="score_threshold"):
        DetectorConfig(score_threshold=1.5)
    with pytest.raises(ValueError, match="nms_iou"):
        DetectorConfig(nms_iou=0.0)
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        DetectorConfig(batch_size=0)


def test_config_typo_gets_a_suggestion(tmp_path):
    (tmp_path / "det.yaml").write_text("score_treshold: 0.3\n")
    with pytest.raises(ConfigError, match="did you mean 'score_threshold'"):
        load_yaml(DetectorConfig, str(tmp_path / "det.yaml"))


# --- fetching torchvision's weights: loopback server only, never the internet ---

@pytest.fixture
def served(tmp_path):
    """Serve a folder over http://127.0.0.1:<free port>/ (helpers.server)."""
    root = tmp_path / "www"
    root.mkdir()
    server = Server(root=root)
    yield root, server.base
    server.stop()


def _point_weights_at(monkeypatch, url):
    monkeypatch.setattr(get_model_weights(MOBILE).DEFAULT.value, "url", url)


def test_weights_are_downloaded_with_the_hash_in_their_name(weights_file, served, monkeypatch, tmp_path):
    root, base = served
    digest = hashlib.sha256(weights_file.read_bytes()).hexdigest()
    name = f"{MOBILE}-{digest[:8]}.pth"
    shutil.copy(weights_file, root / name)
    _point_weights_at(monkeypatch, f"{base}/{name}")
    detector = build_detector(DetectorConfig(**SMALL), cache_dir=tmp_path / "cache")
    assert (tmp_path / "cache" / name).read_bytes() == weights_file.read_bytes()
    assert len(detector(_frames(1))) == 1


def test_weights_whose_hash_differs_from_their_name_are_refused(weights_file, served, monkeypatch, tmp_path):
    root, base = served
    name = f"{MOBILE}-0000beef.pth"
    shutil.copy(weights_file, root / name)
    _point_weights_at(monkeypatch, f"{base}/{name}")
    with pytest.raises(CheckpointError, match="expected 0000beef"):
        build_detector(DetectorConfig(**SMALL), cache_dir=tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_no_network_and_no_weights_says_where_to_put_them(monkeypatch, tmp_path):
    _point_weights_at(monkeypatch, closed_port_url(f"{MOBILE}-fb6a3cc7.pth"))
    where = tmp_path / "torch_home" / "posetrack" / f"{MOBILE}-fb6a3cc7.pth"
    with pytest.raises(CheckpointError) as err:
        build_detector(DetectorConfig(**SMALL))
    assert "could not download" in str(err.value) and f"put it at {where}" in str(err.value)
    assert "local copy" in str(err.value) and "--detector-weights" not in str(err.value)   # no CLI flags
    with pytest.raises(CheckpointError, match="downloading is turned off"):
        build_detector(DetectorConfig(**SMALL), download=False)


def test_wrong_weights_file_is_named(tmp_path):
    torch.save({"conv.weight": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(CheckpointError, match="other.pth does not fit FasterRCNN: none of its keys match"):
        build_detector(DetectorConfig(**SMALL), weights_path=tmp_path / "other.pth")


# --- fixed boxes from a COCO detection-results file ---

def _write(tmp_path, entries, name="dets.json"):
    path = tmp_path / name
    if isinstance(entries, bytes):
        path.write_bytes(entries)
    else:
        path.write_text(entries if isinstance(entries, str) else json.dumps(entries))
    return path


def test_boxes_file_is_read_per_frame(tmp_path):
    path = _write(tmp_path, [
        {"image_id": 0, "bbox": [10, 20, 30, 40], "score": 0.6, "category_id": 1},
        {"image_id": 0, "bbox": [0, 0, 5, 5], "score": 0.9, "category_id": 1},
        {"image_id": 0, "bbox": [1, 1, 2, 2], "score": 0.99, "category_id": 3},   # a car: dropped
        {"image_id": 2, "bbox": [1.5, 2.5, 3, 4], "score": 0.7},                  # no category: a person
    ])
    boxes = load_boxes(path)
    assert sorted(boxes) == [0, 1, 2]
    np.testing.assert_array_equal(boxes[0].boxes, [[0, 0, 5, 5], [10, 20, 40, 60]])
    np.testing.assert_allclose(boxes[0].scores, [0.9, 0.6])
    assert len(boxes[1]) == 0 and boxes[1].boxes.shape == (0, 4)
    np.testing.assert_allclose(boxes[2].boxes, [[1.5, 2.5, 4.5, 6.5]])
    assert boxes[2].boxes.dtype == np.float32

    padded = load_boxes(path, num_frames=5)
    assert sorted(padded) == [0, 1, 2, 3, 4] and len(padded[4]) == 0
    assert len(load_boxes(path, category_id=3)[0]) == 1
    assert [len(d) for d in load_boxes(path, min_score=0.65).values()] == [1, 0, 1]


def test_zero_size_boxes_are_dropped_with_a_warning(tmp_path, caplog):
    path = _write(tmp_path, [{"image_id": 0, "bbox": [1, 1, 0, 5], "score": 0.5},
                             {"image_id": 0, "bbox": [1, 1, 4, 5], "score": 0.5}])
    with caplog.at_level(logging.WARNING, logger="posetrack.pose.detector"):
        assert len(load_boxes(path)[0]) == 1
    assert "dropped 1 boxes (1 less than 1 px wide or high)" in caplog.text


@pytest.mark.parametrize("entries, message", [
    ('{"image_id": 0', "not valid JSON"),
    ({"annotations": []}, "expected a JSON list of detections, got a dict"),
    ([{"image_id": 0, "bbox": [0, 0, 1, 1], "score": 1}, [0, 0, 1, 1]], "entry 1: expected an object, got a list"),
    ([{"bbox": [0, 0, 1, 1], "score": 0.5}], "entry 0: missing required field 'image_id'"),
    ([{"image_id": 0, "score": 0.5}], "entry 0: missing required field 'bbox'"),
    ([{"image_id": 0, "bbox": [0, 0, 1, 1]}], "entry 0: missing required field 'score'"),
    ([{"image_id": -1, "bbox": [0, 0, 1, 1], "score": 0.5}], "entry 0, image_id: expected an integer >= 0, got -1"),
    ([{"image_id": 1.0, "bbox": [0, 0, 1, 1], "score": 0.5}], "entry 0, image_id: expected an integer, got a float"),
    ([{"image_id": "3", "bbox": [0, 0, 1, 1], "score": 0.5}], "entry 0, image_id: expected an integer, got a string"),
    ([{"image_id": 0, "bbox": [0, 0, 1], "score": 0.5}], "entry 0, bbox: expected a list of at least 4 values"),
    ('[{"image_id": 0, "bbox": [0, NaN, 1, 1], "score": 0.5}]', "entry 0, bbox\\[1\\]: NaN is not a JSON number"),
    ([{"image_id": 0, "bbox": [0, 0, -1, 1], "score": 0.5}], "entry 0, bbox: width and height must not be neg"),
    ('[{"image_id": 0, "bbox": [0, 0, 1, 1], "score": NaN}]', "entry 0, score: NaN is not a JSON number"),
    ([{"image_id": 0, "bbox": [0, 0, 1, 1], "score": 1.5}], "entry 0, score: expected a number <= 1.0, got 1.5"),
    ([{"image_id": 0, "bbox": [0, 0, 1, 1], "score": 0.5, "category_id": "person"}],
     "entry 0, category_id: expected an integer or null, got a string"),
    ([{"image_id": 10 ** 400, "bbox": [0, 0, 1, 1], "score": 0.5}], "entry 0, image_id: expected an integer <= 9999999"),
    ([{"image_id": 2 ** 40, "bbox": [0, 0, 1, 1], "score": 0.5}], "entry 0, image_id: expected an integer <= 9999999, got 1099511627776"),
    ([{"image_id": 0, "bbox": [0, 0, 1, [1]], "score": 0.5}], "entry 0, bbox\\[3\\]: expected a number, got a list"),
    (b'[{"image_id": 0, "bbox": [0, 0, 1, 1], "score": 0.5, "note": "\xff"}]', "not UTF-8 text"),
])
def test_boxes_file_errors_name_the_entry_and_field(tmp_path, entries, message):
    path = _write(tmp_path, entries)
    with pytest.raises(BoxesFileError, match=message) as err:
        load_boxes(path)
    assert str(path) in str(err.value)


def test_boxes_past_the_last_frame_are_an_error(tmp_path):
    path = _write(tmp_path, [{"image_id": 0, "bbox": [0, 0, 1, 1], "score": 0.5},
                             {"image_id": 7, "bbox": [0, 0, 1, 1], "score": 0.5}])
    with pytest.raises(BoxesFileError, match="entry 1, image_id: 7 is past the last frame \\(5 frames\\)"):
        load_boxes(path, num_frames=5)
