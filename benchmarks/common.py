"""What the benchmarks share: the config, the sandbox pool, prepared directories, evaluation.

    cfg = config_or_exit(parser, args)                  # --config + --set, or exit 2
    with SandboxPool(cfg.sandbox) as pool:              # builds the image if it is missing
        store_path, checkpoint = seed_and_warm_start(cfg, out, pool)   # once per --out
        tasks = cached_tasks(out / "probe.json", made_by, lambda: {"probe": [...]})
        greedy = judge_split(fleet, tasks, 1, greedy=True)
    write_result("learning", out, data)               # --out/learning.json + results/

A prepared directory is made once per settings and reused by later calls with the same
ones: `claim_dir` refuses a directory prepared with other settings (its files would pass
for these), `cached_tasks` remakes a task cache that is missing, cut short or of other
settings. Seeding and the warm start's tasks are the run's own (`seed_curriculum`,
`warm_start_tasks`), so a benchmark's warm start is the run's. Results go to `--out` and,
with the commit and command that made them, to `benchmarks/results/`, which the project
keeps under version control. Statistics live in `zeroplay.eval.stats`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
EVAL_MAX_NEW_TOKENS = 128  # references are under 100 tokens; longer answers count as failed


def config_or_exit(parser: argparse.ArgumentParser, args: argparse.Namespace):
    """`--config` with every `--set` applied, or argparse's one-line error (exit 2)."""
    from zeroplay.config import load_config
    from zeroplay.errors import ZeroplayError

    try:
        return load_config(args.config, args.set)
    except ZeroplayError as exc:
        parser.error(str(exc))


def claim_dir(out: Path, made_by: dict) -> None:
    """Record the settings `out` is prepared with; exit if it was prepared with others."""
    out.mkdir(parents=True, exist_ok=True)
    recipe = out / "prepared.json"
    if recipe.is_file() and json.loads(recipe.read_text()) != made_by:
        raise SystemExit(f"{out} was prepared with other settings ({recipe}); pass a new "
                         "--out, or the same settings")
    recipe.write_text(json.dumps(made_by, indent=1) + "\n")


def cached_tasks(path: Path, made_by: dict, make: Callable[[], dict[str, list]]
                 ) -> dict[str, list]:
    """Named task lists made once per settings; made again when the file is missing, cut
    short or of other settings."""
    from zeroplay.curricula.task import Task

    try:
        data = json.loads(path.read_text())
        if data["made_by"] == made_by:
            return {name: [Task.from_json(t) for t in tasks]
                    for name, tasks in data["tasks"].items()}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    made = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"made_by": made_by, "tasks": {
        name: [t.to_json() for t in tasks] for name, tasks in made.items()}}) + "\n")
    return made


def seed_and_warm_start(cfg, out: Path, pool, run_id: str = "learning") -> tuple[Path, Path]:
    """A store seeded as `zeroplay run` seeds one, and a warm-start checkpoint trained as
    the run trains it (the config's `learner.warm_start_*`), made once per `--out`."""
    from zeroplay.actors.policy import load_policy
    from zeroplay.curricula.admit import pool_validator, seed_curriculum, warm_start_tasks
    from zeroplay.curricula.store import CurriculumStore
    from zeroplay.learner.warmstart import warm_start

    cur, lc = cfg.curriculum, cfg.learner
    claim_dir(out, {"recipe": 2, "seed": cfg.run.seed, "policy": cfg.policy.model_dump(mode="json"),
                    "curriculum": cur.model_dump(mode="json",
                                                 exclude={"fresh_tasks_per_step"}),
                    "warm_start": {k: v for k, v in lc.model_dump().items()
                                   if k.startswith("warm_start")}})
    store_path, checkpoint = out / "curriculum.sqlite", out / "warm-start"
    validate = pool_validator(pool, cfg)
    if not store_path.is_file():
        partial = store_path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        with CurriculumStore.open(partial, create=True, run_id=run_id) as store:
            seed_curriculum(store, validate, cfg, n=cur.seed_tasks, heldout=cur.heldout_tasks,
                            seed=cfg.run.seed, run_id=run_id)
        partial.rename(store_path)
    if not (checkpoint / "config.json").is_file():
        print(f"warm start: {lc.warm_start_steps} SFT steps", flush=True)
        fresh = cfg.model_copy(update={"sandbox": cfg.sandbox.model_copy(
            update={"num_tests": lc.warm_start_tests})})  # as the run validates them
        with CurriculumStore.open(store_path, readonly=True) as store:
            tasks = warm_start_tasks(store, pool_validator(pool, fresh), cfg, run_id=run_id)
        model, tokenizer = load_policy(cfg.policy, seed=cfg.run.seed, rollout=cfg.rollout)
        start = time.monotonic()
        report = warm_start(model, tokenizer, tasks, cfg, str(out / "warm-start-trainer"),
                            lc.warm_start_steps)
        print(f"warm start: loss {report.first_loss:.2f} -> {report.last_loss:.2f} in "
              f"{time.monotonic() - start:.0f} s", flush=True)
        model.save_pretrained(checkpoint)
        tokenizer.save_pretrained(checkpoint)
        shutil.rmtree(out / "warm-start-trainer", ignore_errors=True)
    return store_path, checkpoint


def heldout_tasks(store_path: Path, n: int) -> dict[str, list]:
    """The first `n` tasks (by id) of each held-out split: the same ones every call."""
    from zeroplay.curricula.store import CurriculumStore
    from zeroplay.curricula.task import HELDOUT_SPLITS

    with CurriculumStore.open(store_path, readonly=True) as store:
        return {split: sorted(store.tasks(status="valid", split=split), key=lambda t: t.id)[:n]
                for split in HELDOUT_SPLITS}


def from_checkpoint(cfg, checkpoint: Path):
    """The config with its policy loaded from `checkpoint`."""
    return cfg.model_copy(update={"policy": cfg.policy.model_copy(
        update={"model": str(checkpoint)})})


def judge_split(fleet, tasks: list, samples: int, greedy: bool) -> list[int]:
    """Passing samples per task, in task order, answers cut at EVAL_MAX_NEW_TOKENS."""
    import dataclasses

    from zeroplay.eval.problems import task_problem
    from zeroplay.eval.run import evaluate

    actor = fleet.rollouts.group.members[0]
    trained = actor.params
    actor.params = dataclasses.replace(trained, max_new_tokens=min(trained.max_new_tokens,
                                                                   EVAL_MAX_NEW_TOKENS))
    try:
        report = evaluate([task_problem(t) for t in tasks], fleet, samples,
                          trained.max_prompt_tokens, batch_problems=64, greedy=greedy)
    finally:
        actor.params = trained
    return [r.correct for r in report.results]


def remove_store(path: Path) -> Path:
    """Delete an SQLite store with its WAL files (a stale WAL would be replayed into the
    new file written at `path`); returns `path`."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def write_result(name: str, out: Path, data: dict) -> Path:
    """`--out`/<name>.json, and a copy under benchmarks/results/ with the commit and the
    command that made it (the latest result of each benchmark, kept in the repository)."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=RESULTS.parent).stdout.strip() or None
    record = {"benchmark": name, "commit": commit, "command": " ".join(sys.argv),
              "finished": time.strftime("%Y-%m-%d %H:%M:%S"), **data}
    text = json.dumps(record, indent=1) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(text)
    return out / f"{name}.json"
