"""Weights from the learner to the rollout actors: digests, the store, publishing, broadcast.

    state_digest(model.state_dict())                    # content hash, equal on both sides
    publish_weights("weights-x", ["rollout-0"], version=3, state=state)  # object store
    layout = bucket_layout(state)                       # learner: names, shapes, dtypes
    sync = WeightBroadcast.join(rank, world, addr, port)  # learner rank 0, actors 1..R
    sync.send(state, layout)                            # learner
    state = sync.receive(layout)                        # every rollout actor, meanwhile

The one home of published weights; every backend and the learner import it, it imports
none of them. A `WeightStore` actor keeps only the newest version (superseded objects are
freed) for rollout actors that restart. `publish_weights` puts a version into Ray's object
store once and has every rollout actor stage it, without waiting for a generate call.
`CollectivePublisher` broadcasts instead, over a process group of its own (a `TCPStore`
at the learner and gloo over it), apart from any default group a learner group uses:
rank 0 is the learner, ranks 1..R the rollout actors. Each bucket is one flat tensor of
one dtype, at most `BUCKET_BYTES`, broadcast from rank 0, so a publish is a few large
messages instead of one per tensor, and every actor receives the same bytes at once
instead of pulling its own copy from the object store. The layout travels with the Ray
call that asks the actors to receive; it and the state must agree (same names, shapes and
dtypes) on every rank, or the broadcast sizes differ and the collective fails. gloo moves
host memory: weights on GPUs go through the CPU copy that a publish makes anyway (an NCCL
group would skip that; not built).
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import socket
from dataclasses import dataclass

log = logging.getLogger(__name__)


def state_digest(state: dict) -> str:
    """Content hash of a state dict (names, shapes and values)."""
    import torch

    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().to("cpu").contiguous()
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy())  # any dtype, no copy
    return digest.hexdigest()[:16]


class WeightStore:
    """Holds the newest published weights (version, object ref); drops older ones."""

    def __init__(self) -> None:
        self._version = 0
        self._box: list | None = None  # [ObjectRef]: a list keeps Ray from resolving it

    def publish(self, version: int, box: list) -> int:
        if version > self._version:
            self._version, self._box = version, box  # the old ref is released here
        return self._version

    def latest(self) -> tuple[int, list | None]:
        return self._version, self._box


WEIGHTS_GROUP = "weights"


def publish_weights(weights_name: str, rollout_names: list[str], version: int,
                    state: dict, box: list | None = None) -> list[str]:
    """Put `state` into the object store as `version` (unless `box` holds it already):
    the WeightStore keeps it for restarts, every rollout actor stages it. Returns the
    actors that staged it, once all have, without waiting for any generate call; an actor
    that is restarting or gone is skipped (a restarted one loads the WeightStore's newest)."""
    import ray
    from ray.exceptions import ActorUnavailableError, RayActorError

    if box is None:
        box = [ray.put(state)]
        ray.get(ray.get_actor(weights_name).publish.remote(version, box))
    updates = {}
    for name in rollout_names:
        try:
            updates[name] = ray.get_actor(name).update_weights.remote(version, box)
        except ValueError as exc:  # no such actor right now (restarting)
            log.warning("rollout actor %s missed weights v%d: %s", name, version, exc)
    staged = []
    for name, ref in updates.items():
        try:
            ray.get(ref)
            staged.append(name)
        except (RayActorError, ActorUnavailableError) as exc:
            log.warning("rollout actor %s missed weights v%d: %s", name, version, exc)
    return staged


BUCKET_BYTES = 64 << 20
JOIN_TIMEOUT = datetime.timedelta(minutes=5)
PROBE_TIMEOUT_S = 10.0  # a rollout actor silent this long is left out of a broadcast


def free_port() -> int:
    """A TCP port free on this node now (for a rendezvous that starts right away)."""
    with socket.socket() as sock:
        sock.bind(("", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: str  # torch dtype name, e.g. "float32"


Layout = list[list[Tensor]]  # buckets, each of tensors of one dtype


def bucket_layout(state: dict, bucket_bytes: int = BUCKET_BYTES) -> Layout:
    """The state's tensors in buckets of one dtype and at most `bucket_bytes` (a bigger
    tensor gets a bucket of its own), in name order."""
    buckets: Layout = []
    open_bucket: dict[str, tuple[list[Tensor], int]] = {}
    for name in sorted(state):
        tensor = state[name]
        dtype = str(tensor.dtype).removeprefix("torch.")
        size = tensor.numel() * tensor.element_size()
        members, used = open_bucket.get(dtype, ([], 0))
        if members and used + size > bucket_bytes:
            buckets.append(members)
            members, used = [], 0
        members.append(Tensor(name, tuple(tensor.shape), dtype))
        open_bucket[dtype] = (members, used + size)
    buckets.extend(members for members, _ in open_bucket.values() if members)
    return buckets


class WeightBroadcast:
    """This process's membership in one weight-sync group."""

    def __init__(self, group, rank: int, world: int, epoch: int):
        self.group, self.rank, self.world, self.epoch = group, rank, world, epoch

    @classmethod
    def join(cls, rank: int, world: int, addr: str, port: int, epoch: int = 0
             ) -> WeightBroadcast:
        """Every member calls this at once; rank 0 hosts the store at (addr, port)."""
        import torch.distributed as dist

        store = dist.TCPStore(addr, port, world, is_master=rank == 0, timeout=JOIN_TIMEOUT,
                              wait_for_workers=True)
        prefixed = dist.PrefixStore(f"zeroplay-weights-{epoch}", store)
        group = dist.ProcessGroupGloo(prefixed, rank, world, JOIN_TIMEOUT)
        member = cls(group, rank, world, epoch)
        member._store = store  # rank 0's store must outlive the group's setup
        return member

    def send(self, state: dict, layout: Layout) -> None:
        """Rank 0: broadcast `state`'s buckets."""
        import torch

        for bucket in layout:
            flat = torch.cat([state[t.name].detach().reshape(-1) for t in bucket])
            self._broadcast(flat)

    def receive(self, layout: Layout) -> dict:
        """Ranks 1..R: the state rank 0 sends, as CPU tensors."""
        import math

        import torch

        state = {}
        for bucket in layout:
            dtype = getattr(torch, bucket[0].dtype)
            flat = torch.empty(sum(math.prod(t.shape) for t in bucket), dtype=dtype)
            self._broadcast(flat)
            offset = 0
            for t in bucket:
                n = math.prod(t.shape)
                state[t.name] = flat[offset:offset + n].view(t.shape)
                offset += n
        return state

    def _broadcast(self, flat) -> None:
        import torch.distributed as dist

        options = dist.BroadcastOptions()
        options.rootRank = 0
        self.group.broadcast([flat], options).wait()


class CollectivePublisher:
    """The learner's side: publishes each version to the WeightStore (kept for actors
    that restart) and broadcasts it to the rollout actors. Before each broadcast every
    actor is asked which group it is in; one that does not answer (restarting, or its
    node is gone) is left out until it does, and if the actors that answer are not the
    group's members, the group is formed again with them. A broadcast that fails (an
    actor died in it) falls back to the object store for that version and forms the
    group again next time. Each publish returns its record: the version, how it went,
    the learner's digest of the weights and each receiving actor's digest of what it got
    (None where the object store carried them).
    """

    def __init__(self, weights_name: str, rollout_names: list[str]):
        self.weights_name, self.rollout_names = weights_name, rollout_names
        self.sync: WeightBroadcast | None = None
        self.members: list[str] = []

    def publish(self, version: int, state: dict) -> dict:
        import ray

        actors = self._present(version)
        box = [ray.put(state)]
        ray.get(ray.get_actor(self.weights_name).publish.remote(version, box))
        record = {"version": version, "via": "collective", "digest": state_digest(state)}
        try:
            if not self._current(actors):
                self._form(actors)
            layout = bucket_layout(state)
            receipts = [actors[name][0].receive_weights.remote(version, layout)
                        for name in self.members]
            self.sync.send(state, layout)
            return {**record, "received": dict(zip(self.members, ray.get(receipts),
                                                   strict=True))}
        except Exception as exc:  # an actor died mid-broadcast: the object store serves
            log.warning("weight broadcast of v%d failed (%s); sending it through the object "
                        "store, and forming the group again", version, exc)
            self.sync, self.members = None, []
            staged = publish_weights(self.weights_name, self.rollout_names, version, state,
                                     box=box)
            return {**record, "via": "object_store", "received": dict.fromkeys(staged)}

    def _present(self, version: int) -> dict[str, tuple]:
        """{name: (handle, weight-sync epoch)} of the rollout actors that answer within
        PROBE_TIMEOUT_S; the others miss this broadcast (a restarted one loads the
        WeightStore's newest)."""
        import ray

        asked = {}
        for name in self.rollout_names:
            try:
                handle = ray.get_actor(name)
            except ValueError:  # restarting right now
                log.warning("rollout actor %s is not there for the broadcast of v%d", name,
                            version)
                continue
            asked[name] = (handle, handle.weight_sync_epoch.remote())
        refs = [ref for _, ref in asked.values()]
        ready = set(ray.wait(refs, num_returns=len(refs), timeout=PROBE_TIMEOUT_S)[0]
                    if refs else [])
        actors = {}
        for name, (handle, ref) in asked.items():
            try:
                if ref not in ready:
                    raise TimeoutError(f"no answer in {PROBE_TIMEOUT_S:g} s")
                actors[name] = (handle, ray.get(ref))
            except Exception as exc:  # restarting, or gone with its node
                log.warning("rollout actor %s misses the broadcast of v%d (%s)", name,
                            version, type(exc).__name__)
        return actors

    def _current(self, actors: dict) -> bool:
        if self.sync is None or sorted(actors) != self.members:
            return False
        return all(epoch == self.sync.epoch for _, epoch in actors.values())

    def _form(self, actors: dict) -> None:
        import ray

        epoch = self.sync.epoch + 1 if self.sync is not None else 0
        addr, port = ray.util.get_node_ip_address(), free_port()
        self.members = sorted(actors)
        world = len(self.members) + 1
        joined = [actors[name][0].join_weight_sync.remote(addr, port, rank, world, epoch)
                  for rank, name in enumerate(self.members, start=1)]
        self.sync = WeightBroadcast.join(0, world, addr, port, epoch)
        ray.get(joined)
