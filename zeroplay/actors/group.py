"""Actor groups: the members of one actor role, placed from one ResourceSpec, called as one.

    group = ActorGroup.start(RolloutActor, cfg.cluster.rollout, ["rollout-0", "rollout-1"],
                             cfg_json, "weights")
    shards = group.map("generate", prompts, 4, "solver")   # prompts split evenly
    versions = group.call("version")                       # the same call on every member
    sandboxes = ActorGroup.per_node(SandboxActor, cfg.cluster.sandbox, "sandbox", cfg_json)
    local = ActorGroup.local(SandboxActor(cfg_json))       # the same calls, in this process

`map` splits a batch into contiguous, near-equal shards, one per member, calls them all
at once and returns each shard's results with the shard's offset, in input order. A
member that died and was restarted by Ray (`max_restarts`) gets its call once more when
it is back; one whose constructor failed, or that is out of restarts, is not retried,
and the error propagates (a constructor's ZeroplayError as one line naming the actor).
`refs` gives the ObjectRefs for callers that wait themselves.
An in-process group of one runs the same methods directly, without Ray.
Not guaranteed: members joining a cluster after `per_node` ran are not used.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from zeroplay.config import ResourceSpec
from zeroplay.errors import ConfigError, ZeroplayError

log = logging.getLogger(__name__)
MAX_RESTARTS = 3
RESTART_TIMEOUT_S = 300.0


def actor_options(spec: ResourceSpec, name: str, *, restarts: int = MAX_RESTARTS
                  ) -> dict[str, Any]:
    """Ray actor options from a ResourceSpec, the same way for every role."""
    options: dict[str, Any] = {"num_cpus": spec.num_cpus, "num_gpus": spec.num_gpus,
                               "name": name, "max_restarts": restarts,
                               "max_task_retries": 0}
    if spec.accelerator_type:
        options["accelerator_type"] = spec.accelerator_type
    if spec.resources:
        options["resources"] = dict(spec.resources)
    return options


def remote_class(actor_cls: type):
    """`ray.remote(actor_cls)`, with the class's `concurrency_groups` where it declares
    them (Ray takes them only here, not in `.options()`)."""
    import ray

    groups = getattr(actor_cls, "concurrency_groups", None)
    return ray.remote(concurrency_groups=dict(groups))(actor_cls) if groups \
        else ray.remote(actor_cls)


def shard_bounds(n: int, k: int) -> list[tuple[int, int]]:
    """Contiguous (start, end) slices of `n` items over at most `k` members, sizes
    differing by at most one; members that would get nothing get no shard.

    >>> shard_bounds(10, 4)
    [(0, 3), (3, 6), (6, 8), (8, 10)]
    >>> shard_bounds(2, 4)
    [(0, 1), (1, 2)]
    """
    k = max(1, min(k, n))
    size, extra = divmod(n, k)
    bounds, start = [], 0
    for i in range(k):
        end = start + size + (i < extra)
        if end > start:
            bounds.append((start, end))
        start = end
    return bounds


def nodes_offering(spec: ResourceSpec) -> list[dict]:
    """Alive Ray nodes that could each host one actor of `spec`."""
    import ray

    need = {"CPU": spec.num_cpus, "GPU": spec.num_gpus, **spec.resources}
    if spec.accelerator_type:
        need[f"accelerator_type:{spec.accelerator_type}"] = 0.001
    return [node for node in ray.nodes() if node.get("Alive") and
            all(node.get("Resources", {}).get(k, 0) + 1e-9 >= v for k, v in need.items() if v)]


class ActorGroup:
    """Members of one role; `map` shards a batch over them, `call` reaches each."""

    def __init__(self, members: Sequence[Any], names: Sequence[str], *, local: bool = False):
        self.members, self.names, self.is_local = list(members), list(names), local

    @classmethod
    def start(cls, actor_cls: type, spec: ResourceSpec, names: Sequence[str], *args: Any,
              restarts: int = MAX_RESTARTS) -> ActorGroup:
        """One Ray actor per name, all with the same resources and constructor arguments."""

        remote_cls = remote_class(actor_cls)
        members = [remote_cls.options(**actor_options(spec, name, restarts=restarts)
                                      ).remote(*args) for name in names]
        return cls(members, names)

    @classmethod
    def per_node(cls, actor_cls: type, spec: ResourceSpec, prefix: str, *args: Any,
                 restarts: int = MAX_RESTARTS) -> ActorGroup:
        """One actor pinned to each node that offers `spec`'s resources (named
        `<prefix>-<host>-<node>`), e.g. a sandbox pool beside each node's Docker engine."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        nodes = nodes_offering(spec)
        if not nodes:
            raise ConfigError(
                f"no Ray node offers the {prefix} actor's resources (num_cpus={spec.num_cpus:g}, "
                f"num_gpus={spec.num_gpus:g}, resources={dict(spec.resources)}): give a node "
                f"type these resources (configs/ray-cluster.yaml) or lower cluster.{prefix}")
        remote_cls = remote_class(actor_cls)
        members, names = [], []
        for node in nodes:
            name = f"{prefix}-{node['NodeManagerHostname']}-{node['NodeID'][:6]}"
            strategy = NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)
            members.append(remote_cls.options(
                **actor_options(spec, name, restarts=restarts), scheduling_strategy=strategy
            ).remote(*args))
            names.append(name)
        return cls(members, names)

    @classmethod
    def local(cls, instance: Any, name: str = "local") -> ActorGroup:
        """A group of one that calls `instance` in this process (no Ray)."""
        return cls([instance], [name], local=True)

    def __len__(self) -> int:
        return len(self.members)

    def refs(self, method: str, *args: Any, **kwargs: Any) -> list:
        """ObjectRefs of `method(*args)` on every member (Ray groups only)."""
        if self.is_local:
            raise TypeError("an in-process group has no ObjectRefs; use call()")
        return [getattr(m, method).remote(*args, **kwargs) for m in self.members]

    def call(self, method: str, *args: Any, **kwargs: Any) -> list:
        """`method(*args)` on every member, results in member order."""
        if self.is_local:
            return [getattr(m, method)(*args, **kwargs) for m in self.members]
        refs = self.refs(method, *args, **kwargs)
        return [self._get(i, ref, method, args, kwargs) for i, ref in enumerate(refs)]

    def map(self, method: str, items: Sequence[Any], *args: Any, **kwargs: Any
            ) -> list[tuple[int, list]]:
        """`method(shard, *args)` with `items` split evenly over the members: each shard's
        offset in `items` and its results, in input order."""
        bounds = shard_bounds(len(items), len(self.members))
        if not items:
            return []
        if self.is_local:
            member = self.members[0]
            return [(0, getattr(member, method)(list(items), *args, **kwargs))]
        refs = [getattr(self.members[i], method).remote(list(items[a:b]), *args, **kwargs)
                for i, (a, b) in enumerate(bounds)]
        return [(a, self._get(i, ref, method, (list(items[a:b]), *args), kwargs))
                for i, ((a, b), ref) in enumerate(zip(bounds, refs, strict=True))]

    def flat_map(self, method: str, items: Sequence[Any], *args: Any, **kwargs: Any) -> list:
        """`map`, its shards' results concatenated (one result per item, in order)."""
        return [out for _, outs in self.map(method, items, *args, **kwargs) for out in outs]

    def _get(self, i: int, ref: Any, method: str, args: tuple, kwargs: dict) -> Any:
        import ray
        from ray.exceptions import ActorUnavailableError, RayActorError

        try:
            return ray.get(ref)
        except (RayActorError, ActorUnavailableError) as exc:
            if getattr(exc, "actor_init_failed", False):  # retrying cannot help
                raise start_failure(self.names[i], exc) or exc from None
            member = self.members[i]
            log.warning("actor %s failed during %s; retrying once it is back", self.names[i],
                        method)
            if not _wait_until_back(member):
                raise exc from None
            return ray.get(getattr(member, method).remote(*args, **kwargs))

    def kill(self) -> None:
        """Remove every member (Ray groups); in-process members are left to the caller."""
        if self.is_local:
            return
        import ray

        for member in self.members:
            ray.kill(member)


class ActorStartError(ZeroplayError):
    """An actor's constructor raised a ZeroplayError (a bad model path, a missing engine)."""


def start_failure(name: str, exc: Exception) -> ActorStartError | None:
    """The ZeroplayError behind an actor's failed start, as one line naming the actor;
    None when the cause is anything else (a bug, which keeps its traceback). Ray passes
    the constructor's exception on as text only: its last line, `module.Class: message`."""
    import importlib
    import re

    lines = str(exc).strip().splitlines()
    found = re.fullmatch(r"\s*([\w.]+)\.(\w+): (.*)", lines[-1]) if lines else None
    if found is None or not found[1].startswith("zeroplay"):
        return None
    try:
        cls = getattr(importlib.import_module(found[1]), found[2])
    except (ImportError, AttributeError):
        return None
    if not (isinstance(cls, type) and issubclass(cls, ZeroplayError)):
        return None
    return ActorStartError(f"actor {name} could not start: {found[3]}")


def make_actor(actor_cls: type, spec: ResourceSpec, name: str, *,
               restarts: int = MAX_RESTARTS):
    """`ray.remote(actor_cls).options(...)` for a role of one actor (e.g. the learner)."""

    return remote_class(actor_cls).options(**actor_options(spec, name, restarts=restarts))


def _wait_until_back(member: Any, timeout: float = RESTART_TIMEOUT_S) -> bool:
    """True once a restarting actor answers again; False if it is gone for good."""
    import time

    import ray
    from ray.exceptions import ActorUnavailableError, GetTimeoutError, RayActorError

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            ray.get(member.__ray_ready__.remote(), timeout=max(1.0, deadline - time.monotonic()))
            return True
        except ActorUnavailableError:  # still restarting
            time.sleep(0.5)
        except (RayActorError, GetTimeoutError):  # out of restarts, or never came back
            return False
    return False
