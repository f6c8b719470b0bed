"""The boxes file (``--boxes``): COCO detection results as msgspec types.

Read by :func:`posetrack.pose.detector.load_boxes` through :func:`decode_boxes`; documented in the
README ("The boxes file"). An entry's own keys are ``image_id``, ``bbox``, ``score`` and
``category_id``; the other keys of COCO's annotation and result formats (``id``, ``area``,
``iscrowd``, ``segmentation``, ``keypoints``, ``num_keypoints``) and PoseTrack's ``track_id`` are
allowed and skipped. A key that is a near miss of an entry key (``categroy_id``, ``scores``) is an
error naming the closest one, because reading past it would change the result (a misspelled
``category_id`` would make every box a person); any other key is skipped with one warning.
"""
from __future__ import annotations

import difflib
import logging
from typing import Annotated, Dict, List, Optional, Union

import msgspec
from msgspec import Meta

from posetrack.errors import InputError
from posetrack.validation import MAX_FRAMES, Coord, Int64, decode_json, path_labeler, unknown_key_message

__all__ = ["BoxEntry", "decode_boxes", "near_miss", "ENTRY_KEYS", "NEAR_MISS"]

log = logging.getLogger(__name__)

_Skipped = Union[msgspec.Raw, msgspec.UnsetType]


class BoxEntry(msgspec.Struct, gc=False, forbid_unknown_fields=True):
    """One COCO detection result: ``image_id`` is the 0-based frame index, ``bbox`` is x, y, w, h."""

    image_id: Annotated[int, Meta(ge=0, lt=MAX_FRAMES)]
    bbox: Annotated[List[Coord], Meta(min_length=4, max_length=4)]
    score: Annotated[float, Meta(ge=0.0, le=1.0)]
    category_id: Optional[Int64] = None
    # Other keys of COCO annotations and results, and PoseTrack's track id: allowed, not decoded.
    id: _Skipped = msgspec.UNSET
    area: _Skipped = msgspec.UNSET
    iscrowd: _Skipped = msgspec.UNSET
    segmentation: _Skipped = msgspec.UNSET
    keypoints: _Skipped = msgspec.UNSET
    num_keypoints: _Skipped = msgspec.UNSET
    track_id: _Skipped = msgspec.UNSET


class _AnyKeysEntry(BoxEntry, forbid_unknown_fields=False):
    """The same entry with other keys skipped (read after the one warning about them)."""


#: The keys an entry is read by; a near miss of one of them is an error.
ENTRY_KEYS = ("image_id", "bbox", "score", "category_id")
#: How close (difflib's ratio) an unknown key must be to an entry key to count as its misspelling:
#: "box" (0.86), "scores" (0.91), "imageid" (0.93), "categroy_id" (0.91) are; "image" (0.77) is not.
NEAR_MISS = 0.8

BOXES_LABELER = path_labeler()


def decode_boxes(raw: bytes, source: str, error: type = InputError) -> List[BoxEntry]:
    """The entries of a boxes file's bytes (a JSON list), validated.

    Raises:
        ``error``: a schema violation (named by entry and field), or a key that is a near miss of an
            entry key (the message names the entry and the closest key).
    """
    try:
        return msgspec.json.decode(raw, type=List[BoxEntry])
    except (msgspec.ValidationError, msgspec.DecodeError):
        pass
    extra = _other_keys(raw)
    near = {k: i for k, i in extra.items() if near_miss(k)}
    if near:
        key, i = min(near.items(), key=lambda item: item[1])
        raise error(f"{source}: entry {i}: {unknown_key_message(key, ENTRY_KEYS)}")
    if not extra:       # another schema error: named by entry and field
        return decode_json(raw, msgspec.json.Decoder(List[BoxEntry]), source, BOXES_LABELER, error)
    entries = decode_json(raw, msgspec.json.Decoder(List[_AnyKeysEntry]), source, BOXES_LABELER, error)
    log.warning("%s: skipped key%s %s (an entry is read by %s)", source, "s" if len(extra) > 1 else "",
                ", ".join(map(repr, sorted(extra)[:5])) + (", ..." if len(extra) > 5 else ""), ", ".join(ENTRY_KEYS))
    return entries


def near_miss(key: str) -> Optional[str]:
    """The entry key (:data:`ENTRY_KEYS`) that ``key``, not one of them, is a misspelling of (case aside); else None."""
    close = difflib.get_close_matches(key.lower(), ENTRY_KEYS, n=1, cutoff=NEAR_MISS)
    return close[0] if close and key not in ENTRY_KEYS else None


def _other_keys(raw: bytes) -> Dict[str, int]:
    """Keys of the file's entries that an entry does not declare -> the first entry holding each ({} if unreadable)."""
    try:
        items = msgspec.json.decode(raw, type=List[Dict[str, msgspec.Raw]])
    except (msgspec.ValidationError, msgspec.DecodeError):
        return {}
    known = set(BoxEntry.__struct_fields__)
    found: Dict[str, int] = {}
    for i, item in enumerate(items):
        for key in item.keys() - known:
            found.setdefault(key, i)
    return found
