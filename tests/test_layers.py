"""The layers of the package hold: `lint-imports` (import-linter) with the contracts in .importlinter.

Imports only go downward (api -> {pipeline, review, training} -> {tracking, pose, eval, rendering} ->
tracksfile -> models -> io -> core), eval imports neither torch nor cv2, and the library never imports the CLI,
click or rich. CI also runs `lint-imports` on its own, before the tests.
"""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept():
    # In a subprocess: import-linter's CLI reconfigures logging (dictConfig disables every existing
    # logger), which would silence posetrack's loggers for the tests that run after this one.
    done = subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; "
                           "sys.exit(lint_imports(config_filename='.importlinter', no_cache=True, no_logo=True))"],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert " 0 broken." in done.stdout


def test_every_subpackage_is_installed():
    # setup.cfg lists its packages by name: a subpackage missing there works in an editable install
    # (these tests) and is absent from a wheel.
    import configparser

    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    listed = set(cfg["options"]["packages"].split())
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "posetrack").rglob("__init__.py")}
    assert found - listed == set()
