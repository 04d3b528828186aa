"""The README's commands stay true to what the tests run."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_rehearsal_by_hand_uses_the_tests_overrides():
    """The README's cluster rehearsal sets exactly what the rehearsal test overrides."""
    from tests.launch.test_cluster_rehearsal import OVERRIDES

    readme = (ROOT / "README.md").read_text()
    listed = re.search(r'CPU="([^"]+)"', readme)
    assert listed, "the README's rehearsal lists its overrides in CPU=\"...\""
    assert listed.group(1).split() == OVERRIDES
