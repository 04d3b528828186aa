"""Actor groups: the members of one actor role, placed from one ResourceSpec, called as one.

    group = ActorGroup.start(RolloutActor, cfg.cluster.rollout, ["rollout-0", "rollout-1"],
                             cfg_json, "weights")
    shards = group.map("generate", prompts, 4, "solver")   # prompts split evenly
    versions = group.call("version")                       # the same call on every member
    sandboxes = ActorGroup.per_node(SandboxActor, cfg.cluster.sandbox, "sandbox", cfg_json)
    local = ActorGroup.local(SandboxActor(cfg_json))       # the same calls, in this process

`map` splits a batch into contiguous, near-equal shards, one per member in service,
calls them all at once and returns each shard's results with the shard's offset, in
input order. A member whose call fails (it died: a crash, a lost node) is set aside and
its shard goes to the others; Ray restarts it where resources allow (`max_restarts`),
and it takes work again once it answers. With no other member in service the group
waits for one to come back, at most RESTART_TIMEOUT_S (not at all for a group started
with `restarts=0`), then raises ActorsGone. A member
whose constructor failed is not waited for: the error propagates (a constructor's
ZeroplayError as one line naming the actor). `answered` counts the items each member
answered, per method; `away_names` says who is set aside now.
`refs` gives the ObjectRefs for callers that wait themselves.
An in-process group of one runs the same methods directly, without Ray.
Not guaranteed: members joining a cluster after `per_node` ran are not used.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
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


class ActorsGone(ZeroplayError):
    """Every member of a group failed and none came back in time."""


class ActorGroup:
    """Members of one role; `map` shards a batch over those in service, `call` reaches each."""

    def __init__(self, members: Sequence[Any], names: Sequence[str], *, local: bool = False,
                 restarts: int = MAX_RESTARTS):
        self.members, self.names, self.is_local = list(members), list(names), local
        self.restarts = restarts  # 0: a member that fails never comes back
        self.away: dict[int, Any] = {}  # member index -> its readiness probe (an ObjectRef)
        self.answered: defaultdict[str, Counter[str]] = defaultdict(Counter)

    @classmethod
    def start(cls, actor_cls: type, spec: ResourceSpec, names: Sequence[str], *args: Any,
              restarts: int = MAX_RESTARTS) -> ActorGroup:
        """One Ray actor per name, all with the same resources and constructor arguments."""

        remote_cls = remote_class(actor_cls)
        members = [remote_cls.options(**actor_options(spec, name, restarts=restarts)
                                      ).remote(*args) for name in names]
        return cls(members, names, restarts=restarts)

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
        return cls(members, names, restarts=restarts)

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

    @property
    def away_names(self) -> list[str]:
        """Members set aside now (failed, not back yet)."""
        if not self.is_local:
            self._check_away()
        return [self.names[i] for i in sorted(self.away)]

    def call(self, method: str, *args: Any, **kwargs: Any) -> list:
        """`method(*args)` on every member in service, results in member order; a member
        that fails is set aside (and waited for, if no other one answered)."""
        if self.is_local:
            return [getattr(m, method)(*args, **kwargs) for m in self.members]
        import ray
        from ray.exceptions import ActorUnavailableError, RayActorError

        while True:
            refs = [(i, getattr(self.members[i], method).remote(*args, **kwargs))
                    for i in self._in_service()]
            results = []
            for i, ref in refs:
                try:
                    results.append(ray.get(ref))
                except (RayActorError, ActorUnavailableError) as exc:
                    self._set_aside(i, method, exc)
            if results:
                return results

    def map(self, method: str, items: Sequence[Any], *args: Any, **kwargs: Any
            ) -> list[tuple[int, list]]:
        """`method(shard, *args)` with `items` split evenly over the members in service:
        each shard's offset in `items` and its results, in input order. The shard of a
        member that fails is split again over the others."""
        if not items:
            return []
        if self.is_local:
            member = self.members[0]
            self.answered[method][self.names[0]] += len(items)
            return [(0, getattr(member, method)(list(items), *args, **kwargs))]
        import ray
        from ray.exceptions import ActorUnavailableError, RayActorError

        live = self._in_service()
        shards = [(i, a, b, getattr(self.members[i], method).remote(list(items[a:b]), *args,
                                                                   **kwargs))
                  for i, (a, b) in zip(live, shard_bounds(len(items), len(live)), strict=False)]
        out = []
        for i, a, b, ref in shards:
            try:
                results = ray.get(ref)
            except (RayActorError, ActorUnavailableError) as exc:
                self._set_aside(i, method, exc)
                out += [(a + offset, outs)
                        for offset, outs in self.map(method, items[a:b], *args, **kwargs)]
            else:
                self.answered[method][self.names[i]] += b - a
                out.append((a, results))
        return out

    def flat_map(self, method: str, items: Sequence[Any], *args: Any, **kwargs: Any) -> list:
        """`map`, its shards' results concatenated (one result per item, in order)."""
        return [out for _, outs in self.map(method, items, *args, **kwargs) for out in outs]

    def _set_aside(self, i: int, method: str, exc: Exception) -> None:
        """Take member i out of service until it answers again; a constructor that failed
        raises instead (retrying cannot help)."""
        if getattr(exc, "actor_init_failed", False):
            raise start_failure(self.names[i], exc) or exc from None
        self.away[i] = self.members[i].__ray_ready__.remote()
        others = len(self.members) - len(self.away)
        log.warning("actor %s failed during %s (%s); %s", self.names[i], method,
                    type(exc).__name__, f"its work goes to the {others} other(s) until it is "
                    "back" if others else "waiting for it to come back")

    def _check_away(self) -> None:
        """Members set aside whose probe answered are back in service; a probe that failed
        (still restarting, or gone) is sent again. Never waits."""
        import ray

        for i, probe in list(self.away.items()):
            if not ray.wait([probe], timeout=0)[0]:
                continue
            try:
                ray.get(probe)
            except Exception:
                self.away[i] = self.members[i].__ray_ready__.remote()
            else:
                del self.away[i]
                log.warning("actor %s is back in service", self.names[i])

    def _in_service(self, timeout: float = RESTART_TIMEOUT_S) -> list[int]:
        """Indices of the members in service; with none, wait for one to come back."""
        deadline = time.monotonic() + timeout
        while True:
            self._check_away()
            live = [i for i in range(len(self.members)) if i not in self.away]
            if live:
                return live
            if not self.restarts:
                raise ActorsGone(f"every actor of {', '.join(self.names)} failed (they are "
                                 "not restarted)")
            if time.monotonic() > deadline:
                raise ActorsGone(
                    f"every actor of {', '.join(self.names)} failed and none came back in "
                    f"{timeout:g} s (Ray restarts an actor only where its resources are "
                    "free: see `ray status`)")
            time.sleep(0.5)

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
