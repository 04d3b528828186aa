"""Numbers about a curriculum, for `zeroplay curriculum stats` and the HTML report.

    summary = curriculum_stats(store, window=4)   # plain dict, JSON-serializable
    shares = composition(store.tasks(status="valid", split="train"))
    targets = mix_targets(cfg.curriculum.mix.to_mix(), cfg.curriculum.max_ops)
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from zeroplay.corpus.mix import Mix
from zeroplay.curricula.store import CurriculumStore
from zeroplay.curricula.synth import corpus_tags_of, synthesize
from zeroplay.curricula.task import ops_of

CORPUS_KINDS = ("family", "api", "edge")

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


def curriculum_stats(store: CurriculumStore, window: int | None = None,
                     mix: Mix | None = None, max_ops: int = 3) -> dict[str, Any]:
    """Counts, histograms, growth, and the training tasks' composition (beside `mix`'s
    targets when given)."""
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
    ops = Counter(op for t in valid for op in ops_of(t.tags))
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
        "top_operations": ops.most_common(10),
        "composition": composition(t for t in valid if t.split == "train"),
        "mix": None if mix is None else {**mix.as_dict(),
                                         "targets": mix_targets(mix, max_ops)},
        "steps_recorded": len(store.steps()),
        "window": window,
    }


def composition(tasks) -> dict[str, dict[str, float]]:
    """The share of `tasks` that carry each family, API and edge kind (a task of several
    operations counts in each of theirs; edge "any": an edge of any kind):
    {"family": {"strings": 0.21, ...}, ...}."""
    counts: dict[str, Counter] = {kind: Counter() for kind in CORPUS_KINDS}
    n = 0
    for task in tasks:
        n += 1
        tags = corpus_tags_of(task.tags)
        for tag in tags:
            kind, _, name = tag.partition(":")
            if kind in counts:
                counts[kind][name] += 1
        counts["edge"]["any"] += any(tag.startswith("edge:") for tag in tags)
    return {kind: {name: c / n for name, c in sorted(counted.items())}
            for kind, counted in counts.items()} if n else {kind: {} for kind in CORPUS_KINDS}


def mix_targets(mix: Mix, max_ops: int, n: int = 2000) -> dict[str, dict[str, float]]:
    """What a mix aims at: the composition of a large draw of it (before validation,
    which moves the shares a little)."""
    return composition(synthesize(n, seed=0, max_ops=max_ops, stream="mix-targets", mix=mix))


def composition_rows(shares: dict[str, dict[str, float]],
                     targets: dict[str, dict[str, float]] | None = None) -> list[tuple]:
    """(kind, name, share, target) rows, percentages as text; target "-" without a mix."""
    rows = []
    for kind in CORPUS_KINDS:
        names = sorted(set(shares.get(kind, {})) | set((targets or {}).get(kind, {})))
        for name in names:
            target = (targets or {}).get(kind, {}).get(name)
            rows.append((kind, name, f"{shares.get(kind, {}).get(name, 0.0):.1%}",
                         "-" if target is None else f"{target:.1%}"))
    return rows

