"""Frame decoders behind :func:`posetrack.io.video.open_source`: PyAV, decord, OpenCV, cameras and image folders.

Every reader has the same small interface: ``info`` (a :class:`VideoInfo`), ``name``,
``exact_count`` (True when ``info.frames`` comes from the container's index, so a shorter
decode means the file is cut off), ``count_estimated`` (True when ``info.frames`` is an
estimate: a cut-off Matroska file's stated duration times its frame rate), ``read(selection, batch_size)`` yielding lists of
:class:`Frame` in index order, and ``close()``. At a frame a video reader cannot decode it
yields what it has and raises :class:`FrameFailed`; an image folder raises
:class:`SourceError` naming the image.

Frame times (``Frame.time``, seconds from the start of the source) come from the
container's presentation timestamps: PyAV's ``frame.pts * time_base``, decord's
``get_frame_timestamp``, OpenCV's ``CAP_PROP_POS_MSEC`` (all three agree to the
millisecond on a variable-frame-rate test clip, tests/test_video.py). Cameras are timed by
the monotonic clock when a frame arrives. Image folders carry no times (None): their
frame rate is an assumption (``folder_fps``), not a fact about the frames.

The decoders' own logging (FFmpeg's "[h264 @ 0x...]" lines) is switched off: what went
wrong reaches the user as one warning or error naming the file and frame.
"""

from posetrack.io.decoders.common import (DEFAULT_FOLDER_FPS, IMAGE_SUFFIXES, STREAM_TIMEOUT, FrameFailed,
                                          OpenFailed, Selection, list_images, natural_key, reason_of)
from posetrack.io.decoders.decord_reader import DecordReader
from posetrack.io.decoders.image_folder import ImageFolderReader
from posetrack.io.decoders.opencv_readers import CameraReader, OpenCVReader
from posetrack.io.decoders.pyav_reader import PyAVReader

__all__ = ["Selection", "FrameFailed", "OpenFailed", "PyAVReader", "DecordReader", "OpenCVReader",
           "CameraReader", "ImageFolderReader", "IMAGE_SUFFIXES", "DEFAULT_FOLDER_FPS", "STREAM_TIMEOUT",
           "list_images", "natural_key", "reason_of"]
