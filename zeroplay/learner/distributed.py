"""A learner of N workers training one model with FSDP2, in lockstep.

    group = LearnerGroup.join(rank, world, master_addr, master_port)  # every worker
    group.sync_weights(model)            # every rank starts from rank 0's weights
    trainer = build_grpo_trainer(..., group=group)   # FSDP2 through accelerate
    groups = group.share(feed, n)        # inside TRL's rollout_func, on every rank

Only rank 0 holds the `SampleFeed`. At each optimizer step every rank's `rollout_func`
asks `share`: rank 0 takes world x n groups (whole GRPO groups, so TRL's gathered rewards
line up) and scatters n to each rank over a gloo control group. A checkpoint is a call
queued on rank 0's feed: it reaches every rank at the same point between two optimizer
steps, since the gathers it makes are collectives that all ranks must enter in the same
order. Weights leave the group only through rank 0 (`full_state`).

On GPUs the model's collectives use NCCL; on CPU gloo. accelerate only offers FSDP on
GPU-like devices, so on CPU `allow_fsdp_on_cpu` lets its FSDP2 path run over gloo (torch's
`fully_shard` supports CPU); that path is what the CPU tests exercise, not a fast one.
"""

from __future__ import annotations

import datetime
import os
from functools import partial
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

COLLECTIVE_TIMEOUT = datetime.timedelta(hours=2)  # a rank may wait a whole round for data


class LearnerGroup:
    """This worker's place in the learner group, and the group's control channel."""

    def __init__(self, rank: int, world: int, control):
        self.rank, self.world, self.control = rank, world, control

    @classmethod
    def join(cls, rank: int, world: int, master_addr: str, master_port: int) -> LearnerGroup:
        """Join the torch.distributed group (every rank calls this at once) and make
        accelerate, which TRL's trainer uses, train with FSDP2 over it."""
        import torch
        import torch.distributed as dist

        os.environ.update(MASTER_ADDR=master_addr, MASTER_PORT=str(master_port),
                          RANK=str(rank), WORLD_SIZE=str(world),
                          LOCAL_RANK="0")  # Ray gives each worker only its own GPU
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if not dist.is_initialized():
            dist.init_process_group(backend, rank=rank, world_size=world,
                                    timeout=COLLECTIVE_TIMEOUT)
        allow_fsdp_on_cpu()
        return cls(rank, world, dist.new_group(backend="gloo", timeout=COLLECTIVE_TIMEOUT))

    def sync_weights(self, model) -> None:
        """Every rank takes rank 0's weights (its warm start, or its checkpoint)."""
        import torch.distributed as dist

        for tensor in model.state_dict().values():
            dist.broadcast(tensor, src=0, group=None if tensor.is_cuda else self.control)

    def share(self, feed, n: int, timeout: float | None, run_call) -> list:
        """This rank's n groups of the next optimizer step. Calls queued on rank 0's feed
        meanwhile run on every rank first, through `run_call(name, args)`."""
        import torch.distributed as dist

        from zeroplay.learner.grpo import Call

        while True:
            item, messages = None, None
            if self.rank == 0:
                item = feed.next_item(n * self.world, timeout)
                messages = ([("call", item.name, item.args)] * self.world
                            if isinstance(item, Call)
                            else [("groups", item[r * n:(r + 1) * n])
                                  for r in range(self.world)])
            received: list[Any] = [None]
            dist.scatter_object_list(received, messages, src=0, group=self.control)
            kind, *payload = received[0]
            if kind == "groups":
                return payload[0]
            if item is None:
                run_call(*payload)
            else:
                item.run(partial(run_call, *payload))


def is_sharded(model) -> bool:
    from torch.distributed.fsdp import FSDPModule

    return isinstance(model, FSDPModule)


def full_state(model) -> dict:
    """The full state dict on CPU on rank 0 ({} on the other ranks); every rank must call."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    return get_model_state_dict(model, options=StateDictOptions(full_state_dict=True,
                                                                cpu_offload=True))


def full_optimizer_state(model, optimizer) -> dict:
    """The optimizer's full state on rank 0, in `optimizer.state_dict()`'s own layout
    (parameters numbered across param groups), so one worker can resume from it; {} on
    the other ranks. Every rank must call."""
    from torch.distributed.checkpoint.state_dict import (
        StateDictOptions,
        get_optimizer_state_dict,
    )

    state = get_optimizer_state_dict(model, optimizer, options=StateDictOptions(
        full_state_dict=True, cpu_offload=True))
    if not state:
        return {}
    names = [name for group in state["param_groups"] for name in group["params"]]
    index = {name: i for i, name in enumerate(names)}
    return {"state": {index[name]: value for name, value in state["state"].items()},
            "param_groups": [{**group, "params": [index[name] for name in group["params"]]}
                             for group in state["param_groups"]]}


def allow_fsdp_on_cpu() -> None:
    """accelerate turns FSDP on only for GPU-like devices and trains CPU processes with
    DDP; on CPU, keep FSDP2 (over gloo) when a plugin asks for it. Idempotent."""
    from accelerate.state import AcceleratorState, PartialState
    from accelerate.utils import DistributedType

    original = AcceleratorState.__init__
    if getattr(original, "_zeroplay_fsdp_on_cpu", False):
        return

    def init(self, *args, fsdp_plugin=None, **kwargs):
        original(self, *args, fsdp_plugin=fsdp_plugin, **kwargs)
        if fsdp_plugin is not None and self.distributed_type == DistributedType.MULTI_CPU:
            self.distributed_type = DistributedType.FSDP
            self.fsdp_plugin = fsdp_plugin
            PartialState._shared_state["distributed_type"] = DistributedType.FSDP

    init._zeroplay_fsdp_on_cpu = True
    AcceleratorState.__init__ = init


def reset_accelerate() -> None:
    """Forget accelerate's process-wide state (e.g. a warm start's, made before the group
    existed), so the next trainer's accelerator sees the group."""
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)


# What activation checkpointing (FSDP's `activation_checkpointing`) inserts in the name of
# every parameter of a wrapped layer; torch.distributed.checkpoint's names leave it out.
CHECKPOINT_WRAPPER = "_checkpoint_wrapped_module."


class GroupResume(TrainerCallback):
    """Resume a learner group from one worker's checkpoint (the files `save_checkpoint`
    writes), where Trainer's own resume would look for FSDP's files on every rank: as
    training begins, once the model is sharded, rank 0 reads the optimizer and scheduler
    states and the trainer state (step count, log history); the optimizer state goes out
    shard by shard and the rest to every rank. The weights came with `sync_weights`. RNG
    states are not restored (sampling happens in the rollout actors, not here)."""

    def __init__(self, group: LearnerGroup, checkpoint: str | None, trainer):
        self.group, self.checkpoint, self.trainer = group, checkpoint, trainer

    def on_train_begin(self, args, state, control, model=None, optimizer=None,
                       lr_scheduler=None, **kwargs):
        import torch
        import torch.distributed as dist
        from torch.distributed.checkpoint.state_dict import (
            StateDictOptions,
            set_optimizer_state_dict,
        )
        from transformers import TrainerState

        optimizer = getattr(optimizer, "optimizer", optimizer)  # accelerate's wrapper
        saved, rest = {}, [None]
        if self.group.rank == 0:
            path = Path(self.checkpoint)
            saved = _by_name(torch.load(path / "optimizer.pt", weights_only=True),
                             model, optimizer)
            saved_state = TrainerState.load_from_json(str(path / "trainer_state.json"))
            rest = [(torch.load(path / "scheduler.pt", weights_only=True),
                     saved_state.global_step, saved_state.log_history)]
        set_optimizer_state_dict(model, optimizer, saved, options=StateDictOptions(
            full_state_dict=True, broadcast_from_rank0=True))
        dist.broadcast_object_list(rest, src=0, group=self.group.control)
        scheduler_state, state.global_step, state.log_history = rest[0]
        lr_scheduler.load_state_dict(scheduler_state)
        # Trainer averages the logged loss over the steps since it last logged, counted
        # from the step it started at: that is the resumed step now.
        self.trainer._globalstep_last_logged = state.global_step


def _by_name(saved: dict, model, optimizer) -> dict:
    """`optimizer.state_dict()`'s layout (parameters numbered across param groups) keyed
    by parameter name instead, as torch.distributed.checkpoint loads it: the names it
    gives, without the wrapper that activation checkpointing puts around each layer."""
    names = {id(p): name.replace(CHECKPOINT_WRAPPER, "") for name, p in model.named_parameters()}
    order = [names[id(p)] for group in optimizer.param_groups for p in group["params"]]
    return {"state": {order[i]: value for i, value in saved["state"].items()},
            "param_groups": [{**group, "params": [order[i] for i in group["params"]]}
                             for group in saved["param_groups"]]}
