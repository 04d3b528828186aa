"""The learner as a Ray actor: trains on submitted groups, publishes weights to the actors.

    learner = make_actor(LearnerActor, cfg.cluster.learner, "learner", restarts=0).remote(
        cfg_json, "weights-<run>", ["rollout-0"], run_dir)
    ray.get(learner.warm_start.remote(tasks_json, steps))  # optional SFT, published
    ray.get(learner.start.remote())               # GRPO from here on (beta > 0: the
                                                  # policy now is the run's KL reference)
    ray.get(learner.submit.remote(groups))        # lists of G RolloutSamples
    ray.get(learner.checkpoint.remote(step, loop_state))   # between two optimizer steps
    ray.get(learner.status.remote())              # a LearnerStatus

A learner group (`cluster.learner.num_workers` > 1) is N of these, rank 0 first: only
rank 0 warm-starts, takes groups, checkpoints and reports; `start(master)` on every
worker (master = rank 0's `address()`) forms the FSDP2 group from rank 0's weights.

TRL's trainer runs in a background thread of the actor and blocks in `rollout_func`
until groups arrive. Every `learner.sync_every` optimizer steps the weights get a new
version: they are put into the object store once, handed to the WeightStore (which frees
the previous version) and staged by every rollout actor, pulled from the object store
or broadcast to all at once (`learner.weight_sync`); an actor that is restarting then
picks them up from the WeightStore instead. Each publish leaves a record (version, the
way it went, digests of what was sent and received) that `status` hands on. Checkpoints
are asked for by the loop, named by its step, and written on the trainer's thread
between two optimizer steps.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from zeroplay import metrics
from zeroplay.actors.weights import publish_weights
from zeroplay.config import Config
from zeroplay.errors import ConfigError
from zeroplay.failpoints import crash_point
from zeroplay.handoff import LearnerStatus
from zeroplay.learner.checkpoint import (
    PREFIX,
    PublishCallback,
    cpu_weights,
    missing_reference,
    read_state,
    save_reference,
    save_trainer_checkpoint,
)
from zeroplay.learner.grpo import SampleFeed, build_grpo_trainer
from zeroplay.learner.lora import ADAPTER_DIR, with_lora
from zeroplay.learner.storage import CheckpointStorage
from zeroplay.learner.warmstart import WarmStartReport
from zeroplay.run_paths import RunPaths

log = logging.getLogger(__name__)
CHECKPOINT_TIMEOUT_S = 600.0

# TRL's log keys -> zeroplay's dashboard gauges
LOGGED = {"loss": "learner_loss", "kl": "learner_kl", "entropy": "learner_entropy",
          "clip_ratio/region_mean": "learner_clip_ratio"}


class LearnerActor:
    def __init__(self, cfg_json: dict, weights_name: str, rollout_names: list[str],
                 run_dir: str, cache_dir: str | None = None, resume_step: int | None = None,
                 rank: int = 0):
        """`resume_step`: continue from checkpoint step-N, taken from `run.storage` when
        set (copied into this node's run directory), else from this node's run directory.
        `rank`: this worker's place in a learner group; only rank 0 reads the checkpoint,
        the others take what it holds when the group forms."""
        from zeroplay.actors.policy import load_policy

        self.cfg = Config.model_validate(cfg_json)
        self.rank, self.group = rank, None
        policy, self.publish_dtype = learner_policy(self.cfg)
        self.run_dir = Path(run_dir)
        self.storage = (CheckpointStorage.open(self.cfg.run.storage, self.run_dir.name)
                        if self.cfg.run.storage else None)
        self.version = 0
        resume_from = None
        lora = self.cfg.learner.lora
        self.resuming = resume_step is not None
        if resume_step is not None and rank == 0:
            local = RunPaths(self.run_dir).checkpoints_dir
            resume_from = str(self.storage.download(resume_step, local) if self.storage
                              else local / f"{PREFIX}{resume_step}")
            if lora is None:  # a checkpoint holds a plain transformers model
                policy = policy.model_copy(update={"model": resume_from})
            self.version = int(read_state(Path(resume_from)).get("policy_version", 0))
        self.model, self.tokenizer = load_policy(policy, Path(cache_dir) if cache_dir else None,
                                                 seed=self.cfg.run.seed,
                                                 rollout=self.cfg.rollout)
        if lora is not None:  # the base policy, and the checkpoint's adapter on a resume
            self.model = with_lora(self.model, lora,
                                   Path(resume_from) / ADAPTER_DIR if resume_from else None)
        self.weights_name, self.rollout_names = weights_name, rollout_names
        self.publisher = None
        self.published: list[dict] = []  # a record per publish (status() hands them on)
        if rank == 0 and self.cfg.learner.weight_sync == "collective":
            from zeroplay.actors.weights import CollectivePublisher

            self.publisher = CollectivePublisher(weights_name, rollout_names)
        if resume_from is not None:  # after a restart, go on above what the last one published
            import ray

            published, _ = ray.get(ray.get_actor(weights_name).latest.remote())
            self.version = max(self.version, published)
        self.scratch = tempfile.mkdtemp(prefix="zeroplay-learner-")  # TRL's output_dir
        self.error: str | None = None
        self.feed = SampleFeed(self.cfg.rollout.num_generations, self.cfg.learner.max_staleness)
        self.feed.policy_version = self.version
        self.trainer = None
        self._resume_from = resume_from
        self._thread: threading.Thread | None = None
        metrics.record("policy_version", self.version, actor="learner")

    def warm_start(self, tasks_json: list[dict], steps: int,
                   heldout_json: list[dict] | None = None) -> WarmStartReport:
        """SFT on synthetic tasks before GRPO (held-out NLL logged), then publish the
        result as the next version."""
        from zeroplay.curricula.task import Task
        from zeroplay.learner.warmstart import warm_start

        if self._thread is not None:
            raise RuntimeError("warm_start must come before start()")
        import torch

        tasks = [Task.from_json(t) for t in tasks_json]
        threads = torch.get_num_threads()  # Ray gives an actor num_cpus threads; nothing
        torch.set_num_threads(os.cpu_count() or threads)  # else runs during the warm start
        try:
            report = warm_start(self.model, self.tokenizer, tasks, self.cfg, self.scratch, steps,
                                [Task.from_json(t) for t in heldout_json or []])
        finally:
            torch.set_num_threads(threads)
        self._publish(self.version + 1, cpu_weights(self.model, self.publish_dtype))
        return report

    def address(self) -> tuple[str, int]:
        """Where rank 0 of a learner group listens for the others: (node IP, free port)."""
        import ray

        from zeroplay.actors.weights import free_port

        return ray.util.get_node_ip_address(), free_port()

    def start(self, master: tuple[str, int] | None = None) -> int:
        """Start GRPO in the background; a resumed learner first publishes its weights.
        In a learner group every worker calls this at once with rank 0's `address()`."""
        lc = self.cfg.learner
        workers = self.cfg.cluster.learner.num_workers
        if workers > 1:
            from zeroplay.learner.distributed import LearnerGroup, reset_accelerate

            self.group = LearnerGroup.join(self.rank, workers, *master)
            reset_accelerate()  # the warm start's accelerator knew no group
            self.group.sync_weights(self.model)
        self.trainer = build_grpo_trainer(
            self.model, self.tokenizer, self.cfg, self.feed if self.rank == 0 else None,
            self.scratch, reference_dir=self._kl_reference(), group=self.group,
            run_call=lambda name, args: getattr(self, name)(*args))
        if self.group is not None and self.resuming:
            from zeroplay.learner.distributed import GroupResume

            self.trainer.add_callback(GroupResume(self.group, self._resume_from, self.trainer))
        self.trainer.args.ignore_data_skip = True  # the data is a stream, not a dataset
        if self._resume_from is not None:
            self._publish(self.version + 1, cpu_weights(self.model, self.publish_dtype))
        self.trainer.add_callback(PublishCallback(self._publish, lc.sync_every, self.version,
                                                  dtype=self.publish_dtype))
        self.trainer.add_callback(_LearnerMetrics(self.feed))
        self._thread = threading.Thread(target=self._train, daemon=True, name="grpo")
        self._thread.start()
        return self.version

    def _kl_reference(self) -> Path | None:
        """With beta > 0: the policy as GRPO begins, saved now (and to run.storage); a
        resume keeps the first, taken from storage when this node lacks it."""
        if self.cfg.learner.beta == 0:
            return None
        reference = RunPaths(self.run_dir).reference_dir
        if self._resume_from is None:
            save_reference(self.model, reference)
            if self.storage is not None:
                self.storage.upload_reference(reference)
            return reference
        if self.storage is not None:
            self.storage.download_reference(reference)
        missing = missing_reference(reference, self.cfg.learner.beta)
        if missing:
            raise ConfigError(missing)
        return reference

    def _train(self) -> None:
        try:
            # a group's checkpoint is one worker's files: GroupResume loads it instead
            self.trainer.train(resume_from_checkpoint=None if self.group else self._resume_from)
            self.feed.close()
        except Exception as exc:  # reported through status(); the actor stays inspectable
            log.exception("GRPO training failed")
            self.error = f"{type(exc).__name__}: {exc}"
            self.feed.close(self.error)  # never leave a checkpoint waiting on a dead step

    def _publish(self, version: int, weights: dict) -> None:
        if self.publisher is not None:
            self.published.append(self.publisher.publish(version, weights))
        elif self.rank == 0:  # the other ranks only took part in gathering the weights
            staged = publish_weights(self.weights_name, self.rollout_names, version, weights)
            self.published.append({"version": version, "via": "object_store",
                                   "digest": None, "received": dict.fromkeys(staged)})
        self.version = version
        self.feed.policy_version = version
        metrics.record("policy_version", version, actor="learner")

    def submit(self, groups: list, references: list[dict] | None = None) -> int:
        """Queue whole GRPO groups for training; returns how many are waiting. With
        `learner.reference_sft`, `references` (the round's new valid policy tasks, as
        JSON) also make one supervised step, taken between two GRPO steps."""
        self.feed.put(groups)
        metrics.record("queue_depth", self.feed.pending(), queue="learner")
        if references and self.cfg.learner.reference_sft:
            from zeroplay.curricula.task import Task
            from zeroplay.learner.reference_sft import reference_rows

            rows = reference_rows([Task.from_json(t) for t in references])
            self.feed.call(self._reference_sft, rows, timeout=CHECKPOINT_TIMEOUT_S)
        return self.feed.pending()

    def _reference_sft(self, rows: list[dict]) -> float | None:
        """On the trainer's thread between two GRPO steps (in a group, on every rank)."""
        from zeroplay.learner.reference_sft import supervised_update

        cfg = self.cfg
        return supervised_update(self.trainer, self.tokenizer, rows,
                                 cfg.learner.reference_sft_learning_rate,
                                 cfg.rollout.max_prompt_tokens + cfg.rollout.max_new_tokens)

    def checkpoint(self, step: int, loop_state: dict[str, Any]) -> str:
        """Write checkpoints/step-<step> while the trainer is between optimizer steps."""
        if self.trainer is None:
            raise RuntimeError("start() the learner before checkpointing it")
        path = self.feed.call(self._write_checkpoint, step, loop_state,
                              timeout=CHECKPOINT_TIMEOUT_S)
        if self.storage is not None:  # the trainer goes on meanwhile: the files are written
            self.storage.upload(path, self.cfg.learner.keep_checkpoints)
        return str(path)

    def _write_checkpoint(self, step: int, loop_state: dict[str, Any]) -> Path | None:
        """On the trainer's thread between two optimizer steps (in a group, every rank's
        at the same point; rank 0 writes)."""
        return save_trainer_checkpoint(
            self.trainer, RunPaths(self.run_dir).checkpoints_dir, step,
            self.cfg.learner.keep_checkpoints,
            extra={"policy_version": self.version, "loop": loop_state,
                   "optimizer_step": self.trainer.state.global_step})

    def status(self, since: int = 0, published_since: int = 0) -> LearnerStatus:
        """Progress, the trainer's log entries from index `since` on and the publish
        records from index `published_since` on."""
        state = self.trainer.state if self.trainer is not None else None
        history = state.log_history if state is not None else []
        return LearnerStatus(state.global_step if state else 0, self.version,
                             self.feed.dropped_stale, self.feed.pending(),
                             self.feed.last_staleness, self.error,
                             [h for h in history[since:] if "loss" in h], len(history),
                             self.published[published_since:], len(self.published))

    def wait_for_step(self, step: int, timeout: float = 300.0) -> LearnerStatus:
        deadline = time.monotonic() + timeout
        while self.error is None and (self.trainer is None or
                                      self.trainer.state.global_step < step):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        return self.status()

    def wait_pending(self, at_most: int, timeout: float) -> LearnerStatus:
        """Wait until no more than `at_most` groups wait to be trained, or less than one
        batch (those wait for the next round's groups), or an error."""
        deadline = time.monotonic() + timeout
        while self.error is None and not self.feed.wait_pending(at_most, 0.2):
            if time.monotonic() > deadline:
                break
        return self.status()

    def wait_drained(self, timeout: float) -> LearnerStatus:
        """Wait until every full batch that was submitted has been trained on."""
        deadline = time.monotonic() + timeout
        while self.error is None and not self.feed.wait_drained(0.2):
            if time.monotonic() > deadline:
                break
        return self.status()


def learner_policy(cfg: Config):
    """(the policy section the learner loads its model with, the dtype it publishes in).
    Under learner.precision=mixed the learner holds fp32 master weights (TRL's bf16/fp16
    flag then autocasts the compute on GPUs) and publishes in policy.dtype, what the
    rollout actors hold; `auto` publishes fp32 and each actor casts on load."""
    import torch

    if cfg.learner.precision == "pure":
        return cfg.policy, None
    served = {"float32": torch.float32, "bfloat16": torch.bfloat16,
              "float16": torch.float16}.get(cfg.policy.dtype)
    return cfg.policy.model_copy(update={"dtype": "float32"}), served


class _LearnerMetrics(TrainerCallback):
    """Step time, loss, KL, entropy, clip ratio and staleness to the Ray dashboard."""

    def __init__(self, feed: SampleFeed):
        self.feed, self.dropped = feed, 0

    def on_step_end(self, args, state, control, **kwargs):
        crash_point("learner-update")  # the update applied, not yet published
        metrics.record("learner_step_seconds", time.monotonic() - self.feed.taken_at)
        metrics.record("staleness", self.feed.last_staleness)
        metrics.record("dropped_stale_total", self.feed.dropped_stale - self.dropped)
        self.dropped = self.feed.dropped_stale
        metrics.record("queue_depth", self.feed.pending(), queue="learner")

    def on_log(self, args, state, control, logs=None, **kwargs):
        for key, name in LOGGED.items():
            if logs and key in logs:
                metrics.record(name, float(logs[key]))
