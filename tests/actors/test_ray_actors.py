"""Rollout actors on a real local Ray runtime (CPU; one pretend H200 for placement)."""

import copy
import gc
import time
from functools import partial

import pytest

from zeroplay.actors.group import make_actor
from zeroplay.actors.prompts import solver_messages
from zeroplay.actors.ray_actors import RolloutActor
from zeroplay.actors.weights import WeightStore, publish_weights, state_digest
from zeroplay.config import ResourceSpec, load_config

from ..curricula.conftest import make_task

pytestmark = pytest.mark.slow
CFG = load_config(None, ["rollout.max_new_tokens=16"])
MESSAGES = [solver_messages(make_task(1))]


@pytest.fixture(scope="module")
def weights(ray_local):
    return ray_local.remote(WeightStore).options(name="weights-test").remote()


@pytest.fixture(scope="module")
def rollout(ray_local, tiny_cache, weights):
    actor = make_actor(RolloutActor, CFG.cluster.rollout, "rollout-test").remote(
        CFG.model_dump(mode="json"), "weights-test", str(tiny_cache))
    ray_local.get(actor.version.remote())
    return actor


def _greedyish(ray, actor):
    outs = ray.get(actor.generate.remote(MESSAGES, 2, "solver"))
    return [o.completion_ids for o in outs], outs


def test_actor_generates_with_logprobs_and_version(ray_local, rollout):
    _, outs = _greedyish(ray_local, rollout)
    assert len(outs) == 2 and all(o.prompt_index == 0 for o in outs)
    assert all(len(o.logprobs) == len(o.completion_ids) for o in outs)
    assert ray_local.get(rollout.version.remote()) == outs[0].policy_version


def test_proposer_prompts_sample_at_the_proposer_temperature(tiny_cache):
    cfg = load_config(None, ["rollout.max_new_tokens=4", "rollout.proposer_temperature=0.5"])
    actor = RolloutActor(cfg.model_dump(mode="json"), cache_dir=str(tiny_cache))
    temperatures, generate = [], actor.generator.generate
    actor.generator.generate = lambda texts, n, params: (
        temperatures.append(params.temperature) or generate(texts, n, params))
    for role, greedy in (("proposer", False), ("solver", False), ("proposer", True)):
        outs = actor.generate(MESSAGES, 2, role, greedy=greedy)
        assert len(outs) == 2
    assert temperatures == [0.5, 1.0, 0.0]


def test_update_weights_changes_generations_and_frees_old_weights(ray_local, rollout, weights,
                                                                   tiny):
    import torch

    model, _ = tiny
    before_version = ray_local.get(rollout.version.remote())
    before, _ = _greedyish(ray_local, rollout)
    core = ray_local._private.worker.global_worker.core_worker
    published = []
    for step in (1, 2):
        torch.manual_seed(step)
        state = {k: v + 0.5 * torch.randn_like(v) for k, v in model.state_dict().items()}
        version = before_version + step
        box = [ray_local.put(state)]
        published.append(box[0].hex().encode())
        ray_local.get(weights.publish.remote(version, box))
        assert ray_local.get(rollout.update_weights.remote(version, box)) == version
        del box, state
    gc.collect()
    after, outs = _greedyish(ray_local, rollout)
    assert outs[0].policy_version == before_version + 2
    assert after != before
    live = set(core.get_all_reference_counts())
    assert published[0] not in live  # the superseded weights were freed
    assert published[1] in live  # the newest is held by the WeightStore


@pytest.mark.parametrize("sync", ["object_store", "collective"])
def test_a_publish_never_waits_behind_a_generate_call(ray_local, tiny_cache, tiny, sync):
    """Two rollout actors each in a 5 s generate call: publishes return at once, the
    call in flight finishes on the weights it started with, the next one serves the
    newest, and a late older version is ignored. Collective: the first publish also
    forms the weight-sync group, while the actors generate."""
    import torch

    from zeroplay.actors.weights import CollectivePublisher

    class SlowRollout(RolloutActor):
        def __init__(self, *args):
            super().__init__(*args)
            generate = self.generator.generate

            def slowly(*args, **kwargs):
                time.sleep(5)  # a long batch
                return generate(*args, **kwargs)

            self.generator.generate = slowly

    store = ray_local.remote(WeightStore).options(name="weights-slow").remote()
    names = ["rollout-slow-0", "rollout-slow-1"]
    publish = (CollectivePublisher("weights-slow", names).publish if sync == "collective"
               else partial(publish_weights, "weights-slow", names))
    free = ResourceSpec(num_cpus=0)
    actors = [make_actor(SlowRollout, free, name).remote(CFG.model_dump(mode="json"),
                                                          "weights-slow", str(tiny_cache))
              for name in names]
    start_version = ray_local.get([a.version.remote() for a in actors])[0]
    model, _ = tiny
    states = {}
    for version in (start_version + 1, start_version + 2, start_version + 3):
        torch.manual_seed(version)
        changed = copy.deepcopy(model)
        with torch.no_grad():
            for parameter in changed.parameters():  # tied lm_head and embedding alike
                parameter.add_(0.1 * torch.randn_like(parameter))
        states[version] = changed.state_dict()
    busy = [a.generate.remote(MESSAGES, 1, "solver") for a in actors]
    time.sleep(1)  # both are inside their 5 s call
    for version in (start_version + 1, start_version + 3):
        began = time.monotonic()
        publish(version, states[version])
        assert time.monotonic() - began < 1.0
    assert [o[0].policy_version for o in ray_local.get(busy)] == [start_version] * 2
    publish(start_version + 2, states[start_version + 2])
    newest = start_version + 3
    assert ray_local.get([a.version.remote() for a in actors]) == [newest] * 2
    assert ray_local.get([a.weights_digest.remote() for a in actors]) == \
        [state_digest(states[newest])] * 2
    outs = ray_local.get([a.generate.remote(MESSAGES, 1, "solver") for a in actors])
    assert [o[0].policy_version for o in outs] == [newest] * 2
    assert ray_local.get(store.latest.remote())[0] == newest
    for actor in [*actors, store]:
        ray_local.kill(actor)


def test_a_collective_publish_reforms_its_group_around_a_restarted_actor(ray_local, tiny_cache,
                                                                        tiny):
    """An actor that restarts has left the weight-sync group: it comes back with the
    WeightStore's newest, the next publish forms the group again (epoch 1), and both
    actors then serve the broadcast weights, bit for bit."""
    import torch

    from zeroplay.actors.weights import CollectivePublisher

    store = ray_local.remote(WeightStore).options(name="weights-sync").remote()
    names = ["rollout-sync-0", "rollout-sync-1"]
    actors = [make_actor(RolloutActor, ResourceSpec(num_cpus=0), name).remote(
        CFG.model_dump(mode="json"), "weights-sync", str(tiny_cache)) for name in names]
    model, _ = tiny
    start = ray_local.get(actors[0].version.remote())
    publisher = CollectivePublisher("weights-sync", names)

    def state(seed):
        torch.manual_seed(seed)
        changed = copy.deepcopy(model)
        with torch.no_grad():
            for parameter in changed.parameters():  # tied lm_head and embedding alike
                parameter.add_(0.1 * torch.randn_like(parameter))
        return changed.state_dict()

    first = state(1)
    record = publisher.publish(start + 1, first)
    assert record == {"version": start + 1, "via": "collective", "digest": state_digest(first),
                      "received": dict.fromkeys(names, state_digest(first))}
    assert ray_local.get([a.weight_sync_epoch.remote() for a in actors]) == [0, 0]
    assert ray_local.get([a.weights_digest.remote() for a in actors]) == \
        [state_digest(first)] * 2
    ray_local.kill(actors[1], no_restart=False)
    epoch = 0
    for _ in range(240):  # the kill takes effect asynchronously: wait for the new process
        try:
            epoch = ray_local.get(actors[1].weight_sync_epoch.remote(), timeout=60)
            if epoch is None:
                break
        except (ray_local.exceptions.RayActorError, ray_local.exceptions.ActorUnavailableError):
            pass
        time.sleep(0.5)
    assert epoch is None  # restarted, and out of the group
    assert ray_local.get(actors[1].version.remote()) == start + 1  # the WeightStore's newest
    assert ray_local.get(actors[1].weights_digest.remote()) == state_digest(first)
    second = state(2)
    assert publisher.publish(start + 2, second)["received"] == \
        dict.fromkeys(names, state_digest(second))
    assert ray_local.get([a.weight_sync_epoch.remote() for a in actors]) == [1, 1]
    assert ray_local.get([a.version.remote() for a in actors]) == [start + 2] * 2
    assert ray_local.get([a.weights_digest.remote() for a in actors]) == \
        [state_digest(second)] * 2
    for actor in [*actors, store]:
        ray_local.kill(actor)


def test_restarted_actor_comes_back_with_the_latest_weights(ray_local, rollout, weights):
    latest, _ = ray_local.get(weights.latest.remote())
    ray_local.kill(rollout, no_restart=False)
    version = None
    for _ in range(60):
        try:
            version = ray_local.get(rollout.version.remote(), timeout=60)
            break
        except (ray_local.exceptions.RayActorError, ray_local.exceptions.ActorUnavailableError):
            time.sleep(1)  # still restarting
    assert version == latest


def test_accelerator_type_places_on_matching_nodes_only(ray_local, tiny_cache):
    h200 = ResourceSpec(num_cpus=0, num_gpus=1, accelerator_type="H200")
    h20 = ResourceSpec(num_cpus=0, num_gpus=1, accelerator_type="H20")

    class Probe:
        def where(self):
            import ray

            return ray.get_runtime_context().get_accelerator_ids()

    placed = make_actor(Probe, h200, "probe-h200").remote()
    assert ray_local.get(placed.where.remote(), timeout=60)["GPU"]  # got the (pretend) GPU
    ray_local.kill(placed)
    pending = make_actor(Probe, h20, "probe-h20").remote()
    ready, _ = ray_local.wait([pending.where.remote()], timeout=3)
    assert ready == []  # no H20 node in this cluster: it stays pending
    ray_local.kill(pending)
