"""The layers of the package hold: `lint-imports` (import-linter) with the contracts in .importlinter.

Imports only go downward (api -> pipeline -> {tracking, pose, eval, rendering} -> tracksfile ->
models -> io -> core), eval imports neither torch nor cv2, and the library never imports the CLI,
click or rich. CI also runs `lint-imports` on its own, before the tests.
"""
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / ".importlinter"), no_cache=True, no_logo=True) == 0
