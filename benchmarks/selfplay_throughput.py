"""End-to-end self-play: the overlapped loop against a synchronous one, and peak memory;
or generation-only rounds over 1, 2, ... rollout actors.

    .venv/bin/python benchmarks/selfplay_throughput.py [--steps 8] [--set KEY=VALUE ...]
    .venv/bin/python benchmarks/selfplay_throughput.py --rollout-actors 1 2 [--steps 4]

Runs `zeroplay run`'s loop twice in one process with the same config and seed: once with
`run.overlap=true` (step t+1 is generated and judged while the learner trains on step t)
and once synchronous (generate, judge, then wait for training, every step). It prints
samples per second of the self-play steps for both, their ratio, and where each step's
time goes. A sampler adds up the memory of every process of the run (driver, Ray
services, actors; PSS, so shared pages count once) and of its sandbox containers (their
cgroup usage) every half second; the peak is the laptop budget (target < 6 GiB).

With `--rollout-actors`, the learner is off: each count gets a fresh local Ray runtime
with 2 CPUs, rollout actors of one CPU (so one torch thread) each, and runs the same
self-play steps (same seed, same seeded curriculum) with the random tiny model; it
prints generated completions per second of the propose and solve stages for each count
and the ratio to one actor.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
from pathlib import Path

import psutil
from common import write_result

from zeroplay.config import load_config
from zeroplay.launch.loop import SelfPlayLoop
from zeroplay.launch.rundir import RunDir
from zeroplay.sandbox.engine import connect
from zeroplay.sandbox.pool import LABEL


class MemorySampler(threading.Thread):
    """Peak of (all processes under this one) + (zeroplay sandbox containers)."""

    def __init__(self, period: float = 0.5):
        super().__init__(daemon=True)
        self.period, self.peak, self.peak_parts = period, 0, (0, 0)
        self.client = connect()
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            procs, containers = self._processes(), self._containers()
            if procs + containers > self.peak:
                self.peak, self.peak_parts = procs + containers, (procs, containers)
            self._halt.wait(self.period)

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def _processes(self) -> int:
        me = psutil.Process()
        total = 0
        for proc in [me, *me.children(recursive=True)]:
            try:
                total += proc.memory_full_info().pss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        return total

    def _containers(self) -> int:
        total = 0
        for c in self.client.containers.list(filters={"label": LABEL}, ignore_removed=True):
            for path in (f"/sys/fs/cgroup/memory/docker/{c.id}/memory.usage_in_bytes",
                         f"/sys/fs/cgroup/system.slice/docker-{c.id}.scope/memory.current"):
                try:
                    total += int(Path(path).read_text())
                    break
                except OSError:
                    continue
        return total


def run_once(overrides: list[str], overlap: bool, root: Path) -> list[dict]:
    cfg = load_config(None, [*overrides, f"run.overlap={str(overlap).lower()}"])
    run = RunDir.create(cfg, root / ("overlap" if overlap else "sync"))
    return SelfPlayLoop(run).run().rows


def generation_rounds(actors: int, steps: int, overrides: list[str], root: Path) -> tuple:
    """Completions and seconds spent in the propose and solve stages of `steps` rounds."""
    import random

    import ray

    from zeroplay.actors.fleet import Fleet
    from zeroplay.curricula.admit import seed_curriculum
    from zeroplay.curricula.store import CurriculumStore
    from zeroplay.selfplay import selfplay_step

    cfg = load_config(None, [f"rollout.num_actors={actors}", "cluster.rollout.num_cpus=1",
                             "cluster.local_num_cpus=2", "cluster.dashboard=false",
                             *overrides])
    path = root / f"actors-{actors}.sqlite"
    with Fleet.on_ray(cfg) as fleet, \
            CurriculumStore.open(path, create=True, run_id="bench") as store:
        threads = ray.get([m.__ray_call__.remote(_torch_threads)
                           for m in fleet.rollouts.group.members])
        seed_curriculum(store, fleet.sandboxes.validate, cfg, n=cfg.curriculum.seed_tasks,
                        heldout=0, seed=cfg.run.seed, run_id="bench")
        completions, seconds = 0, 0.0
        for step in range(1, steps + 1):
            result = selfplay_step(store, fleet.rollouts, fleet.sandboxes, cfg, step=step,
                                   rng=random.Random(step), run_id="bench")
            completions += len(result.samples) + len(result.dropped)
            seconds += result.seconds["propose"] + result.seconds["solve"]
    return completions, seconds, threads


def _torch_threads(_actor) -> int:
    import torch

    return torch.get_num_threads()


def compare_rollout_actors(counts: list[int], steps: int, overrides: list[str]) -> None:
    root = Path(tempfile.mkdtemp(prefix="zeroplay-bench-"))
    rates = {}
    for actors in counts:
        completions, seconds, threads = generation_rounds(actors, steps, overrides, root)
        rates[actors] = completions / seconds
        print(f"{actors} rollout actor(s) (torch threads {threads}): {completions} completions "
              f"in {seconds:.1f} s of generation = {rates[actors]:.2f} completions/s")
    base = rates[counts[0]]
    for actors in counts[1:]:
        print(f"{actors} / {counts[0]} rollout actors, generation throughput: "
              f"{rates[actors] / base:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--rollout-actors", type=int, nargs="+", metavar="N",
                        help="compare generation-only rounds over these actor counts")
    args = parser.parse_args()
    if args.rollout_actors:
        compare_rollout_actors(args.rollout_actors, args.steps,
                               ["curriculum.seed_tasks=40", "run.overlap=false",
                                "rollout.proposals_per_step=8",
                                "rollout.solver_tasks_per_step=8", "sandbox.pool_size=1",
                                *args.set])
        return
    overrides = [f"run.steps={args.steps}", "curriculum.seed_tasks=60",
                 "curriculum.heldout_tasks=10", "learner.warm_start_steps=100",
                 "learner.warm_start_tasks=0", "run.eval_every=0",
                 "rollout.proposer_after_solve_rate=0",
                 "cluster.dashboard=false", *args.set]
    root = Path(tempfile.mkdtemp(prefix="zeroplay-bench-"))
    sampler = MemorySampler()
    sampler.start()
    results = {}
    for overlap in (True, False):
        rows = run_once(overrides, overlap, root)
        seconds = sum(r["seconds"] for r in rows)
        samples = sum(r["samples"] for r in rows)
        stages = {k: statistics.fmean(r["stages"].get(k, 0.0) for r in rows)
                  for k in ("propose", "validate", "solve", "judge", "record", "learn_wait")}
        results[overlap] = (samples, seconds, stages, rows[-1]["learner"])
    sampler.stop()

    for overlap, (samples, seconds, stages, learner) in results.items():
        name = "overlapped " if overlap else "synchronous"
        per_stage = ", ".join(f"{k} {v:.2f}" for k, v in stages.items())
        print(f"{name}: {samples} samples in {seconds:.1f} s = {samples / seconds:.2f} "
              f"samples/s; mean s/step: {per_stage}; learner: {learner['optimizer_step']} "
              f"updates, {learner['dropped_stale']} stale groups dropped")
    fast = results[True][0] / results[True][1]
    slow = results[False][0] / results[False][1]
    procs, containers = sampler.peak_parts
    print(f"overlapped / synchronous samples/s: {fast / slow:.2f} (target >= 1.3)")
    print(f"peak memory of the run: {sampler.peak / 2**30:.2f} GiB (processes "
          f"{procs / 2**30:.2f} GiB PSS, sandbox containers {containers / 2**30:.2f} GiB; "
          "target < 6 GiB)")
    write_result("selfplay_throughput", root, {
        "steps": args.steps, "ratio": fast / slow, "peak_gib": sampler.peak / 2**30,
        "runs": {("overlapped" if overlap else "synchronous"): {
            "samples": samples, "seconds": seconds, "stages": stages}
            for overlap, (samples, seconds, stages, _) in results.items()}})


if __name__ == "__main__":
    main()
