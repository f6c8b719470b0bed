"""One rule for ground truth whose frames are not listed in frame order, for 2017, 2018 and PoseTrack21.

poseval and the PoseTrack21 kit score tracking in the order a GT file lists its frames. We do the
same, so our numbers stay theirs, and say so: when the listed order is not the frames' own order, a
warning says that the tracking figures (MOTA, HOTA's association) depend on it. The frames' own
order is that of their image ids where every frame has an integer id (2018, PoseTrack21: PoseTrack's
ids grow with the frame index), else that of their image names compared as natural text
(``.../000009.jpg`` before ``.../000010.jpg``), else unknown (no warning).

Example:
    >>> out_of_order("gt.json", ("v/000001.jpg", "v/000000.jpg"), ())
    'gt.json: frame 1 (v/000000.jpg) is listed after frame 0 (v/000001.jpg), so the GT frames are not in frame order; tracking is scored in the order the file lists them (as poseval and the PoseTrack21 kit do), so the tracking figures depend on that order'
"""
from __future__ import annotations

import re
from typing import Any, Optional, Sequence, Tuple

__all__ = ["out_of_order"]

_DIGITS = re.compile(r"(\d+)")


def _natural(name: str) -> Tuple[Any, ...]:
    return tuple(int(part) if part.isdigit() else part for part in _DIGITS.split(name))


def out_of_order(source: str, names: Sequence[str], ids: Sequence[Any]) -> Optional[str]:
    """The warning for GT frames listed out of frame order, or None when they are in order (or the
    order cannot be told).

    Args:
        source: the GT file (for the message).
        names: (F,) image names ('' where a frame has none).
        ids: (F,) image ids, or () where the format has none.
    """
    if ids and all(isinstance(i, int) for i in ids):
        keys: Sequence[Any] = list(ids)
    elif names and all(names):
        keys = [_natural(n) for n in names]
    else:
        return None
    for f in range(1, len(keys)):
        if keys[f] < keys[f - 1]:
            def label(k: int) -> str:
                return f"frame {k} ({names[k]})" if k < len(names) and names[k] else f"frame {k}"
            return (f"{source}: {label(f)} is listed after {label(f - 1)}, so the GT frames are not in frame order; "
                    f"tracking is scored in the order the file lists them (as poseval and the PoseTrack21 kit do), so "
                    f"the tracking figures depend on that order")
    return None
