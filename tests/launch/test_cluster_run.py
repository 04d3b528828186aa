"""A run on a real Ray head (submitted as a Ray Job): a rollout actor killed mid-run is
restarted with current weights and the run completes; the `zeroplay_*` metrics reach the
head's Prometheus endpoint as `ray_zeroplay_*` series."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request

import psutil
import pytest

from zeroplay.launch import jobs

from .conftest import _processes_of

pytestmark = [pytest.mark.docker, pytest.mark.slow]

RUN = ["curriculum.seed_tasks=24", "curriculum.heldout_tasks=6", "learner.warm_start_steps=2",
       "learner.warm_start_tasks=0", "run.eval_every=0", "rollout.proposer_after_solve_rate=0",
       "rollout.max_new_tokens=48", "rollout.proposals_per_step=2",
       "rollout.solver_tasks_per_step=2", "learner.gradient_accumulation_steps=2"]
SERIES = ("ray_zeroplay_step", "ray_zeroplay_sandbox_jobs_total",
          "ray_zeroplay_generation_tokens_total", "ray_zeroplay_policy_version",
          "ray_zeroplay_stage_seconds_bucket", "ray_zeroplay_reward_mean")


def _rows(path):
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _rollout_actor_pids(temp_dir) -> list[int]:
    """RolloutActor worker processes of this head (descendants of its raylet)."""
    pids = []
    for root in _processes_of(temp_dir):
        for proc in root.children(recursive=True):
            try:
                if proc.cmdline() and proc.cmdline()[0].startswith("ray::RolloutActor"):
                    pids.append(proc.pid)
            except psutil.NoSuchProcess:
                continue
    return sorted(set(pids))


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        return resp.read().decode()


def test_run_survives_a_killed_rollout_actor_and_exports_metrics(ray_head, tmp_path):
    client = jobs.connect(ray_head.address)
    spec = jobs.run_job(None, [f"run.runs_dir={tmp_path}", *RUN], name="cluster", steps=6)
    job_id = jobs.submit(client, spec)
    metrics_file = tmp_path / "cluster" / "metrics.jsonl"
    deadline = time.monotonic() + 600
    while not _rows(metrics_file):
        status = str(jobs.job_info(client, job_id).status)
        assert status in ("PENDING", "RUNNING"), jobs.job_logs(client, job_id)[-3000:]
        assert time.monotonic() < deadline, "no step finished in 600 s"
        time.sleep(1)

    pids = _rollout_actor_pids(ray_head.temp_dir)
    assert len(pids) == 1, pids
    os.kill(pids[0], signal.SIGKILL)  # a crash, not a clean exit: Ray restarts the actor
    killed_after = len(_rows(metrics_file))

    found: set[str] = set()
    restarted: set[int] = set()
    while time.monotonic() < deadline and not (set(SERIES) <= found and restarted):
        text = _scrape(ray_head.metrics_port)
        found |= {s for s in SERIES if any(line.startswith(s + "{") or line.startswith(s + " ")
                                           for line in text.splitlines())}
        restarted |= set(_rollout_actor_pids(ray_head.temp_dir)) - set(pids)
        time.sleep(2)
    assert set(SERIES) <= found, set(SERIES) - found
    assert restarted  # a new process serves rollout-0

    info = jobs.wait(client, job_id, timeout_s=max(60.0, deadline - time.monotonic()))
    logs = jobs.job_logs(client, job_id)
    assert str(info.status) == "SUCCEEDED", logs[-3000:]
    rows = _rows(metrics_file)
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5, 6]  # each step recorded once
    # After the restart the actor served published weights again, not the initial ones.
    after = [r for r in rows[killed_after:] if r["policy_version"] is not None]
    assert after and after[-1]["policy_version"] >= 1
