import pytest

from zeroplay.config import load_config


@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory):
    """One tiny model for the whole session (built once, from scratch, offline)."""
    from zeroplay.actors.policy import load_policy

    cache = tmp_path_factory.mktemp("tiny-cache")
    load_policy(load_config(None).policy, cache_dir=cache)
    return cache


@pytest.fixture(scope="session")
def tiny(tiny_cache):
    from zeroplay.actors.policy import load_policy

    return load_policy(load_config(None).policy, cache_dir=tiny_cache)


@pytest.fixture(scope="session")
def ray_local():
    """A real local Ray runtime; it pretends to have one H200 so placement can be shown."""
    import ray

    ray.init(num_cpus=2, num_gpus=1, resources={"accelerator_type:H200": 1},
             include_dashboard=False, namespace="zeroplay-test", log_to_driver=False)
    yield ray
    ray.shutdown()
