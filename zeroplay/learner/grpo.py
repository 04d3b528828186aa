"""GRPO on self-play rollouts with TRL, using the actors' behaviour log-probs.

    feed = SampleFeed(group_size=4, max_staleness=1)
    trainer = build_grpo_trainer(model, tokenizer, cfg, feed, output_dir)
    feed.put(groups)            # lists of G RolloutSamples (one GRPO group each)
    trainer.train()             # pulls groups through TRL's rollout_func

Training data is the stream of scored samples, not a static dataset: TRL's `rollout_func`
hook takes the next groups from a `SampleFeed` (the dataset only holds placeholder
prompts that fix the batch shape), and a pass-through reward function hands TRL the
rewards the sandbox already computed. Groups stay intact: G consecutive rows.

Off-policy safety: a group older than `max_staleness` policy versions is dropped and
counted. TRL corrects against the sampler's log-probs only on its vLLM path, so
`BehaviourGRPOTrainer` makes the clipped ratio `exp(logp_learner - logp_behaviour)`,
with the behaviour log-probs the rollout actors recorded at generation time. That is the
only importance correction: TRL's own vLLM correction on top of it is refused. The ratio
is exact because rollouts sample the full tempered distribution (`rollout.top_p` must be
1 for training). With `learner.beta > 0` the KL reference is the policy as GRPO began
(after the warm start), saved in the run and reloaded on resume, so the anchor does not
move between runs.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from zeroplay.config import Config
from zeroplay.errors import ConfigError
from zeroplay.handoff import RolloutSample

Group = list[RolloutSample]


class SampleFeed:
    """Thread-safe queue of GRPO groups between the self-play loop and the trainer.

    The trainer takes one optimizer step's groups at a time and is *busy* until that
    step ends (`step_done`); `wait_drained` waits until every full batch has been trained
    on, and `wait_pending` until the queue is short. `call` runs a function on the
    trainer's own thread the next time it asks for data, i.e. between two optimizer steps
    with the weights and optimizer at rest (a checkpoint). A round may put no group at
    all (dynamic sampling dropped them all and there was no proposer group): nothing
    waits on it.
    """

    def __init__(self, group_size: int, max_staleness: int):
        self.group_size = group_size
        self.max_staleness = max_staleness
        self.policy_version = 0
        self.dropped_stale = 0
        self.last_staleness = 0  # learner version minus the oldest trained group's version
        self.taken_at = time.monotonic()  # when the current optimizer step got its data
        self.batch_groups = 1  # groups per optimizer step, known at the first take
        self._groups: deque[Group] = deque()
        self._calls: deque[Call] = deque()
        self._busy = False
        self._finished, self._failed = False, None
        self._cond = threading.Condition()

    def put(self, groups: list[Group]) -> None:
        """Queue whole groups; a group that is short or mixes prompts, roles or policy
        versions is refused (its advantage would use one baseline for different things)."""
        for group in groups:
            self._check(group)
        with self._cond:
            self._groups.extend(groups)
            self._cond.notify_all()

    def _check(self, group: Group) -> None:
        if len(group) != self.group_size:
            raise ValueError(f"a GRPO group needs {self.group_size} samples, got {len(group)}")
        first = group[0]
        mixed = [name for name in ("group", "prompt_ids", "role", "policy_version")
                 if any(getattr(s, name) != getattr(first, name) for s in group[1:])]
        if mixed:
            raise ValueError(
                f"GRPO group {first.group!r} mixes samples of different {', '.join(mixed)}: "
                "a group is the completions of one prompt by one role and one policy "
                "version, or its advantage compares unlike samples")

    def take(self, n: int, timeout: float | None = None) -> list[Group]:
        """The next `n` fresh groups (blocks); stale ones are dropped and counted. Calls
        queued meanwhile run first, on this (the trainer's) thread."""
        while True:
            item = self.next_item(n, timeout)
            if not isinstance(item, Call):
                return item
            item.run()

    def next_item(self, n: int, timeout: float | None = None) -> list[Group] | Call:
        """The next queued call, else the next `n` fresh groups (blocks). The trainer
        asks only between optimizer steps."""
        with self._cond:
            self._busy = False
            self.batch_groups = n

            def ready() -> bool:
                self._drop_stale()
                return bool(self._calls) or len(self._groups) >= n

            if not self._cond.wait_for(ready, timeout):
                raise queue.Empty(f"no {n} fresh groups within {timeout} s")
            if self._calls:
                return self._calls.popleft()
            out = [self._groups.popleft() for _ in range(n)]
            self.last_staleness = self.policy_version - min(g[0].policy_version for g in out)
            self.taken_at = time.monotonic()
            self._busy = True
            self._cond.notify_all()
            return out

    def _drop_stale(self) -> None:
        oldest = self.policy_version - self.max_staleness
        fresh = deque(g for g in self._groups if g[0].policy_version >= oldest)
        self.dropped_stale += len(self._groups) - len(fresh)
        self._groups = fresh

    def step_done(self) -> None:
        """The optimizer step that used the last taken groups has ended."""
        with self._cond:
            self._busy = False
            self._cond.notify_all()

    def call(self, fn: Callable, *args, timeout: float | None = None):
        """fn(*args), run by the trainer between two optimizer steps (or here, once it has
        finished); its result. Raises TimeoutError if the trainer does not ask for data
        in time (a long step), and RuntimeError if it failed."""
        item = Call(fn, args)
        with self._cond:
            if self._failed is not None:
                raise RuntimeError(f"the trainer has stopped: {self._failed}")
            if not self._finished:
                self._calls.append(item)
                self._cond.notify_all()
        if self._finished:
            return fn(*args)
        try:
            return item.done.result(timeout)
        except FutureTimeout:
            with self._cond:
                if item in self._calls:
                    self._calls.remove(item)
                    raise TimeoutError(f"the trainer did not finish its step within "
                                       f"{timeout} s") from None
            return item.done.result()  # it started meanwhile: let it finish

    def close(self, failure: str | None = None) -> None:
        """The trainer has stopped, having finished or with `failure`: calls waiting for it
        then run here, or fail."""
        with self._cond:
            self._finished, self._failed, self._busy = failure is None, failure, False
            waiting, self._calls = list(self._calls), deque()
            self._cond.notify_all()
        for item in waiting:
            if failure is None:
                item.run()
            else:
                item.done.set_exception(RuntimeError(f"the trainer has stopped: {failure}"))

    def wait_drained(self, timeout: float | None = None) -> bool:
        """Wait until the trainer is idle with less than one batch left; False on timeout."""
        with self._cond:
            return self._cond.wait_for(
                lambda: not self._busy and len(self._groups) < self.batch_groups, timeout)

    def wait_pending(self, at_most: int, timeout: float | None = None) -> bool:
        """Wait until at most `at_most` groups wait, or fewer than one batch: the trainer
        cannot take those until more groups come, so waiting longer would hang a loop
        whose rounds hand over fewer groups than a batch (or none). False on timeout."""
        with self._cond:
            return self._cond.wait_for(
                lambda: len(self._groups) <= at_most or len(self._groups) < self.batch_groups,
                timeout)

    def pending(self) -> int:
        with self._cond:
            return len(self._groups)


class Call:
    """A function queued for the trainer's thread, and its future result."""

    def __init__(self, fn: Callable, args: tuple):
        self.fn, self.args, self.done = fn, args, Future()

    @property
    def name(self) -> str:
        return self.fn.__name__

    def run(self, runner: Callable[[], Any] | None = None) -> None:
        """Run it (through `runner` if given) and hand over the result or the error;
        the trainer goes on either way."""
        try:
            self.done.set_result(runner() if runner else self.fn(*self.args))
        except Exception as exc:
            self.done.set_exception(exc)


class _StepDone(TrainerCallback):
    """Marks the end of each optimizer step on the feed."""

    def __init__(self, feed: SampleFeed):
        self.feed = feed

    def on_step_end(self, args, state, control, **kwargs):
        self.feed.step_done()


def make_rollout_func(feed: SampleFeed | None, timeout: float | None = None, group=None,
                      run_call: Callable | None = None):
    """TRL `rollout_func`: ignores the placeholder prompts, returns the next groups; in a
    learner group (`LearnerGroup`), this rank's share of them."""

    def rollout_func(prompts: list, trainer) -> dict[str, Any]:
        n = len(prompts) // trainer.num_generations
        groups = (feed.take(n, timeout) if group is None
                  else group.share(feed, n, timeout, run_call))
        rows = [sample for group in groups for sample in group]
        return {"prompt_ids": [s.prompt_ids for s in rows],
                "completion_ids": [s.completion_ids for s in rows],
                "logprobs": [s.logprobs for s in rows],
                "zeroplay_reward": [s.reward for s in rows]}

    return rollout_func


def sandbox_reward(prompts, completions, zeroplay_reward, **kwargs) -> list[float]:
    """The reward the sandbox (solver) or learnability (proposer) already gave each sample.

    >>> sandbox_reward(["p", "p"], ["a", "b"], zeroplay_reward=[1.0, 0.0])
    [1.0, 0.0]
    """
    return [float(r) for r in zeroplay_reward]


def _trainer_class():
    from trl import GRPOTrainer

    class BehaviourGRPOTrainer(GRPOTrainer):
        """GRPOTrainer whose importance ratio uses the actors' behaviour log-probs, and
        whose KL reference (beta > 0) is loaded from `reference_dir`, not from the path
        the policy was first loaded from."""

        def __init__(self, *, model, args, reference_dir: Path | None = None, **kwargs):
            if args.use_vllm and args.vllm_importance_sampling_correction:
                raise ConfigError(
                    "TRL's vLLM importance-sampling correction would weight every token a "
                    "second time: the ratio is already taken against the rollout actors' "
                    "behaviour log-probs; leave use_vllm off (zeroplay's rollout actors "
                    "generate) or set vllm_importance_sampling_correction=False")
            if args.beta == 0:
                super().__init__(model=model, args=args, **kwargs)
                return
            if reference_dir is None or not (reference_dir / "config.json").is_file():
                raise ValueError(f"beta={args.beta:g} needs a saved KL reference, and "
                                 f"{reference_dir} holds none (see save_reference)")
            # TRL builds the reference from the config's path on disk: point it at the
            # saved reference for as long as the trainer is built.
            loaded_from = model.config._name_or_path
            model.config._name_or_path = str(reference_dir)
            try:
                super().__init__(model=model, args=args, **kwargs)
            finally:
                model.config._name_or_path = loaded_from

        def _generate_and_score_completions(self, inputs):
            out = super()._generate_and_score_completions(inputs)
            if "sampling_per_token_logps" in out:
                # TRL otherwise takes the learner's own log-probs as "old" (ratio 1 on the
                # first pass); the samples were drawn by the actors' policy version.
                out["old_per_token_logps"] = out["sampling_per_token_logps"]
            return out

    return BehaviourGRPOTrainer


def compute_args(cfg: Config, workers: int = 1) -> dict[str, Any]:
    """Trainer flags for the learner's precision, memory and sharding: on a GPU, autocast
    to policy.dtype over the weights learner_policy loaded (fp32 masters under `mixed`),
    on CPU none; whether activations are recomputed; for a trainer of several workers,
    FSDP2 (each worker holds a shard of the weights, gradients and optimizer states)."""
    import torch

    on_gpu = torch.cuda.is_available() and cfg.policy.device != "cpu"
    dtype, recompute = cfg.policy.dtype, cfg.learner.gradient_checkpointing
    args = {"use_cpu": not on_gpu, "bf16": on_gpu and dtype == "bfloat16",
            "gradient_checkpointing": recompute,
            # fp16 needs fp32 masters: its gradient scaler cannot unscale fp16 gradients
            "fp16": on_gpu and dtype == "float16" and cfg.learner.precision == "mixed"}
    if workers > 1:  # FSDP recomputes in its own wrapping
        args.update(fsdp=True, gradient_checkpointing=False, fsdp_config={
            "version": 2, "state_dict_type": "FULL_STATE_DICT", "reshard_after_forward": True,
            "activation_checkpointing": recompute})
    return args


def grpo_config(cfg: Config, output_dir: str, max_steps: int):
    """TRL's GRPOConfig from zeroplay's learner section (same names where TRL has them)."""
    from trl import GRPOConfig

    lc, rc = cfg.learner, cfg.rollout
    return GRPOConfig(
        output_dir=output_dir, max_steps=max_steps, learning_rate=lc.learning_rate,
        per_device_train_batch_size=lc.per_device_train_batch_size,
        gradient_accumulation_steps=lc.gradient_accumulation_steps,
        num_generations=rc.num_generations, max_completion_length=rc.max_new_tokens,
        loss_type=lc.loss_type, beta=lc.beta, epsilon=lc.epsilon,
        epsilon_high=lc.epsilon_high if lc.epsilon_high is not None else lc.epsilon,
        delta=lc.delta,
        scale_rewards=lc.scale_rewards, temperature=rc.temperature,
        **compute_args(cfg, cfg.cluster.learner.num_workers), report_to=[], logging_steps=1,
        save_strategy="no",
        shuffle_dataset=False, seed=cfg.run.seed, disable_tqdm=True,
    )


def build_grpo_trainer(model, tokenizer, cfg: Config, feed: SampleFeed | None, output_dir: str,
                       max_steps: int = 1_000_000, timeout: float | None = None,
                       reference_dir: Path | None = None, group=None,
                       run_call: Callable | None = None):
    """A BehaviourGRPOTrainer fed by `feed` for up to `max_steps` optimizer steps. With
    `learner.beta > 0` its KL reference is the model saved in `reference_dir`. In a
    learner group (`LearnerGroup`, FSDP2) only rank 0 has a feed, and `run_call(name,
    args)` runs the calls queued on it on every rank."""
    import os

    from datasets import Dataset

    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    args = grpo_config(cfg, output_dir, max_steps)
    rows = max_steps * args.per_device_train_batch_size * args.gradient_accumulation_steps
    placeholder = Dataset.from_dict({"prompt": ["<zeroplay rollout>"] * min(rows, 10_000_000)})
    from transformers import PrinterCallback

    trainer_cls = _trainer_class()
    model.train()
    trainer = trainer_cls(model=model, reward_funcs=sandbox_reward, args=args,
                          train_dataset=placeholder, processing_class=tokenizer,
                          rollout_func=make_rollout_func(feed, timeout, group, run_call),
                          reference_dir=reference_dir)
    trainer.remove_callback(PrinterCallback)  # metrics go to zeroplay's own sinks
    if feed is not None:
        trainer.add_callback(_StepDone(feed))
    return trainer
