"""A run on a real Ray head (submitted as a Ray Job): a rollout actor killed mid-run is
restarted with current weights and the run completes; the `zeroplay_*` metrics reach the
head's Prometheus endpoint as `ray_zeroplay_*` series, and a real Prometheus started by
`zeroplay monitor` answers every panel query of the Grafana dashboard with data."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import psutil
import pytest

from zeroplay.launch import jobs

from .conftest import VENV_BIN, _free_ports, _processes_of

pytestmark = [pytest.mark.docker, pytest.mark.slow]

# Besides being short, the run makes every dashboard counter fire (Ray exports a counter
# only once it has grown) and grow after it first appears (a rate needs an increase):
# held-out evaluation, KL (beta > 0), container recycling, sandbox jobs every step (fresh
# synthesizer tasks: a barely trained policy writes little to judge), and stale groups
# (an optimizer step per group, published at once, with no staleness allowed: a round's
# second group is dropped; with beta > 0 the proposer's groups of equal rewards are
# trained on, for their KL term).
RUN = ["curriculum.seed_tasks=24", "curriculum.heldout_tasks=6", "learner.warm_start_steps=2",
       "learner.warm_start_proposer_steps=2", "learner.warm_start_tasks=0", "run.eval_every=3",
       "rollout.proposer_after_solve_rate=0", "rollout.max_new_tokens=48", "rollout.proposals_per_step=2",
       "rollout.solver_tasks_per_step=2", "learner.gradient_accumulation_steps=1",
       "learner.beta=0.04", "sandbox.recycle_after_jobs=20", "run.overlap=false",
       "learner.max_staleness=0", "curriculum.fresh_tasks_per_step=2"]
DASHBOARD = Path(__file__).resolve().parents[2] / "configs" / "grafana" / "zeroplay-dashboard.json"
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


@pytest.fixture
def prometheus(ray_head, tmp_path):
    """`zeroplay monitor` on a free loopback port, scraping the test head every 2 s."""
    (port,) = _free_ports(1)
    log = open(tmp_path / "prometheus.log", "w")
    proc = subprocess.Popen(
        [str(VENV_BIN / "zeroplay"), "monitor", "--ray-temp-dir", str(ray_head.temp_dir),
         "--port", str(port), "--data", str(tmp_path / "prometheus"),
         "--scrape-interval", "2s"], stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "prometheus.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "Prometheus not ready in 60 s"
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _panel_queries() -> list[tuple[str, str]]:
    """(panel title, expression) for every target; Grafana's `$__rate_interval` becomes a
    window that holds several of Ray's 10 s metric reports."""
    dashboard = json.loads(DASHBOARD.read_text())
    return [(p["title"], t["expr"].replace("$__rate_interval", "1m"))
            for p in dashboard["panels"] if p["type"] != "row" for t in p["targets"]]


def _has_data(prometheus: str, expr: str, start: float, end: float) -> bool:
    query = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": 2})
    with urllib.request.urlopen(f"{prometheus}/api/v1/query_range?{query}", timeout=30) as r:
        reply = json.loads(r.read())
    assert reply["status"] == "success", (expr, reply)
    return any(math.isfinite(float(value)) for series in reply["data"]["result"]
               for _, value in series["values"])


def _series(prometheus: str) -> list[str]:
    """The zeroplay series Prometheus holds (for a failure's message)."""
    query = urllib.parse.urlencode({"match[]": '{__name__=~"ray_zeroplay_.*"}'})
    with urllib.request.urlopen(f"{prometheus}/api/v1/label/__name__/values?{query}",
                                timeout=30) as reply:
        return json.loads(reply.read())["data"]


def test_run_survives_a_killed_rollout_actor_and_exports_metrics(ray_head, prometheus,
                                                                 tmp_path):
    client = jobs.connect(ray_head.address)
    started = time.time()
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

    # Every panel of the dashboard has data in Prometheus over the job's window (the
    # last reports may still be on their way: a 10 s report, a 2 s scrape).
    missing = _panel_queries()
    deadline = time.monotonic() + 60
    while missing and time.monotonic() < deadline:
        missing = [(title, expr) for title, expr in missing
                   if not _has_data(prometheus, expr, started, time.time())]
        time.sleep(0 if not missing else 3)
    assert not missing, (missing, _series(prometheus))
