"""What `posetrack eval` prints: the papers' tables for PoseTrack 2017/2018 (mAP, MOTA) and PoseTrack21 (HOTA, mAP)."""
from __future__ import annotations

import math
from typing import Mapping

#: PoseTrack21 rows of the per-joint table, alpha means x100 as the kit prints them.
HOTA_ROWS = ("HOTA", "DetA", "AssA", "LocA", "DetRe", "DetPr", "AssRe", "AssPr", "FragA")


def _cell(v: float) -> str:
    return "nan" if math.isnan(v) else f"{v:.1f}"


def _new_table(title: str):
    from rich import box
    from rich.table import Table

    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False,
                  collapse_padding=True)
    table.add_column("", min_width=4, no_wrap=True)
    return table


def poseval_table(title: str, scores):
    """The paper's layout: a mAP row and a MOTA row over the joint groups, then MOTP, Prec, Rec."""
    from posetrack.eval.report import ap_row, mot_row

    ap: Mapping[str, float] = ap_row(scores.ap)
    mot = mot_row(scores.mota, scores.motp, scores.precision, scores.recall)
    table = _new_table(title)
    for name in mot:
        table.add_column(name, justify="right", min_width=6, no_wrap=True)
    table.add_row("mAP", *[_cell(v) for v in ap.values()], "", "", "")
    table.add_row("MOTA", *[_cell(v) for v in mot.values()])
    return table


def posetrack21_table(title: str, result, scores):
    """The kit's per-joint layout: HOTA, DetA, AssA, ... (alpha means) and mAP, x100, joints then Total."""
    table = _new_table(title)
    for name in result.kit_joint_names + ("Total",):
        table.add_column(name, justify="right", min_width=4, no_wrap=True)
    for field in HOTA_ROWS:
        table.add_row(field, *[_cell(100 * v) for v in scores.hota.mean(field).tolist()])
    table.add_row("mAP", *[_cell(v) for v in scores.ap.ap.tolist()])
    return table


def posetrack21_headline(scores) -> str:
    """'HOTA 31.23  DetA 23.04  AssA 42.36  LocA 77.74  mAP 64.41' (x100)."""
    h = scores.hota
    return "  ".join([f"{f} {100 * h.total(f):.2f}" for f in ("HOTA", "DetA", "AssA", "LocA")]
                     + [f"mAP {scores.ap.ap[-1]:.2f}"])


def posetrack21_sequences(result):
    """One row per sequence: HOTA, DetA, AssA, LocA, mAP (Totals, x100) and its labeled frames."""
    table = _new_table("Per sequence")
    for name in ("HOTA", "DetA", "AssA", "LocA", "mAP", "frames"):
        table.add_column(name, justify="right", min_width=5, no_wrap=True)
    for name, s in result.sequences.items():
        table.add_row(name, *[_cell(100 * s.hota.total(f)) for f in ("HOTA", "DetA", "AssA", "LocA")],
                      _cell(float(s.ap.ap[-1])), str(s.frames))
    return table
