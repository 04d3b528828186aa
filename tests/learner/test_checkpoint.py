"""Checkpoints: atomic step-N directories, resume at the right step with identical
weights, and a checkpoint interrupted mid-write does not break resume."""

import pytest
import torch
from transformers import TrainerCallback

from zeroplay.actors.generation import HFGenerator
from zeroplay.actors.policy import load_policy
from zeroplay.actors.sampling import SamplingParams
from zeroplay.config import load_config
from zeroplay.handoff import RolloutSample
from zeroplay.learner.checkpoint import (
    PublishCallback,
    checkpoint_steps,
    latest_checkpoint,
    read_state,
    save_trainer_checkpoint,
)
from zeroplay.learner.grpo import SampleFeed, build_grpo_trainer

pytestmark = pytest.mark.slow  # trains with TRL

CFG = load_config(None, ["learner.per_device_train_batch_size=4", "learner.gradient_accumulation_steps=1", "rollout.num_generations=4",
                         "run.overlap=false",  # groups are fed by hand, not by overlapped rounds
                         "learner.learning_rate=1e-3", "rollout.max_new_tokens=8"])


def _groups(model, tok, n):
    outs = HFGenerator(model, tok, seed=0).generate(["x"], 4, SamplingParams(max_new_tokens=8))
    group = [RolloutSample("solver", "g", o.prompt_ids, o.completion_ids, o.logprobs,
                           float(i % 2), 0, 0, None, o.finish_reason, "")
             for i, o in enumerate(outs)]
    return [group] * n


class EveryTwoSteps(TrainerCallback):
    """Checkpoints between optimizer steps, as the learner actor does between loop steps."""

    def __init__(self, ckpts, extra=dict):
        self.ckpts, self.extra, self.trainer = ckpts, extra, None

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step % 2 == 0:
            save_trainer_checkpoint(self.trainer, self.ckpts, state.global_step, keep=2,
                                    extra=self.extra())


def test_checkpoint_resume_and_interrupted_write(tmp_path):
    model, tok = load_policy(CFG.policy, cache_dir=tmp_path / "cache")
    ckpts = tmp_path / "checkpoints"
    feed = SampleFeed(4, max_staleness=100)
    feed.put(_groups(model, tok, 4))
    published = []
    trainer = build_grpo_trainer(model, tok, CFG, feed, str(tmp_path / "out"), max_steps=4,
                                 timeout=120)  # starved: fail, never hang
    # Publish first, so that a checkpoint records the version its weights were published as.
    trainer.add_callback(PublishCallback(lambda v, w: published.append((v, w)), every=1))
    saver = EveryTwoSteps(ckpts, extra=lambda: {"policy_version": len(published)})
    trainer.add_callback(saver)
    saver.trainer = trainer
    trainer.train()
    assert checkpoint_steps(ckpts) == [2, 4]
    assert [v for v, _ in published] == [1, 2, 3, 4]
    final = {k: v.clone() for k, v in model.state_dict().items()}
    assert all(torch.equal(final[k], published[-1][1][k]) for k in final)
    step4 = latest_checkpoint(ckpts)
    assert step4.name == "step-4" and read_state(step4) == {"step": 4, "policy_version": 4}

    # A crash while writing step-6 leaves a temp dir and a dir without its state file.
    (ckpts / ".tmp-step-6-999").mkdir()
    (ckpts / ".tmp-step-6-999" / "model.safetensors").write_bytes(b"half")
    (ckpts / "step-6").mkdir()
    assert latest_checkpoint(ckpts) == step4

    # "Kill" and resume: a fresh process state, the model loaded back by plain transformers.
    resumed_cfg = load_config(None, [f"policy.model={step4}", *[
        "learner.per_device_train_batch_size=4", "rollout.num_generations=4",
        "learner.gradient_accumulation_steps=1", "run.overlap=false",
        "learner.learning_rate=1e-3", "rollout.max_new_tokens=8"]])
    model2, tok2 = load_policy(resumed_cfg.policy)
    assert all(torch.equal(final[k], v) for k, v in model2.state_dict().items())
    feed2 = SampleFeed(4, max_staleness=100)
    feed2.put(_groups(model2, tok2, 2))
    trainer2 = build_grpo_trainer(model2, tok2, resumed_cfg, feed2, str(tmp_path / "out2"),
                                  max_steps=6, timeout=120)
    saver2 = EveryTwoSteps(ckpts)
    trainer2.add_callback(saver2)
    saver2.trainer = trainer2
    trainer2.args.ignore_data_skip = True
    trainer2.train(resume_from_checkpoint=str(step4))
    steps_logged = [h["step"] for h in trainer2.state.log_history if "loss" in h]
    assert steps_logged == sorted(set(steps_logged))  # no step trained twice
    assert [s for s in steps_logged if s > 4] == [5, 6]  # continued at the right step
    assert trainer2.state.global_step == 6
    assert checkpoint_steps(ckpts) == [4, 6]
    assert not (ckpts / ".tmp-step-6-999").exists()
