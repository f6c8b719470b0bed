"""Which benchmark a GT folder belongs to: PoseTrack 2017/2018 (poseval: mAP, MOTA) or PoseTrack21 (the kit: HOTA, mAP).

Per GT file, by its keys (poseval's own rule for 2017 vs 2018, and PoseTrack21's markers):

* an ``annolist`` key: PoseTrack 2017;
* otherwise ``has_labeled_person`` (an image key) or ``person_id`` (an annotation key), which only
  PoseTrack21 ground truth carries: PoseTrack21;
* otherwise PoseTrack 2018.

The keys are found in the raw bytes: a JSON string token ``"person_id"`` can only be that key (or a
string value spelled the same), so no second parse is needed. A folder whose files disagree (some
PoseTrack21, some not) is refused: name the format with ``format=`` / ``--format``. 2017 and 2018
files may be mixed, as poseval allows.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Tuple

from posetrack.errors import InputError

__all__ = ["FORMATS", "POSEVAL", "POSETRACK21", "file_format", "benchmark_of"]

#: ``--format`` choices: auto-detect, or name the GT's format.
FORMATS = ("auto", "posetrack2017", "posetrack2018", "posetrack21")
POSEVAL = "posetrack2017/2018"
POSETRACK21 = "posetrack21"
_MARKERS = (b'"has_labeled_person"', b'"person_id"')


def file_format(path: Path) -> str:
    """``"posetrack2017"``, ``"posetrack2018"`` or ``"posetrack21"`` for one GT file (OSError if unreadable)."""
    raw = Path(path).read_bytes()
    if b'"annolist"' in raw:
        return "posetrack2017"
    if any(marker in raw for marker in _MARKERS):
        return "posetrack21"
    return "posetrack2018"


def benchmark_of(gt_files: Iterable[Path], format: str = "auto") -> str:
    """:data:`POSETRACK21` or :data:`POSEVAL` for a set of GT files.

    Raises:
        InputError: an unknown ``format``, or (auto) GT files of both benchmarks.
    """
    if format not in FORMATS:
        raise InputError(f"format={format!r}: choose one of {', '.join(FORMATS)}", field="format")
    if format != "auto":
        return POSETRACK21 if format == "posetrack21" else POSEVAL
    seen: dict = {}
    for path in gt_files:
        seen.setdefault(file_format(path) == "posetrack21", path)
    if len(seen) == 2:
        raise InputError(f"the GT files mix PoseTrack21 ({seen[True]}: it has 'person_id' or 'has_labeled_person') "
                         f"and PoseTrack 2017/2018 ({seen[False]}); name the benchmark: format posetrack21 or "
                         f"posetrack2018", field="format=posetrack21", fields=("format=posetrack2018",))
    return POSETRACK21 if seen.get(True) is not None else POSEVAL


def describe(benchmark: str) -> Tuple[str, str]:
    """(benchmark title, metrics) for messages."""
    if benchmark == POSETRACK21:
        return "PoseTrack21", "keypoint HOTA and mAP, as the official PoseTrack21 kit"
    return "PoseTrack 2017/2018", "mAP and MOTA, as the official poseval"
