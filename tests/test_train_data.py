"""Reading keypoint data for training: COCO and PoseTrack files, folder layouts, strict errors, layouts."""
import json
from pathlib import Path

import numpy as np
import pytest

from posetrack.errors import ConfigError, FormatError, InputError
from posetrack.keypoints import COCO, POSETRACK18
from posetrack.training.config import load_train_config, list_train_configs
from posetrack.training.data import clean_boxes, find_split, read_detections, read_keypoint_files
from posetrack.training.layouts import load_layout


def _png(path: Path, w: int = 64, h: int = 48) -> None:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.zeros((h, w, 3), np.uint8))


def _kp(k=17, v=2, x0=10.0):
    out = []
    for i in range(k):
        out += [x0 + i, 20.0 + i, v]
    return out


def _coco(root: Path, split="val2017", annotations=None, images=None):
    images = images or [{"id": 7, "file_name": "a.png", "width": 64, "height": 48}]
    for im in images:
        _png(root / "images" / split / im["file_name"])
    anns = annotations if annotations is not None else [
        {"id": 1, "image_id": 7, "category_id": 1, "keypoints": _kp(), "bbox": [5, 5, 40, 30], "area": 1200,
         "iscrowd": 0, "num_keypoints": 17}]
    path = root / "annotations" / f"person_keypoints_{split}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": [{"id": 1, "name": "person"}]}))
    return path


def test_coco_layout_is_found_and_read(tmp_path):
    _coco(tmp_path)
    files, bases = find_split(tmp_path, "coco", "val2017")
    people = read_keypoint_files(files, bases, COCO)
    assert len(people) == 1 and people.image_paths[0] == tmp_path / "images" / "val2017" / "a.png"
    np.testing.assert_array_equal(people.boxes[0], [5, 5, 39, 29])          # clean_bbox shrinks by one pixel
    assert people.labelled.sum() == 17 and people.joints[0, 3, 0] == 13.0
    assert people.ground_truth["annotations"][0]["num_keypoints"] == 17


def test_official_person_selection(tmp_path):
    anns = [
        {"id": 1, "image_id": 7, "keypoints": _kp(), "bbox": [5, 5, 40, 30], "area": 1200},            # kept
        {"id": 2, "image_id": 7, "keypoints": _kp(), "bbox": [5, 5, 40, 30], "area": 1200, "iscrowd": 1},
        {"id": 3, "image_id": 7, "keypoints": [0] * 51, "bbox": [5, 5, 40, 30], "area": 1200},          # no keypoints
        {"id": 4, "image_id": 7, "keypoints": _kp(), "bbox": [5, 5, 40, 30], "area": 0},                # no area
        {"id": 5, "image_id": 7, "keypoints": _kp(), "bbox": [70, 5, 4, 4], "area": 16},                # off the image
        {"id": 6, "image_id": 7, "category_id": 2, "keypoints": _kp(), "bbox": [5, 5, 40, 30], "area": 9},
    ]
    people = read_keypoint_files(*find_split(_coco(tmp_path, annotations=anns).parent.parent, "coco", "val2017"),
                                 COCO)
    assert people.annotation_ids.tolist() == [1]
    assert len(people.ground_truth["annotations"]) == 5           # COCOeval still sees crowd and empty people


def test_clean_boxes_matches_the_official_rule():
    boxes, ok = clean_boxes(np.array([[-3.5, 2, 10, 0.5], [60, 40, 20, 20], [100, 0, 5, 5]]), np.full(3, 64),
                            np.full(3, 48))
    np.testing.assert_allclose(boxes[0], [0, 2, 9, 0])             # x2 = 0 + max(0, 10 - 1), y2 = 2 + 0
    np.testing.assert_allclose(boxes[1], [60, 40, 3, 7])           # clipped to width - 1, height - 1
    assert ok.tolist() == [True, True, False]


@pytest.mark.parametrize("fmt,folder", [("posetrack18", "annotations/train"), ("posetrack21", "posetrack_data/train")])
def test_posetrack_layouts_one_file_per_video_and_image_sizes_from_the_files(tmp_path, fmt, folder):
    for vid in ("000001_bonn_train", "000002_mpii_train"):
        name = f"images/train/{vid}/000000.jpg"
        _png(tmp_path / name, 80, 60)
        image_id = int("1" + vid[:6] + "0000")
        kp = _kp()
        kp[3 * 3 + 2] = kp[4 * 3 + 2] = 0                               # the ear slots are never labelled
        doc = {"images": [{"id": image_id, "file_name": name, "is_labeled": True, "vid_id": vid[:6], "frame_id": image_id}],
               "annotations": [{"id": image_id + 1, "image_id": image_id, "track_id": 0, "category_id": 1,
                                "keypoints": kp, "bbox": [2, 3, 50, 40], "bbox_head": [1, 2, 3, 4]}]}
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / folder / f"{vid}.json").write_text(json.dumps(doc))
    files, bases = find_split(tmp_path, fmt, "train")
    people = read_keypoint_files(files, bases, POSETRACK18)
    assert len(files) == 2 and len(people) == 2
    assert people.image_sizes.tolist() == [[80, 60], [80, 60]]      # read from the image headers
    assert people.labelled[:, 3:5].sum() == 0
    assert people.ground_truth["annotations"][0]["area"] == 2000    # box area where the file has none


def test_missing_split_names_every_place_tried(tmp_path):
    with pytest.raises(InputError, match="person_keypoints_val2017.json"):
        find_split(tmp_path, "coco", "val2017")


@pytest.mark.parametrize("change,match", [
    (lambda a: a.update(keypoints=_kp()[:-3]), r"annotation 0 \(id 1\), keypoints: expected 51 values .*got 48"),
    (lambda a: a.update(image_id=99), r"annotation 0 \(id 1\), image_id: no image has id 99"),
    (lambda a: a.update(bbox=[1, 2, 3]), r"annotation 0 \(id 1\), bbox"),
    (lambda a: a.update(keypoints=_kp(v=3)), r"annotation 0 \(id 1\), keypoints\[2\]: visibility .* got 3"),
    (lambda a: a.update(area="big"), r"annotation 0 \(id 1\), area: expected a number"),
])
def test_bad_annotations_are_one_line_naming_file_annotation_and_field(tmp_path, change, match):
    ann = {"id": 1, "image_id": 7, "keypoints": _kp(), "bbox": [5, 5, 40, 30], "area": 1200}
    change(ann)
    path = _coco(tmp_path, annotations=[ann])
    with pytest.raises(FormatError, match=match) as info:
        read_keypoint_files(*find_split(tmp_path, "coco", "val2017"), COCO)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_missing_image_is_named(tmp_path):
    path = _coco(tmp_path)
    (tmp_path / "images" / "val2017" / "a.png").unlink()
    with pytest.raises(InputError, match="image a.png is in none of"):
        read_keypoint_files([path], [tmp_path / "images" / "val2017"], COCO)


def test_detections_file_keeps_people_above_the_threshold(tmp_path):
    path = tmp_path / "dets.json"
    path.write_text(json.dumps([{"image_id": 7, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.9},
                                {"image_id": 7, "category_id": 2, "bbox": [1, 2, 3, 4], "score": 0.9},
                                {"image_id": 8, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.1}]))
    dets = read_detections(path, image_threshold=0.2)
    assert list(dets) == [7] and dets[7][1].tolist() == [0.9]
    path.write_text(json.dumps([{"image_id": 7, "bbox": [1, 2, 3], "score": 0.9}]))
    with pytest.raises(FormatError, match="dets.json: entry 0, bbox"):
        read_detections(path)


def test_custom_layout_yaml(tmp_path):
    path = tmp_path / "mouse.yaml"
    path.write_text("name: mouse\nkeypoints: [nose, left_ear, right_ear, tail]\nflip_pairs: [[left_ear, right_ear]]\n"
                    "sigmas: [0.026, 0.035, 0.035, 0.079]\nskeleton: [[nose, left_ear], [2, 0]]\n"
                    "upper_body: [nose, left_ear, right_ear]\n")
    layout = load_layout(str(path))
    assert layout.layout.flip_pairs == ((1, 2),) and layout.layout.skeleton == ((0, 1), (2, 0))
    assert layout.upper_body == (0, 1, 2) and layout.num_keypoints == 4


@pytest.mark.parametrize("text,match", [
    ("name: m\nkeypoints: [a, b]\nsigmas: [0.1]\n", "sigmas: 1 values for 2 keypoints"),
    ("name: m\nkeypoints: [a, b]\nsigmas: [0.1, 0.1]\nflip_pairs: [[a, c]]\n", r"flip_pairs\[0\]: no keypoint named 'c'"),
    ("name: m\nkeypoints: [a, b]\nsigmas: [0.1, 0.1]\nflip_pair: [[a, b]]\n", "did you mean 'flip_pairs'"),
    ("name: coco\nkeypoints: [a, b]\nsigmas: [0.1, 0.1]\n", "shipped layout's name"),
])
def test_bad_layout_yaml_names_file_and_field(tmp_path, text, match):
    path = tmp_path / "l.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_layout(str(path))


def test_shipped_train_configs_load_and_unknown_keys_are_refused(tmp_path):
    assert {"coco_w32_256x192", "coco_w48_384x288", "posetrack18_w32_256x192", "tiny_synthetic"} <= set(
        list_train_configs())
    for name in list_train_configs():
        load_train_config(name)
    cfg = load_train_config("coco_w48_384x288")
    assert (cfg.targets.sigma, cfg.optimizer.batch_size, cfg.optimizer.milestones) == (3, 96, (170, 200))
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: w32_256x192\noptimizer: {lr: 0.001, milestone: [1]}\n")
    with pytest.raises(ConfigError, match="bad.yaml: optimizer.milestone: unknown setting.*did you mean 'milestones'"):
        load_train_config(str(bad))
    with pytest.raises(ConfigError, match="did you mean 'coco_w32_256x192'"):
        load_train_config("coco_w32_256x19")


def test_stick_clip_has_a_frame_folder_and_the_boxes_of_its_walking_figures(tmp_path):
    """The README's "Trying it without pretrained weights" clip: frames posetrack run reads, and their boxes."""
    import cv2

    from posetrack.pose.detector import load_boxes
    from posetrack.training.synthetic import make_stick_clip

    root = make_stick_clip(tmp_path / "clip", frames=5, people=2, seed=3)
    names = sorted(p.name for p in (root / "frames").iterdir())
    assert names == [f"{t:06d}.png" for t in range(5)]
    first = cv2.imread(str(root / "frames" / names[0]))
    assert first.shape == (128, 160, 3)
    table = load_boxes(root / "dets.json", num_frames=5, frame_size=(160, 128))
    assert sorted(table) == list(range(5)) and all(len(table[t].boxes) == 2 for t in range(5))
    x = np.array([table[t].boxes[:, 0] for t in range(5)])                  # (frames, people) left edges
    steps = np.diff(x, axis=0)
    assert (np.abs(steps) > 1).all() and (np.sign(steps[:, 0]) != np.sign(steps[:, 1])).all()   # walk, opposite ways
    x0, y0, x1, y1 = table[0].boxes[0].astype(int)
    background = np.median(first.reshape(-1, 3), axis=0)
    assert np.abs(first[y0:y1, x0:x1].astype(float) - background).max() > 100          # a figure is drawn in its box
    with pytest.raises(ValueError, match="at least one frame"):
        make_stick_clip(tmp_path / "none", frames=0)
