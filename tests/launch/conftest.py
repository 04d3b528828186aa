"""A real Ray head with a job server for the job-submission tests.

Started with `ray start --head --block` in its own temp dir, on free loopback ports
(every port Ray would otherwise take by default, so other Ray instances on the machine
are untouched), and stopped by terminating that process and then killing, by pid, only
its own process tree and processes whose command line names this head's temp dir. Never `ray stop`, which
would stop every Ray instance of the user.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

VENV_BIN = Path(sys.executable).parent


def _free_ports(n: int) -> list[int]:
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


@dataclass(frozen=True)
class RayHead:
    address: str  # the job server (dashboard) URL
    temp_dir: Path
    metrics_port: int


def _processes_of(temp_dir: Path) -> list[psutil.Process]:
    mine = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if any(str(temp_dir) in part for part in proc.info["cmdline"] or ()):
                mine.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return mine


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


@pytest.fixture(scope="session")
def ray_head():
    # Short path: Ray's unix sockets live under the temp dir (107-byte limit).
    temp_dir = Path(tempfile.mkdtemp(prefix="zpj", dir="/tmp"))
    (gcs, dashboard, client, agent_http, agent_grpc, metrics, node_manager, object_manager,
     runtime_env_agent) = _free_ports(9)
    worker_lo = 20000 + (os.getpid() % 200) * 100
    cmd = [
        str(VENV_BIN / "ray"), "start", "--head", "--block", "--disable-usage-stats",
        "--num-cpus", "2", "--node-ip-address", "127.0.0.1",
        "--include-dashboard", "true", "--dashboard-host", "127.0.0.1",
        "--dashboard-port", str(dashboard), "--port", str(gcs),
        "--temp-dir", str(temp_dir), "--ray-client-server-port", str(client),
        "--dashboard-agent-listen-port", str(agent_http),
        "--dashboard-agent-grpc-port", str(agent_grpc), "--metrics-export-port", str(metrics),
        "--node-manager-port", str(node_manager), "--object-manager-port", str(object_manager),
        "--runtime-env-agent-port", str(runtime_env_agent),
        "--min-worker-port", str(worker_lo), "--max-worker-port", str(worker_lo + 99),
    ]
    env = dict(os.environ)
    for key in ("RAY_ADDRESS", "RAY_API_SERVER_ADDRESS"):
        env.pop(key, None)
    # Job entrypoints run `zeroplay ...`: the venv's scripts must be on the head's PATH,
    # as the cluster setup commands arrange on a real cluster.
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    log = open(temp_dir / "ray-start.log", "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)
    address = f"http://127.0.0.1:{dashboard}"
    try:
        _wait_for_job_server(address, proc, temp_dir)
        yield RayHead(address, temp_dir, metrics)
    finally:
        # Workers renamed to ray::<Actor> no longer name the temp dir: take the whole
        # process tree of this `ray start` (job drivers included) before stopping it.
        tree = _descendants(proc.pid)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        for leftover in tree + _processes_of(temp_dir):
            try:
                leftover.kill()
            except psutil.NoSuchProcess:
                pass
        log.close()
        shutil.rmtree(temp_dir, ignore_errors=True)


def _wait_for_job_server(address: str, proc: subprocess.Popen, temp_dir: Path) -> None:
    from zeroplay.errors import ZeroplayError
    from zeroplay.launch.jobs import connect

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"ray start exited {proc.returncode}: "
                        f"{(temp_dir / 'ray-start.log').read_text()[-2000:]}")
        try:
            connect(address)
            return
        except ZeroplayError:
            time.sleep(1)
    pytest.fail(f"the Ray job server at {address} did not come up in 180 s")
