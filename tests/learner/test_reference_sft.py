"""Supervised steps on the policy's own tasks: only valid tasks' references, rendered as
the warm start renders them, and one step between GRPO steps makes them more likely."""

import threading

import pytest
import torch

from zeroplay.actors.policy import load_policy
from zeroplay.config import load_config
from zeroplay.curricula.task import Provenance, Task, TaskDraft
from zeroplay.handoff import RolloutSample, TestCase, Validation
from zeroplay.learner.grpo import SampleFeed, build_grpo_trainer
from zeroplay.learner.reference_sft import reference_rows, supervised_update, tokenize_row
from zeroplay.learner.warmstart import warmstart_examples

CFG = load_config(None, ["learner.per_device_train_batch_size=4",
                         "learner.gradient_accumulation_steps=1", "rollout.num_generations=4",
                         "run.overlap=false", "rollout.max_new_tokens=12"])


def _task(reference: str, valid: bool = True) -> Task:
    draft = TaskDraft("Add one to x.", "f", "def f(x: int) -> int", reference,
                      "st.integers(0, 9)", Provenance.policy("t", 3, ()))
    validation = (Validation(True, tests=[TestCase([["i", 1]], ["i", 2], public=True)])
                  if valid else Validation.reject("trivial", "same output"))
    return Task.from_validation(draft, validation)


def test_only_valid_tasks_references_become_rows_rendered_as_the_warm_start_does():
    good = _task("def f(x: int) -> int:\n    return x + 1\n")
    rows = reference_rows([good])
    solver = warmstart_examples([good], seed=0, proposer_share=0.0)
    assert rows == [{k: solver[0][k] for k in ("prompt", "completion")}]
    with pytest.raises(ValueError, match="only valid tasks"):
        reference_rows([good, _task("def f(x: int) -> int:\n    return 7\n", valid=False)])


def _nll(model, tokenizer, row) -> float:
    ids, start = tokenize_row(tokenizer, row)
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0].float()
    logp = torch.log_softmax(logits[start - 1:len(ids) - 1], -1)
    return -logp.gather(-1, torch.tensor(ids[start:])[:, None]).mean().item()


@pytest.mark.slow
def test_a_step_between_grpo_steps_makes_the_reference_more_likely(tmp_path_factory, tmp_path):
    model, tok = load_policy(CFG.policy, cache_dir=tmp_path_factory.getbasetemp() / "tiny-ref")
    rows = reference_rows([_task("def f(x: int) -> int:\n    return x + 1\n")])
    ids, start = tokenize_row(tok, rows[0])
    assert tok.decode(ids[start:]).startswith("<function>\ndef f(x: int)")
    before = _nll(model, tok, rows[0])
    # A group of equal rewards: no advantage, so GRPO itself moves nothing.
    group = [RolloutSample("solver", "g", ids[:start], ids[start:start + 4], [-1.0] * 4, 0.5,
                           0, 0, None, "length", "") for _ in range(4)]
    feed = SampleFeed(4, max_staleness=5)
    trainer = build_grpo_trainer(model, tok, CFG, feed, str(tmp_path), max_steps=2,
                                 timeout=120)
    thread = threading.Thread(target=trainer.train)
    thread.start()
    feed.put([group])
    loss = feed.call(lambda: supervised_update(trainer, tok, rows, 1e-3), timeout=120)
    feed.put([group])
    thread.join(timeout=120)
    model.eval()
    assert loss == pytest.approx(before, rel=0.05)  # the same NLL, before the step
    assert _nll(model, tok, rows[0]) < before - 0.05
    assert trainer.optimizer.param_groups[0]["lr"] != 1e-3  # GRPO's own rate is back
