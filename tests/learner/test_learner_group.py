"""Two learner workers on gloo (FSDP2 through TRL and accelerate, real Ray actors) train
like one worker: same losses and gathered weights, and a checkpoint that one worker and a
group of two resume, with activations recomputed as the cluster config has them."""

import time

import pytest
import torch

from zeroplay.actors.generation import HFGenerator
from zeroplay.actors.group import make_actor
from zeroplay.actors.policy import load_policy
from zeroplay.actors.sampling import SamplingParams
from zeroplay.actors.weights import WeightStore
from zeroplay.config import load_config
from zeroplay.handoff import RolloutSample
from zeroplay.learner.actor import LearnerActor

pytestmark = pytest.mark.slow  # Ray, TRL and three learner processes

STEPS = 3
# Tolerances: the two workers sum gradients in another order than one worker does
# (reduce-scatter over gloo), and AdamW's first steps move each weight by about the
# learning rate whatever the gradient's size, so float32 rounding shows up there.
LOSS_ATOL, WEIGHT_ATOL = 1e-6, 1e-4


def _overrides(workers: int) -> list[str]:
    # Activations recomputed, as the cluster config has it: a group wraps each layer for
    # it (FSDP's activation checkpointing), which renames the layers' parameters.
    return ["rollout.num_generations=4", "rollout.max_new_tokens=12",
            "learner.gradient_checkpointing=true",
            f"learner.per_device_train_batch_size={8 // workers}",  # 8 rows per step in all
            "learner.gradient_accumulation_steps=1", "learner.learning_rate=1e-3",
            "learner.max_staleness=100", "run.overlap=false",
            f"cluster.learner.num_workers={workers}", "cluster.learner.num_cpus=0.5"]


def _groups(tiny_cache) -> list[list[RolloutSample]]:
    """2 groups per optimizer step, rewarded differently, drawn once for every arm."""
    model, tok = load_policy(load_config(None).policy, cache_dir=tiny_cache)
    groups = []
    for i in range(2 * STEPS):
        outs = HFGenerator(model, tok, version=0, seed=i).generate(
            [f"def f{i}(x):"], 4, SamplingParams(max_new_tokens=12))
        rewards = [1.0, 0.0, 1.0, 0.0] if i % 2 else [0.0, 1.0, 1.0, 1.0]
        groups.append([RolloutSample("solver", f"g{i}", o.prompt_ids, o.completion_ids,
                                     o.logprobs, r, 0, 0, None, o.finish_reason, "")
                       for o, r in zip(outs, rewards, strict=True)])
    return groups


def _train(ray, tiny_cache, run_dir, workers: int, groups, resume_step=None):
    """Train `workers` learner workers on `groups` (2 a step), from checkpoint
    `resume_step` if given; (losses, newest version, published weights, workers, store)."""
    cfg = load_config(None, _overrides(workers))
    name = f"weights-group-{workers}-{resume_step}"
    store = ray.remote(WeightStore).options(name=name).remote()
    learners = [make_actor(LearnerActor, cfg.cluster.learner, f"learner-{name}-{rank}",
                           restarts=0).remote(cfg.model_dump(mode="json"), name, [],
                                              str(run_dir), str(tiny_cache), resume_step, rank)
                for rank in range(workers)]
    master = ray.get(learners[0].address.remote()) if workers > 1 else None
    version = ray.get([learner.start.remote(master) for learner in learners])[0]
    ray.get(learners[0].submit.remote(groups))
    steps = len(groups) // 2
    status = ray.get(learners[0].wait_for_step.remote((resume_step or 0) + steps, 600))
    # The last step's loss and publish follow its end; a resumed group restores the
    # earlier log history only when its trainer begins, so count the whole history.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (len(status.logs) < (resume_step or 0) + steps or
                                           ray.get(store.latest.remote())[0] < version + steps):
        time.sleep(0.1)
        status = ray.get(learners[0].status.remote())
    assert status.error is None, status.error
    losses = [entry["loss"] for entry in status.logs]
    version, box = ray.get(store.latest.remote())
    return losses, version, ray.get(box[0]), learners, store


def _gap(a: dict, b: dict) -> float:
    assert set(a) == set(b)
    return max((a[k] - b[k]).abs().max().item() for k in a)


def test_two_workers_train_like_one_and_resume_like_one(ray_local, tiny_cache, tmp_path):
    groups = _groups(tiny_cache)
    one_losses, one_version, one_weights, one, store1 = _train(
        ray_local, tiny_cache, tmp_path / "one", 1, groups)
    ray_local.get(one[0].checkpoint.remote(STEPS, {"step": STEPS}))
    two_losses, two_version, two_weights, two, store2 = _train(
        ray_local, tiny_cache, tmp_path / "two", 2, groups)
    path = ray_local.get(two[0].checkpoint.remote(STEPS, {"step": STEPS}))
    for actor in [*one, *two, store1, store2]:
        ray_local.kill(actor)

    assert len(one_losses) == len(two_losses) == STEPS
    assert one_version == two_version == STEPS  # rank 0 published each step, once
    print("losses", one_losses, two_losses)
    assert two_losses == pytest.approx(one_losses, abs=LOSS_ATOL)
    gap = _gap(two_weights, one_weights)
    moved = _gap(one_weights, _initial_weights(tiny_cache))
    print(f"largest weight difference {gap:.2e}; the weights moved by up to {moved:.2e}")
    assert gap < WEIGHT_ATOL < moved

    # rank 0 wrote the whole model and optimizer, as one worker does
    assert path == str(tmp_path / "two" / "checkpoints" / f"step-{STEPS}")
    mine = torch.load(f"{path}/optimizer.pt", weights_only=True)
    theirs = torch.load(tmp_path / "one" / "checkpoints" / f"step-{STEPS}" / "optimizer.pt",
                        weights_only=True)
    assert [g["params"] for g in mine["param_groups"]] == \
        [g["params"] for g in theirs["param_groups"]]
    for index, state in theirs["state"].items():
        for key in ("exp_avg", "exp_avg_sq"):
            assert torch.allclose(mine["state"][index][key], state[key], atol=1e-5), (index, key)

    # one worker and a new group of two resume that checkpoint and take the same step:
    # the group's optimizer state, schedule and step count came back
    more = groups[:2]
    resumed = {}
    for workers in (1, 2):
        losses, version, weights, actors, store = _train(
            ray_local, tiny_cache, tmp_path / "two", workers, more, resume_step=STEPS)
        resumed[workers] = losses, version, weights
        assert ray_local.get(actors[0].status.remote()).step == STEPS + 1
        for actor in [*actors, store]:
            ray_local.kill(actor)
    assert resumed[1][1] == resumed[2][1] == STEPS + 2  # its resume publish, then a step
    assert len(resumed[1][0]) == STEPS + 1  # the log history came back, too
    assert resumed[2][0] == pytest.approx(resumed[1][0], abs=LOSS_ATOL)
    resumed_gap, step_size = _gap(resumed[2][2], resumed[1][2]), _gap(resumed[1][2], two_weights)
    print(f"after resuming: largest difference {resumed_gap:.2e}, the step moved "
          f"{step_size:.2e}")
    assert resumed_gap < WEIGHT_ATOL < step_size


def _initial_weights(tiny_cache) -> dict:
    model, _ = load_policy(load_config(None).policy, cache_dir=tiny_cache)
    return {k: v.detach() for k, v in model.state_dict().items()}


def test_a_dead_worker_is_a_learner_death_and_fails_its_peer(ray_local, tiny_cache, tmp_path):
    """The loop talks to rank 0 only: a dead rank 1 must still be noticed (the loop then
    restarts the whole group), and rank 0's trainer must fail, not hang, in the
    collectives it shared with it."""
    from zeroplay.launch.learners import LearnerDied, check_workers

    groups = _groups(tiny_cache)
    _, _, _, learners, store = _train(ray_local, tiny_cache, tmp_path, 2, groups[:2])
    check_workers(learners)  # both alive
    ray_local.kill(learners[1])
    # ray.kill only asks the GCS to kill the actor: a call sent just after it can still be
    # served, so the death must be seen within a deadline, not at once.
    deadline = time.monotonic() + 30
    while True:
        try:
            check_workers(learners)
        except LearnerDied:
            break
        assert time.monotonic() < deadline, "check_workers never saw the killed worker"
        time.sleep(0.1)
    ray_local.get(learners[0].submit.remote(groups[2:4]))
    status = ray_local.get(learners[0].wait_for_step.remote(2, 120))
    assert status.error is not None and status.step == 1, status
    for actor in [learners[0], store]:
        ray_local.kill(actor)
