"""Runs on a Ray cluster as Ray Jobs: build the job, submit it, follow, list, stop.

    client = connect("http://HEAD:8265")                # or RAY_ADDRESS
    spec = run_job("configs/cluster-h200-h20.yaml", ["run.steps=100"], name="exp1")
    job_id = submit(client, spec)
    info = follow(client, job_id, write=sys.stdout.write)   # streams logs until it ends

How a job finds zeroplay on the cluster: every node has zeroplay and its dependencies
installed by the cluster's setup commands (`configs/ray-cluster.yaml`), with the
`zeroplay` console script on the PATH of the process that ran `ray start`. On top of that
the job's `runtime_env` ships this project's source tree as `working_dir` (without
`.venv`, `.git`, `runs/` and caches, so the upload stays a few hundred KiB); Ray puts the
unpacked tree first on the job's PYTHONPATH, so the job, and every actor it starts,
imports exactly the zeroplay code that was submitted, not whatever version a node
installed. Nothing is pip-installed per job, which keeps submission offline-capable.

The config: the submitter resolves the config file plus `--set` overrides locally (so a
bad key fails before anything is uploaded), and ships the resolved YAML in the job's
`env_vars`; the entrypoint writes it next to the job's working directory and runs
`zeroplay run --config <that file>` with the same --name/--steps/--set passed through.
The job therefore uses exactly the config the user gave, whatever the node's files say.

Not guaranteed: a relative `run.runs_dir` lives inside the job's unpacked working
directory on the head node, which Ray may garbage-collect later; give an absolute path
(e.g. on shared storage) for runs you want to keep. Jobs are found again by their
metadata (`zeroplay=1`, `run_name`), so `jobs list` shows only zeroplay's jobs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shlex
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zeroplay
from zeroplay.actors.runtime import use_local_token
from zeroplay.config import Config, load_config
from zeroplay.errors import ZeroplayError

log = logging.getLogger(__name__)

CONFIG_ENV_VAR = "ZEROPLAY_JOB_CONFIG"
METADATA_KEY = "zeroplay"
# gitignore-style patterns relative to the project root: what never belongs in an upload.
EXCLUDES = [
    "/.venv", "/venv", "/runs", "/.git", "/build", "/dist", "/.cache", "/.hypothesis",
    "__pycache__", "*.pyc", ".pytest_cache", ".ruff_cache", ".mypy_cache", "*.egg-info",
    "*.sqlite", "*.sqlite-*", "*.safetensors", "*.bin", "*.pt",
]
# Ray loggers that report each file skipped, each package upload, each closed log stream
# and that .git/.venv are excluded by default (they are in EXCLUDES): noise on a CLI.
RAY_CHATTER = (
    "ray._private.runtime_env.working_dir", "ray._private.runtime_env.packaging",
    "ray.dashboard.modules.dashboard_sdk", "ray.dashboard.modules.job.sdk",
)
TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")


class ClusterAddressError(ZeroplayError):
    """No Ray cluster address was given, or nothing answers there."""


class JobNotFoundError(ZeroplayError):
    """The cluster has no job with that id."""


class JobFailedError(ZeroplayError):
    """A followed job ended in a state other than SUCCEEDED."""

    exit_code = 1


@dataclass(frozen=True)
class JobSpec:
    """Everything `submit_job` needs; built once, submitted as is."""

    entrypoint: str
    runtime_env: dict[str, Any]
    metadata: dict[str, str]
    submission_id: str
    run_name: str
    notes: list[str] = field(default_factory=list)


# --- address and client --------------------------------------------------------------------


def resolve_address(address: str | None) -> str:
    """The job server URL: --address, else RAY_ADDRESS; `HOST:PORT` means http://HOST:PORT."""
    address = address or os.environ.get("RAY_ADDRESS")
    if not address:
        raise ClusterAddressError(
            "no Ray cluster address; pass --address http://HEAD:8265 (the head node's "
            "dashboard) or set RAY_ADDRESS"
        )
    if address == "auto" or "://" in address:
        return address
    return f"http://{address}"


@contextmanager
def _explicit_address() -> Iterator[None]:
    """Ray lets RAY_ADDRESS / RAY_API_SERVER_ADDRESS override the address a client is
    given (ray.dashboard.utils.get_address_for_submission_client); an explicit --address
    must win, so both are hidden while the client resolves it."""
    saved = {k: os.environ.pop(k) for k in ("RAY_ADDRESS", "RAY_API_SERVER_ADDRESS")
             if k in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def connect(address: str | None) -> Any:
    """A JobSubmissionClient for the cluster, or a one-line error naming the fix."""
    from ray.exceptions import AuthenticationError
    from ray.job_submission import JobSubmissionClient

    url = resolve_address(address)
    use_local_token()
    try:
        with _explicit_address():
            return JobSubmissionClient(url)
    except AuthenticationError as exc:
        raise ClusterAddressError(
            f"the Ray cluster at {url} refused the request ({_first_line(exc)}); set "
            "RAY_AUTH_TOKEN to the cluster's token (`ray get-auth-token` on the head node)"
        ) from None
    except (ConnectionError, RuntimeError, OSError, ValueError) as exc:
        raise ClusterAddressError(
            f"cannot reach a Ray job server at {url} ({_first_line(exc)}); start the "
            "cluster (`ray up configs/ray-cluster.yaml`, or `ray start --head` for a local "
            "one) or pass the head's dashboard address: --address http://HEAD:8265"
        ) from None


@contextmanager
def _quiet(*names: str) -> Iterator[None]:
    """Hide Ray's warnings that say nothing to a zeroplay user (Ray logs them to stderr
    through its own handler, whatever the CLI's log level)."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def dashboard_url(client: Any, job_id: str) -> str:
    return f"{client.get_address().rstrip('/')}/#/jobs/{job_id}"


# --- building a job ------------------------------------------------------------------------


def project_root() -> Path | None:
    """The source tree zeroplay is imported from, if it is a project checkout."""
    root = Path(zeroplay.__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() else None


def runtime_env(cfg: Config, env_vars: dict[str, str]) -> dict[str, Any]:
    """Ship the project source (or at least the package) and the job's environment."""
    root = project_root()
    env: dict[str, Any] = {"env_vars": env_vars}
    if root is None:
        # An installed (non-checkout) zeroplay: ship just the package.
        env["py_modules"] = [str(Path(zeroplay.__file__).resolve().parent)]
        return env
    excludes = list(EXCLUDES)
    runs_dir = cfg.run.runs_dir
    if not runs_dir.is_absolute():
        excludes.append(f"/{runs_dir.as_posix().strip('/')}")
    env["working_dir"] = str(root)
    env["excludes"] = excludes
    return env


def zeroplay_job(args: list[str], cfg: Config, *, run_name: str,
                 extra: list[str] | None = None, config_label: str = "") -> JobSpec:
    """A job running `zeroplay <args> --config <cfg shipped in the job> <extra>`.

    The metadata's `command` names the config as the user gave it (what `jobs list`
    shows); the entrypoint names the shipped copy."""
    submission_id = f"zeroplay-{run_name}-{secrets.token_hex(3)}"
    config_file = f".zeroplay-job-{submission_id}.yaml"
    command = shlex.join(["zeroplay", *args, "--config", config_file, *(extra or [])])
    shown = shlex.join(["zeroplay", *args, *(["--config", config_label] if config_label else []),
                        *(extra or [])])
    entrypoint = f'printf "%s" "${CONFIG_ENV_VAR}" > {config_file} && {command}'
    notes = []
    if not cfg.run.runs_dir.is_absolute():
        notes.append(
            f"run.runs_dir={cfg.run.runs_dir} is relative: the run directory is created "
            "inside the job's working directory on the head node; set an absolute "
            "run.runs_dir (shared storage) to keep it"
        )
    return JobSpec(
        entrypoint=entrypoint,
        runtime_env=runtime_env(cfg, {CONFIG_ENV_VAR: cfg.to_yaml()}),
        metadata={METADATA_KEY: "1", "run_name": run_name, "config": config_label,
                  "command": shown, "zeroplay_version": zeroplay.__version__},
        submission_id=submission_id,
        run_name=run_name,
        notes=notes,
    )


def run_job(config: str | Path | None, overrides: list[str], *, name: str | None = None,
            steps: int | None = None) -> JobSpec:
    """The job for `zeroplay run` with this config file, overrides, name and steps.

    The name is fixed here (default: the config's, else a timestamp) so that the job's
    metadata and the run directory agree."""
    resolved = list(overrides)
    if steps is not None:
        resolved.append(f"run.steps={steps}")
    if name is not None:
        resolved.append(f"run.name={name}")
    cfg = load_config(config, resolved)  # fails here, before any upload, on a bad key
    name = cfg.run.name or time.strftime("%Y%m%d-%H%M%S")
    cfg = cfg.model_copy(update={"run": cfg.run.model_copy(update={"name": name})})
    extra = ["--name", name, *(["--steps", str(steps)] if steps is not None else [])]
    for item in overrides:
        extra += ["--set", item]
    label = str(config) if config is not None else ""
    return zeroplay_job(["run"], cfg, run_name=name, extra=extra, config_label=label)


def shell_job(entrypoint: str, *, run_name: str) -> JobSpec:
    """A job running any shell command, marked as zeroplay's (for tools and tests)."""
    root = project_root()
    env: dict[str, Any] = {}
    if root is not None:
        env = {"working_dir": str(root), "excludes": list(EXCLUDES)}
    return JobSpec(entrypoint=entrypoint, runtime_env=env,
                   metadata={METADATA_KEY: "1", "run_name": run_name, "command": entrypoint},
                   submission_id=f"zeroplay-{run_name}-{secrets.token_hex(3)}",
                   run_name=run_name)


# --- operations on the cluster -------------------------------------------------------------


def submit(client: Any, spec: JobSpec) -> str:
    """Upload the working dir (if Ray has not got it yet) and start the job."""
    try:
        with _quiet(*RAY_CHATTER):
            job_id = client.submit_job(entrypoint=spec.entrypoint, runtime_env=spec.runtime_env,
                                       metadata=spec.metadata,
                                       submission_id=spec.submission_id)
    except (RuntimeError, ValueError, OSError) as exc:
        raise ClusterAddressError(
            f"the cluster at {client.get_address()} did not accept the job "
            f"({_first_line(exc)}); check `ray status` on the head node"
        ) from None
    log.info("submitted %s (run %s)", job_id, spec.run_name)
    return job_id


def job_info(client: Any, job_id: str) -> Any:
    """The job's JobDetails; an unknown id is a JobNotFoundError."""
    try:
        return client.get_job_info(job_id)
    except RuntimeError as exc:
        if "404" in str(exc) or "does not exist" in str(exc):
            raise JobNotFoundError(
                f"no job {job_id!r} on the cluster at {client.get_address()}; "
                "`zeroplay jobs list` shows zeroplay's jobs"
            ) from None
        raise


def list_jobs(client: Any) -> list[Any]:
    """zeroplay's jobs on the cluster (by metadata), oldest first."""
    jobs = [j for j in client.list_jobs() if (j.metadata or {}).get(METADATA_KEY) == "1"]
    return sorted(jobs, key=lambda j: j.start_time or 0)


def job_logs(client: Any, job_id: str) -> str:
    job_info(client, job_id)  # a clear error for an unknown id
    return client.get_job_logs(job_id)


def wait(client: Any, job_id: str, timeout_s: float = 60.0, poll_s: float = 0.5) -> Any:
    """Poll until the job reaches a terminal status (or the timeout); return its info."""
    deadline = time.monotonic() + timeout_s
    info = job_info(client, job_id)
    while str(info.status) not in TERMINAL and time.monotonic() < deadline:
        time.sleep(poll_s)
        info = job_info(client, job_id)
    return info


def follow(client: Any, job_id: str, write: Callable[[str], None]) -> Any:
    """Stream the job's logs to `write` until it ends; return its final info."""
    job_info(client, job_id)

    async def tail() -> None:
        async for chunk in client.tail_job_logs(job_id):
            write(chunk)

    try:
        with _quiet(*RAY_CHATTER):
            asyncio.run(tail())
    except RuntimeError as exc:
        # The log stream can close early (head restart, proxy timeout); the status
        # below still says how the job ended.
        log.warning("log stream of %s ended early: %s", job_id, _first_line(exc))
    return wait(client, job_id, timeout_s=float("inf"))


def stop(client: Any, job_id: str, timeout_s: float = 60.0) -> Any:
    """Ask Ray to stop the job and wait until it has; return its final info."""
    job_info(client, job_id)
    client.stop_job(job_id)
    return wait(client, job_id, timeout_s=timeout_s)


def short_message(info: Any) -> str:
    """Ray's message about a job without the copy of its last logs Ray appends."""
    lines = (info.message or "").strip().splitlines()
    return lines[0].split(", last available logs")[0].rstrip(":, ") if lines else ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
