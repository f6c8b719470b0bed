"""Find a damaged PNG or JPEG by its structure, before a decoder library sees it.

libpng and libjpeg print their complaints ("libpng error: PNG input buffer is incomplete",
"Corrupt JPEG data: ...") straight to the process's stderr, past OpenCV's log level; an image
that fails these checks is reported as our own error instead, without being decoded. What the
checks cannot see (damage inside JPEG's entropy-coded data) is left to the decoder.

Structure (PNG: ISO/IEC 15948 section 5; JPEG: ITU-T T.81 annex B): a PNG is its 8-byte
signature, then chunks of length (4 bytes, big-endian), type (4), data and a CRC-32 of type and
data (4), IHDR first and IEND last. A JPEG starts with the SOI marker FF D8 and ends with EOI FF D9.
"""
from __future__ import annotations

import struct
import zlib
from typing import Optional

__all__ = ["image_damage"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SOI, JPEG_EOI = b"\xff\xd8", b"\xff\xd9"


def image_damage(data: bytes) -> Optional[str]:
    """What is wrong with a PNG or JPEG file's structure, in a few words; None when nothing is (or another format).

    Args:
        data: the whole file.
    """
    if data.startswith(PNG_SIGNATURE):
        return _png_damage(data)
    if data.startswith(JPEG_SOI) and data.rfind(JPEG_EOI) < len(JPEG_SOI):
        return "a JPEG without its end marker: cut off"
    return None


def _png_damage(data: bytes) -> Optional[str]:
    pos, first = len(PNG_SIGNATURE), True
    while pos + 12 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if first and kind != b"IHDR":
            return "a PNG whose first chunk is not IHDR: damaged"
        end = pos + 12 + length
        if end > len(data):
            break
        name = kind.decode("latin-1")
        if zlib.crc32(data[pos + 4:end - 4]) != struct.unpack(">I", data[end - 4:end])[0]:
            return f"PNG chunk {name!r} at byte {pos} fails its CRC check"
        if kind == b"IEND":
            return None
        pos, first = end, False
    return "a PNG that ends before its IEND chunk: cut off"
