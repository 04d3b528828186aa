"""The statistics of benchmarks/learning.py: the paired bootstrap its verdict rests on."""

import importlib.util
import sys
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "learning.py"
spec = importlib.util.spec_from_file_location("learning_benchmark", PATH)
learning = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = learning  # dataclasses look their module up there
spec.loader.exec_module(learning)


def test_identical_arms_give_a_zero_interval():
    same = [[1, 0, 1, 1, 0]] * 3
    assert learning.paired_bootstrap(same, same) == (0.0, 0.0, 0.0)


def test_an_arm_better_on_every_task_has_an_interval_above_zero():
    base = [[0, 1, 0, 0, 1, 0, 0, 1] for _ in range(3)]
    better = [[1, 1, 1, 0, 1, 1, 0, 1] for _ in range(3)]
    mean, low, high = learning.paired_bootstrap(better, base)
    assert mean == pytest.approx(3 / 8)
    assert 0 < low <= mean <= high


def test_a_difference_on_one_seed_only_is_not_significant():
    """Seeds are resampled too: one lucky seed out of three does not make an effect."""
    base = [[0] * 20 for _ in range(3)]
    arm = [[1] * 20, [0] * 20, [0] * 20]
    mean, low, high = learning.paired_bootstrap(arm, base)
    assert mean == pytest.approx(1 / 3)
    assert low == 0.0 and high == 1.0


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
