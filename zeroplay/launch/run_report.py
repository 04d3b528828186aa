"""The run report: one self-contained HTML page of how a run trained and what it invented.

    html = run_report(RunPaths(Path("runs/demo")))    # during or after the run

Learning curves of every numeric per-step series in metrics.jsonl (rewards by role,
solve rate, proposal validity, zero-std shares, learner loss/KL/entropy/clip ratio, stage
seconds, samples/s, ...), greedy held-out pass@1 as the run measured it, the
curriculum's growth by origin, and its training tasks in a sortable, filterable table; a
click on a row opens the task's statement, reference, strategy, public tests, solve rate
and the judged solutions the store kept. Charts are SVG drawn here; the table is a short
inline script. No network asset, so the file can be mailed or opened offline.

Model-written text (statements, programs, solutions) reaches the page only as escaped
JSON data, shown with `textContent`: never as markup. Read-only: safe while a run writes
(a half-written last metrics line is skipped). Not guaranteed: a store with more than
MAX_TASKS training tasks shows the newest MAX_TASKS.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from html import escape
from pathlib import Path
from typing import Any

from zeroplay.actors.prompts import public_examples
from zeroplay.corpus.mix import Mix
from zeroplay.curricula.stats import composition, composition_rows, mix_targets
from zeroplay.curricula.store import CurriculumStore
from zeroplay.curricula.task import ops_of
from zeroplay.errors import RunDirError
from zeroplay.jsonl import read_jsonl
from zeroplay.launch.step_rows import proposer_totals
from zeroplay.run_paths import RunPaths

MAX_TASKS = 5000
SPLIT_CHARTS = {"learner"}  # dicts whose entries have different units: a chart each
NOT_SERIES = {"step", "time", "rollout"}  # rollout: prompts per actor, not a chart each
FIRST = ("reward · mean", "solve_rate", "frac_reward_zero_std", "proposal_validity",
         "proposal_novelty", "policy_tasks_learnable", "new_policy_tasks", "learner · loss",
         "learner · kl", "learner · entropy", "learner · clip_ratio", "samples_per_s",
         "stages")  # the rest follow in file order
PALETTE = ("#4a78b5", "#d9822b", "#3f9e5a", "#c44e52", "#8172b3", "#937860", "#da8bc3",
           "#8c8c8c", "#ccb974", "#64b5cd")

Points = list[tuple[float, float]]


def step_series(rows: list[dict[str, Any]]) -> dict[str, dict[str, Points]]:
    """Chart name -> line name -> (step, value) points, from metrics rows.

    A number is a chart of its own; a dict of numbers is one chart with a line per key
    (a chart per key for SPLIT_CHARTS); a dict of dicts (reward by role) is a chart per
    inner key with a line per outer key. Missing and null values leave no point.

    >>> step_series([{"step": 1, "solve_rate": 0.5, "reward": {"solver": {"mean": 0.2}}}])
    {'solve_rate': {'solve_rate': [(1, 0.5)]}, 'reward · mean': {'solver': [(1, 0.2)]}}
    """
    charts: dict[str, dict[str, Points]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        step = row.get("step")
        if not _number(step):
            continue
        for key, value in row.items():
            if key in NOT_SERIES:
                continue
            if _number(value):
                charts[key][key].append((step, float(value)))
            elif isinstance(value, dict):
                for inner, v in value.items():
                    if _number(v):
                        chart = f"{key} · {inner}" if key in SPLIT_CHARTS else key
                        charts[chart][inner].append((step, float(v)))
                    elif isinstance(v, dict):
                        for leaf, x in v.items():
                            if _number(x):
                                charts[f"{key} · {leaf}"][inner].append((step, float(x)))
    return {name: dict(lines) for name, lines in charts.items()}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and value == value and abs(value) != float("inf")


def line_chart(name: str, lines: dict[str, Points], width: int = 420, height: int = 200) -> str:
    """An SVG chart: a polyline and a titled circle per point, axis ranges, a legend."""
    points = [p for line in lines.values() for p in line]
    if not points:
        return ""
    x0, x1 = min(x for x, _ in points), max(x for x, _ in points)
    y0, y1 = min(y for _, y in points), max(y for _, y in points)
    if y0 == y1:
        y0, y1 = y0 - 0.5, y1 + 0.5
    x_span = (x1 - x0) or 1.0
    left, right, top, bottom = 46, 8, 8, 22

    def at(x: float, y: float) -> tuple[float, float]:
        return (left + (x - x0) / x_span * (width - left - right),
                top + (y1 - y) / (y1 - y0) * (height - top - bottom))

    parts = [f'<figure class="chart"><figcaption>{escape(name)}</figcaption>'
             f'<svg width="{width}" height="{height}" role="img" aria-label="{escape(name)}">'
             f'<rect class="frame" x="{left}" y="{top}" width="{width - left - right}" '
             f'height="{height - top - bottom}"/>'
             f'<text x="{left - 4}" y="{top + 9}" text-anchor="end">{y1:.4g}</text>'
             f'<text x="{left - 4}" y="{height - bottom}" text-anchor="end">{y0:.4g}</text>'
             f'<text x="{left}" y="{height - 6}">step {x0:g}</text>'
             f'<text x="{width - right}" y="{height - 6}" text-anchor="end">{x1:g}</text>']
    legend = []
    for i, (label, line) in enumerate(lines.items()):
        color = PALETTE[i % len(PALETTE)]
        coords = [at(x, y) for x, y in line]
        polyline = " ".join(f"{px:.1f},{py:.1f}" for px, py in coords)
        parts.append(f'<polyline class="curve" stroke="{color}" points="{polyline}"/>')
        parts += [f'<circle class="point" cx="{px:.1f}" cy="{py:.1f}" r="2.2" fill="{color}">'
                  f'<title>{escape(label)} at step {x:g}: {y:.4g}</title></circle>'
                  for (px, py), (x, y) in zip(coords, line, strict=True)]
        if len(lines) > 1:
            legend.append(f'<span style="color:{color}">■</span> {escape(label)}')
    parts.append("</svg>")
    if legend:
        parts.append(f'<div class="legend">{" ".join(legend)}</div>')
    return "".join(parts) + "</figure>"


def heldout_series(run: RunPaths) -> dict[str, Points]:
    """Held-out greedy pass@1 by split, as `run.eval_every` measured it during the run."""
    if not run.heldout_curve_path.is_file():
        return {}
    lines: dict[str, Points] = defaultdict(list)
    for row in read_jsonl(run.heldout_curve_path, tail_ok=True):
        for split, value in row.items():
            if split.startswith("heldout-") and _number(value) and _number(row.get("step")):
                lines[split].append((row["step"], float(value)))
    return dict(lines)


def growth_by_origin(store: CurriculumStore) -> dict[str, Points]:
    """Valid training tasks in the curriculum after each step, by origin (cumulative)."""
    rows = store.conn.execute(
        "SELECT origin, step, COUNT(*) FROM tasks WHERE status = 'valid' AND heldout = 0 "
        "GROUP BY origin, step ORDER BY step").fetchall()
    steps = sorted({step for _, step, _ in rows} | {s for s, _, _ in store.steps()})
    added = {(origin, step): n for origin, step, n in rows}
    lines = {}
    for origin in sorted({origin for origin, _, _ in rows}):
        total, line = 0, []
        for step in steps:
            total += added.get((origin, step), 0)
            line.append((step, float(total)))
        lines[origin] = line
    return lines


def task_rows(store: CurriculumStore, window: int | None) -> list[dict[str, Any]]:
    """The training tasks (policy-invented first), with what the detail view shows."""
    tasks = store.tasks(heldout=False, window=window)
    tasks.sort(key=lambda t: (t.provenance.origin != "policy", -t.step))
    rows = []
    for task in tasks[:MAX_TASKS]:
        stats = task.stats
        rows.append({
            "id": task.id, "step": task.step, "origin": task.provenance.origin,
            "status": task.status if task.valid else f"rejected: {task.reason}",
            "kind": task.kind, "ops": " ".join(ops_of(task.tags)), "attempts": stats.attempts,
            "solve_rate": None if stats.solve_rate is None else round(stats.solve_rate, 3),
            "statement": task.statement, "reference": task.reference,
            "strategy": task.strategy, "detail": task.detail,
            "public_tests": public_examples(task),
            "solutions": [{"status": s.status, "reward": s.reward, "step": s.step,
                           "text": s.text} for s in store.solutions(task.id)],
        })
    return rows


def heldout_by_group(run: RunPaths) -> list[tuple]:
    """(group, first, last) rows of held-out pass@1 by family, API and edge kind, from the
    first and the last evaluation during the run ("pass@1 (tasks)" each)."""
    if not run.heldout_curve_path.is_file():
        return []
    rows = [r for r in read_jsonl(run.heldout_curve_path, tail_ok=True)
            if isinstance(r.get("by"), dict) and r["by"]]
    if not rows:
        return []
    first, last = rows[0]["by"], rows[-1]["by"]

    def cell(g: Any) -> str:
        ok = isinstance(g, dict) and _number(g.get("pass@1")) and _number(g.get("n"))
        return f"{g['pass@1']:.0%} ({g['n']})" if ok else "-"
    return [(group, cell(first.get(group)), cell(last.get(group)))
            for group in sorted(set(first) | set(last))]


def _table(rows: list[tuple], header: tuple[str, ...]) -> str:
    if not rows:
        return "<p class=empty>nothing recorded yet</p>"
    return ("<table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr>"
            + "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>"
                      for row in rows) + "</table>")


def run_report(run: RunPaths, window: int | None = None, mix: Mix | None = None,
               max_ops: int = 3) -> str:
    """The page for a run directory (RunDirError if it has nothing to report yet)."""
    if not run.path.is_dir():
        raise RunDirError(f"no run directory at {run.path}")
    if not run.metrics_path.is_file() and not run.curriculum_path.is_file():
        raise RunDirError(f"{run.path} has neither {run.metrics_path.name} nor "
                          f"{run.curriculum_path.name} yet: nothing to report")
    metrics = (read_jsonl(run.metrics_path, tail_ok=True) if run.metrics_path.is_file()
               else [])
    growth: dict[str, Points] = {}
    tasks: list[dict[str, Any]] = []
    shares: dict[str, dict[str, float]] = {}
    if run.curriculum_path.is_file():
        with CurriculumStore.open(run.curriculum_path, readonly=True) as store:
            growth, tasks = growth_by_origin(store), task_rows(store, window)
            shares = composition(store.tasks(status="valid", split="train"))
    targets = mix_targets(mix, max_ops) if mix is not None else None
    charts = step_series(metrics)
    charts = {name: charts[name] for name in sorted(
        charts, key=lambda n: FIRST.index(n) if n in FIRST else len(FIRST))}
    last = metrics[-1] if metrics else {}
    totals = proposer_totals(metrics)
    summary = [("run", str(run.path)), ("steps recorded", len(metrics)),
               ("last step", last.get("step", "-")),
               ("training tasks", len(tasks)),
               ("tasks invented by the policy", sum(t["origin"] == "policy" for t in tasks)),
               ("proposals valid", _of(totals["valid"], totals["proposals"])
                + f" over {totals['proposing_steps']} proposing steps"),
               ("invented tasks of a new program shape",
                _of(totals["novel_policy_tasks"], totals["new_policy_tasks"])),
               ("invented tasks judged learnable",
                _of(totals["learnable_policy_tasks"], totals["judged_policy_tasks"])),
               ("written", time.strftime("%Y-%m-%d %H:%M:%S %Z"))]
    sections = [
        f"<h1>zeroplay run report: {escape(run.path.name)}</h1>",
        "<table class=summary>" + "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td>"
                                          "</tr>" for k, v in summary) + "</table>",
        "<h2>Held-out greedy pass@1</h2>",
        line_chart("held-out pass@1 (run.eval_every)", heldout_series(run))
        or "<p class=empty>no held-out evaluation yet (run.eval_every)</p>",
        "<h2>Held-out greedy pass@1 by family, API and edge case</h2>",
        _table(heldout_by_group(run), ("group", "first evaluation", "last evaluation")),
        "<h2>Curriculum growth by origin</h2>",
        line_chart("valid training tasks", growth) or "<p class=empty>no tasks yet</p>",
        "<h2>Composition of the training tasks</h2>",
        _table(composition_rows(shares, targets),
               ("kind", "name", "share of training tasks", "mix target")),
        "<h2>Learning curves</h2>",
        "<div class=charts>" + "".join(line_chart(n, lines) for n, lines in charts.items())
        + "</div>" if charts else "<p class=empty>no step recorded yet</p>",
        "<h2>Tasks</h2>",
        TASKS_HTML,
    ]
    data = json.dumps(tasks, ensure_ascii=True).replace("<", "\\u003c").replace(
        ">", "\\u003e").replace("&", "\\u0026")
    return ("<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<title>zeroplay: {escape(run.path.name)}</title><style>{STYLE}</style></head>"
            "<body>" + "\n".join(sections)
            + f'<script type="application/json" id="task-data">{data}</script>'
            + f"<script>{SCRIPT}</script></body></html>\n")


def _of(part: int, whole: int) -> str:
    return f"{part} of {whole}" + (f" ({part / whole:.0%})" if whole else "")


def write_report(run_dir: Path, out: Path | None = None) -> Path:
    """Write the report (default `<run>/report.html`) atomically; returns its path."""
    from zeroplay.files import atomic_write_text

    run = RunPaths(run_dir)
    window, mix, max_ops = None, None, 3
    if run.config_path.is_file():
        from zeroplay.config import load_config

        cur = load_config(run.config_path).curriculum
        window, mix, max_ops = cur.learnability_window, cur.mix.to_mix(), cur.max_ops
    html = run_report(run, window, mix, max_ops)
    out = out or run.path / "report.html"
    atomic_write_text(out, html)
    return out


STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:1.5rem auto;max-width:80rem;color:#222}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.6rem}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.15rem .5rem;text-align:left;
vertical-align:top}th{background:#f3f3f3}.summary th{width:14rem}
.charts{display:flex;flex-wrap:wrap;gap:.6rem}.chart{margin:0}
figcaption{font-weight:600;font-size:12px}svg text{font-size:10px;fill:#555}
.frame{fill:#fafafa;stroke:#ddd}.curve{fill:none;stroke-width:1.6}.legend{font-size:11px}
#tasks th{cursor:pointer;user-select:none}#tasks tbody tr{cursor:pointer}
#tasks tbody tr:hover{background:#eef3fb}#tasks tbody tr.open{background:#dde8f7}
#detail pre{background:#f6f6f6;padding:.4rem;overflow:auto;max-height:20rem}
#detail{border:1px solid #ccc;padding:.5rem 1rem;margin:.6rem 0}.empty{color:#777}
"""

TASKS_HTML = """
<p><input id=filter type=search placeholder="filter: any text (id, origin, status, kind,
ops, statement)" size=60> <span id=shown></span> · click a column to sort, a row to open
it</p>
<div id=detail hidden></div>
<table id=tasks><thead><tr><th data-key=id>id</th><th data-key=step>step</th>
<th data-key=origin>origin</th><th data-key=status>status</th><th data-key=kind>kind</th>
<th data-key=ops>operations</th><th data-key=attempts>attempts</th>
<th data-key=solve_rate>solve rate</th></tr></thead><tbody></tbody></table>
"""

SCRIPT = r"""
(function () {
  const tasks = JSON.parse(document.getElementById("task-data").textContent);
  const body = document.querySelector("#tasks tbody");
  const filter = document.getElementById("filter");
  const detail = document.getElementById("detail");
  const columns = ["id", "step", "origin", "status", "kind", "ops", "attempts", "solve_rate"];
  let sortKey = null, ascending = true;

  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text === null ? "-" : String(text);
    row.appendChild(td);
  }
  function block(title, text) {
    const h = document.createElement("h3");
    h.textContent = title;
    const pre = document.createElement("pre");
    pre.textContent = text;
    detail.append(h, pre);
  }
  function open(task, row) {
    document.querySelectorAll("#tasks tr.open").forEach(r => r.classList.remove("open"));
    row.classList.add("open");
    detail.replaceChildren();
    detail.hidden = false;
    const h = document.createElement("h3");
    h.textContent = "task " + task.id + " (" + task.origin + ", step " + task.step + ", " +
      task.status + ", solve rate " + (task.solve_rate === null ? "-" : task.solve_rate) +
      " over " + task.attempts + " attempts)";
    detail.appendChild(h);
    block("statement", task.statement);
    block("reference", task.reference);
    block("strategy", task.strategy);
    block("public tests", task.public_tests.join("\n") || "(none)");
    if (task.detail) block("why rejected", task.detail);
    if (!task.solutions.length) block("judged solutions", "(none kept)");
    task.solutions.forEach(s => block("solution at step " + s.step + ": " + s.status +
                                      " (reward " + s.reward + ")", s.text));
    detail.scrollIntoView({block: "nearest"});
  }
  function render() {
    const needle = filter.value.toLowerCase();
    let shown = tasks.filter(t => !needle || [t.id, t.origin, t.status, t.kind, t.ops,
      t.statement].join(" ").toLowerCase().includes(needle));
    if (sortKey) {
      shown = shown.slice().sort((a, b) => {
        const x = a[sortKey], y = b[sortKey];
        const order = x === y ? 0 : x === null ? -1 : y === null ? 1 : x < y ? -1 : 1;
        return ascending ? order : -order;
      });
    }
    body.replaceChildren();
    shown.forEach(task => {
      const row = document.createElement("tr");
      columns.forEach(key => cell(row, task[key]));
      row.addEventListener("click", () => open(task, row));
      body.appendChild(row);
    });
    document.getElementById("shown").textContent = shown.length + " of " + tasks.length +
      " tasks";
  }
  document.querySelectorAll("#tasks th").forEach(th => th.addEventListener("click", () => {
    ascending = sortKey === th.dataset.key ? !ascending : true;
    sortKey = th.dataset.key;
    render();
  }));
  filter.addEventListener("input", render);
  render();
})();
"""
