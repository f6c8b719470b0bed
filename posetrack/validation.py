"""Typed, strict decoding of every JSON input: one pass of msgspec, one plain-words error line.

Each input format is a tree of ``msgspec.Struct`` types (PoseTrack 2017 / 2018 files in
:mod:`posetrack.eval.schema`, the tracks file in :mod:`posetrack.tracksfile.schema`, the boxes
file in :mod:`posetrack.io.boxes_file`,
YAML configs in :mod:`posetrack.config`). msgspec decodes and validates in a single pass in C
(about 3x faster than the stdlib ``json`` parse alone on PoseTrack files, measured by
``benchmarks/json_decode_speed.py``), so strictness costs nothing:

* wrong types are errors (a string, list, object or ``true`` where a number belongs; a
  fractional track id), never coerced;
* ``NaN`` / ``Infinity`` are not JSON and are refused; so are numbers that overflow a float
  (``1e400``, a 400-digit integer) and numbers outside a field's range (:data:`MAX_COORD`,
  int64 track ids);
* fixed-length arrays must have exactly their length (a box of one value is not four values);
* invalid UTF-8 anywhere in the file is refused;
* a struct declared with ``forbid_unknown_fields=True`` refuses a key it does not know, and the
  message names the closest valid key ("unknown key 'peopel' (did you mean 'people'?)").

:func:`decode_json` turns every failure into the format's ``FormatError`` subclass with one
line ``"FILE: frame 3 (images/.../000003.jpg), annorect 1, point 2, x: expected a number,
got a string"``: the msgspec path (``$.annolist[3].annorect[1]...``) is translated by a
per-format *labeler* that reads the frame's own index or image name from a lenient re-parse
of the file (done only on the error path).

Example:
    >>> import msgspec
    >>> from posetrack.validation import Coord, decode_json, path_labeler
    >>> class Box(msgspec.Struct):
    ...     bbox: list[Coord]
    >>> decode_json(b'{"bbox": [1, "2"]}', msgspec.json.Decoder(Box), "b.json", path_labeler())
    Traceback (most recent call last):
    ...
    posetrack.errors.FormatError: b.json: bbox[1]: expected a number, got a string
"""
from __future__ import annotations

import difflib
import json
import re
import sys
from typing import Annotated, Any, Callable, List, Optional, Sequence, Type, TypeVar, Union

import msgspec
from msgspec import Meta

from posetrack.errors import FormatError, InputError

__all__ = ["MAX_COORD", "INT64_MAX", "MAX_FRAMES", "MAX_FPS", "FrameRate", "Coord", "Finite", "Int64", "NonNegInt64", "PositiveFinite", "NonNegFinite",
           "Segment", "Labeler", "decode_json", "short_repr", "convert", "path_labeler", "message_of", "NonFinite",
           "FIELD", "join_label", "encode_json", "loads", "unknown_key_message", "struct_keys", "suggest_key"]

#: Largest absolute pixel coordinate accepted anywhere (keypoints, boxes, ignore regions). No video
#: frame is within a factor 10 of it (8K is 7680 wide); values beyond come from corrupt files, and
#: they overflow the int32 drawing coordinates of OpenCV.
MAX_COORD = 1e5
INT64_MAX = 2 ** 63 - 1
#: Frame indexes in a boxes file, and frame strides: 10 million frames is 4.6 days at 25 fps; a larger
#: index is corrupt (and would make the per-frame table enormous).
MAX_FRAMES = 10_000_000
_FLOAT_MAX = sys.float_info.max
#: Largest frame rate accepted in a file: ten times the fastest high-speed cameras (some containers
#: report their time base, 90,000, as the rate); beyond it a rate is corrupt, and times in seconds
#: turned into frames overflow.
MAX_FPS = 1e6

#: A pixel coordinate: finite, within +-MAX_COORD.
Coord = Annotated[float, Meta(ge=-MAX_COORD, le=MAX_COORD)]
#: Any finite float (scores, which may be logits).
Finite = Annotated[float, Meta(ge=-_FLOAT_MAX, le=_FLOAT_MAX)]
NonNegFinite = Annotated[float, Meta(ge=0.0, le=_FLOAT_MAX)]
PositiveFinite = Annotated[float, Meta(gt=0.0, le=_FLOAT_MAX)]
#: Frames per second: above 0, at most MAX_FPS.
FrameRate = Annotated[float, Meta(gt=0.0, le=MAX_FPS)]
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
    m = re.match(r"Object contains unknown field `(.*)`$", text)
    if m:
        return f"unknown key {m.group(1)!r}"
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
                      error: Type[InputError], root: Any = None) -> FormatError:
    text = str(e)
    m = _PATH_RE.match(text)
    what, path_text = (m.group(1), m.group(2)) if m else (text, "")
    unknown = _UNKNOWN_RE.match(what)
    if not m and not unknown:
        return _fail(error, source, "", message_of(text))
    doc = _lenient(raw_or_doc) if isinstance(raw_or_doc, (bytes, bytearray)) else raw_or_doc
    path = _segments(path_text)
    try:
        where = labeler(path, doc)
    except Exception:  # a labeler must never hide the error itself
        where = path_labeler()(path, None)
    if unknown:
        return _fail(error, source, where, unknown_key_message(unknown.group(1), struct_keys(root, path)))
    message = message_of(what)
    if ", got " not in message:
        message += _value_text(doc, path)
    return _fail(error, source, where, message)


_UNKNOWN_RE = re.compile(r"^Object contains unknown field `(.*)`$", re.S)


def unknown_key_message(key: str, valid: Sequence[str]) -> str:
    """"unknown key 'peopel' (did you mean 'people'?)"; without a close valid key, the valid keys are listed."""
    return f"unknown key {key!r}" + suggest_key(key, valid)


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
        doc = _with_escaped_surrogates(raw)
        if doc is not None:          # a file name that is not UTF-8, as encode_json writes it
            return convert(doc, decoder.type, source, labeler, error)
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
            raise _validation_error(raw, invalid, source, labeler, error, decoder.type) from None
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
        raise _validation_error(obj, e, source, labeler, error, tp) from None
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


FIELD = "\0"   # marks a plain field name in a label: consecutive ones are joined with "."


def join_label(parts: List[str]) -> str:
    """['frame 3', FIELD+'video', FIELD+'width'] -> 'frame 3, video.width'."""
    out: List[str] = []
    for p in parts:
        if p.startswith(FIELD) and out and out[-1].startswith(FIELD):
            out[-1] += "." + p[1:]
        else:
            out.append(p)
    return ", ".join(p.lstrip(FIELD) for p in out)


def encode_json(obj: Any) -> bytes:
    """Compact JSON that is always valid: NaN and infinities become null (msgspec's rule), numpy
    scalars become numbers, paths and other objects their ``str``.

    A string holding lone surrogates (a file name whose bytes are not UTF-8, as Python's
    ``os.fsdecode`` gives it: byte 0xFF becomes U+DCFF) is written with ``\\uXXXX`` escapes,
    which ``json.loads`` and :func:`decode_json` / :func:`loads` read back to the same string, so
    ``os.fsencode`` gives the original bytes (strict UTF-8 JSON has no other way to hold them).
    """
    try:
        return msgspec.json.encode(obj, enc_hook=_enc_hook)
    except UnicodeEncodeError:
        plain = msgspec.to_builtins(obj, enc_hook=_enc_hook)      # structs too, as the encoder writes them
        return msgspec.json.encode(_escape_surrogates(plain), enc_hook=_enc_hook)


def loads(raw: bytes) -> Any:
    """``msgspec.json.decode(raw)``, also reading the escaped lone surrogates :func:`encode_json` writes.

    Raises:
        msgspec.DecodeError: not valid JSON.
    """
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError:
        doc = _with_escaped_surrogates(raw)
        if doc is None:
            raise
        return doc


_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89abcdefABCDEF]")


def _with_escaped_surrogates(raw: bytes) -> Any:
    """The document, when it is valid JSON apart from escaped lone surrogates (msgspec refuses those); else None."""
    if _ESCAPED_SURROGATE.search(raw) is None:
        return None
    try:
        return json.loads(raw, parse_constant=_refuse)
    except (ValueError, RecursionError):
        return None


def _refuse(constant: str) -> Any:
    raise ValueError(constant)


def _escape_surrogates(obj: Any) -> Any:
    if isinstance(obj, str):
        try:
            obj.encode("utf-8")
            return obj
        except UnicodeEncodeError:
            return msgspec.Raw(json.dumps(obj).encode("ascii"))
    if isinstance(obj, dict):
        return {k: _escape_surrogates(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_escape_surrogates(v) for v in obj]
    return obj


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


# ----------------------------------------------------------------------------- unknown keys

def struct_keys(root: Any, path: Sequence[Segment]) -> List[str]:
    """The keys a JSON object may have at ``path`` under the msgspec type ``root`` (its Struct's field
    names as encoded), or [] where the path leads to no Struct (or ``root`` is None)."""
    if root is None:
        return []
    import msgspec.inspect as mi

    info: Any = mi.type_info(root)
    for seg in path:
        info = _member(info, int if isinstance(seg, int) else str)
        if isinstance(seg, int) and isinstance(info, (mi.ListType, mi.VarTupleType)):
            info = info.item_type
        elif isinstance(seg, str) and isinstance(info, mi.StructType):
            info = next((f.type for f in info.fields if f.encode_name == seg), None)
        elif isinstance(seg, str) and isinstance(info, mi.DictType):
            info = info.value_type
        else:
            return []
    info = _member(info, str)
    return [f.encode_name for f in info.fields] if isinstance(info, mi.StructType) else []


def _member(info: Any, step: type) -> Any:
    """``info`` without Annotated metadata, and the list (``step`` int) or object member of a union."""
    import msgspec.inspect as mi

    while isinstance(info, mi.Metadata):
        info = info.type
    if isinstance(info, mi.UnionType):
        kinds = (mi.ListType, mi.VarTupleType) if step is int else (mi.StructType, mi.DictType)
        info = next((t for t in info.types if isinstance(t, kinds)), None)
    return info


def suggest_key(key: str, valid: Sequence[str]) -> str:
    """' (did you mean 'point'?)' for the closest valid key (case-insensitive), else ' (valid keys: ...)'."""
    lower = {v.lower(): v for v in valid}
    close = difflib.get_close_matches(key.lower(), list(lower), n=1, cutoff=0.6)
    if close:
        return f" (did you mean {lower[close[0]]!r}?)"
    return f" (valid keys: {', '.join(sorted(valid))})" if valid else ""
