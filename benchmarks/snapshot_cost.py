"""What a checkpoint's snapshot of the curriculum costs: seconds and bytes, by store size.

    .venv/bin/python benchmarks/snapshot_cost.py [--tasks 1200 100000] [--repeats 3]
        [--out runs/bench-snapshot]

For each size it builds a store of that many synthesizer tasks (validated tasks need the
sandbox; these carry the size and shape of real ones: statement, reference, strategy, 30
frozen test cases) with an attempt per task, then times `take_snapshot` (SQLite's online
backup of the store plus the run's small files), and SQLite's integrity check of the
result, which a resume runs. The default run's store holds about 1,200 tasks (200 training
and two held-out splits of 500) and grows by about 300 a run. It prints seconds and MiB
per size and writes `snapshot_cost.json` into `--out` and benchmarks/results/.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path
from statistics import median

from common import write_result

from zeroplay.config import load_config
from zeroplay.curricula.store import Attempt, CurriculumStore, integrity_problems
from zeroplay.curricula.synth import synthesize_one, task_seed
from zeroplay.curricula.task import Task
from zeroplay.handoff import TestCase, Validation
from zeroplay.launch.rundir import RunDir
from zeroplay.launch.snapshots import take_snapshot

TESTS_PER_TASK = 30


def build_store(run: RunDir, n: int) -> None:
    tests = [TestCase([["l", [["i", i] for i in range(8)]]], ["i", i], public=i < 3)
             for i in range(TESTS_PER_TASK)]
    with CurriculumStore.open(run.curriculum_path, create=True, run_id="bench") as store, \
            store.transaction(step=1):
        added = 0
        for i in range(n * 10):  # draws repeat tasks: draw until n distinct ones are in
            if added == n:
                break
            draft, _ = synthesize_one(task_seed(0, i, "snapshot"), 3)
            task = Task.from_validation(draft, Validation(True, tests=tests), step=1)
            if store.add_task(task):
                store.add_attempt(Attempt(f"1:{task.id}", task.id, "h", 1.0, "pass", 0, 1))
                added += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[1200, 100_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="runs/bench-snapshot")
    args = parser.parse_args()
    out = Path(args.out)
    rows = []
    for n in args.tasks:
        cfg = load_config(None, [f"run.runs_dir={out}", f"run.name=tasks-{n}"])
        shutil.rmtree(out / f"tasks-{n}", ignore_errors=True)
        run = RunDir.create(cfg)
        start = time.monotonic()
        build_store(run, n)
        built = time.monotonic() - start
        seconds, checks = [], []
        with CurriculumStore.open(run.curriculum_path) as store:
            stored = store.count()
            for step in range(1, args.repeats + 1):
                start = time.monotonic()
                snapshot = take_snapshot(run, store, step)
                seconds.append(time.monotonic() - start)
                start = time.monotonic()
                assert not integrity_problems(snapshot / "curriculum.sqlite")
                checks.append(time.monotonic() - start)
        size = sum(f.stat().st_size for f in snapshot.rglob("*") if f.is_file())
        row = {"tasks": stored, "store_mib": run.curriculum_path.stat().st_size / 2**20,
               "snapshot_mib": size / 2**20, "snapshot_s": median(seconds),
               "integrity_check_s": median(checks), "build_s": built}
        rows.append(row)
        print(f"{stored:>8} tasks: snapshot {row['snapshot_s']:.3f} s, "
              f"{row['snapshot_mib']:.1f} MiB; integrity check {row['integrity_check_s']:.3f} s"
              f" (median of {args.repeats})", flush=True)
    path = write_result("snapshot_cost", out, {"repeats": args.repeats, "sizes": rows})
    print(f"\nwrote {path} (and benchmarks/results/)")


if __name__ == "__main__":
    main()
