"""The actor roles of the rollout side: policy copies that generate, sandbox pools that judge.

    rollouts = ActorGroup.start(RolloutActor, cfg.cluster.rollout, names, cfg_json, "weights")
    sandboxes = ActorGroup.per_node(SandboxActor, cfg.cluster.sandbox, "sandbox", cfg_json)
    local = RolloutActor(cfg_json)            # the same class, called in this process

Each class is a plain Python class: `zeroplay.actors.group` places it on Ray (resources,
names, restarts, its `concurrency_groups`) or calls it in process. A restarted
RolloutActor reloads its policy and asks the WeightStore for the newest published weights,
so it never serves stale ones for long.
A publish never waits behind generation: a RolloutActor takes published weights in a
concurrency group of their own (fetching them while it generates) and only stages them;
they go live at its next call of the default group (generate, version, weights_digest), so
a generate call runs on one version from start to end. Staging holds a second copy of the
weights in host memory until then.
These actors only generate and judge, so they check their config under GENERATION_ONLY:
`zeroplay eval --temperature 0` hands them a greedy config that training would refuse.
Each actor records its `zeroplay_*` dashboard metrics (tokens, policy version, sandbox
jobs, latency, recycles) under its own name.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from pathlib import Path

import ray

from zeroplay import metrics
from zeroplay.actors.weights import WEIGHTS_GROUP, state_digest
from zeroplay.config import GENERATION_ONLY, Config
from zeroplay.handoff import Completion, Validation, Verdict

log = logging.getLogger(__name__)


def actor_name(default: str = "driver") -> str:
    """This process's Ray actor name (what the dashboard shows), or `default`."""

    if not ray.is_initialized():  # asking the runtime context would start Ray
        return default
    return ray.get_runtime_context().get_actor_name() or default


class RolloutActor:
    """One copy of the policy; generates for either role on request."""

    concurrency_groups = {WEIGHTS_GROUP: 1}  # weight updates beside the generate call

    def __init__(self, cfg_json: dict, weight_store: str | None = None,
                 cache_dir: str | None = None):
        """`weight_store` is the name of the WeightStore actor (a name, not a handle, so
        that a restart can always find it)."""

        from zeroplay.actors.generation import make_generator
        from zeroplay.actors.sampling import SamplingParams

        self.cfg = Config.model_validate(cfg_json, context=GENERATION_ONLY)
        self.generator = make_generator(self.cfg, Path(cache_dir) if cache_dir else None)
        self.tokenizer = self.generator.tokenizer
        self.name = actor_name()
        r = self.cfg.rollout
        self.params = SamplingParams(r.temperature, r.top_p, r.max_new_tokens,
                                     r.max_prompt_tokens)
        self.proposer_params = dataclasses.replace(
            self.params, temperature=r.proposer_temperature or r.temperature)
        self.served = {"calls": 0, "prompts": 0, "tokens": 0}
        self._lock = threading.Lock()
        self._staged: tuple[int, dict] | None = None  # (version, state dict), not yet live
        self._sync = None  # the learner's weight-sync group (a WeightBroadcast), once joined
        if weight_store is not None:
            version, box = ray.get(ray.get_actor(weight_store).latest.remote())
            if box is not None:
                self.update_weights(version, box)
                self._go_live()

    def version(self) -> int:
        """The version this actor serves (staged weights go live first)."""
        self._go_live()
        return self.generator.version

    @ray.method(concurrency_group=WEIGHTS_GROUP)
    def update_weights(self, version: int, box: list) -> int:
        """Stage published weights (`box` = [ObjectRef of a state dict]) to go live
        between generate calls; returns the newest version held, live or staged. An
        older version than that is ignored, so versions only increase."""
        with self._lock:
            newest = max(self.generator.version, self._staged[0] if self._staged else 0)
        if version <= newest:
            return newest
        return self._stage(version, ray.get(box[0]))  # the transfer, beside generation

    def _stage(self, version: int, state: dict) -> int:
        with self._lock:
            if self._staged is None or version > self._staged[0]:
                self._staged = (version, state)  # a superseded staged copy is dropped
            return self._staged[0]

    @ray.method(concurrency_group=WEIGHTS_GROUP)
    def join_weight_sync(self, addr: str, port: int, rank: int, world: int,
                         epoch: int) -> int:
        """Join the learner's weight-sync group `epoch` (a `WeightBroadcast`) as `rank`."""
        from zeroplay.actors.weights import WeightBroadcast

        self._sync = WeightBroadcast.join(rank, world, addr, port, epoch)
        return epoch

    @ray.method(concurrency_group=WEIGHTS_GROUP)
    def weight_sync_epoch(self) -> int | None:
        """The weight-sync group this actor is in (None: none, e.g. after a restart)."""
        return self._sync.epoch if self._sync is not None else None

    @ray.method(concurrency_group=WEIGHTS_GROUP)
    def receive_weights(self, version: int, layout: list) -> str:
        """Receive `version` from the learner's broadcast and stage it, as update_weights
        does; the learner sends once every member has been asked. Returns the digest of
        what arrived, for the learner's record of the publish."""
        state = self._sync.receive(layout)
        self._stage(version, state)
        return state_digest(state)

    def _go_live(self) -> None:
        """Load the staged weights, if any; only called from the default group, i.e.
        between generate calls."""
        with self._lock:
            staged, self._staged = self._staged, None
        if staged is not None and staged[0] > self.generator.version:
            self.generator.load_state_dict(staged[1], staged[0])
            metrics.record("policy_version", staged[0], actor=self.name)

    def weights_digest(self) -> str:
        """A hash of the live weights (staged ones go live first), to check which
        weights an actor really serves."""
        self._go_live()
        return self.generator.weights_digest()

    def prompt_tokens(self, messages_list: list[list[dict[str, str]]]) -> list[int]:
        """Token counts of the chat prompts (to trim prompts to rollout.max_prompt_tokens)."""
        from zeroplay.actors.prompts import prompt_tokens

        return [prompt_tokens(self.tokenizer, messages) for messages in messages_list]

    def generate(self, messages_list: list[list[dict[str, str]]], n: int, role: str,
                 greedy: bool = False) -> list[Completion]:
        """n completions per chat prompt, consecutive (`greedy`: temperature 0, e.g. for
        evaluation during a run); `role` labels metrics, and "proposer" samples at
        rollout.proposer_temperature."""
        from zeroplay.actors.prompts import prompt_text

        self._go_live()
        texts = [prompt_text(self.tokenizer, messages) for messages in messages_list]
        params = self.proposer_params if role == "proposer" else self.params
        if greedy:
            params = dataclasses.replace(params, temperature=0.0)
        outs = self.generator.generate(texts, n, params)
        tokens = sum(len(o.completion_ids) for o in outs)
        metrics.record("generation_tokens_total", tokens, actor=self.name, role=role)
        for key, value in (("calls", 1), ("prompts", len(texts)), ("tokens", tokens)):
            self.served[key] += value
        return outs

    def stats(self) -> dict[str, int]:
        """Generate calls, prompts and completion tokens served since start."""
        return dict(self.served)


class SandboxActor:
    """A sandbox pool on this node (one actor per sandbox node); `pool` shares a pool that
    the caller owns when the actor is used in process."""

    def __init__(self, cfg_json: dict, pool=None):
        from zeroplay.sandbox.pool import SandboxPool

        self.cfg = Config.model_validate(cfg_json, context=GENERATION_ONLY)
        self.owns_pool = pool is None
        self.pool = SandboxPool(self.cfg.sandbox) if pool is None else pool
        self.pool.on_job = lambda _result, seconds: metrics.record("sandbox_job_seconds",
                                                                   seconds)
        self._recycled = self.pool.recycled
        self.jobs = {"validate": 0, "judge": 0}

    def validate(self, drafts: list, seed: int, num_tests: int | None = None
                 ) -> list[Validation]:
        from zeroplay.sandbox.batch import validate_many

        cfg = self.cfg.sandbox if num_tests is None else self.cfg.sandbox.model_copy(
            update={"num_tests": num_tests})
        out = validate_many(self.pool, drafts, cfg, seed)
        self._count("validate", ["valid" if v.valid else v.reason for v in out])
        return out

    def judge(self, candidates: list) -> list[Verdict]:
        from zeroplay.sandbox.batch import judge_many

        out = judge_many(self.pool, candidates, self.cfg.sandbox)
        self._count("judge", [v.status for v in out])
        return out

    def stats(self) -> dict:
        """Drafts validated and solutions judged here, and this actor's Ray node."""
        node = ray.get_runtime_context().get_node_id() if ray.is_initialized() else None
        return {**self.jobs, "node_id": node}

    def _count(self, kind: str, statuses: list[str]) -> None:
        from collections import Counter

        self.jobs[kind] += len(statuses)
        for status, n in Counter(statuses).items():
            metrics.record("sandbox_jobs_total", n, kind=kind, status=status)
        metrics.record("sandbox_recycles_total", self.pool.recycled - self._recycled)
        self._recycled = self.pool.recycled

    def close(self) -> None:
        if self.owns_pool:
            self.pool.close()
