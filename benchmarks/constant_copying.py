"""Does a checkpoint copy the statement's constants into its answer? Greedy pass@1 cannot
tell a copied constant from a lucky guess; this asks directly.

    .venv/bin/python benchmarks/constant_copying.py CHECKPOINT [CHECKPOINT ...]
        [--tasks 200] [--candidates 6] [--out runs/bench-copy] [--set KEY=VALUE ...]

The probe tasks are built like heldout-seen (the seed curriculum's operation
combinations with constants of a stream of their own, `validation-seen`, the stream
`tiny_shape.py`'s `seen` set uses), skip every program of the held-out splits, and are
validated in the sandbox for their public examples (cached in `--out`). For each task's
first operation with a numeric constant c, the probe takes up to `--candidates` values
of that operation's constant range (c among them) and, for each value s, writes s into
the statement, teacher-forces the reference up to the constant and ranks every
candidate by its log-probability. The answer is copied when the top candidate is s.

A model that ignores the statement ranks the candidates the same whatever s is, so it
is right exactly once per task: the chance level printed beside the copy rate. It prints
both per operation and overall; nothing here trains or chooses what trains.
"""

from __future__ import annotations

import argparse
import random
from collections import defaultdict
from pathlib import Path
from statistics import fmean

from common import cached_tasks, config_or_exit, write_result

from zeroplay.sandbox.pool import SandboxPool


def probe_tasks(cfg, pool, out: Path, n: int) -> list:
    """The heldout-seen-like probe tasks, validated once per `--out`."""
    made_by = {"seed": cfg.run.seed, "curriculum": cfg.curriculum.model_dump(mode="json"),
               "tasks": n}
    return cached_tasks(out / "probe-tasks.json", made_by,
                        lambda: {"probe": make_probe_tasks(cfg, pool, n)})["probe"]


def make_probe_tasks(cfg, pool, n: int) -> list:
    from zeroplay.curricula.admit import pool_validator
    from zeroplay.curricula.programs import normalized_hash
    from zeroplay.curricula.synth import synthesize, synthesize_heldout_seen
    from zeroplay.curricula.task import Task
    from zeroplay.sandbox.batch import Draft

    cur, seed = cfg.curriculum, cfg.run.seed
    train = synthesize(cur.seed_tasks, seed, cur.max_ops, "copy")
    held = synthesize_heldout_seen(cur.heldout_tasks, seed, cur.max_ops, "copy", train) + \
        synthesize(cur.heldout_tasks, seed, cur.max_ops, "copy", split="heldout-unseen")
    drafts = synthesize_heldout_seen(n, seed, cur.max_ops, "copy", train,
                                     stream="validation-seen",
                                     reserved={normalized_hash(d.reference) for d in held})
    checked = pool_validator(pool, cfg)(
        [Draft(d.entry_point, d.reference, d.strategy) for d in drafts], seed)
    return [t for t in (Task.from_validation(d, v)
                        for d, v in zip(drafts, checked, strict=True)) if t.valid]


def variants(task, candidates: int, rng: random.Random):
    """(operation, [(s, statement with s, answer prefix, {candidate: continuation})]) for
    the task's first numeric constant, or None when it has none."""
    from dataclasses import replace

    from zeroplay.actors.prompts import render_solution
    from zeroplay.corpus.catalogue import OPS_BY_NAME
    from zeroplay.curricula.task import ops_of

    body = task.reference.splitlines()
    start = next(i for i, line in enumerate(body) if line.startswith("def ")) + 2
    lines = body[start:-1]  # one per operation
    for name, line in zip(ops_of(task.tags), lines, strict=True):
        op = OPS_BY_NAME[name]
        if op.const is None:
            continue
        head, sep, rest = line.partition(f"= {op.code.split('{c}')[0]}")
        value = rest[:len(rest) - len(rest.lstrip("-0123456789"))]
        if not (sep and value.lstrip("-").isdigit()):
            continue  # the constant is the argument k
        solution = render_solution(task.reference)
        cut = solution.index(line) + len(head) + len(sep)
        prefix = solution[:cut].rstrip(" ")
        space = " " * (cut - len(prefix))
        others = [c for c in range(op.const[0], op.const[1] + 1) if c != int(value)]
        chosen = sorted([int(value), *rng.sample(others, min(candidates - 1, len(others)))])
        phrase = op.phrase.format(c=value)
        return name, [(s, replace(task, statement=task.statement.replace(
            phrase, op.phrase.format(c=s))), prefix, {c: f"{space}{c}" for c in chosen})
            for s in chosen]
    return None


def copy_rate(checkpoint: str, tasks: list, candidates: int, seed: int) -> dict:
    """Per operation: (probes, copied, chance)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from zeroplay.actors.prompts import prompt_text, solver_messages

    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    model = AutoModelForCausalLM.from_pretrained(checkpoint).eval()
    rng = random.Random(seed)
    by_op: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for task in tasks:
        probe = variants(task, candidates, rng)
        if probe is None:
            continue
        name, rows = probe
        for wanted, variant, prefix, continuations in rows:
            context = prompt_text(tokenizer, solver_messages(variant)) + prefix
            start = tokenizer(context, add_special_tokens=False)["input_ids"]
            scores = {}
            for value, text in continuations.items():
                ids = tokenizer(context + text, add_special_tokens=False)["input_ids"]
                if ids[:len(start)] != start:
                    break  # the constant merged into the prefix's last token: not probed
                with torch.no_grad():
                    logits = model(torch.tensor([ids])).logits[0].log_softmax(-1)
                scores[value] = sum(logits[i - 1, ids[i]].item()
                                    for i in range(len(start), len(ids)))
            else:
                by_op[name].append((int(max(scores, key=scores.get) == wanted),
                                    1 / len(continuations)))
    return {name: (len(r), sum(c for c, _ in r), fmean(p for _, p in r))
            for name, r in sorted(by_op.items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoints", nargs="+", help="checkpoint or model directories")
    parser.add_argument("--config", default="configs/local.yaml")
    parser.add_argument("--tasks", type=int, default=200, help="probe tasks to synthesize")
    parser.add_argument("--candidates", type=int, default=6)
    parser.add_argument("--out", default="runs/bench-copy")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    if args.candidates < 2 or args.tasks < 1:
        parser.error("--candidates must be at least 2 and --tasks at least 1")

    cfg = config_or_exit(parser, args)
    missing = [c for c in args.checkpoints if not (Path(c) / "config.json").is_file()]
    if missing:
        parser.error(f"not a model directory (no config.json): {', '.join(missing)}")
    with SandboxPool(cfg.sandbox) as pool:
        tasks = probe_tasks(cfg, pool, Path(args.out), args.tasks)
    measured = {}
    for checkpoint in args.checkpoints:
        rates = copy_rate(checkpoint, tasks, args.candidates, cfg.run.seed)
        measured[checkpoint] = rates
        probes = sum(n for n, _, _ in rates.values())
        if not probes:
            raise SystemExit(f"none of the {len(tasks)} probe tasks has a numeric constant "
                             "(all use the argument k): pass a larger --tasks")
        print(f"\n{checkpoint}: {probes} probes over {len(tasks)} tasks")
        print(f"{'operation':14}{'probes':>7}{'copied':>9}{'chance':>9}")
        for name, (n, copied, chance) in rates.items():
            print(f"{name:14}{n:>7}{copied / n:>9.1%}{chance:>9.1%}")
        copied = sum(c for _, c, _ in rates.values())
        chance = sum(n * p for n, _, p in rates.values())
        print(f"{'all':14}{probes:>7}{copied / probes:>9.1%}{chance / probes:>9.1%}")
    write_result("constant_copying", Path(args.out), {
        "tasks": len(tasks), "candidates": args.candidates,
        "by_checkpoint": {c: {op: {"probes": n, "copied": k, "chance": p}
                              for op, (n, k, p) in rates.items()}
                          for c, rates in measured.items()}})


if __name__ == "__main__":
    main()
