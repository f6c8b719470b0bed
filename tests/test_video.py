"""Frame sources on tiny synthetic videos and image folders written in tmp_path.

Frame i shows its index as six black/white vertical bars (bit b of i -> bar b), which
survives lossy codecs, so a decoded frame tells which source frame it is.
"""
import logging
import sys
import threading

import cv2
import numpy as np
import pytest

from posetrack.types import Frame
from posetrack.io.video import natural_key, open_source
from helpers.videos import coded_frame, which, write_frames, write_video

W, H, N, FPS = 160, 120, 20, 25.0


def grey_frames(n=N, w=W, h=H):
    return [coded_frame(i, w, h) for i in range(n)]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("v") / "clip.mp4", frames=grey_frames(), fps=FPS, codec="mpeg4",
                       faststart=False)


@pytest.mark.parametrize("backend", ["auto", "pyav", "decord", "opencv"])
def test_reads_every_frame_in_order_with_source_metadata(clip, backend):
    with open_source(clip, backend=backend) as src:
        frames = list(src)
        assert src.info.frames == N and (src.info.width, src.info.height) == (W, H)
        assert src.info.fps == pytest.approx(FPS)
        assert src.truncated_at is None
    assert [f.index for f in frames] == list(range(N))
    assert [which(f) for f in frames] == list(range(N))
    f0 = frames[0].image
    assert f0.dtype == np.uint8 and f0.shape == (H, W, 3)


def test_backends_agree_on_count_size_and_pixels(clip):
    with open_source(clip, backend="decord") as a, open_source(clip, backend="opencv") as b:
        assert a.backend == "decord" and b.backend == "opencv"
        assert (a.info.frames, a.info.width, a.info.height) == (b.info.frames, b.info.width, b.info.height)
        fa, fb = list(a), list(b)
    assert len(fa) == len(fb) == N
    for x, y in zip(fa, fb):
        assert np.abs(x.image.astype(int) - y.image.astype(int)).mean() < 3


@pytest.mark.parametrize("backend", ["pyav", "decord", "opencv"])
def test_start_end_stride_select_the_right_frames(clip, backend):
    with open_source(clip, start=3, end=15, stride=4, backend=backend) as src:
        assert src.indices == [3, 7, 11]
        frames = list(src)
    assert [f.index for f in frames] == [3, 7, 11]
    assert [which(f) for f in frames] == [3, 7, 11]


def test_end_past_the_source_is_clamped(clip):
    with open_source(clip, start=17, end=1000) as src:
        assert src.indices == [17, 18, 19]
        assert [f.index for f in src] == [17, 18, 19]


@pytest.mark.parametrize("kwargs, message", [
    ({"start": -1}, "start"), ({"start": 5, "end": 5}, "end"), ({"stride": 0}, "stride"),
    ({"start": N}, "past the end"), ({"backend": "ffmpeg"}, "auto, pyav, decord, opencv"),
])
def test_bad_ranges_and_backends_are_rejected(clip, kwargs, message):
    with pytest.raises(ValueError, match=message):
        open_source(clip, **kwargs)


def test_iter_batches_groups_frames(clip):
    with open_source(clip, stride=2, batch_size=3) as src:
        batches = list(src.iter_batches(4))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert [f.index for b in batches for f in b] == list(range(0, N, 2))


def test_a_second_iteration_starts_again(clip):
    with open_source(clip, end=4) as src:
        assert [f.index for f in src] == [0, 1, 2, 3]
        assert [f.index for f in src] == [0, 1, 2, 3]


def test_stopping_early_ends_the_decoding_thread(clip):
    before = {t for t in threading.enumerate() if t.name == "posetrack-decode"}
    src = open_source(clip, batch_size=2, prefetch=1)
    it = iter(src)
    next(it)
    src.close()
    alive = {t for t in threading.enumerate() if t.name == "posetrack-decode"} - before
    assert not alive


def test_prefetch_queue_is_bounded(clip, monkeypatch):
    """The decoder may run at most `prefetch` batches ahead of a consumer that is not reading."""
    src = open_source(clip, backend="opencv", batch_size=1, prefetch=2)
    produced = []
    real_read = src._reader.read

    def counting_read(indices, batch_size):
        for batch in real_read(indices, batch_size):
            produced.append(batch[0].index)
            yield batch

    monkeypatch.setattr(src._reader, "read", counting_read)
    it = iter(src)
    next(it)
    threading.Event().wait(0.5)  # give the thread every chance to run ahead
    # one consumed + two queued + one decoded and waiting to be queued
    assert len(produced) <= 4
    src.close()


def test_errors_in_the_decoding_thread_reach_the_consumer(clip, monkeypatch):
    src = open_source(clip, backend="opencv")

    def broken(indices, batch_size):
        yield [Frame(0, np.zeros((H, W, 3), np.uint8))]
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(src._reader, "read", broken)
    it = iter(src)
    assert next(it).index == 0
    with pytest.raises(RuntimeError, match="disk on fire"):
        next(it)
    src.close()


# ---------------------------------------------------------------- PyAV -> decord -> OpenCV fallback

def test_falls_back_to_opencv_when_pyav_is_missing(clip, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "av", None)  # makes `import av` raise ImportError
    with caplog.at_level(logging.INFO, logger="posetrack.io.video"):
        with open_source(clip) as src:
            assert src.backend == "opencv"
            assert [which(f) for f in src] == list(range(N))
    assert "pyav is not installed" in caplog.text
    monkeypatch.setitem(sys.modules, "decord", None)
    with pytest.raises(ValueError, match="decord is not installed"):
        open_source(clip, backend="decord")


def test_falls_back_to_opencv_when_pyav_cannot_open_the_file(clip, monkeypatch):
    from posetrack.io import decoders

    def refuse_av(self):
        raise decoders.OpenFailed("simulated: cannot open")

    monkeypatch.setattr(decoders.PyAVReader, "_open", refuse_av)
    with open_source(clip) as src:
        assert src.backend == "opencv"
        assert [which(f) for f in src] == list(range(N))


def test_decord_only_on_request(clip):
    """decord hides damaged frames behind copies of their neighbours: never chosen by "auto"."""
    with open_source(clip, backend="decord") as src:
        assert src.backend == "decord"
        assert [which(f) for f in src] == list(range(N))


# ---------------------------------------------------------------- bad files

def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.mp4"):
        open_source(tmp_path / "nope.mp4")


def test_empty_file_is_a_clear_error(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.mp4.*empty"):
        open_source(tmp_path / "empty.mp4")


def test_garbage_file_names_the_file_and_every_backend_tried(tmp_path):
    (tmp_path / "junk.mp4").write_bytes(b"this is not a video" * 100)
    with pytest.raises(ValueError, match=r"junk\.mp4.*cannot decode.*pyav: .*opencv: "):
        open_source(tmp_path / "junk.mp4")


def test_file_cut_in_half_warns_at_the_frame_and_keeps_what_was_read(tmp_path, caplog):
    path = write_video(tmp_path / "whole.mp4", frames=grey_frames(40), fps=25, gop=5)   # H.264, index first
    data = path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with caplog.at_level(logging.WARNING, logger="posetrack.io.video"):
        with open_source(cut) as src:
            assert src.info.frames == 40  # what the header promises
            frames = list(src)
            stop = src.truncated_at
    assert stop is not None and 0 < stop < 40
    assert [f.index for f in frames] == list(range(stop))
    assert [which(f) for f in frames] == list(range(stop))
    assert f"cut.mp4: decoding failed at frame {stop}" in caplog.text


def test_decord_failing_mid_batch_keeps_the_frames_before_the_bad_one(clip, caplog):
    """A batch that decord cannot decode is retried frame by frame; decoding stops at the bad frame."""
    src = open_source(clip, backend="decord", batch_size=4)
    real = src._reader._vr

    class FailsAt11:
        def get_batch(self, idx):
            if 11 in idx:
                raise RuntimeError("simulated: av_read_frame failed")
            return real.get_batch(idx)

        def __getitem__(self, i):
            if i >= 11:
                raise RuntimeError("simulated: av_read_frame failed")
            return real[i]

    src._reader._vr = FailsAt11()
    with caplog.at_level(logging.WARNING, logger="posetrack.io.video"), src:
        frames = list(src)
        assert src.truncated_at == 11
    assert [which(f) for f in frames] == list(range(11))  # 8, 9, 10 come from the frame-by-frame retry
    assert "clip.mp4: decoding failed at frame 11 (simulated: av_read_frame failed)" in caplog.text
    assert "11 of 20 frames were read" in caplog.text


# ---------------------------------------------------------------- image folders

def test_natural_key_orders_numbers_by_value():
    names = ["frame10.jpg", "frame2.jpg", "frame1.jpg", "Frame3.jpg", "frame0002b.jpg"]
    assert sorted(names, key=natural_key) == ["frame1.jpg", "frame2.jpg", "frame0002b.jpg", "Frame3.jpg",
                                              "frame10.jpg"]


def write_folder(folder, n=12, names=lambda i: f"frame{i}.jpg"):
    return write_frames(folder, grey_frames(n), names)


def test_image_folder_in_natural_order_with_default_fps(tmp_path):
    folder = write_folder(tmp_path / "seq")
    (folder / "notes.txt").write_text("not an image")
    with open_source(folder) as src:
        assert src.backend == "images"
        assert src.info.fps == 25.0 and src.info.frames == 12
        assert (src.info.width, src.info.height) == (W, H)
        frames = list(src)
    assert [which(f) for f in frames] == list(range(12))  # frame10 after frame9, not after frame1


def test_image_folder_mixed_extensions_fps_and_range(tmp_path):
    folder = write_folder(tmp_path / "seq", names=lambda i: f"{i:03d}." + ("png" if i % 2 else "JPEG"))
    with open_source(folder, start=2, end=9, stride=3, folder_fps=30) as src:
        assert src.info.fps == 30
        assert [which(f) for f in src] == [2, 5, 8]


def test_empty_folder_is_a_clear_error(tmp_path):
    (tmp_path / "nothing").mkdir()
    with pytest.raises(ValueError, match=r"nothing: no images in this folder \(\.jpg"):
        open_source(tmp_path / "nothing")


def test_image_of_another_size_names_the_file(tmp_path):
    folder = write_folder(tmp_path / "seq", n=4)
    cv2.imwrite(str(folder / "frame2.jpg"), np.zeros((50, 50, 3), np.uint8))
    with open_source(folder) as src, pytest.raises(ValueError, match=r"frame2\.jpg: image is 50x50"):
        list(src)
