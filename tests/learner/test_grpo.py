"""GRPO on rollout groups with TRL: rewarded completions go up, the ratio uses the
actors' behaviour log-probs, stale groups are dropped."""

import pytest
import torch

from zeroplay.actors.generation import HFGenerator
from zeroplay.actors.policy import load_policy
from zeroplay.actors.sampling import SamplingParams
from zeroplay.config import load_config
from zeroplay.handoff import RolloutSample
from zeroplay.learner.grpo import SampleFeed, build_grpo_trainer

CFG_OVERRIDES = ["learner.per_device_train_batch_size=4", "learner.gradient_accumulation_steps=1",
                 "rollout.num_generations=4",
                 "run.overlap=false",  # groups are fed by hand, not by overlapped rounds
                 "learner.learning_rate=1e-3", "rollout.max_new_tokens=12"]
CFG = load_config(None, CFG_OVERRIDES)


@pytest.fixture
def policy(tmp_path_factory):
    cache = tmp_path_factory.getbasetemp() / "tiny-cache-learner"
    return load_policy(CFG.policy, cache_dir=cache)


def _group(model, tok, rewards, version=0, shift=0.0):
    outs = HFGenerator(model, tok, version=version, seed=0).generate(
        ["def f(x):"], len(rewards), SamplingParams(max_new_tokens=12))
    return [RolloutSample("solver", "g", o.prompt_ids, o.completion_ids,
                          [lp + shift for lp in o.logprobs], r, version, 0, None,
                          o.finish_reason, "") for o, r in zip(outs, rewards, strict=True)]


def _sequence_logprob(model, sample):
    ids = torch.tensor([sample.prompt_ids + sample.completion_ids])
    with torch.no_grad():
        logits = model(ids).logits[0].float()
    start = len(sample.prompt_ids) - 1
    lp = torch.log_softmax(logits[start:start + len(sample.completion_ids)], -1)
    return lp.gather(-1, torch.tensor(sample.completion_ids)[:, None]).sum().item()


@pytest.mark.slow
def test_rewarded_completions_become_more_likely(policy, tmp_path):
    model, tok = policy
    group = _group(model, tok, [1.0, 0.0, 1.0, 0.0])
    before = [_sequence_logprob(model, s) for s in group]
    feed = SampleFeed(4, max_staleness=1)
    feed.put([group] * 3)
    build_grpo_trainer(model, tok, CFG, feed, str(tmp_path), max_steps=3, timeout=120).train()
    model.eval()
    after = [_sequence_logprob(model, s) for s in group]
    moved = [a - b for a, b in zip(after, before, strict=True)]
    assert moved[0] > 0 and moved[2] > 0 and moved[1] < 0 and moved[3] < 0, moved
    assert feed.pending() == 0


@pytest.mark.slow
def test_importance_ratio_uses_the_actors_logprobs(policy, tmp_path):
    model, tok = policy
    group = _group(model, tok, [1.0, 0.0, 0.0, 1.0], shift=-0.3)  # behaviour != learner
    feed = SampleFeed(4, max_staleness=1)
    feed.put([group])
    trainer = build_grpo_trainer(model, tok, CFG, feed, str(tmp_path), max_steps=1, timeout=120)
    seen = {}
    original = trainer._compute_loss

    def spy(model_, inputs):
        seen.update(inputs)
        return original(model_, inputs)

    trainer._compute_loss = spy
    trainer.train()
    old = seen["old_per_token_logps"]
    mask = seen["completion_mask"].bool()
    behaviour = torch.zeros_like(old)
    by_ids = {tuple(s.completion_ids): s for s in group}
    for row, ids in enumerate(seen["completion_ids"]):  # TRL shuffles rows: match by tokens
        sample = by_ids[tuple(ids[mask[row]].tolist())]
        behaviour[row, :len(sample.logprobs)] = torch.tensor(sample.logprobs)
    assert torch.allclose(old[mask], behaviour[mask], atol=1e-5)
    learner_own = behaviour + 0.3  # what TRL would have used without the correction
    assert not torch.allclose(old[mask], learner_own[mask], atol=1e-2)


def test_stale_groups_are_dropped_and_counted():
    def group(version):
        return [RolloutSample("solver", "g", [1], [2], [-1.0], 0.0, version, 0, None, "stop", "")
                for _ in range(2)]

    feed = SampleFeed(2, max_staleness=1)
    feed.policy_version = 5
    feed.put([group(2), group(3), group(4), group(5)])
    taken = feed.take(2)
    assert [g[0].policy_version for g in taken] == [4, 5]
    assert feed.dropped_stale == 2


def test_groups_must_be_whole():
    feed = SampleFeed(4, max_staleness=1)
    with pytest.raises(ValueError, match="needs 4 samples, got 3"):
        feed.put([[RolloutSample("solver", "g", [1], [2], [-1.0], 0.0, 0, 0, None, "stop", "")] * 3])


def test_feed_runs_calls_on_the_trainers_thread_between_steps_and_reports_drained():
    import threading

    def group(version=0):
        return [RolloutSample("solver", "g", [1], [2], [-1.0], 0.0, version, 0, None, "stop", "")
                for _ in range(2)]

    feed = SampleFeed(2, max_staleness=1)
    feed.put([group(), group(), group()])
    assert feed.take(2) and feed.pending() == 1
    assert not feed.wait_drained(0.05)  # a step is running on the groups just taken
    feed.step_done()
    assert feed.wait_drained(0.05)  # one group left: less than a batch
    # A call (e.g. a checkpoint) waits until the trainer next asks for data, runs on the
    # trainer's thread before its next step, and hands back its result.
    ran_on = []
    answer = []
    caller = threading.Thread(target=lambda: answer.append(feed.call(
        lambda x: ran_on.append(threading.current_thread().name) or x * 2, 21, timeout=5)))
    caller.start()
    caller.join(0.2)
    assert caller.is_alive() and not ran_on  # the trainer has not asked yet
    feed.put([group()])
    trainer = threading.Thread(target=lambda: feed.take(2), name="trainer")
    trainer.start()
    trainer.join(5)
    caller.join(5)
    assert ran_on == ["trainer"] and answer == [42] and feed.pending() == 0
    # A trainer that does not ask in time: TimeoutError, and the call is withdrawn.
    with pytest.raises(TimeoutError):
        feed.call(ran_on.append, "late", timeout=0.05)
    feed.step_done()
    feed.put([group(), group()])
    feed.take(2)
    assert ran_on == ["trainer"]
    # Once the trainer failed, calls fail at once; once it finished, they run here.
    feed.close("ValueError: boom")
    with pytest.raises(RuntimeError, match="boom"):
        feed.call(ran_on.append, "x", timeout=5)
    feed.close()
    assert feed.call(lambda: "here", timeout=5) == "here"


def test_waiting_for_a_short_queue_never_hangs_on_a_round_without_groups():
    def group():
        return [RolloutSample("solver", "g", [1], [2], [-1.0], 0.0, 0, 0, None, "stop", "")
                for _ in range(2)]

    feed = SampleFeed(2, max_staleness=1)
    feed.put([group(), group(), group()])
    assert not feed.wait_pending(0, 0.05)  # a batch (and more) waits to be trained
    feed.take(2)
    feed.put([])  # a round whose groups dynamic sampling all dropped
    assert feed.wait_pending(0, 0.05)  # one group: the trainer waits for the next round
    feed.step_done()
    assert feed.wait_drained(0.05) and feed.pending() == 1


def _sample(group="g", prompt=(1,), role="solver", version=0):
    return RolloutSample(role, group, list(prompt), [2], [-1.0], 0.0, version, 0, None,
                         "stop", "")


@pytest.mark.parametrize(("odd_one", "named"), [
    (_sample(prompt=(1, 7)), "prompt_ids"),
    (_sample(role="proposer"), "role"),
    (_sample(version=1), "policy_version"),
    (_sample(group="h", prompt=(3,)), "group, prompt_ids"),
])
def test_a_group_mixing_prompts_roles_or_versions_is_refused(odd_one, named):
    feed = SampleFeed(4, max_staleness=1)
    with pytest.raises(ValueError, match=f"GRPO group 'g' mixes samples of different {named}:"):
        feed.put([[_sample()] * 4, [_sample(), _sample(), odd_one, _sample()]])
    assert feed.pending() == 0  # nothing of the call was queued
    feed.put([[_sample()] * 4])
    assert feed.pending() == 1


def test_a_second_importance_correction_is_refused(policy, tmp_path):
    from zeroplay.errors import ConfigError
    from zeroplay.learner.grpo import _trainer_class, grpo_config

    args = grpo_config(CFG, str(tmp_path), 1)
    args.use_vllm = True  # TRL's own vLLM path, whose correction is on by default
    assert args.vllm_importance_sampling_correction
    with pytest.raises(ConfigError, match="second time"):
        _trainer_class()(model=policy[0], args=args, reward_funcs=[], train_dataset=None)


def test_delta_reaches_trl_and_is_checked():
    from zeroplay.errors import ConfigError
    from zeroplay.learner.grpo import grpo_config

    assert grpo_config(load_config(None, ["learner.delta=2.5"]), "/tmp/x", 1).delta == 2.5
    assert grpo_config(CFG, "/tmp/x", 1).delta is None
    with pytest.raises(ConfigError, match=r"must exceed 1 \+ epsilon_high = 1.28"):
        load_config(None, ["learner.delta=1.2"])
    with pytest.raises(ConfigError, match="no effect with loss_type='cispo'"):
        load_config(None, ["learner.delta=2", "learner.loss_type=cispo"])


def test_training_refuses_top_p_below_one_and_evaluation_allows_it():
    from zeroplay.config import GENERATION_ONLY, Config
    from zeroplay.errors import ConfigError

    with pytest.raises(ConfigError, match="rollout.top_p=0.9 samples from a truncated"):
        load_config(None, ["rollout.top_p=0.9"])
    data = Config().model_dump()
    data["rollout"]["top_p"] = 0.9
    assert Config.model_validate(data, context=GENERATION_ONLY).rollout.top_p == 0.9


def _kl_by_step(trainer):
    return {h["step"]: h["kl"] for h in trainer.state.log_history if "kl" in h}


@pytest.mark.slow
def test_kl_reference_is_the_policy_as_rl_began_and_survives_resume(tmp_path):
    from zeroplay.learner.checkpoint import save_reference, save_trainer_checkpoint

    cfg = load_config(None, [*CFG_OVERRIDES, "learner.beta=0.1"])
    model, tok = load_policy(cfg.policy, cache_dir=tmp_path / "cache")
    torch.manual_seed(1)
    with torch.no_grad():  # a warm start: the weights in memory are no longer the ones on disk
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    began = {k: v.clone() for k, v in model.state_dict().items()}
    reference = save_reference(model, tmp_path / "run" / "reference")
    feed = SampleFeed(4, max_staleness=10)
    feed.put([_group(model, tok, [1.0, 0.0, 0.0, 1.0])] * 3)
    trainer = build_grpo_trainer(model, tok, cfg, feed, str(tmp_path / "out"), max_steps=3,
                                 timeout=120, reference_dir=reference)
    trainer.train()
    kl = _kl_by_step(trainer)
    assert abs(kl[1]) < 1e-7 and kl[3] > 1e-6, kl  # anchored where RL began, then moves away
    step = save_trainer_checkpoint(trainer, tmp_path / "run" / "checkpoints", 3, keep=1,
                                   extra={})

    resumed = cfg.model_copy(update={"policy": cfg.policy.model_copy(update={"model": str(step)})})
    model2, tok2 = load_policy(resumed.policy)
    trainer2 = build_grpo_trainer(model2, tok2, resumed, SampleFeed(4, 10), str(tmp_path / "o2"),
                                  max_steps=4, timeout=1, reference_dir=reference)
    ref2 = trainer2.accelerator.unwrap_model(trainer2.ref_model).state_dict()
    assert all(torch.equal(ref2[k], began[k]) for k in began)  # not the checkpoint's weights
    assert not all(torch.equal(model2.state_dict()[k], began[k]) for k in began)
    assert model2.config._name_or_path == str(step)  # the policy's own path is left alone


def test_a_resume_without_its_kl_reference_is_refused(tmp_path):
    from zeroplay.learner.checkpoint import missing_reference

    assert missing_reference(tmp_path / "reference", 0.0) is None
    message = missing_reference(tmp_path / "reference", 0.1)
    assert "learner.beta=0.1" in message and "reference" in message and "new run" in message
    (tmp_path / "reference").mkdir()
    (tmp_path / "reference" / "config.json").write_text("{}")
    assert missing_reference(tmp_path / "reference", 0.1) is None


@pytest.mark.slow
@pytest.mark.parametrize(("precision", "low", "high"), [("mixed", 0.9, 1.0), ("pure", 0.0, 0.1)])
def test_updates_at_lr_1e6_land_in_fp32_master_weights(tmp_path, precision, low, high):
    """A bf16 policy at lr 1e-6: fp32 masters take 10 AdamW steps in nearly every weight;
    bf16 weights round most of those updates away."""
    from zeroplay.learner.actor import learner_policy
    from zeroplay.learner.checkpoint import cpu_weights

    cfg = load_config(None, [*CFG_OVERRIDES, "policy.dtype=bfloat16",
                             "learner.learning_rate=1e-6", f"learner.precision={precision}"])
    policy, served = learner_policy(cfg)
    model, tok = load_policy(policy, cache_dir=tmp_path / "cache")
    assert model.dtype == (torch.float32 if precision == "mixed" else torch.bfloat16)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    feed = SampleFeed(4, max_staleness=100)
    feed.put([_group(model, tok, [1.0, 0.0, 0.0, 1.0])] * 10)
    build_grpo_trainer(model, tok, cfg, feed, str(tmp_path / "out"), max_steps=10,
                       timeout=120).train()
    moved = sum((p.detach() != before[n]).sum().item() for n, p in model.named_parameters())
    share = moved / sum(p.numel() for p in before.values())
    print(f"{precision}: {share:.2%} of the weights moved")
    assert low <= share <= high, share
    published = cpu_weights(model, served)
    assert {v.dtype for v in published.values() if v.is_floating_point()} == {torch.bfloat16}
