"""Ray dashboard metrics: the `zeroplay_*` series every component records.

    from zeroplay import metrics
    metrics.record("sandbox_jobs_total", 12, kind="judge", status="pass")
    metrics.record("reward_mean", 0.4, role="solver")

`metric_names.METRICS` names each series, its kind and its tags; `record` sets a gauge,
adds to a counter or observes a histogram accordingly. Ray exports them with a `ray_`
prefix on its Prometheus endpoint (`ray_zeroplay_step`, ...);
`configs/grafana/zeroplay-dashboard.json` is a dashboard for them. Metrics are created on
first use in each process (driver, rollout, sandbox and learner actors), and a failure
to record never disturbs the run.
"""

from __future__ import annotations

import logging
from typing import Any

from zeroplay.metric_names import METRICS

log = logging.getLogger(__name__)

PREFIX = "zeroplay_"
SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]

_made: dict[str, Any] = {}


def _metric(name: str):
    if name not in _made:
        from ray.util import metrics as ray_metrics

        full = PREFIX + name
        spec = METRICS[full]
        if spec.kind == "gauge":
            _made[name] = ray_metrics.Gauge(full, spec.doc, tag_keys=spec.tags)
        elif spec.kind == "counter":
            _made[name] = ray_metrics.Counter(full, spec.doc, tag_keys=spec.tags)
        else:
            _made[name] = ray_metrics.Histogram(full, spec.doc, boundaries=SECONDS_BUCKETS,
                                                tag_keys=spec.tags)
    return _made[name]


def record(name: str, value: float, **tags: Any) -> None:
    """Set, add or observe `value` on `zeroplay_<name>` (its kind and tags: METRICS)."""
    if PREFIX + name not in METRICS:
        raise KeyError(f"unknown metric {name!r}; add it to metric_names.METRICS")
    kind = METRICS[PREFIX + name].kind
    import ray

    if not ray.is_initialized():  # in process, without Ray: nothing to export to
        return
    try:
        metric = _metric(name)
        str_tags = {k: str(v) for k, v in tags.items()} or None
        if kind == "gauge":
            metric.set(value, tags=str_tags)
        elif kind == "counter":
            if value > 0:
                metric.inc(value, tags=str_tags)
        else:
            metric.observe(value, tags=str_tags)
    except (TypeError, ValueError):  # wrong tags: a bug in the caller
        raise
    except Exception as exc:  # metrics are for watching; they must not stop training
        log.debug("metric %s not recorded: %s", name, exc)
