"""Where evaluation generates and judges: in this process, or on Ray actors.

    with local_backend(cfg, pool, cache_dir) as backend:   # or ray_backend(cfg, cache_dir)
        outs = backend.generate("solver", messages_list, n=4)
        verdicts = backend.judge(candidates)

Both offer the four calls the self-play round uses (`generate`, `prompt_tokens`,
`validate`, `judge`) with the same code behind them: locally the policy loaded and sampled with the
functions a `RolloutActor` uses (`load_policy`, `make_generator`, `prompt_text`, sampling
parameters from `rollout.*`; no Ray runtime is started) and the sandbox pool through
`judge_many`/`validate_many`; on Ray a
`RolloutActor` and a `SandboxActor` built by `make_actor` from `cluster.rollout` and
`cluster.sandbox`, called through the self-play `Remote`. The eval loop cannot tell them
apart, so a cluster evaluation is the local one with its work placed elsewhere.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from zeroplay.config import Config


class Backend(Protocol):
    def generate(self, role: str, messages: list, n: int) -> list[dict]: ...

    def prompt_tokens(self, messages: list) -> int: ...

    def validate(self, drafts: list, seed: int) -> list: ...

    def judge(self, candidates: list) -> list: ...


class LocalBackend:
    """The policy and a sandbox pool in this process, called as RolloutActor calls them."""

    def __init__(self, cfg: Config, pool: Any, cache_dir: str | None = None):
        from pathlib import Path

        from zeroplay.actors.generation import SamplingParams, make_generator
        from zeroplay.actors.policy import load_policy

        self.cfg = cfg
        self.pool = pool
        model, self.tokenizer = load_policy(cfg.policy, Path(cache_dir) if cache_dir else None,
                                            seed=cfg.run.seed)
        self.generator = make_generator(cfg.rollout.backend, model, self.tokenizer)
        r = cfg.rollout
        self.params = SamplingParams(r.temperature, r.top_p, r.max_new_tokens,
                                     r.max_prompt_tokens)

    def generate(self, role: str, messages: list, n: int) -> list[dict]:
        from dataclasses import asdict

        from zeroplay.actors.prompts import prompt_text

        texts = [prompt_text(self.tokenizer, m) for m in messages]
        return [{**asdict(o), "role": role}
                for o in self.generator.generate(texts, n, self.params)]

    def prompt_tokens(self, messages: list) -> int:
        from zeroplay.actors.prompts import prompt_text

        return len(self.tokenizer(prompt_text(self.tokenizer, messages),
                                  add_special_tokens=False)["input_ids"])

    def validate(self, drafts: list, seed: int) -> list:
        from zeroplay.sandbox.batch import validate_many

        return validate_many(self.pool, drafts, self.cfg.sandbox, seed)

    def judge(self, candidates: list) -> list:
        from zeroplay.sandbox.batch import judge_many

        return judge_many(self.pool, candidates, self.cfg.sandbox)


@contextmanager
def local_backend(cfg: Config, pool: Any, cache_dir: str | None = None
                  ) -> Iterator[LocalBackend]:
    yield LocalBackend(cfg, pool, cache_dir)


@contextmanager
def ray_backend(cfg: Config, cache_dir: str | None = None) -> Iterator[Any]:
    """A rollout actor and a sandbox actor on Ray (joins cluster.address or RAY_ADDRESS,
    else starts a local runtime); removes both, and shuts down only a runtime it started."""
    import ray

    from zeroplay.actors.ray_actors import RolloutActor, SandboxActor, make_actor
    from zeroplay.actors.selfplay import Remote
    from zeroplay.actors.session import init_ray

    started = init_ray(cfg)
    tag = uuid.uuid4().hex[:6]
    cfg_json = cfg.model_dump(mode="json")
    rollout = make_actor(RolloutActor, cfg.cluster.rollout, f"eval-rollout-{tag}",
                         restarts=0).remote(cfg_json, None, cache_dir)
    sandbox = make_actor(SandboxActor, cfg.cluster.sandbox,
                         f"eval-sandbox-{socket.gethostname()}-{tag}", restarts=0).remote(cfg_json)
    try:
        ray.get(rollout.version.remote())  # surfaces a load error before any work
        yield Remote(rollout, sandbox)
    finally:
        try:
            ray.get(sandbox.close.remote(), timeout=60)
        except Exception:  # gone already; its containers are labelled and reaped later
            pass
        ray.kill(rollout)
        ray.kill(sandbox)
        if started:
            ray.shutdown()
