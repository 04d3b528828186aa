"""Stage 4, solve: solver completions for the step's tasks, parsed into code.

    solutions = solve(rollouts, tasks, cfg)
    solutions[0].code   # the function's source, or None with .reason saying why

The solver gets `rollout.num_generations` completions per task (one GRPO group each).
Its prompt shows the task's statement, signature and public tests only.
"""

from __future__ import annotations

from dataclasses import dataclass

from zeroplay.actors.parsing import parse_solution
from zeroplay.actors.prompts import solver_messages
from zeroplay.config import Config
from zeroplay.curricula.task import Task
from zeroplay.handoff import Completion
from zeroplay.selfplay.propose import Generates


@dataclass(frozen=True)
class Solution:
    completion: Completion
    task: Task
    code: str | None
    reason: str = ""  # why it did not parse


def solve(rollouts: Generates, tasks: list[Task], cfg: Config) -> list[Solution]:
    if not tasks:
        return []
    outs = rollouts.generate([solver_messages(t) for t in tasks], cfg.rollout.num_generations,
                             "solver")
    solutions = []
    for out in outs:
        task = tasks[out.prompt_index]
        parsed = parse_solution(out.text, task.entry_point)
        solutions.append(Solution(out, task, parsed.code, parsed.reason))
    return solutions
