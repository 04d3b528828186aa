"""`kill -9` at each point of a step, then `--resume`: a real run (Ray, the Docker sandbox,
TRL, the tiny model) crashed at every named crash point (`zeroplay.failpoints`) in turn,
with a torn metrics line and a damaged store on the way, and finished from storage alone
in a fresh directory. It must end with every step's metrics row exactly once, a store
that passes the integrity check, and the counts of an uninterrupted run of the same
config."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import IO

import pytest

from zeroplay.curricula.store import integrity_problems
from zeroplay.failpoints import ENV

from .test_snapshots import _damage

pytestmark = [pytest.mark.docker, pytest.mark.slow]

EXE = str(Path(sys.executable).with_name("zeroplay"))
STEPS = 6
# A checkpoint (and so a snapshot) every step; fresh synthesizer tasks every step, so the
# store grows the same way in every run of this config.
CONFIG = ["curriculum.seed_tasks=24", "curriculum.heldout_tasks=6",
          "learner.warm_start_steps=4", "learner.warm_start_proposer_steps=2",
          "learner.warm_start_tasks=0", "rollout.max_new_tokens=48",
          "rollout.proposals_per_step=2", "rollout.solver_tasks_per_step=2",
          "learner.gradient_accumulation_steps=2", "learner.checkpoint_every=1",
          "learner.keep_checkpoints=2", "cluster.dashboard=false", "run.eval_every=0",
          "rollout.proposer_after_solve_rate=0", "rollout.dynamic_sampling=false",
          "curriculum.fresh_tasks_per_step=2"]
# (crash point, the how-many-th time this invocation reaches it)
CRASHES = [("generation", 2), ("validation", 1), ("learner-update", 1), ("store-write", 1),
           ("metrics-write", 1), ("checkpoint-write", 1), ("snapshot-write", 1)]


def _start(*args: str, crash: str | None = None, log: IO | int = subprocess.PIPE
           ) -> subprocess.Popen:
    """In a session of its own: a crash point kills the whole session."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("RAY_ADDRESS", None)
    env.pop(ENV, None)
    if crash:
        env[ENV] = crash
    return subprocess.Popen([EXE, *args], stdout=log, stderr=log, text=True, env=env,
                            start_new_session=True)


def _zeroplay(*args: str, crash: str | None = None) -> subprocess.CompletedProcess:
    proc = _start(*args, crash=crash)
    out, err = proc.communicate(timeout=900)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _run_args(runs: Path, storage: Path, name: str) -> list[str]:
    sets = [f"run.runs_dir={runs}", f"run.storage={storage}", *CONFIG]
    return ["run", "--name", name, "--steps", str(STEPS),
            *[a for s in sets for a in ("--set", s)]]


def _metrics_steps(run: Path) -> list[int]:
    return [json.loads(line)["step"] for line in
            (run / "metrics.jsonl").read_text().splitlines()]


def _counts(run: Path) -> dict[str, object]:
    """What an interrupted run must end with as an uninterrupted one does."""
    with sqlite3.connect(f"file:{run / 'curriculum.sqlite'}?mode=ro", uri=True) as db:
        one = lambda sql: db.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "metrics_steps": _metrics_steps(run),
            "store_steps": [r[0] for r in db.execute("SELECT step FROM steps ORDER BY step")],
            "synthesizer_tasks": one("SELECT COUNT(*) FROM tasks WHERE status = 'valid' AND "
                                     "origin = 'seed-synth'"),
            "attempts_per_step": [r[0] for r in db.execute(
                "SELECT COUNT(*) FROM attempts GROUP BY step ORDER BY step")],
        }


def test_kill_9_at_every_point_of_a_step_then_resume(tmp_path, sandbox_image, request):
    storage, runs = tmp_path / "storage", tmp_path / "runs"
    storage.mkdir()
    run = runs / "crashed"
    ran = []
    # The uninterrupted run to compare with, beside the crashes (a run of its own, with its
    # own Ray instance and storage): most of each short invocation is waiting to start.
    baseline, log = tmp_path / "baseline-storage", tmp_path / "uninterrupted.log"
    baseline.mkdir()
    with log.open("w") as out:  # a file, not a pipe that nobody reads until the end
        uninterrupted = _start(*_run_args(runs, baseline, "uninterrupted"), log=out)
    request.addfinalizer(lambda: uninterrupted.poll() is None and os.killpg(uninterrupted.pid,
                                                                            signal.SIGKILL))

    def crashed(invocation: subprocess.CompletedProcess, point: str) -> None:
        assert invocation.returncode == -9, (point, invocation.stdout + invocation.stderr)
        assert not integrity_problems(run / "curriculum.sqlite"), point
        steps = _metrics_steps(run) if (run / "metrics.jsonl").is_file() else []
        assert steps == list(range(1, len(steps) + 1)), (point, steps)  # each row once
        ran.append((point, steps[-1] if steps else 0))

    crashed(_zeroplay(*_run_args(runs, storage, "crashed"), crash="warm-start:1"),
            "warm-start")
    for n, (point, nth) in enumerate(CRASHES):
        if n == 1:  # a crash in the middle of a line
            with (run / "metrics.jsonl").open("a") as f:
                f.write('{"step": 7, "rew')
        resumed = _zeroplay("run", "--resume", str(run), crash=f"{point}:{nth}")
        crashed(resumed, point)
        if n == 1:
            assert "cut a torn last line" in resumed.stdout + resumed.stderr
        if point == "checkpoint-write":  # the row of the step stored before metrics-write
            assert "from the store" in resumed.stdout + resumed.stderr
    # No crash cost more than the step it hit: each resumed where the last one stopped.
    done = [last for _, last in ran]
    assert done == sorted(done) and done[-1] - done[0] <= len(CRASHES), ran
    finished = _zeroplay("run", "--resume", str(run))
    assert finished.returncode == 0, finished.stdout + finished.stderr

    assert uninterrupted.wait(timeout=900) == 0, log.read_text()[-4000:]
    assert _counts(run) == _counts(runs / "uninterrupted")
    assert _counts(run)["metrics_steps"] == list(range(1, STEPS + 1))

    # A damaged store: restored from the newest whole snapshot, the damaged file kept.
    _damage(run / "curriculum.sqlite")
    restored = _zeroplay("run", "--resume", str(run), "--steps", str(STEPS + 1))
    out = restored.stdout + restored.stderr
    assert restored.returncode == 0, out
    assert "was damaged" in out and "the tasks of 0 step(s) after it were lost" in out, out
    assert list(run.glob("curriculum.sqlite.damaged-*")), "the damaged store is kept"
    assert not integrity_problems(run / "curriculum.sqlite")

    # One more step on a machine that never saw the run: from storage alone.
    fresh = tmp_path / "elsewhere" / "crashed"
    moved = _zeroplay("run", "--resume", str(fresh), "--from-storage", str(storage),
                      "--steps", str(STEPS + 2))
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert not integrity_problems(fresh / "curriculum.sqlite")
    assert _metrics_steps(fresh) == list(range(1, STEPS + 3))
