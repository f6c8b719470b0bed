"""Pictures of an evaluation, for ``posetrack eval --plot DIR`` (matplotlib, imported only here).

PoseTrack21 (:class:`~posetrack.eval.posetrack21.result.PoseTrack21Result`):

* ``hota_alpha.png``: HOTA, DetA, AssA and LocA (all joints together) against the localisation
  threshold alpha, with their alpha means (the reported values) in the legend;
* ``joints.png``: per-joint HOTA and AP bars, with the Total as a line;
* ``sequences.png``: HOTA and mAP of every sequence, sorted so the worst come first.

PoseTrack 2017/2018 (:class:`~posetrack.eval.evaluate.EvalResult`): ``joints.png`` (AP and MOTA per
joint) and ``sequences.png`` (MOTA and AP per sequence, sorted). There is no alpha in poseval.

Figures are drawn with matplotlib's object API on an Agg canvas (no pyplot, no display, no global
state), 100 dpi, and written atomically.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple, Union

import numpy as np

from posetrack.errors import MissingDependencyError

__all__ = ["plot_names", "plot_result"]

_COLORS = {"HOTA": "#1f77b4", "DetA": "#ff7f0e", "AssA": "#2ca02c", "LocA": "#7f7f7f", "AP": "#9467bd",
           "MOTA": "#d62728"}


def _figure(width: float, height: float) -> Tuple[Any, Any]:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingDependencyError("plots need matplotlib", "plot", field="plot") from None
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.canvas


def _save(fig, path: Path) -> Path:
    from posetrack.io.atomic import write_atomic

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    write_atomic(path, [buffer.getvalue()])
    return path


def _bars(ax, names: Sequence[str], series: Dict[str, Tuple[np.ndarray, float]], ylabel: str, title: str) -> None:
    """Grouped bars per joint, one group member per series, each series' Total as a dashed line."""
    x = np.arange(len(names))
    width = 0.8 / len(series)
    for k, (label, (values, total)) in enumerate(series.items()):
        color = _COLORS.get(label)
        ax.bar(x + (k - (len(series) - 1) / 2) * width, values, width, color=color,
               label=f"{label} (Total {total:.1f})")
        ax.axhline(total, color=color, linestyle="--", linewidth=1)
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=45, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_ylim(min(0.0, float(np.nanmin([v.min() for v, _ in series.values()] + [0.0])) * 1.1), 112)
    ax.set_title(title)
    ax.legend(loc="upper center", ncol=len(series), fontsize=8, frameon=False)
    ax.grid(axis="y", alpha=0.3)


def _sorted_sequences(ax, names: List[str], primary: Tuple[str, np.ndarray], secondary: Tuple[str, np.ndarray],
                      title: str) -> None:
    """Horizontal bars of every sequence, worst (lowest primary value) at the top."""
    order = np.argsort(primary[1], kind="stable")
    y = np.arange(len(names))
    ax.barh(y - 0.2, primary[1][order], 0.4, color=_COLORS.get(primary[0]), label=primary[0])
    ax.barh(y + 0.2, secondary[1][order], 0.4, color=_COLORS.get(secondary[0]), label=secondary[0], alpha=0.6)
    for yi, value in zip(y, primary[1][order]):
        if np.isfinite(value):
            ax.annotate(f"{value:.1f}", (max(value, 0.0), yi - 0.2), xytext=(3, 0), textcoords="offset points",
                        va="center", fontsize=7)
    ax.set_yticks(y)
    ax.set_yticklabels([names[i] for i in order], fontsize=7 if len(names) > 30 else 9)
    ax.invert_yaxis()
    ax.set_xlabel("score (%)")
    ax.set_xlim(min(0.0, float(np.nanmin(np.append(primary[1], 0.0))) * 1.1), 105)
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.grid(axis="x", alpha=0.3)


def _pt21(result, out: Path) -> List[Path]:
    overall = result.overall
    alphas = np.asarray(result.alphas)
    fig, _ = _figure(7, 4.5)
    ax = fig.add_subplot()
    for field in ("HOTA", "DetA", "AssA", "LocA"):
        curve = 100 * overall.hota.per_alpha[field][:, -1]
        ax.plot(alphas, curve, marker="o", markersize=3, color=_COLORS[field],
                label=f"{field} (mean {100 * overall.hota.total(field):.2f})")
    ax.set_xlabel("alpha (localisation threshold on keypoint similarity)")
    ax.set_ylabel("score (%)")
    ax.set_ylim(0, 100)
    ax.set_title("Keypoint HOTA against alpha, all joints")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    paths = [_save(fig, out / "hota_alpha.png")]
    fig, _ = _figure(9, 4.5)
    _bars(fig.add_subplot(), result.joints,
          {"HOTA": (100 * overall.hota.mean("HOTA")[:-1], 100 * overall.hota.total("HOTA")),
           "AP": (overall.ap.ap[:-1], float(overall.ap.ap[-1]))}, "score (%)", "Per joint: HOTA and AP")
    paths.append(_save(fig, out / "joints.png"))
    names = list(result.sequences)
    hota = np.array([100 * s.hota.total("HOTA") for s in result.sequences.values()])
    ap = np.array([float(s.ap.ap[-1]) for s in result.sequences.values()])
    fig, _ = _figure(8, max(3.0, 0.28 * len(names) + 1.2))
    _sorted_sequences(fig.add_subplot(), names, ("HOTA", hota), ("AP", ap), "Per sequence, worst HOTA first")
    paths.append(_save(fig, out / "sequences.png"))
    return paths


def _poseval(result, out: Path) -> List[Path]:
    from posetrack.eval.report import nan_total

    overall = result.overall
    fig, _ = _figure(9, 4.5)
    _bars(fig.add_subplot(), result.joints,
          {"AP": (overall.ap, nan_total(overall.ap)), "MOTA": (overall.mota, nan_total(overall.mota))},
          "score (%)", "Per joint: AP and MOTA")
    paths = [_save(fig, out / "joints.png")]
    names = list(result.sequences)
    mota = np.array([s.total("mota") for s in result.sequences.values()])
    ap = np.array([s.total("ap") for s in result.sequences.values()])
    fig, _ = _figure(8, max(3.0, 0.28 * len(names) + 1.2))
    _sorted_sequences(fig.add_subplot(), names, ("MOTA", mota), ("AP", ap), "Per sequence, worst MOTA first")
    paths.append(_save(fig, out / "sequences.png"))
    return paths


def plot_names(result) -> Tuple[str, ...]:
    """The files :func:`plot_result` writes for ``result``."""
    if getattr(result, "benchmark", "") == "posetrack21":
        return ("hota_alpha.png", "joints.png", "sequences.png")
    return ("joints.png", "sequences.png")


def plot_result(result, out_dir: Union[str, Path]) -> List[Path]:
    """Write the PNGs of :func:`plot_names` into ``out_dir`` (created); returns their paths.

    Raises:
        MissingDependencyError: matplotlib is not installed.
        OSError: a file cannot be written (naming it).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if getattr(result, "benchmark", "") == "posetrack21":
        return _pt21(result, out)
    return _poseval(result, out)
