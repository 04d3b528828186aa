"""Which shape of the tiny from-scratch model learns most from a warm start of fixed
wall-clock? The measurement behind `policy.tiny`'s defaults.

    .venv/bin/python benchmarks/tiny_shape.py [--seconds 240 | --steps 1700]
        [--shapes 2x128 4x128 2x256]
        [--val-tasks 300] [--out runs/bench-shape] [--set KEY=VALUE ...]

A shape is LAYERSxWIDTH or LAYERSxWIDTHxVOCAB (one attention head per 32 of width). All
shapes train on the same tasks as `zeroplay run`'s warm start trains on (the seed
curriculum's training tasks and `learner.warm_start_tasks` fresh ones, prepared once per
`--out`), with the config's batch size, learning rate and cosine schedule. Each shape gets
the same training wall-clock: a 20-step probe measures its step time, and its warm start
is given as many steps as fit `--seconds`, so its schedule completes.

Shapes are compared by greedy pass@1 (answers cut at 128 new tokens) on two validation
sets that share no normalized program with the held-out splits or the training tasks:
`fresh`, synthesizer tasks of a stream of their own, and `seen`, built as heldout-seen
is (the seed curriculum's operation combinations with constants of a stream of its own).
The held-out splits are not evaluated here: they measure runs, and never choose what
trains. One seed per shape: a difference
of a few points is within noise (the table prints a 95% interval per shape).

It prints a table (steps, training seconds, parameters, last SFT loss, validation pass@1
overall and by number of operations) and writes `tiny_shape.json` into `--out` and
benchmarks/results/. Run it on an otherwise idle machine: the shapes are compared by
wall-clock.
"""

from __future__ import annotations

import argparse
import math
import shutil
from pathlib import Path
from statistics import fmean

from common import (
    EVAL_MAX_NEW_TOKENS,
    cached_tasks,
    claim_dir,
    config_or_exit,
    write_result,
)

from zeroplay.curricula.task import ops_of
from zeroplay.eval.stats import wilson
from zeroplay.sandbox.pool import SandboxPool

PROBE_STEPS = 20
DEFAULT_SHAPES = ("2x128", "4x128", "2x256", "4x256", "2x128x4096")


def parse_shape(text: str) -> dict[str, int]:
    """'4x256' or '4x256x4096' -> policy.tiny fields.

    >>> parse_shape("4x256")
    {'num_hidden_layers': 4, 'hidden_size': 256, 'num_attention_heads': 8}
    """
    parts = [int(p) for p in text.lower().split("x")]
    vocabulary = parts[2] if len(parts) == 3 else 256
    if len(parts) not in (2, 3) or min(parts) < 1 or parts[1] % 32 or vocabulary < 256:
        raise argparse.ArgumentTypeError(f"shape {text!r}: want LAYERSxWIDTH[xVOCAB], WIDTH "
                                         "a multiple of 32, VOCAB at least 256")
    shape = {"num_hidden_layers": parts[0], "hidden_size": parts[1],
             "num_attention_heads": parts[1] // 32}
    return shape | ({"vocab_size": parts[2]} if len(parts) == 3 else {})


def with_shape(cfg, shape: dict[str, int], steps: int | None = None):
    policy = cfg.policy.model_copy(update={"tiny": cfg.policy.tiny.model_copy(update=shape)})
    learner = cfg.learner if steps is None else cfg.learner.model_copy(
        update={"warm_start_steps": steps})
    return cfg.model_copy(update={"policy": policy, "learner": learner})


def prepare(cfg, out: Path, pool, val_tasks: int) -> tuple[list, dict[str, list]]:
    """The warm start's training tasks and the validation sets, made once per --out.

    Two validation sets, both sharing no normalized program with the held-out splits or
    the training tasks: `fresh`, a synthesizer stream of its own (new combinations and
    constants), and `seen`, built like heldout-seen (the seed curriculum's combinations
    with constants of a stream of its own), which asks for copying the statement's
    constants into the program."""
    made_by = {"seed": cfg.run.seed, "curriculum": cfg.curriculum.model_dump(mode="json"),
               "warm_start_tasks": cfg.learner.warm_start_tasks, "val_tasks": val_tasks,
               "validation": ["fresh", "seen"]}
    claim_dir(out, made_by)
    tasks = cached_tasks(out / "tasks.json", made_by,
                         lambda: make_tasks(cfg, out / "curriculum.sqlite", pool, val_tasks))
    return tasks["train"], {"fresh": tasks["fresh"], "seen": tasks["seen"]}


def make_tasks(cfg, store_path: Path, pool, val_tasks: int) -> dict[str, list]:
    from zeroplay.curricula.admit import (
        fresh_tasks,
        pool_validator,
        seed_curriculum,
        warm_start_tasks,
    )
    from zeroplay.curricula.programs import normalized_hash
    from zeroplay.curricula.store import CurriculumStore
    from zeroplay.curricula.synth import synthesize, synthesize_heldout_seen
    from zeroplay.curricula.task import Task
    from zeroplay.sandbox.batch import Draft

    validate = pool_validator(pool, cfg)
    cur = cfg.curriculum
    store_path.unlink(missing_ok=True)
    with CurriculumStore.open(store_path, create=True, run_id="shape") as store:
        seed_curriculum(store, validate, cfg, n=cur.seed_tasks, heldout=cur.heldout_tasks,
                        seed=cfg.run.seed, run_id="shape")
        train = warm_start_tasks(store, validate, cfg, run_id="shape")
        taken = {normalized_hash(t.reference) for t in store.tasks()} | {
            normalized_hash(t.reference) for t in train}
        fresh = [t for t in fresh_tasks(store, validate, cfg, n=val_tasks, seed=cfg.run.seed,
                                        run_id="shape", stream="validation")
                 if normalized_hash(t.reference) not in taken]
        seed_drafts = synthesize(cur.seed_tasks, cfg.run.seed, cur.max_ops, "shape")
        drafts = synthesize_heldout_seen(val_tasks, cfg.run.seed, cur.max_ops, "shape",
                                         seed_drafts, stream="validation-seen",
                                         reserved=taken)
        checked = validate([Draft(d.entry_point, d.reference, d.strategy) for d in drafts],
                           cfg.run.seed)
        seen = [t for t in (Task.from_validation(d, v) for d, v in
                            zip(drafts, checked, strict=True)) if t.valid]
    return {"train": train, "fresh": fresh, "seen": seen}


def train_shape(cfg, shape: dict[str, int], train: list, seconds: float, out: Path,
                steps: int | None = None) -> dict:
    """Probe the step time, then warm-start a fresh model for as many steps as fit
    (or for `steps`, without a probe)."""
    from zeroplay.actors.policy import load_policy
    from zeroplay.learner.warmstart import warm_start

    scratch = str(out / "trainer")
    probe_seconds = None
    if steps is None:
        probe_cfg = with_shape(cfg, shape)
        model, tokenizer = load_policy(probe_cfg.policy, seed=cfg.run.seed,
                                       rollout=cfg.rollout)
        probe_seconds = warm_start(model, tokenizer, train, probe_cfg, scratch,
                                   PROBE_STEPS).seconds / PROBE_STEPS
        steps = max(PROBE_STEPS, math.floor(seconds / probe_seconds))
    full_cfg = with_shape(cfg, shape, steps)
    model, tokenizer = load_policy(full_cfg.policy, seed=cfg.run.seed, rollout=cfg.rollout)
    report = warm_start(model, tokenizer, train, full_cfg, scratch, steps)
    checkpoint = out / "checkpoint"
    shutil.rmtree(checkpoint, ignore_errors=True)
    model.save_pretrained(checkpoint)
    tokenizer.save_pretrained(checkpoint)
    shutil.rmtree(scratch, ignore_errors=True)
    return {"steps": steps, "seconds": round(report.seconds, 1),
            "probe_step_seconds": probe_seconds and round(probe_seconds, 3),
            "parameters": sum(p.numel() for p in model.parameters()),
            "vocabulary": len(tokenizer), "last_loss": report.last_loss,
            "checkpoint": checkpoint}


def validation_pass(cfg, checkpoint: Path, pool, tasks: list) -> list[int]:
    """Greedy correctness (0/1) per validation task."""
    from zeroplay.actors.fleet import Fleet
    from zeroplay.eval.problems import task_problem
    from zeroplay.eval.run import evaluate

    eval_cfg = cfg.model_copy(update={
        "policy": cfg.policy.model_copy(update={"model": str(checkpoint)}),
        "rollout": cfg.rollout.model_copy(update={"max_new_tokens": EVAL_MAX_NEW_TOKENS})})
    with Fleet.in_process(eval_cfg, pool) as fleet:
        report = evaluate([task_problem(t) for t in tasks], fleet, 1,
                          cfg.rollout.max_prompt_tokens, batch_problems=64, greedy=True)
    return [r.correct for r in report.results]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="configs/local.yaml")
    parser.add_argument("--seconds", type=float, default=240.0,
                        help="warm-start training wall-clock per shape")
    parser.add_argument("--steps", type=int, default=None,
                        help="a fixed number of optimizer steps per shape instead of "
                             "--seconds: compares learning per step, whatever the load")
    parser.add_argument("--shapes", type=parse_shape, nargs="+",
                        default=[parse_shape(s) for s in DEFAULT_SHAPES])
    parser.add_argument("--val-tasks", type=int, default=300,
                        help="validation tasks to synthesize (fewer remain after dedup)")
    parser.add_argument("--out", default="runs/bench-shape")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()

    cfg = config_or_exit(parser, args)
    if cfg.policy.model != "tiny":
        parser.error(f"policy.model={cfg.policy.model!r}: this benchmark shapes the tiny model")
    import datasets

    datasets.disable_progress_bars()
    out = Path(args.out)
    rows = []
    with SandboxPool(cfg.sandbox) as pool:
        train, validation = prepare(cfg, out, pool, args.val_tasks)
        print(f"{len(train)} training tasks; validation: " + "; ".join(
            f"{name} {len(tasks)} (" + ", ".join(
                f"{sum(len(ops_of(t.tags)) == n for t in tasks)} of {n} ops"
                for n in sorted({len(ops_of(t.tags)) for t in tasks})) + ")"
            for name, tasks in validation.items()), flush=True)
        for shape in args.shapes:
            tiny = with_shape(cfg, shape).policy.tiny
            name = f"{tiny.num_hidden_layers}x{tiny.hidden_size}x{tiny.vocab_size}"
            print(f"shape {name}: " + (f"{args.steps} steps" if args.steps else
                                       f"{args.seconds:.0f} s") + " of warm start", flush=True)
            row = {"shape": name, **train_shape(cfg, shape, train, args.seconds, out,
                                                args.steps)}
            checkpoint = row.pop("checkpoint")
            everything = [t for tasks in validation.values() for t in tasks]
            correct = iter(validation_pass(cfg, checkpoint, pool, everything))
            row["validation"] = {}
            for set_name, tasks in validation.items():
                got = [next(correct) for _ in tasks]
                low, high = wilson(sum(got), len(got))
                row["validation"][set_name] = {
                    "pass@1": fmean(got), "interval": [low, high],
                    "by ops": {f"{n} ops": fmean(c for c, t in zip(got, tasks, strict=True)
                                                 if len(ops_of(t.tags)) == n)
                               for n in sorted({len(ops_of(t.tags)) for t in tasks})},
                    "correct": got}
            print(f"  {row['steps']} steps in {row['seconds']:.0f} s, validation pass@1 "
                  + ", ".join(f"{n} {v['pass@1']:.1%}" for n, v in row["validation"].items()),
                  flush=True)
            rows.append(row)
            path = write_result("tiny_shape", out, {  # after every shape: keep what ran
                "config": cfg.model_dump(mode="json"), "seconds": args.seconds,
                "steps": args.steps,
                "validation": {n: [t.id for t in tasks] for n, tasks in validation.items()},
                "shapes": rows})
    shutil.rmtree(out / "checkpoint", ignore_errors=True)
    print(f"\n{'shape':14}{'params':>9}{'steps':>7}{'s/step':>8}{'loss':>7}  "
          f"{'validation':10}{'pass@1':>8}{'95% interval':>17}   by ops")
    for r in rows:
        for i, (set_name, v) in enumerate(r["validation"].items()):
            low, high = v["interval"]
            by = "  ".join(f"{g} {p:.1%}" for g, p in v["by ops"].items())
            head = (f"{r['shape']:14}{r['parameters'] / 1e6:>8.2f}M{r['steps']:>7}"
                    f"{r['seconds'] / r['steps']:>8.2f}{r['last_loss']:>7.3f}" if i == 0
                    else " " * 45)
            print(f"{head}  {set_name:10}{v['pass@1']:>8.1%}   [{low:.1%}, {high:.1%}]   {by}")
    print(f"\nwrote {path} (and benchmarks/results/)")


if __name__ == "__main__":
    main()
