"""Provenance: proof that every task and every training sample is synthetic.

    report = provenance_report(store)      # {"passed": True, "tasks": {...}, ...}
    write_provenance(report, RunPaths(run_dir).provenance_path)

Each task and sample records its origin: `seed-synth` (the synthesizer, with generator
version and seed) or `policy` (with the policy version and parent task ids). Anything
else, or a missing origin, is an offender and fails the check.

The check also proves that no evaluation problem entered training: a task whose
normalized statement or normalized solution (AST with names, docstrings and annotations
erased) matches a HumanEval problem is an offender too, whatever its recorded origin.
Held-out tasks are checked as well, since they are synthetic by the same rule.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from zeroplay.curricula.store import CurriculumStore
from zeroplay.curricula.task import SYNTHETIC_ORIGINS, Task
from zeroplay.files import atomic_write_text

MAX_LISTED = 50


def provenance_report(store: CurriculumStore) -> dict[str, Any]:
    tasks = store.tasks()
    samples = store.samples()
    bad_tasks = [t.id for t in tasks if t.provenance.origin not in SYNTHETIC_ORIGINS]
    bad_samples = [s.id for s in samples if s.provenance.origin not in SYNTHETIC_ORIGINS]
    generators = Counter(t.provenance.generator for t in tasks if t.provenance.generator)
    contaminated = benchmark_matches(tasks)
    return {
        "passed": not bad_tasks and not bad_samples and not contaminated,
        "allowed_origins": list(SYNTHETIC_ORIGINS),
        "tasks": {"total": len(tasks), "by_origin": dict(Counter(t.provenance.origin
                                                                  for t in tasks)),
                  "by_status": dict(Counter(t.status for t in tasks)),
                  "heldout": sum(t.heldout for t in tasks), "generators": dict(generators)},
        "samples": {"total": len(samples),
                    "by_origin": dict(Counter(s.provenance.origin for s in samples)),
                    "by_role": dict(Counter(s.role for s in samples))},
        "offenders": {"tasks": bad_tasks[:MAX_LISTED], "samples": bad_samples[:MAX_LISTED],
                      "tasks_total": len(bad_tasks), "samples_total": len(bad_samples)},
        "contamination": {"benchmarks": ["humaneval"], "tasks_checked": len(tasks),
                          "matches": contaminated[:MAX_LISTED], "total": len(contaminated)},
    }


def benchmark_matches(tasks: list[Task]) -> list[dict[str, str]]:
    """[{"task", "problem"}] for each task that copies a HumanEval problem's statement or
    solution (evaluation data must never be trained on)."""
    from zeroplay.eval.humaneval import fingerprints

    prints = fingerprints()
    found = []
    for task in tasks:
        problem = prints.match(task.statement, task.reference)
        if problem is not None:
            found.append({"task": task.id, "problem": problem})
    return found


def write_provenance(report: dict[str, Any], path: Path) -> None:
    atomic_write_text(path, json.dumps(report, indent=2) + "\n")
