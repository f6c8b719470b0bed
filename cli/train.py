"""`posetrack train`: train or fine-tune HRNet with the official recipe (configs/train/*.yaml)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from ._common import CONTEXT, RegistryChoice
from ._errors import UserError

EPILOG = """\b
Examples:
  posetrack train --config coco_w32_256x192 --data data/coco --out runs/w32
  posetrack train --config posetrack18_w32_256x192 --data data/PoseTrack --out runs/pt18
  posetrack train --config my_layout.yaml --data data/mice --out runs/mice --weights coco
  posetrack train --config coco_w32_256x192 --data data/coco --out runs/w32 --resume
  posetrack train --config tiny_synthetic --data toy --out runs/toy --make-synthetic   # a demo: minutes on a CPU
  torchrun --nproc_per_node 4 -m posetrack_cli train --config coco_w32_256x192 --data data/coco --out runs/w32

\b
Then use the weights:
  posetrack run video.mp4 --pose-model w32_256x192 --pose-weights runs/w32/model_best.pth
"""


def _precisions() -> tuple:
    """--precision's choices, read when help or a value needs them: those of training.config.PRECISIONS (auto
    and the backends' precisions), taken from models.backends (20 ms; training.config imports numpy: 170 ms)."""
    from posetrack.models.backends import PRECISIONS

    return ("auto", *PRECISIONS)


@click.command("train", context_settings=CONTEXT, epilog=EPILOG)
@click.option("--config", "config_name", required=True,
              help="A shipped training config (coco_w32_256x192, posetrack18_w32_256x192, tiny_synthetic, ...) or a "
                   "YAML path; every value's source is written beside it.")
@click.option("--data", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="The data set's root folder (README \"Training\" gives the layouts).")
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder: checkpoint.pth, model_best.pth, final_state.pth, log.csv, curves.png.")
@click.option("--weights", default=None,
              help="Starting weights: seeded[:N], a name from the model config (coco, posetrack18), a .pth/mmpose/"
                   "posetrack-train checkpoint or a URL.  [default: the config's]")
@click.option("--keypoints", default=None,
              help="Keypoint layout of the data: coco, posetrack18 or a layout YAML.  [default: the config's]")
@click.option("--detections", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Validate in the boxes of this COCO detection-results file instead of the ground-truth boxes.")
@click.option("--freeze-stages", type=click.IntRange(0, 4), default=None,
              help="Freeze the stem and HRNet stages 1..N (their BatchNorms too).  [default: the config's, 0]")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Override the config's epochs.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Override the batch size (all processes together).")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=None, help="Override the learning rate.")
@click.option("--workers", type=click.IntRange(min=0), default=None, help="Data-loading processes.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N (torchrun: each process its GPU).")
@click.option("--precision", type=RegistryChoice(_precisions), default=None,
              help="Mixed precision (autocast).  [default: the config's; auto = fp16 on CUDA, fp32 on CPU]")
@click.option("--channels-last/--no-channels-last", default=None,
              help="NHWC memory layout.  [default: on for CUDA]")
@click.option("--seed", type=int, default=None, help="Override the config's seed.")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its checkpoint.pth (same config and data).")
@click.option("--force", is_flag=True, help="Replace an earlier run's files in --out.")
@click.option("--tensorboard", is_flag=True, help="Also write TensorBoard events to OUT/tensorboard (pip install tensorboard).")
@click.option("--make-synthetic", is_flag=True,
              help="First write a stick-figure keypoint set (COCO layout) into --data (for a demo or a smoke test).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(config_name: str, data: Path, out: Path, weights: Optional[str], keypoints: Optional[str],
          detections: Optional[str], freeze_stages: Optional[int], epochs: Optional[int], batch_size: Optional[int], lr: Optional[float],
          workers: Optional[int], device: str, precision: Optional[str], channels_last: Optional[bool],
          seed: Optional[int], resume: bool, force: bool, tensorboard: bool, make_synthetic: bool,
          quiet: bool) -> None:
    """Train or fine-tune HRNet the way the paper trained it.

    The recipe (official HRNet): box-centred affine crops with random scale (0.35), rotation
    (45 deg, p 0.6), flip (p 0.5) and half-body crops (p 0.3); Gaussian heatmap targets with
    target weights; the MSE loss; Adam with the official learning-rate steps. Validation after
    each epoch gives COCO keypoint AP (pycocotools) through the same pose estimator `run` uses
    (flip test, rescoring, OKS-NMS). Checkpoints keep the official key layout, so `posetrack run
    --pose-weights` loads them as they are, with their keypoint layout. Under torchrun each
    process trains on its GPU (DDP). Ctrl-C or a kill loses at most the current epoch (or
    checkpoint_every steps): rerun with --resume.
    """
    from posetrack.training.config import load_train_config

    config = load_train_config(config_name)
    changes = {k: v for k, v in {"weights": weights, "data.keypoints": keypoints,
                                 "data.detections": detections, "freeze_stages": freeze_stages,
                                 "optimizer.epochs": epochs, "optimizer.batch_size": batch_size, "optimizer.lr": lr,
                                 "data.workers": workers, "precision": precision, "channels_last": channels_last,
                                 "seed": seed}.items() if v is not None}
    config = config.replace(**changes)
    if resume and force:
        raise click.UsageError("--resume continues the run in --out and --force replaces it; give one")
    if make_synthetic:
        from posetrack.training.synthetic import make_stick_figures

        if data.exists() and any(data.iterdir()):
            raise UserError(f"{data}: --make-synthetic writes a new data set; give an empty or new folder")
        make_stick_figures(data, seed=config.seed)
    ctx = click.get_current_context()
    ctx.ensure_object(dict)["interrupt_hint"] = f"Continue with the same command and --resume (output in {out})."
    from posetrack.errors import OutputExistsError
    from posetrack.training.trainer import train as run_training

    with TrainProgress(enabled=not quiet) as bar:
        try:
            summary = run_training(config, data, out, device=device, resume=resume, force=force,
                                   tensorboard=tensorboard, progress=bar)
        except OutputExistsError as e:
            raise UserError(f"{e.path} already holds a training run: continue it with --resume or replace it "
                            "with --force") from e
    if summary.rank != 0:
        return
    best = ("not validated" if summary.best_ap is None else
            f"best AP {100 * summary.best_ap:.1f}: {out / 'model_best.pth'}")
    click.echo(f"{summary.steps} steps, {summary.epochs} epochs on {summary.people} people in "
               f"{summary.seconds / 60:.1f} min; {best}. Last weights: {out / 'final_state.pth'}; "
               f"log: {out / 'log.csv'}, curves: {out / 'curves.png'}", err=True)


class TrainProgress:
    """A rich progress bar fed by :class:`posetrack.training.trainer.TrainEvent` callbacks:
    steps done of all, epoch, loss, learning rate, ETA; validation shown as its own phase."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self._bar = None
        self._task = None
        self._ap = ""

    def __call__(self, event) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[info]}"), console=Console(stderr=True))
            self._bar.start()
            self._task = self._bar.add_task("training", total=event.total_steps, info="")
        if event.phase == "epoch" and event.metrics:
            self._ap = f"  AP {100 * event.metrics['AP']:.1f}"
        if event.phase == "done":
            info = f"epoch {event.epoch + 1}/{event.epochs}{self._ap}  done"
        elif event.phase == "validate":
            info = f"epoch {event.epoch + 1}/{event.epochs}  validating {event.done}/{event.total} images"
        else:
            loss = "" if event.loss is None else f"  loss {event.loss:.3g}"
            info = f"epoch {event.epoch + 1}/{event.epochs}{loss}  lr {event.lr:.3g}{self._ap}  {_eta(event.eta)}"
        self._bar.update(self._task, completed=event.step, total=event.total_steps, info=info)

    def __enter__(self) -> "TrainProgress":
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()


def _eta(seconds: Optional[float]) -> str:
    if seconds is None:
        return "eta -:--:--"
    s = int(round(seconds))
    return f"eta {s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"
