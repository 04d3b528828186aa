"""The benchmarks `zeroplay eval` knows: what the policy is asked, and how an answer is judged.

    problems = humaneval_problems(limit=10)
    problems = heldout_problems(cfg, validate, run_dir=None, limit=20)  # regenerated
    code, entry, tests = problems[0].candidate(function_code)           # for judge_many

Both are asked in the solver's chat format (`actors/prompts.py`), so the policy sees the
prompts it was trained on, and answered with `<function>...</function>`:

* `humaneval`: the solver system prompt, then a user turn with HumanEval's prompt
  (imports, helpers, signature and docstring) verbatim, asking for the complete function.
  The parsed function is appended to the prompt, so the prompt's imports and helpers are
  in scope, and judged by HumanEval's own `check()` in the sandbox.
* `synthetic-heldout`: the synthesizer's held-out split (operation combinations that the
  training split never contains), asked exactly as self-play asks the solver and judged on
  the task's frozen tests. The tasks come from a run's store (`--run`, the split that run
  held out) or are regenerated from the config's seed: synthesized and validated in the
  sandbox the same way `zeroplay curriculum seed` does, so the two agree for one seed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from zeroplay.config import Config
from zeroplay.curricula.task import HELDOUT_SPLITS, Task, edge_of
from zeroplay.errors import ZeroplayError
from zeroplay.eval.humaneval import Problem, check_candidate, load_problems, solution_program
from zeroplay.handoff import TestCase
from zeroplay.run_paths import RunPaths
from zeroplay.sandbox.batch import Draft

log = logging.getLogger(__name__)

BENCHMARKS = ("humaneval", "synthetic-heldout")
PROMPT_FORMAT = "solver-chat/2"  # /2: the statement after the examples
HUMANEVAL_USER = (
    "Complete this Python function. Keep its name and arguments; the imports and helper "
    "functions shown are available.\n\n{prompt}\nWrite the function."
)

Candidate = tuple[str, str, tuple[TestCase, ...]]
Validate = Callable[[list[Draft], int], list]


class EvalError(ZeroplayError):
    """An evaluation that cannot run as asked (benchmark, limit, model, run directory)."""


@dataclass(frozen=True)
class EvalProblem:
    """One problem as the eval loop sees it."""

    id: str
    entry_point: str
    messages: list[dict[str, str]]
    humaneval: Problem | None = None
    task: Task | None = None

    def candidate(self, function_code: str) -> Candidate:
        """(code, entry point, tests) that `judge_many` passes iff the answer is right."""
        if self.humaneval is not None:
            return check_candidate(self.humaneval,
                                   solution_program(self.humaneval, function_code))
        assert self.task is not None
        return function_code, self.entry_point, self.task.tests


def check_benchmark(name: str) -> str:
    if name not in BENCHMARKS:
        raise EvalError(f"unknown benchmark {name!r}: use one of {', '.join(BENCHMARKS)}")
    return name


def check_limit(limit: int | None) -> int | None:
    if limit is not None and limit < 1:
        raise EvalError(f"--limit {limit}: give a positive number of problems, or leave it out "
                        "for all of them")
    return limit


def humaneval_messages(problem: Problem) -> list[dict[str, str]]:
    from zeroplay.actors.prompts import SOLVER_SYSTEM

    return [{"role": "system", "content": SOLVER_SYSTEM},
            {"role": "user", "content": HUMANEVAL_USER.format(prompt=problem.prompt)}]


def humaneval_problems(limit: int | None = None) -> list[EvalProblem]:
    return [EvalProblem(p.task_id, p.entry_point, humaneval_messages(p), humaneval=p)
            for p in load_problems(check_limit(limit))]


def task_problem(task: Task) -> EvalProblem:
    from zeroplay.actors.prompts import solver_messages

    return EvalProblem(task.id, task.entry_point, solver_messages(task), task=task)


def check_split(split: str) -> None:
    if split not in HELDOUT_SPLITS:
        raise EvalError(f"--split {split}: choose one of {', '.join(HELDOUT_SPLITS)}")


def heldout_problems(cfg: Config, validate: Validate, run_dir: Path | None = None,
                     limit: int | None = None, seed: int | None = None,
                     split: str = "heldout-unseen") -> list[EvalProblem]:
    """A held-out split of `run_dir`'s store, or regenerated from `seed` (run.seed)."""
    check_limit(limit)
    check_split(split)
    tasks = _stored_heldout(run_dir, split) if run_dir is not None else _regenerated_heldout(
        cfg, validate, cfg.run.seed if seed is None else seed, limit, split)
    if not tasks:
        raise EvalError(f"no valid {split} tasks to evaluate on; seed the run with "
                        "curriculum.heldout_tasks > 0 or leave out --run to regenerate them")
    return [task_problem(t) for t in tasks[:limit]]


def _stored_heldout(run_dir: Path, split: str) -> list[Task]:
    from zeroplay.curricula.store import CurriculumStore

    path = RunPaths(run_dir).curriculum_path
    if not path.is_file():
        raise EvalError(f"{run_dir} has no {path.name}; pass a run directory, or leave "
                        "out --run to regenerate the held-out split from the config's seed")
    with CurriculumStore.open(path, readonly=True) as store:
        return sorted(store.tasks(status="valid", split=split), key=lambda t: t.id)


def _regenerated_heldout(cfg: Config, validate: Validate, seed: int,
                         limit: int | None, split: str) -> list[Task]:
    from zeroplay.curricula.synth import synthesize, synthesize_heldout_seen

    cur = cfg.curriculum
    if split == "heldout-unseen":
        drafts = synthesize(cur.heldout_tasks, seed, cur.max_ops, "eval", split=split)
    else:
        train = synthesize(cur.seed_tasks, seed, cur.max_ops, "eval")
        drafts = synthesize_heldout_seen(cur.heldout_tasks, seed, cur.max_ops, "eval", train)
    if limit is not None:
        drafts = drafts[:2 * limit]  # room for drafts that validation rejects
    validations = validate([Draft(d.entry_point, d.reference, d.strategy, edge_of(d.tags))
                            for d in drafts],
                           seed)
    tasks = [Task.from_validation(d, v, split=split)
             for d, v in zip(drafts, validations, strict=True)]
    valid = [t for t in tasks if t.valid]
    log.info("regenerated the held-out split: %d of %d drafts valid", len(valid), len(tasks))
    return valid
