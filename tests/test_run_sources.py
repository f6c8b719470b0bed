"""`posetrack run` on the sources of issues 9 and 11: tiny frames, a cut-off file, a folder with a bad image,
an HTTP stream, a camera; per-frame times in tracks.json; COCO and CSV exports.

Small stand-ins for the project's reference video cases are made here (same kinds of fault; nothing
is read from outside the checkout): a 1x1 MJPEG AVI,
a faststart H.264 MP4 cut in half (with boxes for every frame the header promises), and a PNG
folder with one odd-sized image.
"""
import csv
import json
from fractions import Fraction

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from posetrack_cli import cli
from helpers.server import Server
from helpers.videos import FakeCamera, cut, decoded_times, write_video
from helpers.weights import write_tiny_weights

W, H, N, FPS = 96, 64, 10, 10


def sprite_frame(i: int, w: int, h: int) -> np.ndarray:
    img = np.full((h, w, 3), 90, np.uint8)
    if w >= 40 and h >= 40:
        rng = np.random.default_rng(0)
        img[10:50, 10 + 2 * i:30 + 2 * i] = rng.integers(0, 255, (40, 20, 3), dtype=np.uint8)
    return img


def boxes_json(path, frames: int, box=(10, 10, 20, 40)):
    """A person box in every frame 0..frames-1 (COCO detection results, x, y, w, h)."""
    path.write_text(json.dumps([{"image_id": t, "bbox": [box[0] + 2 * t, box[1], box[2], box[3]], "score": 0.95}
                                for t in range(frames)]))
    return path


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    d = tmp_path_factory.mktemp("runsrc")
    write_tiny_weights(d / "pose.pth", seed=0, bias=1.0)     # heatmap maxima near 1, like a trained net's
    write_video(d / "walk.mp4", n=N, size=(W, H), fps=FPS, image=sprite_frame)
    boxes_json(d / "walk.boxes.json", N)
    return d


def run(d, source, *args):
    base = ["run", str(source), "--pose-model", "hrnet_tiny_128x96", "--pose-weights", str(d / "pose.pth"),
            "--quiet", "--device", "cpu", "--no-flip"]
    return CliRunner().invoke(cli, [*base, *map(str, args)], terminal_width=100)


def test_frames_carry_their_time_and_exports_are_written(d, tmp_path):
    """A variable-frame-rate clip (33 ms, then 200 ms gaps): tracks.json has each frame's true time, the
    render shows frame 10 at its true time, and the COCO and CSV exports list the same people."""
    from helpers.videos import VFR_TIMES

    n = len(VFR_TIMES)
    video = write_video(tmp_path / "vfr.mp4", n=n, size=(W, H), fps=30, times=VFR_TIMES, image=sprite_frame)
    out, coco, table, render = tmp_path / "t.json", tmp_path / "r.json", tmp_path / "p.csv", tmp_path / "a.mp4"
    result = run(d, video, "--boxes", boxes_json(tmp_path / "b.json", n), "--out", out, "--export-coco", coco,
                 "--export-csv", table, "--render", render)
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert [f["time"] for f in data["frames"]] == pytest.approx(VFR_TIMES, abs=1e-3)
    _, shown = decoded_times(render)
    assert shown[10] == pytest.approx(VFR_TIMES[10], abs=0.033) and shown == pytest.approx(VFR_TIMES, abs=1e-3)
    people = [(f["frame"], p["track_id"]) for f in data["frames"] for p in f["people"]]
    assert people, "the scripted person must be found"
    results = json.loads(coco.read_text())
    assert [(r["image_id"], r["track_id"]) for r in results] == people
    assert all(len(r["keypoints"]) == 51 and r["category_id"] == 1 for r in results)
    with open(table, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(int(r["frame"]), int(r["track_id"])) for r in rows] == people
    assert [float(r["time"]) for r in rows] == pytest.approx([VFR_TIMES[fr] for fr, _ in people], abs=1e-3)


def test_one_pixel_frames_give_a_valid_result(d, tmp_path):
    """sz_1x1_mjpeg.avi: a 1x1 MJPEG AVI with a 1x1 box in each frame."""
    video = write_video(tmp_path / "dot.avi", n=3, size=(1, 1), codec="mjpeg", pix_fmt="yuvj444p",
                        image=lambda i, w, h: np.full((h, w, 3), 100, np.uint8))
    boxes = tmp_path / "dot.boxes.json"
    boxes.write_text(json.dumps([{"image_id": t, "bbox": [0, 0, 1, 1], "score": 0.9} for t in range(3)]))
    out = tmp_path / "dot.json"
    result = run(d, video, "--boxes", boxes, "--out", out, "--render", tmp_path / "dot.mp4")
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["status"] == "complete" and (data["video"]["width"], data["video"]["height"]) == (1, 1)
    assert [f["frame"] for f in data["frames"]] == [0, 1, 2]
    assert (tmp_path / "dot.mp4").stat().st_size > 0


@pytest.mark.parametrize("ext, n, fraction", [("mp4", 24, 0.5), ("mkv", 14, 0.8), ("mkv", 14, 0.5)])
def test_a_cut_off_video_keeps_its_frames_and_names_where_it_stopped(d, tmp_path, ext, n, fraction):
    """full_faststart_trunc50.mp4, mkv_trunc80.mkv: boxes for frames past the cut are not an error; the frames
    before it are kept (status partial) and the warning names the frame where decoding stopped. Matroska states
    no frame count: its length is estimated from its stated duration, not from the packets left."""
    full = write_video(tmp_path / f"full.{ext}", n=n, size=(W, H), fps=FPS, image=sprite_frame)
    video = cut(full, fraction, tmp_path / f"cut.{ext}")
    out = tmp_path / "cut.json"
    result = run(d, video, "--boxes", boxes_json(tmp_path / "b.boxes.json", n), "--out", out)
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    done = [f["frame"] for f in data["frames"]]
    assert 0 < len(done) < n and done == list(range(len(done)))
    assert data["status"] == "partial" and data["video"]["frames"] == len(done)
    assert f"decoding failed at frame {len(done)}" in result.output


@pytest.mark.parametrize("fault", ["odd size", "damaged"])
def test_a_bad_image_in_a_folder_is_named_and_the_frames_before_it_kept(d, tmp_path, fault):
    """mixed_dir/: one red line naming the image; the frames done before it stay in the (partial) output."""
    folder = tmp_path / "seq"
    folder.mkdir()
    for i in range(8):
        cv2.imwrite(str(folder / f"{i:03d}.png"), sprite_frame(i, W, H))
    if fault == "odd size":
        cv2.imwrite(str(folder / "005.png"), np.zeros((30, 50, 3), np.uint8))
    else:
        (folder / "005.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    out = tmp_path / "seq.json"
    result = run(d, folder, "--boxes", boxes_json(tmp_path / "b.json", 8), "--out", out, "--frame-batch", 8)
    assert result.exit_code == 1
    assert "seq/005.png" in result.output and "Traceback" not in result.output
    data = json.loads(out.read_text())
    assert data["status"] == "partial" and [f["frame"] for f in data["frames"]] == [0, 1, 2, 3, 4]


@pytest.fixture(scope="module")
def served(d):
    server = Server(root=d)
    yield server.base
    server.stop()


def test_a_stream_url_runs_and_cannot_be_resumed(d, served, tmp_path):
    url, out = f"{served}/walk.mp4", tmp_path / "stream.json"
    result = run(d, url, "--boxes", d / "walk.boxes.json", "--out", out, "--stride", 2,
                 "--render", tmp_path / "s2.mp4")
    assert result.exit_code == 0, result.output
    rate, shown = decoded_times(tmp_path / "s2.mp4")                  # a stride-2 render plays at fps / 2
    assert rate == Fraction(FPS, 2) and shown == pytest.approx([i / FPS for i in range(0, N, 2)], abs=1e-3)
    data = json.loads(out.read_text())
    assert data["video"]["path"] == url and data["video"]["frames"] == N
    assert [f["frame"] for f in data["frames"]] == list(range(0, N, 2))
    again = run(d, url, "--boxes", d / "walk.boxes.json", "--out", out, "--resume")
    assert again.exit_code == 1
    assert "a live source (camera or stream) cannot be resumed" in again.output
    no_out = run(d, url, "--boxes", d / "walk.boxes.json")
    assert no_out.exit_code == 2 and "--out" in no_out.output


def test_a_camera_run_records_the_frames_it_saw(d, tmp_path, monkeypatch):
    """A live source of unknown length: the tracks file's frame count is the frames seen."""
    monkeypatch.setattr(cv2, "VideoCapture", lambda index: FakeCamera(index, frames=5))
    out = tmp_path / "cam.json"
    result = run(d, "0", "--boxes", boxes_json(tmp_path / "b.json", 5), "--out", out, "--tracker", "none")
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["video"]["frames"] == 5 and data["video"]["path"] == "0"
    assert [f["frame"] for f in data["frames"]] == [0, 1, 2, 3, 4]
    times = [f["time"] for f in data["frames"]]
    assert times == sorted(times) and times[0] >= 0
