"""benchmarks/learning.py: its per-operation scores and training-reward halves (the
bootstrap it reports is tested with the other statistics, tests/eval/test_stats.py)."""

import learning
import pytest


def test_scores_by_number_of_operations():
    class T:
        def __init__(self, n):
            self.tags = ("op",) * n

    tasks = [T(1), T(2), T(1)]
    assert learning.by_ops(tasks, [1.0, 0.0, 0.0]) == {"1 ops": 0.5, "2 ops": 0.0}
    assert learning.by_ops(tasks, [1.0, 0.0, 0.0], count=True) == {"1 ops": 2, "2 ops": 1}


def test_training_reward_halves_split_the_steps_not_the_completions():
    steps = [{"reward": [0.0, 0.0, 1.0], "first_try": [0.0]},
             {"reward": [1.0], "first_try": []},
             {"reward": [1.0, 1.0], "first_try": [1.0, 0.0]}]
    assert learning.reward_halves(steps, "reward") == (pytest.approx(1 / 3), 1.0)
    assert learning.reward_halves(steps, "first_try") == (0.0, 0.5)
    assert learning.reward_halves(steps[:1], "reward") is None  # no second half to compare
