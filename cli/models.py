"""`posetrack models`: the pose models we ship, measured on the models themselves."""
from __future__ import annotations

import click

from ._common import CONTEXT


@click.command("models", context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of a table.")
def models(as_json: bool) -> None:
    """List the pose model configs with parameters, GFLOPs and published weights.

    GFLOPs follow the HRNet paper: convolution multiply-accumulates of one forward
    pass divided by 2^30, counted on the model itself (built on torch's meta device,
    so nothing is computed or downloaded).

    \b
    Example:
      posetrack models
      posetrack run video.mp4 --pose-model w32_256x192 --out tracks.json
    """
    import json

    import torch

    from posetrack.models import build_pose_model, count_gflops, count_parameters, list_pose_models

    rows = []
    for name in list_pose_models():
        with torch.device("meta"):
            model = build_pose_model(name)
        cfg = model.config
        rows.append({
            "name": name,
            "input": f"{cfg.input_size[0]}x{cfg.input_size[1]}",
            "params": count_parameters(model),
            "gflops": round(count_gflops(model, cfg.input_size), 2),
            "keypoints": cfg.keypoints,
            "weights": {k: {"url": w.url, "keypoints": w.keypoints} for k, w in cfg.weights.items()},
            "default_weights": cfg.default_weights,
        })
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Pose models (GFLOPs = conv MACs / 2^30, as in the HRNet paper)")
    for col in ("name", "input (HxW)", "params", "GFLOPs", "weights"):
        table.add_column(col, justify="right" if col in ("params", "GFLOPs") else "left")
    for r in rows:
        weights = ", ".join(f"{k}{'*' if k == r['default_weights'] else ''}" for k in r["weights"]) or "-"
        table.add_row(r["name"], r["input"], f"{r['params'] / 1e6:.1f}M", f"{r['gflops']:.1f}", weights)
    Console().print(table)
    click.echo("* default weights of `posetrack run`; choose others with --pose-weights NAME|PATH|URL")
