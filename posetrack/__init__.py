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

Everything is imported on first use (a module ``__getattr__``): ``import posetrack`` and
``posetrack --help`` never import torch or OpenCV.

``posetrack.render`` and ``posetrack.evaluate`` are also the modules of those names
(:mod:`posetrack.render`, :mod:`posetrack.evaluate`); calling them calls
:func:`posetrack.api.render` and :func:`posetrack.evaluate.evaluate`.
"""
from __future__ import annotations

import importlib
import sys
import types

__version__ = "0.1.0"

# name -> module that defines it; imported on first access.
_EXPORTS = {
    "track": "posetrack.api",
    "run": "posetrack.api",
    "load_models": "posetrack.api",
    "build_tracker": "posetrack.api",
    "run_options": "posetrack.api",
    "TrackResult": "posetrack.api",
    "RunOptions": "posetrack.runner",
    "RunSummary": "posetrack.runner",
    "read_tracks": "posetrack.tracks_io",
    "write_tracks": "posetrack.tracks_io",
    "TrackFile": "posetrack.tracks_io",
    "Poses": "posetrack.structures",
    "FrameResult": "posetrack.structures",
    "missing_weights": "posetrack.weights",
    "fetch_weights": "posetrack.weights",
    "PosetrackError": "posetrack.errors",
}

# Submodules that are also called as functions: name -> (module, function) the call goes to.
_CALLABLE = {
    "render": ("posetrack.api", "render"),
    "evaluate": ("posetrack.evaluate", "evaluate"),
}

__all__ = ["__version__", *_EXPORTS, *_CALLABLE]


class _CallableModule(types.ModuleType):
    """A submodule that can be called as the function of the same name (``posetrack.render(...)``)."""

    def __call__(self, *args, **kwargs):
        module, function = _CALLABLE[self.__name__.rpartition(".")[2]]
        return getattr(importlib.import_module(module), function)(*args, **kwargs)


class _Package(types.ModuleType):
    """The package module: makes the submodules in ``_CALLABLE`` callable whenever they are imported.

    Importing ``posetrack.render`` (from anywhere) sets it as an attribute of this package;
    that is the one moment every import passes through.
    """

    def __setattr__(self, name: str, value) -> None:
        if name in _CALLABLE and type(value) is types.ModuleType:
            value.__class__ = _CallableModule
        super().__setattr__(name, value)


def __getattr__(name: str):
    if name in _CALLABLE:
        return importlib.import_module(f"{__name__}.{name}")   # the import sets the (callable) attribute
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS) | set(_CALLABLE))


sys.modules[__name__].__class__ = _Package
