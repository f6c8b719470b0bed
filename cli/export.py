"""`posetrack export`: the pose network (and optionally the detector) as ONNX, checked with ONNX Runtime."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator, Optional

import click

from posetrack.models import DEFAULT_POSE_MODEL

from ._common import CONTEXT, OutputFile, RegistryChoice

EPILOG = """\b
Examples:
  posetrack export --out w48_384x288.onnx                      # default model and weights (downloads once)
  posetrack export --pose-model w32_256x192 --pose-weights w32.pth --out w32.onnx
  posetrack export --seeded --out test.onnx                    # seeded random weights: no download
  posetrack export --out pose.onnx --detector-out det.onnx --detector-weights frcnn.pth
  posetrack export --seeded --out test.onnx --force            # replace an existing test.onnx
"""

def _formats() -> tuple:
    from posetrack.models.onnx import EXPORT_FORMATS

    return tuple(EXPORT_FORMATS)


@click.command("export", context_settings=CONTEXT, epilog=EPILOG)
@click.option("--format", "fmt", type=RegistryChoice(_formats), default="onnx", show_default=True,
              help="Export format.")
@click.option("--pose-model", default=DEFAULT_POSE_MODEL, show_default=True, help="Pose model config or a YAML path.")
@click.option("--pose-weights", default=None,
              help="Weights: a name from the model config, a file or a URL.  [default: the config's default]")
@click.option("--seeded", is_flag=True, help="Seeded random weights instead (tests, no download).")
@click.option("-o", "--out", type=OutputFile(), required=True,
              help="The pose .onnx file to write.")
@click.option("--no-fuse", is_flag=True, help="Keep BatchNorm layers (default: folded into the convolutions).")
@click.option("--opset", type=click.IntRange(min=11), default=17, show_default=True, help="ONNX opset.")
@click.option("--detector-out", type=OutputFile(), default=None,
              help="Also export the person detector to this .onnx file.")
@click.option("--detector", "detector_name", default=None,
              help="torchvision detector name.  [default: from configs/detector.yaml]")
@click.option("--detector-weights", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Local detector weights (offline use).")
@click.option("--check/--no-check", default=True, show_default=True,
              help="Compare ONNX Runtime with PyTorch on a seeded input (heatmaps within 1e-4; detector "
                   "boxes found by both within 0.1 px).")
@click.option("--force", is_flag=True, help="Overwrite existing .onnx files.")
def export(fmt: str, pose_model: str, pose_weights: Optional[str], seeded: bool, out: Path, no_fuse: bool,
           opset: int, detector_out: Optional[Path], detector_name: Optional[str],
           detector_weights: Optional[str], check: bool, force: bool) -> None:
    """Export the pose network for ONNX Runtime, TensorRT or other runtimes.

    The graph takes normalised crops (B, 3, H, W) and returns heatmaps (B, K, H/4, W/4);
    the official crops, flip test and decoding run outside it (`posetrack run --backend
    onnxruntime` does all of that). The check runs ONNX Runtime against PyTorch and fails
    the command if they differ by more than the tolerance. Existing files are never
    overwritten without --force, and no output may be an input (weights, a model YAML).
    """
    from posetrack.models.backends import check_opset
    from posetrack.errors import ConfigError
    from posetrack.io.guard import check_writes
    from posetrack.models.registry import build_pose_model, load_model_config, seeded_state_dict
    from posetrack.models.onnx import check_pose, export_pose

    check_opset(opset)           # before any model is built or downloaded
    check_writes({"out": out, "detector_out": detector_out},
                 {"pose_weights": pose_weights, "detector_weights": detector_weights, "pose_model": pose_model},
                 force=force)
    cfg = load_model_config(pose_model)
    _fetch_weights(None if seeded else pose_model, pose_weights, detector_out, detector_name, detector_weights)
    if seeded:
        model = build_pose_model(pose_model)
        model.load_state_dict(seeded_state_dict(model, 0))
    else:
        weights = pose_weights or cfg.default_weights
        if weights is None:
            raise ConfigError(f"pose model {cfg.name!r} has no published weights; give --pose-weights or --seeded")
        model = build_pose_model(pose_model, weights=weights)
    with _checked_file(out) as tmp:
        path = export_pose(model, tmp, fuse_bn=not no_fuse, opset=opset)
        if check:
            _report("pose", check_pose(model, path))
    click.echo(f"wrote {out} ({out.stat().st_size / 2**20:.1f} MiB)")
    if detector_out is not None:
        _export_detector(detector_out, detector_name, detector_weights, opset, check)


def _fetch_weights(pose_model: Optional[str], pose_weights: Optional[str], detector_out: Optional[Path],
                   detector_name: Optional[str], detector_weights: Optional[str]) -> None:
    """Every weights file the export reads, downloaded up front, or all missing ones named with their flags."""
    from posetrack.pipeline.configs import detector_config
    from posetrack.pipeline.options import ModelOptions, RuntimeOptions
    from posetrack.pipeline.weights import detector_weights_file, pose_weights_file

    from ._progress import fetch_files

    files = [] if pose_model is None else [pose_weights_file(pose_model, pose_weights)]
    if detector_out is not None:
        cfg = detector_config(ModelOptions(detector_name=detector_name), RuntimeOptions())
        files.append(detector_weights_file(cfg, detector_weights))
    fetch_files([f for f in files if f is not None])


def _report(what: str, result) -> None:
    from posetrack.errors import ConfigError

    line = f"{what}: ONNX Runtime vs PyTorch max abs error {result.max_abs_error:.2e} (output range " \
           f"{result.output_range:.3g}, shape {result.shape}{'; ' + result.note if result.note else ''})"
    if not result.ok:
        raise ConfigError(line + f" exceeds {result.tolerance:g}")
    click.echo(line + " ok")


def _export_detector(out: Path, name: Optional[str], weights: Optional[str], opset: int, check: bool) -> None:
    import torch

    from posetrack.models.onnx import check_detector, export_detector
    from posetrack.pipeline.configs import detector_config
    from posetrack.pipeline.options import ModelOptions, RuntimeOptions
    from posetrack.pose.detector import build_detector

    cfg = detector_config(ModelOptions(detector_name=name), RuntimeOptions())
    detector = build_detector(cfg, weights_path=weights)
    with _checked_file(out) as tmp:
        path = export_detector(detector.model, tmp, opset=opset)
        if check:
            image = torch.rand(3, 360, 480, generator=torch.Generator().manual_seed(0))
            _report("detector boxes", check_detector(detector.model, path, image))
    click.echo(f"wrote {out} ({out.stat().st_size / 2**20:.1f} MiB)")


@contextlib.contextmanager
def _checked_file(out: Path) -> Iterator[Path]:
    """The ``.tmp`` path to export to; renamed to ``out`` once the block (export and check) succeeds.

    A failed check, an error or Ctrl-C removes it, so ``out`` is never a file that failed its check
    or was cut off (and a rerun needs no --force).
    """
    from posetrack.io.atomic import named_os_errors, tmp_path

    tmp = tmp_path(out)
    try:
        yield tmp
        with named_os_errors(out):
            os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
