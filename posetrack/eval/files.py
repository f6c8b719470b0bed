"""Which files are scored: GT and prediction files paired by name, from folders, single files or lists."""
from __future__ import annotations

import errno
import os
import re
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Tuple, Union

from posetrack.errors import InputError

__all__ = ["PathLike", "Files", "Pair", "sequence_files", "collapse_warnings"]

PathLike = Union[str, os.PathLike]
Files = Union[PathLike, Iterable[PathLike], Mapping[str, PathLike]]
#: (sequence name, GT file, prediction file or None).
Pair = Tuple[str, Path, Optional[Path]]


def _json_files(where: Files, what: str) -> Dict[str, Path]:
    """name (file name without .json) -> path, from a directory, one file, a list of files or a mapping."""
    if isinstance(where, Mapping):
        return {str(k)[:-5] if str(k).endswith(".json") else str(k): Path(v) for k, v in where.items()}
    if isinstance(where, (str, os.PathLike)):
        folder = Path(where)
        if folder.is_file():          # one sequence's file
            return {folder.name[:-5] if folder.name.endswith(".json") else folder.name: folder}
        if not folder.is_dir():
            raise FileNotFoundError(errno.ENOENT, f"no such {what} folder or file", str(folder))
        return {p.name[:-5]: p for p in sorted(folder.glob("*.json"))}
    out: Dict[str, Path] = {}
    for p in map(Path, where):
        name = p.name[:-5] if p.name.endswith(".json") else p.name
        if name in out:
            raise InputError(f"two {what} files are both named {p.name}: {out[name]} and {p}")
        out[name] = p
    return out


def sequence_files(gt: Files, pred: Files) -> Tuple[List[Tuple[str, Path, Optional[Path]]], List[str]]:
    """Pair GT and prediction files by name.

    Returns:
        (name, gt path, prediction path or None) in sorted name order, and warnings.
    """
    gt_files = _json_files(gt, "GT")
    pred_files = _json_files(pred, "prediction")
    if _is_file(gt) and _is_file(pred):     # one GT file and one prediction file: a pair, whatever their names
        pred_files = {name: p for name, p in zip(gt_files, pred_files.values())}
    elif _is_dir(gt) and _is_file(pred):    # every other sequence would silently score as unpredicted
        raise InputError(f"{pred}: a single prediction file for the GT folder {gt}; give the prediction folder "
                         f"(one file per GT file), or one GT file with one prediction file")
    if not gt_files:
        raise OSError(f"no *.json GT files in {gt}")
    warnings = []
    extra = sorted(set(pred_files) - set(gt_files))
    if extra:
        warnings.append(f"{len(extra)} prediction file(s) without a GT file ignored: "
                        f"{', '.join(n + '.json' for n in extra[:5])}{' ...' if len(extra) > 5 else ''}")
    pairs = []
    for name in sorted(gt_files):
        p = pred_files.get(name)
        if p is not None and not p.exists():
            p = None
        if p is None:
            warnings.append(f"no prediction file for {gt_files[name]} (expected {name}.json in the prediction "
                            f"folder); scored as a sequence without predictions")
        pairs.append((name, gt_files[name], p))
    return pairs, warnings


def _is_file(where: Files) -> bool:
    return isinstance(where, (str, os.PathLike)) and Path(where).is_file()


def _is_dir(where: Files) -> bool:
    return isinstance(where, (str, os.PathLike)) and Path(where).is_dir()


_FILE = re.compile(r"\S+\.json\b")
_NUMBER = re.compile(r"\d+(\.\d+)?")


def collapse_warnings(warnings: List[str], keep: int = 2) -> List[str]:
    """The same warning about many files (a val split has 170 sequences) shown for the first ``keep`` files,
    then once more with the count of the others: 'same for 168 more file(s)'. Order is kept."""
    kind = [_NUMBER.sub("#", _FILE.sub("FILE", w)) for w in warnings]
    total: Dict[str, int] = {}
    for k in kind:
        total[k] = total.get(k, 0) + 1
    out, seen = [], {}
    for w, k in zip(warnings, kind):
        seen[k] = seen.get(k, 0) + 1
        if seen[k] <= keep:
            out.append(w)
        elif seen[k] == keep + 1:
            out.append(f"... and the same for {total[k] - keep} more file(s)")
    return out
