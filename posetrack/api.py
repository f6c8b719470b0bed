"""The Python API: what the ``posetrack`` command does, as functions with the same options.

* :func:`track` yields one :class:`TrackResult` per frame, lazily, as the video is read.
* :func:`run` does what ``posetrack run`` does: a tracks file (journaled, resumable),
  optionally an annotated video and PoseTrack exports.
* :func:`render` draws a tracks file onto its video.
* :func:`build_tracker` makes a FlowTrack :class:`~posetrack.tracking.tracker.PoseTracker` from a
  tracker config, with overrides.
* :func:`load_models` loads the networks once, to reuse them for many videos.

The options of :func:`track`, :func:`run` and :func:`load_models` are the keywords of
:class:`~posetrack.pipeline.options.RunOptions`, with the meaning of ``posetrack run``'s options of
the same name (``--pose-model`` is ``pose_model``; five differ: ``--detector`` is
``detector_name``, ``--boxes`` is ``boxes_file``, ``--input-format`` is ``boxes_format``,
``--tracker`` is ``tracker_mode``, ``--flow`` is ``flow_method``). An unknown name fails with the
closest valid one.

Example:
    >>> import posetrack
    >>> for result in posetrack.track("video.mp4", pose_model="w32_256x192"):   # doctest: +SKIP
    ...     print(result.frame, result.time, result.track_ids)
"""
from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Collection, Dict, Iterator, Optional, Tuple, Union

import numpy as np

from posetrack.errors import ConfigError, InputError
from posetrack.keypoints import KeypointLayout, get_layout
from posetrack.pipeline import runner
from posetrack.pipeline.configs import tracking_configs
from posetrack.pipeline.loading import Models
from posetrack.pipeline.options import RunOptions
from posetrack.pipeline.outputs import Outputs
from posetrack.pipeline.runner import RunSummary
from posetrack.rendering.draw import DrawStyle, draw_frame
from posetrack.rendering.render import RenderSummary, render_tracks
from posetrack.tracking.tracker import PoseTracker, TrackerConfig
from posetrack.tracksfile.codec import TrackFile, frame_to_dict
from posetrack.types import FrameResult, Poses

__all__ = ["TrackResult", "run_options", "track", "run", "load_models", "render", "build_tracker",
           "CLI_NAMES"]


PathLike = Union[str, Path]

# `posetrack run` options whose RunOptions field has another name (flag without "--" -> field).
CLI_NAMES = {"detector": "detector_name", "boxes": "boxes_file", "tracker": "tracker_mode", "flow": "flow_method",
             "input-format": "boxes_format"}


def _unknown(name: str, valid, what: str) -> ConfigError:
    """The error for an unknown keyword ``name``: its ``field`` is ``name`` itself, the setting the
    caller got wrong (the README's "every error names its setting in ``err.field``"); the suggested
    keyword, when there is one, follows in ``fields``."""
    if name in CLI_NAMES and CLI_NAMES[name] in valid:   # the command line's short name for the field
        close = [CLI_NAMES[name]]
    else:
        close = difflib.get_close_matches(name, list(valid), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return ConfigError(f"unknown {what} {name!r}{hint}; valid: {', '.join(sorted(valid))}", field=name,
                       fields=tuple(close))


def run_options(**options: Any) -> RunOptions:
    """A :class:`~posetrack.pipeline.options.RunOptions` from keyword options; unknown names fail with the closest one.

    Raises:
        ConfigError: an unknown option name, or a bad value (naming the option).
    """
    valid = set(RunOptions.keywords())
    for name in options:
        if name not in valid:
            raise _unknown(name, valid, "option")
    return RunOptions(**options)


@dataclass(frozen=True, eq=False)
class TrackResult:
    """The people of one frame, as :func:`track` yields them.

    Attributes:
        frame: 0-based frame index in the source.
        time: presentation time in seconds from the start of the source, or None when the
            source does not say.
        poses: the people's :class:`~posetrack.types.Poses`: ``boxes`` (N, 4) x1, y1,
            x2, y2, ``box_scores`` (N,), ``keypoints`` (N, K, 2) x, y and ``keypoint_scores``
            (N, K); float32, frame pixels.
        track_ids: (N,) int64 track ids, or None when tracking is off (``tracker_mode="none"``).
        layout: the keypoint layout (names, skeleton) of ``poses``.
        image: the decoded frame, (H, W, 3) uint8 RGB, or None. A result keeps its frame
            alive: keep ``to_dict()`` rather than the results to hold a long video's poses.
    """

    frame: int
    time: Optional[float]
    poses: Poses
    track_ids: Optional[np.ndarray]
    layout: KeypointLayout
    image: Optional[np.ndarray] = None

    @classmethod
    def from_result(cls, result: FrameResult, layout: KeypointLayout,
                    image: Optional[np.ndarray] = None) -> "TrackResult":
        """Wrap a pipeline :class:`~posetrack.types.FrameResult` (and its frame's image)."""
        return cls(frame=result.frame, time=result.time, poses=result.poses, track_ids=result.track_ids,
                   layout=layout, image=image)

    def __len__(self) -> int:
        return len(self.poses)

    @property
    def result(self) -> FrameResult:
        """The same people as the pipeline's :class:`~posetrack.types.FrameResult`."""
        return FrameResult(frame=self.frame, poses=self.poses, track_ids=self.track_ids, time=self.time)

    def to_dict(self) -> Dict[str, Any]:
        """This frame as an entry of the tracks file's ``frames`` list (schema in the README)."""
        return frame_to_dict(self.result)

    @property
    def orig_shape(self) -> Optional[Tuple[int, int]]:
        """(height, width) of the frame, or None when the result holds no image (Ultralytics' ``orig_shape``)."""
        return None if self.image is None else (int(self.image.shape[0]), int(self.image.shape[1]))

    @property
    def keypoints(self):
        """Ultralytics-style keypoints: ``.xy`` (N, K, 2), ``.conf`` (N, K), ``.xyn``, ``.data`` (posetrack.interop)."""
        from posetrack.interop import KeypointsView

        return KeypointsView(self.poses, self.orig_shape)

    @property
    def boxes(self):
        """Ultralytics-style boxes: ``.xyxy``, ``.xywh``, ``.conf``, ``.cls``, ``.id`` (track ids or None), ``.data``."""
        from posetrack.interop import BoxesView

        return BoxesView(self.poses, self.track_ids, self.orig_shape)

    def to_supervision(self):
        """``(supervision.KeyPoints, supervision.Detections)`` of this frame, track ids as ``tracker_id``
        (needs ``posetrack[supervision]``; see :func:`posetrack.interop.to_supervision`)."""
        from posetrack.interop import to_supervision

        return to_supervision(self.poses, self.track_ids)

    def plot(self, image: Optional[np.ndarray] = None, *, min_score: float = 0.3, boxes: bool = False,
             ids: bool = True, line_scale: float = 1.0) -> np.ndarray:
        """The frame with this result drawn on it, as ``posetrack render`` draws it.

        Args:
            image: (H, W, 3) uint8 RGB to draw on; None: the frame this result came from.
            min_score: joints scoring below this are hidden, with their limbs.
            boxes: draw each person's box.
            ids: write each person's track id above the head.
            line_scale: thicker (> 1) or thinner (< 1) lines than the size-based default.

        Returns:
            A new (H, W, 3) uint8 RGB image (``image`` is not changed); for OpenCV windows
            and files convert it with ``cv2.cvtColor(out, cv2.COLOR_RGB2BGR)``.

        Raises:
            InputError: no image given and the result holds none.
        """
        if image is None:
            if self.image is None:
                raise InputError(f"frame {self.frame}: this result holds no image; pass the frame to plot on")
            image = self.image
        style = DrawStyle(min_score=min_score, boxes=boxes, ids=ids, line_scale=line_scale)
        return draw_frame(image, self.result, self.layout, style)

    def __repr__(self) -> str:
        ids = None if self.track_ids is None else self.track_ids.tolist()
        when = "" if self.time is None else f", time={self.time:.3f}"
        return f"TrackResult(frame={self.frame}{when}, people={len(self)}, track_ids={ids})"


def load_models(**options: Any) -> Models:
    """Load the networks a run with these options needs (pose estimator, person detector), once.

    Pass the result as ``models=`` to :func:`track` or :func:`run` for many videos, with the
    same options. Missing weight files are downloaded first (all listed at once if that fails).

    Raises:
        ConfigError: an unknown option.
        MissingWeightsError, WeightsError, DeviceError: see :func:`posetrack.pipeline.loading.load_models`.
    """
    return runner.load_models(run_options(**options))


def track(source: PathLike, *, models: Optional[Models] = None, **options: Any) -> Iterator[TrackResult]:
    """Detect, estimate and track the people of a video or image folder, one frame at a time.

    Nothing is computed until the first result is asked for; the networks are loaded
    then (unless ``models`` is given) and the source is read as you iterate. Nothing is
    written (see :func:`run` for a tracks file).

    Args:
        source: a video file or a folder of images (natural sort order).
        models: networks from :func:`load_models` to reuse; loaded on the first result when None.
        **options: :class:`~posetrack.pipeline.options.RunOptions` keywords: ``pose_model``,
            ``pose_weights``, ``device``, ``boxes_file``, ``start``, ``end``, ``stride``, ...

    Yields:
        One :class:`TrackResult` per frame, in frame order.

    Raises:
        ConfigError: an unknown option (at once, before any iteration).
        SourceError, MissingWeightsError, WeightsError, DeviceError: while iterating; see
            :func:`posetrack.pipeline.runner.stream`.
    """
    opts = run_options(**options)
    return _track(source, opts, models)


def _track(source: PathLike, opts: RunOptions, models: Optional[Models]) -> Iterator[TrackResult]:
    models = models or runner.load_models(opts)
    layout = models.estimator.layout
    for frame, result in runner.stream(source, opts, models):
        yield TrackResult.from_result(result, layout, frame.image)


def run(source: PathLike, out: PathLike, *, render: Optional[PathLike] = None,
        posetrack2017: Optional[PathLike] = None, posetrack2018: Optional[PathLike] = None,
        posetrack21: Optional[PathLike] = None, posetrack21_gt: Optional[PathLike] = None,
        resume: bool = False, force: bool = False, models: Optional[Models] = None,
        progress: Optional[Callable[[int, int, float, int], None]] = None, **options: Any) -> RunSummary:
    """What ``posetrack run`` does: write the tracks file ``out`` (and optional extras) for a video.

    Every finished frame is journaled, so an interrupted run keeps its frames and
    ``resume=True`` completes the same file without doing a frame twice.

    Args:
        source: a video file or a folder of images.
        out: the tracks file (JSON, schema in the README).
        render: also write an annotated H.264 MP4 here.
        posetrack2017, posetrack2018: also write PoseTrack prediction files here.
        posetrack21: also write a PoseTrack21 prediction file here, its images copied from the
            sequence's GT file ``posetrack21_gt`` when given (else PoseTrack's id rule).
        resume: continue an interrupted run of the same ``out``.
        force: overwrite existing outputs (without it an existing output is an
            :class:`~posetrack.errors.OutputExistsError`; no output may be an input or another output).
        models: networks from :func:`load_models` to reuse.
        progress: called after every frame with (frames done, frames total, fps, people in the frame).
        **options: :class:`~posetrack.pipeline.options.RunOptions` keywords, as for :func:`track`.

    Returns:
        A :class:`~posetrack.pipeline.runner.RunSummary` (frames, tracks, seconds, per-stage times).
    """
    outputs = Outputs(Path(out), render=render, posetrack2017=posetrack2017, posetrack2018=posetrack2018,
                      posetrack21=posetrack21, posetrack21_gt=posetrack21_gt)
    return runner.run_video(source, outputs, run_options(**options), models=models, resume=resume, force=force,
                     progress=progress)


def render(source: PathLike, tracks: Union[TrackFile, PathLike], out: PathLike, *, start: Optional[int] = None,
           end: Optional[int] = None, stride: Optional[int] = None, only_ids: Optional[Collection[int]] = None,
           frames_dir: bool = False, codec: str = "h264", crf: int = 18, force: bool = False,
           allow_mismatch: bool = False, progress: Optional[Callable[[int, int], None]] = None,
           **style: Any) -> RenderSummary:
    """Draw a tracks file onto its video, as ``posetrack render`` does.

    Args:
        source: the video file or image folder the tracks were made from.
        tracks: a :class:`~posetrack.tracksfile.codec.TrackFile` or the path of a tracks file.
        out: the video to write (.mp4, .m4v, .mov, .mkv), or a folder for PNG frames with ``frames_dir``.
        start, end: render source frames ``start <= index < end`` (end None: to the end); both None (the
            default): the frames the tracks cover (:func:`~posetrack.rendering.render.tracks_range`).
        stride: render every N-th frame (the video plays at fps / N); None: the stride of the
            run that made the tracks.
        only_ids: draw only these track ids.
        frames_dir: write lossless PNG frames into the folder ``out`` instead of a video.
        codec: "h264" (plays everywhere) or "mpeg4" (for FFmpeg builds without H.264).
        crf: H.264 quality (lower is better and bigger; 18 looks like the source).
        force: overwrite ``out`` if it exists (a folder ``out`` counts when it holds frame PNGs).
        allow_mismatch: draw even if the tracks do not match the video (frame size, frame count).
        progress: called as ``progress(done, total)`` after every frame.
        **style: :class:`~posetrack.rendering.draw.DrawStyle` fields: ``min_score``, ``boxes``, ``ids``,
            ``trails``, ``line_scale``.

    Returns:
        A :class:`~posetrack.rendering.render.RenderSummary` (frames written, frames with people, truncation,
        the video drawn on and the stride).

    Raises:
        OutputExistsError: ``out`` exists and ``force`` is not set.
        PathConflictError: ``out`` is the source, the tracks file, or inside the source's folder of frames.
        MismatchError: the tracks do not match the video (each difference is listed), unless ``allow_mismatch``.
        ConfigError: an unknown style field.
        EncoderError: no encoder for ``codec`` in this FFmpeg build.
    """
    valid = {f.name for f in dataclasses.fields(DrawStyle)}
    for name in style:
        if name not in valid:
            raise _unknown(name, valid, "style field")
    return render_tracks(source, tracks, out, DrawStyle(**style), start=start, end=end, stride=stride,
                         only_ids=only_ids, frames_dir=frames_dir, codec=codec, crf=crf, force=force,
                         allow_mismatch=allow_mismatch, progress=progress)


def build_tracker(config: str = "tracker", *, preset: Optional[str] = None,
                  layout: Union[str, KeypointLayout] = "coco", fps: Optional[float] = None,
                  frame_size: Optional[Tuple[int, int]] = None, **overrides: Any):
    """A :class:`~posetrack.tracking.tracker.PoseTracker` from a tracker preset, with overrides.

    Args:
        config: a shipped config name (``tracker``) or a YAML path (README "Tracking").
        preset: ``robust`` (the default) or ``flowtrack`` (Xiao et al. 2018, as published),
            or one the YAML adds; None: the file's default.
        layout: the keypoint layout of the poses to track (a name or a
            :class:`~posetrack.keypoints.KeypointLayout`); its OKS sigmas are used.
        fps: frames per second of the frame indices given to ``update`` (lost tracks are kept
            ``max_lost`` seconds); None: 25.
        frame_size: (width, height) in pixels: box proposals are clipped to it and tracks
            predicted outside it end; None: not clipped.
        **overrides: :class:`~posetrack.tracking.tracker.TrackerConfig` fields: ``queue``,
            ``min_similarity``, ``matching``, ``motion``, ``box_score``, ``max_lost``, ...

    Returns:
        A new tracker (ids from 0); feed it with ``tracker.update(frame, poses, flow)``.

    Raises:
        ConfigError: an unknown config, preset, field or value.
    """
    valid = {f.name for f in dataclasses.fields(TrackerConfig)}
    for name in overrides:
        if name not in valid:
            raise _unknown(name, valid, "tracker setting")
    cfg, _ = tracking_configs(config, preset, overrides)
    return PoseTracker(get_layout(layout) if isinstance(layout, str) else layout, cfg, fps=fps,
                       frame_size=frame_size)
