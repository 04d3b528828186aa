"""How should the warm start teach the proposer its format? Variants, measured on what they propose.

    .venv/bin/python benchmarks/proposer_warmstart.py [--variants NAME:KEY=V,... ...]
        [--steps 2] [--proposals 8] [--validation-tasks 100] [--out runs/bench-learning]
        [--set KEY=VALUE ...]

It uses a prepared store and solver warm start (`common.seed_and_warm_start`: the same
`--out` and config reuse them; the config's own proposer phase is left out of it). Each
variant continues from that checkpoint with a proposer phase: SFT on proposer rows (the
proposer prompt with `k` example tasks, a training task of at least two operations as
the answer), mixed with a `solver` share of solver rows so the solver is not forgotten,
for `steps` steps at `lr`. The rows come from the warm start's own
tasks (the seed curriculum and its fresh synthesizer stream). Variant keys: steps (0:
the checkpoint as it is), k, solver (solver rows per proposer row), lr, and temp: the
proposer's sampling temperature while measured (`rollout.proposer_temperature`; default
`rollout.temperature`). Variants that differ only in temp share one trained phase.

Then, with no training, it plays `--steps` proposing self-play steps of `--proposals`
proposer prompts (8 proposals each, showing `k` examples as the rows did) on a copy of the
store, as a run plays them, and reports per variant:
- valid: the share of proposals that became valid new tasks, and why the others did not
  (the copy of the store knows the warm start's programs, as a run's store does, so a
  proposal of one is filtered as `trained_copy`);
- novel: the share of valid ones whose program shape (constants abstracted) is new;
  copied: the share of all proposals that were trained copies;
- learnable: the share of the new valid tasks the solver solved sometimes but not always
  (0 < passes < 8 at the rollout temperature);
- the solver's greedy pass@1 on a validation set built like heldout-seen from other
  seeds (never a held-out task), before and after the phase;
- the phase's wall-clock seconds.
It writes `proposer_warmstart.json` into `--out` and benchmarks/results/. Held-out tasks
are neither shown nor measured: the variant is chosen on this validation stream alone.
"""

from __future__ import annotations

import argparse
import random
import shutil
import time
from collections import Counter
from pathlib import Path
from statistics import fmean

from common import (
    config_or_exit,
    from_checkpoint,
    judge_split,
    remove_store,
    seed_and_warm_start,
    write_result,
)

from zeroplay.sandbox.pool import SandboxPool

DEFAULT_VARIANTS = ["none:steps=0", "p250:steps=250,solver=1", "p500:steps=500,solver=1",
                    "p500-k1:steps=500,solver=1,k=1"]
VARIANT_KEYS = {"steps": int, "k": int, "solver": float, "lr": float, "temp": float}
PHASE_KEYS = ("steps", "k", "solver", "lr")


def parse_variant(text: str) -> tuple[str, dict]:
    """`name:key=value,...` with defaults filled in.

    >>> parse_variant("p:steps=300,k=1")
    ('p', {'steps': 300, 'k': 1, 'solver': 0.0, 'lr': 0.003, 'temp': None})
    """
    name, _, spec = text.partition(":")
    values = {"steps": 0, "k": 0, "solver": 0.0, "lr": 3e-3, "temp": None}
    for item in filter(None, spec.split(",")):
        key, _, value = item.partition("=")
        if key not in VARIANT_KEYS:
            raise ValueError(f"unknown variant key {key!r}: use {', '.join(VARIANT_KEYS)}")
        values[key] = VARIANT_KEYS[key](value)
    return name, values


def trained_tasks(cfg, store_path: Path, pool) -> list:
    """The tasks the warm start trained on (the seed curriculum and its fresh stream),
    validated again as the run validates them."""
    from zeroplay.curricula.admit import pool_validator, warm_start_tasks
    from zeroplay.curricula.store import CurriculumStore

    fresh = cfg.model_copy(update={"sandbox": cfg.sandbox.model_copy(
        update={"num_tests": cfg.learner.warm_start_tests})})
    with CurriculumStore.open(store_path, readonly=True) as store:
        return warm_start_tasks(store, pool_validator(pool, fresh), cfg, run_id="learning")


def validation_tasks(cfg, store_path: Path, pool, n: int) -> list:
    """Built like heldout-seen (training combinations, new constants) from a stream of
    its own: no held-out program, nor any the store holds."""
    from zeroplay.curricula.admit import pool_validator
    from zeroplay.curricula.programs import normalized_hash
    from zeroplay.curricula.store import CurriculumStore
    from zeroplay.curricula.synth import synthesize, synthesize_heldout_seen
    from zeroplay.curricula.task import Task
    from zeroplay.sandbox.batch import Draft

    with CurriculumStore.open(store_path, readonly=True) as store:
        taken = {normalized_hash(t.reference) for t in store.tasks()}
    train = synthesize(cfg.curriculum.seed_tasks, cfg.run.seed, cfg.curriculum.max_ops, "")
    drafts = synthesize_heldout_seen(n, cfg.run.seed, cfg.curriculum.max_ops, "validation",
                                     train, stream="validation", reserved=taken)
    checks = pool_validator(pool, cfg)([Draft(d.entry_point, d.reference, d.strategy)
                                        for d in drafts], cfg.run.seed)
    return [t for t in (Task.from_validation(d, v) for d, v in zip(drafts, checks, strict=True))
            if t.valid]


def proposer_phase(fleet, cfg, tasks: list, variant: dict, scratch: Path) -> float:
    """Train the fleet's model on the variant's rows; its wall-clock seconds."""
    from zeroplay.actors.prompts import prompt_tokens
    from zeroplay.learner.warmstart import proposer_phase_rows, train_rows

    if variant["steps"] <= 0:
        return 0.0
    actor = fleet.rollouts.group.members[0]
    rows = proposer_phase_rows(
        tasks, cfg.run.seed, variant["k"],
        lambda m: prompt_tokens(actor.tokenizer, m) <= cfg.rollout.max_prompt_tokens,
        solver_share=variant["solver"])
    start = time.monotonic()
    train_rows(actor.generator.model, actor.tokenizer, rows, cfg, str(scratch),
               variant["steps"], variant["lr"])
    return time.monotonic() - start


def save_phase(fleet, path: Path) -> Path:
    """The fleet's model as trained, for the variants that share its phase."""
    actor = fleet.rollouts.group.members[0]
    actor.generator.model.save_pretrained(path)
    actor.tokenizer.save_pretrained(path)
    return path


def measure_proposals(fleet, cfg, store_path: Path, work: Path, steps: int,
                      trained: list) -> dict:
    """Proposing self-play steps on a copy of the store that knows the warm start's
    programs (as a run's does), nothing trained; the shares."""
    from zeroplay.curricula.store import CurriculumStore
    from zeroplay.selfplay import selfplay_step

    copy = remove_store(work / "proposals.sqlite")
    shutil.copyfile(store_path, copy)
    counts: Counter = Counter()
    reasons: Counter = Counter()
    learnable, judged, texts = 0, 0, []
    with CurriculumStore.open(copy, run_id="proposer-bench") as store:
        with store.transaction():
            for task in trained:
                if not store.has_task(task.id):
                    store.add_trained_program(task.reference)
        for step in range(1, steps + 1):
            before = {t.id for t in store.tasks()}
            result = selfplay_step(store, fleet.rollouts, fleet.sandboxes, cfg, step=step,
                                   rng=random.Random(step), run_id="proposer-bench")
            summary = result.summary
            for status, n in summary["proposals"].items():
                counts[status] += n
            counts["novel"] += summary["novel_policy_tasks"]
            reasons.update(summary["format_reasons"])
            reasons.update({f"rejected:{r}": n for r, n in summary["rejected"].items()})
            reasons.update({f"filtered:{r}": n for r, n in summary["filtered"].items()})
            new = [t for t in store.tasks(status="valid", origin="policy")
                   if t.id not in before]
            for task in new:
                passes = [a.status == "pass" for a in store.attempts(task.id)]
                if passes:
                    judged += 1
                    learnable += 0 < sum(passes) < len(passes)
            texts += [store.get_task(t.id).statement for t in new[:2]]
    total = sum(counts[s] for s in ("valid", "format", "duplicate", "rejected"))
    valid = counts["valid"]
    return {"proposals": total, "valid": valid / total if total else 0.0,
            "novel": counts["novel"] / valid if valid else None,
            "copied": reasons["filtered:trained_copy"] / total if total else None,
            "learnable": learnable / judged if judged else None, "judged": judged,
            "reasons": dict(reasons.most_common()), "examples": texts[:4]}


def fmt(share: float | None) -> str:
    return "-" if share is None else f"{share:.1%}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="configs/local.yaml")
    parser.add_argument("--variants", nargs="+", default=DEFAULT_VARIANTS)
    parser.add_argument("--steps", type=int, default=2, help="proposing steps measured")
    parser.add_argument("--proposals", type=int, default=8, help="proposer prompts a step")
    parser.add_argument("--validation-tasks", type=int, default=100)
    parser.add_argument("--out", default="runs/bench-learning")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    try:
        variants = dict(map(parse_variant, args.variants))
    except ValueError as exc:
        parser.error(str(exc))

    import torch

    from zeroplay.actors.fleet import Fleet

    args.set = ["learner.warm_start_proposer_steps=0", *args.set]  # the variants add one
    cfg = config_or_exit(parser, args)
    out = Path(args.out)
    work = out / "proposer-warmstart"
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    with SandboxPool(cfg.sandbox) as pool:
        store_path, checkpoint = seed_and_warm_start(cfg, out, pool)
        tasks = trained_tasks(cfg, store_path, pool)
        validation = validation_tasks(cfg, store_path, pool, args.validation_tasks)
        print(f"{len(tasks)} warm-start tasks, {len(validation)} validation tasks", flush=True)
        play = from_checkpoint(cfg, checkpoint).model_copy(update={
            "run": cfg.run.model_copy(update={"overlap": False}),  # nothing trains here
            "rollout": cfg.rollout.model_copy(update={
                "proposals_per_step": args.proposals, "proposer_after_solve_rate": 0.0})})
        phases: dict[tuple, tuple[Path, float]] = {}  # a trained phase and its seconds
        for name, variant in variants.items():
            torch.manual_seed(cfg.run.seed)
            phase = tuple(variant[k] for k in PHASE_KEYS)
            base = from_checkpoint(play, phases[phase][0]) if phase in phases else play
            shown = base.model_copy(update={
                "curriculum": base.curriculum.model_copy(  # rollouts show what rows showed
                    update={"reference_k": variant["k"]}),
                "rollout": base.rollout.model_copy(
                    update={"proposer_temperature": variant["temp"]})})
            with Fleet.in_process(shown, pool) as fleet:
                if phase in phases:
                    seconds = phases[phase][1]
                else:
                    seconds = proposer_phase(fleet, shown, tasks, variant, work / "trainer")
                    phases[phase] = save_phase(fleet, work / f"phase-{len(phases)}"), seconds
                solver = fmean(judge_split(fleet, validation, 1, greedy=True))
                shares = measure_proposals(fleet, shown, store_path, work, args.steps, tasks)
            results[name] = {**variant, "seconds": round(seconds, 1),
                             "validation_pass@1": solver, **shares}
            r = results[name]
            print(f"{name}: valid {r['valid']:.1%} of {r['proposals']}, novel {r['novel']}, "
                  f"copied {r['copied']}, learnable {r['learnable']} of {r['judged']}, "
                  f"validation pass@1 {solver:.1%}, {seconds:.0f} s; "
                  f"{list(r['reasons'].items())[:5]}", flush=True)
    print(f"\n{'variant':12}{'steps':>6}{'k':>3}{'solver':>7}{'temp':>6}{'seconds':>8}"
          f"{'valid':>8}{'novel':>8}{'copied':>8}{'learn':>8}{'val@1':>8}")
    for name, r in results.items():
        temp = r["temp"] or cfg.rollout.temperature
        print(f"{name:12}{r['steps']:>6}{r['k']:>3}{r['solver']:>7.1f}{temp:>6.2f}"
              f"{r['seconds']:>8.0f}"
              f"{fmt(r['valid']):>8}{fmt(r['novel']):>8}{fmt(r['copied']):>8}"
              f"{fmt(r['learnable']):>8}{fmt(r['validation_pass@1']):>8}")
    path = write_result("proposer_warmstart", out, {
        "config": cfg.model_dump(mode="json"), "steps": args.steps,
        "proposals": args.proposals, "variants": results})
    print(f"\nwrote {path} (and benchmarks/results/)")


if __name__ == "__main__":
    main()
