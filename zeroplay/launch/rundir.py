"""The run directory: where one run keeps everything it writes.

    run = RunDir.create(cfg)          # runs/<name>/ with config.yaml, refuses to overwrite
    run = RunDir.open("runs/demo")    # an existing run, its resolved config loaded back

A RunDir is the run's layout (zeroplay/run_paths.py: config.yaml, curriculum.sqlite,
metrics.jsonl, checkpoints/step-N/, provenance.json, eval/) with its resolved config.
This module only knows the layout and the config; each stage writes its own files
through these paths.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from zeroplay.config import Config, load_config
from zeroplay.errors import ConfigError, RunDirError
from zeroplay.run_paths import RunPaths


@dataclass(frozen=True)
class RunDir(RunPaths):
    config: Config

    @classmethod
    def create(cls, cfg: Config, path: Path | None = None) -> RunDir:
        """Make <runs_dir>/<name> (or `path`) and write the resolved config; never reuse
        a directory."""
        name = path.name if path is not None else cfg.run.name or time.strftime("%Y%m%d-%H%M%S")
        cfg = cfg.model_copy(update={"run": cfg.run.model_copy(update={"name": name})})
        path = path if path is not None else cfg.run.runs_dir / name
        try:
            path.mkdir(parents=True, exist_ok=False)
        except FileExistsError:
            raise RunDirError(
                f"run directory {path} already exists; pick another --name, or continue "
                f"that run with --resume {path}"
            ) from None
        except OSError as exc:
            raise RunDirError(f"cannot create the run directory {path}: {exc.strerror}; "
                              "set run.runs_dir to a writable directory") from None
        run = cls(path, cfg)
        cfg.write(run.config_path)
        return run

    @classmethod
    def open(cls, path: str | Path) -> RunDir:
        """An existing run directory, with the config it was started with."""
        path = Path(path)
        layout = RunPaths(path)
        if not path.is_dir():
            raise RunDirError(f"no run directory at {path}")
        if not layout.config_path.is_file():
            raise RunDirError(f"{path} is not a zeroplay run directory (it has no "
                              f"{layout.config_path.name})")
        try:
            cfg = load_config(layout.config_path)
        except ConfigError as exc:
            raise RunDirError(f"{layout.config_path} cannot be read back: {exc}") from None
        return cls(path, cfg)

    def with_changes(self, overrides: list[str]) -> RunDir:
        """The same run with `a.b=value` overrides applied, recorded in its config.yaml."""
        cfg = load_config(self.config_path, overrides)
        if cfg != self.config:
            cfg.write(self.config_path)
        return RunDir(self.path, cfg)
