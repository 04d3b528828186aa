"""A static HTML page about a curriculum: tables and inline SVG plots, no network assets.

    html = render_report(curriculum_stats(store), title="runs/demo")
"""

from __future__ import annotations

from html import escape
from typing import Any

from zeroplay.curricula.stats import composition_rows

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.2rem .6rem;
text-align:left}th{background:#f3f3f3}svg{background:#fafafa;border:1px solid #ddd}
.bar{fill:#4a78b5}.line{fill:none;stroke:#4a78b5;stroke-width:2}text{font-size:11px}
"""


def bar_chart(labels: list[str], values: list[float], width: int = 560, height: int = 180,
              title: str = "") -> str:
    """An SVG bar chart; labels under the bars."""
    if not values:
        return "<p><em>no data yet</em></p>"
    top = max(values) or 1
    slot = width / len(values)
    parts = [f'<svg width="{width}" height="{height + 40}" role="img" '
             f'aria-label="{escape(title)}">']
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = (height - 20) * value / top
        x = i * slot + slot * 0.1
        parts.append(f'<rect class="bar" x="{x:.1f}" y="{height - h:.1f}" '
                     f'width="{slot * 0.8:.1f}" height="{h:.1f}"><title>{escape(label)}: '
                     f'{value:g}</title></rect>')
        parts.append(f'<text x="{x:.1f}" y="{height - h - 4:.1f}">{value:g}</text>')
        parts.append(f'<text x="{x:.1f}" y="{height + 14}">{escape(label[:14])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def line_chart(xs: list[float], ys: list[float], width: int = 560, height: int = 180,
               title: str = "") -> str:
    if not xs:
        return "<p><em>no data yet</em></p>"
    x0, x1 = min(xs), max(xs)
    top = max(ys) or 1
    span = (x1 - x0) or 1
    points = " ".join(f"{20 + (x - x0) / span * (width - 40):.1f},"
                      f"{height - 10 - y / top * (height - 30):.1f}" for x, y in zip(xs, ys,
                                                                                    strict=True))
    return (f'<svg width="{width}" height="{height}" role="img" aria-label="{escape(title)}">'
            f'<polyline class="line" points="{points}"/>'
            f'<text x="20" y="14">max {top:g}</text>'
            f'<text x="20" y="{height - 1}">step {x0:g}</text>'
            f'<text x="{width - 80}" y="{height - 1}">step {x1:g}</text></svg>')


def table(rows: list[tuple[Any, ...]], header: tuple[str, ...]) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def render_report(stats: dict[str, Any], title: str) -> str:
    bins = [f"{i / 10:.1f}-{(i + 1) / 10:.1f}" for i in range(10)]
    growth = stats["growth"]
    sections = [
        f"<h1>Curriculum report: {escape(title)}</h1>",
        "<h2>Counts</h2>",
        table([("tasks", stats["tasks"]), ("held out (valid)", stats["heldout"]),
               ("attempted", stats["attempted"]), ("attempts", stats["attempts"]),
               ("learnable now", stats["learnable"])], ("what", "count")),
        table(sorted(stats["by_status"].items()), ("status", "tasks")),
        table(sorted(stats["by_origin"].items()), ("origin", "tasks")),
        "<h2>Solve rate of attempted tasks</h2>",
        bar_chart(bins, stats["solve_rate_histogram"], title="solve rate histogram"),
        "<h2>Valid tasks over time</h2>",
        line_chart([g["step"] for g in growth], [g["valid_total"] for g in growth],
                   title="valid tasks per step"),
        table([(g["step"], g["new"], g["new_valid"], g["valid_total"]) for g in growth],
              ("step", "new drafts", "new valid", "valid total")),
        "<h2>Reject reasons</h2>",
        bar_chart(list(stats["reject_reasons"]), list(stats["reject_reasons"].values()),
                  title="reject reasons"),
        table(list(stats["filtered"].items()), ("filter:reason", "count")),
        "<h2>Top kinds and operations</h2>",
        table(stats["top_kinds"], ("kind", "valid tasks")),
        table(stats["top_operations"], ("operation", "valid tasks")),
        "<h2>Composition of the training tasks</h2>",
        table(composition_rows(stats["composition"], (stats.get("mix") or {}).get("targets")),
              ("kind", "name", "share of training tasks", "mix target")),
    ]
    return ("<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
            + "\n".join(sections) + "</body></html>\n")
