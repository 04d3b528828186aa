"""Supervised updates on the verified references of the policy's own new tasks.

    rows = reference_rows(tasks)    # valid tasks only: solver prompt -> reference
    loss = supervised_update(trainer, tokenizer, rows, learning_rate=3e-4)

Self-play's other way to learn from what the proposer invents (`learner.reference_sft`):
beside GRPO on the solver's attempts, one optimizer step of token NLL on each new valid
task's reference as the solver's answer, the rows rendered exactly as the warm start
renders them. A valid task's reference ran twice in the sandbox and its outputs are the
task's expected outputs, so it solves the task as validated; not guaranteed: that it
does what the statement says (a proposer that says one thing and codes another teaches
the wrong mapping here, which is what the solve rate in GRPO catches).

The step goes through the GRPO trainer's own optimizer, on the trainer's thread between
two GRPO steps (the learner queues it on its feed), at its own learning rate; the
gradient is clipped like a GRPO step's. Rejected tasks never reach it: `reference_rows`
refuses them.
"""

from __future__ import annotations

from typing import Any

from zeroplay.actors.prompts import render_solution, solver_messages
from zeroplay.curricula.task import Task

Row = dict[str, Any]  # {"prompt": messages, "completion": messages}


def reference_rows(tasks: list[Task]) -> list[Row]:
    """A solver row per valid task, its reference as the answer; a rejected task is an
    error (its reference defines nothing)."""
    invalid = [t.id for t in tasks if not t.valid]
    if invalid:
        raise ValueError(f"only valid tasks' references are trained on, not {invalid}")
    return [{"prompt": solver_messages(t),
             "completion": [{"role": "assistant", "content": render_solution(t.reference)}]}
            for t in tasks]


def tokenize_row(tokenizer, row: Row) -> tuple[list[int], int]:
    """(prompt + answer ids, prompt length), as TRL's SFT tokenizes a conversation: the
    chat template of the whole, the answer where it departs from the prompt's."""
    prompt = tokenizer.apply_chat_template(row["prompt"], tokenize=False,
                                           add_generation_prompt=True)
    whole = tokenizer.apply_chat_template(row["prompt"] + row["completion"], tokenize=False)
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    ids = tokenizer(whole, add_special_tokens=False)["input_ids"]
    pairs = zip(prompt_ids, ids, strict=False)
    shared = next((i for i, (a, b) in enumerate(pairs) if a != b), min(len(prompt_ids), len(ids)))
    return ids, shared


def supervised_update(trainer, tokenizer, rows: list[Row], learning_rate: float,
                      max_length: int | None = None) -> float | None:
    """One optimizer step of mean answer-token NLL over `rows` (longer rows cut at
    `max_length`); the loss, or None for no rows."""
    import torch

    if not rows:
        return None
    encoded = [tokenize_row(tokenizer, row) for row in rows]
    if max_length:
        encoded = [(ids[:max_length], min(start, max_length)) for ids, start in encoded]
    width = max(len(ids) for ids, _ in encoded)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    model = trainer.model_wrapped
    device = next(trainer.model.parameters()).device
    input_ids = torch.full((len(encoded), width), pad, dtype=torch.long)
    attention = torch.zeros_like(input_ids)
    labels = torch.full_like(input_ids, -100)
    for i, (ids, start) in enumerate(encoded):
        input_ids[i, :len(ids)] = torch.tensor(ids)
        attention[i, :len(ids)] = 1
        labels[i, start:len(ids)] = torch.tensor(ids[start:])
    optimizer = trainer.optimizer
    rates = [group["lr"] for group in optimizer.param_groups]
    model.train()
    try:
        for group in optimizer.param_groups:
            group["lr"] = learning_rate
        with trainer.compute_loss_context_manager():
            loss = model(input_ids=input_ids.to(device), attention_mask=attention.to(device),
                         labels=labels.to(device)).loss
        trainer.accelerator.backward(loss)
        if trainer.args.max_grad_norm:
            trainer.accelerator.clip_grad_norm_(model.parameters(), trainer.args.max_grad_norm)
        optimizer.step()
    finally:
        optimizer.zero_grad(set_to_none=True)
        for group, rate in zip(optimizer.param_groups, rates, strict=True):
            group["lr"] = rate
    return float(loss.detach())
