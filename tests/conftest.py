"""Shared fixtures. Tests that need Docker use the real engine; CI starts it
(scripts/setup.sh), so a missing daemon is a test failure, never a skip."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def docker_client():
    from zeroplay.errors import DockerUnavailableError
    from zeroplay.sandbox.engine import connect

    try:
        return connect()
    except DockerUnavailableError as exc:
        pytest.fail(f"these tests need the Docker engine: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def sandbox_image(docker_client):
    """The default sandbox image (built by scripts/setup.sh; built here if missing)."""
    from zeroplay.config import Config
    from zeroplay.sandbox.image import build_image

    return build_image(Config().sandbox)


@pytest.fixture(scope="session")
def fast_sandbox_cfg():
    """Sandbox settings with short limits so that hostile jobs end quickly in tests."""
    from zeroplay.config import Config

    return Config().sandbox.model_copy(update={"job_timeout_s": 2.0, "cpu_seconds": 1})


@pytest.fixture(scope="session")
def pool(sandbox_image, fast_sandbox_cfg):
    """One warm pool shared by the sandbox tests (it recycles what hostile jobs touch)."""
    from zeroplay.sandbox.pool import SandboxPool

    with SandboxPool(fast_sandbox_cfg, sandbox_image.tag) as shared:
        yield shared


@pytest.fixture(scope="session")
def seeded_run(tmp_path_factory, pool):
    """A real run directory seeded by the synthesizer through the real sandbox."""
    from zeroplay.config import Config
    from zeroplay.curricula.admit import pool_validator, seed_curriculum
    from zeroplay.curricula.store import CurriculumStore
    from zeroplay.launch.rundir import RunDir

    cfg = Config()
    run = RunDir.create(cfg, tmp_path_factory.mktemp("runs") / "seeded")
    with CurriculumStore.open(run.curriculum_path, create=True, run_id="seeded") as s:
        seeded = seed_curriculum(s, pool_validator(pool, cfg), cfg, n=40, heldout=15, seed=5,
                                 run_id="seeded")
    return run.path, seeded["train"], seeded["heldout-seen"], seeded["heldout-unseen"]


@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory):
    """One tiny model for the whole session (built once, from scratch, offline)."""
    from zeroplay.actors.policy import load_policy
    from zeroplay.config import load_config

    cache = tmp_path_factory.mktemp("tiny-cache")
    load_policy(load_config(None).policy, cache_dir=cache)
    return cache


@pytest.fixture(scope="session")
def tiny(tiny_cache):
    from zeroplay.actors.policy import load_policy
    from zeroplay.config import load_config

    return load_policy(load_config(None).policy, cache_dir=tiny_cache)


@pytest.fixture(scope="session")
def ray_local():
    """A real local Ray runtime; it pretends to have one H200 so placement can be shown."""
    import ray

    ray.init(num_cpus=2, num_gpus=1, resources={"accelerator_type:H200": 1},
             include_dashboard=False, namespace="zeroplay-test", log_to_driver=False)
    yield ray
    ray.shutdown()
