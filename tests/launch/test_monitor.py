"""`zeroplay monitor`: the real Prometheus binary follows a Ray-style service-discovery
file and scrapes what it lists; bad arguments are one-line errors. (A real Ray head and
the dashboard's queries: tests/launch/test_cluster_run.py.)"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from zeroplay.launch.monitor import SD_FILE, MonitorError, prepare_monitor

from .conftest import _free_ports

EXE = str(Path(sys.executable).with_name("zeroplay"))


@pytest.fixture(autouse=True)
def _prometheus_installed():
    if shutil.which("prometheus") is None:  # a failure, never a skip
        pytest.fail("no `prometheus` on PATH: scripts/test.sh installs it "
                    "(apt-get install prometheus)", pytrace=False)


class _Metrics(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        body = b"# TYPE ray_zeroplay_step gauge\nray_zeroplay_step 7\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _query(url: str, expr: str) -> list:
    with urllib.request.urlopen(f"{url}/api/v1/query?"
                                + urllib.parse.urlencode({"query": expr}), timeout=10) as r:
        return json.loads(r.read())["data"]["result"]


def test_prometheus_scrapes_the_targets_ray_lists(tmp_path):
    ray_temp = tmp_path / "ray"
    ray_temp.mkdir()
    exporter = ThreadingHTTPServer(("127.0.0.1", 0), _Metrics)
    threading.Thread(target=exporter.serve_forever, daemon=True).start()
    (port,) = _free_ports(1)
    proc = subprocess.Popen([EXE, "monitor", "--ray-temp-dir", str(ray_temp), "--port",
                             str(port), "--scrape-interval", "1s"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        time.sleep(1)  # started before the cluster: the file appears later, as Ray writes it
        sd = ray_temp / SD_FILE
        sd.write_text(json.dumps([{"labels": {"job": "ray"},
                                   "targets": [f"127.0.0.1:{exporter.server_port}"]}]))
        deadline = time.monotonic() + 60
        result = []
        while not result and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read()
            try:
                result = _query(url, "ray_zeroplay_step")
            except OSError:
                pass
            time.sleep(0.5)
        assert [r["value"][1] for r in result] == ["7"]
        assert (ray_temp / "prometheus" / "prometheus.yml").is_file()  # the default --data
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0]
        exporter.shutdown()
    assert f"Prometheus on {url}" in out and "does not exist yet" in out


def test_bad_arguments_are_one_line_errors(tmp_path):
    with pytest.raises(MonitorError, match="not a directory: pass the --temp-dir"):
        prepare_monitor(tmp_path / "nope")
    with pytest.raises(MonitorError, match="no Prometheus binary '/nope/prometheus'"):
        prepare_monitor(tmp_path, prometheus="/nope/prometheus")
    with ThreadingHTTPServer(("127.0.0.1", 0), _Metrics) as taken, pytest.raises(
            MonitorError, match=f"127.0.0.1:{taken.server_port}.*pass another --port"):
        prepare_monitor(tmp_path, port=taken.server_port)
    run = subprocess.run([EXE, "monitor", "--ray-temp-dir", str(tmp_path / "nope")],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and run.stderr.count("\n") == 1, run.stderr
    assert "Traceback" not in run.stderr
