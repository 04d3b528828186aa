"""The `zeroplay` command line.

Commands are thin: typed options, a docstring that is the help text, and a call into
the library. Library code raises ZeroplayError subclasses; only this module turns them
into a one-line `error: ...` and an exit code. Heavy libraries are imported inside the
commands that need them, so `zeroplay --help` stays fast.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text
from typer.core import TyperGroup

from zeroplay import __version__
from zeroplay.config import load_config
from zeroplay.errors import ZeroplayError
from zeroplay.launch.cli_common import (
    ConfigOpt,
    RunDirArg,
    SetOpt,
    console,
    err_console,
    make_typer,
    progress_bar,
    progress_display,
    sandbox_pool,
)
from zeroplay.launch.cli_curriculum import curriculum_app
from zeroplay.launch.cli_eval import eval_app
from zeroplay.launch.cli_jobs import jobs_app, submit


class SandboxEscape(ZeroplayError):
    """The selftest found a hostile case that the sandbox did not contain."""

    exit_code = 1


class _ZeroplayGroup(TyperGroup):
    """Turns a ZeroplayError from any command into one line on stderr and its exit code,
    and so a curriculum store SQLite cannot read (damaged, cut short, not SQLite)."""

    def invoke(self, ctx: Any) -> Any:
        import sqlite3

        try:
            return super().invoke(ctx)
        except ZeroplayError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except sqlite3.DatabaseError as exc:
            if type(exc) is not sqlite3.DatabaseError:  # locked, full, a constraint: not damage
                raise
            err_console.print(
                f"[bold red]error:[/] a curriculum store is damaged ({exc}); `zeroplay "
                "curriculum check RUN_DIR` shows what is wrong and which snapshots are whole, "
                "and `zeroplay run --resume RUN_DIR` restores the newest whole one",
                highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None


app = make_typer("zeroplay: self-play RL for code models on purely synthetic data.", _ZeroplayGroup)
config_app = make_typer("Inspect the resolved run config.")
sandbox_app = make_typer("Build and use the Docker sandbox that runs model-written code.")
actors_app = make_typer("Run the rollout side (policy actors and sandbox) on Ray.")
model_app = make_typer("Put models where runs load them from.")
app.add_typer(config_app, name="config")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(curriculum_app, name="curriculum")
app.add_typer(eval_app, name="eval")
app.add_typer(jobs_app, name="jobs")
app.add_typer(actors_app, name="actors")
app.add_typer(model_app, name="model")

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
    from_storage: Annotated[str | None, typer.Option(
        "--from-storage", help="With --resume: where the run's storage is (run.storage); "
        "a run directory that is not here is first restored from its newest snapshot "
        "there.")] = None,
    address: Annotated[str | None, typer.Option(
        help="Ray cluster to join. Default: RAY_ADDRESS, else a local Ray runtime.")] = None,
) -> None:
    """Run self-play: propose, validate, solve, judge, learn, repeat. Ctrl-C stops
    cleanly with a checkpoint; --resume RUN_DIR continues from it (repairing what a crash
    left), --resume RUN_DIR --from-storage URI on a machine that never saw the run."""
    import os

    from zeroplay.launch.loop import SelfPlayLoop
    from zeroplay.launch.progress import RunDisplay
    from zeroplay.launch.run import prepare_run

    if address is not None:  # not part of the config: a resumed run may move clusters
        os.environ["RAY_ADDRESS"] = address
    overrides = list(set_ or [])
    if name is not None:
        overrides.append(f"run.name={name}")
    if from_storage is not None and resume is None:
        raise typer.BadParameter("--from-storage restores a run to resume: give --resume "
                                 "RUN_DIR too", param_hint="--from-storage")
    with progress_display("preparing the run") as progress:
        run_dir = prepare_run(config, overrides, resume=resume, steps=steps, progress=progress,
                              from_storage=from_storage)
    err_console.print(f"run directory: {run_dir.path}", highlight=False)
    with RunDisplay(run_dir.config.run.steps, err_console) as display:
        summary = SelfPlayLoop(run_dir, events=display.event).run()
    _print_summary(summary)
    from zeroplay.launch.run_report import write_report

    try:
        console.print(f"report: {write_report(run_dir.path)} (zeroplay report RUN_DIR "
                      "rewrites it)", highlight=False, soft_wrap=True)
    except (ZeroplayError, OSError) as exc:  # the run is saved; only its page is missing
        err_console.print(f"warning: no report written ({exc})", highlight=False)
    if summary.interrupted:
        raise typer.Exit(130)


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{share:.0%}"


def _change(change: tuple[float, float, float] | None) -> str:
    """What follows a split's end score: " (-5.0 points, 95% interval -11.0 to +1.0)"."""
    if change is None:
        return ""
    mean, low, high = (100 * v for v in change)
    return f" ({mean:+.1f} points, 95% interval {low:+.1f} to {high:+.1f})"


def _print_summary(summary: Any) -> None:
    from zeroplay.launch.step_rows import proposer_totals

    rows = summary.rows
    done = summary.last_step - summary.first_step + 1
    checkpoint = summary.checkpoint.name if summary.checkpoint else "none"
    head = "interrupted" if summary.interrupted else "finished"
    console.print(f"{head}: {done} step(s) this time, up to step {summary.last_step}; "
                  f"checkpoint {checkpoint}", highlight=False, soft_wrap=True)
    if rows:
        last = rows[-1]
        console.print(
            f"last step: solver reward {last['reward']['solver']['mean']:.2f}, proposer "
            f"reward {last['reward']['proposer']['mean']:+.2f}, valid proposals "
            f"{last['proposal_validity']:.0%}, curriculum {last['curriculum_tasks']} tasks, "
            f"learner v{last['learner']['version']}", highlight=False, soft_wrap=True)
    totals = proposer_totals(rows)
    if totals["proposing_steps"]:
        console.print(
            f"self-play over {totals['proposing_steps']} proposing steps: "
            f"{totals['valid']} of {totals['proposals']} proposals valid "
            f"({_percent(totals['valid_share'])}), {totals['new_policy_tasks']} new tasks of "
            f"the policy in the curriculum, {totals['novel_policy_tasks']} of a new program "
            f"shape ({_percent(totals['novel_share'])}); learnable: "
            f"{totals['learnable_policy_tasks']} of {totals['judged_policy_tasks']} judged "
            f"({_percent(totals['learnable_share'])})", highlight=False, soft_wrap=True)
    elif rows:
        console.print("self-play: the proposer did not propose (the solve rate stayed under "
                      "rollout.proposer_after_solve_rate)", highlight=False,
                      soft_wrap=True)
    if summary.heldout_start:
        end = summary.heldout_end
        console.print("held-out greedy pass@1, start -> end: " + ", ".join(
            f"{split} {start:.1%} -> " + (f"{end[split]:.1%}" if split in end else "n/a")
            + _change(summary.heldout_change.get(split))
            for split, start in summary.heldout_start.items()), highlight=False,
            soft_wrap=True)
    if len(rows) >= 2:
        half = len(rows) // 2
        early = sum(r["reward"]["solver"]["mean"] for r in rows[:half]) / half
        late = sum(r["reward"]["solver"]["mean"] for r in rows[half:]) / (len(rows) - half)
        console.print(f"solver training reward, first half -> second half of the steps: "
                      f"{early:.3f} -> {late:.3f}", highlight=False, soft_wrap=True)
    console.print(f"run directory: {summary.run_dir} (metrics.jsonl, curriculum.sqlite, "
                  "checkpoints/, provenance.json)", highlight=False, soft_wrap=True)
    if summary.interrupted:
        console.print(f"resume with: zeroplay run --resume {summary.run_dir}",
                      highlight=False, soft_wrap=True)


app.command()(submit)


@app.command()
def report(
    run_dir: RunDirArg,
    out: Annotated[Path | None, typer.Option(help="HTML file to write. Default: "
                                             "RUN_DIR/report.html.")] = None,
) -> None:
    """Write the run's report: one self-contained HTML page with its learning curves,
    held-out pass@1, curriculum growth and a browsable table of its tasks. Works during
    a run (it reads what is committed) and after it."""
    import time

    from zeroplay.launch.run_report import write_report

    start = time.monotonic()
    path = write_report(run_dir, out)
    console.print(f"wrote {path} in {time.monotonic() - start:.1f} s", highlight=False)


@app.command()
def monitor(
    ray_temp_dir: Annotated[Path, typer.Option(
        help="The --temp-dir of the Ray head (its metrics service-discovery file lives "
             "there).")] = Path("/tmp/ray"),
    port: Annotated[int, typer.Option(min=1, max=65535,
                                      help="Port Prometheus serves on.")] = 9090,
    host: Annotated[str, typer.Option(help="Address Prometheus listens on.")] = "127.0.0.1",
    data: Annotated[Path | None, typer.Option(
        help="Config and TSDB directory. Default: RAY_TEMP_DIR/prometheus.")] = None,
    prometheus: Annotated[str | None, typer.Option(
        help="Prometheus binary. Default: `prometheus` on PATH (Debian's package).")] = None,
    scrape_interval: Annotated[str, typer.Option(help="How often to scrape.")] = "10s",
    retention: Annotated[str, typer.Option(help="How long to keep samples.")] = "15d",
) -> None:
    """Serve the cluster's metrics with Prometheus (until Ctrl-C): every node Ray's
    service discovery lists, the `ray_zeroplay_*` series of
    configs/grafana/zeroplay-dashboard.json included. Run it on the head node."""
    import os
    import sys

    from zeroplay.launch.monitor import prepare_monitor

    mon = prepare_monitor(ray_temp_dir, data, host, port, prometheus, scrape_interval,
                          retention)
    if not mon.service_discovery.exists():
        err_console.print(f"warning: {mon.service_discovery} does not exist yet; Prometheus "
                          "scrapes the nodes once a Ray head with this temp dir writes it",
                          highlight=False, soft_wrap=True)
    console.print(f"Prometheus on {mon.url} (config {mon.config}); for Ray's dashboard, "
                  f"start the head with RAY_PROMETHEUS_HOST={mon.url}",
                  highlight=False, soft_wrap=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(mon.command[0], mon.command)  # Prometheus itself gets Ctrl-C and SIGTERM


# --- config ------------------------------------------------------------------------------


@config_app.command("show")
def config_show(config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Print the resolved config (file + overrides) as YAML."""
    typer.echo(load_config(config, set_).to_yaml(), nl=False)


# --- model -------------------------------------------------------------------------------


@model_app.command("fetch")
def model_fetch(
    model: Annotated[str | None, typer.Argument(
        help="Hub id (owner/name); default: the config's policy.model.")] = None,
    revision: Annotated[str | None, typer.Option(help="Branch, tag or commit.")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Download a hub model into this machine's Hugging Face cache. Runs never download
    (they load with local_files_only), so every node that loads the policy needs this
    first; configs/ray-cluster.yaml runs it in its GPU nodes' setup."""
    from zeroplay.actors.policy import fetch_model

    name = model or load_config(config, set_).policy.model
    with progress_display(f"fetching {name}"):
        path = fetch_model(name, revision)
    console.print(f"{name}: {path}", highlight=False)


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
    with progress_display("checking the sandbox image") as progress:
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
    with sandbox_pool(cfg) as pool, progress_bar("validating", len(records)) as tick:
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
    with sandbox_pool(cfg) as pool:
        with progress_bar("validating", len(task_rows)) as tick:
            validations = validate_records(pool, task_rows, cfg.sandbox, seed, tick)
        with progress_bar("judging", len(solution_rows)) as tick:
            rows = judge_records(pool, task_rows, validations, solution_rows, cfg.sandbox, tick)
    write_jsonl(out, rows)


@sandbox_app.command("selftest")
def sandbox_selftest(config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Run the adversarial suite against the live pool and print what was contained."""
    from rich.table import Table

    from zeroplay.sandbox.selftest import CASES, run_selftest

    cfg = load_config(config, set_)
    with sandbox_pool(cfg) as pool, progress_bar("hostile cases", len(CASES)) as tick:
        rows = run_selftest(pool, cfg.sandbox, progress=lambda _name: tick())
    table = Table(title=f"sandbox selftest ({cfg.sandbox.runtime}, {pool.image})")
    for column in ("hostile case", "status", "reward", "wrong jobs after: rewards",
                   "honest job after", "contained"):
        table.add_column(column)
    for row in rows:
        table.add_row(row.name, " / ".join(v.status for v in row.verdicts),
                      " / ".join(f"{v.reward:g}" for v in row.verdicts),
                      " ".join(f"{v.reward:g}" for v in row.wrong_after),
                      row.honest_after.status, "yes" if row.contained else "[bold red]NO[/]")
    console.print(table)
    bad = [row.name for row in rows if not row.contained]
    if bad:
        raise SandboxEscape(f"{len(bad)} hostile cases were not contained: {', '.join(bad)}")
    console.print(f"all {len(rows)} hostile cases contained; {pool.recycled} containers recycled")


# --- curriculum --------------------------------------------------------------------------


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

    from zeroplay.actors.fleet import Fleet
    from zeroplay.curricula.store import CurriculumStore
    from zeroplay.errors import RunDirError
    from zeroplay.run_paths import RunPaths
    from zeroplay.selfplay import selfplay_step

    run = RunPaths(run_dir)
    path = run.curriculum_path
    if not path.is_file():
        raise RunDirError(f"{run_dir} has no {path.name}; seed one first with "
                          f"`zeroplay curriculum seed --out {run_dir}`")
    if config is None and run.config_path.is_file():
        config = run.config_path
    cfg = load_config(config, set_)
    with CurriculumStore.open(path) as store:
        first = max((s for s, _, _ in store.steps()), default=0) + 1
        with progress_display("starting Ray actors (policy, sandbox)") as progress, \
                Fleet.on_ray(cfg) as fleet:
            for step in range(first, first + rounds):
                progress(f"self-play round {step}")
                result = selfplay_step(store, fleet.rollouts, fleet.sandboxes, cfg, step=step,
                                       rng=random.Random(cfg.run.seed * 7919 + step),
                                       run_id=run_dir.name)
                s = result.summary
                console.print(Text(
                    f"step {step}: proposals {s['proposals']} (format reasons "
                    f"{s['format_reasons']}), new valid tasks {s['new_valid_tasks']}, "
                    f"solutions {s['solutions']}, solver reward {s['solver_reward_mean']:.2f}"))


def main() -> None:
    app()
