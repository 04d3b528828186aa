"""Checkpoints a run can resume from, written atomically, and weight publishing.

    trainer.add_callback(PublishCallback(publish, every=cfg.learner.sync_every))
    save_trainer_checkpoint(trainer, run.checkpoints_dir, step=10, keep=3, extra=loop_state)
    path = latest_checkpoint(run.checkpoints_dir)        # newest complete step-N, or None
    trainer.train(resume_from_checkpoint=str(path))

N is the self-play step the loop had completed. `checkpoints/step-N/` holds the model
and tokenizer (`save_pretrained`: loadable by plain transformers), the optimizer,
scheduler and RNG states and `trainer_state.json` under the names Hugging Face's Trainer
resumes from, and `zeroplay_state.json` (policy version and loop state). Each is written
to a temporary directory and renamed into place, so a crash while writing leaves the
previous checkpoint usable; only the newest `keep` are kept.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from zeroplay.failpoints import crash_point
from zeroplay.files import fsync_dir
from zeroplay.learner.distributed import full_optimizer_state, full_state, is_sharded
from zeroplay.learner.lora import save_model, served_state

PREFIX = "step-"
STATE_FILE = "zeroplay_state.json"


def checkpoint_steps(checkpoints_dir: Path) -> list[int]:
    """Steps of the complete checkpoints, oldest first."""
    if not checkpoints_dir.is_dir():
        return []
    steps = []
    for entry in checkpoints_dir.iterdir():
        if entry.name.startswith(PREFIX) and (entry / STATE_FILE).is_file():
            suffix = entry.name[len(PREFIX):]
            if suffix.isdigit():
                steps.append(int(suffix))
    return sorted(steps)


def latest_checkpoint(checkpoints_dir: Path) -> Path | None:
    steps = checkpoint_steps(checkpoints_dir)
    return checkpoints_dir / f"{PREFIX}{steps[-1]}" if steps else None


def read_state(checkpoint: Path) -> dict[str, Any]:
    return json.loads((checkpoint / STATE_FILE).read_text())


def save_checkpoint(checkpoints_dir: Path, step: int, *, model, tokenizer, optimizer, scheduler,
                    trainer_state, extra: dict[str, Any], keep: int) -> Path | None:
    """Write step-N. A model sharded over a learner group is gathered whole: every rank
    calls, rank 0 writes (the same files as one worker's) and the others get None."""
    import numpy as np
    import torch

    weights = optimizer_state = None
    if is_sharded(model):
        weights = full_state(model)
        optimizer_state = full_optimizer_state(model, optimizer) if optimizer else None
        if not weights:
            return None
    elif optimizer is not None:
        optimizer_state = optimizer.state_dict()
    checkpoints_dir.mkdir(parents=True, exist_ok=True)
    final = checkpoints_dir / f"{PREFIX}{step}"
    tmp = checkpoints_dir / f".tmp-{PREFIX}{step}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    if weights is None:
        save_model(model, tmp)
    else:
        model.save_pretrained(tmp, state_dict=weights)
    tokenizer.save_pretrained(tmp)
    if optimizer_state is not None:
        torch.save(optimizer_state, tmp / "optimizer.pt")
    if scheduler is not None:
        torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
    rng = {"python": random.getstate(), "numpy": np.random.get_state(),
           "cpu": torch.random.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.random.get_rng_state_all()
    torch.save(rng, tmp / "rng_state.pth")
    trainer_state.save_to_json(str(tmp / "trainer_state.json"))
    crash_point("checkpoint-write")
    (tmp / STATE_FILE).write_text(json.dumps({"step": step, **extra}))  # written last
    _fsync_tree(tmp)
    if final.exists():
        shutil.rmtree(final)
    os.rename(tmp, final)
    fsync_dir(checkpoints_dir)  # the rename itself survives a power loss
    _prune(checkpoints_dir, keep)
    return final


def _fsync_tree(path: Path) -> None:
    """Every file of the checkpoint directory, and the directories' own entries."""
    for file in path.rglob("*"):
        if file.is_file():
            with open(file, "rb") as f:
                os.fsync(f.fileno())
        elif file.is_dir():
            fsync_dir(file)
    fsync_dir(path)


def _prune(checkpoints_dir: Path, keep: int) -> None:
    steps = checkpoint_steps(checkpoints_dir)
    for step in steps[:-keep]:
        shutil.rmtree(checkpoints_dir / f"{PREFIX}{step}", ignore_errors=True)
    for leftover in checkpoints_dir.glob(f".tmp-{PREFIX}*"):
        if not leftover.name.endswith(f"-{os.getpid()}"):
            shutil.rmtree(leftover, ignore_errors=True)  # from a crash mid-write


def save_trainer_checkpoint(trainer, checkpoints_dir: Path, step: int, keep: int,
                            extra: dict[str, Any]) -> Path | None:
    """Checkpoint a Trainer between optimizer steps (the caller makes sure it is)."""
    return save_checkpoint(checkpoints_dir, step, model=trainer.model,
                           tokenizer=trainer.processing_class, optimizer=trainer.optimizer,
                           scheduler=trainer.lr_scheduler, trainer_state=trainer.state,
                           extra=extra, keep=keep)


def save_reference(model, reference_dir: Path) -> Path:
    """Save the policy as it is now as the run's KL reference (replacing any earlier one),
    atomically: a crash mid-write leaves no half reference that a resume would trust."""
    tmp = reference_dir.with_name(f".tmp-{reference_dir.name}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    _fsync_tree(tmp)
    if reference_dir.exists():
        shutil.rmtree(reference_dir)
    os.rename(tmp, reference_dir)
    fsync_dir(reference_dir.parent)
    return reference_dir


def missing_reference(reference_dir: Path, beta: float) -> str | None:
    """Why a resumed run with KL coefficient `beta` cannot go on, or None if it can."""
    if beta == 0 or (reference_dir / "config.json").is_file():
        return None
    return (f"learner.beta={beta:g} anchors the KL term to the policy as GRPO began, saved "
            f"in {reference_dir}, which is missing; this run cannot resume with the same "
            "objective: restore that directory, or start a new run")


def cpu_weights(model, dtype=None) -> dict:
    """A CPU copy of the model's state dict, floating tensors cast to `dtype` (the rollout
    actors' dtype) on the way: what gets published. A model sharded over a learner group
    is gathered: every rank calls, rank 0 gets the weights and the others {}."""
    state = full_state(model) if is_sharded(model) else served_state(model)
    return {k: v.detach().to("cpu", dtype=dtype if v.is_floating_point() else None, copy=True)
            for k, v in state.items()}


class PublishCallback(TrainerCallback):
    """Publish the weights with a new version every `every` optimizer steps."""

    def __init__(self, publish: Callable[[int, dict], None], every: int, start_version: int = 0,
                 on_version: Callable[[int], None] | None = None, dtype=None):
        self.publish, self.every, self.version = publish, every, start_version
        self.on_version, self.dtype = on_version, dtype

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step % self.every:
            return
        self.version += 1
        self.publish(self.version, cpu_weights(model, self.dtype))
        if self.on_version is not None:
            self.on_version(self.version)
