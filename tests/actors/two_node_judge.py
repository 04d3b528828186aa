"""Run by test_group.py in its own process: a three-node Ray cluster on loopback
(ray.cluster_utils), two nodes offering the custom resource `zeroplay_sandbox`; judge one
batch through the sandbox group and print a JSON report on the last line."""

import json

import ray
from ray.cluster_utils import Cluster

from zeroplay.actors.fleet import Sandboxes
from zeroplay.actors.group import ActorGroup
from zeroplay.actors.ray_actors import SandboxActor
from zeroplay.config import load_config
from zeroplay.handoff import TestCase

if __name__ == "__main__":
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    plain = cluster.add_node(num_cpus=1)
    offering = [cluster.add_node(num_cpus=1, resources={"zeroplay_sandbox": 1})
                for _ in range(2)]
    ray.init(address=cluster.address)
    cluster.wait_for_nodes()
    cfg = load_config(None, ["sandbox.pool_size=1", "cluster.sandbox.num_cpus=0",
                             "cluster.sandbox.resources={zeroplay_sandbox: 1}"])
    group = ActorGroup.per_node(SandboxActor, cfg.cluster.sandbox, "sandbox",
                                cfg.model_dump(mode="json"))
    sandboxes = Sandboxes(group)
    tests = [TestCase([["i", x]], ["i", x + 1]) for x in range(3)]
    right, wrong = "def f(x):\n    return x + 1\n", "def f(x):\n    return x\n"
    verdicts = sandboxes.judge([(code, "f", tests) for code in [right, wrong] * 4])
    stats = group.call("stats")
    sandboxes.close()
    print(json.dumps({
        "sandbox_nodes": [s["node_id"] for s in stats],
        "offering_nodes": [n.node_id for n in offering],
        "plain_node": plain.node_id,
        "judged": [s["judge"] for s in stats],
        "statuses": [v.status for v in verdicts],
    }))
    group.kill()
    ray.shutdown()
    cluster.shutdown()
