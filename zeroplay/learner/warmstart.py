"""Warm start: supervised fine-tuning on synthesizer tasks, in the exact role formats.

    report = warm_start(model, tokenizer, tasks, cfg, output_dir, steps=200)
    record_warm_start(store, report, tasks)      # its samples, with the tasks' provenance

A model that starts from random weights (the tiny default) cannot write the proposer
and solver formats, so self-play would only ever see format penalties. This runs TRL's
SFTTrainer on seed tasks that passed the sandbox, rendered as the two roles would answer:
the solver prompt of a task with its reference as the answer, and a proposer prompt
(showing other tasks) with the task itself as the answer. The loss covers the answers
only. Every example is recorded as a training sample with the task's provenance, so the
provenance check covers warm-start data too (the learner may run on another node than
the store, so recording is a separate call). Skipped when `policy.follows_format`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from zeroplay.actors.prompts import (
    proposer_messages,
    render_proposal,
    render_solution,
    solver_messages,
)
from zeroplay.config import Config
from zeroplay.curricula.store import CurriculumStore, Sample
from zeroplay.curricula.task import Task


@dataclass(frozen=True)
class WarmStartReport:
    steps: int
    examples: int
    first_loss: float | None
    last_loss: float | None
    rows: tuple[tuple[str, str], ...] = ()  # (role, task_id) of every example trained on


def warmstart_examples(tasks: list[Task], seed: int, examples_shown: int = 2
                       ) -> list[dict[str, Any]]:
    """Prompt-completion conversations for both roles."""
    rng = random.Random(seed)
    rows = []
    for task in tasks:
        others = rng.sample([t for t in tasks if t.id != task.id],
                            min(examples_shown, len(tasks) - 1))
        answer = render_proposal(task.statement, task.reference, task.strategy)
        rows.append({"prompt": proposer_messages(others),
                     "completion": [{"role": "assistant", "content": answer}],
                     "role": "proposer", "task_id": task.id})
        rows.append({"prompt": solver_messages(task),
                     "completion": [{"role": "assistant",
                                     "content": render_solution(task.reference)}],
                     "role": "solver", "task_id": task.id})
    rng.shuffle(rows)
    return rows


def warm_start(model, tokenizer, tasks: list[Task], cfg: Config, output_dir: str, steps: int
               ) -> WarmStartReport:
    import torch
    from datasets import Dataset
    from transformers import PrinterCallback
    from trl import SFTConfig, SFTTrainer

    if steps <= 0 or not tasks:
        return WarmStartReport(0, 0, None, None)
    rows = warmstart_examples(tasks, cfg.run.seed)
    on_gpu = torch.cuda.is_available() and cfg.policy.device != "cpu"
    args = SFTConfig(
        output_dir=output_dir, max_steps=steps,
        learning_rate=cfg.learner.warm_start_learning_rate,
        per_device_train_batch_size=cfg.learner.per_device_train_batch_size,
        max_length=cfg.rollout.max_prompt_tokens + cfg.rollout.max_new_tokens,
        completion_only_loss=True, use_cpu=not on_gpu,
        bf16=on_gpu and cfg.policy.dtype == "bfloat16", report_to=[], logging_steps=1,
        save_strategy="no", seed=cfg.run.seed, disable_tqdm=True, lr_scheduler_type="cosine",
        warmup_steps=max(1, steps // 20),
    )
    dataset = Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]}
                                 for r in rows])
    model.train()
    trainer = SFTTrainer(model=model, args=args, train_dataset=dataset,
                         processing_class=tokenizer)
    trainer.remove_callback(PrinterCallback)
    trainer.train()
    model.eval()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    return WarmStartReport(steps, len(rows), losses[0] if losses else None,
                           losses[-1] if losses else None,
                           tuple((r["role"], r["task_id"]) for r in rows))


def record_warm_start(store: CurriculumStore, report: WarmStartReport, tasks: list[Task]) -> None:
    """Record every warm-start example as a training sample with its task's provenance."""
    by_id = {t.id: t for t in tasks}
    with store.transaction():
        for role, task_id in report.rows:
            store.add_sample(Sample(f"sft:{role}:{task_id}", 0, "sft", task_id,
                                    by_id[task_id].provenance))
