"""The curriculum item: a task draft, the validated task it may become, and its provenance.

    draft = TaskDraft(statement, "f", "def f(x: int) -> int", reference, "st.integers()",
                      provenance=Provenance.seed_synth(run_id, seed=7))
    task = Task.from_validation(draft, validation)      # only validation makes a Task

A task's id is the content hash of (entry_point, reference, strategy): the same program
with the same input generator is the same task, whoever proposed it. Every task records
where it came from (`Provenance`); only synthetic origins are allowed in training, which
`zeroplay curriculum provenance` checks.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from zeroplay.handoff import TestCase, Validation
from zeroplay.rewards import learnability

Origin = Literal["seed-synth", "policy"]
SYNTHETIC_ORIGINS = ("seed-synth", "policy")
# Where a task may be used: "train" for training; the held-out splits only for
# evaluation. heldout-seen: operation combinations training uses, new constants;
# heldout-unseen: combinations no training stream ever uses (curricula.synth).
SPLITS = ("train", "heldout-seen", "heldout-unseen")
HELDOUT_SPLITS = SPLITS[1:]


def task_id(entry_point: str, reference: str, strategy: str) -> str:
    """Content hash: same entry point, reference and strategy give the same id."""
    digest = hashlib.sha256("\x00".join((entry_point, reference, strategy)).encode())
    return digest.hexdigest()[:16]



def ops_of(tags: Sequence[str]) -> tuple[str, ...]:
    """The operation names among a synthesizer task's tags (the others, `family:`, `api:`
    and `edge:`, hold a colon)."""
    return tuple(tag for tag in tags if ":" not in tag)


def edge_of(tags: Sequence[str]) -> str:
    """The edge kind of a task's first edge-case operation ("" if none): the one its
    public examples try to show."""
    return next((tag[5:] for tag in tags if tag.startswith("edge:")), "")

@dataclass(frozen=True)
class Provenance:
    """Where a task (or training sample) came from."""

    origin: str  # "seed-synth" or "policy"; anything else fails the provenance check
    run_id: str
    created_at: float = field(default_factory=time.time)
    policy_version: int | None = None
    parent_task_ids: tuple[str, ...] = ()
    generator: str | None = None  # e.g. "zeroplay-synth/1"
    seed: int | None = None

    @classmethod
    def seed_synth(cls, run_id: str, generator: str, seed: int) -> Provenance:
        return cls("seed-synth", run_id, generator=generator, seed=seed)

    @classmethod
    def policy(cls, run_id: str, policy_version: int, parents: tuple[str, ...]) -> Provenance:
        return cls("policy", run_id, policy_version=policy_version, parent_task_ids=parents)

    @property
    def synthetic(self) -> bool:
        return self.origin in SYNTHETIC_ORIGINS

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "parent_task_ids": list(self.parent_task_ids)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Provenance:
        return cls(**{**data, "parent_task_ids": tuple(data.get("parent_task_ids", ()))})


@dataclass(frozen=True)
class TaskStats:
    attempts: int = 0
    solves: int = 0
    last_seen_step: int | None = None

    @property
    def solve_rate(self) -> float | None:
        return self.solves / self.attempts if self.attempts else None

    @property
    def learnability(self) -> float:
        return learnability(self.solve_rate)

    def to_json(self) -> dict[str, Any]:
        return {"attempts": self.attempts, "solves": self.solves, "solve_rate": self.solve_rate,
                "learnability": self.learnability, "last_seen_step": self.last_seen_step}


@dataclass(frozen=True)
class TaskDraft:
    """A proposed task before validation (from the synthesizer or the policy: UNTRUSTED)."""

    statement: str
    entry_point: str
    signature: str
    reference: str
    strategy: str
    provenance: Provenance
    kind: str = "unknown"  # a coarse family for diverse sampling, e.g. "list[int]->int"
    tags: tuple[str, ...] = ()  # operations it uses (synthesizer) or other features

    @property
    def id(self) -> str:
        return task_id(self.entry_point, self.reference, self.strategy)


@dataclass(frozen=True)
class Task:
    id: str
    statement: str
    entry_point: str
    signature: str
    reference: str
    strategy: str
    tests: tuple[TestCase, ...]
    provenance: Provenance
    kind: str = "unknown"
    tags: tuple[str, ...] = ()
    status: str = "valid"  # "valid" or "rejected"
    reason: str = ""  # machine-readable reject reason
    detail: str = ""
    split: str = "train"  # one of SPLITS; held-out splits are never sampled for training
    step: int = 0  # self-play step that created it
    stats: TaskStats = field(default_factory=TaskStats)

    @classmethod
    def from_validation(cls, draft: TaskDraft, validation: Validation, *, step: int = 0,
                        split: str = "train") -> Task:
        """The only way from a draft to a task: a valid task, or a recorded rejection."""
        common = dict(id=draft.id, statement=draft.statement, entry_point=draft.entry_point,
                      signature=draft.signature, reference=draft.reference,
                      strategy=draft.strategy, provenance=draft.provenance, kind=draft.kind,
                      tags=draft.tags, step=step, split=split)
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; one of {', '.join(SPLITS)}")
        if validation.valid:
            return cls(tests=tuple(validation.tests), **common)
        return cls(tests=(), status="rejected", reason=validation.reason,
                   detail=validation.detail, **common)

    @property
    def valid(self) -> bool:
        return self.status == "valid"

    @property
    def heldout(self) -> bool:
        return self.split != "train"

    @property
    def public_tests(self) -> tuple[TestCase, ...]:
        return tuple(t for t in self.tests if t.public)

    @property
    def hidden_tests(self) -> tuple[TestCase, ...]:
        return tuple(t for t in self.tests if not t.public)

    def with_stats(self, stats: TaskStats) -> Task:
        return replace(self, stats=stats)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "statement": self.statement, "entry_point": self.entry_point,
            "signature": self.signature, "reference": self.reference, "strategy": self.strategy,
            "tests": [t.to_json() for t in self.tests], "provenance": self.provenance.to_json(),
            "kind": self.kind, "tags": list(self.tags), "status": self.status,
            "reason": self.reason,
            "detail": self.detail, "heldout": self.heldout, "split": self.split,
            "step": self.step,
            "stats": self.stats.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Task:
        stats = data.get("stats") or {}
        return cls(
            id=data["id"], statement=data["statement"], entry_point=data["entry_point"],
            signature=data["signature"], reference=data["reference"],
            strategy=data["strategy"],
            tests=tuple(TestCase.from_json(t) for t in data.get("tests", [])),
            provenance=Provenance.from_json(data["provenance"]), kind=data.get("kind", "unknown"),
            tags=tuple(data.get("tags", ())),
            status=data.get("status", "valid"), reason=data.get("reason", ""),
            detail=data.get("detail", ""),
            # Stores written before the seen/unseen splits held out unseen combinations.
            split=data.get("split") or ("heldout-unseen" if data.get("heldout") else "train"),
            step=int(data.get("step", 0)),
            stats=TaskStats(int(stats.get("attempts", 0)), int(stats.get("solves", 0)),
                            stats.get("last_seen_step")),
        )
