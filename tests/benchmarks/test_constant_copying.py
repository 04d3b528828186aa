"""benchmarks/constant_copying.py: the statement variants and answer prefixes it probes."""

import random

import constant_copying as copying
import pytest

from zeroplay.actors.prompts import render_solution
from zeroplay.curricula.synth import OPS_BY_NAME, synthesize_one, task_seed
from zeroplay.curricula.task import Provenance, Task, ops_of


def _task(combo: tuple[str, ...], index: int = 0) -> Task:
    for i in range(index, index + 200):  # a draft with a numeric constant, not k
        draft, _ = synthesize_one(task_seed(0, i, "test"), 3, combo=combo)
        if "k: int" not in draft.signature and ops_of(draft.tags) == combo:
            return Task(f"t{i}", draft.statement, "f", draft.signature, draft.reference,
                        draft.strategy, (), Provenance.seed_synth("", "", 0), tags=combo)
    raise AssertionError(f"no draft of {combo} with a constant")


@pytest.mark.parametrize("combo", [("map_mod",), ("add", "abs"), ("sort", "map_clip"),
                                   ("reverse_s", "shift"), ("filter_gt", "sum")])
def test_each_variant_states_its_constant_and_the_prefix_leads_to_it(combo):
    task = _task(combo)
    name, rows = copying.variants(task, 4, random.Random(0))
    op = OPS_BY_NAME[name]
    assert name == next(n for n in combo if OPS_BY_NAME[n].const)
    values = [s for s, *_ in rows]
    assert len(values) == len(set(values)) == min(4, op.const[1] - op.const[0] + 1)
    original = [s for s, variant, *_ in rows if variant.statement == task.statement]
    assert len(original) == 1  # the task's own constant is a candidate
    for s, variant, prefix, continuations in rows:
        assert set(continuations) == set(values)
        assert op.phrase.format(c=s) in variant.statement
        assert variant.reference == task.reference  # only the statement changes
        # the prefix and the task's own constant's continuation are its answer so far
        assert render_solution(task.reference).startswith(prefix + continuations[original[0]])


def test_a_task_whose_constant_is_the_argument_k_is_not_probed():
    for i in range(200):
        draft, _ = synthesize_one(task_seed(0, i, "k"), 1, combo=("map_add",))
        if "k: int" in draft.signature:
            break
    task = Task("k", draft.statement, "f", draft.signature, draft.reference, draft.strategy,
                (), Provenance.seed_synth("", "", 0), tags=draft.tags)
    assert copying.variants(task, 4, random.Random(0)) is None
