"""benchmarks/grpo_pool.py trains on tasks the warm start solves only sometimes."""

import grpo_pool


def test_the_pool_keeps_tasks_solved_sometimes_in_probe_order():
    passes = [0, 3, 8, 6, 1, 7, 2]
    assert grpo_pool.choose_pool(list("abcdefg"), passes, 10) == ["b", "d", "e", "g"]
    assert grpo_pool.choose_pool(list("abcdefg"), passes, 2) == ["b", "d"]
    assert grpo_pool.choose_pool(list("abc"), [0, 8, 8], 2) == []
