"""configs/ray-cluster.yaml is a valid Ray cluster launcher config whose node types can
hold the actors that configs/cluster-h200-h20.yaml places on them."""

import json
import math
from pathlib import Path

import jsonschema
import pytest
import ray.autoscaler
import yaml

from zeroplay.config import load_config

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "configs" / "ray-cluster.yaml"


@pytest.fixture(scope="module")
def template():
    return yaml.safe_load(TEMPLATE.read_text())


@pytest.fixture(scope="module")
def cluster_cfg():
    return load_config(ROOT / "configs" / "cluster-h200-h20.yaml")


def test_template_matches_rays_cluster_schema(template):
    schema_path = Path(ray.autoscaler.__file__).parent / "ray-schema.json"
    jsonschema.validate(template, json.loads(schema_path.read_text()))


def test_template_passes_rays_own_validation_with_defaults_filled_in(template):
    from ray.autoscaler._private.util import prepare_config, validate_config

    validate_config(prepare_config(template))


def test_head_is_a_cpu_node_type(template):
    head = template["available_node_types"][template["head_node_type"]]
    assert "GPU" not in head["resources"]


def _node_type_for(template, spec):
    key = f"accelerator_type:{spec.accelerator_type}"
    types = {name: t for name, t in template["available_node_types"].items()
             if key in t["resources"]}
    assert len(types) == 1, f"one node type should offer {key}, found {sorted(types)}"
    return next(iter(types.items()))


@pytest.mark.parametrize(("role", "node_type", "accelerator"),
                         [("rollout", "h200", "H200"), ("learner", "h20", "H20")])
def test_gpu_roles_land_on_their_node_type(template, cluster_cfg, role, node_type, accelerator):
    spec = getattr(cluster_cfg.cluster, role)
    assert spec.accelerator_type == accelerator
    name, node = _node_type_for(template, spec)
    assert name == node_type
    res = node["resources"]
    assert res["GPU"] >= spec.num_gpus and res["CPU"] >= spec.num_cpus
    per_node = min(res["GPU"] // spec.num_gpus, res["CPU"] // spec.num_cpus)
    actors = (cluster_cfg.rollout.num_actors if role == "rollout"
              else cluster_cfg.cluster.learner.num_workers)
    assert per_node * node.get("max_workers", 0) >= actors, (
        f"{actors} {role} actors need {math.ceil(actors / per_node)} {name} nodes")


def test_cpu_sandbox_node_type_fits_sandbox_actors_and_pool(template, cluster_cfg):
    node = template["available_node_types"]["cpu-sandbox"]
    assert "GPU" not in node["resources"]
    # The sandbox actor's own CPUs plus its pool of containers at their CPU quota.
    needed = cluster_cfg.cluster.sandbox.num_cpus + (
        cluster_cfg.sandbox.pool_size * cluster_cfg.sandbox.cpus)
    assert node["resources"]["CPU"] >= needed
    # Each sandbox node offers exactly what one sandbox actor asks for, and no other does.
    assert cluster_cfg.cluster.sandbox.resources
    for name, amount in cluster_cfg.cluster.sandbox.resources.items():
        assert node["resources"][name] == amount
        assert all(name not in t["resources"]
                   for key, t in template["available_node_types"].items() if key != "cpu-sandbox")


def test_setup_installs_docker_the_pinned_torch_and_builds_the_sandbox_image(template):
    setup = "\n".join(template["setup_commands"])
    assert "docker.io" in setup and "dockerd" in setup
    assert "torch==2.13.0" in setup
    assert "torch==2.13.0" in (ROOT / "pyproject.toml").read_text()
    assert "zeroplay sandbox build-image" in setup
    assert template["file_mounts"] == {"~/zeroplay": "."}
    for start in (template["head_start_ray_commands"], template["worker_start_ray_commands"]):
        assert any("zeroplay-venv/bin:$PATH" in c and "--metrics-export-port=8080" in c
                   for c in start)


@pytest.mark.parametrize("node_type", ["h200", "h20"])
def test_nodes_that_load_the_policy_fetch_it_first(template, cluster_cfg, node_type):
    commands = template["available_node_types"][node_type]["worker_setup_commands"]
    fetch = [c for c in commands if "zeroplay model fetch" in c]
    assert fetch and "configs/cluster-h200-h20.yaml" in fetch[0]
    assert "/" in cluster_cfg.policy.model  # a hub id, which the fetch puts in the cache
