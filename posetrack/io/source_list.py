"""Many sources from a command line: paths, glob patterns, list files and folders, as one ordered list.

What each item may be (tried in this order):

* a text file listing sources (suffix ``.txt``, ``.list`` or ``.lst``, or any file written
  ``@file``): one source or glob pattern per line; blank lines and lines starting with ``#`` are skipped;
  relative paths are relative to the list file's folder;
* a folder holding images: one image sequence (the PoseTrack layout of one sequence);
* a folder holding videos and/or sub-folders of images: each video file and each such
  sub-folder is one source (a folder of videos; a PoseTrack ``images/val/`` folder);
* an existing file: one video;
* a glob pattern (``*``, ``?``, ``[``, ``**`` recursive): every match, each expanded as above;
* a URL (``scheme://...``): passed through as one source.

Folder contents and glob matches come in natural order (``clip2`` before ``clip10``); the
list keeps the order items were given and drops repeats of the same path. Nothing that
does not resolve is skipped silently: :func:`expand_sources` names every such item in one
error.

Example:
    >>> from posetrack.io.source_list import expand_sources
    >>> expand_sources(["match.mp4", "clips/*.avi", "PoseTrack/images/val"])   # doctest: +SKIP
    ['match.mp4', 'clips/a.avi', 'clips/b.avi', 'PoseTrack/images/val/000342_mpii_test', ...]
"""
from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Iterable, List, Sequence, Tuple

from posetrack.errors import SourceError
from posetrack.io.video import IMAGE_SUFFIXES, natural_key

__all__ = ["VIDEO_SUFFIXES", "LIST_SUFFIXES", "expand_sources", "is_url"]

# Container suffixes taken as videos when a folder is listed (OpenCV/FFmpeg read all of them).
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ts",
                  ".mts", ".m2ts", ".3gp", ".ogv")
LIST_SUFFIXES = (".txt", ".list", ".lst")
_GLOB_CHARS = ("*", "?", "[")


def is_url(item: str) -> bool:
    """``rtsp://...``, ``https://...``: a stream or remote file, passed through untouched."""
    head, sep, _ = item.partition("://")
    return bool(sep) and head.isalpha()


def _visible(folder: Path) -> List[Path]:
    return sorted((p for p in folder.iterdir() if not p.name.startswith(".")), key=lambda p: natural_key(p.name))


def _has_images(folder: Path) -> bool:
    return any(p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES for p in folder.iterdir())


def _folder(folder: Path) -> Tuple[List[str], str]:
    """A folder's sources: itself if it holds images, else its videos and image sub-folders."""
    if _has_images(folder):
        return [str(folder)], ""
    found = [str(p) for p in _visible(folder)
             if (p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES) or (p.is_dir() and _has_images(p))]
    if not found:
        return [], (f"{folder}: no images, no videos ({', '.join(VIDEO_SUFFIXES[:4])}, ...) and no sub-folders "
                    "of images in this folder")
    return found, ""


def _list_file(path: Path, depth: int) -> Tuple[List[str], List[str]]:
    """Sources named by a list file, each line expanded like a command-line item."""
    found, errors = [], []
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        return [], [f"{path}, line {line}: not UTF-8 text (invalid byte {raw[e.start]:#04x}); "
                    "a list file holds one path or URL per line"]
    for number, line in enumerate(text.splitlines(), 1):
        item = line.strip()
        if not item or item.startswith("#"):
            continue
        if not is_url(item) and not os.path.isabs(item):
            item = str(path.parent / item)
        more, errs = _expand(item, depth + 1)
        found += more
        errors += [f"{path}, line {number}: {e}" for e in errs]
    if not found and not errors:
        errors.append(f"{path}: the list file names no sources")
    return found, errors


def _expand(item: str, depth: int = 0) -> Tuple[List[str], List[str]]:
    """(sources, errors) of one command-line item."""
    if is_url(item):
        return [item], []
    as_list = item.startswith("@")
    path = Path(item[1:] if as_list else item)
    if path.is_file() and (as_list or path.suffix.lower() in LIST_SUFFIXES):
        if depth > 4:
            return [], [f"{path}: list files nested more than 4 deep (a list that names itself?)"]
        return _list_file(path, depth)
    if path.is_dir():
        found, error = _folder(path)
        return found, [error] if error else []
    if path.is_file():
        return [str(path)], []
    if any(c in item for c in _GLOB_CHARS):
        matches = sorted(glob.glob(item, recursive=True), key=natural_key)
        if not matches:
            return [], [f"{item}: the pattern matches nothing"]
        found, errors = [], []
        for m in matches:
            if Path(m).is_dir() or Path(m).suffix.lower() in VIDEO_SUFFIXES:
                more, errs = _expand(m, depth)
                found, errors = found + more, errors + errs
        if not found and not errors:
            errors.append(f"{item}: the pattern matches no videos and no folders")
        return found, errors
    return [], [f"{path}: no such file or folder"]


def _unique(sources: Iterable[str]) -> List[str]:
    seen, out = set(), []
    for s in sources:
        key = s if is_url(s) else os.path.realpath(s)
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out


def expand_sources(items: Sequence[str]) -> List[str]:
    """Expand command-line items into an ordered list of sources (video files, image folders, URLs).

    Args:
        items: paths, glob patterns, list files (``.txt``/``.list``/``.lst`` or ``@file``),
            folders, URLs; see the module docstring.

    Returns:
        Source paths as strings, in the order given (folder contents and glob matches in
        natural order), each path once.

    Raises:
        SourceError: one or more items resolved to nothing; the message lists every one.
    """
    found, errors = [], []
    for item in items:
        more, errs = _expand(str(item))
        found += more
        errors += errs
    if errors:
        raise SourceError("; ".join(errors) if len(errors) < 4 else
                          f"{len(errors)} sources did not resolve:\n  " + "\n  ".join(errors))
    if not found:
        raise SourceError("no sources given")
    return _unique(found)
