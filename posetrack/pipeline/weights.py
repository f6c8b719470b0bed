"""Which weight files a run needs, and one up-front check that they are all here.

A run needs up to three files: the HRNet pose weights, the person detector's weights
(unless boxes come from a file) and RAFT's (only with ``flow.method: raft``). Without
this check an offline user would learn about them one failed run at a time. :func:`fetch_weights`
runs before any model is built: it downloads what is missing (a progress callback sees
the bytes) and, if some cannot be had, raises one :class:`~posetrack.errors.MissingWeightsError`
that lists every missing file with its URL, the path to put it at and its SHA-256.

After the first failed download the remaining files are not tried (the network is
down; each try could wait for a timeout) but are listed all the same.

Example:
    >>> from posetrack.pipeline.options import RunOptions
    >>> from posetrack.pipeline.weights import required_weights
    >>> [w.setting for w in required_weights(RunOptions(boxes_file="dets.json"))]   # doctest: +SKIP
    ['pose_weights']
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Mapping, Optional, Tuple

from posetrack.errors import MissingWeightsError
from posetrack.io.download import DownloadError, cache_path, download_url, hash_from_name, is_url
from posetrack.models.registry import load_model_config
from posetrack.pipeline.configs import detector_config, run_tracking
from posetrack.pipeline.options import RunOptions, RuntimeOptions

__all__ = ["WeightFile", "DownloadProgress", "required_weights", "missing_weights", "fetch_weights",
           "pose_weights_file", "detector_weights_file", "fetch_files"]

log = logging.getLogger(__name__)

DownloadProgress = Callable[[str, int, Optional[int]], None]
"""``progress(file_name, bytes_done, bytes_total_or_None)`` while a weights file downloads."""


@dataclass(frozen=True)
class WeightFile:
    """One weights file a run reads.

    Attributes:
        setting: the :class:`~posetrack.pipeline.options.RunOptions` keyword (or config key) that chooses
            the file: ``pose_weights``, ``detector_weights`` or ``flow.raft_weights``.
        what: which network it is for, in words.
        path: where it is read from: the local file given, or its place in the download cache.
        url: where it is downloaded from; None for a local file.
        sha256: its expected SHA-256 (full, or the prefix published in the file name), or None.
    """

    setting: str
    what: str
    path: Path
    url: Optional[str]
    sha256: Optional[str]

    @property
    def present(self) -> bool:
        """The file is here (at ``path``, or in torch.hub's own checkpoint folder)."""
        return _found(self) is not None

    @property
    def local_path(self) -> Optional[Path]:
        """Where the file is on this machine (``path``, or torch.hub's copy), or None when it is not here."""
        return _found(self)


def _found(wf: WeightFile) -> Optional[Path]:
    if wf.path.is_file():
        return wf.path
    if wf.url is None:
        return None
    import torch.hub  # reason: imports torch. torchvision's own downloads land here and are reused in place

    hub = Path(torch.hub.get_dir()) / "checkpoints" / wf.path.name
    return hub if hub.is_file() else None


def _remote(setting: str, what: str, url: str, sha256: Optional[str]) -> WeightFile:
    return WeightFile(setting=setting, what=what, path=cache_path(url), url=url, sha256=sha256)


def _local_or_remote(setting: str, what: str, source: str, sha256: Optional[str]) -> WeightFile:
    if is_url(source):
        return _remote(setting, what, source, sha256 if sha256 is not None else hash_from_name(source))
    return WeightFile(setting=setting, what=what, path=Path(source).expanduser(), url=None, sha256=sha256)


def required_weights(opts: RunOptions) -> Tuple[WeightFile, ...]:
    """Every weights file a run with ``opts`` reads, in the order the run loads them.

    A pose model without published weights and no ``pose_weights`` needs no file here
    (building it fails with its own message).

    Raises:
        ConfigError: a config or override is invalid (unknown model, detector, flow method).
    """
    pose = pose_weights_file(opts.models.pose_model, opts.models.pose_weights)
    detector = detector_config(opts.models, RuntimeOptions())    # its name; the precision does not matter here
    _, flow = run_tracking(opts.tracking)
    files = [pose, detector_weights_file(detector, opts.models.detector_weights), _raft_weights(flow)]
    return tuple(wf for wf in files if wf is not None)


def pose_weights_file(pose_model: str, pose_weights: Optional[str]) -> Optional[WeightFile]:
    """The weights file of pose model ``pose_model`` (a config name or YAML path) with ``pose_weights``.

    ``pose_weights`` is a name from the model config (``coco``), a path or a URL; None: the
    config's default weights. None when there is neither (the model has no published weights).

    Raises:
        ConfigError: an unknown model config (the shipped pose models are listed).
    """
    cfg = load_model_config(pose_model)
    weights = pose_weights or cfg.default_weights
    if weights is None:
        return None
    what = f"HRNet {cfg.name}"
    if weights in cfg.weights:
        spec = cfg.weights[weights]
        return _remote("pose_weights", f"{what}, {weights} weights", spec.url, spec.sha256)
    return _local_or_remote("pose_weights", what, weights, None)


def detector_weights_file(detector, detector_weights: Optional[str]) -> Optional[WeightFile]:
    """The weights file of ``detector`` (a :class:`~posetrack.pose.detector.DetectorConfig`, or None: no detector).

    ``detector_weights`` is a local path or URL; None: torchvision's published weights for its name.
    """
    if detector is None:
        return None
    what = f"person detector {detector.name}"
    if detector_weights:
        return _local_or_remote("detector_weights", what, detector_weights, None)
    from torchvision.models import get_model_weights   # reason: imports torch

    url = get_model_weights(detector.name).DEFAULT.url
    return _remote("detector_weights", what, url, hash_from_name(url))


def _raft_weights(flow) -> Optional[WeightFile]:
    if flow is None or flow.method != "raft":
        return None
    what = f"RAFT {flow.raft_model} optical flow"
    if flow.raft_weights:
        return _local_or_remote("flow.raft_weights", what, flow.raft_weights, None)
    from torchvision.models import optical_flow   # reason: imports torch

    enum = {"small": optical_flow.Raft_Small_Weights, "large": optical_flow.Raft_Large_Weights}
    url = enum[flow.raft_model].DEFAULT.url
    return _remote("flow.raft_weights", what, url, hash_from_name(url))


def missing_weights(opts: RunOptions) -> Tuple[WeightFile, ...]:
    """The files of :func:`required_weights` that are not here yet (nothing is downloaded)."""
    return tuple(wf for wf in required_weights(opts) if not wf.present)


def _listing(files) -> str:
    lines = []
    for wf in files:
        head = f"  {wf.setting} ({wf.what}): "
        if wf.url is None:
            why = "a folder, not a weights file" if wf.path.is_dir() else "no such file"
            lines.append(head + f"{wf.path}: {why}")
            continue
        check = f"  (SHA-256 {'starts with ' if len(wf.sha256) < 64 else ''}{wf.sha256})" if wf.sha256 else ""
        lines.append(head + f"{wf.url}\n      -> {wf.path}{check}")
    return "\n".join(lines)


def missing_error(files, reason: str, notes: Optional[Mapping[str, str]] = None) -> MissingWeightsError:
    """The error listing ``files`` (:class:`WeightFile`), with why they could not be had.

    ``notes`` maps a setting to a sentence added when one of ``files`` is chosen by it (another
    way round that file).
    """
    n = len(files)
    remote = any(wf.url is not None for wf in files)
    settings = ", ".join(dict.fromkeys(wf.setting for wf in files))
    advice = ("Download each file on a machine with internet access and put it at the path after '->' "
              "(or in the folder $POSETRACK_CACHE names), or, if you already have a copy, pass its path in the "
              f"setting its line starts with ({settings})." if remote else
              f"Pass the path of an existing file in the setting its line starts with ({settings}).")
    extra = [notes[wf.setting] for wf in files if notes and wf.setting in notes]
    message = (f"{n} weight file{'s' if n > 1 else ''} missing ({reason}):\n{_listing(files)}\n{advice}"
               + "".join(" " + line for line in dict.fromkeys(extra)))
    return MissingWeightsError(message, tuple((wf.setting, wf.url, str(wf.path), wf.sha256) for wf in files))


# A run can do without the detector's weights: boxes from a file replace the detector.
_RUN_NOTES = {"detector_weights": "Precomputed person boxes (boxes_file: a COCO detection-results JSON, MOTChallenge "
                                  "det.txt, ...) need no detector, so no detector weights."}


def fetch_weights(opts: RunOptions, *, download: bool = True,
                  progress: Optional[DownloadProgress] = None) -> Tuple[Path, ...]:
    """Make sure every weights file of a run is here, downloading the missing ones; call before building models.

    Args:
        opts: the run's choices.
        download: False never touches the network: missing files are only reported.
        progress: ``progress(file_name, bytes_done, bytes_total_or_None)`` while downloading.

    Returns:
        The local path of each file of :func:`required_weights`, in order.

    Raises:
        MissingWeightsError: files are missing and could not be downloaded; the message
            lists all of them with URL, destination and SHA-256, and ``missing`` holds one
            ``(setting, url, destination, sha256)`` tuple each.
        WeightsError: a download arrived with the wrong SHA-256 (it was deleted).
        ConfigError: see :func:`required_weights`.
    """
    files = required_weights(opts)
    return fetch_files(files, download=download, progress=progress, notes=_RUN_NOTES)


def fetch_files(files, *, download: bool = True, progress: Optional[DownloadProgress] = None,
                notes: Optional[Mapping[str, str]] = None) -> Tuple[Path, ...]:
    """:func:`fetch_weights` for any :class:`WeightFile` list (``posetrack export``'s pose and detector weights).

    Args:
        files: the files to make sure of.
        download, progress: as :func:`fetch_weights`.
        notes: sentences added to the missing-files error, by setting (see :func:`missing_error`).

    Returns:
        The local path of each file, in order.

    Raises:
        MissingWeightsError, WeightsError: as :func:`fetch_weights`.
    """
    failed: List[WeightFile] = []
    reason: Optional[str] = None
    offline = False     # no connection at all: do not wait for each remaining download to time out
    for wf in files:
        if wf.present:
            continue
        if wf.url is None or not download or offline:
            failed.append(wf)
            continue
        report = None if progress is None else (lambda done, total, name=wf.path.name: progress(name, done, total))
        try:
            download_url(wf.url, sha256=wf.sha256, progress=report)
        except DownloadError as e:  # only a network failure means "missing"; a bad hash is its own error
            reason = e.reason
            offline = e.offline               # a 404 says nothing of the other files; no connection does
            log.debug("download of %s failed: %s", wf.url, reason)
            failed.append(wf)
    if failed:
        if reason is None:
            reason = "downloading is turned off" if any(wf.url for wf in failed) and not download else "not found"
        raise missing_error(failed, reason, notes)
    return tuple(_found(wf) for wf in files)
