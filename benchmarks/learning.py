"""Does solver RL beat more SFT at equal compute? Three arms from one warm-start checkpoint.

    .venv/bin/python benchmarks/learning.py [--seconds 120] [--seeds 0 1 2] [--eval-tasks 80]
        [--arms sft grpo rft] [--out runs/bench-learning] [--set KEY=VALUE ...]

Prepared once and kept in `--out` (a later call with the same config reuses them): a
curriculum store seeded as `zeroplay run` seeds one (both held-out splits first, fixed
before anything trains, then the training seed tasks, which share no normalized program
with them), and a warm-start checkpoint trained as the run trains it (the config's
`learner.warm_start_*`). Then, for each seed, every arm starts from that checkpoint and
trains, in this one process, for the same wall-clock `--seconds`:

  sft   continued SFT (TRL's SFTTrainer with the warm start's loss) on fresh synthesizer
        tasks of a training stream, synthesized and validated in the sandbox as it goes
        (that time counts);
  grpo  solver GRPO (zeroplay's BehaviourGRPOTrainer over TRL's GRPOTrainer) on the run's
        own solver-only self-play steps: p(1-p) task sampling, dynamic sampling,
        `curriculum.fresh_tasks_per_step` fresh tasks a step; each step is generated,
        judged, then trained on (synchronous, so always on-policy);
  rft   rejection-sampling fine-tuning: the same self-play steps without dynamic sampling,
        and SFT on the distinct passing completions only.

SFT and RFT train at `--sft-lr` (constant) with `learner.warm_start_batch_size`; GRPO with
the config's learner section. Evaluation time is not counted. At a third and two thirds
of the budget and at the end, greedy pass@1 on the first `--eval-tasks` tasks (by id) of
both held-out splits gives the learning curve; at the end also pass@8 of 8 samples at
temperature 1 (the unbiased estimator); evaluation answers are cut at 128 new tokens.
Held-out tasks only measure: no arm sees them or is chosen by them.

It prints a table by arm and split (and by number of operations), the paired bootstrap
95% intervals of grpo - sft and rft - sft (seeds and tasks resampled together), and the
optimizer steps and tokens of every arm; it writes `learning.json` (every number, per
task) and `learning.png` (the curves) into `--out`. Run it on an otherwise idle machine:
the arms are compared by wall-clock.
"""

from __future__ import annotations

import argparse
import random
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from statistics import fmean
from typing import Any

from common import (
    config_or_exit,
    from_checkpoint,
    heldout_tasks,
    judge_split,
    remove_store,
    seed_and_warm_start,
    write_result,
)

from zeroplay.curricula.task import ops_of
from zeroplay.eval.stats import paired_bootstrap
from zeroplay.sandbox.pool import SandboxPool

ARMS = ("sft", "grpo", "rft")
CURVE_POINTS = (1 / 3, 2 / 3)  # of the budget; the end is always evaluated
SAMPLED_K = 8
CHUNK_TASKS = 64  # fresh tasks the sft arm synthesizes and validates at a time


# --- the budget ------------------------------------------------------------------------


class BudgetSpent(Exception):
    """The budget ended while an arm was still gathering data for its next step."""


class Clock:
    """Training wall-clock of one arm; evaluation runs with the clock paused."""

    def __init__(self, budget: float):
        self.budget, self.spent, self.since = budget, 0.0, None

    def start(self) -> None:
        self.since = time.monotonic()

    def elapsed(self) -> float:
        return self.spent + (time.monotonic() - self.since if self.since is not None else 0.0)

    def check(self) -> None:
        if self.elapsed() >= self.budget:
            raise BudgetSpent

    @contextmanager
    def paused(self) -> Iterator[None]:
        self.spent, self.since = self.elapsed(), None
        try:
            yield
        finally:
            self.since = time.monotonic()


@dataclass
class Arm:
    name: str
    seed: int
    cfg: Any
    fleet: Any
    store: Any
    clock: Clock
    eval_tasks: dict[str, list]
    curve: list[dict] = field(default_factory=list)
    trained_tokens: int = 0
    generated_tokens: int = 0
    selfplay_steps: int = 0
    passing_rows: int = 0
    rewards: list[dict] = field(default_factory=list)  # per self-play step
    proposing: bool = False  # self-play steps propose (the curriculum grows from them)
    reference_sft_lr: float | None = None  # a supervised step on each round's new tasks
    selfplay: list[dict] = field(default_factory=list)  # per step: curriculum and proposals

    @property
    def model(self):
        return self.fleet.rollouts.group.members[0].generator.model

    @property
    def tokenizer(self):
        return self.fleet.rollouts.group.members[0].tokenizer


def budget_callback(arm: Arm):
    """Evaluates at the curve points (clock paused) and stops training at the budget."""
    from transformers import TrainerCallback

    points = [arm.clock.budget * p for p in CURVE_POINTS]

    class Budget(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            while points and arm.clock.elapsed() >= points[0]:
                points.pop(0)
                with arm.clock.paused():
                    arm.curve.append(curve_point(arm, state.global_step))
            if arm.clock.elapsed() >= arm.clock.budget:
                control.should_training_stop = True

    return Budget()


# --- evaluation --------------------------------------------------------------------------


def curve_point(arm: Arm, optimizer_steps: int) -> dict:
    return {"seconds": round(arm.clock.elapsed(), 1), "optimizer_steps": optimizer_steps,
            **{split: fmean(judge_split(arm.fleet, tasks, 1, greedy=True))
               for split, tasks in arm.eval_tasks.items()}}


def final_eval(fleet, eval_tasks: dict[str, list]) -> dict[str, dict[str, list[int]]]:
    """Per split: greedy correctness (0/1) and passing samples of SAMPLED_K per task."""
    return {split: {"greedy": judge_split(fleet, tasks, 1, greedy=True),
                    "sampled": judge_split(fleet, tasks, SAMPLED_K, greedy=False)}
            for split, tasks in eval_tasks.items()}


# --- the arms ----------------------------------------------------------------------------


def sft_config(cfg, output_dir: str, lr: float):
    """As the warm start trains (the learner's device and recomputation settings: TRL's
    SFT default recomputes activations, which would slow the SFT arms alone)."""
    from trl import SFTConfig

    from zeroplay.learner.grpo import compute_args

    lc = cfg.learner
    return SFTConfig(
        output_dir=output_dir, max_steps=10**6, learning_rate=lr, lr_scheduler_type="constant",
        per_device_train_batch_size=lc.warm_start_batch_size,
        max_length=cfg.rollout.max_prompt_tokens + cfg.rollout.max_new_tokens,
        completion_only_loss=True, **compute_args(cfg), report_to=[], logging_steps=10,
        save_strategy="no", seed=cfg.run.seed, disable_tqdm=True,
        include_num_input_tokens_seen="non_padding")


def train_sft(arm: Arm, rows: Iterator[dict], lr: float, scratch: str) -> int:
    """SFTTrainer over a stream of prompt-completion conversations until the budget ends."""
    import datasets
    from datasets.iterable_dataset import ExamplesIterable
    from transformers import PrinterCallback
    from trl import SFTTrainer

    from zeroplay.learner.warmstart import answer_loss_trainer

    turns = datasets.List({"role": datasets.Value("string"), "content": datasets.Value("string")})
    # Not from_generator: it pickles the generator (model, pool and all) to fingerprint it.
    stream = datasets.IterableDataset(
        ExamplesIterable(lambda: enumerate(rows), {}),
        info=datasets.DatasetInfo(features=datasets.Features({"prompt": turns,
                                                              "completion": turns})))
    try:  # SFTTrainer reads a first row to learn the format: an rft arm may find none
        trainer = answer_loss_trainer(SFTTrainer)(  # the loss the warm start trains with
            model=arm.model, args=sft_config(arm.cfg, scratch, lr), train_dataset=stream,
            processing_class=arm.tokenizer)
    except BudgetSpent:
        return 0
    trainer.remove_callback(PrinterCallback)
    trainer.add_callback(budget_callback(arm))
    try:
        trainer.train()
    except BudgetSpent:
        pass
    arm.trained_tokens = int(trainer.state.num_input_tokens_seen)
    return trainer.state.global_step


def conversation(task, answer: str) -> dict:
    from zeroplay.actors.prompts import solver_messages

    return {"prompt": solver_messages(task),
            "completion": [{"role": "assistant", "content": answer}]}


def sft_rows(arm: Arm) -> Iterator[dict]:
    """Reference solutions of fresh training tasks, a validated chunk at a time."""
    from zeroplay.actors.prompts import render_solution
    from zeroplay.curricula.admit import fresh_tasks

    chunk = 0
    while True:
        tasks = fresh_tasks(arm.store, arm.fleet.sandboxes.validate, arm.cfg, n=CHUNK_TASKS,
                            seed=arm.seed, run_id="learning", stream=f"sft-{arm.seed}-{chunk}")
        chunk += 1
        yield from (conversation(t, render_solution(t.reference)) for t in tasks)


def selfplay_round(arm: Arm):
    """One self-play step of the run (store, sampling, sandbox, scoring), solver-only
    unless the arm proposes."""
    from zeroplay.selfplay import selfplay_step

    arm.clock.check()  # a model that passes nothing would otherwise look for data forever
    arm.selfplay_steps += 1
    step = arm.selfplay_steps
    result = selfplay_step(arm.store, arm.fleet.rollouts, arm.fleet.sandboxes, arm.cfg,
                           step=step, rng=random.Random(arm.seed * 7919 + step),
                           run_id="learning", proposing=arm.proposing)
    solver = [s for s in result.samples + result.dropped if s.role == "solver"]
    arm.generated_tokens += sum(len(s.completion_ids) for s in result.samples + result.dropped)
    first = {t for t in {s.task_id for s in solver}
             if all(a.step == step for a in arm.store.attempts(t))}
    arm.rewards.append({"seconds": round(arm.clock.elapsed(), 1),
                        "reward": [s.reward for s in solver],
                        "first_try": [s.reward for s in solver if s.task_id in first]})
    summary = arm.store.steps()[-1][2]
    arm.selfplay.append({
        "seconds": round(arm.clock.elapsed(), 1),
        "curriculum": arm.store.count("status = 'valid' AND heldout = 0"),
        "proposals": sum(summary["proposals"].values()),
        **{key: summary.get(key, 0) for key in ("new_policy_tasks", "novel_policy_tasks",
                                                "judged_policy_tasks",
                                                "learnable_policy_tasks")},
        "valid": summary["proposals"].get("valid", 0)})
    return result


def rft_rows(arm: Arm) -> Iterator[dict]:
    """The policy's own distinct passing answers, a self-play step at a time."""
    while True:
        result = selfplay_round(arm)
        seen = set()
        for sample in result.samples + result.dropped:
            text = arm.tokenizer.decode(sample.completion_ids, skip_special_tokens=True)
            if sample.status == "pass" and (sample.task_id, text) not in seen:
                seen.add((sample.task_id, text))
                arm.passing_rows += 1
                yield conversation(arm.store.get_task(sample.task_id), text)


def train_grpo(arm: Arm, scratch: str) -> int:
    """GRPO whose rollout_func plays self-play steps until a batch of groups is ready."""
    from zeroplay.learner.grpo import SampleFeed, build_grpo_trainer, make_rollout_func

    feed = SampleFeed(arm.cfg.rollout.num_generations, max_staleness=10**9)
    trainer = build_grpo_trainer(arm.model, arm.tokenizer, arm.cfg, feed, scratch)
    take = make_rollout_func(feed)

    def rollout_func(prompts: list, trainer) -> dict:
        from zeroplay.learner.reference_sft import reference_rows, supervised_update

        while feed.pending() < len(prompts) // trainer.num_generations:
            result = selfplay_round(arm)
            feed.put(result.groups())
            if arm.reference_sft_lr and result.invented:  # between two optimizer steps
                supervised_update(trainer, arm.tokenizer, reference_rows(result.invented),
                                  arm.reference_sft_lr, arm.cfg.rollout.max_prompt_tokens
                                  + arm.cfg.rollout.max_new_tokens)
        batch = take(prompts, trainer)
        arm.trained_tokens += sum(map(len, batch["prompt_ids"] + batch["completion_ids"]))
        return batch

    trainer.rollout_func = rollout_func
    trainer.add_callback(budget_callback(arm))
    try:
        trainer.train()
    except BudgetSpent:
        pass
    return trainer.state.global_step


def run_arm(name: str, seed: int, cfg, checkpoint: Path, store_path: Path, pool,
            eval_tasks: dict[str, list], budget: float, sft_lr: float, work: Path) -> dict:
    import torch

    from zeroplay.actors.fleet import Fleet
    from zeroplay.curricula.store import CurriculumStore

    torch.manual_seed(seed)
    arm_store = remove_store(work / f"{name}-{seed}.sqlite")
    shutil.copyfile(store_path, arm_store)  # every arm starts from the same curriculum
    rollout = {"dynamic_sampling": False} if name == "rft" else {}
    cfg = from_checkpoint(cfg, checkpoint).model_copy(update={
        "run": cfg.run.model_copy(update={"seed": seed}),
        "rollout": cfg.rollout.model_copy(update=rollout)})
    scratch = work / f"{name}-{seed}-trainer"
    with Fleet.in_process(cfg, pool) as fleet, \
            CurriculumStore.open(arm_store, run_id="learning") as store:
        arm = Arm(name, seed, cfg, fleet, store, Clock(budget), eval_tasks)
        arm.clock.start()
        if name == "sft":
            steps = train_sft(arm, sft_rows(arm), sft_lr, str(scratch))
        elif name == "rft":
            steps = train_sft(arm, rft_rows(arm), sft_lr, str(scratch))
        else:
            steps = train_grpo(arm, str(scratch))
        seconds = arm.clock.elapsed()
        arm.model.eval()
        results = final_eval(fleet, eval_tasks)
    shutil.rmtree(scratch, ignore_errors=True)
    end = {split: fmean(r["greedy"]) for split, r in results.items()}
    return {"arm": name, "seed": seed, "seconds": round(seconds, 1), "optimizer_steps": steps,
            "trained_tokens": arm.trained_tokens, "generated_tokens": arm.generated_tokens,
            "selfplay_steps": arm.selfplay_steps, "rft_rows": arm.passing_rows,
            "rewards": arm.rewards,
            "curve": arm.curve + [{"seconds": round(seconds, 1), "optimizer_steps": steps,
                                   **end}],
            "results": results}


# --- preparation -------------------------------------------------------------------------


# --- statistics --------------------------------------------------------------------------


def pass_at(correct: list[int], n: int, k: int) -> float:
    from zeroplay.eval.stats import mean_pass_at_k

    return mean_pass_at_k([(n, c) for c in correct], k)


def by_ops(tasks: list, values: list[float], count: bool = False) -> dict[str, float]:
    """Mean value (or, with `count`, the number of tasks) by number of operations."""
    groups: dict[str, list[float]] = {}
    for task, value in zip(tasks, values, strict=True):
        groups.setdefault(f"{len(ops_of(task.tags))} ops", []).append(value)
    return {g: len(v) if count else fmean(v) for g, v in sorted(groups.items())}


def summarize(runs: list[dict], start: dict, eval_tasks: dict[str, list]) -> dict:
    """Per arm and split: mean greedy pass@1, pass@1 and pass@8 sampled, by ops; the
    paired intervals against sft; steps and tokens."""
    arms = sorted({r["arm"] for r in runs}, key=ARMS.index)
    table: dict[str, Any] = {"warm-start": _scores(start, eval_tasks)}
    for arm in arms:
        mine = [r for r in runs if r["arm"] == arm]
        per_seed = [_scores(r["results"], eval_tasks) for r in mine]
        table[arm] = {split: {key: fmean(s[split][key] for s in per_seed)
                              for key in ("pass@1", "sampled pass@1", f"pass@{SAMPLED_K}")}
                      for split in eval_tasks}
        for split in eval_tasks:
            table[arm][split]["pass@1 by ops"] = {
                g: fmean(s[split]["pass@1 by ops"][g] for s in per_seed)
                for g in per_seed[0][split]["pass@1 by ops"]}
        table[arm]["cost"] = {key: fmean(r[key] for r in mine) for key in (
            "seconds", "optimizer_steps", "trained_tokens", "generated_tokens")}
        for key in ("reward", "first_try"):  # first half -> second half, mean over seeds
            halves = [h for r in mine if (h := reward_halves(r["rewards"], key))]
            if halves:
                table[arm].setdefault("training reward", {})[key] = [
                    fmean(h[i] for h in halves) for i in (0, 1)]
    intervals = {}
    if "sft" in arms:
        base = sorted((r for r in runs if r["arm"] == "sft"), key=lambda r: r["seed"])
        for arm in (a for a in arms if a != "sft"):
            mine = sorted((r for r in runs if r["arm"] == arm), key=lambda r: r["seed"])
            if [r["seed"] for r in mine] != [r["seed"] for r in base]:
                continue
            for split in eval_tasks:
                for metric, key, f in (("pass@1", "greedy", lambda c: float(c)),
                                       (f"pass@{SAMPLED_K}", "sampled",
                                        lambda c: float(c > 0))):
                    mean, low, high = paired_bootstrap(
                        [list(map(f, r["results"][split][key])) for r in mine],
                        [list(map(f, r["results"][split][key])) for r in base])
                    intervals[f"{arm} - sft, {split}, {metric}"] = {
                        "mean": mean, "low": low, "high": high}
    return {"table": table, "intervals": intervals}


def reward_halves(rewards: list[dict], key: str) -> tuple[float, float] | None:
    """Mean solver training reward over the first and the second half of an arm's
    self-play steps. `reward`: every scored completion (tasks chosen toward p(1-p), so it
    drifts toward the middle as the policy changes); `first_try`: only tasks attempted
    for the first time in that step, a sample of the training stream that its own
    sampling has not chosen by solve rate (its difficulty can still drift over the steps:
    score a fixed checkpoint on the same tasks to tell drift from learning)."""
    half = len(rewards) // 2
    early = [r for step in rewards[:half] for r in step[key]]
    late = [r for step in rewards[half:] for r in step[key]]
    return (fmean(early), fmean(late)) if early and late else None


def _scores(results: dict, eval_tasks: dict[str, list]) -> dict:
    out = {}
    for split, r in results.items():
        out[split] = {"pass@1": fmean(r["greedy"]),
                      "sampled pass@1": pass_at(r["sampled"], SAMPLED_K, 1),
                      f"pass@{SAMPLED_K}": pass_at(r["sampled"], SAMPLED_K, SAMPLED_K),
                      "pass@1 by ops": by_ops(eval_tasks[split], r["greedy"])}
    return out


# --- output ------------------------------------------------------------------------------


def print_report(summary: dict, splits: list[str]) -> None:
    table = summary["table"]
    k = f"pass@{SAMPLED_K}"
    print(f"\n{'arm':12}{'split':16}{'pass@1':>8}{'samp@1':>8}{k:>8}   pass@1 by ops")
    for arm, rows in table.items():
        for split in splits:
            row = rows[split]
            ops = "  ".join(f"{g} {v:.1%}" for g, v in row["pass@1 by ops"].items())
            print(f"{arm:12}{split:16}{row['pass@1']:>8.1%}{row['sampled pass@1']:>8.1%}"
                  f"{row[k]:>8.1%}   {ops}")
    print(f"\n{'arm':12}{'seconds':>9}{'opt steps':>11}{'trained tok':>13}{'generated tok':>15}"
          "   training reward, first -> second half (all; first tries)")
    for arm, rows in table.items():
        if "cost" in rows:
            c = rows["cost"]
            trend = "; ".join(f"{early:.3f} -> {late:.3f}"
                              for early, late in rows.get("training reward", {}).values())
            print(f"{arm:12}{c['seconds']:>9.0f}{c['optimizer_steps']:>11.0f}"
                  f"{c['trained_tokens']:>13.0f}{c['generated_tokens']:>15.0f}   {trend}")
    if summary["intervals"]:
        print("\npaired bootstrap, 95% interval (seeds x tasks):")
        for name, iv in summary["intervals"].items():
            print(f"  {name:38} {iv['mean']:+.1%}  [{iv['low']:+.1%}, {iv['high']:+.1%}]")


def plot(runs: list[dict], start: dict, splits: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(splits), figsize=(5 * len(splits), 3.6), sharey=True)
    for ax, split in zip(axes, splits, strict=True):
        for arm in ARMS:
            for i, run in enumerate(r for r in runs if r["arm"] == arm):
                points = [(0.0, fmean(start[split]["greedy"]))] + [
                    (p["seconds"], p[split]) for p in run["curve"]]
                ax.plot(*zip(*points, strict=True), marker="o", alpha=0.75,
                        color=f"C{ARMS.index(arm)}", label=arm if i == 0 else None)
        ax.set_title(split)
        ax.set_xlabel("training seconds")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("greedy pass@1")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="configs/local.yaml")
    parser.add_argument("--seconds", type=float, default=120.0, help="training budget per arm")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS))
    parser.add_argument("--eval-tasks", type=int, default=80, help="per held-out split")
    parser.add_argument("--sft-lr", type=float, default=3e-4)
    parser.add_argument("--out", default="runs/bench-learning")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()

    cfg = config_or_exit(parser, args)
    out = Path(args.out)
    runs: list[dict] = []
    with SandboxPool(cfg.sandbox) as pool:
        store_path, checkpoint = seed_and_warm_start(cfg, out, pool)
        eval_tasks = heldout_tasks(store_path, args.eval_tasks)
        splits = list(eval_tasks)
        sizes = {split: by_ops(tasks, [1] * len(tasks), count=True)
                 for split, tasks in eval_tasks.items()}
        print("held-out tasks: " + "; ".join(
            f"{split} " + ", ".join(f"{n} of {g}" for g, n in counts.items())
            for split, counts in sizes.items()))
        from zeroplay.actors.fleet import Fleet

        with Fleet.in_process(from_checkpoint(cfg, checkpoint), pool) as fleet:
            start = final_eval(fleet, eval_tasks)
        for seed in args.seeds:
            for name in args.arms:
                print(f"arm {name}, seed {seed}: {args.seconds:.0f} s", flush=True)
                run = run_arm(name, seed, cfg, checkpoint, store_path, pool, eval_tasks,
                              args.seconds, args.sft_lr, out)
                print("  " + ", ".join(f"{s} {fmean(run['results'][s]['greedy']):.1%}"
                                       for s in splits)
                      + f" after {run['optimizer_steps']} optimizer steps", flush=True)
                runs.append(run)
    summary = summarize(runs, start, eval_tasks)
    print_report(summary, splits)
    plot(runs, start, splits, out / "learning.png")
    meta = {"config": cfg.model_dump(mode="json"), "seconds": args.seconds,
            "seeds": args.seeds, "sft_lr": args.sft_lr, "tasks_by_ops": sizes,
            "eval_tasks": {s: [t.id for t in ts] for s, ts in eval_tasks.items()}}
    path = write_result("learning", out, {**meta, **summary, "warm_start": start,
                                          "runs": runs})
    print(f"\nwrote {path} (and benchmarks/results/) and {out / 'learning.png'}")


if __name__ == "__main__":
    main()
