"""Typed, strict decoding of every JSON input: one pass of msgspec, one plain-words error line.

Each input format is a tree of ``msgspec.Struct`` types (PoseTrack 2017 / 2018 files here,
the tracks file in :mod:`posetrack.tracks_io`, the boxes file in :mod:`posetrack.detect`,
YAML configs in :mod:`posetrack.config`). msgspec decodes and validates in a single pass in C
(about 3x faster than the stdlib ``json`` parse alone on PoseTrack files, measured by
``benchmarks/json_decode_speed.py``), so strictness costs nothing:

* wrong types are errors (a string, list, object or ``true`` where a number belongs; a
  fractional track id), never coerced;
* ``NaN`` / ``Infinity`` are not JSON and are refused; so are numbers that overflow a float
  (``1e400``, a 400-digit integer) and numbers outside a field's range (:data:`MAX_COORD`,
  int64 track ids);
* fixed-length arrays must have exactly their length (a box of one value is not four values);
* invalid UTF-8 anywhere in the file is refused.

:func:`decode_json` turns every failure into the format's ``FormatError`` subclass with one
line ``"FILE: frame 3 (images/.../000003.jpg), annorect 1, point 2, x: expected a number,
got a string"``: the msgspec path (``$.annolist[3].annorect[1]...``) is translated by a
per-format *labeler* that reads the frame's own index or image name from a lenient re-parse
of the file (done only on the error path).

Example:
    >>> import msgspec
    >>> from posetrack.schema import Coord, decode_json, path_labeler
    >>> class Box(msgspec.Struct):
    ...     bbox: list[Coord]
    >>> decode_json(b'{"bbox": [1, "2"]}', msgspec.json.Decoder(Box), "b.json", path_labeler())
    Traceback (most recent call last):
    ...
    posetrack.errors.FormatError: b.json: bbox[1]: expected a number, got a string
"""
from __future__ import annotations

import json
import re
import sys
from typing import Annotated, Any, Callable, Dict, List, Literal, Optional, Sequence, Tuple, Type, TypeVar, Union

import msgspec
from msgspec import Meta

from .errors import FormatError, InputError

__all__ = ["MAX_COORD", "INT64_MAX", "MAX_FRAMES", "Coord", "Finite", "Int64", "NonNegInt64", "PositiveFinite", "NonNegFinite",
           "Segment", "Labeler", "decode_json", "short_repr", "convert", "path_labeler", "message_of", "NonFinite"]

#: Largest absolute pixel coordinate accepted anywhere (keypoints, boxes, ignore regions). No video
#: frame is within a factor 10 of it (8K is 7680 wide); values beyond come from corrupt files, and
#: they overflow the int32 drawing coordinates of OpenCV.
MAX_COORD = 1e5
INT64_MAX = 2 ** 63 - 1
#: Frame indexes in a boxes file, and frame strides: 10 million frames is 4.6 days at 25 fps; a larger
#: index is corrupt (and would make the per-frame table enormous).
MAX_FRAMES = 10_000_000
_FLOAT_MAX = sys.float_info.max

#: A pixel coordinate: finite, within +-MAX_COORD.
Coord = Annotated[float, Meta(ge=-MAX_COORD, le=MAX_COORD)]
#: Any finite float (scores, which may be logits).
Finite = Annotated[float, Meta(ge=-_FLOAT_MAX, le=_FLOAT_MAX)]
NonNegFinite = Annotated[float, Meta(ge=0.0, le=_FLOAT_MAX)]
PositiveFinite = Annotated[float, Meta(gt=0.0, le=_FLOAT_MAX)]
#: An integer that fits int64 (track ids: poseval and numpy keep them in int64).
Int64 = Annotated[int, Meta(ge=-INT64_MAX - 1, le=INT64_MAX)]
NonNegInt64 = Annotated[int, Meta(ge=0, le=INT64_MAX)]

T = TypeVar("T")

#: One step of a msgspec error path: a field name or a list index.
Segment = Union[str, int]
#: ``labeler(path, document) -> "frame 3, person 0, bbox"``; ``document`` is the leniently
#: parsed file (or None when even that fails), used to look up frame numbers and names.
Labeler = Callable[[List[Segment], Any], str]

_TYPE_WORDS = {"float": "a number", "int": "an integer", "str": "a string", "array": "a list", "object": "an object",
               "null": "null", "bool": "true or false", "NonFinite": "Infinity or NaN (not JSON numbers)"}
_PATH_RE = re.compile(r"^(.*) - at `\$(.*)`$", re.S)
_SEGMENT_RE = re.compile(r"\.([^.\[]+)|\[(-?\d+)\]|\[(.*?)\]")


class NonFinite:
    """Stands for ``Infinity`` / ``NaN`` in a lenient re-parse, so their place can be named."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _words(type_text: str, got: bool = False) -> str:
    """'`float | array | null`' -> 'a number, a list or null' (a float that was *given* is 'a float')."""
    names = [t.strip(" `") for t in type_text.split("|")]
    words = ["a float" if got and n == "float" else _TYPE_WORDS.get(n, n) for n in names]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def message_of(text: str) -> str:
    """msgspec's 'Expected `float`, got `str`' in plain words: 'expected a number, got a string'."""
    m = re.match(r"Expected (`[^`]*`), got (`[^`]*`)$", text)
    if m:
        return f"expected {_words(m.group(1))}, got {_words(m.group(2), got=True)}"
    m = re.match(r"Expected `array` of length (\d+)(, got \d+)?$", text)
    if m:
        return f"expected a list of exactly {m.group(1)} value{'s' if m.group(1) != '1' else ''}{m.group(2) or ''}"
    m = re.match(r"Expected `array` of length ([<>]=?) (\d+)(, got \d+)?$", text)
    if m:
        bound = {"<=": "at most", ">=": "at least", "<": "fewer than", ">": "more than"}[m.group(1)]
        return f"expected a list of {bound} {m.group(2)} value{'s' if m.group(2) != '1' else ''}{m.group(3) or ''}"
    m = re.match(r"Expected `(\w+)` ([<>]=?) (\S+)$", text)
    if m:
        return f"expected {_words(m.group(1))} {m.group(2)} {m.group(3)}"
    m = re.match(r"Object missing required field `(\w+)`$", text)
    if m:
        return f"missing required field '{m.group(1)}'"
    m = re.match(r"Invalid enum value (.*)$", text)
    if m:
        return f"{m.group(1).strip('`')} is not an allowed value"
    if text == "Number out of range":
        return "number out of range (too large for a float, or beyond the field's limit)"
    return text[:1].lower() + text[1:].replace("`", "'")


def _segments(path: str) -> List[Segment]:
    out: List[Segment] = []
    for name, index, key in _SEGMENT_RE.findall(path):
        out.append(int(index) if index else (name or key))
    return out


def _lenient(raw: bytes) -> Any:
    """The document as plain Python (Infinity/NaN kept as :class:`NonFinite`), or None."""
    try:
        return json.loads(raw.decode("utf-8", errors="replace"), parse_constant=NonFinite)
    except (ValueError, RecursionError):
        return None


def _find_non_finite(doc: Any, path: List[Segment]) -> Optional[List[Segment]]:
    if isinstance(doc, NonFinite):
        return path
    if isinstance(doc, dict):
        items = doc.items()
    elif isinstance(doc, list):
        items = enumerate(doc)
    else:
        return None
    for key, value in items:
        found = _find_non_finite(value, path + [key])
        if found is not None:
            return found
    return None


def _location(raw: bytes, pos: int) -> str:
    line = raw.count(b"\n", 0, pos) + 1
    col = pos - (raw.rfind(b"\n", 0, pos) + 1) + 1
    return f"line {line}, column {col}"


def _fail(error: Type[InputError], source: str, where: str, message: str) -> FormatError:
    return error(": ".join(p for p in (source, where, message) if p))


def _decode_error(raw: bytes, e: msgspec.DecodeError, source: str, labeler: Labeler,
                  error: Type[InputError]) -> FormatError:
    doc = _lenient(raw)
    if doc is not None:  # stdlib json accepts Infinity / NaN: say where they are
        try:
            place = _find_non_finite(doc, [])
        except RecursionError:
            place = None
        if place is not None:
            constant = _get(doc, place)
            return _fail(error, source, labeler(place, doc),
                         f"{constant!r} is not a JSON number (numbers must be finite)")
    m = re.search(r"\(byte (\d+)\)", str(e))
    where = f" ({_location(raw, int(m.group(1)))})" if m else ""
    return _fail(error, source, "", f"not valid JSON{where}: {str(e).split(' (byte')[0]}")


def _get(doc: Any, path: Sequence[Segment]) -> Any:
    for seg in path:
        doc = doc[seg]
    return doc


def _validation_error(raw_or_doc: Any, e: msgspec.ValidationError, source: str, labeler: Labeler,
                      error: Type[InputError]) -> FormatError:
    text = str(e)
    m = _PATH_RE.match(text)
    if not m:
        return _fail(error, source, "", message_of(text))
    doc = _lenient(raw_or_doc) if isinstance(raw_or_doc, (bytes, bytearray)) else raw_or_doc
    path = _segments(m.group(2))
    try:
        where = labeler(path, doc)
    except Exception:  # a labeler must never hide the error itself
        where = path_labeler()(path, None)
    message = message_of(m.group(1))
    if ", got " not in message:
        message += _value_text(doc, path)
    return _fail(error, source, where, message)


def _value_text(doc: Any, path: List[Segment]) -> str:
    """', got 1e+400' for a scalar at ``path`` (long numbers shortened), else ''."""
    try:
        value = _get(doc, path)
    except (KeyError, IndexError, TypeError):
        return ""
    if isinstance(value, (dict, list)) or value is None:
        return ""
    return f", got {short_repr(value)}"


def short_repr(value: Any) -> str:
    """``repr(value)``, with a long one (a 400-digit number) cut to its first 12 characters and its length."""
    text = repr(value)
    if len(text) > 24:
        text = f"{text[:12]}...({len(text)} characters)"
    return text


def decode_json(raw: bytes, decoder: "msgspec.json.Decoder[T]", source: str, labeler: Labeler,
                error: Type[InputError] = FormatError) -> T:
    """Decode and validate ``raw`` (the file's bytes) with ``decoder`` in one pass.

    Raises:
        ``error`` (a :class:`FormatError` subclass): invalid UTF-8, malformed JSON (with line and
        column, or the field holding ``Infinity``/``NaN``), or a value that breaks the schema
        (the message names the file, then ``labeler``'s frame / person / field wording).
    """
    try:
        return decoder.decode(raw)
    except msgspec.ValidationError as e:
        invalid: Exception = e
    except msgspec.DecodeError as e:
        invalid = e
    except RecursionError:
        raise _fail(error, source, "", "not a valid file: lists or objects nested too deeply") from None
    if isinstance(invalid, msgspec.ValidationError):
        try:  # a syntax error later in the file is the better message
            msgspec.json.decode(raw)
        except (msgspec.ValidationError, RecursionError):   # 1e999 (a schema error), deep nesting
            pass
        except msgspec.DecodeError as d:
            invalid = d
        if isinstance(invalid, msgspec.ValidationError):
            raise _validation_error(raw, invalid, source, labeler, error) from None
    check_utf8(raw, source, error)
    raise _decode_error(raw, invalid, source, labeler, error) from None


def check_utf8(raw: bytes, source: str, error: Type[InputError] = FormatError) -> None:
    """msgspec skips the bytes of fields a schema ignores; this refuses invalid UTF-8 anywhere."""
    if raw.isascii():  # the usual JSON file, checked at memory speed
        return
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as u:
        raise _fail(error, source, "", f"not UTF-8 text (invalid byte at {_location(raw, u.start)})") from None


def convert(obj: Any, tp: Type[T], source: str, labeler: Labeler, error: Type[InputError] = FormatError) -> T:
    """Validate already-parsed Python data (``dict``/``list``, e.g. from YAML) against ``tp``.

    Non-finite floats are refused by the schema's bounds, like ``Infinity`` in a file.
    """
    try:
        return msgspec.convert(obj, tp)
    except msgspec.ValidationError as e:
        raise _validation_error(obj, e, source, labeler, error) from None
    except RecursionError:
        raise _fail(error, source, "", "lists or objects nested too deeply") from None


def path_labeler(containers: Optional[dict] = None) -> Labeler:
    """A labeler that writes ``key index`` pairs as ``"<word> index"`` (``containers`` maps a list
    field to its word, e.g. ``{"people": "person"}``) and other steps as ``field`` / ``field[i]``."""
    words = containers or {}

    def label(path: List[Segment], doc: Any) -> str:
        parts: List[str] = []
        i = 0
        while i < len(path):
            seg = path[i]
            nxt = path[i + 1] if i + 1 < len(path) else None
            if isinstance(seg, str) and isinstance(nxt, int) and seg in words:
                parts.append(f"{words[seg]} {nxt}")
                i += 2
                continue
            if isinstance(seg, int):
                if parts:
                    parts[-1] += f"[{seg}]"
                else:
                    parts.append(f"entry {seg}")
            else:
                parts.append(seg)
            i += 1
        return ", ".join(parts)

    return label


# ----------------------------------------------------------------------------- PoseTrack 2017 / 2018
# What poseval reads (its written specification, SPEC.md section 2). Unknown fields (is_visible, imgnum,
# is_labeled, vid_id, ...) are ignored, as poseval ignores them. A 2017 scalar is a one-element list
# (poseval reads element 0); a bare number, an empty or a longer list is an error.

#: A 2017 scalar: a one-element list ``[v]``, as PoseTrack writes and poseval reads (element 0).
Coord17 = Tuple[Coord]
Finite17 = Tuple[Finite]
Int17 = Tuple[Int64]
#: poseval's head boxes: no head is larger than a video frame, so a side beyond this is corrupt.
MAX_HEAD_SIDE = 1e4


class Point17(msgspec.Struct, gc=False):
    """``{"id": [j], "x": [..], "y": [..], "score": [..]}``; ``id`` must be present (poseval crashes
    without it) but may be null (a point that is no joint); ids outside 0..14 are no joints either."""

    id: Optional[Int17]
    x: Coord17
    y: Coord17
    score: Optional[Finite17] = None


class AnnoPoints17(msgspec.Struct, gc=False):
    point: Optional[List[Point17]] = None


class Rect17(msgspec.Struct, gc=False):
    x1: Optional[Coord17] = None
    y1: Optional[Coord17] = None
    x2: Optional[Coord17] = None
    y2: Optional[Coord17] = None
    track_id: Optional[Int17] = None
    score: Optional[Finite17] = None
    annopoints: Optional[List[AnnoPoints17]] = None


class Image17(msgspec.Struct, gc=False):
    name: str = ""


class RegionPoint17(msgspec.Struct, gc=False):
    x: Coord17
    y: Coord17


class Region17(msgspec.Struct, gc=False):
    point: List[RegionPoint17] = []


class Frame17(msgspec.Struct, gc=False):
    image: Optional[List[Image17]] = None
    annorect: Optional[List[Rect17]] = None
    ignore_regions: Optional[List[Region17]] = None


ImageId = Union[Int64, str]


class Image18(msgspec.Struct, gc=False):
    id: ImageId
    file_name: str = ""
    ignore_regions_x: Optional[List[List[Coord]]] = None
    ignore_regions_y: Optional[List[List[Coord]]] = None


class Annotation18(msgspec.Struct, gc=False):
    """``keypoints`` holds x, y, v per category keypoint; ``scores`` one value per keypoint (or empty)."""

    image_id: ImageId
    track_id: Optional[Int64]
    bbox_head: Optional[Annotated[List[Coord], Meta(min_length=4, max_length=4)]] = None
    score: Optional[Finite] = None
    keypoints: Optional[List[Coord]] = None
    scores: Optional[List[Finite]] = None


class Category18(msgspec.Struct, gc=False):
    name: str = ""
    keypoints: List[str] = []


class PoseTrackDocument(msgspec.Struct, gc=False):
    """A PoseTrack file of either format: 2017 when ``annolist`` is present (poseval's rule)."""

    annolist: Union[List[Frame17], msgspec.UnsetType] = msgspec.UNSET
    images: List[Image18] = []
    annotations: List[Annotation18] = []
    categories: Union[List[Category18], msgspec.UnsetType] = msgspec.UNSET


_FIELD = "\0"   # marks a plain field name in a label: consecutive ones are joined with "."


def _join(parts: List[str]) -> str:
    """['frame 3', FIELD+'video', FIELD+'width'] -> 'frame 3, video.width'."""
    out: List[str] = []
    for p in parts:
        if p.startswith(_FIELD) and out and out[-1].startswith(_FIELD):
            out[-1] += "." + p[1:]
        else:
            out.append(p)
    return ", ".join(p.lstrip(_FIELD) for p in out)


def _image_name_2017(doc: Any, f: int) -> str:
    try:
        name = doc["annolist"][f]["image"][0]["name"]
        return f" ({name})" if isinstance(name, str) and name else ""
    except (KeyError, IndexError, TypeError):
        return ""


def _scalar_field(path: List[Segment], i: int) -> Optional[str]:
    """'x' for ``x`` or ``x[0]`` at the end of the path."""
    rest = path[i:]
    if len(rest) == 1 and isinstance(rest[0], str):
        return rest[0]
    if len(rest) == 2 and isinstance(rest[0], str) and isinstance(rest[1], int):
        return rest[0]
    return None


def posetrack_labeler(path: List[Segment], doc: Any) -> str:
    """``$.annolist[3].annorect[1].annopoints[0].point[2].x[0]`` -> 'frame 3 (name), annorect 1, point 2, x'."""
    parts: List[str] = []
    i = 0
    while i < len(path):
        seg = path[i]
        nxt = path[i + 1] if i + 1 < len(path) else None
        if seg == "annolist" and isinstance(nxt, int):
            parts.append(f"frame {nxt}{_image_name_2017(doc, nxt)}")
        elif seg == "annorect" and isinstance(nxt, int):
            parts.append(f"annorect {nxt}")
        elif seg == "annopoints" and isinstance(nxt, int):
            if nxt:
                parts.append(f"annopoints {nxt}")
        elif seg in ("point", "ignore_regions") and isinstance(nxt, int):
            parts.append(f"{'ignore region' if seg == 'ignore_regions' else 'point'} {nxt}")
        elif seg == "annotations" and isinstance(nxt, int):
            parts.append(_annotation_label(doc, nxt))
        elif seg == "images" and isinstance(nxt, int):
            parts.append(_image_label(doc, nxt))
        elif seg in ("keypoints", "scores") and isinstance(nxt, int) and parts and "annotation" in parts[-1]:
            per = 3 if seg == "keypoints" else 1
            parts.append(f"'{seg}' value {nxt} (keypoint {nxt // per})")
        elif isinstance(seg, str):
            field = _scalar_field(path, i)
            if field is not None:
                parts.append(f"'{field}'")
                break
            parts.append(_FIELD + (seg if nxt is None or not isinstance(nxt, int) else f"{seg}[{nxt}]"))
        else:
            parts.append(f"[{seg}]")
            i += 1
            continue
        i += 2 if isinstance(nxt, int) else 1
    return _join(parts)


def _image_label(doc: Any, i: int) -> str:
    try:
        name = doc["images"][i].get("file_name")
    except (KeyError, IndexError, TypeError, AttributeError):
        name = None
    return f"image {i} ({name})" if isinstance(name, str) and name else f"image {i}"


def _annotation_label(doc: Any, a: int) -> str:
    """'annotation 5 (image 10000000003, frame 3)' where the image can be found."""
    try:
        image_id = doc["annotations"][a]["image_id"]
        ids = [im.get("id") for im in doc["images"]]
        f = ids.index(image_id)
        return f"frame {f} ({doc['images'][f].get('file_name')}), annotation {a}"
    except (KeyError, IndexError, TypeError, ValueError, AttributeError):
        return f"annotation {a}"




# ----------------------------------------------------------------------------- tracks file (posetrack.tracks_io)

#: A frame width or height in pixels.
Dimension = Annotated[int, Meta(ge=1, le=int(MAX_COORD))]
#: [x, y, score] of one keypoint; x and y may be null (a joint not located), score null reads as 0.
KeypointRow = Annotated[List[Optional[Coord]], Meta(min_length=3, max_length=3)]


#: A box score in a tracks file: within +-MAX_COORD, like keypoint scores (the file's scores are float32
#: in memory: a larger value, 1e300, would become infinity there and null when written back).
TrackScore = Annotated[float, Meta(ge=-MAX_COORD, le=MAX_COORD)]


class TrackPerson(msgspec.Struct, gc=False):
    bbox: Annotated[List[Coord], Meta(min_length=4, max_length=4)]
    keypoints: List[KeypointRow]
    track_id: Optional[NonNegInt64] = None
    score: Optional[TrackScore] = None
    interpolated: bool = False


class TrackFrame(msgspec.Struct, gc=False):
    frame: NonNegInt64
    people: List[TrackPerson] = []
    time: Optional[NonNegFinite] = None


class VideoRecord(msgspec.Struct, gc=False):
    path: str
    fps: PositiveFinite
    width: Dimension
    height: Dimension
    frames: NonNegInt64


class RunRange(msgspec.Struct, gc=False):
    """The frame range of the run that made a tracks file (``settings.start/end/stride``), which
    ``posetrack render`` reuses; checked when the file is read, other settings are kept as they are."""

    start: Optional[NonNegInt64] = None           # null: not recorded (0)
    end: Optional[Annotated[int, Meta(ge=1, le=INT64_MAX)]] = None
    stride: Optional[Annotated[int, Meta(ge=1, le=MAX_FRAMES)]] = None     # null: not recorded (1)


class TracksHead(msgspec.Struct, gc=False):
    """Read first, so that a file of another version is named as such."""

    format: Any = "posetrack-tracks"
    version: Any = None
    # Present only in PoseTrack annotation files (skipped, not decoded): a clearer message for those.
    annolist: Union[msgspec.Raw, msgspec.UnsetType] = msgspec.UNSET
    images: Union[msgspec.Raw, msgspec.UnsetType] = msgspec.UNSET
    annotations: Union[msgspec.Raw, msgspec.UnsetType] = msgspec.UNSET


class TracksDocument(msgspec.Struct, gc=False):
    video: VideoRecord
    frames: List[TrackFrame]
    format: str = "posetrack-tracks"
    version: int = 1
    status: Literal["complete", "partial"] = "complete"
    keypoint_layout: Optional[str] = None
    keypoints: Optional[List[str]] = None
    skeleton: Optional[List[Annotated[List[NonNegInt64], Meta(min_length=2, max_length=2)]]] = None
    settings: Dict[str, Any] = {}


class TracksHeaderRecord(msgspec.Struct, gc=False):
    """A journal's first line: the document without frames."""

    video: VideoRecord
    format: str = "posetrack-tracks"
    version: int = 1
    keypoint_layout: Optional[str] = None
    keypoints: Optional[List[str]] = None
    skeleton: Optional[List[Annotated[List[NonNegInt64], Meta(min_length=2, max_length=2)]]] = None
    settings: Dict[str, Any] = {}


_KEYPOINT_FIELDS = ("x", "y", "score")


def tracks_labeler(path: List[Segment], doc: Any) -> str:
    """``$.frames[3].people[0].keypoints[5][0]`` -> 'frame 12, person 0, keypoint 5 (left_shoulder), x'."""
    parts: List[str] = []
    i = 0
    while i < len(path):
        seg = path[i]
        nxt = path[i + 1] if i + 1 < len(path) else None
        if seg == "frames" and isinstance(nxt, int):
            index = None
            try:
                index = doc["frames"][nxt]["frame"]
            except (KeyError, IndexError, TypeError):
                pass
            parts.append(f"frame {short_repr(index)}" if isinstance(index, int) and not isinstance(index, bool)
                         else f"frames[{nxt}]")
        elif seg == "people" and isinstance(nxt, int):
            parts.append(f"person {nxt}")
        elif seg == "keypoints" and isinstance(nxt, int) and parts and parts[-1].startswith("person"):
            name = ""
            try:
                name = f" ({doc['keypoints'][nxt]})"
            except (KeyError, IndexError, TypeError):
                pass
            parts.append(f"keypoint {nxt}{name}")
            if i + 2 < len(path) and isinstance(path[i + 2], int) and 0 <= path[i + 2] < 3:
                parts.append(_KEYPOINT_FIELDS[path[i + 2]])
                i += 1
        elif isinstance(seg, str):
            parts.append(_FIELD + (seg if not isinstance(nxt, int) else f"{seg}[{nxt}]"))
        else:
            parts.append(f"[{seg}]")
            i += 1
            continue
        i += 2 if isinstance(nxt, int) else 1
    return _join(parts) or "top level"




def encode_json(obj: Any) -> bytes:
    """Compact JSON that is always valid: NaN and infinities become null (msgspec's rule), numpy
    scalars become numbers, paths and other objects their ``str``."""
    return msgspec.json.encode(obj, enc_hook=_enc_hook)


def _enc_hook(obj: Any) -> Any:
    item = getattr(obj, "item", None)      # numpy scalars and 0-d arrays
    if callable(item):
        try:
            return item()
        except (TypeError, ValueError):
            pass
    tolist = getattr(obj, "tolist", None)
    if callable(tolist):
        return tolist()
    return str(obj)


# ----------------------------------------------------------------------------- boxes file (posetrack.detect)



class BoxEntry(msgspec.Struct, gc=False):
    """One COCO detection result: ``image_id`` is the 0-based frame index, ``bbox`` is x, y, w, h."""

    image_id: Annotated[int, Meta(ge=0, lt=MAX_FRAMES)]
    bbox: Annotated[List[Coord], Meta(min_length=4, max_length=4)]
    score: Annotated[float, Meta(ge=0.0, le=1.0)]
    category_id: Optional[Int64] = None


BOXES_LABELER = path_labeler()

#: Decoders are built on first use (PEP 562 module ``__getattr__``): building one inspects its
#: whole type tree, and a command needs one or two of them.
_DECODER_TYPES = {"POSETRACK_DECODER": PoseTrackDocument, "TRACKS_HEAD_DECODER": TracksHead,
                  "TRACKS_DECODER": TracksDocument, "BOXES_DECODER": List[BoxEntry]}


def __getattr__(name: str) -> Any:
    if name in _DECODER_TYPES:
        decoder = msgspec.json.Decoder(_DECODER_TYPES[name])
        globals()[name] = decoder
        return decoder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
