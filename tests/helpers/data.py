"""Where the committed reference data lives (origins in tests/data/README.md)."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
HRNET_REF = DATA / "hrnet"
CASES = DATA / "cases"
