"""Shared fixtures: paths to ../shared and seeded weights in the official checkpoint layout."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
HRNET_REF = SHARED / "reference" / "hrnet"


def _load_make_weights():
    spec = importlib.util.spec_from_file_location("make_weights", HRNET_REF / "make_weights.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def make_weights():
    """The shared weight maker (deterministic random weights in the official layout)."""
    if not (HRNET_REF / "make_weights.py").exists():
        pytest.skip("../shared/reference/hrnet is not present")
    return _load_make_weights()


@pytest.fixture(autouse=True, scope="session")
def _few_threads():
    import torch

    torch.set_num_threads(2)


def pytest_collection_modifyitems(config, items):
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except Exception:  # pragma: no cover
        has_cuda = False
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords and not has_cuda:
            item.add_marker(skip)
