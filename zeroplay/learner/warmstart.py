"""Warm start: supervised fine-tuning on synthesizer tasks, in the exact role formats.

    report = warm_start(model, tokenizer, tasks, cfg, output_dir, steps=600, heldout=held)
    report.heldout_nll           # ((step, mean NLL of held-out references), ...)
    record_warm_start(store, report, tasks)      # its samples, with the tasks' provenance

A model that starts from random weights (the tiny default) cannot write the proposer
and solver formats, so self-play would only ever see format penalties. This runs TRL's
SFTTrainer on synthesizer tasks that passed the sandbox (the seed curriculum and a
stream of fresh ones, `learner.warm_start_tasks`), rendered as the two roles would
answer: every task as a solver prompt with its reference as the answer, and a share of
them (`learner.warm_start_proposer_share`) as a proposer prompt showing as many other
tasks as fit `rollout.max_prompt_tokens` (the rule rollouts use; a longer row would lose
its answer to truncation), with the task itself as the answer. Then a proposer phase
(`learner.warm_start_proposer_steps`, on its own warm-up and cosine decay): every task
as a proposer answer (showing `curriculum.reference_k` examples, none for the tiny
model), mixed one to one with solver rows, without which the solver is forgotten
(benchmarks/proposer_warmstart.py measured both choices). The loss covers the answers
only. With `heldout`, the mean NLL of held-out references under the solver prompt is
logged ten times during training: a cheap learning curve, which never decides anything.
Every example is recorded as a training sample with its task's provenance, so the
provenance check covers warm-start data too. Skipped when `policy.follows_format`.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from zeroplay.actors.prompts import (
    prompt_tokens,
    proposer_messages,
    render_proposal,
    render_solution,
    solver_messages,
)
from zeroplay.config import Config
from zeroplay.curricula.store import CurriculumStore, Sample
from zeroplay.curricula.task import Task, ops_of
from zeroplay.failpoints import crash_point
from zeroplay.learner.grpo import compute_args

# The proposer phase's answers have at least this many operations. One-operation programs
# are a few hundred, nearly all in the warm start or the curriculum already, so a proposer
# taught them spends a third of its proposals on copies (measured in default runs).
PROPOSER_MIN_OPS = 2
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WarmStartReport:
    steps: int
    examples: int
    first_loss: float | None
    last_loss: float | None
    rows: tuple[tuple[str, str], ...] = ()  # (role, task_id) of every example trained on
    heldout_nll: tuple[tuple[int, float], ...] = ()  # (step, mean NLL of held-out answers)
    seconds: float = 0.0  # training wall-clock (trainer.train(), held-out NLL included)
    proposer_steps: int = 0  # steps of the proposer phase, after `steps`
    proposer_loss: tuple[float, float] | None = None  # its first and last loss


def warmstart_examples(tasks: list[Task], seed: int, references_k: int = 2,
                       proposer_share: float = 1.0,
                       fits: Callable[[list[dict[str, str]]], bool] = lambda messages: True,
                       ) -> list[dict[str, Any]]:
    """Prompt-completion conversations: a solver row per task, a proposer row for
    `proposer_share` of them, shuffled. A proposer row shows the longest prefix of
    `references_k` other tasks whose prompt `fits` (the rule rollouts use)."""
    rng = random.Random(seed)
    rows = [_solver_row(task) for task in tasks]
    for task in rng.sample(tasks, round(len(tasks) * proposer_share)):
        others = rng.sample([t for t in tasks if t.id != task.id],
                            min(references_k, len(tasks) - 1))
        while others and not fits(proposer_messages(others)):
            others.pop()
        answer = render_proposal(task.statement, task.reference, task.strategy)
        rows.append({"prompt": proposer_messages(others),
                     "completion": [{"role": "assistant", "content": answer}],
                     "role": "proposer", "task_id": task.id})
    rng.shuffle(rows)
    return rows


def _solver_row(task: Task) -> dict[str, Any]:
    return {"prompt": solver_messages(task),
            "completion": [{"role": "assistant", "content": render_solution(task.reference)}],
            "role": "solver", "task_id": task.id}


def warm_start(model, tokenizer, tasks: list[Task], cfg: Config, output_dir: str, steps: int,
               heldout: list[Task] | None = None) -> WarmStartReport:
    if steps <= 0 or not tasks:
        return WarmStartReport(0, 0, None, None)
    lc, seed = cfg.learner, cfg.run.seed

    def fits(messages: list[dict[str, str]]) -> bool:
        return prompt_tokens(tokenizer, messages) <= cfg.rollout.max_prompt_tokens

    rows = warmstart_examples(tasks, seed, cfg.curriculum.reference_k,
                              lc.warm_start_proposer_share, fits)
    history = train_rows(model, tokenizer, rows, cfg, output_dir, steps,
                         lc.warm_start_learning_rate, heldout)
    seconds = _runtime(history)
    losses = [h["loss"] for h in history if "loss" in h]
    crash_point("warm-start")
    phase, proposer_loss = [], None
    if lc.warm_start_proposer_steps:
        phase = proposer_phase_rows(tasks, seed, cfg.curriculum.reference_k, fits)
        if not phase:
            log.warning("warm start: no task of %d or more operations, so no proposer phase "
                        "(curriculum.max_ops is %d)", PROPOSER_MIN_OPS, cfg.curriculum.max_ops)
    if phase:
        later = train_rows(model, tokenizer, phase, cfg, output_dir, lc.warm_start_proposer_steps,
                           lc.warm_start_learning_rate)
        seconds += _runtime(later)
        phase_losses = [h["loss"] for h in later if "loss" in h]
        proposer_loss = (phase_losses[0], phase_losses[-1]) if phase_losses else None
    return WarmStartReport(steps, len(rows) + len(phase), losses[0] if losses else None,
                           losses[-1] if losses else None,
                           tuple((r["role"], r["task_id"]) for r in rows + phase),
                           tuple((h["step"], h["eval_loss"]) for h in history
                                 if "eval_loss" in h),
                           seconds, lc.warm_start_proposer_steps if phase else 0,
                           proposer_loss)


def proposer_phase_rows(tasks: list[Task], seed: int, references_k: int,
                        fits: Callable[[list[dict[str, str]]], bool] = lambda messages: True,
                        solver_share: float = 1.0, min_ops: int = PROPOSER_MIN_OPS
                        ) -> list[dict[str, Any]]:
    """Every task of at least `min_ops` operations (or of none recorded) as a proposer
    row, with `solver_share` as many solver rows of any of the tasks, shuffled."""
    composed = [t for t in tasks if len(ops_of(t.tags)) >= min_ops or not t.tags]
    proposer = [r for r in warmstart_examples(composed, seed, references_k, 1.0, fits)
                if r["role"] == "proposer"]
    solver = [_solver_row(t) for t in tasks]
    rng = random.Random(seed)
    mixed = proposer + rng.sample(solver, min(len(solver), round(len(proposer) * solver_share)))
    rng.shuffle(mixed)
    return mixed


# Architectures whose logits are exactly `get_output_embeddings()` of the decoder's last
# hidden state (no softcapping or logit scaling), so the head may skip the prompt.
PLAIN_HEAD_MODELS = frozenset({"llama", "mistral", "qwen2", "qwen3"})


def answer_nll(model, inputs: dict, num_items_in_batch=None):
    """The mean NLL of the answer tokens, as the model's own loss computes it, with the
    output head applied to the answer positions only: for a small model the head over
    the whole vocabulary is most of a step, and prompts and padding are most positions
    (the warm start ran 31-35% faster with the same losses to six decimals)."""
    import torch.nn.functional as F

    labels = inputs["labels"][:, 1:]
    answers = labels != -100
    decoder_inputs = {k: v for k, v in inputs.items() if k != "labels"}
    hidden = model.get_decoder()(**decoder_inputs).last_hidden_state
    logits = model.get_output_embeddings()(hidden[:, :-1][answers])
    total = F.cross_entropy(logits.float(), labels[answers], reduction="sum")
    return total / (answers.sum() if num_items_in_batch is None else num_items_in_batch)


def answer_loss_trainer(sft_trainer: type) -> type:
    """SFTTrainer with the model's plain loss (the mean NLL of the answer tokens), by
    `answer_nll` where the architecture allows, else from the model's full logits. TRL's
    default takes log-probs in chunks so that a large vocabulary's logits are never whole
    in memory; on CPU, for the tiny model's 2,048 tokens, that kernel was half of every
    step. Not kept: TRL's entropy and token-accuracy metrics. Evaluation (which wants
    the logits) and multi-process training take the full path."""
    from transformers import Trainer

    class AnswerLossSFTTrainer(sft_trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            plain = getattr(self.accelerator.unwrap_model(model).config, "model_type",
                            None) in PLAIN_HEAD_MODELS
            if plain and not return_outputs and self.accelerator.num_processes == 1:
                return answer_nll(model, inputs, num_items_in_batch)
            return Trainer.compute_loss(self, model, inputs, return_outputs, num_items_in_batch)

    return AnswerLossSFTTrainer


def _runtime(history: list[dict[str, Any]]) -> float:
    return next((h["train_runtime"] for h in history if "train_runtime" in h), 0.0)


def train_rows(model, tokenizer, rows: list[dict[str, Any]], cfg: Config, output_dir: str,
               steps: int, learning_rate: float, heldout: list[Task] | None = None
               ) -> list[dict[str, Any]]:
    """`steps` SFT steps over `rows` (warm-up, then cosine decay), the loss on the answers
    only; with `heldout`, the NLL of their references ten times along. TRL's log history."""
    from datasets import Dataset
    from transformers import PrinterCallback
    from trl import SFTConfig, SFTTrainer

    lc = cfg.learner
    args = SFTConfig(
        output_dir=output_dir, max_steps=steps, learning_rate=learning_rate,
        per_device_train_batch_size=lc.warm_start_batch_size,
        per_device_eval_batch_size=lc.warm_start_batch_size,
        eval_strategy="steps" if heldout else "no", eval_steps=max(1, steps // 10),
        max_length=cfg.rollout.max_prompt_tokens + cfg.rollout.max_new_tokens,
        completion_only_loss=True, **compute_args(cfg), report_to=[], logging_steps=1,
        save_strategy="no", seed=cfg.run.seed, disable_tqdm=True, lr_scheduler_type="cosine",
        warmup_steps=max(1, steps // 20),
    )
    dataset = Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]}
                                 for r in rows])
    evaluation = Dataset.from_list([{k: r[k] for k in ("prompt", "completion")}
                                    for r in map(_solver_row, heldout)]) if heldout else None
    model.train()
    trainer = answer_loss_trainer(SFTTrainer)(model=model, args=args, train_dataset=dataset,
                                       eval_dataset=evaluation, processing_class=tokenizer)
    trainer.remove_callback(PrinterCallback)
    trainer.train()
    model.eval()
    return trainer.state.log_history


def record_warm_start(store: CurriculumStore, report: WarmStartReport, tasks: list[Task]) -> None:
    """Record every warm-start example as a training sample with its task's provenance,
    and the programs of tasks the store does not hold as trained on (a proposal of one
    is then a copy, not an invention)."""
    by_id = {t.id: t for t in tasks}
    with store.transaction():
        for role, task_id in report.rows:  # task_id may name a streamed, unstored task
            store.add_sample(Sample(f"sft:{role}:{task_id}", 0, "sft", task_id,
                                    by_id[task_id].provenance))
        for task_id in {task_id for _, task_id in report.rows}:
            if not store.has_task(task_id):
                store.add_trained_program(by_id[task_id].reference)
