"""Does a corpus mix teach what it emphasizes? Warm starts of equal budget under each mix.

    .venv/bin/python benchmarks/corpus_mix.py [--mixes uniform rare-apis edge-cases]
        [--seeds 0 1 2] [--eval-tasks 200] [--warm-start-steps N] [--warm-start-tasks N]
        [--out runs/bench-mix] [--set KEY=VALUE ...]

For each seed (`run.seed`) and mix (`curriculum.mix`, a name under configs/mixes/), a store
is seeded and a warm start trained exactly as `zeroplay run` does it
(`common.seed_and_warm_start`: the seed curriculum and `learner.warm_start_tasks` fresh
tasks, both drawn by the mix, then `learner.warm_start_steps` SFT steps); every mix gets the
same steps, tasks, batch and learning rate. The proposer phase is left out (it trains the
other role). The held-out splits are the uniform mix's under every mix (the script checks
that the ids agree), so each seed's mixes are evaluated on the same tasks: the first
`--eval-tasks` of each held-out split, greedy pass@1 as `zeroplay eval` judges it.

It prints pass@1 by family (a task counts in every family its operations use) per mix; for
each mix against uniform, the difference per family with a paired bootstrap 95% interval
(seeds, then each seed's tasks of the family, resampled); the emphasized families' gain
(families whose operations the mix weighs at least 2 on average) against the other
families' cost, each over the tasks of those families; and pass@1 on the
edge-tagged held-out tasks. It writes `corpus_mix.json` (every number, per task; also to
benchmarks/results/) and `corpus_mix.png` into `--out`. Held-out tasks choose nothing that
trains. The arms are compared at equal steps, so other load on the machine slows the run
but does not bias it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from statistics import fmean

from common import (
    config_or_exit,
    from_checkpoint,
    heldout_tasks,
    judge_split,
    seed_and_warm_start,
    write_result,
)

from zeroplay.corpus.catalogue import FAMILIES, OPS
from zeroplay.curricula.synth import corpus_tags_of
from zeroplay.eval.stats import bootstrap_per_seed
from zeroplay.sandbox.pool import SandboxPool

EMPHASIS = 2.0  # a family is emphasized when a mix weighs its operations this much on average


def families_of(task) -> set[str]:
    return {t.split(":", 1)[1] for t in corpus_tags_of(task.tags) if t.startswith("family:")}


def has_edge(task) -> bool:
    return any(t.startswith("edge:") for t in corpus_tags_of(task.tags))


def emphasized(cfg_of, mixes: list[str]) -> dict[str, list[str]]:
    """Per mix, the families whose operations it weighs at least EMPHASIS on average."""
    out = {}
    for mix in mixes:
        weigh = cfg_of(mix).curriculum.mix.to_mix().weight
        out[mix] = [family for family in FAMILIES
                    if fmean(weigh(op) for op in OPS if op.family == family) >= EMPHASIS]
    return out


def summarize(results: dict, tasks: dict, mixes: list[str], focus: dict) -> dict:
    """`results[seed][mix]`: 0/1 per held-out task (both splits, in `tasks[seed]` order)."""
    seeds = sorted(results)
    families = sorted({f for s in seeds for t in tasks[s] for f in families_of(t)})

    def pooled(mix: str, keep) -> float | None:
        values = [v for s in seeds for t, v in zip(tasks[s], results[s][mix], strict=True)
                  if keep(t)]
        return fmean(values) if values else None

    def diff(mix: str, keep) -> dict:
        per_seed = [[a - b for t, a, b in zip(tasks[s], results[s][mix], results[s]["uniform"],
                                              strict=True) if keep(t)] for s in seeds]
        mean, low, high = bootstrap_per_seed(per_seed)
        return {"mean": mean, "low": low, "high": high, "tasks": sum(map(len, per_seed))}

    out: dict = {"families": families, "emphasized": focus, "pass@1": {}, "differences": {},
                 "gain_and_cost": {}, "edge": {}}
    for mix in mixes:
        out["pass@1"][mix] = {"all": pooled(mix, lambda t: True),
                              **{f: pooled(mix, lambda t, f=f: f in families_of(t))
                                 for f in families}}
        out["edge"][mix] = {"pass@1": pooled(mix, has_edge),
                            "tasks": sum(has_edge(t) for s in seeds for t in tasks[s])}
        if mix == "uniform":
            continue
        out["differences"][mix] = {f: diff(mix, lambda t, f=f: f in families_of(t))
                                   for f in families}
        chosen = set(focus[mix])
        out["gain_and_cost"][mix] = {
            "emphasized": diff(mix, lambda t, c=chosen: bool(families_of(t) & c)) if chosen
            else None,
            "others": diff(mix, lambda t, c=chosen: not families_of(t) & c),
            "all": diff(mix, lambda t: True)}
        out["edge"][mix]["difference"] = diff(mix, has_edge)
    return out


def pct(d: dict | None) -> str:
    if not d:
        return "-"
    return f"{d['mean'] * 100:+.1f} [{d['low'] * 100:+.1f}, {d['high'] * 100:+.1f}]"


def print_report(summary: dict, mixes: list[str]) -> None:
    others = [m for m in mixes if m != "uniform"]
    print("\ngreedy held-out pass@1 by family (tasks of both held-out splits, all seeds), "
          "and each mix - uniform with its 95% interval:")
    print(f"{'family':12} " + " ".join(f"{m:>11}" for m in mixes)
          + "".join(f"  {m + ' - uniform':>26}" for m in others))
    for family in ["all", *summary["families"]]:
        cells = [summary["pass@1"][m].get(family) for m in mixes]
        row = f"{family:12} " + " ".join(f"{c:>11.1%}" if c is not None else f"{'-':>11}"
                                         for c in cells)
        if family != "all":
            row += "".join(f"  {pct(summary['differences'][m][family]):>26}" for m in others)
        print(row)
    for m in others:
        g = summary["gain_and_cost"][m]
        print(f"{m}: emphasized families {', '.join(summary['emphasized'][m]) or 'none'}: "
              f"gain {pct(g['emphasized'])} points; the others {pct(g['others'])}; "
              f"all {pct(g['all'])}")
    for m in mixes:
        e = summary["edge"][m]
        extra = f", - uniform {pct(e['difference'])}" if "difference" in e else ""
        print(f"edge-tagged tasks ({e['tasks']}), {m}: {e['pass@1']:.1%}{extra}")


def plot(summary: dict, mixes: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    others = [m for m in mixes if m != "uniform"]
    families = summary["families"]
    fig, axes = plt.subplots(1, 2, figsize=(14, 5))
    width = 0.8 / len(mixes)
    for i, m in enumerate(mixes):
        axes[0].bar([x + i * width for x in range(len(families))],
                    [summary["pass@1"][m][f] or 0 for f in families], width, label=m)
    axes[0].set_title("greedy held-out pass@1 by family")
    width = 0.8 / max(1, len(others))
    for i, m in enumerate(others):
        d = [summary["differences"][m][f] for f in families]
        xs = [x + i * width for x in range(len(families))]
        axes[1].bar(xs, [v["mean"] * 100 for v in d], width, label=f"{m} - uniform",
                    yerr=[[(v["mean"] - v["low"]) * 100 for v in d],
                          [(v["high"] - v["mean"]) * 100 for v in d]], capsize=2)
    axes[1].axhline(0, color="black", linewidth=0.8)
    axes[1].set_title("difference to uniform (points, 95% interval)")
    for ax in axes:
        ax.set_xticks(range(len(families)))
        ax.set_xticklabels(families, rotation=60, ha="right")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="configs/local.yaml")
    parser.add_argument("--mixes", nargs="+", default=["uniform", "rare-apis", "edge-cases"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--eval-tasks", type=int, default=200, help="per held-out split")
    parser.add_argument("--warm-start-steps", type=int, help="default: the config's")
    parser.add_argument("--warm-start-tasks", type=int, help="default: the config's")
    parser.add_argument("--out", default="runs/bench-mix")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    mixes = ["uniform", *(m for m in args.mixes if m != "uniform")]
    budget = ["learner.warm_start_proposer_steps=0", "curriculum.fresh_tasks_per_step=0"]
    if args.warm_start_steps is not None:
        budget.append(f"learner.warm_start_steps={args.warm_start_steps}")
    if args.warm_start_tasks is not None:
        budget.append(f"learner.warm_start_tasks={args.warm_start_tasks}")
    base_set = [*budget, *args.set]

    def cfg_of(mix: str, seed: int = 0):
        args.set = [*base_set, f"curriculum.mix={mix}", f"run.seed={seed}"]
        return config_or_exit(parser, args)

    from zeroplay.actors.fleet import Fleet

    focus = emphasized(cfg_of, mixes)
    out = Path(args.out)
    results: dict = {}
    tasks: dict = {}
    cfg = cfg_of("uniform")
    with SandboxPool(cfg.sandbox) as pool:
        for seed in args.seeds:
            results[seed] = {}
            for mix in mixes:
                cfg = cfg_of(mix, seed)
                print(f"seed {seed}, mix {mix}: {cfg.learner.warm_start_steps} warm-start steps "
                      f"on the seed and {cfg.learner.warm_start_tasks} fresh tasks", flush=True)
                store, checkpoint = seed_and_warm_start(cfg, out / f"seed-{seed}" / mix, pool,
                                                        run_id=f"mix-{mix}-{seed}")
                held = heldout_tasks(store, args.eval_tasks)
                mine = held["heldout-seen"] + held["heldout-unseen"]
                if mix == "uniform":
                    tasks[seed] = mine
                elif [t.id for t in mine] != [t.id for t in tasks[seed]]:
                    raise SystemExit(f"seed {seed}: the held-out tasks of mix {mix} differ "
                                     "from the uniform mix's")
                with Fleet.in_process(from_checkpoint(cfg, checkpoint), pool) as fleet:
                    results[seed][mix] = judge_split(fleet, mine, 1, greedy=True)
                print(f"  greedy held-out pass@1 {fmean(results[seed][mix]):.1%} on "
                      f"{len(mine)} tasks", flush=True)
    summary = summarize(results, tasks, mixes, focus)
    print_report(summary, mixes)
    plot(summary, mixes, out / "corpus_mix.png")
    meta = {"config": cfg_of("uniform").model_dump(mode="json"), "mixes": mixes,
            "seeds": args.seeds, "eval_tasks": {s: [t.id for t in ts] for s, ts in tasks.items()},
            "results": {s: r for s, r in results.items()}}
    path = write_result("corpus_mix", out, {**meta, **summary})
    print(f"\nwrote {path} (and benchmarks/results/) and {out / 'corpus_mix.png'}")


if __name__ == "__main__":
    main()
