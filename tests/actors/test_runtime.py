"""`init_ray` starts a runtime of its own when no address is given, even beside a cluster
that `ray start` left running on the machine (which `ray.init()` would otherwise join)."""

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil
import pytest

VENV_BIN = Path(sys.executable).parent

PROBE = """
import ray
from zeroplay.actors.runtime import init_ray
from zeroplay.config import load_config
cfg = load_config(None, ["cluster.local_num_cpus=2"])
assert init_ray(cfg) is True
print("GCS", ray.get_runtime_context().gcs_address)
ray.shutdown()
"""


@pytest.mark.slow
def test_a_local_run_does_not_join_a_cluster_started_on_the_machine():
    temp = Path(tempfile.mkdtemp(prefix="zpr", dir="/tmp"))  # Ray's sockets need short paths
    env = {**os.environ, "RAY_TMPDIR": str(temp)}
    env.pop("RAY_ADDRESS", None)
    ray = str(VENV_BIN / "ray")
    started = subprocess.run([ray, "start", "--head", "--port", "0", "--num-cpus", "1",
                              "--include-dashboard", "false", "--disable-usage-stats",
                              "--node-ip-address", "127.0.0.1"],
                             env=env, capture_output=True, text=True, timeout=120)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        head = (temp / "ray" / "ray_current_cluster").read_text().strip()
        probe = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                               text=True, timeout=180)
        assert probe.returncode == 0, probe.stdout[-2000:] + probe.stderr[-2000:]
        gcs = next(line.split()[1] for line in probe.stdout.splitlines()
                   if line.startswith("GCS"))
        assert gcs != head
    finally:  # this head's processes only: `ray stop` would take every cluster here
        for process in psutil.process_iter(["cmdline"]):
            if str(temp) in " ".join(process.info["cmdline"] or ()):
                with contextlib.suppress(psutil.NoSuchProcess):
                    process.kill()
        shutil.rmtree(temp, ignore_errors=True)
