"""The change in held-out pass@1 over a run, paired task by task."""

import pytest

from zeroplay.launch.heldout import heldout_change


def test_no_change_has_a_zero_interval():
    solved = {"heldout-seen": {f"t{i}": i % 2 for i in range(20)}}
    assert heldout_change(solved, solved) == {"heldout-seen": (0.0, 0.0, 0.0)}


def test_tasks_lost_give_a_negative_change_and_a_paired_interval():
    start = {"heldout-unseen": {f"t{i}": 1 for i in range(40)}}
    end = {"heldout-unseen": {f"t{i}": int(i >= 12) for i in range(40)}}  # 12 of 40 lost
    change, low, high = heldout_change(start, end)["heldout-unseen"]
    assert change == pytest.approx(-0.3)
    assert -0.5 < low < change < high < 0


def test_only_tasks_and_splits_judged_both_times_count():
    start = {"heldout-seen": {"a": 0, "b": 1}, "heldout-unseen": {"c": 1}}
    end = {"heldout-seen": {"a": 1, "b": 1, "new": 0}}
    assert heldout_change(start, end) == {"heldout-seen": (pytest.approx(0.5), 0.0, 1.0)}
