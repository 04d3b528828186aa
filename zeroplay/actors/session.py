"""Bring up the rollout side on Ray and run non-learning self-play rounds.

    with RolloutSession(cfg) as session:          # ray.init, weight store, actors
        result = session.round(store, step=1, rng=rng)

The one place that builds the actor groups from config: a WeightStore, `rollout.num_actors`
RolloutActors named `proposer-<i>` with `cluster.rollout` resources, and one SandboxActor
(`sandbox-<node>`) with `cluster.sandbox` resources. Joins `cluster.address` (or
RAY_ADDRESS) when given, otherwise starts a local Ray runtime, and shuts down only what
it started.
"""

from __future__ import annotations

import os
import random
import socket
import uuid

from zeroplay.actors.ray_actors import RolloutActor, SandboxActor, WeightStore, make_actor
from zeroplay.actors.selfplay import Remote, RoundResult, selfplay_round
from zeroplay.config import Config
from zeroplay.curricula.store import CurriculumStore


class RolloutSession:
    def __init__(self, cfg: Config, cache_dir: str | None = None):
        import ray

        self.cfg = cfg
        self.started_ray = False
        address = cfg.cluster.address or os.environ.get("RAY_ADDRESS")
        if not ray.is_initialized():
            if address:
                ray.init(address=address, namespace=cfg.cluster.namespace)
            else:
                ray.init(num_cpus=cfg.cluster.local_num_cpus, namespace=cfg.cluster.namespace,
                         include_dashboard=False)
                self.started_ray = True
        cfg_json = cfg.model_dump(mode="json")
        weights_name = f"weights-{uuid.uuid4().hex[:8]}"
        self.weights = ray.remote(WeightStore).options(num_cpus=0, name=weights_name).remote()
        self.rollouts = [
            make_actor(RolloutActor, cfg.cluster.rollout, f"proposer-{i}").remote(
                cfg_json, weights_name, cache_dir)
            for i in range(cfg.rollout.num_actors)
        ]
        self.sandbox = make_actor(SandboxActor, cfg.cluster.sandbox,
                                  f"sandbox-{socket.gethostname()}").remote(cfg_json)
        ray.get([a.version.remote() for a in self.rollouts])  # wait until loaded

    def round(self, store: CurriculumStore, step: int, rng: random.Random,
              run_id: str = "") -> RoundResult:
        rollout = self.rollouts[step % len(self.rollouts)]
        return selfplay_round(store, Remote(rollout, self.sandbox), self.cfg, step=step, rng=rng,
                              run_id=run_id)

    def close(self) -> None:
        import ray

        try:
            ray.get(self.sandbox.close.remote(), timeout=60)
        except Exception:  # the actor may be gone already; its containers are labelled
            pass
        for actor in [*self.rollouts, self.sandbox, self.weights]:
            ray.kill(actor)
        if self.started_ray:
            ray.shutdown()

    def __enter__(self) -> RolloutSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
