"""Rollout actors on a real local Ray runtime (CPU; one pretend H200 for placement)."""

import gc
import time

import pytest

from zeroplay.actors.group import make_actor
from zeroplay.actors.prompts import solver_messages
from zeroplay.actors.ray_actors import RolloutActor, WeightStore
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
