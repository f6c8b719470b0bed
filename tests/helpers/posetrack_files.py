"""PoseTrack data for the eval tests: what the evaluator reads of a sequence (a naive view), and tiny
PoseTrack-2017- and PoseTrack21-shaped dataset roots."""
from __future__ import annotations

import json

import numpy as np


def semantic(seq):
    """What the evaluator reads, independent of point order: per frame, per person, joints by id."""
    frames = []
    for f in range(seq.num_frames):
        persons = []
        for n in range(seq.frame_start[f], seq.frame_start[f + 1]):
            joints = {}
            for k in range(seq.point_start[n], seq.point_start[n + 1]):
                if seq.point_is_joint[k] and int(seq.point_joint[k]) not in joints:
                    joints[int(seq.point_joint[k])] = (float(seq.point_xy[k, 0]), float(seq.point_xy[k, 1]),
                                                       float(seq.point_score[k]) if seq.point_has_score[k] else None)
            persons.append((int(seq.track_id[n]) if seq.has_track_id[n] else None,
                            tuple(np.round(seq.head_box[n], 9).tolist()) if seq.has_head_box[n] else None,
                            float(seq.box_score[n]) if seq.has_box_score[n] else None,
                            bool(seq.has_annopoints[n]), joints))
        regions = [np.asarray(p).tolist() for p in seq.ignore_regions[f]]
        frames.append((seq.image_names[f], persons, regions))
    return frames


def make_dataset(root, frames=4):
    """A PoseTrack-2017-shaped root: posetrack_data/annotations/val/seq.json + its JPEG folder."""
    ann = root / "posetrack_data" / "annotations" / "val"
    ann.mkdir(parents=True)
    img_dir = root / "posetrack_data" / "images" / "bonn" / "000001_bonn"
    img_dir.mkdir(parents=True)
    import cv2

    rng = np.random.default_rng(0)
    annolist = []
    for t in range(frames):
        cv2.imwrite(str(img_dir / f"{t:08d}.jpg"), rng.integers(0, 255, (96, 128, 3), dtype=np.uint8))
        points = [{"id": [j], "x": [40.0 + j], "y": [30.0 + j]} for j in range(15)]
        rect = {"x1": [30.0], "y1": [10.0], "x2": [50.0], "y2": [30.0], "track_id": [0],
                "annopoints": [{"point": points}]}
        annolist.append({"image": [{"name": f"images/bonn/000001_bonn/{t:08d}.jpg"}], "annorect": [rect]})
    (ann / "000001_bonn.json").write_text(json.dumps({"annolist": annolist}))


def make_posetrack21_root(root, frames=4):
    """A PoseTrack21-shaped root: posetrack_data/val/<seq>.json (ids by PoseTrack's rule) + images/val/<seq>/."""
    seq = "000007_mpii_test"
    ann = root / "posetrack_data" / "val"
    ann.mkdir(parents=True)
    img_dir = root / "images" / "val" / seq
    img_dir.mkdir(parents=True)
    import cv2

    rng = np.random.default_rng(0)
    images, annotations = [], []
    for t in range(frames):
        cv2.imwrite(str(img_dir / f"{t:06d}.jpg"), rng.integers(0, 255, (96, 128, 3), dtype=np.uint8))
        image_id = 10000070000 + t
        images.append({"id": image_id, "file_name": f"images/val/{seq}/{t:06d}.jpg", "frame_id": image_id,
                       "is_labeled": t != 1, "has_labeled_person": True, "ignore_regions_x": [],
                       "ignore_regions_y": []})
        kps = [v for j in range(17) for v in ((40.0 + j, 30.0 + j, 1) if j not in (3, 4) else (0, 0, 0))]
        annotations.append({"image_id": image_id, "track_id": 0, "person_id": 5, "keypoints": kps,
                            "bbox_head": [30.0, 10.0, 20.0, 20.0], "bbox": [30.0, 10.0, 40.0, 60.0]})
    (ann / f"{seq}.json").write_text(json.dumps({"images": images, "annotations": annotations}))
    return seq
