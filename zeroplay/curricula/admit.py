"""Admission: drafts in, filtered and validated tasks (or recorded rejections) out.

    vetted = vet(store, pool_validator(pool, cfg), drafts, cfg, seed=step)  # sandbox runs
    with store.transaction(step=step):
        record(store, vetted)                             # one short write
    by_split = seed_curriculum(store, validate, cfg, n=200, heldout=500, seed=0, run_id="demo")
    tasks = warm_start_tasks(store, validate, cfg, run_id="demo")   # seed + fresh ones

Vetting applies the generation-time filters, then validates the survivors in the
sandbox as one batch. Recording writes valid tasks, rejected drafts with their reasons,
and the filter counts; it needs an open transaction so that it lands with its step.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from zeroplay.config import Config
from zeroplay.curricula.filters import DraftFilter
from zeroplay.curricula.programs import normalized_hash, shape_hash
from zeroplay.curricula.store import CurriculumStore
from zeroplay.curricula.synth import synthesize, synthesize_heldout_seen
from zeroplay.curricula.task import HELDOUT_SPLITS, SPLITS, Task, TaskDraft, edge_of
from zeroplay.handoff import Validation
from zeroplay.sandbox.batch import Draft, validate_many
from zeroplay.sandbox.pool import SandboxPool

# Counted, but not recorded: copies of what the store holds are not new drafts.
NOT_RECORDED = ("duplicate", "near_duplicate", "trained_copy", "heldout_shape")


log = logging.getLogger(__name__)

@dataclass
class Vetted:
    tasks: list[Task] = field(default_factory=list)  # valid and rejected, to record
    filtered: Counter = field(default_factory=Counter)  # filter reason -> count
    validated: int = 0  # drafts that reached the sandbox
    seconds: float = 0.0
    # Per draft, in order: the filter reason that stopped it, or "" if it reached the
    # sandbox (its Task then says valid or rejected). A duplicate of an earlier draft of
    # the same batch is stopped too, so only the first of two copies can count as new.
    outcomes: list[str] = field(default_factory=list)
    # Ids of valid tasks of a program shape new to the store and to the trained programs
    # (of several in one batch with the same shape, the first).
    novel: set[str] = field(default_factory=set)

    @property
    def valid(self) -> int:
        return sum(t.valid for t in self.tasks)

    @property
    def rejected(self) -> Counter:
        return Counter(t.reason for t in self.tasks if not t.valid)


Validate = Callable[[list[Draft], int], list[Validation]]


def pool_validator(pool: SandboxPool, cfg: Config) -> Validate:
    """Validation through a local pool (a SandboxActor offers the same call over Ray)."""
    return lambda drafts, seed: validate_many(pool, drafts, cfg.sandbox, seed)


def vet(store: CurriculumStore, validate: Validate, drafts: list[TaskDraft], cfg: Config, *,
        seed: int, step: int = 0, split: str = "train",
        draft_filter: DraftFilter | None = None) -> Vetted:
    start = time.monotonic()
    check = draft_filter or DraftFilter(cfg)
    out = Vetted()
    ids, norms = _Seen(store.has_task), _Seen(store.has_norm_hash)
    heldout_shapes = _Seen(lambda shape: store.has_shape(shape, "heldout-unseen"))
    trained = _Seen(store.has_trained_program)
    survivors: list[TaskDraft] = []
    for draft in drafts:
        reason = check.check(draft, ids, norms, heldout_shapes, trained)
        out.outcomes.append(reason or "")
        if reason is not None:
            out.filtered[reason] += 1
            if reason not in NOT_RECORDED:
                rejection = Validation(False, reason, f"rejected by the {reason} filter")
                out.tasks.append(Task.from_validation(draft, rejection, step=step,
                                                      split=split))
            ids.add(draft.id)
            continue
        ids.add(draft.id)
        norms.add(normalized_hash(draft.reference))
        survivors.append(draft)
    drafts_for_sandbox = [Draft(d.entry_point, d.reference, d.strategy, edge_of(d.tags))
                          for d in survivors]
    validations = validate(drafts_for_sandbox, seed) if drafts_for_sandbox else []
    out.validated = len(survivors)
    out.tasks += [Task.from_validation(d, v, step=step, split=split)
                  for d, v in zip(survivors, validations, strict=True)]
    shapes = _Seen(store.has_shape)
    for task in out.tasks:
        if task.valid and (shape := shape_hash(task.reference)) not in shapes:
            out.novel.add(task.id)
            shapes.add(shape)
    out.seconds = time.monotonic() - start
    return out


def record(store: CurriculumStore, vetted: Vetted) -> int:
    """Write vetted tasks and filter counts (inside a transaction); returns tasks added."""
    added = 0
    for task in vetted.tasks:
        added += store.add_task(task)
    for reason, n in vetted.filtered.items():
        store.count_filtered("generation", reason, n)
    return added


def seed_curriculum(store: CurriculumStore, validate: Validate, cfg: Config, *, n: int,
                    heldout: int, seed: int, run_id: str) -> dict[str, Vetted]:
    """Synthesize, validate (`pool_validator(pool, cfg)`, or a SandboxActor's validate)
    and record, as step 0, `heldout` tasks of each held-out split first, then `n`
    training tasks of the config's mix that share no normalized program with them. By
    split name. The held-out splits are the uniform mix's whatever the config's mix is
    (heldout-seen re-uses the combinations of the uniform seed curriculum), so runs with
    different mixes are evaluated on the same tasks."""
    cur = cfg.curriculum
    uniform_train = synthesize(n, seed, cur.max_ops, run_id)
    heldout_drafts = {
        "heldout-unseen": synthesize(heldout, seed, cur.max_ops, run_id, split="heldout-unseen"),
        "heldout-seen": synthesize_heldout_seen(heldout, seed, cur.max_ops, run_id, uniform_train)}
    mix = cur.mix.to_mix()
    if mix.skipped_inputs():
        log.warning("no operation of the mix %r starts from %s: the synthesizer skips those "
                    "input types", cur.mix.name, ", ".join(mix.skipped_inputs()))
    train = uniform_train if mix.uniform else synthesize(
        n, seed, cur.max_ops, run_id, mix=mix,
        reserved={normalized_hash(d.reference) for d in heldout_drafts["heldout-seen"]})
    drafts = {**heldout_drafts, "train": train}
    vetted = {split: vet(store, validate, batch, cfg, seed=seed, split=split)
              for split, batch in drafts.items()}
    with store.transaction(step=0, summary={"seeded": vetted["train"].valid,
                                            **{s: vetted[s].valid for s in HELDOUT_SPLITS}}):
        for split in (*HELDOUT_SPLITS, "train"):
            record(store, vetted[split])
    return {split: vetted[split] for split in SPLITS}


def fresh_tasks(store: CurriculumStore, validate: Validate, cfg: Config, *, n: int, seed: int,
                run_id: str, stream: str = "sft") -> list[Task]:
    """Up to `n` new training tasks from a synthesizer stream of their own, validated in
    the sandbox and not recorded: never a held-out program, nor one the store has."""
    taken = {h for h in (normalized_hash(t.reference) for t in store.tasks()) if h is not None}
    drafts = synthesize(n, seed, cfg.curriculum.max_ops, run_id, stream=stream, reserved=taken,
                        mix=cfg.curriculum.mix.to_mix())
    validations = validate([Draft(d.entry_point, d.reference, d.strategy, edge_of(d.tags))
                            for d in drafts],
                           seed) if drafts else []
    return [task for task in (Task.from_validation(d, v) for d, v in
                              zip(drafts, validations, strict=True)) if task.valid]


def warm_start_tasks(store: CurriculumStore, validate: Validate, cfg: Config, *,
                     run_id: str) -> list[Task]:
    """What the warm start trains on: the store's training tasks (the seed curriculum),
    then `learner.warm_start_tasks` fresh ones of their own stream (`fresh_tasks`).
    `validate` should draw `learner.warm_start_tests` inputs, as the run's does."""
    tasks = store.tasks(status="valid", split="train")
    if cfg.learner.warm_start_tasks:
        tasks += fresh_tasks(store, validate, cfg, n=cfg.learner.warm_start_tasks,
                             seed=cfg.run.seed, run_id=run_id)
    return tasks


class _Seen:
    """Membership in the store or in this batch."""

    def __init__(self, in_store):
        self.in_store = in_store
        self.batch: set = set()

    def add(self, key) -> None:
        self.batch.add(key)

    def __contains__(self, key) -> bool:
        return key is not None and (key in self.batch or self.in_store(key))

