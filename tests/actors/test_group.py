"""Actor groups: batches sharded over every member in service, results in input order, a
member that dies set aside until it is back, members on every node that offers a custom
resource."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from zeroplay.actors.fleet import Fleet, Rollouts
from zeroplay.actors.group import ActorGroup, shard_bounds
from zeroplay.actors.prompts import prompt_text, solver_messages
from zeroplay.config import load_config
from zeroplay.handoff import Completion

from ..curricula.conftest import make_task


@pytest.mark.parametrize("n", [0, 1, 3, 8, 11])
@pytest.mark.parametrize("k", [1, 2, 4])
def test_shards_cover_items_in_order_with_even_sizes(n, k):
    bounds = shard_bounds(n, k)
    covered = [i for a, b in bounds for i in range(a, b)]
    assert covered == list(range(n))
    sizes = [b - a for a, b in bounds]
    assert len(bounds) == min(n, k) and (not sizes or max(sizes) - min(sizes) <= 1)


class Doubler:
    def __init__(self):
        self.seen = []

    def double(self, items, extra):
        self.seen.append(list(items))
        return [2 * x + extra for x in items]


def test_in_process_group_of_one_calls_the_instance():
    member = Doubler()
    group = ActorGroup.local(member)
    assert group.map("double", [1, 2, 3], 1) == [(0, [3, 5, 7])]
    assert group.flat_map("double", [], 1) == [] and member.seen == [[1, 2, 3]]
    with pytest.raises(TypeError, match="no ObjectRefs"):
        group.refs("double", [1], 0)


class Parrot:
    """Generation without a model: one fixed completion per prompt and sample."""

    def generate(self, prompts, n, role, greedy=False):
        return [Completion(i, [1], [2], [-0.5], "x", "stop", 0)
                for i in range(len(prompts)) for _ in range(n)]


def test_rollouts_record_the_prompts_each_actor_answered_since_last_asked():
    rollouts = Rollouts(ActorGroup.local(Parrot(), name="rollout-0"))
    assert len(rollouts.generate([[], [], []], 2, "solver")) == 6
    rollouts.generate([[]], 2, "proposer")
    assert rollouts.take_record() == {"prompts": {"rollout-0": 4}, "away": []}
    assert rollouts.take_record() == {"prompts": {"rollout-0": 0}, "away": []}


class Echo:
    def echo(self, items, dies_in=None):
        """The items back; the actor named `dies_in` crashes instead."""
        import ray

        if ray.get_runtime_context().get_actor_name() == dies_in:
            os._exit(1)
        return list(items)


@pytest.mark.slow
def test_a_member_that_dies_hands_its_shard_to_the_others_until_it_is_back(ray_local):
    from zeroplay.actors.group import ActorsGone
    from zeroplay.config import ResourceSpec

    free = ResourceSpec(num_cpus=0)
    gone = ActorGroup.start(Echo, free, ["gone-0", "gone-1"], restarts=0)
    assert gone.flat_map("echo", [1, 2, 3, 4], "gone-1") == [1, 2, 3, 4]  # in input order
    assert gone.away_names == ["gone-1"] and gone.answered["echo"] == {"gone-0": 4}
    assert gone.call("echo", [0]) == [[0]]  # only the member in service answers
    with pytest.raises(ActorsGone, match="every actor of gone-0, gone-1 failed"):
        gone.map("echo", [1], "gone-0")
    gone.kill()

    back = ActorGroup.start(Echo, free, ["back-0", "back-1"], restarts=1)
    assert back.flat_map("echo", [1, 2, 3], "back-0") == [1, 2, 3]
    assert back.away_names == ["back-0"]
    deadline = time.monotonic() + 120
    while back.away_names:  # Ray restarts it; its probe answers; it is in service again
        assert time.monotonic() < deadline, "the restarted member never came back"
        time.sleep(0.5)
    back.answered.clear()
    assert back.flat_map("echo", [1, 2, 3, 4]) == [1, 2, 3, 4]
    assert back.answered["echo"] == {"back-0": 2, "back-1": 2}
    back.kill()


class BadModel:
    def __init__(self, model):
        from zeroplay.actors.policy import PolicyLoadError

        raise PolicyLoadError(f"policy.model={model!r}: no such path (and not a hub id)")


class Buggy:
    def __init__(self):
        raise ValueError("a bug in zeroplay")


@pytest.mark.slow
def test_an_actor_that_cannot_start_is_one_line_naming_it_unless_it_is_a_bug(ray_local):
    from ray.exceptions import RayActorError

    from zeroplay.actors.group import ActorStartError, make_actor
    from zeroplay.config import ResourceSpec

    spec = ResourceSpec(num_cpus=0)
    bad = ActorGroup([make_actor(BadModel, spec, "bad-0", restarts=0).remote("/x")], ["bad-0"])
    with pytest.raises(ActorStartError) as err:
        bad.call("__ray_ready__")
    assert str(err.value) == ("actor bad-0 could not start: policy.model='/x': no such path "
                              "(and not a hub id)")
    buggy = ActorGroup([make_actor(Buggy, spec, "buggy-0", restarts=0).remote()], ["buggy-0"])
    with pytest.raises(RayActorError, match="a bug in zeroplay"):  # keeps its traceback
        buggy.call("__ray_ready__")


@pytest.mark.slow
@pytest.mark.docker
def test_four_rollout_actors_share_one_rounds_prompts_in_order(ray_local, tiny_cache):
    cfg = load_config(None, ["rollout.num_actors=4", "cluster.rollout.num_cpus=0.25",
                             "rollout.max_new_tokens=8", "sandbox.pool_size=1"])
    tasks = [make_task(i) for i in range(8)]
    prompts = [solver_messages(t) for t in tasks]
    with Fleet.on_ray(cfg, str(tiny_cache), prefix="grp-") as fleet:
        assert len(fleet.rollouts.group) == 4
        outs = fleet.rollouts.generate(prompts, 2, "solver")
        stats = fleet.rollouts.group.call("stats")
    assert [s["prompts"] for s in stats] == [2, 2, 2, 2]  # every actor got its share
    assert [o.prompt_index for o in outs] == [i for i in range(8) for _ in range(2)]
    from zeroplay.actors.policy import load_policy

    _, tokenizer = load_policy(cfg.policy, cache_dir=tiny_cache)
    for out in outs:  # each completion continues the prompt it is numbered with
        text = prompt_text(tokenizer, prompts[out.prompt_index])
        assert out.prompt_ids == tokenizer(text, add_special_tokens=False)["input_ids"]


@pytest.mark.slow
@pytest.mark.docker
def test_judging_reaches_the_sandbox_actor_of_each_sandbox_node(sandbox_image, tmp_path):
    """Two Ray nodes on loopback offer `zeroplay_sandbox`, a third does not: one sandbox
    actor lands on each of the two, and one batch's judge jobs reach both."""
    script = Path(__file__).with_name("two_node_judge.py")
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=600, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(report["sandbox_nodes"]) == 2
    assert set(report["sandbox_nodes"]) <= set(report["offering_nodes"])
    assert report["plain_node"] not in report["sandbox_nodes"]
    assert all(n > 0 for n in report["judged"]) and sum(report["judged"]) == 8
    assert report["statuses"] == ["pass", "fail"] * 4  # results in input order
