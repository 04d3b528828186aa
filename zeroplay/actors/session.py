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

import math
import os
import random
import socket
import uuid

from zeroplay.actors.ray_actors import (
    RolloutActor,
    SandboxActor,
    WeightStore,
    check_capacity,
    make_actor,
    role_specs,
)
from zeroplay.actors.selfplay import Remote, RoundResult, selfplay_round
from zeroplay.config import Config
from zeroplay.curricula.store import CurriculumStore

# Actor logs reach the driver: keep library deprecation notices and data progress bars out.
QUIET_WORKERS = {"env_vars": {"PYTHONWARNINGS": "ignore::FutureWarning,ignore::UserWarning",
                              "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
                              "TRANSFORMERS_VERBOSITY": "error"}}


def init_ray(cfg: Config, *, with_learner: bool = False) -> bool:
    """Join `cluster.address` (or RAY_ADDRESS), else start a local runtime with enough
    logical CPUs for the actors; check that they can be placed. True if it started one."""
    import ray

    if ray.is_initialized():  # the caller's runtime: only warn about room
        check_capacity(cfg, with_learner=with_learner, strict=False)
        return False
    address = cfg.cluster.address or os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, namespace=cfg.cluster.namespace, runtime_env=QUIET_WORKERS)
    else:
        demand = sum(s.num_cpus for _, s in role_specs(cfg, with_learner=with_learner))
        num_cpus = cfg.cluster.local_num_cpus or max(os.cpu_count() or 1, math.ceil(demand))
        ray.init(num_cpus=num_cpus, namespace=cfg.cluster.namespace,
                 include_dashboard=cfg.cluster.dashboard, dashboard_host="127.0.0.1",
                 runtime_env=QUIET_WORKERS)
    try:
        check_capacity(cfg, with_learner=with_learner, strict=not address)
    except Exception:
        if not address:
            ray.shutdown()
        raise
    return not address


class RolloutSession:
    def __init__(self, cfg: Config, cache_dir: str | None = None, with_learner: bool = False):
        """`with_learner`: also make room for the learner actor the caller will start."""
        import ray

        self.cfg = cfg
        self.started_ray = init_ray(cfg, with_learner=with_learner)
        cfg_json = cfg.model_dump(mode="json")
        self.weights_name = f"weights-{uuid.uuid4().hex[:8]}"
        self.weights = ray.remote(WeightStore).options(num_cpus=0,
                                                       name=self.weights_name).remote()
        self.rollout_names = [f"proposer-{i}" for i in range(cfg.rollout.num_actors)]
        self.rollouts = [
            make_actor(RolloutActor, cfg.cluster.rollout, name).remote(
                cfg_json, self.weights_name, cache_dir)
            for name in self.rollout_names
        ]
        self.sandbox = make_actor(SandboxActor, cfg.cluster.sandbox,
                                  f"sandbox-{socket.gethostname()}").remote(cfg_json)
        ray.get([a.version.remote() for a in self.rollouts])  # wait until loaded

    def round(self, store: CurriculumStore, step: int, rng: random.Random,
              run_id: str = "") -> RoundResult:
        return selfplay_round(store, self.remote(step), self.cfg, step=step, rng=rng,
                              run_id=run_id)

    def remote(self, step: int) -> Remote:
        """The actors that serve `step` (rollout actors take turns)."""
        return Remote(self.rollouts[step % len(self.rollouts)], self.sandbox)

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
