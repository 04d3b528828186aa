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
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

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
        return [{**asdict(o), "role": role} for o in outs]


class SandboxActor:
    """A sandbox pool on this node, for the actors that run here."""

    def __init__(self, cfg_json: dict):
        from zeroplay.sandbox.pool import SandboxPool

        self.cfg = Config.model_validate(cfg_json)
        self.pool = SandboxPool(self.cfg.sandbox)

    def validate(self, drafts: list, seed: int) -> list:
        from zeroplay.sandbox.batch import validate_many

        return validate_many(self.pool, drafts, self.cfg.sandbox, seed)

    def judge(self, candidates: list) -> list:
        from zeroplay.sandbox.batch import judge_many

        return judge_many(self.pool, candidates, self.cfg.sandbox)

    def close(self) -> None:
        self.pool.close()
