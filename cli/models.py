"""`posetrack models`: the pose models we ship, with parameters and GFLOPs from their architecture tables."""
from __future__ import annotations

import click

from ._common import CONTEXT


@click.command("models", context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of a table.")
def models(as_json: bool) -> None:
    """List the pose model configs with parameters, GFLOPs and published weights.

    GFLOPs follow the HRNet paper: convolution multiply-accumulates of one forward
    pass divided by 2^30. Both numbers are computed from each config's architecture
    table (no model is built, torch is not imported); a test checks them against the
    built models.

    \b
    Example:
      posetrack models
      posetrack run video.mp4 --pose-model w32_256x192 --out tracks.json
    """
    import json

    from posetrack.models.cost_table import model_summaries

    rows = model_summaries()
    if as_json:
        click.echo(json.dumps([{
            "name": r.name,
            "default": r.default,
            "input": f"{r.input_size[0]}x{r.input_size[1]}",
            "params": r.params,
            "gflops": round(r.gflops, 2),
            "keypoints": r.keypoints,
            "weights": {k: {"url": url, "keypoints": kp, "dataset": ds} for k, (url, kp, ds) in r.weights.items()},
            "default_weights": r.default_weights,
        } for r in rows], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Pose models (GFLOPs = conv MACs / 2^30, as in the HRNet paper)")
    for col in ("name", "input (HxW)", "params", "GFLOPs", "weights"):
        table.add_column(col, justify="right" if col in ("params", "GFLOPs") else "left")
    for r in rows:
        weights = ", ".join(f"{k}{'*' if k == r.default_weights else ''}" for k in r.weights) or "- (tests only)"
        table.add_row(r.name + (" (default)" if r.default else ""), f"{r.input_size[0]}x{r.input_size[1]}",
                      f"{r.params / 1e6:.1f}M", f"{r.gflops:.1f}" if r.gflops >= 0.05 else f"{r.gflops:.2f}",
                      weights)
    Console().print(table)
    click.echo("(default): the model `posetrack run` uses; choose another with --pose-model NAME\n"
               "*: the model's default weights; choose others with --pose-weights NAME|PATH|URL")
