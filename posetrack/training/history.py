"""The training record: a CSV log, optional TensorBoard events, and a plot of the loss and AP curves.

``log.csv`` holds one row per logged step (``kind=step``: the mean training loss since the last
row, the learning rate) and per epoch (``kind=epoch``: the epoch's mean loss, and the validation
metrics when it was validated). ``curves.png`` plots the loss against steps and the AP against
epochs; it is redrawn after every epoch. On a resume, rows past the checkpoint are dropped, so
the record is the one an uninterrupted run writes (times aside).
"""
from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any, Dict, List, Optional

from posetrack.io.atomic import write_atomic

__all__ = ["COLUMNS", "TrainLog", "plot_curves"]

COLUMNS = ("kind", "epoch", "step", "lr", "loss", "AP", "AP50", "AP75", "APm", "APl", "AR", "seconds")


class TrainLog:
    """Rows of ``log.csv`` kept in memory and rewritten atomically (a few thousand rows at most).

    Args:
        folder: the run's output folder.
        tensorboard: also write TensorBoard events into ``folder/tensorboard`` (needs ``tensorboard``).
    """

    def __init__(self, folder: Path, tensorboard: bool = False):
        self.path = Path(folder) / "log.csv"
        self.rows: List[Dict[str, Any]] = []
        self._writer = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter      # ImportError names the package

            self._writer = SummaryWriter(str(Path(folder) / "tensorboard"))

    def resume(self, global_step: int) -> None:
        """Read ``log.csv`` back, keeping the rows up to ``global_step`` (those a checkpoint covers)."""
        if not self.path.is_file():
            return
        with open(self.path, newline="") as f:
            for row in csv.DictReader(f):
                if int(row["step"]) <= global_step:
                    self.rows.append({k: _number(v) for k, v in row.items()})

    def add(self, **row: Any) -> None:
        """Append one row (missing columns stay empty) and write the file."""
        self.rows.append(row)
        if self._writer is not None:
            for key in ("loss", "lr", "AP", "AR"):
                if row.get(key) is not None:
                    self._writer.add_scalar(f"{row['kind']}/{key}", row[key], row["step"])
            self._writer.flush()
        self.write()

    def write(self) -> None:
        lines = [",".join(COLUMNS) + "\n"]
        for row in self.rows:
            lines.append(",".join(_cell(row.get(c)) for c in COLUMNS) + "\n")
        write_atomic(self.path, lines)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.8g}"
    return str(value)


def _number(text: str) -> Any:
    if text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() and "." not in text and "e" not in text else value


def _interval(steps: List[Dict[str, Any]]) -> str:
    """How many steps each logged loss averages (the first row's step count)."""
    return f"{steps[0]['step']} steps" if steps[0]["step"] > 1 else "1 step"


def plot_curves(rows: List[Dict[str, Any]], path: Path, title: str = "") -> Optional[Path]:
    """Draw the training loss (per logged step, and per epoch) and the validation AP/AR per epoch.

    Returns:
        ``path``, or None when there is nothing to draw yet.
    """
    steps = [r for r in rows if r.get("kind") == "step" and r.get("loss") is not None]
    epochs = [r for r in rows if r.get("kind") == "epoch"]
    if not steps and not epochs:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_ap) = plt.subplots(1, 2, figsize=(11, 4))
    if steps:
        ax_loss.plot([r["step"] for r in steps], [r["loss"] for r in steps], "." if len(steps) < 30 else "-", lw=0.8,
                     alpha=0.6, label=f"steps (mean of {_interval(steps)})")
    done = [r for r in epochs if r.get("loss") is not None]
    if done:
        ax_loss.plot([r["step"] for r in done], [r["loss"] for r in done], "o-", ms=3, label="epoch mean")
    ax_loss.set_xlabel("optimiser step")
    ax_loss.set_ylabel("heatmap MSE loss")
    if all(r["loss"] > 0 for r in steps + done):
        ax_loss.set_yscale("log")
    ax_loss.legend()
    ax_loss.grid(alpha=0.3)
    val = [r for r in epochs if r.get("AP") is not None and not math.isnan(r["AP"])]
    for key, style in (("AP", "o-"), ("AP50", "s--"), ("AR", "^:")):
        if val:
            ax_ap.plot([r["epoch"] + 1 for r in val], [100 * r[key] for r in val], style, ms=4, label=key)
    ax_ap.set_xlabel("epoch")
    from matplotlib.ticker import MaxNLocator

    ax_ap.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_loss.xaxis.set_major_locator(MaxNLocator(integer=True))
    if val:
        ax_ap.set_xlim(0, max(r["epoch"] + 1 for r in val) + 1)
    ax_ap.set_ylabel("COCO keypoint metric (%)")
    ax_ap.set_ylim(0, 100)
    ax_ap.grid(alpha=0.3)
    if val:
        ax_ap.legend()
    else:
        ax_ap.text(0.5, 0.5, "not validated yet", ha="center", va="center", transform=ax_ap.transAxes)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    tmp = Path(path).with_name(Path(path).name + ".tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(path)
    return Path(path)
