"""One rule for ground truth whose frames are not listed in frame order, for 2017, 2018 and PoseTrack21.

poseval and the PoseTrack21 kit score tracking in the order a GT file lists its frames. We do the
same, so our numbers stay theirs, and say so: when the listed order is not the frames' own order, a
warning says that the tracking figures (MOTA, HOTA's association) depend on it. The frames' own
order is told by their image names compared as natural text (``.../000009.jpg`` before
``.../000010.jpg``) where every frame has one, and by their integer image ids (2018, PoseTrack21:
PoseTrack's ids grow with the frame index) where every frame has one; frames out of order by either
get the warning.

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
    orders = []
    if names and all(names):
        sizes = set(map(len, names))
        if len(sizes) > 1 or any(b < a for a, b in zip(names, names[1:])):   # equal lengths, sorted: in order
            orders.append([_natural(n) for n in names])
    if ids and all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        orders.append(list(ids))
    for keys in orders:
        late = next((f for f in range(1, len(keys)) if keys[f] < keys[f - 1]), None)
        if late is not None:
            return (f"{source}: {_label(names, late)} is listed after {_label(names, late - 1)}, so the GT frames "
                    f"are not in frame order; tracking is scored in the order the file lists them (as poseval and "
                    f"the PoseTrack21 kit do), so the tracking figures depend on that order")
    return None


def _label(names: Sequence[str], k: int) -> str:
    return f"frame {k} ({names[k]})" if k < len(names) and names[k] else f"frame {k}"
