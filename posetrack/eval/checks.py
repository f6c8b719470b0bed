"""Input checks of the poseval evaluation: refusals (ValueError naming the file, frame and person) and
warnings where poseval accepts input that deserves a word."""
from __future__ import annotations

from typing import List, Tuple

import numpy as np

from posetrack.errors import FormatError
from posetrack.eval.formats import JOINT_NAMES, PoseTrackFile
from posetrack.eval.frames import EvalPersons
from posetrack.eval.matching import head_sizes

__all__ = ["POSEVAL_MAX_TRACK_ID", "check_pred_track_ids", "warn_repeats", "check_scored_persons", "check_head_boxes",
           "check_track_id_range"]

POSEVAL_MAX_TRACK_ID = 10000


def check_pred_track_ids(pred: PoseTrackFile) -> None:
    """Prediction track ids must be unique within a frame (poseval raises otherwise)."""
    has = pred.has_track_id
    if not has.any():
        return
    frame = pred.person_frame[has]
    tid = pred.track_id[has]
    order = np.lexsort((tid, frame))
    same = (np.diff(frame[order]) == 0) & (np.diff(tid[order]) == 0)
    if same.any():
        k = int(order[np.flatnonzero(same)[0] + 1])
        n = int(np.flatnonzero(has)[k])
        f = int(frame[k])
        raise FormatError(f"{pred.where(f, n)}: 'track_id' {int(tid[k])} is used by two persons of this frame; "
                         f"prediction track ids must be unique per frame")


def _first_repeat(group: np.ndarray, key: np.ndarray) -> Tuple[int, int]:
    """(how many rows repeat an earlier row's (group, key), the index of the first such row)."""
    order = np.lexsort((key, group))
    same = (np.diff(group[order]) == 0) & (np.diff(key[order]) == 0)
    return int(same.sum()), (int(order[np.flatnonzero(same)[0] + 1]) if same.any() else -1)


def warn_repeats(seq: PoseTrackFile, what: str, warnings: List[str]) -> None:
    """Warn (numbers unchanged: poseval accepts these) about a track id used twice in one frame
    and a joint listed twice for one person."""
    has = seq.has_track_id
    if what == "GT" and has.any():
        count, k = _first_repeat(seq.person_frame[has], seq.track_id[has])
        if count:
            n = int(np.flatnonzero(has)[k])
            warnings.append(f"{seq.where(int(seq.person_frame[n]), n)}: GT 'track_id' {int(seq.track_id[n])} is "
                            f"used by two persons of this frame ({count} such repeats in the file); scored as "
                            f"poseval scores it")
    joint = seq.point_is_joint
    if joint.any():
        count, k = _first_repeat(seq.point_person[joint], seq.point_joint[joint])
        if count:
            m = int(np.flatnonzero(joint)[k])
            n = int(seq.point_person[m])
            warnings.append(f"{seq.where(int(seq.person_frame[n]), n)}: joint {int(seq.point_joint[m])} "
                            f"({JOINT_NAMES[int(seq.point_joint[m])]}) is listed twice for one {what} person "
                            f"({count} such repeats in the file); scored as poseval scores it")


def check_scored_persons(seq: PoseTrackFile, persons: EvalPersons, what: str) -> None:
    missing = persons.valid & ~persons.has_track_id
    if missing.any():
        f, s = (int(v[0]) for v in np.nonzero(missing))
        raise FormatError(f"{seq.where(int(persons.frames[f]), int(persons.person[f, s]))}: no 'track_id' "
                         f"({what} persons need one for the tracking metrics)")


def check_head_boxes(gt_file: PoseTrackFile, gt: EvalPersons, pred: EvalPersons, warnings: List[str]) -> None:
    """GT persons need a head box where predictions are matched against them (Case A frames)."""
    scored = gt.valid & (pred.counts > 0)[:, None]
    missing = scored & ~gt.has_head_box
    if missing.any():
        f, s = (int(v[0]) for v in np.nonzero(missing))
        raise FormatError(f"{gt_file.where(int(gt.frames[f]), int(gt.person[f, s]))}: no head box "
                         f"(x1, y1, x2, y2 / bbox_head); PCKh needs it")
    degenerate = scored & ~(head_sizes(gt.head_box) > 0)
    if degenerate.any():
        f, s = (int(v[0]) for v in np.nonzero(degenerate))
        warnings.append(f"{gt_file.where(int(gt.frames[f]), int(gt.person[f, s]))}: head box of size 0; "
                        f"this person can never be matched ({int(degenerate.sum())} such person(s) in the file)")


def check_track_id_range(seq: PoseTrackFile, warnings: List[str]) -> None:
    big = seq.has_track_id & (seq.track_id >= POSEVAL_MAX_TRACK_ID)
    if big.any():
        warnings.append(f"{seq.source}: {int(big.sum())} person(s) with track_id >= {POSEVAL_MAX_TRACK_ID} "
                        f"(e.g. {int(seq.track_id[big][0])}); poseval rejects these, we score them normally")
