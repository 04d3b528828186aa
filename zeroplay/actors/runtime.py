"""The one way a run, an evaluation or a test brings up Ray: join or start, then check room.

    started = init_ray(cfg, with_learner=True)   # True: this process started the runtime
    ...
    if started: ray.shutdown()

Joins `cluster.address` (or RAY_ADDRESS) when given, sending this machine's Ray auth
token when it has one (`use_local_token`), otherwise starts a local runtime of its own
(never the cluster a `ray start` left on this machine) with as many logical CPUs as the
actors ask for. Then it checks that every actor the
config asks for can be placed: a local runtime that is too small is a ConfigError (nothing
will be added to it); a joined cluster only warns, since nodes may still join.
"""

from __future__ import annotations

import logging
import math
import os

from zeroplay.config import Config, ResourceSpec
from zeroplay.errors import ConfigError

log = logging.getLogger(__name__)

# Actor logs reach the driver: keep library deprecation notices and data progress bars out.
QUIET_WORKERS = {"env_vars": {"PYTHONWARNINGS": "ignore::FutureWarning,ignore::UserWarning",
                              "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
                              "TRANSFORMERS_VERBOSITY": "error"}}


def init_ray(cfg: Config, *, with_learner: bool = False) -> bool:
    """Join or start Ray and check that the actors fit; True if this call started it."""
    import ray

    if ray.is_initialized():  # the caller's runtime: only warn about room
        check_capacity(cfg, with_learner=with_learner, strict=False)
        return False
    address = cfg.cluster.address or os.environ.get("RAY_ADDRESS")
    if address:
        use_local_token()
        ray.init(address=address, namespace=cfg.cluster.namespace, runtime_env=QUIET_WORKERS)
    else:
        demand = sum(s.num_cpus for _, s in role_specs(cfg, with_learner=with_learner))
        num_cpus = cfg.cluster.local_num_cpus or max(os.cpu_count() or 1, math.ceil(demand))
        # "local": a runtime of its own even when `ray start` runs a cluster on this machine
        # (Ray would join that one and refuse num_cpus).
        ray.init(address="local", num_cpus=num_cpus, namespace=cfg.cluster.namespace,
                 include_dashboard=cfg.cluster.dashboard, dashboard_host="127.0.0.1",
                 runtime_env=QUIET_WORKERS)
    try:
        check_capacity(cfg, with_learner=with_learner, strict=not address)
    except Exception:
        if not address:
            ray.shutdown()
        raise
    return not address


def use_local_token() -> None:
    """Send this machine's Ray auth token to the cluster when one is here (RAY_AUTH_TOKEN,
    ~/.ray/auth_token). Ray 2.60 clusters require it by default, but Ray clients send it
    only in token mode, which `ray start` sets for itself (and so for a job's driver)
    and for nobody else: a driver started in a shell would be refused."""
    from ray._private.authentication import authentication_token_setup as auth

    quiet = logging.getLogger(auth.__name__)  # its "token auth is enabled" is not news here
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        auth.maybe_enable_token_auth_if_token_available(warn_if_disabled=False)
    finally:
        quiet.setLevel(level)


def role_specs(cfg: Config, *, with_learner: bool) -> list[tuple[str, ResourceSpec]]:
    """Every actor a run starts, as (role, resources); one sandbox actor counted."""
    c = cfg.cluster
    specs = [("rollout", c.rollout)] * cfg.rollout.num_actors + [("sandbox", c.sandbox)]
    return specs + [("learner", c.learner)] * c.learner.num_workers if with_learner else specs


def check_capacity(cfg: Config, *, with_learner: bool, strict: bool) -> None:
    """Fail (strict: a local runtime, nothing will be added) or warn when the actors that
    `cfg` asks for cannot all be placed, instead of waiting forever for resources."""
    import ray

    specs = role_specs(cfg, with_learner=with_learner)
    have = ray.cluster_resources()
    need: dict[str, float] = {"CPU": sum(s.num_cpus for _, s in specs),
                              "GPU": sum(s.num_gpus for _, s in specs)}
    for _, spec in specs:
        if spec.accelerator_type:
            key = f"accelerator_type:{spec.accelerator_type}"
            need[key] = need.get(key, 0) + 0.001
        for key, amount in spec.resources.items():
            need[key] = need.get(key, 0) + amount
    short = [f"{need[k]:g} {k} (the cluster has {have.get(k, 0):g})"
             for k in need if need[k] > have.get(k, 0) + 1e-9]
    if not short:
        return
    asks = ", ".join(f"{role} num_cpus={s.num_cpus:g} num_gpus={s.num_gpus:g}"
                     + (f" accelerator_type={s.accelerator_type}" if s.accelerator_type else "")
                     + (f" resources={dict(s.resources)}" if s.resources else "")
                     for role, s in dict(specs).items())
    workers = (f", cluster.learner.num_workers={cfg.cluster.learner.num_workers}"
               if with_learner else "")
    message = (f"the run's actors need {'; '.join(short)} ({asks}, "
               f"rollout.num_actors={cfg.rollout.num_actors}{workers})")
    if strict:
        raise ConfigError(f"{message}: lower cluster.<role>.num_cpus/num_gpus, "
                          "rollout.num_actors or cluster.learner.num_workers, or raise "
                          "cluster.local_num_cpus")
    log.warning("%s; the actors wait until the cluster has room", message)
