"""Where the committed reference data lives (origins in tests/data/README.md)."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
HRNET_REF = DATA / "hrnet"
CASES = DATA / "cases"
PARITY = DATA / "eval-parity"             # poseval's numbers (PoseTrack 2017/2018)
PARITY_PT21 = DATA / "eval-parity-pt21"   # the PoseTrack21 kit's numbers
