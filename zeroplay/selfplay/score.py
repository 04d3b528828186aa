"""Stage 6, score: a reward and a status for every completion of the step.

    solver = score_solutions(solutions, verdicts)
    proposer = score_proposals(proposals, vetted, solver, cfg)

A solution's reward is its verdict's (hidden tests only); one that did not parse gets 0
and its parse reason. A proposal's reward follows `zeroplay.rewards.proposal_reward`:
its new task's learnability from this step's solutions, or a penalty. Pure: nothing is
run or written here.
"""

from __future__ import annotations

from dataclasses import dataclass

from zeroplay.config import Config
from zeroplay.curricula.admit import NOT_RECORDED, Vetted
from zeroplay.handoff import Verdict
from zeroplay.rewards import proposal_reward, solve_rate
from zeroplay.selfplay.propose import Proposal
from zeroplay.selfplay.solve import Solution


@dataclass(frozen=True)
class Score:
    reward: float
    # verdict status, "format:<reason>", "duplicate:<reason>", "rejected:<reason>", "valid"
    status: str
    task_id: str | None


def score_solutions(solutions: list[Solution], verdicts: list[Verdict | None]) -> list[Score]:
    return [Score(v.reward, v.status, s.task.id) if v is not None
            else Score(0.0, f"format:{s.reason}", s.task.id)
            for s, v in zip(solutions, verdicts, strict=True)]


def solve_rates(scores: list[Score]) -> dict[str, float | None]:
    """Each task's share of passing solutions this step."""
    passed: dict[str, list[bool]] = {}
    for score in scores:
        passed.setdefault(score.task_id or "", []).append(score.status == "pass")
    return {task_id: solve_rate(outcomes) for task_id, outcomes in passed.items()}


def score_proposals(proposals: list[Proposal], vetted: Vetted, solver: list[Score],
                    cfg: Config) -> list[Score]:
    """`vetted` holds the proposals' drafts first, in order (then any other drafts)."""
    r = cfg.rollout
    penalties = {"format_penalty": r.format_penalty, "invalid_penalty": r.invalid_penalty}
    by_id = {t.id: t for t in vetted.tasks}
    rates = solve_rates(solver)
    outcomes = iter(vetted.outcomes)
    scores = []
    for proposal in proposals:
        if proposal.draft is None:
            scores.append(Score(proposal_reward("format", **penalties),
                                f"format:{proposal.reason}", None))
            continue
        filtered = next(outcomes)
        if filtered in NOT_RECORDED:  # a copy of a curriculum task or of an earlier draft
            outcome, status = "duplicate", f"duplicate:{filtered}"
        elif filtered:
            outcome, status = "rejected", f"rejected:{filtered}"
        elif not by_id[proposal.draft.id].valid:
            outcome, status = "rejected", f"rejected:{by_id[proposal.draft.id].reason}"
        else:
            outcome, status = "valid", "valid"
        scores.append(Score(proposal_reward(outcome, solve_rate=rates.get(proposal.draft.id),
                                            **penalties), status, proposal.draft.id))
    return scores
