"""Stage 3, validate: the step's parsed drafts, filtered and run in the sandbox.

    vetted = validate(store, sandboxes, proposals, cfg, step=3)
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
from zeroplay.handoff import Validation
from zeroplay.selfplay.propose import Proposal


class Validates(Protocol):
    def validate(self, drafts: list, seed: int) -> list[Validation]: ...


def validate(store: CurriculumStore, sandboxes: Validates, proposals: list[Proposal],
             cfg: Config, step: int, run_id: str = "") -> Vetted:
    """The proposals' drafts, and `curriculum.fresh_tasks_per_step` fresh synthesizer
    drafts (a seed stream per step; never a program the store holds, held-out included)."""
    drafts = [p.draft for p in proposals if p.draft is not None]
    if cfg.curriculum.fresh_tasks_per_step:
        taken = {normalized_hash(t.reference) for t in store.tasks()}
        drafts += synthesize(cfg.curriculum.fresh_tasks_per_step, cfg.run.seed,
                             cfg.curriculum.max_ops, run_id, stream=f"step-{step}",
                             reserved=taken)
    return vet(store, sandboxes.validate, drafts, cfg, seed=step, step=step)
