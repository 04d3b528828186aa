"""The reward rules: solver reward by mode, learnability, proposal rewards."""

import pytest

from zeroplay.rewards import learnability, proposal_reward, solve_rate, solver_reward

PENALTIES = {"format_penalty": -1.0, "invalid_penalty": -0.5}


@pytest.mark.parametrize(("passed", "hidden", "mode", "want"), [
    (5, 5, "all_pass", 1.0), (4, 5, "all_pass", 0.0), (0, 5, "all_pass", 0.0),
    (4, 5, "pass_fraction", 0.8), (0, 0, "all_pass", 0.0), (0, 0, "pass_fraction", 0.0),
])
def test_solver_reward(passed, hidden, mode, want):
    assert solver_reward(passed, hidden, mode) == pytest.approx(want)


@pytest.mark.parametrize(("rate", "want"), [
    (None, 0.0), (0.0, 0.0), (1.0, 0.0), (0.25, 0.75), (0.875, 0.125),
])
def test_learnability(rate, want):
    assert learnability(rate) == pytest.approx(want)


@pytest.mark.parametrize(("outcome", "rate", "want"), [
    ("format", None, -1.0), ("duplicate", None, -0.5), ("rejected", None, -0.5),
    ("valid", None, 0.0), ("valid", 1.0, 0.0), ("valid", 0.25, 0.75),
])
def test_proposal_reward(outcome, rate, want):
    assert proposal_reward(outcome, solve_rate=rate, **PENALTIES) == pytest.approx(want)


def test_solve_rate():
    assert solve_rate([]) is None
    assert solve_rate([True, True, False, False]) == 0.5
