"""HumanEval problems and their check() tests, run in the real sandbox."""

from zeroplay.eval.humaneval import (
    canonical_program,
    check_candidate,
    fingerprints,
    load_problems,
    solution_program,
)
from zeroplay.sandbox.batch import judge_many


def test_ships_all_164_problems_in_order():
    problems = load_problems()
    assert len(problems) == 164
    assert [p.index for p in problems] == list(range(164))
    assert load_problems(limit=3) == problems[:3]


def test_canonical_passes_and_broken_fails_in_the_sandbox(pool):
    p0, p2 = load_problems(limit=3)[0], load_problems(limit=3)[2]
    broken = canonical_program(p0).replace("distance < threshold", "distance > threshold")
    assert broken != canonical_program(p0)
    whole_function = f"def {p2.entry_point}(number):\n    return number % 1.0\n"
    hostile = f"def {p2.entry_point}(number):\n    while True:\n        pass\n"
    candidates = [check_candidate(p0, canonical_program(p0)), check_candidate(p0, broken),
                  check_candidate(p2, solution_program(p2, whole_function)),
                  check_candidate(p2, solution_program(p2, hostile)),
                  check_candidate(p2, "this is not python")]
    verdicts = judge_many(pool, candidates, pool.cfg)
    assert [v.status for v in verdicts] == ["pass", "fail", "pass", "timeout", "error"]
    assert [v.reward for v in verdicts] == [1.0, 0.0, 1.0, 0.0, 0.0]
    assert "AssertionError" in verdicts[1].detail["error"]


def test_fingerprints_name_a_copied_problem_and_not_a_fresh_one():
    prints = fingerprints()
    p = load_problems()[3]
    renamed = canonical_program(p).replace(p.entry_point, "f").replace("balance", "acc")
    assert prints.match("unrelated statement", renamed) == p.task_id
    assert prints.match("  " + p.prompt.upper() + "\n", "") == p.task_id
    assert prints.match("Return x plus 1.", "def f(x):\n    return x + 1\n") is None
