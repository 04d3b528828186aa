"""Warm start on synthetic data: the SFT loss falls and the tiny model starts writing the
solver format, on held-out seed tasks it never trained on."""


import dataclasses
from collections import Counter

import pytest

from zeroplay.actors.generation import HFGenerator
from zeroplay.actors.parsing import parse_solution
from zeroplay.actors.policy import load_policy
from zeroplay.actors.prompts import prompt_text, solver_messages
from zeroplay.actors.sampling import SamplingParams
from zeroplay.config import load_config
from zeroplay.curricula.programs import normalized_hash
from zeroplay.curricula.store import CurriculumStore
from zeroplay.curricula.task import ops_of
from zeroplay.eval.provenance import provenance_report
from zeroplay.learner.warmstart import (
    WarmStartReport,
    answer_nll,
    proposer_phase_rows,
    record_warm_start,
    train_rows,
    warm_start,
    warmstart_examples,
)

from ..curricula.conftest import make_task

pytestmark = pytest.mark.docker  # the seed tasks come through the real sandbox
# A smaller tiny model keeps this near two minutes on 2 CPU cores.
CFG = load_config(None, ["policy.tiny.hidden_size=128", "policy.tiny.num_hidden_layers=2",
                         "learner.per_device_train_batch_size=8", "learner.warm_start_batch_size=8",
                         "learner.warm_start_learning_rate=3e-3", "rollout.max_new_tokens=160",
                         "learner.warm_start_proposer_share=0.1",
                         "learner.warm_start_proposer_steps=0"])


def _parseable(model, tok, tasks):
    prompts = [prompt_text(tok, solver_messages(t)) for t in tasks]
    outs = HFGenerator(model, tok, seed=0).generate(
        prompts, 1, SamplingParams(temperature=0.3, max_new_tokens=160, max_prompt_tokens=4000))
    return sum(parse_solution(o.text, tasks[o.prompt_index].entry_point).code is not None
               for o in outs)


def test_the_answer_only_head_gives_the_models_own_loss_and_gradients():
    """The warm start applies the output head to answer positions only; prompts (labels
    -100) and padding must not change the loss or any gradient."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=1, num_attention_heads=2,
                                         tie_word_embeddings=True))
    ids = torch.randint(1, 64, (3, 12))
    mask = torch.ones_like(ids)
    mask[1, 9:] = mask[2, 6:] = 0  # right padding, as the collator pads
    labels = ids.masked_fill(mask == 0, -100)
    labels[:, :4] = -100  # the prompt
    inputs = {"input_ids": ids, "attention_mask": mask, "labels": labels}

    def loss_and_grads(compute):
        model.zero_grad()
        loss = compute()
        loss.backward()
        return loss.item(), [p.grad.clone() for p in model.parameters()]

    reference, reference_grads = loss_and_grads(lambda: model(**inputs).loss)
    ours, our_grads = loss_and_grads(lambda: answer_nll(model, inputs))
    assert ours == pytest.approx(reference, rel=1e-5)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(our_grads, reference_grads, strict=True))
    answers = int((labels[:, 1:] != -100).sum())  # gradient accumulation's token count
    assert answer_nll(model, inputs, 2 * answers).item() == pytest.approx(reference / 2, rel=1e-5)


def test_examples_cover_both_roles():
    rows = warmstart_examples([make_task(i) for i in range(3)], seed=0)
    assert sorted(r["role"] for r in rows) == ["proposer"] * 3 + ["solver"] * 3
    assert all(r["completion"][0]["role"] == "assistant" for r in rows)


def test_proposer_rows_show_only_references_that_fit():
    """As rollouts do: examples are dropped from the end until the prompt fits, so SFT
    never trains on a prompt that rollouts would not show (nor truncates the answer)."""
    tasks = [make_task(i) for i in range(8)]

    def fits(messages):
        return messages[1]["content"].count("Example ") <= 2

    rows = warmstart_examples(tasks, seed=0, references_k=6, proposer_share=1.0, fits=fits)
    shown = [r["prompt"][1]["content"].count("Example ") for r in rows if r["role"] == "proposer"]
    assert shown == [2] * 8
    rows = warmstart_examples(tasks, seed=0, references_k=6, proposer_share=1.0)
    assert {r["prompt"][1]["content"].count("Example ") for r in rows
            if r["role"] == "proposer"} == {6}


def test_programs_trained_on_outside_the_store_are_recorded_as_such(tmp_path):
    stored, streamed = make_task(1), make_task(2)
    report = WarmStartReport(1, 3, 1.0, 0.5, (("solver", stored.id), ("solver", streamed.id),
                                              ("proposer", streamed.id)))
    with CurriculumStore.open(tmp_path / "c.sqlite", create=True) as store:
        with store.transaction():
            store.add_task(stored)
        record_warm_start(store, report, [stored, streamed])
        assert len(store.samples()) == 3
        assert store.has_trained_program(normalized_hash(streamed.reference))
        assert not store.has_trained_program(normalized_hash(stored.reference))


def test_the_proposer_phase_proposes_compositions_mixed_one_to_one_with_solver_rows():
    tasks = [dataclasses.replace(make_task(i), tags=("add",) * (1 + i % 2)) for i in range(8)]
    rows = proposer_phase_rows(tasks, seed=0, references_k=1)
    proposed = [r["task_id"] for r in rows if r["role"] == "proposer"]
    assert sorted(proposed) == sorted(t.id for t in tasks if len(ops_of(t.tags)) == 2)  # no 1-op
    assert sum(r["role"] == "solver" for r in rows) == len(proposed) == 4
    assert all(r["prompt"][1]["content"].count("Example ") == 1 for r in rows
               if r["role"] == "proposer")


def test_a_warm_start_without_compositions_skips_the_proposer_phase(tmp_path, caplog):
    """One-operation tasks only (curriculum.max_ops=1): the proposer phase has no rows, so
    it is skipped with a warning that names why, not a crash inside the trainer."""
    tasks = [dataclasses.replace(make_task(i), tags=("add",)) for i in range(4)]
    cfg = CFG.model_copy(update={"learner": CFG.learner.model_copy(
        update={"warm_start_proposer_steps": 5})})
    model, tok = load_policy(cfg.policy, cache_dir=tmp_path / "cache")
    report = warm_start(model, tok, tasks, cfg, str(tmp_path / "sft"), steps=1)
    assert report.steps == 1 and report.proposer_steps == 0 and report.proposer_loss is None
    assert "no proposer phase" in caplog.text


@pytest.mark.slow  # trains the tiny model (SFT)
def test_warm_start_teaches_the_format(seeded_run, tmp_path):
    run_dir, _, _, _ = seeded_run
    with CurriculumStore.open(run_dir / "curriculum.sqlite", readonly=True) as s:
        train = s.tasks(status="valid", heldout=False)
        heldout = s.tasks(status="valid", heldout=True)
    model, tok = load_policy(CFG.policy, cache_dir=tmp_path / "cache")
    before = _parseable(model, tok, heldout)
    with CurriculumStore.open(tmp_path / "curriculum.sqlite", create=True) as store:
        report = warm_start(model, tok, train, CFG, str(tmp_path / "sft"), steps=200,
                            heldout=heldout[:8])
        record_warm_start(store, report, train)
        assert report.last_loss < 0.5 * report.first_loss
        # The held-out learning curve: ten points, and it falls.
        assert len(report.heldout_nll) == 10
        assert report.heldout_nll[-1][1] < report.heldout_nll[0][1]
        samples = store.samples()
        proposer_rows = round(len(train) * CFG.learner.warm_start_proposer_share)
        assert len(samples) == report.examples == len(train) + proposer_rows
        assert {s.role for s in samples} == {"sft"}
        assert provenance_report(store)["samples"]["by_origin"] == {"seed-synth": len(samples)}
    after = _parseable(model, tok, heldout)
    assert after > before, (before, after)


@pytest.mark.slow  # trains the tiny model for about three minutes
def test_a_short_warm_start_solves_heldout_seen_tasks_and_proposes_parseable_tasks(pool,
                                                                                  tmp_path):
    """Fresh synthetic tasks only, a fixed seed: greedy pass@1 on heldout-seen tasks (whose
    programs no training task has) goes from 0 to above 0 after the solver phase, and
    after the proposer phase sampled proposals (T=1, as self-play samples them) parse,
    where none did before. Tasks of at most two operations keep the budget short."""
    from zeroplay.actors.fleet import Fleet
    from zeroplay.curricula.admit import fresh_tasks, pool_validator, seed_curriculum
    from zeroplay.eval.problems import task_problem
    from zeroplay.eval.run import evaluate
    from zeroplay.selfplay.propose import propose

    cfg = load_config(None, ["learner.warm_start_batch_size=16", "rollout.max_new_tokens=160",
                             "learner.warm_start_proposer_share=0", "sandbox.pool_size=1",
                             "learner.warm_start_proposer_steps=0",
                             "curriculum.reference_k=1", "curriculum.max_ops=2"])
    validate = pool_validator(pool, cfg)
    with CurriculumStore.open(tmp_path / "curriculum.sqlite", create=True) as store:
        seed_curriculum(store, validate, cfg, n=100, heldout=60, seed=3, run_id="ws")
        train = store.tasks(status="valid", split="train")
        train += fresh_tasks(store, validate, cfg, n=1500, seed=3, run_id="ws")
        heldout = store.tasks(status="valid", split="heldout-seen")
    fleet = Fleet.in_process(cfg, pool, str(tmp_path / "cache"))
    problems = [task_problem(t) for t in heldout]
    # 64 sampled proposals: enough that a parse rate near the measured one cannot read as 0
    examples = [(t,) for t in train[:16]]
    propose_cfg = cfg.model_copy(update={"rollout": cfg.rollout.model_copy(
        update={"num_generations": 4})})

    def pass_at_1() -> float:
        return evaluate(problems, fleet, 1, cfg.rollout.max_prompt_tokens, batch_problems=32,
                        greedy=True).pass_at(1)

    def parsed() -> tuple[float, Counter]:
        proposals = propose(fleet.rollouts, examples, propose_cfg, run_id="ws")
        return (sum(p.draft is not None for p in proposals) / len(proposals),
                Counter(p.reason for p in proposals))

    before, parsed_before = pass_at_1(), parsed()
    actor = fleet.rollouts.group.members[0]
    model, tok = actor.generator.model, actor.tokenizer
    report = warm_start(model, tok, train, cfg, str(tmp_path / "sft"), steps=300)
    assert report.last_loss < 0.3 and report.proposer_steps == 0
    after = pass_at_1()
    assert before == 0.0 and after > 0.0, (before, after)

    phase = proposer_phase_rows(train, cfg.run.seed, cfg.curriculum.reference_k)
    history = train_rows(model, tok, phase, cfg, str(tmp_path / "sft"), 150,
                         cfg.learner.warm_start_learning_rate)
    losses = [h["loss"] for h in history if "loss" in h]
    assert len(losses) == 150 and losses[-1] < losses[0]
    parsed_after = parsed()
    assert parsed_before[0] == 0.0 and parsed_after[0] >= 0.1, (parsed_before, parsed_after)
