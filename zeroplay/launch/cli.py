"""The `zeroplay` command line.

Commands are thin: typed options, a docstring that is the help text, and a call into
the library. Library code raises ZeroplayError subclasses; only this module turns them
into a one-line `error: ...` and an exit code. Heavy libraries are imported inside the
commands that need them, so `zeroplay --help` stays fast.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

from zeroplay import __version__
from zeroplay.config import Config, load_config
from zeroplay.errors import NotBuiltError, ZeroplayError


class SandboxEscape(ZeroplayError):
    """The selftest found a hostile case that the sandbox did not contain."""

    exit_code = 1


console = Console()
err_console = Console(stderr=True)


class _ZeroplayGroup(TyperGroup):
    """Turns a ZeroplayError from any command into one line on stderr and its exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except ZeroplayError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None


class _DefaultCommandGroup(TyperGroup):
    """A group whose first subcommand also runs when the first word is not a command name,
    so that `zeroplay eval MODEL` and `zeroplay eval fidelity` both work."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = [next(iter(self.commands)), *args]
        return super().resolve_command(ctx, args)


def _typer(help: str, cls: type[TyperGroup] = TyperGroup) -> typer.Typer:
    return typer.Typer(help=help, cls=cls, no_args_is_help=True, add_completion=False,
                       pretty_exceptions_show_locals=False)


app = _typer("zeroplay: self-play RL for code models on purely synthetic data.", _ZeroplayGroup)
config_app = _typer("Inspect the resolved run config.")
sandbox_app = _typer("Build and use the Docker sandbox that runs model-written code.")
curriculum_app = _typer("Inspect and build the curricula that self-play invents.")
eval_app = _typer(
    "Evaluate a model or checkpoint: `zeroplay eval MODEL --benchmark ...` "
    "or `zeroplay eval fidelity ...`.",
    _DefaultCommandGroup,
)
jobs_app = _typer("Follow and manage runs submitted to a Ray cluster.")
actors_app = _typer("Run the rollout side (policy actors and sandbox) on Ray.")
app.add_typer(config_app, name="config")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(curriculum_app, name="curriculum")
app.add_typer(eval_app, name="eval")
app.add_typer(jobs_app, name="jobs")
app.add_typer(actors_app, name="actors")

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML run config. Default: the built-in local "
                 "config (the same as configs/local.yaml)."),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", metavar="KEY=VALUE",
                 help="Override one config value, e.g. --set rollout.temperature=0.7. "
                 "Repeatable."),
]
RunDirArg = Annotated[Path, typer.Argument(help="A run directory, e.g. runs/demo.")]
AddressOpt = Annotated[
    str | None,
    typer.Option("--address", help="Ray dashboard address, e.g. http://HEAD:8265. "
                 "Default: RAY_ADDRESS."),
]


def _not_built(command: str) -> None:
    raise NotBuiltError(f"`zeroplay {command}` is not implemented in zeroplay {__version__} yet")


@contextmanager
def _progress(message: str) -> Iterator[Callable[[str], None]]:
    """A spinner on a terminal, plain lines on stderr otherwise."""
    if err_console.is_terminal:
        with err_console.status(message) as status:
            yield lambda text: status.update(text)
    else:
        err_console.print(message, highlight=False, soft_wrap=True)
        yield lambda text: err_console.print(text, highlight=False, soft_wrap=True)


@contextmanager
def _sandbox_pool(cfg: Config) -> Iterator[Any]:
    from zeroplay.sandbox.pool import SandboxPool

    with _progress("starting the sandbox pool") as progress:
        from zeroplay.sandbox.image import build_image

        image = build_image(cfg.sandbox, progress=progress).tag
        pool = SandboxPool(cfg.sandbox, image)
    with pool:
        yield pool


@contextmanager
def _bar(label: str, total: int) -> Iterator[Callable[[], None]]:
    """A progress bar on a terminal; nothing otherwise (output may be piped)."""
    if not err_console.is_terminal:
        yield lambda: None
        return
    from rich.progress import Progress

    with Progress(console=err_console, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda: bar.advance(task)


def _version(value: bool) -> None:
    if value:
        console.print(f"zeroplay {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False,
    version: Annotated[bool | None, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit."
    )] = None,
) -> None:
    """zeroplay: one policy proposes programming tasks and solves them; a hardened Docker
    sandbox judges the code with Hypothesis-generated tests; TRL GRPO learns; Ray runs it."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


# --- run / submit ------------------------------------------------------------------------


@app.command()
def run(
    config: ConfigOpt = None,
    set_: SetOpt = None,
    name: Annotated[str | None, typer.Option(help="Run name (runs/<name>).")] = None,
    steps: Annotated[int | None, typer.Option(min=1, help="Self-play steps.")] = None,
    resume: Annotated[Path | None, typer.Option(help="Continue this run directory.")] = None,
    address: Annotated[str | None, typer.Option(
        help="Ray cluster to join. Default: RAY_ADDRESS, else a local Ray runtime.")] = None,
) -> None:
    """Run self-play: propose, validate, solve, judge, learn, repeat."""
    from zeroplay.launch.run import prepare_run

    overrides = list(set_ or [])
    for key, value in (("run.name", name), ("run.steps", steps), ("cluster.address", address)):
        if value is not None:
            overrides.append(f"{key}={value}")
    with _progress("preparing the run") as progress:
        run_dir = prepare_run(config, overrides, resume=resume, progress=progress)
    raise NotBuiltError(
        f"the self-play loop is not implemented in zeroplay {__version__} yet; "
        f"{run_dir.path} holds the resolved config, the sandbox image is ready"
    )


@app.command()
def submit(
    address: AddressOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    name: Annotated[str | None, typer.Option(help="Run name.")] = None,
    follow: Annotated[bool, typer.Option(help="Stream the job's logs until it ends.")] = False,
) -> None:
    """Submit a run to a Ray cluster as a Ray Job."""
    _not_built("submit")


# --- config ------------------------------------------------------------------------------


@config_app.command("show")
def config_show(config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Print the resolved config (file + overrides) as YAML."""
    typer.echo(load_config(config, set_).to_yaml(), nl=False)


# --- sandbox -----------------------------------------------------------------------------


@sandbox_app.command("build-image")
def sandbox_build_image(
    config: ConfigOpt = None,
    set_: SetOpt = None,
    force: Annotated[bool, typer.Option(help="Rebuild even if the image is up to date.")] = False,
) -> None:
    """Build the sandbox image offline (debootstrap + docker import), or reuse it."""
    from zeroplay.sandbox.image import build_image

    cfg = load_config(config, set_)
    with _progress("checking the sandbox image") as progress:
        built = build_image(cfg.sandbox, force=force, progress=progress)
    state = "up to date" if built.cached else "built"
    console.print(f"{built.tag} ({state}, {built.seconds:.1f} s)", highlight=False)


@sandbox_app.command("validate")
def sandbox_validate(
    tasks: Annotated[Path, typer.Option(help="Task drafts, JSONL ('-' for stdin): "
                                        '{"id", "entry_point", "reference", "strategy"}.')],
    out: Annotated[Path | None, typer.Option(help="Output JSONL. Default: stdout.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for drawing test inputs.")] = 0,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Validate task drafts in the sandbox; one {"id", "valid", "reason", "tests"} line each."""
    from zeroplay.jsonl import read_jsonl, write_jsonl
    from zeroplay.sandbox.batch import TASK_FIELDS, validate_records, validation_row

    cfg = load_config(config, set_)
    records = read_jsonl(tasks, TASK_FIELDS)
    with _sandbox_pool(cfg) as pool, _bar("validating", len(records)) as tick:
        validations = validate_records(pool, records, cfg.sandbox, seed, tick)
    write_jsonl(out, [validation_row(t, v) for t, v in zip(records, validations, strict=True)])


@sandbox_app.command("judge")
def sandbox_judge(
    tasks: Annotated[Path, typer.Option(help="Task drafts, JSONL ('-' for stdin).")],
    solutions: Annotated[Path, typer.Option(help="Solutions, JSONL ('-' for stdin): "
                                            '{"task_id", "solution_id", "code"}.')],
    out: Annotated[Path | None, typer.Option(help="Output JSONL. Default: stdout.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for drawing test inputs.")] = 0,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Validate tasks, then judge each solution against them; one verdict line per solution."""
    from zeroplay.errors import ConfigError
    from zeroplay.jsonl import read_jsonl, write_jsonl
    from zeroplay.sandbox.batch import (
        SOLUTION_FIELDS,
        TASK_FIELDS,
        judge_records,
        validate_records,
    )

    if str(tasks) == "-" and str(solutions) == "-":
        raise ConfigError("--tasks and --solutions cannot both be stdin ('-')")
    cfg = load_config(config, set_)
    task_rows = read_jsonl(tasks, TASK_FIELDS)
    solution_rows = read_jsonl(solutions, SOLUTION_FIELDS)
    with _sandbox_pool(cfg) as pool:
        with _bar("validating", len(task_rows)) as tick:
            validations = validate_records(pool, task_rows, cfg.sandbox, seed, tick)
        with _bar("judging", len(solution_rows)) as tick:
            rows = judge_records(pool, task_rows, validations, solution_rows, cfg.sandbox, tick)
    write_jsonl(out, rows)


@sandbox_app.command("selftest")
def sandbox_selftest(config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Run the adversarial suite against the live pool and print what was contained."""
    from rich.table import Table

    from zeroplay.sandbox.selftest import CASES, run_selftest

    cfg = load_config(config, set_)
    with _sandbox_pool(cfg) as pool, _bar("hostile cases", len(CASES)) as tick:
        rows = run_selftest(pool, cfg.sandbox, progress=lambda _name: tick())
    table = Table(title=f"sandbox selftest ({cfg.sandbox.runtime}, {pool.image})")
    for column in ("hostile case", "status", "reward", "honest job after", "contained"):
        table.add_column(column)
    for row in rows:
        table.add_row(row.name, " / ".join(v.status for v in row.verdicts),
                      " / ".join(f"{v.reward:g}" for v in row.verdicts),
                      row.honest_after.status, "yes" if row.contained else "[bold red]NO[/]")
    console.print(table)
    bad = [row.name for row in rows if not row.contained]
    if bad:
        raise SandboxEscape(f"{len(bad)} hostile cases were not contained: {', '.join(bad)}")
    console.print(f"all {len(rows)} hostile cases contained; {pool.recycled} containers recycled")


# --- curriculum --------------------------------------------------------------------------


def _open_run(run_dir: Path):
    """The run's curriculum store (read-only) and its learnability window."""
    from zeroplay.curricula.store import CurriculumStore
    from zeroplay.errors import RunDirError

    if not run_dir.is_dir():
        raise RunDirError(f"no run directory at {run_dir}")
    path = run_dir / "curriculum.sqlite"
    if not path.is_file():
        raise RunDirError(f"{run_dir} has no curriculum.sqlite; make one with "
                          "`zeroplay curriculum seed --out DIR` or `zeroplay run`")
    window = Config().curriculum.learnability_window
    if (run_dir / "config.yaml").is_file():
        window = load_config(run_dir / "config.yaml").curriculum.learnability_window
    return CurriculumStore.open(path, readonly=True), window


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

    from zeroplay.sandbox.supervisor import from_tagged

    store, window = _open_run(run_dir)
    with store:
        task = store.get_task(task_id, window)
        attempts = store.attempts(task_id)
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

    from zeroplay.curricula.stats import curriculum_stats as compute

    store, window = _open_run(run_dir)
    with store:
        stats = compute(store, window)
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
    heldout: Annotated[int | None, typer.Option(help="Held-out tasks. "
                                                "Default: curriculum.heldout_tasks.")] = None,
    seed: Annotated[int | None, typer.Option(help="Synthesizer seed. Default: run.seed.")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Build a curriculum from the seed synthesizer alone, validated in the sandbox."""
    from zeroplay.curricula.admit import seed_curriculum
    from zeroplay.curricula.store import CurriculumStore
    from zeroplay.launch.rundir import RunDir

    cfg = load_config(config, set_)
    n = cfg.curriculum.seed_tasks if n is None else n
    heldout = cfg.curriculum.heldout_tasks if heldout is None else heldout
    seed = cfg.run.seed if seed is None else seed
    with _sandbox_pool(cfg) as pool:
        run = RunDir.create(cfg, out)
        store = CurriculumStore.open(run.curriculum_path, create=True, run_id=out.name)
        with store, _progress(f"synthesizing and validating {n} + {heldout} held-out tasks"):
            train, held = seed_curriculum(store, pool, cfg, n=n, heldout=heldout, seed=seed,
                                          run_id=out.name)
    total = train.validated + held.validated
    valid = train.valid + held.valid
    rate = valid / total if total else 0.0
    seconds = train.seconds + held.seconds
    console.print(f"{out}: {train.valid} training + {held.valid} held-out tasks; validity "
                  f"{valid}/{total} = {rate:.1%}; {total / seconds:.1f} drafts/s", highlight=False)
    rejected = train.rejected + held.rejected
    if rejected:
        console.print("rejected: " + ", ".join(f"{r} {c}" for r, c in rejected.most_common()))


@curriculum_app.command("report")
def curriculum_report(
    run_dir: RunDirArg, out: Annotated[Path, typer.Option(help="HTML file to write.")]
) -> None:
    """Write a static HTML report of the curriculum (no network assets)."""
    from zeroplay.curricula.report import render_report
    from zeroplay.curricula.stats import curriculum_stats as compute

    store, window = _open_run(run_dir)
    with store:
        html = render_report(compute(store, window), str(run_dir))
    out.write_text(html)
    console.print(f"wrote {out}")


class ProvenanceFailure(ZeroplayError):
    """Some task or sample lacks a synthetic origin."""

    exit_code = 1


@curriculum_app.command("provenance")
def curriculum_provenance(run_dir: RunDirArg) -> None:
    """Check that every task and training sample has a synthetic origin; write provenance.json."""
    from zeroplay.curricula.provenance import provenance_report, write_provenance

    store, _ = _open_run(run_dir)
    with store:
        report = provenance_report(store)
    write_provenance(report, run_dir / "provenance.json")
    tasks, samples = report["tasks"], report["samples"]
    console.print(f"tasks {tasks['total']} by origin {tasks['by_origin']}; samples "
                  f"{samples['total']} by origin {samples['by_origin']}; wrote "
                  f"{run_dir / 'provenance.json'}", highlight=False)
    bad = report["offenders"]
    if not report["passed"]:
        named = ", ".join(bad["tasks"][:10] + bad["samples"][:10])
        raise ProvenanceFailure(
            f"provenance check failed: {bad['tasks_total']} tasks and {bad['samples_total']} "
            f"samples without a synthetic origin: {named}")
    console.print("provenance check passed: every task and sample is synthetic")


@actors_app.command("step")
def actors_step(
    run_dir: RunDirArg,
    rounds: Annotated[int, typer.Option(min=1, help="Self-play rounds to run.")] = 1,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Run non-learning self-play rounds (propose, validate, solve, judge, score) on Ray,
    writing everything into the run's curriculum."""
    import random

    from zeroplay.actors.session import RolloutSession
    from zeroplay.curricula.store import CurriculumStore
    from zeroplay.errors import RunDirError

    path = run_dir / "curriculum.sqlite"
    if not path.is_file():
        raise RunDirError(f"{run_dir} has no curriculum.sqlite; seed one first with "
                          f"`zeroplay curriculum seed --out {run_dir}`")
    if config is None and (run_dir / "config.yaml").is_file():
        config = run_dir / "config.yaml"
    cfg = load_config(config, set_)
    with CurriculumStore.open(path) as store:
        first = max((s for s, _, _ in store.steps()), default=0) + 1
        with _progress("starting Ray actors (policy, sandbox)") as progress, \
                RolloutSession(cfg) as session:
            for step in range(first, first + rounds):
                progress(f"self-play round {step}")
                result = session.round(store, step, random.Random(cfg.run.seed * 7919 + step),
                                       run_id=run_dir.name)
                s = result.summary
                console.print(Text(
                    f"step {step}: proposals {s['proposals']} (format reasons "
                    f"{s['format_reasons']}), new valid tasks {s['new_valid_tasks']}, "
                    f"solutions {s['solutions']}, solver reward {s['solver_reward_mean']:.2f}"))


# --- eval --------------------------------------------------------------------------------


@eval_app.command("model")
def eval_model(
    model: Annotated[str, typer.Argument(help="Model path, hub id, or checkpoint dir.")],
    benchmark: Annotated[str, typer.Option(help="humaneval or synthetic-heldout.")],
    samples: Annotated[int, typer.Option(help="Completions per problem (k).")] = 1,
) -> None:
    """pass@k of a model or checkpoint on a benchmark (the default `eval` command)."""
    _not_built("eval")


@eval_app.command("fidelity")
def eval_fidelity(
    benchmark: Annotated[str, typer.Option(help="Benchmark to measure on.")] = "humaneval",
) -> None:
    """How well Hypothesis-judged rewards separate correct code from mutants."""
    _not_built("eval fidelity")


# --- jobs --------------------------------------------------------------------------------


@jobs_app.command("list")
def jobs_list(address: AddressOpt = None) -> None:
    """List submitted zeroplay jobs."""
    _not_built("jobs list")


@jobs_app.command("status")
def jobs_status(job_id: Annotated[str, typer.Argument()], address: AddressOpt = None) -> None:
    """Status of one job."""
    _not_built("jobs status")


@jobs_app.command("logs")
def jobs_logs(job_id: Annotated[str, typer.Argument()], address: AddressOpt = None) -> None:
    """Logs of one job."""
    _not_built("jobs logs")


@jobs_app.command("stop")
def jobs_stop(job_id: Annotated[str, typer.Argument()], address: AddressOpt = None) -> None:
    """Stop one job."""
    _not_built("jobs stop")


def main() -> None:
    app()
