"""The benchmark scripts import each other and `common` from their own folder, as they do
when run as `python benchmarks/<name>.py`."""

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
