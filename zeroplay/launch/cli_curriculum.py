"""`zeroplay curriculum ...`: build a curriculum and inspect one, also while a run writes it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from zeroplay.config import Config, load_config
from zeroplay.errors import ZeroplayError
from zeroplay.launch.cli_common import (
    ConfigOpt,
    RunDirArg,
    SetOpt,
    console,
    make_typer,
    progress_display,
    sandbox_pool,
)
from zeroplay.run_paths import RunPaths

curriculum_app = make_typer("Inspect and build the curricula that self-play invents.")


def _run_config(run_dir: Path) -> Config:
    """The run's config (the defaults for a directory without one)."""
    path = RunPaths(run_dir).config_path
    return load_config(path) if path.is_file() else Config()


def _open_run(run_dir: Path):
    """The run's curriculum store (read-only) and its learnability window."""
    from zeroplay.curricula.store import CurriculumStore
    from zeroplay.errors import RunDirError

    if not run_dir.is_dir():
        raise RunDirError(f"no run directory at {run_dir}")
    run = RunPaths(run_dir)
    if not run.curriculum_path.is_file():
        raise RunDirError(f"{run_dir} has no {run.curriculum_path.name}; make one with "
                          "`zeroplay curriculum seed --out DIR` or `zeroplay run`")
    window = _run_config(run_dir).curriculum.learnability_window
    return CurriculumStore.open(run.curriculum_path, readonly=True), window


def _fmt_rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


@curriculum_app.command("list")
def curriculum_list(
    run_dir: RunDirArg,
    status: Annotated[str | None, typer.Option(help="valid or rejected.")] = None,
    origin: Annotated[str | None, typer.Option(help="seed-synth or policy.")] = None,
    sort: Annotated[str, typer.Option(help="learnability, solve-rate or created.")] = "created",
    limit: Annotated[int, typer.Option(min=1, help="Show at most N tasks.")] = 50,
    json_out: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")
                        ] = False,
) -> None:
    """List the tasks of a run's curriculum."""
    import json

    from rich.table import Table

    from zeroplay.errors import ConfigError

    keys = {"learnability": lambda t: -t.stats.learnability,
            "solve-rate": lambda t: -(t.stats.solve_rate or 0.0),
            "created": lambda t: (t.step, t.provenance.created_at)}
    if sort not in keys:
        raise ConfigError(f"--sort {sort!r}: use one of {', '.join(keys)}")
    store, window = _open_run(run_dir)
    with store:
        tasks = sorted(store.tasks(status=status, origin=origin, window=window),
                       key=keys[sort])[:limit]
    if json_out:
        for task in tasks:
            typer.echo(json.dumps(task.to_json()))
        return
    table = Table(title=f"{run_dir}: {len(tasks)} tasks")
    table.add_column("id", no_wrap=True)
    for column in ("status", "origin", "kind", "att", "solve", "learn"):
        table.add_column(column)
    table.add_column("statement", no_wrap=True, overflow="ellipsis", max_width=40)
    for t in tasks:
        cells = (t.id, t.status if t.valid else f"rejected: {t.reason}",
                 t.provenance.origin + (" (held out)" if t.heldout else ""), t.kind,
                 str(t.stats.attempts), _fmt_rate(t.stats.solve_rate),
                 _fmt_rate(t.stats.learnability), t.statement)
        table.add_row(*(Text(c) for c in cells))  # Text: model-written text is not markup
    console.print(table)


@curriculum_app.command("ops")
def curriculum_ops(
    json_out: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")
                        ] = False,
) -> None:
    """List the synthesizer's operations: name, family, API, input and output type, and
    the edge case its statement rules on."""
    import json

    from rich.table import Table

    from zeroplay.corpus.catalogue import OPS

    rows = [{"name": op.name, "family": op.family, "api": op.api, "input": op.src,
             "output": op.dst, "edge": op.edge} for op in OPS]
    if json_out:
        for row in rows:
            typer.echo(json.dumps(row))
        return
    families, apis = Counter(r["family"] for r in rows), Counter(r["api"] for r in rows)
    table = Table(title=f"{len(rows)} operations, {len(families)} families, {len(apis)} APIs")
    for column in rows[0]:
        table.add_column(column)
    for row in rows:
        table.add_row(*(Text(v) for v in row.values()))
    console.print(table)


@curriculum_app.command("show")
def curriculum_show(
    run_dir: RunDirArg,
    task_id: Annotated[str, typer.Argument(help="Task id.")],
    json_out: Annotated[bool, typer.Option("--json", help="JSON instead of text.")] = False,
) -> None:
    """Show one task: statement, reference, strategy, tests, stats, attempts, provenance."""
    import json
    from dataclasses import asdict

    from rich.syntax import Syntax

    from zeroplay.sandbox.codec import from_tagged

    store, window = _open_run(run_dir)
    with store:
        task = store.get_task(task_id, window)
        attempts = store.attempts(task.id)  # task_id may be a prefix of it
    if json_out:
        data = {**task.to_json(), "attempts": [asdict(a) for a in attempts]}
        typer.echo(json.dumps(data, indent=2))
        return
    state = "valid" if task.valid else f"rejected ({task.reason}: {task.detail})"
    console.print(Text(f"{task.id}  {state}  kind {task.kind}", style="bold")
                  + Text("  held out" if task.heldout else "", style="yellow"))
    console.print(Text(task.statement))
    console.print(Syntax(task.reference, "python", line_numbers=False))
    console.print(f"strategy: {task.strategy}", highlight=False, markup=False)
    for label, tests in (("public", task.public_tests), ("hidden", task.hidden_tests)):
        console.print(f"[bold]{label} tests[/] ({len(tests)})")
        for test in tests[:10]:
            args = ", ".join(repr(from_tagged(a)) for a in test.args)
            console.print(f"  f({args}) == {from_tagged(test.expected)!r}", highlight=False,
                          markup=False)
    s = task.stats
    console.print(f"[bold]stats[/] attempts {s.attempts}, solves {s.solves}, solve rate "
                  f"{_fmt_rate(s.solve_rate)}, learnability {_fmt_rate(s.learnability)}")
    for a in attempts[-10:]:
        console.print(f"  step {a.step} v{a.policy_version} {a.status} reward {a.reward:g} "
                      f"({a.solution_hash[:10]})", highlight=False)
    console.print("[bold]provenance[/] ", end="")
    console.print(json.dumps(task.provenance.to_json()), highlight=False, markup=False)


@curriculum_app.command("stats")
def curriculum_stats(
    run_dir: RunDirArg,
    json_out: Annotated[bool, typer.Option("--json", help="JSON instead of tables.")] = False,
) -> None:
    """Counts by status, origin and reason; solve-rate and learnability histograms; growth."""
    import json

    from rich.table import Table

    from zeroplay.curricula.stats import composition_rows
    from zeroplay.curricula.stats import curriculum_stats as compute

    store, window = _open_run(run_dir)
    cur = _run_config(run_dir).curriculum
    with store:
        stats = compute(store, window, cur.mix.to_mix(), cur.max_ops)
    if json_out:
        typer.echo(json.dumps(stats, indent=2))
        return
    console.print(f"[bold]{run_dir}[/]: {stats['tasks']} tasks, {stats['heldout']} held out, "
                  f"{stats['attempted']} attempted ({stats['attempts']} attempts), "
                  f"{stats['learnable']} learnable (window {window} policy versions)")
    for title, mapping in (("by status", stats["by_status"]), ("by origin", stats["by_origin"]),
                           ("reject reasons", stats["reject_reasons"]),
                           ("filtered", stats["filtered"]),
                           ("top kinds", dict(stats["top_kinds"])),
                           ("top operations", dict(stats["top_operations"]))):
        table = Table(title=title)
        table.add_column("what")
        table.add_column("count", justify="right")
        for key, value in mapping.items():
            table.add_row(Text(str(key)), str(value))
        console.print(table)
    bins = [f"{i / 10:.1f}" for i in range(10)]
    for name in ("solve_rate_histogram", "learnability_histogram"):
        console.print(f"{name}: " + "  ".join(f"{b}:{n}" for b, n in zip(bins, stats[name],
                                                                         strict=True)))
    for g in stats["growth"][-10:]:
        console.print(f"step {g['step']}: +{g['new_valid']} valid of {g['new']} new, "
                      f"{g['valid_total']} valid in total", highlight=False)
    table = Table(title=f"composition of the training tasks (mix {cur.mix.name})")
    for column in ("kind", "name", "share", "mix target"):
        table.add_column(column)
    for row in composition_rows(stats["composition"], stats["mix"]["targets"]):
        table.add_row(*map(Text, row))
    console.print(table)


@curriculum_app.command("export")
def curriculum_export(
    run_dir: RunDirArg,
    out: Annotated[Path, typer.Option(help="Output file.")],
    format: Annotated[str, typer.Option(help="parquet or jsonl.")] = "jsonl",
) -> None:
    """Export every task (with tests, provenance and stats) to Parquet or JSONL."""
    from zeroplay.curricula.export import export

    store, _ = _open_run(run_dir)
    with store:
        n = export(store, out, format)
    console.print(f"wrote {n} tasks to {out}")


@curriculum_app.command("seed")
def curriculum_seed(
    out: Annotated[Path, typer.Option(help="Run directory to create.")],
    n: Annotated[int | None, typer.Option(help="Training tasks to synthesize. "
                                          "Default: curriculum.seed_tasks.")] = None,
    heldout: Annotated[int | None, typer.Option(help="Tasks per held-out split. "
                                                "Default: curriculum.heldout_tasks.")] = None,
    seed: Annotated[int | None, typer.Option(help="Synthesizer seed. Default: run.seed.")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Build a curriculum from the seed synthesizer alone, validated in the sandbox."""
    from zeroplay.curricula.admit import pool_validator, seed_curriculum
    from zeroplay.curricula.stats import composition
    from zeroplay.curricula.store import CurriculumStore
    from zeroplay.launch.rundir import RunDir

    cfg = load_config(config, set_)
    n = cfg.curriculum.seed_tasks if n is None else n
    heldout = cfg.curriculum.heldout_tasks if heldout is None else heldout
    seed = cfg.run.seed if seed is None else seed
    with sandbox_pool(cfg) as pool:
        run = RunDir.create(cfg, out)
        store = CurriculumStore.open(run.curriculum_path, create=True, run_id=out.name)
        with store, progress_display(f"synthesizing and validating {n} training tasks and "
                                     f"{heldout} per held-out split"):
            seeded = seed_curriculum(store, pool_validator(pool, cfg), cfg, n=n,
                                     heldout=heldout, seed=seed, run_id=out.name)
    total = sum(v.validated for v in seeded.values())
    valid = sum(v.valid for v in seeded.values())
    rate = valid / total if total else 0.0
    seconds = sum(v.seconds for v in seeded.values())
    counts = ", ".join(f"{v.valid} {split}" for split, v in seeded.items())
    console.print(f"{out}: {counts} tasks; validity {valid}/{total} = {rate:.1%}; "
                  f"{total / max(seconds, 1e-9):.1f} drafts/s", highlight=False)
    rejected = sum((v.rejected for v in seeded.values()), Counter())
    if rejected:
        console.print("rejected: " + ", ".join(f"{r} {c}" for r, c in rejected.most_common()))
    families = composition(t for t in seeded["train"].tasks if t.valid)["family"]
    console.print(f"training tasks by family (mix {cfg.curriculum.mix.name}; a task counts in "
                  "each family it uses): " + ", ".join(
                      f"{name} {share:.0%}" for name, share in families.items()), highlight=False)


@curriculum_app.command("report")
def curriculum_report(
    run_dir: RunDirArg, out: Annotated[Path, typer.Option(help="HTML file to write.")]
) -> None:
    """Write a static HTML report of the curriculum (no network assets)."""
    from zeroplay.curricula.curriculum_report import render_report
    from zeroplay.curricula.stats import curriculum_stats as compute
    from zeroplay.files import atomic_write_text

    store, window = _open_run(run_dir)
    cur = _run_config(run_dir).curriculum
    with store:
        html = render_report(compute(store, window, cur.mix.to_mix(), cur.max_ops), str(run_dir))
    atomic_write_text(out, html)
    console.print(f"wrote {out}")


class ProvenanceFailure(ZeroplayError):
    """Some task or sample lacks a synthetic origin."""

    exit_code = 1


@curriculum_app.command("provenance")
def curriculum_provenance(run_dir: RunDirArg) -> None:
    """Check that every task and training sample has a synthetic origin and that no task
    matches a HumanEval problem; write provenance.json."""
    from zeroplay.eval.provenance import provenance_report, write_provenance

    store, _ = _open_run(run_dir)
    with store:
        report = provenance_report(store)
    path = RunPaths(run_dir).provenance_path
    write_provenance(report, path)
    tasks, samples = report["tasks"], report["samples"]
    console.print(f"tasks {tasks['total']} by origin {tasks['by_origin']}; samples "
                  f"{samples['total']} by origin {samples['by_origin']}; wrote "
                  f"{path}", highlight=False)
    bad, copied = report["offenders"], report["contamination"]
    if bad["tasks_total"] or bad["samples_total"]:
        named = ", ".join(bad["tasks"][:10] + bad["samples"][:10])
        raise ProvenanceFailure(
            f"provenance check failed: {bad['tasks_total']} tasks and {bad['samples_total']} "
            f"samples without a synthetic origin: {named}")
    if copied["total"]:
        named = ", ".join(f"{m['task']} = {m['problem']}" for m in copied["matches"][:10])
        raise ProvenanceFailure(
            f"provenance check failed: {copied['total']} tasks match HumanEval problems "
            f"(evaluation data must never be trained on): {named}; remove them from the store")
    console.print("provenance check passed: every task and sample is synthetic, and no task "
                  f"matches a HumanEval problem ({copied['tasks_checked']} checked)")


@curriculum_app.command("check")
def curriculum_check(run_dir: RunDirArg) -> None:
    """Run SQLite's integrity check on the run's curriculum store and on each of its
    snapshots; exit 1 if the store is damaged (`zeroplay run --resume` restores it)."""
    from zeroplay.curricula.store import integrity_problems
    from zeroplay.launch.snapshots import whole_snapshots

    store = RunPaths(run_dir).curriculum_path
    if not store.is_file():
        raise ZeroplayError(f"no curriculum store at {store}")
    problems = integrity_problems(store)
    console.print(f"{store}: " + ("whole" if not problems else
                                  f"DAMAGED: {'; '.join(problems[:5])}"), highlight=False)
    for step, found in whole_snapshots(RunPaths(run_dir)):
        console.print(f"  snapshot step-{step}: " + ("whole" if not found else
                                                     f"damaged: {found[0]}"), highlight=False)
    if problems:
        raise typer.Exit(1)
