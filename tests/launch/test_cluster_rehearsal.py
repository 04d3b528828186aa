"""Cluster rehearsal: configs/cluster-h200-h20.yaml, submitted with `zeroplay submit`, runs
on a Ray cluster of separate `ray start` nodes on 127.0.0.1 shaped like
configs/ray-cluster.yaml, loses a rollout node mid-run, finishes, and is resumed from
another node's working directory out of `run.storage`.

Nodes: a CPU head (job server, the job's driver), two rollout nodes and a learner node
whose GPUs are stood in for by logical ones with the resource Ray gives real ones
(`accelerator_type:H200`, `accelerator_type:H20`), and a sandbox node offering
`zeroplay_sandbox`. Each node has its own Ray temp dir, where the job's working
directory is unpacked per node, and its own cwd (where the workers of a driver that is
not a job run): the driver, the learner workers and the rollout actors never share a
directory, so a checkpoint reaches another node only through `run.storage`.

The scenario, on one cluster: the job runs 8 steps; once a step's row shows a version
that reached both rollout actors, every process of the node serving rollout-1 is killed
(the node goes, its actor with it; no other node has a free H200, so the actor cannot
come back), and the run goes on with rollout-0 and finishes. Then the lost node is
replaced and `zeroplay run --resume --from-storage`, started from the sandbox node's
working directory in a shell without Ray's auth mode set, goes on to step 9 from
checkpoint step-8.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import psutil
import pytest
from typer.testing import CliRunner

from zeroplay.launch import jobs
from zeroplay.launch.cli import app

from .conftest import VENV_BIN, _descendants, _free_ports, _processes_of, _wait_for_job_server

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "configs" / "cluster-h200-h20.yaml"
NAME, STEPS, RESUMED_STEPS = "rehearsal", 8, 9
KEPT = [4, 6, 8]  # checkpoints every 2 steps and at the end, the newest 3 kept
# Everything the run changes in configs/cluster-h200-h20.yaml, and why.
OVERRIDES = [
    # the tiny model on CPU, one core per actor (the nodes' CPUs are logical)
    "policy.model=tiny", "policy.dtype=float32", "policy.device=cpu",
    "cluster.rollout.num_cpus=1", "cluster.learner.num_cpus=1",
    # one rollout actor per rollout node, a learner group of two on the learner node
    "rollout.num_actors=2", "cluster.learner.num_workers=2",
    # small sizes: a round is 2 solver prompts x 2 completions = 1 optimizer step of 2
    # rows per worker, published at once; no held-out evaluation, so no proposer
    "curriculum.seed_tasks=8", "curriculum.heldout_tasks=2", "sandbox.pool_size=2",
    "rollout.proposals_per_step=0", "rollout.solver_tasks_per_step=2",
    "rollout.num_generations=2", "rollout.max_new_tokens=32", "rollout.max_prompt_tokens=768",
    "learner.per_device_train_batch_size=2", "learner.gradient_accumulation_steps=1",
    "learner.sync_every=1", "learner.checkpoint_every=2", "run.eval_every=0",
    # a barely trained policy's groups all fail: train on them anyway, so every round
    # publishes a version
    "rollout.dynamic_sampling=false",
]
# What each node type offers (configs/ray-cluster.yaml's, with fewer of each), and the
# nodes of the rehearsal (no name a prefix of another: the processes of a node are
# found by its temp dir).
SHAPES = {
    "head": ["--num-cpus", "1"],
    "h200": ["--num-cpus", "1", "--num-gpus", "1", "--resources", '{"accelerator_type:H200": 1}'],
    "h20": ["--num-cpus", "2", "--num-gpus", "2", "--resources", '{"accelerator_type:H20": 1}'],
    "cpu-sandbox": ["--num-cpus", "1", "--resources", '{"zeroplay_sandbox": 1}'],
}
NODES = {"head": "head", "rollout1": "h200", "rollout2": "h200", "learner": "h20",
         "sandbox": "cpu-sandbox"}
runner = CliRunner()


@dataclass
class Node:
    name: str
    temp_dir: Path  # its Ray temp dir: sessions, sockets, the job's unpacked working dir
    cwd: Path  # where its `ray start` runs
    proc: subprocess.Popen
    log: IO

    def job_dir(self) -> Path | None:
        """This node's copy of the job's working directory, once unpacked."""
        unpacked = self.temp_dir / "session_latest/runtime_resources/working_dir_files"
        found = sorted(p for p in unpacked.glob("*") if p.is_dir())
        return found[0] if found else None

    def processes(self) -> list[psutil.Process]:
        """This node's Ray processes that name its temp dir (workers renamed ray::<Actor>
        no longer do)."""
        return [p for p in _processes_of(self.temp_dir)
                if any(f"{self.temp_dir}/" in part for part in p.info["cmdline"] or ())]

    def raylet(self) -> psutil.Process:
        return next(p for p in self.processes() if Path(p.info["cmdline"][0]).name == "raylet")

    def node_id(self) -> str:
        flag = next(a for a in self.raylet().info["cmdline"] if a.startswith("--node_id="))
        return flag.split("=", 1)[1]


@dataclass
class Cluster:
    base: Path
    address: str  # the job server
    gcs: str
    nodes: dict[str, Node]
    spawned: int = 0
    orphans: list[psutil.Process] = field(default_factory=list)  # killed with the head

    def start(self, name: str, node_type: str) -> Node:
        """A node `name` of `node_type` (SHAPES), joining the head."""
        self.spawned += 1
        node = _start_node(self.base, name, SHAPES[node_type], self.spawned, head=self.gcs)
        self.nodes[name] = node
        return node


def _start_node(base: Path, name: str, shape: list[str], index: int, head: str | None = None,
                head_ports: tuple[int, int, int] | None = None) -> Node:
    # Short paths: Ray's unix sockets live under the temp dir (107-byte limit).
    temp_dir, cwd = base / f"t-{name}", base / name
    temp_dir.mkdir()
    cwd.mkdir()
    manager, objects, metrics, agent_http, agent_grpc, runtime_env = _free_ports(6)
    worker_lo = _worker_ports(index)
    cmd = [str(VENV_BIN / "ray"), "start", "--block", "--disable-usage-stats",
           "--node-ip-address", "127.0.0.1", "--temp-dir", str(temp_dir),
           "--node-manager-port", str(manager), "--object-manager-port", str(objects),
           "--metrics-export-port", str(metrics), "--dashboard-agent-listen-port",
           str(agent_http), "--dashboard-agent-grpc-port", str(agent_grpc),
           "--runtime-env-agent-port", str(runtime_env), "--min-worker-port", str(worker_lo),
           "--max-worker-port", str(worker_lo + 99), *shape]
    if head_ports is not None:
        gcs, dashboard, client = head_ports
        cmd += ["--head", "--port", str(gcs), "--include-dashboard", "true",
                "--dashboard-host", "127.0.0.1", "--dashboard-port", str(dashboard),
                "--ray-client-server-port", str(client)]
    else:
        cmd += ["--address", head]
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS",
                                                            "RAY_API_SERVER_ADDRESS")}
    # `zeroplay` for the job's entrypoint, as the cluster's setup commands arrange.
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    log = open(base / f"{name}.log", "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                            start_new_session=True)
    return Node(name, temp_dir, cwd, proc, log)


def _worker_ports(index: int) -> int:
    """The first of 100 worker ports for node `index`: below the kernel's ephemeral range,
    where _free_ports draws every other port, so the two never meet (a node whose own
    port fell in its worker range would refuse to start), and apart from the ports of
    conftest's head in this session."""
    ranges = Path("/proc/sys/net/ipv4/ip_local_port_range")
    ephemeral = int(ranges.read_text().split()[0]) if ranges.is_file() else 32768
    blocks = [b for b in range((ephemeral - 20000) // 100) if b != os.getpid() % 200]
    return 20000 + blocks[(os.getpid() + 1 + index) % len(blocks)] * 100


def _stop(node: Node, extra: list[psutil.Process] = ()) -> None:
    """Stop a node by its own processes only (never `ray stop`)."""
    tree = _descendants(node.proc.pid)
    if node.proc.poll() is None:
        node.proc.send_signal(signal.SIGTERM)
        try:
            node.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            node.proc.kill()
    for leftover in [*tree, *extra, *node.processes()]:
        try:
            leftover.kill()
        except psutil.NoSuchProcess:
            pass
    node.log.close()


def _wait_for_nodes(cluster: Cluster, names: list[str]) -> None:
    """Until each named node is up and the cluster lists it alive."""
    from ray.util.state import list_nodes

    deadline = time.monotonic() + 240
    while True:
        for name in names:
            node = cluster.nodes[name]
            assert node.proc.poll() is None, (cluster.base / f"{name}.log").read_text()[-3000:]
        # a dead node is still listed: Ray calls the filtered-out rows "missing output"
        alive = {n.node_id for n in list_nodes(address=cluster.address, limit=1000,
                                               filters=[("state", "=", "ALIVE")],
                                               raise_on_missing_output=False)}
        try:
            if {cluster.nodes[name].node_id() for name in names} <= alive:
                return
        except StopIteration:  # a raylet not started yet
            pass
        assert time.monotonic() < deadline, f"nodes {names} not all up after 240 s"
        time.sleep(1)


@pytest.fixture(scope="module")
def cluster():
    base = Path(tempfile.mkdtemp(prefix="zpr", dir="/tmp"))
    gcs, dashboard, client = _free_ports(3)
    head = _start_node(base, "head", SHAPES["head"], 0, head_ports=(gcs, dashboard, client))
    made = Cluster(base, f"http://127.0.0.1:{dashboard}", f"127.0.0.1:{gcs}", {"head": head})
    try:
        _wait_for_job_server(made.address, head.proc, head.temp_dir)
        for name, node_type in NODES.items():
            if name != "head":
                made.start(name, node_type)
        _wait_for_nodes(made, list(made.nodes))
        yield made
    finally:
        for node in reversed(list(made.nodes.values())):
            _stop(node, made.orphans if node.name == "head" else [])
        shutil.rmtree(base, ignore_errors=True)


def _rows(path: Path | None) -> list[dict]:
    if path is None or not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _run_dir(node: Node) -> Path | None:
    """The run directory in this node's copy of the job's working directory."""
    job_dir = node.job_dir()
    return job_dir / "runs" / NAME if job_dir else None


def _metrics(node: Node) -> list[dict]:
    run_dir = _run_dir(node)
    return _rows(run_dir / "metrics.jsonl") if run_dir else []


def _placement(address: str) -> dict[str, str]:
    """Actor name -> node id, for the run's live actors."""
    from ray.util.state import list_actors

    return {a.name: a.node_id for a in list_actors(
        address=address, filters=[("state", "=", "ALIVE"), ("ray_namespace", "=", "zeroplay")],
        limit=1000) if a.name}


def _complete(storage: Path, area: str, mark: str) -> list[int]:
    root = storage / NAME / area
    return sorted(int(p.name.removeprefix("step-")) for p in root.glob("step-*")
                  if (p / mark).is_file())


def test_cluster_config_survives_a_lost_node_and_resumes_from_storage(cluster, tmp_path):
    began = time.monotonic()
    storage = tmp_path / "storage"
    storage.mkdir()
    client = jobs.connect(cluster.address)
    args = ["submit", "--address", cluster.address, "--config", str(CONFIG), "--name", NAME,
            "--steps", str(STEPS), "--set", f"run.storage={storage}"]
    for item in OVERRIDES:
        args += ["--set", item]
    submitted = runner.invoke(app, args, env={"RAY_ADDRESS": None, "RAY_API_SERVER_ADDRESS": None})
    assert submitted.exit_code == 0, submitted.output
    job_id = submitted.stdout.split("submitted job ")[1].split()[0]
    head = cluster.nodes["head"]
    node_of = {cluster.nodes[name].node_id(): name for name in NODES}

    # --- until a version reached both rollout actors: placement by node type -----------
    deadline = time.monotonic() + 900
    while not any(r["learner"]["published"] for r in _metrics(head)):
        status = str(jobs.job_info(client, job_id).status)
        assert status in ("PENDING", "RUNNING"), jobs.job_logs(client, job_id)[-4000:]
        assert time.monotonic() < deadline, "no version published in 900 s"
        time.sleep(0.2)
    placed = {name: node_of.get(node, node) for name, node in _placement(cluster.address).items()}
    rollouts = {placed["rollout-0"], placed["rollout-1"]}
    assert rollouts == {"rollout1", "rollout2"}, placed  # one per rollout node
    assert placed["learner"] == placed["learner-1"] == "learner", placed
    assert [n for a, n in placed.items() if a.startswith("sandbox-")] == ["sandbox"], placed
    assert [n for a, n in placed.items() if a.startswith("weights-")] == ["head"], placed

    # --- a rollout node is lost mid-run ----------------------------------------------------
    victim = cluster.nodes[placed["rollout-1"]]
    survivor = "rollout-0"
    doomed = [victim.raylet(), *_descendants(victim.proc.pid)]
    cluster.orphans.extend(doomed)
    killed_after = len(_metrics(head))
    for process in doomed:  # the whole node at once, as when its machine goes: raylet,
        with contextlib.suppress(psutil.NoSuchProcess):  # agents and the actor's worker
            process.kill()
    info = jobs.wait(client, job_id, timeout_s=max(60.0, deadline - time.monotonic()))
    logs = jobs.job_logs(client, job_id)
    assert str(info.status) == "SUCCEEDED", logs[-4000:]
    first_run = time.monotonic() - began

    rows = _metrics(head)
    assert [r["step"] for r in rows] == list(range(1, STEPS + 1))  # each step recorded once
    assert killed_after < STEPS - 1, "the node was lost too late to show anything"
    # Every round's prompts were answered once; before the loss by both actors, after it
    # by the one left, with the lost one out of service in the row.
    assert all(sum(r["rollout"]["prompts"].values()) == 2 for r in rows), rows
    assert all(min(r["rollout"]["prompts"].values()) > 0 and r["rollout"]["away"] == []
               for r in rows[:killed_after]), rows[:killed_after]
    for r in rows[killed_after + 1:]:
        assert r["rollout"] == {"prompts": {survivor: 2, "rollout-1": 0},
                                "away": ["rollout-1"]}, r
    # Each published version reached the rollout actors over the collective, bit for bit:
    # both until the loss, the one left from then on (a broadcast the loss broke went
    # through the object store instead).
    published = [p for r in rows for p in r["learner"]["published"]]
    versions = [p["version"] for p in published]
    assert versions == list(range(1, len(versions) + 1)), versions
    assert all(set(p["received"].values()) == {p["digest"]}
               for p in published if p["via"] == "collective"), published
    assert [p["via"] for p in published].count("object_store") <= 1, published
    lost = next(i for i, p in enumerate(published) if "rollout-1" not in p["received"])
    assert lost >= len([p for r in rows[:killed_after] for p in r["learner"]["published"]]) > 0
    assert all(set(p["received"]) == {"rollout-0", "rollout-1"} for p in published[:lost])
    assert lost < len(published) and \
        all(set(p["received"]) == {survivor} for p in published[lost:]), published
    assert "actor rollout-1 failed during" in logs

    # Checkpoints landed in run.storage; each node kept to its own directory.
    assert _complete(storage, "checkpoints", "zeroplay_state.json") == KEPT
    assert _complete(storage, "snapshots", "snapshot.json") == KEPT
    learner_dir = _run_dir(cluster.nodes["learner"])
    assert sorted(int(p.name[5:]) for p in (learner_dir / "checkpoints").glob("step-*")) == KEPT
    assert not list((_run_dir(head) / "checkpoints").glob("step-*"))  # the driver's node
    assert not (learner_dir / "metrics.jsonl").exists()
    rollout_node = cluster.nodes[placed["rollout-0"]]
    assert rollout_node.job_dir() is not None and not (rollout_node.job_dir() / "runs").exists()

    # --- the lost node is replaced; resume from another node's working directory -----------
    cluster.start("rollout3", "h200")
    _wait_for_nodes(cluster, ["rollout3"])
    elsewhere = cluster.nodes["sandbox"].cwd
    # A user's shell: no Ray address, and no auth mode (which only `ray start` sets).
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS",
                                                            "RAY_API_SERVER_ADDRESS",
                                                            "RAY_AUTH_MODE")}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    resumed = subprocess.run(
        [str(VENV_BIN / "zeroplay"), "run", "--resume", f"runs/{NAME}", "--from-storage",
         str(storage), "--steps", str(RESUMED_STEPS), "--address", cluster.gcs],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    assert f"starting the learner from step-{STEPS}" in resumed.stderr, resumed.stderr[-4000:]
    again = _rows(elsewhere / "runs" / NAME / "metrics.jsonl")
    assert [r["step"] for r in again] == list(range(1, RESUMED_STEPS + 1))
    assert again[:STEPS] == rows  # restored from storage as recorded
    new = again[-1]
    assert sorted(new["rollout"]["prompts"]) == ["rollout-0", "rollout-1"]
    assert new["rollout"]["away"] == [] and min(new["rollout"]["prompts"].values()) > 0
    fresh = new["learner"]["published"]
    assert fresh and fresh[0]["version"] > versions[-1]
    assert all(p["via"] == "collective" and set(p["received"]) == {"rollout-0", "rollout-1"}
               and set(p["received"].values()) == {p["digest"]} for p in fresh), fresh
    assert _complete(storage, "checkpoints", "zeroplay_state.json")[-1] == RESUMED_STEPS
    # The learner (no job now: it works in its node's own directory) took step-8 there.
    taken = cluster.nodes["learner"].cwd / "runs" / NAME / "checkpoints"
    assert {f"step-{STEPS}", f"step-{RESUMED_STEPS}"} <= {p.name for p in taken.glob("step-*")}
    assert not (elsewhere / "runs" / NAME / "checkpoints").exists()
    print(f"rehearsal: first run (5 nodes, node lost after step {killed_after}) "
          f"{first_run:.0f} s; all with the resume {time.monotonic() - began:.0f} s")

