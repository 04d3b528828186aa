"""The typed objects that cross stage and actor boundaries, in one module every side imports.

    Completion   a sampled completion (rollout actor -> self-play step)
    TestCase     a frozen test: tagged arguments and the tagged expected value
    Validation   a draft's verdict from the sandbox (sandbox -> step, curriculum)
    Verdict      a solution's verdict, judged on the host (sandbox -> step)
    RolloutSample  one scored completion for GRPO (step -> learner)
    LearnerStatus  what the learner reports (learner -> driver)

They are plain frozen dataclasses with no behaviour beyond (de)serialisation, so Ray
pickles them cheaply and no side reads another's dicts by key. Tagged values are the
sandbox's value encoding (`zeroplay.sandbox.codec`); nothing here checks them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["proposer", "solver"]

# Why a draft was rejected (Validation.reason); stable names, counted in metrics.
REJECT_REASONS = (
    "syntax", "no_entry_point", "banned_import", "banned_call", "banned_name", "strategy",
    "arity", "too_few_inputs", "load_error", "timeout", "memory", "output_limit", "crash",
    "sandbox_error", "crash_rate", "unserializable_output", "nondeterministic", "trivial",
    "reference_too_long",
)
# What a judged solution came to (Verdict.status).
VERDICT_STATUSES = ("pass", "fail", "error", "timeout", "memory", "output_limit", "invalid")


@dataclass(frozen=True)
class Completion:
    """One sampled completion of prompt `prompt_index` (n per prompt, consecutive)."""

    prompt_index: int
    prompt_ids: list[int]
    completion_ids: list[int]  # up to and including eos when it was generated
    logprobs: list[float]  # behaviour log-prob of each completion id
    text: str
    finish_reason: str  # "stop" (eos) or "length" (cut at max_new_tokens)
    policy_version: int


@dataclass(frozen=True)
class TestCase:
    """One frozen test: tagged arguments and the reference's tagged result."""

    __test__ = False  # not a pytest class, despite the name

    args: list
    expected: list
    public: bool = False

    def to_json(self) -> dict:
        return {"args": self.args, "expected": self.expected, "public": self.public}

    @classmethod
    def from_json(cls, data: dict) -> TestCase:
        return cls(list(data["args"]), list(data["expected"]), bool(data.get("public", False)))


@dataclass(frozen=True)
class Validation:
    """A draft's outcome: valid with frozen tests, or rejected with a reason."""

    valid: bool
    reason: str = ""  # one of REJECT_REASONS when not valid
    detail: str = ""
    tests: list[TestCase] = field(default_factory=list)

    @classmethod
    def reject(cls, reason: str, detail: str) -> Validation:
        if reason not in REJECT_REASONS:
            raise ValueError(f"unknown rejection reason {reason!r}")
        return cls(False, reason, detail[:500])


@dataclass(frozen=True)
class Verdict:
    """A solution's outcome on a task's tests; `reward` counts hidden tests only."""

    reward: float
    status: str  # one of VERDICT_STATUSES
    passed: int
    total: int
    detail: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"reward": self.reward, "status": self.status, "passed": self.passed,
                "total": self.total, "detail": self.detail}


@dataclass(frozen=True)
class RolloutSample:
    """One completion with what GRPO needs; the samples of one group share `group`."""

    role: Role
    group: str
    prompt_ids: list[int]
    completion_ids: list[int]
    logprobs: list[float]
    reward: float
    policy_version: int
    step: int
    task_id: str | None
    finish_reason: str
    status: str  # parse/validation/verdict outcome, for metrics


@dataclass(frozen=True)
class LearnerStatus:
    """The learner's progress; `logs` are TRL log entries and `published` the records
    of its weight publishes (zeroplay.actors.weights) since the caller's indices."""

    step: int  # optimizer steps taken
    version: int  # newest published policy version
    dropped_stale: int
    pending: int  # groups waiting to be trained
    staleness: float | None
    error: str | None  # why the trainer stopped, if it did
    logs: list[dict[str, Any]] = field(default_factory=list)
    log_index: int = 0
    published: list[dict[str, Any]] = field(default_factory=list)
    published_index: int = 0
