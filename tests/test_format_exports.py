"""Writing the formats the next tool reads, checked by the real libraries that read them:
py-motmetrics (MOT text), pycocotools (COCO keypoints dataset), sleap-io (.slp), supervision, and the
Ultralytics-style accessors; `posetrack convert` end to end."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from posetrack.api import TrackResult
from posetrack.keypoints import COCO
from posetrack.tracksfile.codec import TrackFile, TracksHeader, read_tracks
from posetrack.tracksfile.coco_dataset import coco_dataset, export_coco_dataset
from posetrack.tracksfile.exports import export_coco
from posetrack.tracksfile.mot import export_mot
from posetrack.types import FrameResult, Poses, VideoInfo
from posetrack_cli import cli

from helpers.videos import write_video

DATA = Path(__file__).parent / "data" / "formats"
W, H, N = 320, 240, 10
TEMPLATE = np.array([[0, -95], [4, -99], [-4, -99], [8, -96], [-8, -96], [14, -80], [-14, -80], [18, -60],
                     [-18, -60], [20, -42], [-20, -42], [9, -48], [-9, -48], [10, -24], [-10, -24], [10, -2],
                     [-10, -2]], np.float32)


def truth_boxes():
    """(N, 2, 4) x1, y1, x2, y2 of two people walking towards each other (never overlapping)."""
    return np.array([[[20 + 5 * t, 100, 70 + 5 * t, 210], [250 - 4 * t, 90, 300 - 4 * t, 200]] for t in range(N)],
                    np.float32)


def make_tracks(ids_of_frame, drop=()) -> TrackFile:
    """Tracks of the truth boxes; ``ids_of_frame(t)`` gives the two ids; (frame, person) pairs in ``drop`` are missed."""
    frames = []
    for t, boxes in enumerate(truth_boxes()):
        keep = [p for p in range(2) if (t, p) not in drop]
        b = boxes[keep]
        feet = np.stack([(b[:, 0] + b[:, 2]) / 2, b[:, 3] - 2], axis=1)
        kps = feet[:, None, :] + TEMPLATE[None]
        scores = np.full((len(keep), 17), 0.9, np.float32)
        scores[:, 3] = 0.1                                        # one joint below the visible threshold
        poses = Poses(b, np.full(len(keep), 0.8, np.float32), kps, scores)
        frames.append(FrameResult(frame=t, poses=poses, track_ids=np.asarray(ids_of_frame(t), np.int64)[keep]))
    header = TracksHeader(video=VideoInfo("walk.mp4", 25.0, W, H, N), layout=COCO)
    return TrackFile(header=header, frames=tuple(frames))


def test_mot_text_is_read_and_scored_by_py_motmetrics(tmp_path, monkeypatch):
    mm = pytest.importorskip("motmetrics", reason="py-motmetrics is in the dev extra")
    if not hasattr(np, "asfarray"):
        # motmetrics 1.4.0 (the newest on PyPI) computes IoU with np.asfarray, removed in NumPy 2.0:
        # give it back for this test only, with NumPy's documented replacement.
        monkeypatch.setattr(np, "asfarray", lambda a, dtype=np.float64: np.asarray(a, dtype=dtype), raising=False)
    gt_lines = [f"{t + 1},{p + 1},{b[0]:g},{b[1]:g},{b[2] - b[0]:g},{b[3] - b[1]:g},1,1,1"
                for t, fb in enumerate(truth_boxes()) for p, b in enumerate(fb)]          # MOT truth, frames from 1
    (tmp_path / "gt.txt").write_text("\n".join(gt_lines) + "\n")
    # the hypothesis: ids 7 and 3, swapped from frame 5 on (two switches), person 1 missed in frame 2
    tracks = make_tracks(lambda t: (7, 3) if t < 5 else (3, 7), drop={(2, 1)})
    assert export_mot(tracks, tmp_path / "pred.txt") == 2 * N - 1
    first = (tmp_path / "pred.txt").read_text().splitlines()[0]
    assert first == "1,7,20.00,100.00,50.00,110.00,0.8000,-1,-1,-1"
    gt = mm.io.loadtxt(str(tmp_path / "gt.txt"), fmt="mot15-2D", min_confidence=1)
    pred = mm.io.loadtxt(str(tmp_path / "pred.txt"), fmt="mot15-2D")
    acc = mm.utils.compare_to_groundtruth(gt, pred, "iou", distth=0.5)
    summary = mm.metrics.create().compute(acc, metrics=["num_switches", "num_misses", "num_false_positives", "mota"])
    assert summary["num_misses"].iloc[0] == 1 and summary["num_false_positives"].iloc[0] == 0
    assert summary["num_switches"].iloc[0] == 2
    assert summary["mota"].iloc[0] == pytest.approx(1 - 3 / (2 * N))


def test_untracked_mot_lines_have_id_minus_one(tmp_path):
    tracks = make_tracks(lambda t: (0, 1))
    untracked = TrackFile(tracks.header, tuple(FrameResult(f.frame, f.poses) for f in tracks.frames))
    export_mot(untracked, tmp_path / "det.txt")
    assert all(line.split(",")[1] == "-1" for line in (tmp_path / "det.txt").read_text().splitlines())


def test_coco_dataset_loads_in_pycocotools_with_tracks_and_skeleton(tmp_path):
    coco_api = pytest.importorskip("pycocotools.coco", reason="pycocotools is in the dev extra")
    tracks = make_tracks(lambda t: (4, 9))
    path = tmp_path / "person_keypoints_default.json"
    assert export_coco_dataset(tracks, path) == 2 * N
    coco = coco_api.COCO(str(path))
    assert sorted(coco.getImgIds()) == list(range(N))
    assert coco.loadImgs(0)[0]["file_name"] == "frame_000000.png"
    cat = coco.loadCats(coco.getCatIds(catNms=["person"]))[0]
    assert cat["keypoints"] == list(COCO.names)
    assert cat["skeleton"] == [[i + 1, j + 1] for i, j in COCO.skeleton]      # COCO skeletons are 1-based
    anns = coco.loadAnns(coco.getAnnIds(imgIds=[3]))
    assert [a["attributes"]["track_id"] for a in anns] == [4, 9]
    kps = np.asarray(anns[0]["keypoints"]).reshape(17, 3)
    np.testing.assert_allclose(kps[:, :2], tracks.frames[3].poses.keypoints[0], atol=0.01)
    assert kps[3, 2] == 1 and (np.delete(kps[:, 2], 3) == 2).all()          # score 0.1: labelled, not visible
    assert anns[0]["num_keypoints"] == 17 and anns[0]["bbox"] == [35.0, 100.0, 50.0, 110.0]


def test_coco_dataset_scores_our_coco_results_perfectly_in_cocoeval(tmp_path):
    coco_api = pytest.importorskip("pycocotools.coco", reason="pycocotools is in the dev extra")
    from pycocotools.cocoeval import COCOeval

    tracks = make_tracks(lambda t: (0, 1))
    export_coco_dataset(tracks, tmp_path / "gt.json")
    gt = coco_api.COCO(str(tmp_path / "gt.json"))
    dt = gt.loadRes(export_coco(tracks))                # image ids agree: both are 0-based frames
    ev = COCOeval(gt, dt, "keypoints")
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0)


def test_image_folder_names_are_the_coco_file_names():
    tracks = make_tracks(lambda t: (0, 1))
    data = coco_dataset(tracks, [f"/data/seq/{i:04d}.jpg" for i in range(N)])
    assert [im["file_name"] for im in data["images"]][:2] == ["0000.jpg", "0001.jpg"]


def test_slp_round_trips_through_sleap_io(tmp_path):
    sio = pytest.importorskip("sleap_io", reason="sleap-io (the sleap extra) needs Python >= 3.10")
    from posetrack.tracksfile.sleap import export_sleap

    tracks = make_tracks(lambda t: (5, 2) if t < 6 else (5, 11))
    assert export_sleap(tracks, tmp_path / "clip.slp") == 2 * N
    labels = sio.load_slp(str(tmp_path / "clip.slp"))
    assert labels.skeletons[0].node_names == list(COCO.names)
    assert sorted(t.name for t in labels.tracks) == ["track_11", "track_2", "track_5"]
    by_frame = {lf.frame_idx: lf for lf in labels.labeled_frames}
    assert sorted(by_frame) == list(range(N))
    for fr in tracks.frames:
        instances = by_frame[fr.frame].instances
        assert [i.track.name for i in instances] == [f"track_{int(t)}" for t in fr.track_ids]
        for inst, xy, sc in zip(instances, fr.poses.keypoints, fr.poses.keypoint_scores):
            np.testing.assert_allclose(inst.numpy(), xy, atol=1e-4)
            np.testing.assert_allclose(inst.numpy(scores=True)[:, 2], sc, atol=1e-6)


def test_nwb_is_written_by_sleap_io_with_the_same_coordinates(tmp_path):
    sio = pytest.importorskip("sleap_io", reason="sleap-io (the sleap extra) needs Python >= 3.10")
    from posetrack.tracksfile.sleap import export_sleap

    tracks = make_tracks(lambda t: (0, 1))
    export_sleap(tracks, tmp_path / "clip.nwb")
    labels = sio.load_nwb(str(tmp_path / "clip.nwb"))    # sleap-io 0.9 reads NWB back without track names
    by_frame = {lf.frame_idx: lf for lf in labels.labeled_frames}
    got = sorted(tuple(np.round(i.numpy()[0], 2)) for i in by_frame[4].instances)
    want = sorted(tuple(np.round(xy[0], 2)) for xy in tracks.frames[4].poses.keypoints)
    assert got == want


def test_sleap_export_refuses_another_suffix(tmp_path):
    from posetrack.errors import ConfigError
    from posetrack.pipeline.runner import Outputs

    with pytest.raises(ConfigError, match="must end in .slp"):
        Outputs(tmp_path / "t.json", sleap=tmp_path / "clip.h5", mot=None)


# ---------------------------------------------------------------- Python: supervision and Ultralytics-style results

def _result(track_ids=(3, 8), image=True) -> TrackResult:
    fr = make_tracks(lambda t: (0, 1)).frames[4]
    ids = None if track_ids is None else np.asarray(track_ids, np.int64)
    return TrackResult(frame=4, time=0.16, poses=fr.poses, track_ids=ids, layout=COCO,
                       image=np.zeros((H, W, 3), np.uint8) if image else None)


def test_to_supervision_gives_keypoints_and_detections_with_tracker_ids():
    sv = pytest.importorskip("supervision", reason="supervision is in the dev extra")
    result = _result()
    keypoints, detections = result.to_supervision()
    assert isinstance(keypoints, sv.KeyPoints) and isinstance(detections, sv.Detections)
    assert keypoints.xy.shape == (2, 17, 2) and len(keypoints) == 2 and len(detections) == 2
    np.testing.assert_array_equal(keypoints.xy, result.poses.keypoints)
    assert detections.xyxy.shape == (2, 4) and detections.tracker_id.tolist() == [3, 8]
    assert keypoints.data["tracker_id"].tolist() == [3, 8] and detections.class_id.tolist() == [0, 0]
    np.testing.assert_allclose(detections.confidence, [0.8, 0.8])
    _, untracked = _result(track_ids=None).to_supervision()
    assert untracked.tracker_id is None


def test_ultralytics_style_accessors():
    result = _result()
    b = result.poses.boxes
    assert result.keypoints.xy.shape == (2, 17, 2) and result.keypoints.conf.shape == (2, 17)
    assert result.boxes.id.tolist() == [3, 8] and result.boxes.is_track
    np.testing.assert_array_equal(result.boxes.xyxy, b)
    np.testing.assert_allclose(result.boxes.xywh[0], [(b[0, 0] + b[0, 2]) / 2, (b[0, 1] + b[0, 3]) / 2,
                                                      b[0, 2] - b[0, 0], b[0, 3] - b[0, 1]])
    np.testing.assert_allclose(result.keypoints.xyn[..., 0], result.poses.keypoints[..., 0] / W)
    np.testing.assert_allclose(result.boxes.xyxyn[:, 3], b[:, 3] / H)
    assert result.boxes.data.shape == (2, 7) and result.boxes.data[:, 4].tolist() == [3, 8]   # x1 y1 x2 y2 id conf cls
    assert result.keypoints.data.shape == (2, 17, 3) and len(result.boxes) == 2
    untracked = _result(track_ids=None, image=False)
    assert untracked.boxes.id is None and untracked.boxes.data.shape == (2, 6)
    from posetrack.errors import InputError
    with pytest.raises(InputError, match="need the frame size"):
        untracked.keypoints.xyn


# ---------------------------------------------------------------- posetrack convert

@pytest.mark.parametrize("to,suffix", [("mot", ".txt"), ("coco-dataset", ".json"), ("slp", ".slp"), ("coco", ".json"),
                                       ("csv", ".csv")])
def test_convert_writes_each_format(to, suffix, tmp_path):
    if to == "slp":
        pytest.importorskip("sleap_io", reason="sleap-io (the sleap extra) needs Python >= 3.10")
    out = tmp_path / f"out{suffix}"
    result = CliRunner().invoke(cli, ["convert", str(DATA / "tracks.json"), "--to", to, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 0 and f"wrote {out}" in result.output


def test_convert_another_tools_poses_to_a_tracks_file(tmp_path):
    clip = write_video(tmp_path / "clip.mp4", n=12, size=(W, H), fps=25)
    out = tmp_path / "poses.json"
    result = CliRunner().invoke(cli, ["convert", str(DATA / "openpose_coco18"), "--video", str(clip), "--to",
                                      "posetrack", "-o", str(out)])
    assert result.exit_code == 0, result.output
    tracks = read_tracks(out)
    own = read_tracks(DATA / "tracks.json")
    assert tracks.header.settings["input"]["format"] == "openpose" and len(tracks.frames) == 12
    np.testing.assert_allclose(tracks.frames[7].poses.keypoints, own.frames[7].poses.keypoints, atol=0.01)


def test_convert_refuses_with_one_line(tmp_path):
    bad_suffix = CliRunner().invoke(cli, ["convert", str(DATA / "tracks.json"), "--to", "nwb", "-o",
                                          str(tmp_path / "x.slp")])
    assert bad_suffix.exit_code == 1 and "a nwb file must end in .nwb" in bad_suffix.output
    onto_input = CliRunner().invoke(cli, ["convert", str(DATA / "tracks.json"), "--to", "mot", "-o",
                                          str(DATA / "tracks.json")])
    assert onto_input.exit_code == 1 and "would overwrite the input" in onto_input.output
    assert json.loads((DATA / "tracks.json").read_text())["format"] == "posetrack-tracks"
