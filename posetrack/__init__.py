"""posetrack: find, estimate, track, score and draw human poses in video.

HRNet (Sun et al., CVPR 2019) estimates keypoints in person boxes; a FlowTrack-style
tracker (Xiao et al., 2018) links them across frames with optical flow and OKS.

Example (downloads the default weights once; every option of ``posetrack run`` is a
keyword, see :mod:`posetrack.api`)::

    import posetrack

    for result in posetrack.track("video.mp4"):
        print(result.frame, result.time, result.track_ids)   # index, seconds, ids
        keypoints = result.poses.keypoints                     # (people, 17, 2) frame pixels
        annotated = result.plot()                              # RGB frame with the skeletons

    posetrack.run("video.mp4", "tracks.json")                  # what `posetrack run` does
    posetrack.render("video.mp4", "tracks.json", "annotated.mp4", trails=10)

Scores against PoseTrack ground truth: ``posetrack.evaluate("gt/", "pred/").to_json()``.
Ids fixed by hand (what ``posetrack edit`` and the review page do), recorded in the file and undoable::

    fixed = posetrack.edit.apply(tracks, [posetrack.edit.Swap(3, 5, start=120), posetrack.edit.Merge(3, 8)])

Everything is imported on first use (a module ``__getattr__``): ``import posetrack`` and
``posetrack --help`` never import torch or OpenCV.

The package reads like the pipeline, one subpackage per stage (imports only go downward):
``io`` (sources, writers, downloads), ``models`` (HRNet, backends), ``pose`` (detector, crops,
heatmaps, estimator), ``tracking`` (tracker, motion, flow, refinement), ``eval`` (PoseTrack
scoring), ``rendering`` (drawing), ``tracksfile`` (the output format, journal, exports, hand edits)
and ``pipeline`` (options, runner, many videos), with ``review`` (the ``posetrack review`` page) and
``training`` (``posetrack train``: the official HRNet recipe, :mod:`posetrack.training`) beside it.
The names below are the public API.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

# name -> module that defines it; imported on first access (PEP 562), so that ``import posetrack``
# and ``posetrack --help`` import neither torch nor OpenCV.
_EXPORTS = {
    "track": "posetrack.api",
    "run": "posetrack.api",
    "render": "posetrack.api",
    "load_models": "posetrack.api",
    "build_tracker": "posetrack.api",
    "run_options": "posetrack.api",
    "TrackResult": "posetrack.api",
    "evaluate": "posetrack.eval.evaluate",
    "EvalResult": "posetrack.eval.evaluate",
    "Renderer": "posetrack.rendering.render",
    "RunOptions": "posetrack.pipeline.options",
    "RunSummary": "posetrack.pipeline.runner",
    "read_tracks": "posetrack.tracksfile.codec",
    "write_tracks": "posetrack.tracksfile.codec",
    "TrackFile": "posetrack.tracksfile.codec",
    "Poses": "posetrack.types",
    "FrameResult": "posetrack.types",
    "missing_weights": "posetrack.pipeline.weights",
    "fetch_weights": "posetrack.pipeline.weights",
    "PosetrackError": "posetrack.errors",
}

# Modules exposed under a short name: ``posetrack.edit.swap(tracks, 3, 5, 120)``.
_MODULES = {"edit": "posetrack.tracksfile.edit"}

__all__ = ["__version__", *_EXPORTS, *_MODULES]


def __getattr__(name: str):
    if name in _MODULES:
        module = importlib.import_module(_MODULES[name])
        globals()[name] = module
        return module
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS) | set(_MODULES))
