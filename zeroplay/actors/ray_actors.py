"""Ray actors of the rollout side: policy copies that generate, sandbox pools that judge.

    weights = ray.remote(WeightStore).options(name="weights").remote()
    rollout = make_actor(RolloutActor, spec, "proposer-0").remote(cfg_json, "weights")
    outs = ray.get(rollout.generate.remote("propose", messages_list, n=4))
    sandbox = make_actor(SandboxActor, cfg.cluster.sandbox, "sandbox-node0").remote(cfg_json)

`make_actor` is the one place that turns a config ResourceSpec into Ray options: CPUs,
GPUs and `accelerator_type` (e.g. "H200", which Ray matches against the node resource
`accelerator_type:H200`), a readable name for the dashboard, and `max_restarts`, so a
crashed actor comes back. A restarted RolloutActor reloads its policy and asks the
WeightStore for the newest published weights, so it never serves stale ones for long.
The WeightStore keeps only the newest weights object: superseded ones are freed.
Each actor records its `zeroplay_*` dashboard metrics (tokens, policy version, sandbox
jobs, latency, recycles) under its own name.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from zeroplay import metrics
from zeroplay.config import Config, ResourceSpec

log = logging.getLogger(__name__)
MAX_RESTARTS = 3


def make_actor(cls: type, spec: ResourceSpec, name: str, *, restarts: int = MAX_RESTARTS):
    """`ray.remote(cls).options(...)` from a ResourceSpec, the same way for every role."""
    import ray

    options: dict[str, Any] = {"num_cpus": spec.num_cpus, "num_gpus": spec.num_gpus,
                               "name": name, "max_restarts": restarts,
                               "max_task_retries": 0}
    if spec.accelerator_type:
        options["accelerator_type"] = spec.accelerator_type
    return ray.remote(cls).options(**options)


def role_specs(cfg: Config, *, with_learner: bool) -> list[tuple[str, ResourceSpec]]:
    """Every actor a run starts, as (role, resources)."""
    c = cfg.cluster
    specs = [("rollout", c.rollout)] * cfg.rollout.num_actors + [("sandbox", c.sandbox)]
    return specs + [("learner", c.learner)] if with_learner else specs


def check_capacity(cfg: Config, *, with_learner: bool, strict: bool) -> None:
    """Fail (strict: a local runtime, nothing will be added) or warn when the actors that
    `cfg` asks for cannot all be placed, instead of waiting forever for resources."""
    import ray

    from zeroplay.errors import ConfigError

    specs = role_specs(cfg, with_learner=with_learner)
    have = ray.cluster_resources()
    need = {"CPU": sum(s.num_cpus for _, s in specs), "GPU": sum(s.num_gpus for _, s in specs)}
    for _, spec in specs:
        if spec.accelerator_type:
            key = f"accelerator_type:{spec.accelerator_type}"
            need[key] = need.get(key, 0) + 0.001
    short = [f"{need[k]:g} {k} (the cluster has {have.get(k, 0):g})"
             for k in need if need[k] > have.get(k, 0) + 1e-9]
    if not short:
        return
    asks = ", ".join(f"{role} num_cpus={s.num_cpus:g} num_gpus={s.num_gpus:g}"
                     + (f" accelerator_type={s.accelerator_type}" if s.accelerator_type else "")
                     for role, s in dict(specs).items())
    message = (f"the run's actors need {'; '.join(short)} ({asks}, "
               f"rollout.num_actors={cfg.rollout.num_actors})")
    if strict:
        raise ConfigError(f"{message}: lower cluster.<role>.num_cpus/num_gpus or "
                          "rollout.num_actors, or raise cluster.local_num_cpus")
    log.warning("%s; the actors wait until the cluster has room", message)


def actor_name(default: str = "driver") -> str:
    """This process's Ray actor name (what the dashboard shows), or `default`."""
    import ray

    if not ray.is_initialized():  # asking the runtime context would start Ray
        return default
    return ray.get_runtime_context().get_actor_name() or default


def state_digest(state: dict) -> str:
    """Content hash of a state dict (names, shapes and values)."""
    import hashlib

    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().to("cpu").contiguous()
        digest.update(name.encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()[:16]


class WeightStore:
    """Holds the newest published weights (version, object ref); drops older ones."""

    def __init__(self) -> None:
        self._version = 0
        self._box: list | None = None  # [ObjectRef]: a list keeps Ray from resolving it

    def publish(self, version: int, box: list) -> int:
        if version > self._version:
            self._version, self._box = version, box  # the old ref is released here
        return self._version

    def latest(self) -> tuple[int, list | None]:
        return self._version, self._box


class RolloutActor:
    """One copy of the policy; generates for either role on request."""

    def __init__(self, cfg_json: dict, weight_store: str | None = None,
                 cache_dir: str | None = None):
        """`weight_store` is the name of the WeightStore actor (a name, not a handle, so
        that a restart can always find it)."""
        import ray

        from zeroplay.actors.generation import SamplingParams, make_generator
        from zeroplay.actors.policy import load_policy

        self.cfg = Config.model_validate(cfg_json)
        model, tokenizer = load_policy(self.cfg.policy, Path(cache_dir) if cache_dir else None,
                                       seed=self.cfg.run.seed)
        self.tokenizer = tokenizer
        self.name = actor_name()
        self.generator = make_generator(self.cfg.rollout.backend, model, tokenizer)
        r = self.cfg.rollout
        self.params = SamplingParams(r.temperature, r.top_p, r.max_new_tokens,
                                     r.max_prompt_tokens)
        if weight_store is not None:
            version, box = ray.get(ray.get_actor(weight_store).latest.remote())
            if box is not None:
                self.update_weights(version, box)

    def version(self) -> int:
        return self.generator.version

    def update_weights(self, version: int, box: list) -> int:
        """Load published weights (`box` = [ObjectRef of a state dict]); returns the version."""
        import ray

        if version > self.generator.version:
            state = ray.get(box[0])
            self.generator.load_state_dict(state, version)
            del state
            metrics.record("policy_version", version, actor=self.name)
        return self.generator.version

    def weights_digest(self) -> str:
        """A hash of the live weights, to check which weights an actor really serves."""
        return state_digest(self.generator.model.state_dict())

    def prompt_tokens(self, messages: list[dict[str, str]]) -> int:
        from zeroplay.actors.prompts import prompt_text

        return len(self.tokenizer(prompt_text(self.tokenizer, messages),
                                  add_special_tokens=False)["input_ids"])

    def generate(self, role: str, messages_list: list[list[dict[str, str]]], n: int
                 ) -> list[dict]:
        """n completions per prompt (consecutive), as plain dicts (role recorded)."""
        from dataclasses import asdict

        from zeroplay.actors.prompts import prompt_text

        texts = [prompt_text(self.tokenizer, messages) for messages in messages_list]
        outs = self.generator.generate(texts, n, self.params)
        metrics.record("generation_tokens_total", sum(len(o.completion_ids) for o in outs),
                       actor=self.name, role=role)
        return [{**asdict(o), "role": role} for o in outs]


class SandboxActor:
    """A sandbox pool on this node, for the actors that run here."""

    def __init__(self, cfg_json: dict):
        from zeroplay.sandbox.pool import SandboxPool

        self.cfg = Config.model_validate(cfg_json)
        self.pool = SandboxPool(self.cfg.sandbox)
        self.pool.on_job = lambda _result, seconds: metrics.record("sandbox_job_seconds",
                                                                   seconds)
        self._recycled = 0

    def validate(self, drafts: list, seed: int) -> list:
        from zeroplay.sandbox.batch import validate_many

        out = validate_many(self.pool, drafts, self.cfg.sandbox, seed)
        self._count("validate", ["valid" if v.valid else v.reason for v in out])
        return out

    def judge(self, candidates: list) -> list:
        from zeroplay.sandbox.batch import judge_many

        out = judge_many(self.pool, candidates, self.cfg.sandbox)
        self._count("judge", [v.status for v in out])
        return out

    def _count(self, kind: str, statuses: list[str]) -> None:
        from collections import Counter

        for status, n in Counter(statuses).items():
            metrics.record("sandbox_jobs_total", n, kind=kind, status=status)
        metrics.record("sandbox_recycles_total", self.pool.recycled - self._recycled)
        self._recycled = self.pool.recycled

    def close(self) -> None:
        self.pool.close()
