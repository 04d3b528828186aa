"""Every reward rule of self-play, as pure functions (no I/O, no state).

    solver_reward(hidden_passed=3, hidden=4, mode="all_pass")      # 0.0
    learnability(0.25)                                             # 0.75
    proposal_reward("valid", solve_rate=0.5, format_penalty=-1.0, invalid_penalty=-0.5)

The solver is rewarded for hidden tests only (public ones are in its prompt). A
proposal is rewarded with the learnability of the task it made, as in Absolute Zero: a
task that the solver sometimes but not always solves is worth most; one that is always
or never solved is worth nothing. Malformed output and drafts that fail validation are
penalised. These rules say nothing about how verdicts are reached (the sandbox does).
"""

from __future__ import annotations

from typing import Literal

RewardMode = Literal["all_pass", "pass_fraction"]
ProposalOutcome = Literal["format", "duplicate", "rejected", "valid"]


def solver_reward(hidden_passed: int, hidden: int, mode: RewardMode) -> float:
    """1 if every hidden test passed (or the pass fraction); 0 without hidden tests.

    >>> solver_reward(4, 4, "all_pass"), solver_reward(3, 4, "all_pass")
    (1.0, 0.0)
    >>> solver_reward(3, 4, "pass_fraction"), solver_reward(0, 0, "pass_fraction")
    (0.75, 0.0)
    """
    if not hidden:
        return 0.0
    if mode == "pass_fraction":
        return hidden_passed / hidden
    return 1.0 if hidden_passed == hidden else 0.0


def learnability(solve_rate: float | None) -> float:
    """`1 - solve_rate` when the task is sometimes but not always solved, else 0.

    >>> learnability(0.25), learnability(0.0), learnability(1.0), learnability(None)
    (0.75, 0.0, 0.0, 0.0)
    """
    if solve_rate is None or not 0 < solve_rate < 1:
        return 0.0
    return 1 - solve_rate


def proposal_reward(outcome: ProposalOutcome, *, solve_rate: float | None = None,
                    format_penalty: float, invalid_penalty: float) -> float:
    """A proposal's reward: the format penalty for output that did not parse, the
    invalid penalty for a draft that was filtered or rejected, else its learnability.

    >>> proposal_reward("format", format_penalty=-1.0, invalid_penalty=-0.5)
    -1.0
    >>> proposal_reward("rejected", format_penalty=-1.0, invalid_penalty=-0.5)
    -0.5
    >>> proposal_reward("valid", solve_rate=0.5, format_penalty=-1.0, invalid_penalty=-0.5)
    0.5
    """
    if outcome == "format":
        return format_penalty
    if outcome in ("duplicate", "rejected"):
        return invalid_penalty
    return learnability(solve_rate)


def solve_rate(outcomes: list[bool]) -> float | None:
    """Share of passing solutions; None when there were none.

    >>> solve_rate([True, False, False, False]), solve_rate([])
    (0.25, None)
    """
    return sum(outcomes) / len(outcomes) if outcomes else None
