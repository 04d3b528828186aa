"""The rollout side of a run as two typed groups: policy copies that generate, sandboxes that judge.

    with Fleet.on_ray(cfg, cache_dir) as fleet:             # joins or starts Ray
        outs = fleet.rollouts.generate(prompts, n=4, role="solver")   # over every actor
        verdicts = fleet.sandboxes.judge(candidates)        # over every sandbox node
    with Fleet.in_process(cfg, pool, cache_dir) as fleet:   # the same calls, no Ray

`Rollouts` shards prompts evenly over `rollout.num_actors` RolloutActors (named
`rollout-<i>`, `cluster.rollout` resources) and renumbers each completion's
`prompt_index` to the caller's prompt list; `take_record()` says how many prompts each
answered since it was last asked, and which are out of service (failed, not back: their
prompts went to the others). `Sandboxes` shards drafts and candidates over one
SandboxActor per node that offers `cluster.sandbox`'s resources. Results always come
back in input order. On Ray a WeightStore (named `weights-<id>`) holds the newest
published weights for actors that restart; it lives on the driver's node, so that losing
any rollout node leaves it. `close` removes what the fleet started, and shuts Ray down
only if it started it.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from typing import Any

from zeroplay.actors.group import ActorGroup
from zeroplay.config import Config
from zeroplay.handoff import Completion, Validation, Verdict

Messages = list[dict[str, str]]


class Rollouts:
    """Generation over a group of RolloutActors."""

    def __init__(self, group: ActorGroup):
        self.group = group

    def generate(self, prompts: Sequence[Messages], n: int, role: str, greedy: bool = False
                 ) -> list[Completion]:
        """n completions per prompt, consecutive, `prompt_index` into `prompts`."""
        return [dataclasses.replace(out, prompt_index=offset + out.prompt_index)
                for offset, outs in self.group.map("generate", prompts, n, role, greedy)
                for out in outs]

    def prompt_tokens(self, prompts: Sequence[Messages]) -> list[int]:
        return self.group.flat_map("prompt_tokens", prompts)

    def versions(self) -> list[int]:
        return self.group.call("version")

    def digests(self) -> list[str]:
        return self.group.call("weights_digest")

    def take_record(self) -> dict[str, Any]:
        """{"prompts": {actor: prompts it answered since the last call}, "away": [actors
        out of service now]}, every actor listed in "prompts"."""
        answered = self.group.answered.pop("generate", {})
        return {"prompts": {name: answered.get(name, 0) for name in self.group.names},
                "away": self.group.away_names}


class Sandboxes:
    """Validation and judging over one SandboxActor per sandbox node."""

    def __init__(self, group: ActorGroup):
        self.group = group

    def validate(self, drafts: Sequence[Any], seed: int, num_tests: int | None = None
                 ) -> list[Validation]:
        """Validation results in draft order; `num_tests` overrides sandbox.num_tests."""
        return self.group.flat_map("validate", drafts, seed, num_tests=num_tests)

    def judge(self, candidates: Sequence[Any]) -> list[Verdict]:
        return self.group.flat_map("judge", candidates)

    def close(self) -> None:
        """Stop every member's containers; a member that is gone already is skipped (its
        containers are labelled and reaped by the next pool)."""
        if self.group.is_local:
            self.group.call("close")
            return
        import ray

        for ref in self.group.refs("close"):
            try:
                ray.get(ref, timeout=60)
            except Exception:
                pass


class Fleet:
    def __init__(self, rollouts: Rollouts, sandboxes: Sandboxes, *, weights: Any = None,
                 weights_name: str | None = None, started_ray: bool = False):
        self.rollouts, self.sandboxes = rollouts, sandboxes
        self.weights, self.weights_name = weights, weights_name
        self.started_ray = started_ray

    @classmethod
    def on_ray(cls, cfg: Config, cache_dir: str | None = None, *, with_learner: bool = False,
               restarts: int | None = None, prefix: str = "") -> Fleet:
        """Start the groups on Ray (`with_learner`: leave room for the caller's learner;
        `restarts`: None keeps the default; `prefix` keeps names apart, e.g. "eval-")."""
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        from zeroplay.actors.group import MAX_RESTARTS
        from zeroplay.actors.ray_actors import RolloutActor, SandboxActor
        from zeroplay.actors.runtime import init_ray
        from zeroplay.actors.weights import WeightStore

        restarts = MAX_RESTARTS if restarts is None else restarts
        started = init_ray(cfg, with_learner=with_learner)
        cfg_json = cfg.model_dump(mode="json")
        tag = uuid.uuid4().hex[:8]
        weights_name = f"{prefix}weights-{tag}"
        here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
        weights = ray.remote(WeightStore).options(num_cpus=0, name=weights_name,
                                                  scheduling_strategy=here).remote()
        names = [f"{prefix}rollout-{i}" + (f"-{tag}" if prefix else "")
                 for i in range(cfg.rollout.num_actors)]
        fleet = cls(Rollouts(ActorGroup.start(RolloutActor, cfg.cluster.rollout, names,
                                              cfg_json, weights_name, cache_dir,
                                              restarts=restarts)),
                    Sandboxes(ActorGroup.per_node(SandboxActor, cfg.cluster.sandbox,
                                                  f"{prefix}sandbox", cfg_json,
                                                  restarts=restarts)),
                    weights=weights, weights_name=weights_name, started_ray=started)
        try:
            fleet.rollouts.versions()  # wait until loaded; surfaces a load error now
        except BaseException:
            fleet.close()
            raise
        return fleet

    @classmethod
    def in_process(cls, cfg: Config, pool: Any, cache_dir: str | None = None) -> Fleet:
        """A RolloutActor and a SandboxActor over the caller's `pool`, in this process."""
        from zeroplay.actors.ray_actors import RolloutActor, SandboxActor

        cfg_json = cfg.model_dump(mode="json")
        return cls(Rollouts(ActorGroup.local(RolloutActor(cfg_json, None, cache_dir))),
                   Sandboxes(ActorGroup.local(SandboxActor(cfg_json, pool))))

    @property
    def rollout_names(self) -> list[str]:
        return self.rollouts.group.names

    def close(self) -> None:
        self.sandboxes.close()
        self.rollouts.group.kill()
        self.sandboxes.group.kill()
        if self.weights is not None:
            import ray

            ray.kill(self.weights)
        if self.started_ray:
            import ray

            ray.shutdown()

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
