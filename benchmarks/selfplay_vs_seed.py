"""Does self-play teach what the seed alone cannot? Seed-limited arms at equal wall-clock.

    .venv/bin/python benchmarks/selfplay_vs_seed.py [--seconds 300] [--seeds 0 1 2]
        [--arms seed-sft seed-grpo selfplay selfplay-sft oracle] [--eval-tasks 100]
        [--warm-start-steps 400] [--proposer-steps 200] [--out runs/bench-selfplay]
        [--set KEY=VALUE ...]

The seed-limited regime: the synthesizer supplies the seed curriculum and nothing else.
Prepared once per `--out` (`common.seed_and_warm_start`): a store seeded as `zeroplay
run` seeds one (both held-out splits first, then `curriculum.seed_tasks` training tasks
that share no program with them), and one warm start on the seed tasks alone
(`learner.warm_start_tasks` is 0 here: `--warm-start-steps` SFT steps, then a proposer
phase of `--proposer-steps`), so the policy can solve and propose. Then, for each seed, every arm
starts from that checkpoint and the seed store and trains for the same wall-clock
`--seconds` in this one process:

  seed-sft      continued SFT on the seed tasks' references (shuffled, epoch after epoch);
  seed-grpo     solver GRPO on the seed curriculum (self-play steps that do not propose);
  selfplay      self-play: the proposer proposes, the curriculum grows only from the
                policy's own valid tasks, and GRPO trains both roles;
  selfplay-sft  the same, with one supervised step on each round's new valid tasks'
                references (`learner.reference_sft`);
  oracle        SFT on a fresh synthesizer stream: more real synthetic data, the upper
                bound that the seed-limited regime lacks.

The baseline (a) is the better seed arm by mean greedy pass@1 over both held-out splits:
a conservative choice (the better of two baselines, chosen after the fact, is the harder
one to beat). Held-out tasks choose nothing that trains.

It prints greedy pass@1 by arm, split and number of operations; the paired bootstrap 95%
intervals (seeds and tasks resampled together) of each self-play arm - (a) and of oracle
- (a); the share of the gap closed, (b - a) / (c - a); and per self-play arm the
curriculum's growth and the valid, novel and learnable shares. It writes
`selfplay_vs_seed.json` (every number, per task and per step; also to
benchmarks/results/) and `selfplay_vs_seed.png` (the held-out curves and the self-play
curves) into `--out`. Run it on an otherwise idle
machine: the arms are compared by wall-clock.
"""

from __future__ import annotations

import argparse
import itertools
import random
import shutil
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
from learning import Arm, Clock, by_ops, conversation, sft_rows, train_grpo, train_sft

from zeroplay.eval.stats import paired_bootstrap
from zeroplay.sandbox.pool import SandboxPool

SEED_ARMS = ("seed-sft", "seed-grpo")
SELFPLAY_ARMS = ("selfplay", "selfplay-sft")
ARMS = (*SEED_ARMS, *SELFPLAY_ARMS, "oracle")


def seed_rows(arm: Arm):
    """The seed tasks' references as solver answers, reshuffled every epoch."""
    from zeroplay.actors.prompts import render_solution

    tasks = arm.store.tasks(status="valid", split="train")
    rng = random.Random(arm.seed)
    for _ in itertools.count():
        rng.shuffle(tasks)
        yield from (conversation(t, render_solution(t.reference)) for t in tasks)


def run_arm(name: str, seed: int, cfg, checkpoint: Path, store_path: Path, pool,
            eval_tasks: dict[str, list], budget: float, sft_lr: float, work: Path) -> dict:
    import torch

    from zeroplay.actors.fleet import Fleet
    from zeroplay.curricula.store import CurriculumStore

    torch.manual_seed(seed)
    arm_store = remove_store(work / f"{name}-{seed}.sqlite")
    shutil.copyfile(store_path, arm_store)
    cfg = from_checkpoint(cfg, checkpoint).model_copy(update={
        "run": cfg.run.model_copy(update={"seed": seed}),
        "rollout": cfg.rollout.model_copy(update={"proposer_after_solve_rate": 0.0})})
    scratch = str(work / f"{name}-{seed}-trainer")
    with Fleet.in_process(cfg, pool) as fleet, \
            CurriculumStore.open(arm_store, run_id="learning") as store:
        arm = Arm(name, seed, cfg, fleet, store, Clock(budget), eval_tasks,
                  proposing=name in SELFPLAY_ARMS,
                  reference_sft_lr=(cfg.learner.reference_sft_learning_rate
                                    if name == "selfplay-sft" else None))
        arm.clock.start()
        if name == "seed-sft":
            steps = train_sft(arm, seed_rows(arm), sft_lr, scratch)
        elif name == "oracle":
            steps = train_sft(arm, sft_rows(arm), sft_lr, scratch)
        else:
            steps = train_grpo(arm, scratch)
        seconds = arm.clock.elapsed()
        arm.model.eval()
        greedy = {split: judge_split(fleet, tasks, 1, greedy=True)
                  for split, tasks in eval_tasks.items()}
        invented = [t.id for t in store.tasks(status="valid", origin="policy")]
    shutil.rmtree(scratch, ignore_errors=True)
    return {"arm": name, "seed": seed, "seconds": round(seconds, 1), "optimizer_steps": steps,
            "selfplay_steps": arm.selfplay_steps, "selfplay": arm.selfplay,
            "invented_tasks": invented,
            "curve": arm.curve + [{"seconds": round(seconds, 1), "optimizer_steps": steps,
                                   **{s: fmean(v) for s, v in greedy.items()}}],
            "greedy": greedy}


def baseline(runs: list[dict]) -> str:
    """The seed arm with the higher mean greedy pass@1 over both splits and all seeds."""
    means = {arm: fmean(fmean(v) for r in runs if r["arm"] == arm for v in r["greedy"].values())
             for arm in SEED_ARMS if any(r["arm"] == arm for r in runs)}
    return max(means, key=means.get)


def summarize(runs: list[dict], start: dict, eval_tasks: dict[str, list]) -> dict:
    arms = [a for a in ARMS if any(r["arm"] == a for r in runs)]
    table: dict = {"warm-start": {split: {"pass@1": fmean(v),
                                          "by ops": by_ops(eval_tasks[split], v)}
                                  for split, v in start.items()}}
    for arm in arms:
        mine = [r for r in runs if r["arm"] == arm]
        table[arm] = {split: {"pass@1": fmean(fmean(r["greedy"][split]) for r in mine),
                              "by ops": {g: fmean(by_ops(eval_tasks[split], r["greedy"][split])[g]
                                                  for r in mine)
                                         for g in by_ops(eval_tasks[split], start[split])}}
                      for split in eval_tasks}
        table[arm]["optimizer_steps"] = fmean(r["optimizer_steps"] for r in mine)
        if arm in SELFPLAY_ARMS:
            table[arm]["selfplay"] = selfplay_totals(mine)
    out: dict = {"table": table, "intervals": {}, "gap_closed": {}}
    if not any(a in arms for a in SEED_ARMS):
        return out
    base = baseline(runs)
    out["baseline"] = base

    def per_seed(arm: str, split: str) -> list[list[float]]:
        return [list(map(float, r["greedy"][split]))
                for r in sorted((r for r in runs if r["arm"] == arm), key=lambda r: r["seed"])]

    seeds = sorted(r["seed"] for r in runs if r["arm"] == base)
    for arm in (a for a in arms if a not in SEED_ARMS):
        if sorted(r["seed"] for r in runs if r["arm"] == arm) != seeds:
            continue
        for split in eval_tasks:
            mean, low, high = paired_bootstrap(per_seed(arm, split), per_seed(base, split))
            out["intervals"][f"{arm} - {base}, {split}"] = {"mean": mean, "low": low,
                                                             "high": high}
    if "oracle" in arms:
        for arm in (a for a in SELFPLAY_ARMS if a in arms):
            for split in eval_tasks:
                gain = out["intervals"].get(f"{arm} - {base}, {split}")
                gap = out["intervals"].get(f"oracle - {base}, {split}")
                if gain and gap and gap["mean"] > 0:
                    out["gap_closed"][f"{arm}, {split}"] = gain["mean"] / gap["mean"]
    return out


def selfplay_totals(runs: list[dict]) -> dict:
    """Over every step of every seed: the shares, and the curriculum's final size."""
    steps = [s for r in runs for s in r["selfplay"]]
    total = {key: sum(s[key] for s in steps) for key in (
        "proposals", "valid", "new_policy_tasks", "novel_policy_tasks",
        "judged_policy_tasks", "learnable_policy_tasks")}

    def share(a: str, b: str) -> float | None:
        return total[a] / total[b] if total[b] else None

    return {**total, "steps": fmean(len(r["selfplay"]) for r in runs),
            "valid_share": share("valid", "proposals"),
            "novel_share": share("novel_policy_tasks", "new_policy_tasks"),
            "learnable_share": share("learnable_policy_tasks", "judged_policy_tasks"),
            "curriculum_end": fmean(r["selfplay"][-1]["curriculum"] for r in runs
                                    if r["selfplay"])}


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def print_report(summary: dict, splits: list[str]) -> None:
    table = summary["table"]
    print(f"\n{'arm':14}{'split':16}{'pass@1':>8}   by ops")
    for arm, rows in table.items():
        for split in splits:
            ops = "  ".join(f"{g} {v:.1%}" for g, v in rows[split]["by ops"].items())
            print(f"{arm:14}{split:16}{rows[split]['pass@1']:>8.1%}   {ops}")
    if "baseline" in summary:
        print(f"\nbaseline (a): {summary['baseline']}; paired bootstrap, 95% interval "
              "(seeds x tasks):")
        for name, iv in summary["intervals"].items():
            print(f"  {name:40} {iv['mean']:+.1%}  [{iv['low']:+.1%}, {iv['high']:+.1%}]")
        for name, share in summary["gap_closed"].items():
            print(f"  gap closed, {name:27} {share:.0%}")
    for arm in SELFPLAY_ARMS:
        if arm in table:
            t = table[arm]["selfplay"]
            print(f"\n{arm}: {t['steps']:.0f} steps a seed; proposals valid {pct(t['valid_share'])}"
                  f" of {t['proposals']}; {t['new_policy_tasks']} new tasks, novel "
                  f"{pct(t['novel_share'])}; learnable {pct(t['learnable_share'])} of "
                  f"{t['judged_policy_tasks']} judged; curriculum at the end "
                  f"{t['curriculum_end']:.0f} tasks")


def step_value(step: dict, key: str) -> float | None:
    """A self-play step's curriculum size, valid share or learnable share (None: no
    proposals, or no policy task judged)."""
    if key == "curriculum":
        return step["curriculum"]
    whole = step["proposals"] if key == "valid" else step["judged_policy_tasks"]
    part = step["valid"] if key == "valid" else step["learnable_policy_tasks"]
    return part / whole if whole else None


def plot(runs: list[dict], start: dict, splits: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(15, 7.5))
    for ax, split in zip(axes[0], splits, strict=False):
        for arm in ARMS:
            for i, run in enumerate(r for r in runs if r["arm"] == arm):
                points = [(0.0, fmean(start[split]))] + [(p["seconds"], p[split])
                                                         for p in run["curve"]]
                ax.plot(*zip(*points, strict=True), marker="o", alpha=0.7,
                        color=f"C{ARMS.index(arm)}", label=arm if i == 0 else None)
        ax.set(title=f"{split}: greedy pass@1", xlabel="training seconds")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    axes[0][2].axis("off")
    panels = [("curriculum", "training tasks in the curriculum"),
              ("valid", "valid share of proposals"),
              ("learnable", "learnable share of judged policy tasks")]
    for ax, (key, title) in zip(axes[1], panels, strict=True):
        for arm in SELFPLAY_ARMS:
            for i, run in enumerate(r for r in runs if r["arm"] == arm):
                points = [(s["seconds"], v) for s in run["selfplay"]
                          if (v := step_value(s, key)) is not None]
                xs, ys = zip(*points, strict=True) if points else ((), ())
                ax.plot(xs, ys, marker=".", alpha=0.7, color=f"C{ARMS.index(arm)}",
                        label=arm if i == 0 else None)
        ax.set(title=title, xlabel="training seconds")
        ax.grid(alpha=0.3)
    axes[1][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="configs/local.yaml")
    parser.add_argument("--seconds", type=float, default=300.0, help="training budget per arm")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS))
    parser.add_argument("--eval-tasks", type=int, default=100, help="per held-out split")
    parser.add_argument("--warm-start-steps", type=int, default=400,
                        help="SFT steps on the seed tasks (32 passes over 200 at 400)")
    parser.add_argument("--proposer-steps", type=int, default=200,
                        help="steps of the proposer phase that follows")
    parser.add_argument("--sft-lr", type=float, default=3e-4)
    parser.add_argument("--out", default="runs/bench-selfplay")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    args.set = [f"learner.warm_start_steps={args.warm_start_steps}",
                f"learner.warm_start_proposer_steps={args.proposer_steps}",
                "learner.warm_start_tasks=0", "curriculum.fresh_tasks_per_step=0", *args.set]

    from zeroplay.actors.fleet import Fleet

    cfg = config_or_exit(parser, args)
    out = Path(args.out)
    runs: list[dict] = []
    with SandboxPool(cfg.sandbox) as pool:
        store_path, checkpoint = seed_and_warm_start(cfg, out, pool)
        eval_tasks = heldout_tasks(store_path, args.eval_tasks)
        splits = list(eval_tasks)
        with Fleet.in_process(from_checkpoint(cfg, checkpoint), pool) as fleet:
            start = {split: judge_split(fleet, tasks, 1, greedy=True)
                     for split, tasks in eval_tasks.items()}
        print("warm start: " + ", ".join(f"{s} {fmean(v):.1%}" for s, v in start.items()),
              flush=True)
        for seed in args.seeds:
            for name in args.arms:
                print(f"arm {name}, seed {seed}: {args.seconds:.0f} s", flush=True)
                run = run_arm(name, seed, cfg, checkpoint, store_path, pool, eval_tasks,
                              args.seconds, args.sft_lr, out)
                grown = (f"; {len(run['invented_tasks'])} invented tasks"
                         if name in SELFPLAY_ARMS else "")
                print("  " + ", ".join(f"{s} {fmean(run['greedy'][s]):.1%}" for s in splits)
                      + f" after {run['optimizer_steps']} optimizer steps{grown}", flush=True)
                runs.append(run)
    summary = summarize(runs, start, eval_tasks)
    print_report(summary, splits)
    plot(runs, start, splits, out / "selfplay_vs_seed.png")
    meta = {"config": cfg.model_dump(mode="json"), "seconds": args.seconds,
            "seeds": args.seeds, "sft_lr": args.sft_lr,
            "eval_tasks": {s: [t.id for t in ts] for s, ts in eval_tasks.items()}}
    path = write_result("selfplay_vs_seed", out, {**meta, **summary, "warm_start": start,
                                                  "runs": runs})
    print(f"\nwrote {path} (and benchmarks/results/) and {out / 'selfplay_vs_seed.png'}")


if __name__ == "__main__":
    main()
