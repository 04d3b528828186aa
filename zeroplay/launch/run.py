"""`zeroplay run`: from a config to a running self-play loop.

    run_dir = prepare_run("configs/local.yaml", ["run.steps=3"])
    summary = SelfPlayLoop(run_dir).run()

Checks what a run needs before it writes anything (config, tracker packages, run.storage,
Docker engine, sandbox image), then creates the run directory with the resolved config, or
opens the one to resume. A resumed run keeps its config; only the number of steps and
where its actors run (`cluster.*`) may change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from zeroplay.config import load_config
from zeroplay.errors import ConfigError
from zeroplay.launch.rundir import RunDir
from zeroplay.launch.snapshots import repair_for_resume, restore_from_storage
from zeroplay.launch.trackers import check_installed
from zeroplay.learner.storage import CheckpointStorage
from zeroplay.sandbox.image import build_image

log = logging.getLogger(__name__)


def prepare_run(
    config: str | Path | None,
    overrides: list[str],
    *,
    resume: str | Path | None = None,
    steps: int | None = None,
    progress: Callable[[str], None] | None = None,
    from_storage: str | None = None,
) -> RunDir:
    """Validate everything a run needs, then create (or reopen) its run directory. A
    resumed one is first repaired (`snapshots.repair_for_resume`; each repair logged as a
    warning), or, when it is not here and `from_storage` is given, restored from storage."""
    if resume is not None:
        if config is not None or any(not o.startswith("cluster.") for o in overrides):
            raise ConfigError(
                "a resumed run keeps the config it was started with (its config.yaml); "
                "drop --config and --set, except --set cluster.*: only --steps and where "
                "the actors run may change")
        if from_storage is not None and not Path(resume).exists():
            restore_from_storage(from_storage, Path(resume))
            log.warning("%s restored from the newest snapshot in %s", resume, from_storage)
        run_dir = RunDir.open(resume).with_changes(
            [*overrides, *([f"run.steps={steps}"] if steps else [])])
        for note in repair_for_resume(run_dir):
            log.warning("%s", note)
        cfg = run_dir.config
    else:
        cfg = load_config(config, [*overrides, *([f"run.steps={steps}"] if steps else [])])
    check_installed(cfg.run.report_to)
    if cfg.run.storage:  # unreachable storage is a one-line error before anything is written
        CheckpointStorage.open(cfg.run.storage, cfg.run.name or "run")
    build_image(cfg.sandbox, progress=progress)
    return run_dir if resume is not None else RunDir.create(cfg)
