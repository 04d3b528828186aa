"""The record stage: one transaction per step, recording the same step twice adds
nothing but the step's summary, and dropped solver groups are attempts, not samples."""

from zeroplay.curricula.admit import Vetted
from zeroplay.curricula.store import CurriculumStore
from zeroplay.handoff import Completion
from zeroplay.selfplay.dynamic import SolverRounds
from zeroplay.selfplay.groups import as_groups, to_samples
from zeroplay.selfplay.propose import Proposal
from zeroplay.selfplay.record import record_step
from zeroplay.selfplay.score import Score
from zeroplay.selfplay.solve import Solution

from ..curricula.conftest import make_task


def _step(task, filtering=False):
    outs = [Completion(0, [1, 2], [3, 4 + i], [-0.1, -0.2], f"text {i}", "stop", 2)
            for i in range(3)]
    solutions = [Solution(out, task, "def f(x): return x", "") for out in outs]
    proposal = Proposal(Completion(0, [5], [6], [-0.3], "no tags", "length", 2), (task.id,),
                        None, "truncated:no_format")
    solver = SolverRounds(target=1, filtering=filtering, max_rounds=2)
    solver.add(solutions, [Score(float(i == 0), "pass" if i == 0 else "fail", task.id)
                           for i in range(3)])
    samples = (to_samples("solver", solver.pairs(kept=True), step=7)
               + to_samples("proposer", [(proposal.completion,
                                          Score(-1.0, "format:truncated:no_format", None))],
                            step=7))
    return solver, [proposal], samples


def test_record_writes_attempts_samples_and_provenance_once(tmp_path):
    task = make_task(1)
    with CurriculumStore.open(tmp_path / "c.sqlite", create=True, run_id="r") as store:
        with store.transaction(step=0):
            store.add_task(task)
        solver, proposals, samples = _step(task)
        summary = record_step(store, 7, Vetted(), proposals, solver, samples, run_id="r")
        assert summary["solutions"] == {"pass": 1, "fail": 2}
        assert summary["proposals"] == {"format": 1}
        assert summary["format_reasons"] == {"truncated:no_format": 1}
        assert len(store.attempts(task.id)) == 3
        rows = store.samples()
        assert [r.role for r in rows].count("proposer") == 1 and len(rows) == 4
        assert all(r.provenance.origin == "policy" and r.provenance.policy_version == 2
                   for r in rows)
        solver_parents = {r.provenance.parent_task_ids for r in rows if r.role == "solver"}
        assert solver_parents == {(task.id,)}
        record_step(store, 7, Vetted(), proposals, solver, samples, run_id="r")
        assert len(store.attempts(task.id)) == 3 and len(store.samples()) == 4


def test_a_dropped_group_is_recorded_as_attempts_but_not_as_samples(tmp_path):
    task = make_task(3)
    with CurriculumStore.open(tmp_path / "c.sqlite", create=True, run_id="r") as store:
        with store.transaction(step=0):
            store.add_task(task)
        solver, proposals, _ = _step(task, filtering=True)
        solver.add([Solution(Completion(1, [1], [9], [-0.1], "t", "stop", 2), task, None,
                             "no_format")] * 3, [Score(0.0, "format:no_format", task.id)] * 3)
        samples = to_samples("solver", solver.pairs(kept=True), step=8)
        summary = record_step(store, 8, Vetted(), [], solver, samples, run_id="r")
        assert summary["dropped"] == {"all_pass": 0, "all_fail": 1, "all_equal": 0,
                                      "proposer": 0}
        assert summary["solutions"] == {"pass": 1, "fail": 2, "format": 3}
        assert summary["frac_reward_zero_std"]["solver"] == 0.5
        assert len(store.attempts(task.id)) == 6 and len(store.samples()) == 3


def test_groups_keep_each_prompts_completions_together():
    task = make_task(2)
    _, _, samples = _step(task)
    assert [len(g) for g in as_groups(samples)] == [3, 1]
    assert {s.group for s in as_groups(samples)[0]} == {"7:solver:0"}
