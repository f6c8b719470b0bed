"""What a `posetrack` command imports: run it in a fresh interpreter (start-up cost tests)."""
from __future__ import annotations

import json
import subprocess
import sys
from typing import Iterable, List, Sequence, Tuple


def fresh_cli(argv: Sequence[str], modules: Iterable[str]) -> Tuple[object, str, List[str]]:
    """Run ``posetrack *argv`` in a new Python process: (exit code, stdout, which of ``modules`` it imported)."""
    code = ("import json, sys; from posetrack_cli import main\n"
            f"try:\n    main({[str(a) for a in argv]!r})\n    code = 0\nexcept SystemExit as e:\n    code = e.code\n"
            f"print('\\nSTARTUP', json.dumps([code, [m for m in {list(modules)!r} if m in sys.modules]]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    head, _, tail = out.rpartition("\nSTARTUP ")
    exit_code, loaded = json.loads(tail)
    return exit_code, head, loaded
