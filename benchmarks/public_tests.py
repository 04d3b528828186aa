"""How informative the public tests of synthesized tasks are: the first draws against the chosen.

    .venv/bin/python benchmarks/public_tests.py [--n 200] [--seed 0] [--set KEY=VALUE ...]

Synthesizes `n` seed tasks, validates them through the real sandbox (pool of
`sandbox.pool_size`), and compares, over the valid ones, the public cases that validation
chose with the old rule (the first `num_public_tests` cases in draw order, which the stored
tests keep):

  - the share of public cases with a minimal argument (`public.is_minimal`: zero, empty,
    or a collection of only those), and the share of public arguments that are minimal;
  - the mean number of distinct expected outputs among a task's public cases;
  - the mean size of a public example line as the solver prompt shows it (characters).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from statistics import mean

from common import write_result

from zeroplay.actors.prompts import solver_messages
from zeroplay.config import load_config
from zeroplay.curricula.synth import synthesize
from zeroplay.curricula.task import Task
from zeroplay.sandbox.batch import Draft, validate_many
from zeroplay.sandbox.codec import canonical
from zeroplay.sandbox.pool import SandboxPool
from zeroplay.sandbox.public import is_minimal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    cfg = load_config(None, args.set)
    drafts = synthesize(args.n, args.seed, cfg.curriculum.max_ops)
    with SandboxPool(cfg.sandbox) as pool:  # builds the image if it is missing
        validations = validate_many(pool, [Draft(d.entry_point, d.reference, d.strategy)
                                           for d in drafts], cfg.sandbox, args.seed)
    tasks = [Task.from_validation(d, v) for d, v in zip(drafts, validations, strict=True)
             if v.valid]
    first = [[t for t in task.tests[:min(cfg.sandbox.num_public_tests, len(task.tests) - 1)]]
             for task in tasks]
    chosen = [list(task.public_tests) for task in tasks]
    print(f"{len(tasks)} of {len(drafts)} synthesized tasks valid; "
          f"sandbox.num_public_tests={cfg.sandbox.num_public_tests}")
    print(f"{'':28}{'first draws':>14}{'chosen':>10}")
    rows = [("public cases", lambda ts: sum(map(len, ts)), "{:.0f}"),
            ("cases with a minimal arg", _minimal_cases, "{:.1%}"),
            ("arguments that are minimal", _minimal_args, "{:.1%}"),
            ("distinct outputs per task", _distinct, "{:.2f}"),
            ("chars per example line", lambda ts: _line_chars(tasks, ts), "{:.0f}")]
    for label, measure, fmt in rows:
        print(f"{label:28}{fmt.format(measure(first)):>14}{fmt.format(measure(chosen)):>10}")
    write_result("public_tests", Path("runs/bench-public"), {
        "tasks": len(tasks), "drafts": len(drafts),
        "rows": {label: {"first_draws": measure(first), "chosen": measure(chosen)}
                 for label, measure, _ in rows}})


def _minimal_cases(per_task: list[list]) -> float:
    cases = [t for ts in per_task for t in ts]
    return sum(any(map(is_minimal, t.args)) for t in cases) / max(1, len(cases))


def _minimal_args(per_task: list[list]) -> float:
    values = [a for ts in per_task for t in ts for a in t.args]
    return sum(map(is_minimal, values)) / max(1, len(values))


def _distinct(per_task: list[list]) -> float:
    return mean(len({canonical(t.expected) for t in ts}) for ts in per_task)


def _line_chars(tasks: list[Task], per_task: list[list]) -> float:
    from dataclasses import replace

    lines = []
    for task, shown in zip(tasks, per_task, strict=True):
        tests = [replace(t, public=any(t is s for s in shown)) for t in task.tests]
        text = solver_messages(replace(task, tests=tuple(tests)))[-1]["content"]
        lines += text.split("Examples:\n")[1].split("\n\n")[0].splitlines()
    return mean(map(len, lines))


if __name__ == "__main__":
    main()
