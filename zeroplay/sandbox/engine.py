"""Connection to the Docker engine that runs the sandbox.

    client = connect()   # docker.DockerClient, already answered a ping

The only place that talks to the daemon's socket directly; a missing or unreachable
daemon becomes a DockerUnavailableError that says how to start one.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from zeroplay.errors import DockerUnavailableError

if TYPE_CHECKING:
    import docker

START_HINT = (
    "start it with `systemctl start docker` or, without systemd, "
    "`dockerd > /var/log/dockerd.log 2>&1 &` as root (scripts/setup.sh does this)"
)


def connect(timeout: float = 30.0) -> docker.DockerClient:
    """A client for the daemon named by DOCKER_HOST (default: the local socket)."""
    import docker
    import requests

    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        client = docker.from_env(timeout=int(timeout))
        client.ping()
    except (docker.errors.DockerException, requests.RequestException) as exc:
        reason = _short_reason(exc)
        if "permission denied" in reason.lower():
            hint = "run as root or add your user to the `docker` group, then log in again"
        else:
            hint = START_HINT
        raise DockerUnavailableError(
            f"no Docker daemon reachable at {host} ({reason}); {hint}"
        ) from None
    return client


def _short_reason(exc: Exception) -> str:
    """The innermost cause's text: docker-py wraps socket errors several layers deep."""
    while exc.__cause__ or exc.__context__:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
