"""Prometheus for a Ray cluster's metrics, with no download: an installed `prometheus`
(Debian's package) scraping every node that Ray's service-discovery file lists.

Ray's own `ray metrics launch-prometheus` downloads a Prometheus release; this writes the
same scrape config (file_sd on `<ray temp dir>/prom_metrics_service_discovery.json`,
which the head keeps current as nodes join and leave, and which Ray re-points at each new
session) and starts the binary already on the machine. Run it on the head node. The
scrape targets are whatever Ray lists; nothing here checks that they are reachable.
"""

from __future__ import annotations

import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

from zeroplay.errors import ZeroplayError

SD_FILE = "prom_metrics_service_discovery.json"
DEFAULT_RAY_TEMP_DIR = Path("/tmp/ray")


class MonitorError(ZeroplayError):
    """Prometheus cannot be started as asked."""


@dataclass(frozen=True)
class Monitor:
    """What to run: the command line, and where it serves and keeps its data."""

    command: list[str]
    url: str
    config: Path
    service_discovery: Path


def prometheus_config(service_discovery: Path, scrape_interval: str) -> str:
    """Ray's scrape config (ray/dashboard/modules/metrics/templates.py), interval aside."""
    return (f"global:\n  scrape_interval: {scrape_interval}\n"
            f"  evaluation_interval: {scrape_interval}\n"
            "scrape_configs:\n- job_name: ray\n  file_sd_configs:\n"
            f"  - files: ['{service_discovery}']\n"
            # The file is a link Ray re-points and rewrites in place elsewhere: re-read it
            # on a timer too, not only on changes Prometheus sees in this directory.
            f"    refresh_interval: {scrape_interval}\n")


def find_prometheus(binary: str | None) -> str:
    found = shutil.which(binary or "prometheus")
    if found is None:
        raise MonitorError(
            f"no Prometheus binary {binary!r}: pass --prometheus PATH" if binary else
            "no `prometheus` on PATH: install it (apt-get install -y prometheus) or pass "
            "--prometheus PATH")
    return found


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise MonitorError(f"cannot listen on {host}:{port} ({exc.strerror or exc}): "
                               "another Prometheus may be running there; pass another "
                               "--port, or a --host of this machine") from None


def prepare_monitor(ray_temp_dir: Path = DEFAULT_RAY_TEMP_DIR, data_dir: Path | None = None,
                    host: str = "127.0.0.1", port: int = 9090, prometheus: str | None = None,
                    scrape_interval: str = "10s", retention: str = "15d") -> Monitor:
    """Write the config into `data_dir` (default `<ray temp dir>/prometheus`) and return
    the command that serves it. A missing service-discovery file is no error: Prometheus
    watches it, so it may start before the cluster does."""
    binary = find_prometheus(prometheus)
    if not ray_temp_dir.is_dir():
        raise MonitorError(f"--ray-temp-dir {ray_temp_dir} is not a directory: pass the "
                           "--temp-dir the Ray head was started with (default /tmp/ray)")
    _check_port_free(host, port)
    data_dir = data_dir or ray_temp_dir / "prometheus"
    data_dir.mkdir(parents=True, exist_ok=True)
    service_discovery = ray_temp_dir.resolve() / SD_FILE
    config = data_dir / "prometheus.yml"
    config.write_text(prometheus_config(service_discovery, scrape_interval))
    listen = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    command = [binary, f"--config.file={config}", f"--storage.tsdb.path={data_dir / 'data'}",
               f"--storage.tsdb.retention.time={retention}", f"--web.listen-address={listen}"]
    return Monitor(command, f"http://{listen}", config, service_discovery)
