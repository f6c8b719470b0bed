"""Fetch weight files into a local cache, hash-checked, with a clear way out when offline.

Where files go (first that applies):

1. ``$POSETRACK_CACHE``
2. ``$TORCH_HOME/posetrack``
3. ``$XDG_CACHE_HOME/torch/posetrack``
4. ``~/.cache/torch/posetrack``

This follows torch's own ``TORCH_HOME`` rule, so a machine already set up for torch
keeps our files next to torch's. A file that torchvision itself already downloaded
into ``torch.hub``'s checkpoint folder is reused in place instead of fetched again.

Only ``urllib`` is used. Downloads stream into a ``.partial`` file in the cache folder,
are checked against the expected SHA-256 (a full digest or a prefix of at least 8 hex
characters, as in torchvision's ``name-<hash>.pth`` and mmpose's ``name-<hash>_date.pth``
file names) and are then renamed into place, so an interrupted download never leaves
a file that looks complete.
"""
from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Callable, Optional, Union

from posetrack.errors import WeightsError

__all__ = [
    "CACHE_ENV",
    "CheckpointError",
    "DownloadError",
    "Progress",
    "cache_path",
    "cache_root",
    "download_url",
    "file_sha256",
    "hash_from_name",
    "is_url",
    "verify_sha256",
]

log = logging.getLogger(__name__)

CACHE_ENV = "POSETRACK_CACHE"

Progress = Callable[[int, Optional[int]], None]
"""``progress(done_bytes, total_bytes)``; ``total_bytes`` is None when the server does not say."""

_CHUNK = 1 << 20
_HEX = re.compile(r"[0-9a-f]{8,64}")
# torchvision: "fasterrcnn_resnet50_fpn_v2_coco-dd69338a.pth"; mmpose: "hrnet_w32_coco_256x192-c78dce93_20200708.pth"
_NAME_HASH = re.compile(r"-([0-9a-f]{8,64})[._]")
# What goes wrong on the network side; local disk errors are left as they are.
_NETWORK_ERRORS = (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError)


class CheckpointError(WeightsError):
    """A weights file cannot be fetched, read or matched to a model; the message says what to do.

    Defined here, the lowest layer, and re-exported by :mod:`posetrack.models.checkpoint`.
    """


class DownloadError(CheckpointError):
    """A file could not be downloaded (no connection, a refused connection, an HTTP error, a cut transfer).

    Attributes:
        url: what was asked for.
        reason: the network's answer, e.g. "HTTP Error 404: Not Found" or "[Errno 111] Connection refused".
        offline: True when the server could not be reached at all (then other downloads from it
            will fail the same way); False for an answer about this one file (an HTTP error).
    """

    def __init__(self, message: str, url: str, reason: str, offline: bool):
        super().__init__(message)
        self.url, self.reason, self.offline = url, reason, offline


def is_url(source: Union[str, os.PathLike]) -> bool:
    """True for ``http://`` and ``https://`` sources (``file://`` and paths are local)."""
    return isinstance(source, str) and source.split("://", 1)[0].lower() in ("http", "https")


def cache_root(override: Union[str, os.PathLike, None] = None) -> Path:
    """The folder weights are cached in (see the module docstring for the order of precedence)."""
    if override is not None:
        return Path(override).expanduser()
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    if os.environ.get("TORCH_HOME"):
        return Path(os.environ["TORCH_HOME"]).expanduser() / "posetrack"
    xdg = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(xdg).expanduser() / "torch" / "posetrack"


def _file_name(url: str) -> str:
    name = os.path.basename(urllib.parse.urlparse(url).path)
    if not name:
        raise CheckpointError(f"cannot tell a file name from the URL {url!r}")
    return name


def cache_path(url: str, cache_dir: Union[str, os.PathLike, None] = None) -> Path:
    """Where the file behind ``url`` lives in the cache (its URL file name inside :func:`cache_root`)."""
    return cache_root(cache_dir) / _file_name(url)


def hash_from_name(url_or_name: str) -> Optional[str]:
    """The SHA-256 prefix embedded in a torchvision or mmpose file name, or None if there is none."""
    match = _NAME_HASH.search(os.path.basename(urllib.parse.urlparse(url_or_name).path))
    return match.group(1) if match else None


def file_sha256(path: Union[str, os.PathLike]) -> str:
    """Hex SHA-256 of a file, read in chunks so large checkpoints do not fill memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _normalise_hash(sha256: Optional[str]) -> Optional[str]:
    if sha256 is None:
        return None
    value = sha256.strip().lower()
    if not _HEX.fullmatch(value):
        raise CheckpointError(f"expected SHA-256 must be 8 to 64 hex characters, got {sha256!r}")
    return value


def verify_sha256(path: Union[str, os.PathLike], sha256: Optional[str], hint: str = "") -> None:
    """Check a file against an expected SHA-256 (full, or a prefix of >= 8 hex characters); None skips.

    Raises:
        CheckpointError: the digests differ; the message gives both, then ``hint``.
    """
    expected = _normalise_hash(sha256)
    if expected is None:
        return
    actual = file_sha256(path)
    if not actual.startswith(expected):
        raise CheckpointError(f"{path} has SHA-256 {actual}, expected {expected}"
                              f"{'...' if len(expected) < 64 else ''}{'; ' + hint if hint else ''}")


def _torch_hub_copy(name: str) -> Optional[Path]:
    """A file of this name that torch.hub (torchvision's own downloader) already cached, if any."""
    try:
        import torch.hub
    except ImportError:  # pragma: no cover - torch is a dependency
        return None
    candidate = Path(torch.hub.get_dir()) / "checkpoints" / name
    return candidate if candidate.is_file() else None


def _reason(error: BaseException) -> str:
    """'HTTP Error 404: Not Found', '[Errno 111] Connection refused', 'timed out', ..."""
    if isinstance(error, urllib.error.URLError) and not isinstance(error, urllib.error.HTTPError):
        error = error.reason
    return str(error) or type(error).__name__


def _offline_message(url: str, dest: Path, reason: str) -> str:
    return (f"could not download {url} ({reason}). Download it on a machine with internet access and put it at "
            f"{dest}, or load a local copy instead")


def _stream(url: str, out, timeout: float, progress: Optional[Progress]) -> str:
    """Copy the response body of ``url`` into ``out``; returns the hex SHA-256 of what was written."""
    request = urllib.request.Request(url, headers={"User-Agent": "posetrack"})
    digest = hashlib.sha256()
    with urllib.request.urlopen(request, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        done = 0
        if progress:
            progress(0, total)
        for chunk in iter(lambda: response.read(_CHUNK), b""):
            out.write(chunk)
            digest.update(chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
    if total is not None and done != total:
        raise http.client.IncompleteRead(b"", total - done)
    return digest.hexdigest()


def _fetch(url: str, dest: Path, expected: Optional[str], timeout: float, progress: Optional[Progress],
           earlier: str = "") -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=dest.name + ".", suffix=".partial")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                actual = _stream(url, out, timeout, progress)
            except _NETWORK_ERRORS as e:
                reason = _reason(e) + (f"; earlier: {earlier}" if earlier else "")
                raise DownloadError(_offline_message(url, dest, reason), url, _reason(e),
                                    offline=not isinstance(e, urllib.error.HTTPError)) from e
        if expected is not None and not actual.startswith(expected):
            raise CheckpointError(f"the file downloaded from {url} has SHA-256 {actual}, expected {expected}"
                                  f"{'...' if len(expected) < 64 else ''}; it was deleted. The server may have "
                                  "replaced the file, or the expected hash is wrong"
                                  + (f" (earlier: {earlier})" if earlier else ""))
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def download_url(url: str, *, sha256: Optional[str] = None, cache_dir: Union[str, os.PathLike, None] = None,
                 progress: Optional[Progress] = None, timeout: float = 30.0, allow_download: bool = True) -> Path:
    """The local path of ``url``'s file: from the cache if present, else downloaded into it.

    A cached file is re-checked against ``sha256`` every time: a copy in our cache that fails is
    removed (with a warning saying so) and downloaded again, so a corrupt cache never stays.

    Args:
        url: an http(s) URL; its last path component names the cached file.
        sha256: expected SHA-256, full or a prefix of at least 8 hex characters; None skips the check.
        cache_dir: overrides :func:`cache_root`'s choice.
        progress: called as ``progress(done_bytes, total_bytes_or_None)`` while downloading.
        timeout: seconds to wait for the server at each step.
        allow_download: False only looks in the caches (for offline use).

    Raises:
        DownloadError: the download failed (the message names the path to put the file at by hand).
        CheckpointError: the file's hash differs from ``sha256``.
    """
    expected = _normalise_hash(sha256)
    dest = cache_path(url, cache_dir)
    removed = ""
    for cached in (dest, _torch_hub_copy(dest.name)):
        if cached is None or not cached.is_file():
            continue
        try:
            verify_sha256(cached, expected)
        except CheckpointError as e:
            if cached == dest:   # our own cache: a bad copy is deleted, then fetched again
                cached.unlink(missing_ok=True)
                removed = f"{e}; the cached file was removed"
            else:                # torch.hub's folder is not ours to clean: skip its copy
                removed = f"{e}; that copy (torch.hub's cache) is not used"
            log.warning("%s", removed)
            continue
        log.debug("using cached %s", cached)
        return cached
    if not allow_download:
        reason = "downloading is turned off" + (f"; {removed}" if removed else "")
        raise CheckpointError(_offline_message(url, dest, reason))
    log.info("downloading %s to %s", url, dest)
    _fetch(url, dest, expected, timeout, progress, earlier=removed)
    return dest
