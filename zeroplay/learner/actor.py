"""The learner as a Ray actor: trains on submitted groups, publishes weights to the actors.

    learner = make_actor(LearnerActor, cfg.cluster.learner, "learner").remote(
        cfg_json, "weights-<run>", ["proposer-0"], run_dir)
    ray.get(learner.submit.remote(groups))        # lists of G RolloutSamples
    ray.get(learner.status.remote())              # step, version, dropped_stale, pending, ...

TRL's trainer runs in a background thread of the actor and blocks in `rollout_func`
until groups arrive. Every `learner.sync_every` optimizer steps the weights get a new
version: they are put into the object store once, handed to the WeightStore (which frees
the previous version) and loaded by every rollout actor. Checkpoints go to
`<run_dir>/checkpoints/step-N/` every `learner.checkpoint_every` steps.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from zeroplay.config import Config
from zeroplay.learner.checkpoint import CheckpointCallback, PublishCallback, read_state
from zeroplay.learner.grpo import SampleFeed, build_grpo_trainer


class LearnerActor:
    def __init__(self, cfg_json: dict, weights_name: str, rollout_names: list[str],
                 run_dir: str, cache_dir: str | None = None, resume_from: str | None = None):
        from zeroplay.actors.policy import load_policy

        self.cfg = Config.model_validate(cfg_json)
        policy = self.cfg.policy
        start_version = 0
        if resume_from is not None:  # a checkpoint holds a plain transformers model
            policy = policy.model_copy(update={"model": resume_from})
            start_version = int(read_state(Path(resume_from)).get("policy_version", 0))
        model, tokenizer = load_policy(policy, Path(cache_dir) if cache_dir else None,
                                       seed=self.cfg.run.seed)
        self.weights_name, self.rollout_names = weights_name, rollout_names
        self.version = start_version
        self.error: str | None = None
        lc = self.cfg.learner
        self.feed = SampleFeed(self.cfg.rollout.num_generations, lc.max_staleness)
        self.feed.policy_version = start_version
        self.trainer = build_grpo_trainer(model, tokenizer, self.cfg, self.feed,
                                          str(Path(run_dir) / "trainer"))
        self.trainer.add_callback(PublishCallback(self._publish, lc.sync_every, start_version))
        self.trainer.add_callback(CheckpointCallback(
            Path(run_dir) / "checkpoints", lc.checkpoint_every, lc.keep_checkpoints,
            extra=lambda: {"policy_version": self.version}))
        self._resume_from = resume_from
        self._thread = threading.Thread(target=self._train, daemon=True, name="grpo")
        self._thread.start()

    def _train(self) -> None:
        try:
            self.trainer.train(resume_from_checkpoint=self._resume_from)
        except Exception as exc:  # reported through status(); the actor stays inspectable
            self.error = f"{type(exc).__name__}: {exc}"

    def _publish(self, version: int, weights: dict) -> None:
        import ray

        box = [ray.put(weights)]
        ray.get(ray.get_actor(self.weights_name).publish.remote(version, box))
        ray.get([ray.get_actor(name).update_weights.remote(version, box)
                 for name in self.rollout_names])
        self.version = version
        self.feed.policy_version = version

    def submit(self, groups: list) -> int:
        """Queue whole GRPO groups for training; returns how many are waiting."""
        self.feed.put(groups)
        return self.feed.pending()

    def status(self) -> dict[str, Any]:
        history = [h for h in self.trainer.state.log_history if "loss" in h]
        return {"step": self.trainer.state.global_step, "version": self.version,
                "dropped_stale": self.feed.dropped_stale, "pending": self.feed.pending(),
                "error": self.error, "last": history[-1] if history else None}

    def wait_for_step(self, step: int, timeout: float = 300.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while self.trainer.state.global_step < step and self.error is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        return self.status()
