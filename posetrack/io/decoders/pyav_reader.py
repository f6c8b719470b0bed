"""PyAV (FFmpeg) reader: files and network streams, exact timestamps, cut-off and damage detection."""
from __future__ import annotations

import re
from typing import Iterator, List, Optional, Tuple

from posetrack.io.decoders.common import (STREAM_TIMEOUT, OpenFailed, FrameFailed, Selection, fps_or_default,
                                          log, reason_of)
from posetrack.types import Frame, VideoInfo


class _Damaged(Exception):
    """The container marks a packet damaged or cut off, or the video ends before its stated duration."""


class PyAVReader:
    """PyAV (FFmpeg): sequential decoding with exact timestamps; files, and http(s)/rtsp/rtmp streams.

    ``info.frames`` is the container's frame count; when the container states none (Matroska,
    WebM, raw streams) the packets are counted without decoding. A live stream's length is
    unknown (None) unless its container states one.
    """

    name = "pyav"

    def __init__(self, target: str, live: bool = False):
        self._target = target
        self.live = live
        self._pending = None                  # a live source's probe container, reused by the first read
        container = self._open()
        try:
            stream = self._video_stream(container)
            cc = stream.codec_context
            width, height = int(cc.width or 0), int(cc.height or 0)
            rate = stream.average_rate or stream.guessed_rate
            frames = int(stream.frames or 0) or None
            self._duration = _stated_duration(stream) if frames is None and not live else None
            self.count_estimated = False
            if frames is None and not live:
                frames, latest = self._count_packets(container, stream)
                start = float(stream.start_time * stream.time_base) if stream.start_time is not None \
                    and stream.time_base else 0.0
                frames = self._estimate_cut_count(frames, [t - start for t in latest], float(rate or 0), target)
            elif not live and _edit_list_hides_frames(stream, frames, float(rate or 0)):
                frames = self._count_packets(container, stream)[0]      # the frames the edit list shows
            tb = stream.time_base
            self._t0 = float(stream.start_time * tb) if stream.start_time is not None and tb and not live else None
        except OpenFailed:
            container.close()
            raise
        except Exception as e:  # av.FFmpegError and PyAV's ValueErrors while probing
            container.close()
            raise OpenFailed(reason_of(e)) from None
        if width <= 0 or height <= 0:
            container.close()
            raise OpenFailed("the video stream states no frame size")
        if live:
            self._pending = container
        else:
            container.close()
        if frames is not None and frames <= 0:
            raise OpenFailed("no video frames")
        self.exact_count = frames is not None and not live
        self.info = VideoInfo(target, fps_or_default(float(rate or 0), target), width, height, frames, live)

    def _open(self):
        import av

        try:
            return av.open(self._target, timeout=STREAM_TIMEOUT if self.live else None)
        except (av.FFmpegError, OSError, ValueError) as e:
            raise OpenFailed(reason_of(e)) from None

    @staticmethod
    def _video_stream(container):
        if not container.streams.video:
            raise OpenFailed("no video stream")
        return container.streams.video[0]

    @staticmethod
    def _count_packets(container, stream) -> Tuple[int, List[float]]:
        """Frames of a container that states no count: its video packets, read without decoding.

        Returns the count and the two latest packet times (seconds, ascending; fewer when unknown).
        """
        import av

        n, latest = 0, []
        tb = stream.time_base
        try:
            for packet in container.demux(stream):
                if packet.size > 0 and not getattr(packet, "is_discard", False):   # hidden by an edit list
                    n += 1
                    if packet.pts is not None and tb:
                        latest = sorted(latest + [float(packet.pts * tb)])[-2:]
        except av.FFmpegError:
            pass  # a damaged tail: the decode finds the frame where it stops
        return n, latest

    def _estimate_cut_count(self, counted: int, latest: List[float], rate: float, target: str) -> int:
        """The frame count of a file whose packets were counted: ``counted``, unless it is cut off.

        A file that states its duration (Matroska, WebM) but whose packets end more than two
        frame intervals before it was cut off (a download or recording that stopped): its
        length is then estimated from the duration and the frame rate (as an MP4's header
        still counts the frames it lost), so boxes for the lost frames are not an error,
        and ``count_estimated`` is set. Decoding stops where the data ends, with a warning.
        """
        if self._duration is None or not latest:
            return counted
        gap = max(1.0 / rate if rate > 0 else 0.0, latest[-1] - latest[0] if len(latest) == 2 else 0.0, 1e-3)
        if latest[-1] + 2 * gap >= self._duration:
            return counted
        self.count_estimated = True
        estimate = max(counted, int(round(self._duration * rate))) if rate > 0 else counted
        log.debug("%s: the packets end at %.3f s, the header says %.3f s: cut off; about %d frames", target,
                 latest[-1], self._duration, estimate)
        return estimate

    def read(self, sel: Selection, batch_size: int) -> Iterator[List[Frame]]:
        import av

        container, self._pending = self._pending or self._open(), None
        try:
            stream = self._video_stream(container)
            stream.thread_type = "AUTO"  # frame and slice threads: several times faster on H.264
            t0, index, frames, times = self._t0, -1, [], []
            try:
                for vf in _decode(container, stream):
                    index += 1
                    t = vf.time
                    if t is not None and (t0 is None or index == 0 and t < t0):
                        t0 = t   # times count from the first frame shown (or the stated start, if earlier)
                    times.append(None if t is None else t - t0)
                    if sel.past(index):
                        return
                    if index not in sel:
                        continue
                    frames.append(Frame(index, vf.to_ndarray(format="rgb24"), times[-1]))
                    if len(frames) == batch_size:
                        yield frames
                        frames = []
                    if sel.done(index):
                        break
                if self.info.frames is not None and index >= self.info.frames - 1 or not sel.done(index):
                    self._check_duration(times)   # reached the end of the file (as far as it was counted)
            except (av.FFmpegError, _Damaged) as e:
                if frames:
                    yield frames
                raise FrameFailed(index + 1, reason_of(e)) from None
            if frames:
                yield frames
        finally:
            container.close()

    def _check_duration(self, times: List[Optional[float]]) -> None:
        """A file that states its duration but not its frame count (Matroska, WebM) and stops early is cut off."""
        if self._duration is None or len(times) < 2 or times[-1] is None or times[-2] is None:
            return
        gap = max(times[-1] - times[-2], 1e-3)
        if times[-1] + 2 * gap < self._duration:
            raise _Damaged(f"the video ends at {times[-1] + gap:.3f} s, its header says {self._duration:.3f} s")

    def close(self) -> None:
        if self._pending is not None:
            self._pending.close()
            self._pending = None


def _decode(container, stream):
    """The decoded frames of ``stream`` in order; raises _Damaged at a packet the demuxer marks
    damaged (a file cut mid-frame), after the frames the decoder still held."""
    import av

    for packet in container.demux(stream):
        if packet.is_corrupt:
            yield from _held_before(stream, packet)
            raise _Damaged("the data of the next frame is damaged or cut off")
        try:
            frames = packet.decode()
        except av.FFmpegError as e:   # with frame threads the error comes before frames decoded earlier
            yield from _held_before(stream, packet)
            raise _Damaged(reason_of(e)) from None
        yield from frames


def _held_before(stream, packet):
    """Frames the decoder still holds that come before ``packet`` (after it, one would be missing)."""
    import av

    try:
        held = stream.codec_context.decode(None)
    except av.FFmpegError:
        return
    yield from (f for f in held if packet.pts is not None and f.pts is not None and f.pts < packet.pts)


def _edit_list_hides_frames(stream, frames: int, rate: float) -> bool:
    """Whether an MP4/MOV edit list shows fewer frames than the file holds.

    A clip cut by stream copy (``ffmpeg -ss S -i in.mp4 -c copy``) keeps the packets from the keyframe
    before S and hides the ones before S with an edit list; FFmpeg marks them discarded and never
    shows them, while the header's frame count still includes them (AlphaPose #1173: 30 stated, 25
    shown). FFmpeg takes the stream's duration from the edit list, so it is then more than a frame
    shorter than the stated count at the stated rate.
    """
    if stream.duration is None or not stream.time_base or rate <= 0:
        return False
    return frames > float(stream.duration * stream.time_base) * rate + 1.5


def _stated_duration(stream) -> Optional[float]:
    """The video stream's duration in seconds from Matroska's per-track DURATION tag ("00:00:01.120000000")."""
    tag = (stream.metadata or {}).get("DURATION")
    m = re.match(r"^(\d+):(\d+):(\d+(?:\.\d+)?)$", tag or "")
    return None if m is None else int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])
