"""Write the same small scene in every format posetrack reads: python tests/data/formats/make_formats.py

Two people walk across a 320x240, 25 fps clip of 12 frames. Each writer below follows the tool's
own documentation (named at each function; see tests/data/README.md), not posetrack's readers, so
the tests compare posetrack's reading of each tool's file with the same numbers in posetrack's
own tracks file. Coordinates are rounded to 0.01 px and scores to 0.001 in every file.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
W, H, FPS, FRAMES = 320, 240, 25.0, 12
STEM = "clip"

COCO_NAMES = ["nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
              "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
              "right_knee", "left_ankle", "right_ankle"]
COCO_SKELETON = [[15, 13], [13, 11], [16, 14], [14, 12], [11, 12], [5, 11], [6, 12], [5, 6], [5, 7], [6, 8],
                 [7, 9], [8, 10], [1, 2], [0, 1], [0, 2], [1, 3], [2, 4], [3, 5], [4, 6]]
# A standing person facing the camera, 100 px tall, (x, y) offsets from the feet's midpoint.
TEMPLATE = np.array([[0, -95], [4, -99], [-4, -99], [8, -96], [-8, -96], [14, -80], [-14, -80], [18, -60],
                     [-18, -60], [20, -42], [-20, -42], [9, -48], [-9, -48], [10, -24], [-10, -24], [10, -2],
                     [-10, -2]], float)


def scene():
    """[(frame, [(keypoints (17, 3) x, y, score, box x1 y1 x2 y2, box score)])] for every frame."""
    frames = []
    for f in range(FRAMES):
        people = []
        for p, (x0, vx, scale, box_score) in enumerate(((60.0, 6.0, 1.0, 0.93), (250.0, -4.0, 0.9, 0.81))):
            xy = TEMPLATE * scale + [x0 + vx * f, 200.0 + 2.0 * p]
            scores = 0.95 - 0.02 * ((np.arange(17) + f + p) % 9)
            if (f + p) % 5 == 0:
                scores[3 + p] = 0.05            # an ear now and then barely seen
            kps = np.round(np.concatenate([xy, scores[:, None]], axis=1), 3)
            kps[:, :2] = np.round(kps[:, :2], 2)
            box = np.round([kps[:, 0].min() - 8, kps[:, 1].min() - 8, kps[:, 0].max() + 8, kps[:, 1].max() + 8], 2)
            people.append((kps, box, box_score))
        frames.append((f, people))
    return frames


def _dump(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, separators=(",", ":")) + "\n")


def write_tracks(frames) -> None:
    """posetrack's own tracks file (README "The tracks file"), no track ids."""
    _dump(HERE / "tracks.json", {
        "format": "posetrack-tracks", "version": 1,
        "video": {"path": f"{STEM}.mp4", "fps": FPS, "width": W, "height": H, "frames": FRAMES},
        "keypoint_layout": "coco", "keypoints": COCO_NAMES, "skeleton": COCO_SKELETON, "settings": {},
        "status": "complete",
        "frames": [{"frame": f, "people": [{"track_id": None, "bbox": box.tolist(), "score": s,
                                            "keypoints": kps.tolist()} for kps, box, s in people]}
                   for f, people in frames]})


def write_alphapose(frames) -> None:
    """AlphaPose doc/output.md: one list, COCO results style; video frame k is named "<k>.jpg"
    (alphapose/utils/detector.py); score = mean(c) + box score + 1.25 max(c) (utils/writer.py);
    box = [x, y, w, h]; idx is the id of the merged detections (0 without tracking)."""
    out = []
    for f, people in frames:
        for kps, box, s in people:
            proposal = kps[:, 2].mean() + s + 1.25 * kps[:, 2].max()
            out.append({"image_id": f"{f}.jpg", "category_id": 1, "keypoints": kps.ravel().tolist(),
                        "score": round(float(proposal), 6),
                        "box": [box[0], box[1], round(box[2] - box[0], 2), round(box[3] - box[1], 2)], "idx": [0.0]})
    _dump(HERE / "alphapose-results.json", out)


def write_mmpose(frames) -> None:
    """mmpose inferencer, pred_out_dir with a video (base_mmpose_inferencer.py
    _finalize_video_processing): [{"frame_id": i, "instances": split_instances(...)}], where mmpose
    1.x writes bbox as a one-element tuple ([[x1, y1, x2, y2]])."""
    _dump(HERE / "mmpose-predictions.json", [
        {"frame_id": f, "instances": [{"keypoints": kps[:, :2].tolist(), "keypoint_scores": kps[:, 2].tolist(),
                                       "bbox": [box.tolist()], "bbox_score": s} for kps, box, s in people]}
        for f, people in frames])


# OpenPose doc/02_output.md "Keypoint Ordering": part names by index.
BODY_25 = ["Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "MidHip", "RHip",
           "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar", "LBigToe", "LSmallToe",
           "LHeel", "RBigToe", "RSmallToe", "RHeel"]
COCO_18 = ["Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "RHip", "RKnee",
           "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar"]
_COCO_TO_OPENPOSE_NAME = dict(zip(COCO_NAMES, ["Nose", "LEye", "REye", "LEar", "REar", "LShoulder", "RShoulder",
                                               "LElbow", "RElbow", "LWrist", "RWrist", "LHip", "RHip", "LKnee",
                                               "RKnee", "LAnkle", "RAnkle"]))


def _openpose_person(kps, parts):
    by_name = {_COCO_TO_OPENPOSE_NAME[n]: kps[i] for i, n in enumerate(COCO_NAMES)}
    mid = lambda a, b: np.round((by_name[a] + by_name[b]) / 2, 2)  # noqa: E731
    by_name["Neck"], by_name["MidHip"] = mid("LShoulder", "RShoulder"), mid("LHip", "RHip")
    for toe, ankle in (("LBigToe", "LAnkle"), ("LSmallToe", "LAnkle"), ("LHeel", "LAnkle"),
                       ("RBigToe", "RAnkle"), ("RSmallToe", "RAnkle"), ("RHeel", "RAnkle")):
        by_name[toe] = by_name[ankle] + [0, 2, 0]
    flat = np.concatenate([by_name[p] for p in parts]).round(3)
    return {"person_id": [-1], "pose_keypoints_2d": flat.tolist(), "face_keypoints_2d": [],
            "hand_left_keypoints_2d": [], "hand_right_keypoints_2d": [], "pose_keypoints_3d": [],
            "face_keypoints_3d": [], "hand_left_keypoints_3d": [], "hand_right_keypoints_3d": []}


def write_openpose(frames) -> None:
    """OpenPose --write_json (doc/02_output.md "JSON Output Format"): <video>_<frame:012d>_keypoints.json
    per frame, 0-based; BODY_25 (the default model) and COCO-18 (--model_pose COCO) folders."""
    for folder, parts in (("openpose_body25", BODY_25), ("openpose_coco18", COCO_18)):
        out = HERE / folder
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        for f, people in frames:
            _dump(out / f"{STEM}_{f:012d}_keypoints.json",
                  {"version": 1.3, "people": [_openpose_person(kps, parts) for kps, _, _ in people]})


def write_ultralytics_json(frames) -> None:
    """Ultralytics Results.to_json()/summary() per frame (ultralytics/engine/results.py), in a list."""
    _dump(HERE / "ultralytics-results.json", [
        [{"name": "person", "class": 0, "confidence": s,
          "box": {"x1": box[0], "y1": box[1], "x2": box[2], "y2": box[3]},
          "keypoints": {"x": kps[:, 0].tolist(), "y": kps[:, 1].tolist(), "visible": kps[:, 2].tolist()}}
         for kps, box, s in people] for _, people in frames])


def write_ultralytics_labels(frames) -> None:
    """Ultralytics save_txt with save_conf (results.py save_txt): "cls xywhn [x y v]*17 conf" with %g,
    normalised by the frame size; a video's frame k (1-based, data/loaders.py) in <stem>_<k>.txt."""
    out = HERE / "ultralytics_labels"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    for f, people in frames:
        lines = []
        for kps, box, s in people:
            cx, cy = (box[0] + box[2]) / 2 / W, (box[1] + box[3]) / 2 / H
            bw, bh = (box[2] - box[0]) / W, (box[3] - box[1]) / H
            pts = np.concatenate([kps[:, :1] / W, kps[:, 1:2] / H, kps[:, 2:]], axis=1).ravel()
            line = (0, cx, cy, bw, bh, *pts, s)
            lines.append(("%g " * len(line)).rstrip() % line)
        (out / f"{STEM}_{f + 1}.txt").write_text("\n".join(lines) + "\n")


def write_mot(frames) -> None:
    """MOTChallenge (motchallenge.net instructions; MOT16 paper Sec. 3.3): det.txt
    frame,id,left,top,w,h,conf,x,y,z with id and x,y,z -1; gt.txt frame,id,left,top,w,h,consider,class,
    visibility; frames from 1. The gt adds a class-3 car (not a person) and an ignored person."""
    det, gt = [], []
    for f, people in frames:
        for p, (_, box, s) in enumerate(people):
            x, y, w, h = box[0], box[1], round(box[2] - box[0], 2), round(box[3] - box[1], 2)
            det.append(f"{f + 1},-1,{x:.2f},{y:.2f},{w:.2f},{h:.2f},{s},-1,-1,-1")
            gt.append(f"{f + 1},{p + 1},{x:.2f},{y:.2f},{w:.2f},{h:.2f},1,1,1.0")
        gt.append(f"{f + 1},9,10,10,40,20,1,3,1.0")      # a car
        gt.append(f"{f + 1},8,200,20,10,30,0,1,0.1")     # a person marked not to consider
    (HERE / "mot-det.txt").write_text("\n".join(det) + "\n")
    (HERE / "mot-gt.txt").write_text("\n".join(gt) + "\n")


def write_coco_boxes(frames) -> None:
    """posetrack's --boxes file: COCO detection results, image_id = 0-based frame, bbox x, y, w, h."""
    _dump(HERE / "coco-boxes.json", [
        {"image_id": f, "category_id": 1, "bbox": [box[0], box[1], round(box[2] - box[0], 2), round(box[3] - box[1], 2)],
         "score": s} for f, people in frames for _, box, s in people])


if __name__ == "__main__":
    data = scene()
    for writer in (write_tracks, write_alphapose, write_mmpose, write_openpose, write_ultralytics_json,
                   write_ultralytics_labels, write_mot, write_coco_boxes):
        writer(data)
