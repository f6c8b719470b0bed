"""Seeded weights for the tiny HRNet (configs/hrnet_tiny_128x96.yaml) in the official layout."""
from __future__ import annotations

import io
from pathlib import Path


def tiny_state_dict(seed: int = 0, bias: float = 0.0) -> dict:
    """The tiny HRNet's state dict after ``torch.manual_seed(seed)``; ``bias`` is added to the heatmap
    layer's bias (1.0: heatmap maxima near 1, like a trained net's, so joints pass the tracker's 0.4;
    0.7: near 0.75, so flow-propagated chains with nobody in them fade within two frames)."""
    import torch

    from posetrack.models.registry import build_pose_model

    torch.manual_seed(seed)
    state = build_pose_model("hrnet_tiny_128x96").state_dict()
    if bias:
        state["final_layer.bias"] += bias
    return state


def write_tiny_weights(path: Path, seed: int = 0, bias: float = 1.0) -> Path:
    """:func:`tiny_state_dict` saved with ``torch.save`` at ``path``."""
    import torch

    torch.save(tiny_state_dict(seed, bias), path)
    return Path(path)


def checkpoint_bytes() -> bytes:
    """The tiny HRNet's seeded weights (seed 1) as a .pth file's bytes."""
    import torch

    buf = io.BytesIO()
    torch.save(tiny_state_dict(seed=1), buf)
    return buf.getvalue()


def model_config(folder: Path, url: str, sha256: str) -> Path:
    """A copy of the tiny model config whose default ``coco`` weights are published at ``url``."""
    from posetrack.config import config_path

    text = config_path("hrnet_tiny_128x96").read_text().replace("name: hrnet_tiny_128x96", "name: tiny_published")
    text += f"default_weights: coco\nweights:\n  coco:\n    url: {url}\n    sha256: \"{sha256}\"\n    keypoints: coco\n"
    path = folder / "tiny_published.yaml"
    path.write_text(text)
    return path
