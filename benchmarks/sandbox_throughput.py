"""Sandbox throughput: the warm pool against no isolation and against one `docker run` per job.

    .venv/bin/python benchmarks/sandbox_throughput.py [--jobs 200] [--docker-run-jobs 40]

One run, same jobs, measured side by side (absolute times drift on a shared machine; the
ratios are what to read):

  (a) the warm pool: judged solutions per second through SandboxPool.map
  (b) no isolation: a fresh host interpreter per job (the speed limit for fresh processes)
  (c) naive: one hardened `docker run` per job (measured on a subset; it is slow)
  (d) validation: synthesizer drafts validated per second through the pool

Each job is one solution run on its task's 20-50 tests; honest and failing solutions are
mixed. Also prints the p50/p99 latency of one job on an idle pool and the memory of each
pool container.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import write_result

from zeroplay.config import Config
from zeroplay.sandbox.batch import Draft, judge_many, validate_many
from zeroplay.sandbox.image import SUPERVISOR, build_image
from zeroplay.sandbox.pool import JobResult, SandboxPool
from zeroplay.sandbox.verdicts import verdict_for

# (entry point source, strategy, failing variants)
TASKS = [
    ("def f(xs):\n    return sorted(xs)\n", "st.lists(st.integers(-50, 50), max_size=20)",
     ["def f(xs):\n    return xs\n", "def f(xs):\n    return sorted(xs, reverse=True)\n"]),
    ("def f(xs, k):\n    return [x for x in xs if x > k]\n",
     "st.lists(st.integers(-9, 9), max_size=15), st.integers(-5, 5)",
     ["def f(xs, k):\n    return [x for x in xs if x >= k]\n"]),
    ("def f(s):\n    return s[::-1].upper()\n", "st.text('abcxyz', max_size=12)",
     ["def f(s):\n    return s.upper()\n"]),
    ("def f(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n",
     "st.integers(0, 60)", ["def f(n):\n    return n * (n - 1) // 2\n"]),
    ("def f(d):\n    return sum(v for k, v in d.items() if k % 2 == 0)\n",
     "st.dictionaries(st.integers(0, 20), st.integers(-5, 5), max_size=8)",
     ["def f(d):\n    return sum(d.values())\n"]),
    ("def f(xs):\n    return max(xs) - min(xs) if xs else 0\n",
     "st.lists(st.integers(-1000, 1000), max_size=20)",
     ["def f(xs):\n    return max(xs) - min(xs)\n"]),
    ("def f(s, c):\n    return s.count(c)\n",
     "st.text('aab', max_size=15), st.sampled_from(['a', 'b'])",
     ["def f(s, c):\n    return len(s) - s.count(c)\n"]),
    ("def f(xs):\n    out = []\n    for x in xs:\n        if x not in out:\n"
     "            out.append(x)\n    return out\n", "st.lists(st.integers(0, 5), max_size=20)",
     ["def f(xs):\n    return sorted(set(xs))\n"]),
    ("def f(a, b):\n    return (a // b, a % b) if b else None\n",
     "st.integers(-100, 100), st.integers(-7, 7)",
     ["def f(a, b):\n    return (a // b, a % b)\n"]),
    ("def f(xs):\n    return [sum(xs[:i + 1]) for i in range(len(xs))]\n",
     "st.lists(st.integers(-9, 9), max_size=20)",
     ["def f(xs):\n    return [sum(xs[:i]) for i in range(len(xs))]\n"]),
]

RUNNER = (  # loads the supervisor the way the image does: codec.py importable beside it
    "import importlib.util, json, os, sys\n"
    "sys.path.insert(0, os.path.dirname(sys.argv[1]))\n"
    "spec = importlib.util.spec_from_file_location('supervisor', sys.argv[1])\n"
    "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
    "print(json.dumps(m._run_job(json.loads(sys.stdin.read()))))\n"
)
DOCKER_RUNNER = (
    "import json, sys; sys.path.insert(0, '/opt/zeroplay'); from supervisor import _run_job; "
    "print(json.dumps(_run_job(json.loads(sys.argv[1]))))"
)


def build_jobs(pool, cfg, n_jobs: int, seed: int):
    """Validate the tasks, then mix honest and failing solutions into n_jobs candidates."""
    cfg = cfg.model_copy(update={"num_tests": 50})
    drafts = [Draft("f", ref, strategy) for ref, strategy, _ in TASKS]
    validations = validate_many(pool, drafts, cfg, seed=seed)
    bad = [d for d, v in zip(drafts, validations, strict=True) if not v.valid]
    if bad:
        sys.exit(f"benchmark tasks failed validation: {bad}")
    rng = random.Random(seed)
    candidates = []
    for i in range(n_jobs):
        (ref, _, failing), validation = TASKS[i % len(TASKS)], validations[i % len(TASKS)]
        code = ref if rng.random() < 0.5 else rng.choice(failing)
        n_tests = 20 + (7 * i) % 31  # 20-50 tests per job
        candidates.append((code, "f", validation.tests[:n_tests]))
    return candidates


def run_validation(pool, cfg, n: int, seed: int) -> float:
    """Synthesizer drafts validated per second (each reference runs twice)."""
    from zeroplay.curricula.synth import synthesize

    drafts = [Draft(d.entry_point, d.reference, d.strategy)
              for d in synthesize(n, seed=seed, max_ops=3, run_id="bench")]
    start = time.perf_counter()
    validate_many(pool, drafts, cfg, seed=seed)
    return n / (time.perf_counter() - start)


def run_pool(pool, cfg, candidates):
    start = time.perf_counter()
    verdicts = judge_many(pool, candidates, cfg)
    return time.perf_counter() - start, [v.status for v in verdicts]


def run_unisolated(candidates, workers: int):
    def one(candidate):
        code, entry, tests = candidate
        job = {"code": code, "entry_point": entry, "inputs": [t.args for t in tests]}
        out = subprocess.run([sys.executable, "-I", "-S", "-c", RUNNER, str(SUPERVISOR)],
                             input=json.dumps(job), capture_output=True, text=True, check=True)
        return json.loads(out.stdout)

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as ex:
        results = list(ex.map(one, candidates))
    return time.perf_counter() - start, results


def run_docker_per_job(client, image, cfg, candidates, workers: int):
    from docker.types import LogConfig

    def one(candidate):
        code, entry, tests = candidate
        job = json.dumps({"code": code, "entry_point": entry, "inputs": [t.args for t in tests]})
        return client.containers.run(
            image, ["python3", "-S", "-c", DOCKER_RUNNER, job], remove=True,
            network_mode="none", read_only=True, user="10001:10001", cap_drop=["ALL"],
            security_opt=["no-new-privileges"], pids_limit=cfg.pids_limit,
            mem_limit=f"{cfg.memory_mb}m", memswap_limit=f"{cfg.memory_mb}m",
            nano_cpus=int(cfg.cpus * 1e9), init=True, ipc_mode="none",
            tmpfs={"/tmp": f"rw,noexec,nosuid,nodev,size={cfg.tmpfs_mb}m"},
            log_config=LogConfig(type=LogConfig.types.JSON),
        )

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as ex:
        list(ex.map(one, candidates))
    return time.perf_counter() - start


def latencies(pool, cfg, candidates, n: int) -> list[float]:
    times = []
    for candidate in candidates[:n]:
        start = time.perf_counter()
        judge_many(pool, [candidate], cfg)
        times.append(time.perf_counter() - start)
    return times


def container_memory_mib(pool) -> list[float]:
    out = []
    for worker in list(pool._live):
        stats = worker.container.stats(stream=False)["memory_stats"]
        usage = stats.get("usage", 0) - stats.get("stats", {}).get("cache", 0)
        out.append(usage / 2**20)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--docker-run-jobs", type=int, default=40)
    parser.add_argument("--drafts", type=int, default=200, help="synthesizer drafts to validate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()

    from zeroplay.config import load_config

    cfg = load_config(None, args.set) if args.set else Config()
    sandbox = cfg.sandbox
    image = build_image(sandbox).tag
    with SandboxPool(sandbox, image) as pool:
        candidates = build_jobs(pool, sandbox, args.jobs, args.seed)
        n_tests = [len(c[2]) for c in candidates]
        judge_many(pool, candidates[: 2 * sandbox.pool_size], sandbox)  # warm up
        pool_s, statuses = run_pool(pool, sandbox, candidates)
        plain_s, plain_results = run_unisolated(candidates, sandbox.pool_size)
        subset = candidates[: args.docker_run_jobs]
        docker_s = run_docker_per_job(pool.client, image, sandbox, subset, sandbox.pool_size)
        lat = latencies(pool, sandbox, candidates, 100)
        memory = container_memory_mib(pool)
        d = run_validation(pool, sandbox, args.drafts, args.seed)

    a = len(candidates) / pool_s
    b = len(candidates) / plain_s
    c = len(subset) / docker_s
    lat_ms = sorted(x * 1000 for x in lat)
    p99 = lat_ms[min(len(lat_ms) - 1, int(0.99 * len(lat_ms)))]
    print(f"jobs: {len(candidates)} ({statuses.count('pass')} pass, "
          f"{len(statuses) - statuses.count('pass')} fail), tests per job "
          f"{min(n_tests)}-{max(n_tests)}, pool_size {sandbox.pool_size}, "
          f"concurrency {sandbox.pool_size} for every method")
    print(f"(a) warm pool          {a:8.1f} solutions/s")
    print(f"(b) no isolation       {b:8.1f} solutions/s  (fresh host interpreter per job)")
    print(f"(c) docker run per job {c:8.1f} solutions/s  (on {len(subset)} of the jobs)")
    print(f"(d) validation         {d:8.1f} drafts/s  (synthesizer drafts, reference run twice)")
    print(f"a/b = {a / b:.2f}   (target >= 1.0)")
    print(f"a/c = {a / c:.1f}   (target >= 20)")
    print(f"one job on an idle pool: p50 {statistics.median(lat_ms):.1f} ms, p99 {p99:.1f} ms")
    print("memory per container: " + ", ".join(f"{m:.1f} MiB" for m in memory))
    plain_statuses = [
        verdict_for(JobResult("ok", results=r.get("results"), load_error=r.get("load_error")),
                    cand[2], sandbox).status
        for r, cand in zip(plain_results, candidates, strict=True)
    ]
    agree = sum(x == y for x, y in zip(statuses, plain_statuses, strict=True))
    print(f"check: the pool and the unisolated runs agree on {agree}/{len(candidates)} verdicts")
    write_result("sandbox_throughput", Path("runs/bench-sandbox"), {
        "jobs": len(candidates), "pool_per_s": a, "unisolated_per_s": b,
        "docker_run_per_s": c, "validation_drafts_per_s": d,
        "latency_ms": {"p50": statistics.median(lat_ms), "p99": p99},
        "container_mib": memory, "verdicts_agree": agree})

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
