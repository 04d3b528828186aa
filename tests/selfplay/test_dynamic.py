"""Dynamic sampling's bookkeeping: which groups are kept, what is dropped and why, and
when refills stop (the step with the real sandbox is in test_step.py)."""

import pytest

from zeroplay.handoff import Completion
from zeroplay.selfplay.dynamic import SolverRounds, zero_std_cause
from zeroplay.selfplay.score import Score
from zeroplay.selfplay.solve import Solution

from ..curricula.conftest import make_task


def _round(rewards_per_group, first_prompt=0):
    """Solutions and scores of one round: one group per list of rewards."""
    solutions, scores = [], []
    for g, rewards in enumerate(rewards_per_group):
        task = make_task(100 * first_prompt + g)
        for r in rewards:
            out = Completion(first_prompt + g, [1], [2], [-0.1], "t", "stop", 0)
            solutions.append(Solution(out, task, "def f(x): return x"))
            scores.append(Score(r, "pass" if r == 1 else "fail", task.id))
    return solutions, scores


@pytest.mark.parametrize(("rewards", "cause"), [
    ([1.0, 1.0, 1.0], "all_pass"), ([0.0, 0.0, 0.0], "all_fail"),
    ([0.4, 0.4, 0.4], "all_equal"), ([1.0, 0.0, 0.0], None), ([0.5, 0.4, 0.4], None),
])
def test_zero_std_cause(rewards, cause):
    assert zero_std_cause(rewards) == cause


def test_equal_reward_groups_are_dropped_whole_and_counted_by_cause():
    rounds = SolverRounds(target=3, filtering=True, max_rounds=3)
    rounds.add(*_round([[1, 1, 1], [0, 0, 0], [1, 0, 0], [0, 0, 0]]))
    assert rounds.dropped == {"all_pass": 1, "all_fail": 2, "all_equal": 0}
    kept = list(rounds.pairs(kept=True))
    assert [out.prompt_index for out, _ in kept] == [2, 2, 2]
    assert len(list(rounds.pairs(kept=False))) == 9
    assert rounds.frac_zero_std() == 0.75 and len(rounds.scores) == 12  # all are attempts
    assert rounds.refill_size() == 2  # one task per missing informative group


def test_refills_stop_when_full_or_at_the_bound():
    full = SolverRounds(target=2, filtering=True, max_rounds=5)
    full.add(*_round([[1, 0], [0, 0]]))
    full.add(*_round([[0, 1]], first_prompt=2))
    assert full.informative == 2 and full.refill_size() == 0
    bounded = SolverRounds(target=2, filtering=True, max_rounds=2)
    bounded.add(*_round([[0, 0], [0, 0]]))
    assert bounded.refill_size() == 2
    bounded.add(*_round([[0, 0], [1, 1]], first_prompt=2))
    assert bounded.rounds == 2 and bounded.refill_size() == 0
    assert bounded.informative == 0 and list(bounded.pairs(kept=True)) == []


def test_without_dynamic_sampling_every_group_is_kept_and_none_refilled():
    rounds = SolverRounds(target=4, filtering=False, max_rounds=3)
    rounds.add(*_round([[1, 1], [0, 0], [1, 0]]))
    assert len(list(rounds.pairs(kept=True))) == 6
    assert rounds.dropped == {"all_pass": 0, "all_fail": 0, "all_equal": 0}
    assert rounds.frac_zero_std() == pytest.approx(2 / 3)  # still reported
    assert rounds.refill_size() == 0
