"""Shared fixtures: the committed reference data (tests/data, origins in its README) and a small thread count.

The suite needs nothing outside the checkout: seeded weights in the official layout come from
:func:`posetrack.models.random_weights.make_state_dict`, synthetic PoseTrack sets from
:func:`posetrack.eval.synthetic.make_posetrack_set` or tests/data.
"""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
HRNET_REF = DATA / "hrnet"
CASES = DATA / "cases"


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
