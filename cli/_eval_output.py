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


def poseval_table(title, scores):
    """The paper's layout: a mAP row and a MOTA row over the joint groups, then MOTP, Prec, Rec.

    ``title`` is a str (rich markup) or a rich Text (shown as is: a sequence name may hold brackets)."""
    from posetrack.eval.report import ap_row, mot_row

    ap: Mapping[str, float] = ap_row(scores.ap)
    mot = mot_row(scores.mota, scores.motp, scores.precision, scores.recall)
    table = _new_table(title)
    for name in mot:
        table.add_column(name, justify="right", min_width=6, no_wrap=True)
    table.add_row("mAP", *[_cell(v) for v in ap.values()], "", "", "")
    table.add_row("MOTA", *[_cell(v) for v in mot.values()])
    return table


def _plain_table(title: str, header, rows, label_width: int) -> str:
    """A right-aligned text table (the kit prints plain text too; rich's layout engine costs more than
    the scoring of a whole split for a table this size)."""
    widths = [max(len(str(h)), *(len(r[k + 1]) for r in rows)) for k, h in enumerate(header)]
    line = "".join(f" {str(h):>{w}}" for h, w in zip(header, widths))
    out = [title, "", f"{'':<{label_width}}{line}", f"{'':<{label_width}} " + "-" * (len(line) - 1)]
    out += [f"{r[0]:<{label_width}}" + "".join(f" {c:>{w}}" for c, w in zip(r[1:], widths)) for r in rows]
    return "\n".join(out) + "\n"


def posetrack21_table(title: str, result, scores) -> str:
    """The kit's per-joint layout: HOTA, DetA, AssA, ... (alpha means) and mAP, x100, joints then Total."""
    rows = [[field, *(_cell(100 * v) for v in scores.hota.mean(field).tolist())] for field in HOTA_ROWS]
    rows.append(["mAP", *(_cell(v) for v in scores.ap.ap.tolist())])
    return _plain_table(title, list(result.kit_joint_names) + ["Total"], rows, 6)


def posetrack21_headline(scores) -> str:
    """'HOTA 31.23  DetA 23.04  AssA 42.36  LocA 77.74  mAP 64.41' (x100)."""
    h = scores.hota
    return "  ".join([f"{f} {100 * h.total(f):.2f}" for f in ("HOTA", "DetA", "AssA", "LocA")]
                     + [f"mAP {scores.ap.ap[-1]:.2f}"])


def posetrack21_sequences(result) -> str:
    """One row per sequence: HOTA, DetA, AssA, LocA, mAP (Totals, x100) and its labeled frames."""
    rows = [[name, *(_cell(100 * s.hota.total(f)) for f in ("HOTA", "DetA", "AssA", "LocA")),
             _cell(float(s.ap.ap[-1])), str(s.frames)] for name, s in result.sequences.items()]
    width = max([len(r[0]) for r in rows] + [8]) + 1
    return _plain_table("Per sequence", ["HOTA", "DetA", "AssA", "LocA", "mAP", "frames"], rows, width)
