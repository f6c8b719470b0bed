"""Rendering end to end: a synthetic video with known tracks in, an H.264 MP4 decoded back out.

The inputs (make_clip, make_tracks) are in helpers/render_data.py, shared with test_render_cli.py.
"""
import logging
from fractions import Fraction

import cv2
import numpy as np
import pytest

from posetrack.io import encode
from posetrack.rendering.draw import DrawStyle, track_color
from posetrack.io.encode import EncoderNotFoundError, Mp4Writer, PngFramesWriter, frame_rate, open_writer
from posetrack.keypoints import COCO
from posetrack.rendering.render import Renderer, check_tracks_match, render_video, select_ids
from posetrack.types import Frame, FrameResult, VideoInfo
from posetrack.io.video import open_source
from helpers.render_data import EMPTY_FRAME, FPS, H, IDS, N, W, background, make_clip, make_tracks, people_at
from helpers.videos import decode, decoded_times

STYLE = DrawStyle(line_scale=3.0)  # joints 9 px across: their colour survives yuv420p's half-size chroma


def source_frames(path):
    with open_source(path) as src:
        return [f.image for f in src]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    d = tmp_path_factory.mktemp("render")
    clip = make_clip(d / "clip.mp4")
    out = d / "annotated.mp4"
    with open_source(clip) as src:
        summary = render_video(src, make_tracks(), open_writer(out, src.info.fps, (W, H)), STYLE)
    return clip, out, summary


# ---------------------------------------------------------------- the rendered video

def test_output_is_h264_yuv420p_with_the_source_size_rate_and_count(rendered):
    _, out, summary = rendered
    codec, pix_fmt, w, h, rate, frames = decode(out)
    assert (codec, pix_fmt) == ("h264", "yuv420p")
    assert (w, h) == (W, H) and rate == FPS
    assert len(frames) == N == summary.frames
    assert summary.frames_with_people == N - 1 and summary.truncated_at is None


def test_output_starts_with_its_index_so_browsers_can_stream_it(rendered):
    head = rendered[1].read_bytes()[:64]
    assert head[4:8] == b"ftyp" and b"moov" in head  # faststart: moov before mdat


def test_joints_carry_the_track_colour(rendered):
    _, out, _ = rendered
    frames = decode(out)[5]
    for i in (0, 7, N - 1):
        for kp, tid in zip(people_at(i), IDS):
            want = np.array(track_color(tid))
            others = [np.array(track_color(t)) for t in IDS if t != tid]
            for k in (COCO.index("left_shoulder"), COCO.index("right_hip"), COCO.index("left_ankle")):
                x, y = kp[k].astype(int)
                got = frames[i][y, x].astype(int)
                assert np.abs(got - want).max() < 30, (i, tid, k, got, want)
                assert all(np.abs(got - want).sum() < np.abs(got - o).sum() for o in others)


def test_a_frame_without_people_is_unchanged_apart_from_encoding(rendered):
    clip, out, _ = rendered
    src, dst = source_frames(clip), decode(out)[5]
    diff = np.abs(src[EMPTY_FRAME].astype(int) - dst[EMPTY_FRAME].astype(int))
    assert diff.mean() < 3 and diff.max() < 20
    busy = np.abs(src[EMPTY_FRAME + 1].astype(int) - dst[EMPTY_FRAME + 1].astype(int))
    assert busy.max() > 100  # the check above would see people if they were drawn


def test_ntsc_frame_rate_is_kept_exactly(tmp_path):
    fps = 30000 / 1001
    with Mp4Writer(tmp_path / "ntsc.mp4", fps, (64, 48)) as w:
        for i in range(5):
            w.write(background(i, 64, 48))
    assert decode(tmp_path / "ntsc.mp4")[4] == Fraction(30000, 1001)


@pytest.mark.parametrize("fps, want", [(25, Fraction(25)), (29.97002997, Fraction(30000, 1001)),
                                       (12.5, Fraction(25, 2)), (59.94005994, Fraction(60000, 1001))])
def test_frame_rate_fractions(fps, want):
    assert frame_rate(fps) == want


@pytest.mark.parametrize("fps", [0, -1, float("nan"), float("inf")])
def test_frame_rate_rejects_nonsense(fps):
    with pytest.raises(ValueError, match="frame rate"):
        frame_rate(fps)


# ---------------------------------------------------------------- encoders and writers

def test_odd_sizes_are_padded_to_even_with_a_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="posetrack.io.encode"):
        with Mp4Writer(tmp_path / "odd.mp4", FPS, (63, 47)) as w:
            for i in range(3):
                w.write(background(i, 63, 47))
    codec, _, width, height, _, frames = decode(tmp_path / "odd.mp4")
    assert (codec, width, height, len(frames)) == ("h264", 64, 48, 3)
    assert "63x47 frames are padded to 64x48" in caplog.text
    # the padding repeats the last column, so it looks like its neighbour
    assert np.abs(frames[0][:, 63].astype(int) - frames[0][:, 62].astype(int)).mean() < 4


def test_a_frame_of_the_wrong_size_names_the_frame(tmp_path):
    with Mp4Writer(tmp_path / "x.mp4", FPS, (64, 48)) as w:
        w.write(background(0, 64, 48))
        with pytest.raises(ValueError, match=r"frame 1 is .*\(40, 40, 3\), the video is 64x48"):
            w.write(np.zeros((40, 40, 3), np.uint8))


def test_missing_h264_encoder_is_a_clear_error_naming_the_fallbacks(tmp_path, monkeypatch):
    monkeypatch.setitem(encode.CODECS, "h264", ("no_such_h264_encoder",))
    with pytest.raises(EncoderNotFoundError, match=r'no h264 encoder.*codec="mpeg4".*frames_dir'):
        open_writer(tmp_path / "x.mp4", FPS, (64, 48))
    assert not (tmp_path / "x.mp4").exists()


def test_mpeg4_fallback_writes_a_playable_mp4_and_warns(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="posetrack.io.encode"):
        with open_writer(tmp_path / "m.mp4", FPS, (64, 48), codec="mpeg4") as w:
            for i in range(4):
                w.write(background(i, 64, 48))
    codec, _, width, height, rate, frames = decode(tmp_path / "m.mp4")
    assert (codec, width, height, rate, len(frames)) == ("mpeg4", 64, 48, FPS, 4)
    assert "not in most browsers" in caplog.text


def test_unknown_codec_and_extension_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="choose one of: h264, mpeg4"):
        open_writer(tmp_path / "x.mp4", FPS, (64, 48), codec="vp9")
    with pytest.raises(ValueError, match=r"unknown video extension '\.gif'.*frames_dir"):
        open_writer(tmp_path / "x.gif", FPS, (64, 48))


def test_png_frames_are_lossless_and_named_by_frame_index(tmp_path):
    image = np.random.default_rng(0).integers(0, 255, (48, 64, 3), np.uint8)
    with open_writer(tmp_path / "pngs", FPS, (64, 48), frames_dir=True) as w:
        assert isinstance(w, PngFramesWriter)
        w.write(image, 17)
    back = cv2.imread(str(tmp_path / "pngs" / "frame_000017.png"))[..., ::-1]
    assert np.array_equal(back, image)


def test_png_writer_refuses_a_file_as_folder(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError, match="not a folder"):
        PngFramesWriter(tmp_path / "f")


# ---------------------------------------------------------------- matching tracks to video

def test_matching_tracks_report_nothing():
    assert check_tracks_match(VideoInfo("v", FPS, W, H, N), make_tracks()) == []


def test_mismatches_say_what_differs():
    problems = check_tracks_match(VideoInfo("v", FPS, 640, 480, 8), make_tracks())
    assert problems[0] == "size: the video is 640x480, the tracks are for 320x240"
    assert problems[1] == f"frame count: the video has 8 frames, the tracks file says {N}"
    assert problems[2] == "frames: the tracks have 4 frames past the video's end (first 8, the video ends at 7)"
    assert len(problems) == 3


# ---------------------------------------------------------------- Renderer and render_video

class ListWriter:
    def __init__(self):
        self.images, self.indices, self.times, self.closed = [], [], [], False

    def write(self, image, index=None, time=None):
        self.images.append(image)
        self.indices.append(index)
        self.times.append(time)

    def close(self):
        self.closed = True


def test_select_ids_keeps_only_the_asked_ids():
    r = make_tracks().frames[0]
    only8 = select_ids(r, {8})
    assert only8.track_ids.tolist() == [8] and np.array_equal(only8.poses.keypoints[0], r.poses.keypoints[1])
    assert select_ids(r, None) is r
    untracked = FrameResult(0, r.poses, None)
    assert len(select_ids(untracked, {3})) == 0


def test_renderer_draws_only_the_selected_ids():
    tracks = make_tracks()
    writer = ListWriter()
    with Renderer(writer, COCO, STYLE, only_ids=[8]) as r:
        image = r.add(Frame(0, background(0)), tracks.frames[0])
    assert writer.closed and writer.indices == [0]
    kp3, kp8 = people_at(0)
    x, y = kp8[COCO.index("left_hip")].astype(int)
    assert tuple(image[y, x]) == track_color(8)
    x, y = kp3[COCO.index("left_hip")].astype(int)
    assert tuple(image[y, x]) == tuple(background(0)[y, x])


def test_renderer_to_file_renders_while_frames_come(tmp_path):
    """What `posetrack run --render` uses: frames and results one at a time, no second decode."""
    tracks = make_tracks()
    with Renderer.to_file(tmp_path / "live.mp4", VideoInfo("v", FPS, W, H, N), COCO, STYLE) as r:
        for result in tracks.frames[:6]:
            r.add(Frame(result.frame, background(result.frame)), result)
    codec, _, w, h, rate, frames = decode(tmp_path / "live.mp4")
    assert (codec, w, h, rate, len(frames)) == ("h264", W, H, FPS, 6)


def test_renderer_refuses_people_of_another_frame():
    with pytest.raises(ValueError, match="frame 1 was given the people of frame 0"):
        Renderer(ListWriter(), COCO).add(Frame(1, background(1)), make_tracks().frames[0])


class FakeSource:
    """A lazy source that records how far it ran ahead of the writer."""

    def __init__(self, n, writer):
        self.indices, self.truncated_at, self.writer, self.lead = list(range(n)), None, writer, 0

    def __iter__(self):
        for i in self.indices:
            self.lead = max(self.lead, i - len(self.writer.images))
            yield Frame(i, background(i))


def test_render_video_streams_frame_by_frame():
    writer = ListWriter()
    source = FakeSource(N, writer)
    summary = render_video(source, make_tracks(), writer, STYLE)
    assert summary.frames == N and len(writer.images) == N
    assert source.lead == 0  # never more than the one frame in hand


def test_start_end_and_progress():
    writer, calls = ListWriter(), []
    render_video(FakeSource(N, writer), make_tracks(), writer, STYLE, start=3, end=7,
                 progress=lambda done, total: calls.append((done, total)))
    assert writer.indices == [3, 4, 5, 6]
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_interrupted_render_leaves_a_playable_video(tmp_path):
    clip = make_clip(tmp_path / "clip.mp4")

    def stop_after_five(done, total):
        if done == 5:
            raise KeyboardInterrupt

    with open_source(clip) as src, pytest.raises(KeyboardInterrupt):
        render_video(src, make_tracks(), open_writer(tmp_path / "part.mp4", FPS, (W, H)), STYLE,
                     progress=stop_after_five)
    codec, _, _, _, _, frames = decode(tmp_path / "part.mp4")
    assert codec == "h264" and len(frames) == 5


def test_partial_tracks_render_with_a_warning(caplog):
    writer = ListWriter()
    tracks = make_tracks(skip=range(6, N), complete=False)
    with caplog.at_level(logging.WARNING, logger="posetrack.rendering.render"):
        summary = render_video(FakeSource(N, writer), tracks, writer, STYLE)
    assert summary.frames == N and summary.frames_with_people == 6
    assert "partial" in caplog.text
    assert np.array_equal(writer.images[8], background(8))


def test_a_truncated_source_is_reported(tmp_path):
    writer = ListWriter()
    source = FakeSource(N, writer)
    source.indices = list(range(6))
    source.truncated_at = 6
    summary = render_video(source, make_tracks(), writer, STYLE)
    assert summary.truncated_at == 6 and summary.frames == 6


# ---------------------------------------------------------------- timing (issue 11: outputs keep the source's timing)

def test_a_stride_render_plays_at_fps_over_n(tmp_path):
    """Every 3rd frame of a 25 fps source: the video runs at 25/3 fps, each frame at its source time."""
    info = VideoInfo("v", FPS, W, H, N)
    with Renderer.to_file(tmp_path / "s3.mp4", info, COCO, STYLE, stride=3) as r:
        for i in range(0, N, 3):
            r.add(Frame(i, background(i)), None)                      # no times (an image folder)
    rate, times = decoded_times(tmp_path / "s3.mp4")
    assert rate == Fraction(25, 3)
    assert times == pytest.approx([i / FPS for i in range(0, N, 3)], abs=1e-4)


def test_a_variable_frame_rate_source_keeps_its_timing(tmp_path):
    """Frame 10 of a clip with 33 ms then 200 ms gaps is shown at its true time (0.497 s), within one frame."""
    from helpers.videos import VFR_TIMES

    info = VideoInfo("v", 10.0, W, H, len(VFR_TIMES))
    with Renderer.to_file(tmp_path / "vfr.mp4", info, COCO, STYLE) as r:
        for i, t in enumerate(VFR_TIMES):
            r.add(Frame(i, background(i), t), None)
    _, times = decoded_times(tmp_path / "vfr.mp4")
    assert len(times) == len(VFR_TIMES)
    assert times[10] == pytest.approx(VFR_TIMES[10], abs=0.033)       # within one frame, as asked
    assert times == pytest.approx(VFR_TIMES, abs=1e-4)                # in fact to the clock tick


def test_a_render_from_the_middle_starts_at_zero_and_keeps_the_gaps(tmp_path):
    with open_writer(tmp_path / "mid.mp4", FPS, (W, H)) as w:
        for i, t in [(50, 2.0), (51, 2.04), (53, 2.12)]:
            w.write(background(i), i, time=t)
    _, times = decoded_times(tmp_path / "mid.mp4")
    assert times == pytest.approx([0.0, 0.04, 0.12], abs=1e-4)


def test_times_that_do_not_increase_still_make_a_valid_video(tmp_path):
    with open_writer(tmp_path / "odd.mp4", FPS, (W, H)) as w:
        for i, t in enumerate([0.0, 0.04, 0.04, 0.02, float("nan"), 0.2]):
            w.write(background(i), i, time=t)
    _, times = decoded_times(tmp_path / "odd.mp4")
    assert len(times) == 6 and times == sorted(times) and len(set(times)) == 6


def test_mpeg4_keeps_the_timing_too(tmp_path):
    from helpers.videos import VFR_TIMES

    with open_writer(tmp_path / "vfr4.mp4", 10.0, (W, H), codec="mpeg4") as w:
        for i, t in enumerate(VFR_TIMES):
            w.write(background(i), i, time=t)
    _, times = decoded_times(tmp_path / "vfr4.mp4")
    assert times == pytest.approx(VFR_TIMES, abs=1e-4)


def test_one_pixel_frames_render(tmp_path):
    """sz_1x1: a 1x1 video renders (padded to 2x2, which H.264 needs)."""
    with Renderer.to_file(tmp_path / "dot.mp4", VideoInfo("v", FPS, 1, 1, 3), COCO, STYLE) as r:
        for i in range(3):
            r.add(Frame(i, np.full((1, 1, 3), 120, np.uint8)), None)
    codec, _, w, h, _, frames = decode(tmp_path / "dot.mp4")
    assert (codec, w, h, len(frames)) == ("h264", 2, 2, 3)
    assert abs(int(frames[0].mean()) - 120) <= 3


def test_partial_tracks_of_a_cut_video_match_it():
    """A run on a cut-off file stops early: its partial tracks count fewer frames than the header says."""
    short = make_tracks(n=6, frames=6, complete=False)
    assert check_tracks_match(VideoInfo("v", FPS, W, H, N), short) == []
    # a complete file of the first 6 frames covers part of the video (issue 17): a match too; more frames do not
    assert check_tracks_match(VideoInfo("v", FPS, W, H, N), make_tracks(n=6, frames=6)) == []
    assert check_tracks_match(VideoInfo("v", FPS, W, H, 5), make_tracks(n=6, frames=6)) != []


def test_a_live_source_of_unknown_length_is_not_counted():
    assert check_tracks_match(VideoInfo("rtsp://cam", FPS, W, H, None, live=True), make_tracks()) == []
