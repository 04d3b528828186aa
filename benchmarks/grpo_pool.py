"""Does solver GRPO learn the tasks it trains on, and does that carry over to new ones?

    .venv/bin/python benchmarks/grpo_pool.py [--seconds 240] [--seeds 0 1 2] [--pool 32]
        [--eval-tasks 80] [--out runs/bench-learning] [--set KEY=VALUE ...]

In benchmarks/learning.py the grpo arm trains on a stream of mostly new tasks, and
neither its training reward nor its held-out pass rate rises within its budget. Two
explanations fit that: RL that learns nothing, and RL that learns the tasks it trains on
without carrying it over to new ones. This benchmark tells them apart.

It uses the same prepared warm start and store as benchmarks/learning.py (the same
`--out` and config reuse them). It takes a pool of training tasks that the warm start
solves only sometimes: 1 to POOL_MAX_PASSES of PROBE_SAMPLES samples at the rollout
temperature. It probes the store's training tasks in a seeded order, then fresh tasks of
a synthesizer stream of its own (never a held-out program). Then, for each seed,
the grpo arm trains on that pool alone (no fresh tasks) for `--seconds`.

The pool's pass rates before and after are measured on new samples. The samples that
chose the pool are not reused: they favour the tasks that looked hard by chance, which
would regress toward the mean. Held-out tasks are only measured.

It prints, before -> after, mean over seeds:
- the pool's sampled and greedy pass@1;
- the same on the first `--eval-tasks` tasks of both held-out splits;
- paired bootstrap 95% intervals of after - before (seeds and tasks resampled together);
- the training reward's first and second half.
It writes `grpo_pool-POOL.json` into `--out`, and the arms' stores into `--out`/grpo-pool.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path
from statistics import fmean

from common import (
    config_or_exit,
    from_checkpoint,
    heldout_tasks,
    judge_split,
    remove_store,
    seed_and_warm_start,
    write_result,
)
from learning import SAMPLED_K, final_eval, reward_halves, run_arm

from zeroplay.eval.stats import paired_bootstrap
from zeroplay.sandbox.pool import SandboxPool

PROBE_SAMPLES = 8
POOL_MAX_PASSES = 6  # of PROBE_SAMPLES: tasks the warm start nearly always solves teach little
BEFORE_SAMPLES = 16
CANDIDATES_PER_TASK = 8  # about 1 in 7 training tasks qualified for the default warm start


def choose_pool(tasks: list, passes: list[int], size: int) -> list:
    """The first `size` tasks solved by 1 to POOL_MAX_PASSES of PROBE_SAMPLES samples.

    >>> choose_pool(list("abcde"), [0, 3, 8, 6, 1], 2)
    ['b', 'd']
    """
    return [t for t, c in zip(tasks, passes, strict=True) if 1 <= c <= POOL_MAX_PASSES][:size]


def pick_pool(fleet, sandboxes, cfg, store_path: Path, size: int) -> list:
    """Probe training tasks, in a fixed order, until `size` qualify: the store's own
    (shuffled by a fixed seed), then fresh tasks of a synthesizer stream of the pool's,
    up to CANDIDATES_PER_TASK candidates a pool task in all."""
    from zeroplay.curricula.admit import fresh_tasks, pool_validator
    from zeroplay.curricula.store import CurriculumStore

    with CurriculumStore.open(store_path, readonly=True) as store:
        candidates = sorted(store.tasks(status="valid", split="train"), key=lambda t: t.id)
        random.Random(0).shuffle(candidates)
        wanted = CANDIDATES_PER_TASK * size - len(candidates)
        if wanted > 0:
            candidates += fresh_tasks(store, pool_validator(sandboxes, cfg), cfg, n=wanted,
                                      seed=cfg.run.seed, run_id="learning", stream="pool")
    pool: list = []
    for start in range(0, len(candidates), 4 * size):
        chunk = candidates[start:start + 4 * size]
        pool += choose_pool(chunk, judge_split(fleet, chunk, PROBE_SAMPLES, greedy=False),
                            size - len(pool))
        if len(pool) == size:
            return pool
    raise SystemExit(f"only {len(pool)} of {len(candidates)} training tasks are solved "
                     f"sometimes by the warm start; pass a smaller --pool")


def pool_store(tasks: list, path: Path) -> Path:
    """A curriculum store holding only the pool, for the arm to copy and train on."""
    from zeroplay.curricula.store import CurriculumStore

    with CurriculumStore.open(remove_store(path), create=True, run_id="learning") as store, \
            store.transaction():
        for task in tasks:
            store.add_task(task)
    return path


def rate(results: dict, samples: int) -> list[float]:
    return [c / samples for c in results["sampled"]]


def trend(halves: list[tuple[float, float] | None]) -> str:
    """First -> second half of the training reward, mean over the runs that have both."""
    halves = [h for h in halves if h]
    if not halves:
        return "too few steps to split"
    return f"{fmean(h[0] for h in halves):.3f} -> {fmean(h[1] for h in halves):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="configs/local.yaml")
    parser.add_argument("--seconds", type=float, default=240.0, help="GRPO budget per seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--pool", type=int, default=32, help="training tasks in the pool")
    parser.add_argument("--eval-tasks", type=int, default=80, help="per held-out split")
    parser.add_argument("--out", default="runs/bench-learning")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    if args.pool < 1:
        parser.error("--pool must be at least 1")

    from zeroplay.actors.fleet import Fleet

    cfg = config_or_exit(parser, args)
    out = Path(args.out)
    with SandboxPool(cfg.sandbox) as sandboxes:
        store_path, checkpoint = seed_and_warm_start(cfg, out, sandboxes)
        heldout = heldout_tasks(store_path, args.eval_tasks)
        with Fleet.in_process(from_checkpoint(cfg, checkpoint), sandboxes) as fleet:
            pool = pick_pool(fleet, sandboxes, cfg, store_path, args.pool)
            before = final_eval(fleet, heldout)
            before["pool"] = {"greedy": judge_split(fleet, pool, 1, greedy=True),
                              "sampled": judge_split(fleet, pool, BEFORE_SAMPLES,
                                                     greedy=False)}
        print(f"pool: {len(pool)} training tasks; before: sampled pass@1 "
              f"{fmean(rate(before['pool'], BEFORE_SAMPLES)):.1%}, greedy "
              f"{fmean(before['pool']['greedy']):.1%}", flush=True)
        pool_cfg = cfg.model_copy(update={"curriculum": cfg.curriculum.model_copy(
            update={"fresh_tasks_per_step": 0})})
        work = out / "grpo-pool"  # not beside learning.py's own grpo-SEED.sqlite files
        work.mkdir(exist_ok=True)
        pool_path = pool_store(pool, work / "pool.sqlite")
        runs = []
        for seed in args.seeds:
            run = run_arm("grpo", seed, pool_cfg, checkpoint, pool_path, sandboxes,
                          {"pool": pool, **heldout}, args.seconds, sft_lr=0.0, work=work)
            print(f"seed {seed}: {run['optimizer_steps']} optimizer steps; pool sampled pass@1 "
                  f"{fmean(rate(run['results']['pool'], SAMPLED_K)):.1%}; training reward "
                  f"{trend([reward_halves(run['rewards'], 'reward')])}", flush=True)
            runs.append(run)

    splits = ["pool", *heldout]
    samples = {"pool": BEFORE_SAMPLES, **{s: SAMPLED_K for s in heldout}}
    table, intervals = {}, {}
    for split in splits:
        for metric, after, base in (
                ("sampled pass@1", [rate(r["results"][split], SAMPLED_K) for r in runs],
                 rate(before[split], samples[split])),
                ("greedy pass@1", [list(map(float, r["results"][split]["greedy"]))
                                   for r in runs], list(map(float, before[split]["greedy"])))):
            table[f"{split}, {metric}"] = [fmean(base), fmean(fmean(a) for a in after)]
            mean, low, high = paired_bootstrap(after, [base] * len(runs))
            intervals[f"{split}, {metric}"] = {"mean": mean, "low": low, "high": high}
    halves = [reward_halves(r["rewards"], "reward") for r in runs]

    print(f"\n{'':36}{'before':>8}{'after':>8}   after - before, 95% interval")
    for name, (was, now) in table.items():
        iv = intervals[name]
        print(f"{name:36}{was:>8.1%}{now:>8.1%}   {iv['mean']:+.1%} "
              f"[{iv['low']:+.1%}, {iv['high']:+.1%}]")
    print(f"training reward, first -> second half: {trend(halves)}; "
          f"{fmean(r['optimizer_steps'] for r in runs):.0f} optimizer steps")
    report = write_result(f"grpo_pool-{args.pool}", out, {
        "config": cfg.model_dump(mode="json"), "seconds": args.seconds, "seeds": args.seeds,
        "pool": [t.id for t in pool], "table": table, "intervals": intervals,
        "before": before, "runs": runs})
    print(f"\nwrote {report} (and benchmarks/results/)")


if __name__ == "__main__":
    main()
