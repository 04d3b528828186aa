"""The Grafana dashboard imports into Ray's Grafana and queries exactly zeroplay's
metrics: every panel's series come from metric_names, and every metric has a panel."""

import json
import re
from pathlib import Path

import pytest

from zeroplay.metric_names import METRIC_NAMES, METRICS, prometheus_series

DASHBOARD = Path(__file__).resolve().parents[2] / "configs" / "grafana" / "zeroplay-dashboard.json"
SERIES = re.compile(r"\bray_[A-Za-z0-9_:]+")


@pytest.fixture(scope="module")
def dashboard():
    return json.loads(DASHBOARD.read_text())


def _panels(dashboard):
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def _exprs(dashboard):
    return [t["expr"] for p in _panels(dashboard) for t in p["targets"]]


def test_dashboard_uses_a_datasource_variable(dashboard):
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in _panels(dashboard):
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert all(t["datasource"]["uid"] == "${datasource}" for t in panel["targets"])


def test_panels_are_grouped_in_the_four_rows(dashboard):
    rows = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    assert rows == ["Self-play", "Sandbox", "Generation", "Learner"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert all({"h", "w", "x", "y"} <= p["gridPos"].keys() for p in dashboard["panels"])


def test_every_expression_queries_only_zeroplay_metrics(dashboard):
    known = {s for name in METRIC_NAMES for s in prometheus_series(name)}
    for expr in _exprs(dashboard):
        used = set(SERIES.findall(expr))
        assert used, expr
        assert used <= known, f"{expr!r} uses {sorted(used - known)}"


def test_every_metric_has_a_panel(dashboard):
    used = {s for expr in _exprs(dashboard) for s in SERIES.findall(expr)}
    missing = [n for n in METRIC_NAMES if not set(prometheus_series(n)) & used]
    assert not missing


def test_labels_used_by_panels_are_the_metrics_tags(dashboard):
    for expr in _exprs(dashboard):
        for series in SERIES.findall(expr):
            name = re.sub(r"_(bucket|sum|count)$", "", series.removeprefix("ray_"))
            grouped = re.findall(r"by \(([^)]*)\)", expr)
            labels = {lab.strip() for g in grouped for lab in g.split(",")} - {"le"}
            assert labels <= set(METRICS[name].tags), (expr, labels)


def test_metric_table_is_the_documented_list():
    assert len(METRIC_NAMES) == 27
    assert all(n.startswith("zeroplay_") for n in METRIC_NAMES)
    assert all(METRICS[n].doc for n in METRIC_NAMES)
    assert [n for n in METRIC_NAMES if METRICS[n].kind == "counter"] == [
        n for n in METRIC_NAMES if n.endswith("_total")]


EMITTER = """
import time
import ray
from ray.util.metrics import Counter, Gauge, Histogram
from zeroplay.metric_names import METRICS

@ray.remote(num_cpus=0)
def emit():
    for name, m in METRICS.items():
        tags = {t: "x" for t in m.tags}
        if m.kind == "gauge":
            Gauge(name, description=m.doc, tag_keys=m.tags).set(1.0, tags=tags)
        elif m.kind == "counter":
            Counter(name, description=m.doc, tag_keys=m.tags).inc(1.0, tags=tags)
        else:
            Histogram(name, description=m.doc, boundaries=[0.1, 1.0, 10.0],
                      tag_keys=m.tags).observe(0.5, tags=tags)
    time.sleep(120)

ray.init()
ray.get(emit.remote())
"""


@pytest.mark.slow
def test_series_the_dashboard_queries_are_what_ray_exports(ray_head, dashboard):
    """Every metric created with ray.util.metrics under its table name shows up on the
    node's metrics export port under the series names the panels query."""
    import shlex
    import time
    import urllib.request

    from zeroplay.launch import jobs

    client = jobs.connect(ray_head.address)
    job_id = jobs.submit(client, jobs.shell_job(f"python -c {shlex.quote(EMITTER)}",
                                                run_name="metrics"))
    wanted = {s for expr in _exprs(dashboard) for s in SERIES.findall(expr)}
    exported: set[str] = set()
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not wanted <= exported:
            time.sleep(2)
            url = f"http://127.0.0.1:{ray_head.metrics_port}/metrics"
            text = urllib.request.urlopen(url, timeout=10).read().decode()
            exported = {line.split("{")[0].split()[0] for line in text.splitlines()
                        if line.startswith("ray_zeroplay_")}
    finally:
        jobs.stop(client, job_id)
    assert wanted <= exported, f"not exported: {sorted(wanted - exported)}"
