"""Dynamic sampling (as in DAPO): solver rounds until the step has informative groups.

    solver = SolverRounds.for_step(cfg)
    solver.add(solutions, scores)   # one round, solved, judged and scored
    solver.refill_size()            # tasks to solve in the next round; 0 when done
    solver.pairs(kept=True)         # (completion, score) of the groups for the learner

GRPO's advantage (r - mean) / (std + eps) is 0 for every member of a group whose rewards
are all equal, so such a group fills learner rows and gives no gradient. With
`rollout.dynamic_sampling` those solver groups are dropped, counted by cause (`all_pass`,
`all_fail`, or `all_equal` for equal partial pass fractions), and one more task per
missing group is solved, until `rollout.solver_tasks_per_step` groups are informative
or `rollout.max_sampling_rounds` rounds ran. A refill never asks for more than the
missing groups, so a step hands the learner no more solver groups than its first round
could, and its solver generation costs at most max_sampling_rounds rounds. Dropped
groups are still attempts: the record stage stores every solution. Proposer groups of
equal rewards are dropped by the step when learner.beta is 0 (`selfplay.step`), with no
refill. Nothing here guarantees a full batch: the bound, or a curriculum without more
tasks, can end the rounds first.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from zeroplay.config import Config
from zeroplay.handoff import Completion
from zeroplay.selfplay.score import Score
from zeroplay.selfplay.solve import Solution

CAUSES = ("all_pass", "all_fail", "all_equal")


def zero_std_cause(rewards: Sequence[float]) -> str | None:
    """Why a group's rewards give it no advantage, or None when they differ.

    >>> zero_std_cause([1.0, 1.0]), zero_std_cause([0.0, 0.0]), zero_std_cause([0.5, 0.5])
    ('all_pass', 'all_fail', 'all_equal')
    >>> zero_std_cause([0.0, 1.0, 0.0]) is None
    True
    """
    if max(rewards) != min(rewards):
        return None
    return "all_pass" if rewards[0] >= 1 else "all_fail" if rewards[0] <= 0 else "all_equal"


def frac_zero_std(groups: Sequence[Sequence[float]]) -> float:
    """Share of groups whose rewards are all equal (TRL's `frac_reward_zero_std`).

    >>> frac_zero_std([[1.0, 0.0], [-1.0, -1.0]]), frac_zero_std([])
    (0.5, 0.0)
    """
    return sum(zero_std_cause(g) is not None for g in groups) / len(groups) if groups else 0.0


def by_prompt(completions: Sequence[Completion]) -> list[list[int]]:
    """Indices of the completions of each prompt (one GRPO group each), in order."""
    groups: dict[int, list[int]] = {}
    for i, out in enumerate(completions):
        groups.setdefault(out.prompt_index, []).append(i)
    return list(groups.values())


@dataclass
class SolverRounds:
    """Every solver round of one step: all solutions and scores (for the record), which
    groups go to the learner, and what was dropped."""

    target: int  # informative groups wanted: rollout.solver_tasks_per_step
    filtering: bool  # rollout.dynamic_sampling
    max_rounds: int  # rollout.max_sampling_rounds
    solutions: list[Solution] = field(default_factory=list)
    scores: list[Score] = field(default_factory=list)
    keep: list[bool] = field(default_factory=list)  # per solution: its group is trained on
    dropped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CAUSES, 0))
    groups: int = 0  # judged groups (= prompts solved) over all rounds
    informative: int = 0  # of those, groups whose rewards differ
    rounds: int = 0

    @classmethod
    def for_step(cls, cfg: Config) -> SolverRounds:
        r = cfg.rollout
        return cls(r.solver_tasks_per_step, r.dynamic_sampling, r.max_sampling_rounds)

    def add(self, solutions: list[Solution], scores: list[Score]) -> None:
        """One round's scored solutions (its prompts numbered after the previous rounds')."""
        self.rounds += 1
        self.solutions += solutions
        self.scores += scores
        keep = [True] * len(solutions)
        for members in by_prompt([s.completion for s in solutions]):
            self.groups += 1
            cause = zero_std_cause([scores[i].reward for i in members])
            if cause is None:
                self.informative += 1
            elif self.filtering:
                self.dropped[cause] += 1
                for i in members:
                    keep[i] = False
        self.keep += keep

    def refill_size(self) -> int:
        """Tasks to solve next: one per missing informative group; 0 without dynamic
        sampling, once the batch is full, or after the last allowed round."""
        if not self.filtering or self.rounds >= self.max_rounds:
            return 0
        return max(0, self.target - self.informative)

    def task_ids(self) -> set[str]:
        """Tasks solved this step (a refill takes others)."""
        return {s.task.id for s in self.solutions}

    def pairs(self, kept: bool) -> Iterator[tuple[Completion, Score]]:
        """(completion, score) of the groups the learner gets, or of the dropped ones."""
        return ((s.completion, score) for s, score, k
                in zip(self.solutions, self.scores, self.keep, strict=True) if k == kept)

    def frac_zero_std(self) -> float:
        """Share of this step's solver groups with equal rewards, before any was dropped."""
        return (self.groups - self.informative) / self.groups if self.groups else 0.0
