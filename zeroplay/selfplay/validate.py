"""Stage 3, validate: the step's drafts, filtered and run in the sandbox.

    fresh = fresh_drafts(store, cfg, step=3, run_id="demo")   # [] unless configured
    vetted = validate(store, sandboxes, proposal_drafts + fresh, cfg, step=3)
    vetted.tasks    # valid Tasks with frozen tests, and rejected ones with reasons

Filters (duplicates, content, sizes) run on the host first; survivors are validated in
the sandbox as one batch, seeded by the step (`zeroplay.curricula.admit.vet`). Nothing
is written: the record stage stores the outcome.
"""

from __future__ import annotations

from typing import Protocol

from zeroplay.config import Config
from zeroplay.curricula.admit import Vetted, vet
from zeroplay.curricula.programs import normalized_hash
from zeroplay.curricula.store import CurriculumStore
from zeroplay.curricula.synth import synthesize
from zeroplay.curricula.task import TaskDraft
from zeroplay.handoff import Validation


class Validates(Protocol):
    def validate(self, drafts: list, seed: int) -> list[Validation]: ...


def fresh_drafts(store: CurriculumStore, cfg: Config, step: int, run_id: str = ""
                 ) -> list[TaskDraft]:
    """`curriculum.fresh_tasks_per_step` synthesizer drafts for this step (a seed stream
    per step; never a program the store holds, held-out included)."""
    if not cfg.curriculum.fresh_tasks_per_step:
        return []
    taken = {normalized_hash(t.reference) for t in store.tasks()}
    return synthesize(cfg.curriculum.fresh_tasks_per_step, cfg.run.seed,
                      cfg.curriculum.max_ops, run_id, stream=f"step-{step}", reserved=taken,
                      mix=cfg.curriculum.mix.to_mix())


def validate(store: CurriculumStore, sandboxes: Validates, drafts: list[TaskDraft],
             cfg: Config, step: int) -> Vetted:
    """The drafts vetted in order (the proposals' first: scoring reads them back so)."""
    return vet(store, sandboxes.validate, drafts, cfg, seed=step, step=step)
