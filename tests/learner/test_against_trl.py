"""The learner's loss against stock TRL: on-policy (behaviour log-probs from the same
weights), zeroplay's BehaviourGRPOTrainer and TRL's own GRPOTrainer give the same loss
and the same gradient for every loss type, on left-padded prompts of different lengths
and completions of 3-12 tokens, some ending in eos."""

import copy
import random

import pytest

from zeroplay.actors.policy import load_policy
from zeroplay.config import LossType, load_config
from zeroplay.handoff import RolloutSample
from zeroplay.learner.grpo import (
    SampleFeed,
    build_grpo_trainer,
    grpo_config,
    make_rollout_func,
    sandbox_reward,
)

from ..actors.test_generator_contract import forward_logprobs

pytestmark = pytest.mark.slow  # builds 2 TRL trainers per loss type
TOLERANCE = 1e-5
BASE = ["learner.per_device_train_batch_size=8", "learner.gradient_accumulation_steps=1",
        "rollout.num_generations=4", "run.overlap=false", "rollout.max_new_tokens=12",
        "rollout.temperature=0.9"]


@pytest.fixture(scope="module")
def policy(tmp_path_factory):
    cfg = load_config(None, BASE)
    return load_policy(cfg.policy, cache_dir=tmp_path_factory.getbasetemp() / "tiny-cache-trl")


def _groups(model, tok, temperature):
    """Two groups of 4 from a fixed seed: prompts of different lengths (TRL left-pads them), completions of
    3-12 tokens, some ending in eos, each with its on-policy behaviour log-probs."""
    rng = random.Random(0)
    prompts = [tok("def f(x):\n    return", add_special_tokens=False)["input_ids"],
               tok("# sort the list xs, then drop duplicates\ndef g(xs):",
                   add_special_tokens=False)["input_ids"]]
    rewards = [[1.0, 0.0, 0.5, 1.0], [0.0, 0.0, 1.0, 0.0]]
    vocab = [t for t in range(tok.vocab_size) if t not in tok.all_special_ids]
    groups = []
    for g, (prompt, group_rewards) in enumerate(zip(prompts, rewards, strict=True)):
        group = []
        for i, reward in enumerate(group_rewards):
            completion = [rng.choice(vocab) for _ in range(rng.randint(3, 12))]
            if i % 2 == 0:
                completion[-1] = tok.eos_token_id
            group.append(RolloutSample(
                "solver", f"g{g}", prompt, completion,
                forward_logprobs(model, prompt, completion, temperature).tolist(), reward, 0, 0,
                None, "stop" if i % 2 == 0 else "length", ""))
        groups.append(group)
    return groups


def _loss_and_grads(trainer):
    # The generation step of TRL's training loop, without its row shuffling.
    inputs = trainer._generate_and_score_completions(
        [{"prompt": "<zeroplay rollout>"} for _ in range(8)])  # TRL writes into each row
    trainer.current_gradient_accumulation_steps = 1
    trainer.model.zero_grad()
    loss = trainer.compute_loss(trainer.model, inputs)
    loss.backward()
    return loss.item(), {n: p.grad.clone() for n, p in trainer.model.named_parameters()
                         if p.grad is not None}


CASES = [(loss, "group") for loss in LossType.__args__] + [
    ("dapo", "batch"), ("dapo", "none"), ("grpo", "none"), ("dr_grpo", "batch")]


@pytest.mark.parametrize(("loss_type", "scale_rewards"), CASES)
def test_on_policy_loss_and_gradient_equal_stock_trl(policy, tmp_path, loss_type,
                                                     scale_rewards):
    from datasets import Dataset
    from trl import GRPOTrainer

    cfg = load_config(None, [*BASE, f"learner.loss_type={loss_type}",
                             f"learner.scale_rewards={scale_rewards}"])
    model, tok = policy
    groups = _groups(model, tok, cfg.rollout.temperature)

    ours_feed, stock_feed = SampleFeed(4, 1), SampleFeed(4, 1)
    ours_feed.put(groups)
    stock_feed.put(groups)
    ours = build_grpo_trainer(copy.deepcopy(model), tok, cfg, ours_feed, str(tmp_path / "a"),
                              max_steps=1, timeout=10)
    stock = GRPOTrainer(model=copy.deepcopy(model).train(), reward_funcs=sandbox_reward,
                        args=grpo_config(cfg, str(tmp_path / "b"), 1),
                        train_dataset=Dataset.from_dict({"prompt": ["<zeroplay rollout>"] * 8}),
                        processing_class=tok, rollout_func=make_rollout_func(stock_feed, 10))
    assert type(stock) is GRPOTrainer and type(ours) is not GRPOTrainer

    loss_ours, grads_ours = _loss_and_grads(ours)
    loss_stock, grads_stock = _loss_and_grads(stock)
    assert abs(loss_ours - loss_stock) <= TOLERANCE, (loss_ours, loss_stock)
    assert grads_ours.keys() == grads_stock.keys() and grads_ours
    worst = max((grads_ours[n] - grads_stock[n]).abs().max().item() for n in grads_ours)
    largest = max(g.abs().max().item() for g in grads_stock.values())
    assert largest > 100 * TOLERANCE, largest  # the groups carry a signal
    assert worst <= TOLERANCE, worst
    print(f"{loss_type}/{scale_rewards}: |loss diff| {abs(loss_ours - loss_stock):.2e}, max |grad diff| "
          f"{worst:.2e}")
