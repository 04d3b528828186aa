import pytest

from zeroplay.curricula.store import CurriculumStore, Sample
from zeroplay.curricula.task import Provenance
from zeroplay.eval.provenance import provenance_report

from ..curricula.conftest import make_task


@pytest.fixture
def store(tmp_path):
    with CurriculumStore.open(tmp_path / "curriculum.sqlite", create=True, run_id="t") as s:
        yield s


def test_synthetic_store_passes(store):
    with store.transaction():
        store.add_task(make_task(1))
        store.add_task(make_task(2, origin="policy"))
        store.add_sample(Sample("s", 1, "solver", None, Provenance.policy("t", 1, ())))
    report = provenance_report(store)
    assert report["passed"]
    assert report["tasks"]["by_origin"] == {"seed-synth": 1, "policy": 1}
    assert report["samples"]["by_role"] == {"solver": 1}


def test_injected_real_world_task_and_sample_fail_by_name(store):
    bad = make_task(3, origin="human-written")
    with store.transaction():
        store.add_task(make_task(1))
        store.add_task(bad)
        store.add_sample(Sample("web-1", 1, "sft", None, Provenance("web-scrape", "t")))
    report = provenance_report(store)
    assert not report["passed"]
    assert report["offenders"]["tasks"] == [bad.id]
    assert report["offenders"]["samples"] == ["web-1"]


def _humaneval_task(problem_index: int, *, statement: str | None = None,
                    reference: str | None = None):
    """A task that claims to be synthetic but copies a HumanEval problem."""
    from zeroplay.curricula.task import Task, TaskDraft
    from zeroplay.eval.humaneval import canonical_program, docstring, load_problems
    from zeroplay.handoff import TestCase, Validation

    p = load_problems()[problem_index]
    draft = TaskDraft(statement=statement if statement is not None else docstring(p),
                      entry_point=p.entry_point, signature="def f()",
                      reference=reference if reference is not None else canonical_program(p),
                      strategy="st.integers(0, 9)",
                      provenance=Provenance.seed_synth("t", "zeroplay-synth/1", 1))
    tests = [TestCase([["i", x]], ["i", x]) for x in range(2)]
    return Task.from_validation(draft, Validation(True, tests=tests))


def test_injected_humaneval_task_fails_the_contamination_check(store):
    by_statement = _humaneval_task(12, reference="def f(x):\n    return x\n")
    by_solution = _humaneval_task(3, statement="Return whether the running sum dips below 0.")
    with store.transaction():
        store.add_task(make_task(1))
        store.add_task(by_statement)
        store.add_task(by_solution)
    report = provenance_report(store)
    assert not report["passed"]
    assert report["offenders"]["tasks_total"] == 0  # the origins look synthetic...
    matches = {m["task"]: m["problem"] for m in report["contamination"]["matches"]}
    assert matches == {by_statement.id: "HumanEval/12", by_solution.id: "HumanEval/3"}


def test_provenance_cli_names_the_copied_problem(tmp_path):
    from typer.testing import CliRunner

    from zeroplay.curricula.store import CurriculumStore
    from zeroplay.launch.cli import app

    run = tmp_path / "run"
    run.mkdir()
    with CurriculumStore.open(run / "curriculum.sqlite", create=True, run_id="run") as s, \
            s.transaction():
        s.add_task(make_task(1))
        s.add_task(_humaneval_task(3, statement="x"))
    result = CliRunner().invoke(app, ["curriculum", "provenance", str(run)])
    assert result.exit_code == 1
    assert "1 tasks match HumanEval problems" in result.output
    assert "HumanEval/3" in result.output


def test_synthesizer_tasks_do_not_look_like_humaneval():
    from zeroplay.curricula.synth import synthesize
    from zeroplay.eval.humaneval import fingerprints

    prints = fingerprints()
    drafts = synthesize(300, seed=0, max_ops=3)
    assert [d.id for d in drafts if prints.match(d.statement, d.reference)] == []
