"""`zeroplay run`: from a config to a running self-play loop.

    run_dir = prepare_run("configs/local.yaml", ["run.steps=3"])

Checks what a run needs before it writes anything (config, Docker engine, sandbox
image), then creates the run directory with the resolved config, or opens the one to
resume. The self-play loop itself is wired here as the stages land.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from zeroplay.config import load_config
from zeroplay.launch.rundir import RunDir
from zeroplay.sandbox.image import build_image


def prepare_run(
    config: str | Path | None,
    overrides: list[str],
    *,
    resume: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> RunDir:
    """Validate everything a run needs, then create (or reopen) its run directory."""
    if resume is not None:
        run_dir = RunDir.open(resume)
        cfg = run_dir.config
    else:
        cfg = load_config(config, overrides)
    build_image(cfg.sandbox, progress=progress)
    return run_dir if resume is not None else RunDir.create(cfg)
