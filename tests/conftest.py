"""Shared fixtures: few threads (one on request), the loopback server, isolated weight caches, the e2e clip.

The suite needs nothing outside the checkout: seeded weights in the official layout come from
:func:`posetrack.models.random_weights.make_state_dict` (or tests/helpers/weights.py), synthetic
PoseTrack sets from :func:`posetrack.eval.synthetic.make_posetrack_set` or tests/data, videos from
tests/helpers/videos.py. Helpers shared between test modules live in tests/helpers/ (a test module
never imports another).
"""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _few_threads():
    import torch

    torch.set_num_threads(2)


@pytest.fixture
def one_thread():
    """One torch thread during the test, then the suite's count again: runs compared bit for bit, and
    on a busy 2-core machine one thread is also the fastest (``pytest.mark.usefixtures("one_thread")``)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


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


@pytest.fixture
def server():
    """The loopback HTTP server (:class:`helpers.server.Server`), stopped after the test."""
    from helpers.server import Server

    s = Server()
    yield s
    s.stop()


@pytest.fixture
def isolated_caches(tmp_path, monkeypatch):
    """Every cache (ours and torch.hub's) inside the test's folder: nothing is cached yet.

    Modules that download or look up weights use it for every test:
    ``pytestmark = pytest.mark.usefixtures("isolated_caches")``.
    """
    monkeypatch.delenv("POSETRACK_CACHE", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))


@pytest.fixture(scope="session")
def video(tmp_path_factory):
    """The ``posetrack run`` end-to-end clip (:func:`helpers.e2e.make_walk`): MP4, PNG frames, boxes, weights."""
    from helpers.e2e import make_walk

    return make_walk(tmp_path_factory.mktemp("video"))
