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
from zeroplay.curricula.store import CurriculumStore
from zeroplay.handoff import Validation
from zeroplay.selfplay.propose import Proposal


class Validates(Protocol):
    def validate(self, drafts: list, seed: int) -> list[Validation]: ...


def validate(store: CurriculumStore, sandboxes: Validates, proposals: list[Proposal],
             cfg: Config, step: int) -> Vetted:
    drafts = [p.draft for p in proposals if p.draft is not None]
    return vet(store, sandboxes.validate, drafts, cfg, seed=step, step=step)
