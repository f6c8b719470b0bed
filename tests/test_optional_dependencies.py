"""An optional package that is missing: every place that needs one raises posetrack.errors.MissingDependencyError,
naming an extra that setup.cfg defines, with the pip command that installs it."""
from __future__ import annotations

import configparser
import pickle
import sys
from pathlib import Path

import pytest

from posetrack.errors import MissingDependencyError, PosetrackError

ROOT = Path(__file__).resolve().parents[1]


def _supervision():
    from posetrack.interop import to_supervision
    from posetrack.types import Poses

    to_supervision(Poses.empty(17))


def _sleap():
    from helpers.review_data import crossing
    from posetrack.tracksfile.sleap import to_sleap_labels

    to_sleap_labels(crossing(n=2))


def _sleap_target():
    from posetrack.tracksfile.targets import check_target

    check_target("slp", "out.slp", setting="out")


def _plots():
    from posetrack.eval.plots import _figure

    _figure(4, 3)


def _onnx_check(tmp_path):
    from posetrack.models.onnx import _ort_session

    _ort_session(tmp_path / "model.onnx")


def _onnx_export(tmp_path):
    from posetrack.models.backends import export_target

    export_target(tmp_path / "model.onnx", 17)


def _ray():
    from posetrack.pipeline.engine_ray import import_ray

    import_ray()


# (what, the module made missing, the call, the extra, the field)
SITES = [
    ("supervision", "supervision", lambda tmp: _supervision(), "supervision", None),
    ("sleap-io", "sleap_io", lambda tmp: _sleap(), "sleap", None),
    ("convert --to slp", "sleap_io", lambda tmp: _sleap_target(), "sleap", "out"),
    ("eval --plot", "matplotlib", lambda tmp: _plots(), "plot", "plot"),
    ("ONNX check", "onnxruntime", _onnx_check, "onnx", None),
    ("ONNX export", "onnx", _onnx_export, "onnx", None),
    ("ray engine", "ray", lambda tmp: _ray(), "ray", None),
]


@pytest.mark.parametrize("what, module, call, extra, field", SITES, ids=[s[0] for s in SITES])
def test_a_missing_package_names_its_extra(monkeypatch, tmp_path, what, module, call, extra, field):
    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)        # `import module` raises ImportError, find_spec is None
    with pytest.raises(MissingDependencyError) as caught:
        call(tmp_path)
    e = caught.value
    assert e.extra == extra and e.field == field
    assert str(e).endswith(f': pip install "posetrack[{extra}]"')
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    assert extra in cfg["options.extras_require"]


def test_the_error_is_one_of_ours_and_survives_a_worker_process():
    e = MissingDependencyError("backend 'tensorrt' needs the torch_tensorrt package", field="backend",
                               install="pip install torch-tensorrt (the build that matches your torch)")
    assert isinstance(e, PosetrackError) and isinstance(e, RuntimeError)
    back = pickle.loads(pickle.dumps(e))                  # how multiprocessing and Ray return a worker's error
    assert str(back) == str(e) == ("backend 'tensorrt' needs the torch_tensorrt package: "
                                   "pip install torch-tensorrt (the build that matches your torch)")
    assert (back.extra, back.field, back.install) == (None, "backend", e.install)
