"""Sources that go wrong (issue 9, item 5) and sources that are not files (issue 11, item 2).

Every input is made here: tiny frames in several codecs and containers, files cut off at
several points, damaged and odd-sized images in folders, a variable-frame-rate clip, a
loopback HTTP server, and a fake camera (nothing is read from outside the checkout). The kinds of
fault stand for the project's reference video cases (a 1x1 MJPEG AVI, a faststart MP4 cut in half, a
folder of mixed-size images).
"""
import logging
import time

import cv2
import numpy as np
import pytest

from posetrack.io.decoders import Selection
from posetrack.errors import ResumeError, SourceError
from posetrack.io.video import check_resumable, is_live, open_source
from helpers.server import Server, closed_port_url
from helpers.videos import VFR_TIMES, FakeCamera, coded_frame, cut, which, write_video, write_frames

N = 28
BACKENDS = ("pyav", "opencv", "decord")


def frames_of(src):
    return [(f.index, which(f.image)) for f in src]


# ---------------------------------------------------------------- tiny frames

TINY = [  # (container, codec, pixel format, width, height)
    ("avi", "mjpeg", "yuvj444p", 1, 1), ("avi", "mjpeg", "yuvj444p", 3, 2), ("avi", "mjpeg", "yuvj420p", 16, 16),
    ("mkv", "ffv1", "yuv444p", 1, 1), ("mkv", "ffv1", "yuv444p", 5, 3), ("mp4", "libx264", "yuv420p", 2, 2),
    ("mp4", "libx264", "yuv420p", 16, 8), ("mov", "png", "rgb24", 1, 7),
]


@pytest.mark.parametrize("ext, codec, pix_fmt, w, h", TINY)
def test_tiny_frames_decode_to_their_size_or_are_refused_at_open(tmp_path, ext, codec, pix_fmt, w, h):
    """Frames of 16 px or less: every backend yields (h, w, 3) frames, or says at open that it cannot."""
    grey = lambda i, w, h: np.full((h, w, 3), 40 + 5 * i, np.uint8)  # noqa: E731
    path = write_video(tmp_path / f"tiny.{ext}", n=5, size=(w, h), codec=codec, pix_fmt=pix_fmt, image=grey)
    with open_source(path) as src:          # "auto" must always manage
        frames = list(src)
    assert [f.image.shape for f in frames] == [(h, w, 3)] * 5
    assert [int(f.image.mean()) for f in frames] == pytest.approx([40 + 5 * i for i in range(5)], abs=3)
    for backend in BACKENDS:
        try:
            src = open_source(path, backend=backend)
        except SourceError as e:
            assert str(e).startswith(str(path)) and "\n" not in str(e)
            continue
        with src:
            assert all(f.image.shape == (h, w, 3) for f in src), backend


def test_decord_garbage_for_narrow_frames_is_refused(tmp_path):
    """decord returns (1, 1, 96)-shaped frames for 1x1 video: it must not be used for them."""
    path = write_video(tmp_path / "one.avi", n=3, size=(1, 1), codec="mjpeg", pix_fmt="yuvj444p",
                       image=lambda i, w, h: np.full((h, w, 3), 100, np.uint8))
    with pytest.raises(SourceError, match=r"one\.avi: cannot decode .*decord decodes 1x1 frames wrongly"):
        open_source(path, backend="decord")


# ---------------------------------------------------------------- cut-off files

CUT = [  # container, codec, pixel format, where the file is cut
    ("mp4", "libx264", "yuv420p", 0.5), ("mp4", "libx264", "yuv420p", 0.8), ("mov", "libx264", "yuv420p", 0.6),
    ("avi", "mjpeg", "yuvj420p", 0.5), ("mkv", "ffv1", "yuv420p", 0.5), ("mkv", "libx264", "yuv420p", 0.8),
    ("webm", "libvpx-vp9", "yuv420p", 0.6),
]


@pytest.mark.parametrize("ext, codec, pix_fmt, fraction", CUT)
def test_a_cut_off_file_stops_where_decoding_stops_and_says_so(tmp_path, caplog, ext, codec, pix_fmt, fraction):
    """The header's count stays in info; the frames before the cut arrive intact, in order;
    truncated_at is the real frame count, named in one warning."""
    full = write_video(tmp_path / f"full.{ext}", n=N, codec=codec, pix_fmt=pix_fmt)
    path = cut(full, fraction, tmp_path / f"cut.{ext}")
    with caplog.at_level(logging.WARNING, logger="posetrack.io.video"), open_source(path) as src:
        got = frames_of(src)
        stop = src.truncated_at
    assert stop is not None and 0 < stop < N
    assert got == [(i, i) for i in range(stop)]                    # every frame intact, nothing out of order
    assert f"cut.{ext}: decoding failed at frame {stop} (" in caplog.text
    assert "@ 0x" not in caplog.text and "Errno" not in caplog.text and "()" not in caplog.text


def test_the_header_count_of_a_cut_mp4_is_kept_for_the_boxes_file(tmp_path):
    """full_faststart_trunc50.mp4: the header's 28 frames stay in info (boxes for later frames are not an
    error), the real count is truncated_at."""
    path = cut(write_video(tmp_path / "full.mp4", n=N), 0.5, tmp_path / "cut.mp4")
    with open_source(path) as src:
        assert src.info.frames == N and src.indices == list(range(N))
        list(src)
        assert 0 < src.truncated_at < N


@pytest.mark.parametrize("fraction", [0.5, 0.8])
def test_a_cut_matroska_estimates_its_length_from_its_duration(tmp_path, caplog, fraction):
    """mkv_trunc80.mkv: Matroska states no frame count; the packets left are not the video's length (boxes
    for the lost frames are not an error): the stated duration times the frame rate is, marked as an estimate."""
    full = write_video(tmp_path / "full.mkv", n=14)
    with open_source(full) as src:
        assert src.info.frames == 14 and src.frames_exact       # a whole file: its packets, exact
    path = cut(full, fraction, tmp_path / "cut.mkv")
    with caplog.at_level(logging.WARNING, logger="posetrack.io.video"), open_source(path) as src:
        assert src.info.frames == 14 and not src.frames_exact and src.indices == list(range(14))
        got = frames_of(src)
        stop = src.truncated_at
    assert stop is not None and 0 < stop < 14 and got == [(i, i) for i in range(stop)]
    assert f"cut.mkv: decoding failed at frame {stop} (" in caplog.text


def test_a_cut_off_file_read_from_the_middle(tmp_path):
    path = cut(write_video(tmp_path / "full.mp4", n=N), 0.8, tmp_path / "cut.mp4")
    with open_source(path) as src:
        list(src)
        stop = src.truncated_at
    with open_source(path, start=3, stride=2) as src:
        got = frames_of(src)
        assert src.truncated_at == (stop if (stop - 3) % 2 == 0 else stop + 1)
    assert got == [(i, i) for i in range(3, stop, 2)]


def test_a_complete_file_is_not_reported_cut(tmp_path, caplog):
    for ext, codec, pix_fmt in [("mp4", "libx264", "yuv420p"), ("mkv", "libx264", "yuv420p"),
                                ("webm", "libvpx-vp9", "yuv420p"), ("avi", "mjpeg", "yuvj420p")]:
        path = write_video(tmp_path / f"whole.{ext}", n=N, codec=codec, pix_fmt=pix_fmt)
        with caplog.at_level(logging.WARNING, logger="posetrack.io.video"), open_source(path) as src:
            assert frames_of(src) == [(i, i) for i in range(N)]
            assert src.truncated_at is None and src.info.frames == N
    assert not caplog.text


def test_an_mp4_cut_before_its_index_is_one_line_naming_the_file(tmp_path):
    path = cut(write_video(tmp_path / "full.mp4", n=N, faststart=False), 0.5, tmp_path / "noindex.mp4")
    with pytest.raises(SourceError) as e:
        open_source(path)
    message = str(e.value)
    assert message.startswith(f"{path}: cannot decode this file as a video (pyav: ")
    assert "\n" not in message and "@ 0x" not in message and "()" not in message


def test_decoders_print_nothing_of_their_own(tmp_path, capfd):
    """FFmpeg's "[h264 @ 0x...]" lines (through OpenCV, PyAV or decord) never reach the terminal."""
    path = cut(write_video(tmp_path / "full.mp4", n=N), 0.5, tmp_path / "cut.mp4")
    for backend in BACKENDS:
        try:
            with open_source(path, backend=backend) as src:
                list(src)
        except SourceError:
            pass   # decord cannot open this one at all
    err = capfd.readouterr().err
    assert "@ 0x" not in err and "NAL" not in err and "partial file" not in err, err


# ---------------------------------------------------------------- image folders

def write_folder(folder, n=8, suffix=".png", size=(96, 64)):
    return write_frames(folder, [coded_frame(i, *size) for i in range(n)], lambda i: f"{i:03d}{suffix}")


@pytest.mark.parametrize("damage", ["text", "half a png", "empty"])
def test_a_damaged_image_is_named_after_the_frames_before_it(tmp_path, damage):
    folder = write_folder(tmp_path / "seq")
    bad = folder / "005.png"
    data = bad.read_bytes()
    bad.write_bytes({"text": b"not an image", "half a png": data[: len(data) // 2], "empty": b""}[damage])
    got = []
    with open_source(folder) as src, pytest.raises(SourceError, match=r"seq/005\.png: cannot read this image \(frame 5"):
        for batch in src.iter_batches(8):   # one batch would hold all 8 frames: the first 5 must still come
            got += [(f.index, which(f.image)) for f in batch]
    assert got == [(i, i) for i in range(5)]


def test_an_image_of_another_size_is_named_after_the_frames_before_it(tmp_path):
    """mixed_dir/: the frames before the odd image are delivered, then one error names it."""
    folder = write_folder(tmp_path / "seq")
    cv2.imwrite(str(folder / "005.png"), np.zeros((50, 70, 3), np.uint8))
    got = []
    with open_source(folder, batch_size=8) as src, \
            pytest.raises(SourceError, match=r"seq/005\.png: image is 70x50, the sequence is 96x64 \(frame 5"):
        for batch in src.iter_batches(8):
            got += [f.index for f in batch]
    assert got == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("suffix", [".bmp", ".tif", ".tiff", ".webp", ".JPG"])
def test_other_image_formats_are_frames_too(tmp_path, suffix):
    folder = write_folder(tmp_path / "seq", n=4, suffix=suffix)
    (folder / "notes.txt").write_text("not a frame")
    with open_source(folder) as src:
        frames = list(src)
    assert [f.index for f in frames] == [0, 1, 2, 3]
    assert [which(f.image) for f in frames] == [0, 1, 2, 3]


def test_folder_frames_carry_no_time(tmp_path):
    """A folder states no frame times; folder_fps is an assumption, so Frame.time stays None."""
    with open_source(write_folder(tmp_path / "seq", n=3), folder_fps=10) as src:
        assert [f.time for f in src] == [None, None, None]


# ---------------------------------------------------------------- frame times

@pytest.mark.parametrize("backend", BACKENDS)
def test_constant_rate_times(tmp_path, backend):
    path = write_video(tmp_path / "cfr.mp4", n=12, fps=25)
    with open_source(path, backend=backend, start=2, stride=3) as src:
        times = [(f.index, f.time) for f in src]
    assert [i for i, _ in times] == [2, 5, 8, 11]
    assert [t for _, t in times] == pytest.approx([i / 25 for i in (2, 5, 8, 11)], abs=1e-3)


@pytest.mark.parametrize("ext", ["mp4", "mkv"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_variable_frame_rate_times_are_the_containers(tmp_path, ext, backend):
    """33 ms gaps for ten frames, then 200 ms gaps: frame 10 is at 0.497 s, not 10 / average fps."""
    path = write_video(tmp_path / f"vfr.{ext}", n=len(VFR_TIMES), fps=30, times=VFR_TIMES)
    with open_source(path, backend=backend) as src:
        frames = list(src)
    assert [which(f.image) for f in frames] == list(range(len(VFR_TIMES)))
    assert frames[10].time == pytest.approx(VFR_TIMES[10], abs=0.001)
    assert [f.time for f in frames] == pytest.approx(VFR_TIMES, abs=0.001)


# ---------------------------------------------------------------- selection

@pytest.mark.parametrize("start, stop, stride", [(0, 10, 1), (3, 17, 4), (5, 6, 3), (2, 9, 7), (0, None, 2)])
def test_selection_matches_a_naive_range(start, stop, stride):
    sel = Selection(start, stop, stride)
    naive = list(range(start, 40 if stop is None else stop, stride))
    assert [i for i in range(40) if i in sel] == naive
    if stop is None:
        assert sel.indices is None and sel.last is None and not sel.done(10 ** 6)
    else:
        assert sel.indices == naive and sel.last == naive[-1]
        assert [i for i in range(40) if sel.done(i)][0] == naive[-1]


# ---------------------------------------------------------------- live sources: streams

@pytest.fixture(scope="module")
def http_clip(tmp_path_factory):
    """A faststart MP4 served over HTTP on the loopback interface."""
    d = tmp_path_factory.mktemp("www")
    write_video(d / "clip.mp4", n=N, fps=25)
    server = Server(root=d)
    yield f"{server.base}/clip.mp4"
    server.stop()


def test_an_http_stream_is_read_once_front_to_back(http_clip):
    with open_source(http_clip, stride=3) as src:
        assert src.info.live and src.backend == "pyav"
        assert src.info.frames == N                    # this container states its length
        frames = list(src)
    assert [(f.index, which(f.image)) for f in frames] == [(i, i) for i in range(0, N, 3)]
    assert [f.time for f in frames] == pytest.approx([i / 25 for i in range(0, N, 3)], abs=1e-3)


def test_live_sources_cannot_be_resumed(http_clip):
    assert is_live(http_clip) and is_live("rtsp://camera.local/stream") and is_live(0) and is_live("1")
    assert not is_live("clip.mp4") and not is_live("./0")
    with pytest.raises(ResumeError, match=r"^http://127\.0\.0\.1:\d+/clip\.mp4: a live source .* cannot be resumed"):
        check_resumable(http_clip)
    with pytest.raises(ResumeError, match="^camera 0: a live source"):
        check_resumable("0")
    check_resumable("clip.mp4")  # files can


def test_a_stream_that_is_not_there_is_one_line(tmp_path):
    url = closed_port_url("nothing.mp4")   # a port nobody listens on
    t0 = time.perf_counter()
    with pytest.raises(SourceError) as e:
        open_source(url)
    assert time.perf_counter() - t0 < 10
    assert str(e.value).startswith(f"{url}: cannot decode this stream as a video (pyav: ")
    assert "\n" not in str(e.value)


# ---------------------------------------------------------------- live sources: cameras

@pytest.fixture
def camera(monkeypatch):
    FakeCamera.opened = []
    monkeypatch.setattr(cv2, "VideoCapture", FakeCamera)
    return FakeCamera


def test_a_camera_by_index(camera):
    with open_source("0", end=5) as src:
        assert src.backend == "camera" and src.info.live and src.info.frames is None
        assert (src.info.width, src.info.height, src.info.fps) == (96, 64, 30.0)
        assert src.indices == [0, 1, 2, 3, 4] and src.total == 5
        frames = list(src)
    assert [(f.index, which(f.image)) for f in frames] == [(i, i) for i in range(5)]
    times = [f.time for f in frames]
    assert times[0] >= 0 and times == sorted(times)
    assert all(c.released for c in camera.opened)


def test_a_camera_without_end_runs_until_it_stops(camera):
    with open_source(0, stride=2) as src:
        assert src.indices is None and src.total is None
        with pytest.raises(TypeError, match="no length"):
            len(src)
        frames = list(src)
        assert src.truncated_at is None
    assert [(f.index, which(f.image)) for f in frames] == [(0, 0), (2, 2), (4, 4), (6, 6)]


def test_a_camera_that_is_not_there(camera):
    with pytest.raises(SourceError, match=r"^camera 3: cannot open it"):
        open_source(3)
