"""The learner actor on real Ray: trains on rollouts from a real RolloutActor and
publishes weights that the actor then generates with."""

import time
from pathlib import Path

import pytest

from zeroplay.actors.group import make_actor
from zeroplay.actors.prompts import solver_messages
from zeroplay.actors.ray_actors import RolloutActor
from zeroplay.actors.weights import WeightStore, state_digest
from zeroplay.config import load_config
from zeroplay.handoff import RolloutSample
from zeroplay.learner.actor import LearnerActor
from zeroplay.learner.checkpoint import checkpoint_steps, read_state

from ..curricula.conftest import make_task

pytestmark = pytest.mark.slow  # Ray and TRL training

CFG = load_config(None, ["rollout.num_generations=4", "rollout.max_new_tokens=12",
                         "learner.per_device_train_batch_size=4", "learner.learning_rate=1e-3",
                         "learner.gradient_accumulation_steps=1",
                         "learner.sync_every=1",
                         "learner.max_staleness=1",
                         "run.overlap=false"])  # groups are fed by hand, not by rounds


def _groups(ray, rollout, n):
    outs = ray.get(rollout.generate.remote([solver_messages(make_task(1))] * n, 4, "solver"))
    samples = [RolloutSample("solver", str(o.prompt_index), o.prompt_ids, o.completion_ids,
                             o.logprobs, float(i % 2), o.policy_version, 0, None,
                             o.finish_reason, "")
               for i, o in enumerate(outs)]
    return [samples[k:k + 4] for k in range(0, len(samples), 4)]


def test_learner_trains_on_rollouts_and_publishes_to_the_actors(ray_local, tiny_cache, tmp_path):
    cfg_json = CFG.model_dump(mode="json")
    weights = ray_local.remote(WeightStore).options(name="weights-learner").remote()
    rollout = make_actor(RolloutActor, CFG.cluster.rollout, "rollout-learner").remote(
        cfg_json, "weights-learner", str(tiny_cache))
    learner = make_actor(LearnerActor, CFG.cluster.learner.model_copy(update={"num_cpus": 0.5}),
                         "learner").remote(cfg_json, "weights-learner", ["rollout-learner"],
                                           str(tmp_path), str(tiny_cache))
    ray_local.get(learner.start.remote())
    before = ray_local.get(rollout.generate.remote([solver_messages(make_task(2))], 2, "solver"))
    initial_digest = ray_local.get(rollout.weights_digest.remote())
    ray_local.get(learner.submit.remote(_groups(ray_local, rollout, 1)))
    status = ray_local.get(learner.wait_for_step.remote(1, 300))
    assert status.error is None and status.step >= 1
    for _ in range(200):  # the publish of step 1 reaches the actor
        if ray_local.get(rollout.version.remote()) >= 1:
            break
        time.sleep(0.1)
    assert ray_local.get(rollout.version.remote()) == 1
    ray_local.get(learner.submit.remote(_groups(ray_local, rollout, 1)))
    status = ray_local.get(learner.wait_for_step.remote(2, 300))
    assert status.step == 2 and status.error is None
    for _ in range(200):
        if ray_local.get(rollout.version.remote()) >= 2:
            break
        time.sleep(0.1)
    assert ray_local.get(rollout.version.remote()) == 2
    after = ray_local.get(rollout.generate.remote([solver_messages(make_task(2))], 2, "solver"))
    assert after[0].policy_version == 2 and before[0].policy_version == 0
    version, box = ray_local.get(weights.latest.remote())
    published = state_digest(ray_local.get(box[0]))
    assert version == 2
    assert ray_local.get(rollout.weights_digest.remote()) == published != initial_digest
    stale = [[RolloutSample("solver", "old", s.prompt_ids, s.completion_ids, s.logprobs,
                            s.reward, 0, 0, None, s.finish_reason, "") for s in group]
             for group in _groups(ray_local, rollout, 1)]
    ray_local.get(learner.submit.remote(stale))
    for _ in range(200):
        status = ray_local.get(learner.status.remote())
        if status.dropped_stale:
            break
        time.sleep(0.05)
    assert status.dropped_stale == 1 and status.step == 2
    # A record per publish, from the caller's index on; the object store takes no digests.
    later = ray_local.get(learner.status.remote(0, 1))
    assert later.published == [{"version": 2, "via": "object_store", "digest": None,
                                "received": {"rollout-learner": None}}]
    assert later.published_index == 2
    path = ray_local.get(learner.checkpoint.remote(7, {"step": 7}))
    assert checkpoint_steps(tmp_path / "checkpoints") == [7]
    assert read_state(Path(path)) == {"step": 7, "policy_version": 2, "loop": {"step": 7},
                                      "optimizer_step": 2}
    for actor in (learner, rollout, weights):
        ray_local.kill(actor)


def test_kl_reference_is_saved_when_rl_begins_and_kept_on_resume(ray_local, tiny_cache,
                                                                   tmp_path):
    from zeroplay.errors import ConfigError

    cfg_json = CFG.model_copy(update={"learner": CFG.learner.model_copy(
        update={"beta": 0.1})}).model_dump(mode="json")
    weights = ray_local.remote(WeightStore).options(name="weights-kl").remote()
    rollout = make_actor(RolloutActor, CFG.cluster.rollout, "rollout-kl").remote(
        cfg_json, "weights-kl", str(tiny_cache))
    options = CFG.cluster.learner.model_copy(update={"num_cpus": 0.5})

    def learner(resume_step=None):
        return make_actor(LearnerActor, options, "learner-kl").remote(
            cfg_json, "weights-kl", ["rollout-kl"], str(tmp_path), str(tiny_cache), resume_step)

    first = learner()
    ray_local.get(first.start.remote())
    saved = tmp_path / "reference" / "model.safetensors"
    digest = saved.read_bytes()
    ray_local.get(first.submit.remote(_groups(ray_local, rollout, 1)))
    status = ray_local.get(first.wait_for_step.remote(1, 300))
    for _ in range(100):  # the step's log entry follows its end
        if status.logs or status.error:
            break
        time.sleep(0.05)
        status = ray_local.get(first.status.remote())
    assert status.error is None and abs(status.logs[0]["kl"]) < 1e-7, status
    ray_local.get(first.checkpoint.remote(1, {"step": 1}))
    ray_local.kill(first)

    resumed = learner(1)
    ray_local.get(resumed.start.remote())
    assert saved.read_bytes() == digest  # the anchor stays where RL began
    ray_local.kill(resumed)

    saved.parent.rename(tmp_path / "elsewhere")
    orphan = learner(1)
    with pytest.raises(ConfigError, match="learner.beta=0.1 anchors the KL term"):
        ray_local.get(orphan.start.remote())
    for actor in (orphan, rollout, weights):
        ray_local.kill(actor)
