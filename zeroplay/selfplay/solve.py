"""Stage 4, solve: solver completions for the step's tasks, parsed into code.

    solutions = solve(rollouts, tasks, cfg)
    solutions[0].code   # the function's source, or None with .reason saying why
    more = solve(rollouts, other_tasks, cfg, first_index=len(tasks))  # a later round

The solver gets `rollout.num_generations` completions per task (one GRPO group each).
Its prompt shows the task's statement, signature and public tests only. Prompts are
numbered from `first_index` on (the completions' `prompt_index`), so the groups of a
step's later rounds (dynamic sampling) keep names of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

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


def solve(rollouts: Generates, tasks: list[Task], cfg: Config, first_index: int = 0
          ) -> list[Solution]:
    if not tasks:
        return []
    outs = rollouts.generate([solver_messages(t) for t in tasks], cfg.rollout.num_generations,
                             "solver")
    solutions = []
    for out in outs:
        task = tasks[out.prompt_index]
        parsed = parse_solution(out.text, task.entry_point)
        numbered = replace(out, prompt_index=first_index + out.prompt_index)
        solutions.append(Solution(numbered, task, parsed.code, parsed.reason))
    return solutions
