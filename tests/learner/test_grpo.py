"""GRPO on rollout groups with TRL: rewarded completions go up, the ratio uses the
actors' behaviour log-probs, stale groups are dropped."""

import pytest
import torch

from zeroplay.actors.generation import HFGenerator, SamplingParams
from zeroplay.actors.policy import load_policy
from zeroplay.config import load_config
from zeroplay.handoff import RolloutSample
from zeroplay.learner.grpo import SampleFeed, build_grpo_trainer

CFG = load_config(None, ["learner.per_device_train_batch_size=4", "learner.gradient_accumulation_steps=1", "rollout.num_generations=4",
                         "run.overlap=false",  # groups are fed by hand, not by overlapped rounds
                         "learner.learning_rate=1e-3", "rollout.max_new_tokens=12"])


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


def test_feed_holds_the_trainer_between_steps_and_reports_drained():
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
    taken = []
    with feed.between_steps(1.0):  # e.g. a checkpoint: the trainer may not start a step
        feed.put([group()])
        worker = threading.Thread(target=lambda: taken.append(feed.take(2)))
        worker.start()
        worker.join(0.2)
        assert worker.is_alive() and not taken
    worker.join(5)
    assert len(taken[0]) == 2 and feed.pending() == 0
    with pytest.raises(TimeoutError), feed.between_steps(0.05):  # that step has not ended
        pass


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
