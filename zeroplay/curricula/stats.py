"""Numbers about a curriculum, for `zeroplay curriculum stats` and the HTML report.

    summary = curriculum_stats(store, window=4)   # plain dict, JSON-serializable
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from zeroplay.curricula.store import CurriculumStore

BINS = 10


def histogram(values: list[float], bins: int = BINS) -> list[int]:
    """Counts of values in [0, 1] over `bins` equal bins (1.0 falls in the last).

    >>> histogram([0.0, 0.05, 0.5, 1.0], bins=4)
    [2, 0, 1, 1]
    """
    counts = [0] * bins
    for v in values:
        counts[min(int(v * bins), bins - 1)] += 1
    return counts


def curriculum_stats(store: CurriculumStore, window: int | None = None) -> dict[str, Any]:
    tasks = store.tasks(window=window)
    valid = [t for t in tasks if t.valid]
    attempted = [t for t in valid if t.stats.attempts]
    per_step = Counter(t.step for t in tasks)
    valid_per_step = Counter(t.step for t in valid)
    cumulative, growth = 0, []
    for step in sorted(per_step):
        cumulative += valid_per_step.get(step, 0)
        growth.append({"step": step, "new": per_step[step], "new_valid": valid_per_step[step],
                       "valid_total": cumulative})
    tags = Counter(tag for t in valid for tag in t.tags)
    return {
        "tasks": len(tasks),
        "by_status": dict(Counter(t.status for t in tasks)),
        "by_origin": dict(Counter(t.provenance.origin for t in tasks)),
        "reject_reasons": dict(Counter(t.reason for t in tasks if not t.valid).most_common()),
        "filtered": {f"{f}:{r}": n for (f, r), n in sorted(store.filter_counts().items())},
        "heldout": sum(t.heldout for t in valid),
        "attempted": len(attempted),
        "attempts": sum(t.stats.attempts for t in valid),
        "solve_rate_histogram": histogram([t.stats.solve_rate or 0.0 for t in attempted]),
        "learnability_histogram": histogram([t.stats.learnability for t in attempted]),
        "learnable": sum(t.stats.learnability > 0 for t in attempted),
        "growth": growth,
        "top_kinds": Counter(t.kind for t in valid).most_common(10),
        "top_operations": tags.most_common(10),
        "steps_recorded": len(store.steps()),
        "window": window,
    }
