"""Identity scores of a tracker against hand-labelled identities: ID-F1 and ID switches.

ID-F1 (Ristani et al., "Performance Measures and a Data Set for Multi-Target, Multi-Camera
Tracking", ECCV 2016 workshops): the true identities and the predicted track ids are matched
one to one so that the number of detections whose true identity and predicted id are
matched (IDTP) is largest; then IDP = IDTP / predicted detections, IDR = IDTP / true
detections and ID-F1 = 2 IDTP / (true + predicted detections). A person cut into two ids
loses the smaller piece; two people sharing an id lose one of them; a false pose given an
id counts as a predicted detection that matches nothing.

ID switches are counted as the CLEAR-MOT papers count them per person: walking through a
person's frames in order, every time the id they are given differs from the id they were
last given.

Example:
    >>> from posetrack.eval.identity import identity_scores
    >>> s = identity_scores(true=["a", "a", "a", "b"], predicted=[0, 0, 1, 1], frames=[0, 1, 2, 0], true_total=4)
    >>> round(s.idf1, 3), s.switches
    (0.75, 1)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable, Optional, Sequence

import numpy as np

__all__ = ["IdentityScores", "identity_scores"]


@dataclass(frozen=True)
class IdentityScores:
    """ID-F1 and its parts.

    Attributes:
        idf1, idp, idr: ID-F1, ID precision and ID recall, in [0, 1].
        idtp: detections whose true identity and predicted id are matched.
        true_total: true detections (labelled people).
        predicted_total: predicted detections (output people).
        switches: ID switches, summed over people.
        ids: distinct predicted ids.
        pieces: distinct (person, id) pairs: how many pieces the people were cut into.
    """

    idf1: float
    idp: float
    idr: float
    idtp: int
    true_total: int
    predicted_total: int
    switches: int
    ids: int
    pieces: int


def identity_scores(true: Sequence[Optional[Hashable]], predicted: Sequence[int], frames: Sequence[int],
                    true_total: int) -> IdentityScores:
    """Score predicted ids against true identities.

    Args:
        true: per predicted detection, its true identity, or None (a false or duplicate pose).
        predicted: per predicted detection, its track id.
        frames: per predicted detection, its frame index (for switches).
        true_total: the number of true detections (those the tracker dropped included).

    Returns:
        :class:`IdentityScores`.
    """
    from scipy.optimize import linear_sum_assignment

    if not (len(true) == len(predicted) == len(frames)):
        raise ValueError(f"{len(true)} true identities, {len(predicted)} ids and {len(frames)} frames")
    people = sorted({t for t in true if t is not None}, key=str)
    ids = sorted(set(int(p) for p in predicted))
    row = {t: i for i, t in enumerate(people)}
    col = {p: j for j, p in enumerate(ids)}
    counts = np.zeros((len(people), len(ids)))
    for t, p in zip(true, predicted):
        if t is not None:
            counts[row[t], col[int(p)]] += 1
    idtp = 0.0
    if counts.size:
        r, c = linear_sum_assignment(-counts)
        idtp = float(counts[r, c].sum())
    n_pred = len(predicted)
    switches = 0
    last = {}
    for f, t, p in sorted(zip(frames, true, predicted), key=lambda e: (e[0], str(e[1]), e[2])):
        if t is None:
            continue
        if t in last and last[t] != p:
            switches += 1
        last[t] = p
    denom = true_total + n_pred
    return IdentityScores(idf1=2 * idtp / denom if denom else 1.0, idp=idtp / n_pred if n_pred else 1.0,
                          idr=idtp / true_total if true_total else 1.0, idtp=int(idtp), true_total=int(true_total),
                          predicted_total=n_pred, switches=switches, ids=len(ids), pieces=int((counts > 0).sum()))
