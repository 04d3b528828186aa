"""`zeroplay eval ...`: pass@k of a model or checkpoint, and the reward-fidelity report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from zeroplay.config import load_config
from zeroplay.curricula.synth import corpus_tags_of
from zeroplay.curricula.task import ops_of
from zeroplay.eval.run import CORPUS_TAG_KINDS
from zeroplay.launch.cli_common import (
    ConfigOpt,
    SetOpt,
    console,
    make_typer,
    progress_bar,
    progress_display,
    sandbox_pool,
)
from zeroplay.run_paths import RunPaths


class _DefaultCommandGroup(TyperGroup):
    """A group whose first subcommand also runs when the first word is not a command name,
    so that `zeroplay eval MODEL` and `zeroplay eval fidelity` both work."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = [next(iter(self.commands)), *args]
        return super().resolve_command(ctx, args)


eval_app = make_typer(
    "Evaluate a model or checkpoint: `zeroplay eval MODEL --benchmark ...` "
    "or `zeroplay eval fidelity ...`.",
    _DefaultCommandGroup,
)


@eval_app.command("model")
def eval_model(
    model: Annotated[str, typer.Argument(help="tiny, a model dir, a checkpoint dir "
                                         "(runs/NAME/checkpoints/step-N), a run dir (its "
                                         "newest checkpoint), or a cached hub id.")],
    benchmark: Annotated[str, typer.Option(help="humaneval or synthetic-heldout.")],
    samples: Annotated[int, typer.Option(help="Completions per problem (k of pass@k).")] = 1,
    limit: Annotated[int | None, typer.Option(help="Only the first N problems.")] = None,
    temperature: Annotated[float, typer.Option(
        help="Sampling temperature; 0 decodes greedily (every sample is then the same "
        "answer, so pass@k = pass@1).")] = 0.2,
    max_new_tokens: Annotated[int | None, typer.Option(
        min=1, help="Longest answer. Default: rollout.max_new_tokens of the config.")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Per-problem JSONL (a .summary.json is written next to it). "
        "Default: eval-BENCHMARK.jsonl, or the run's eval/ folder for a checkpoint.")] = None,
    run: Annotated[Path | None, typer.Option(
        "--run", help="synthetic-heldout: take the held-out tasks of this run directory. "
        "Default: regenerate them from run.seed.")] = None,
    split: Annotated[str, typer.Option(
        help="synthetic-heldout: heldout-seen (operation combinations training uses, new "
        "constants) or heldout-unseen (combinations no training stream uses).")
    ] = "heldout-unseen",
    ray: Annotated[bool, typer.Option(
        "--ray", help="Generate and judge on Ray actors (cluster.address, RAY_ADDRESS, or a "
        "local runtime).")] = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """pass@1 and pass@k of a model or checkpoint on a benchmark, judged in the sandbox."""
    import contextlib
    import time

    from zeroplay.actors.fleet import Fleet
    from zeroplay.eval.problems import (
        check_benchmark,
        check_limit,
        check_split,
        heldout_problems,
        humaneval_problems,
    )
    from zeroplay.eval.run import eval_config, evaluate, resolve_model, write_results

    check_benchmark(benchmark)
    check_limit(limit)
    check_split(split)
    ref = resolve_model(model)
    cfg = eval_config(load_config(config, set_), ref, temperature=temperature,
                      max_new_tokens=max_new_tokens)
    name = benchmark if benchmark == "humaneval" else f"{benchmark}-{split}"
    out = out or _default_out(ref.source, name)
    with contextlib.ExitStack() as stack:
        with progress_display(f"loading {ref.source} and the sandbox") as progress:
            if ray:
                progress("starting the rollout and sandbox actors on Ray")
                fleet = stack.enter_context(Fleet.on_ray(cfg, restarts=0, prefix="eval-"))
            else:
                pool = stack.enter_context(sandbox_pool(cfg))
                progress(f"loading {ref.source}")
                fleet = stack.enter_context(Fleet.in_process(cfg, pool))
            if benchmark == "humaneval":
                problems = humaneval_problems(limit)
            else:
                progress("preparing the held-out synthetic tasks")
                problems = heldout_problems(cfg, fleet.sandboxes.validate, run, limit,
                                            split=split)
        with progress_bar(f"{benchmark}: {samples} samples per problem", len(problems)) as tick:
            report = evaluate(problems, fleet, samples, cfg.rollout.max_prompt_tokens,
                              tick=tick)
    meta = {"benchmark": benchmark, "model": ref.source, "checkpoint_step": ref.step,
            "policy_version": ref.policy_version, "temperature": temperature,
            "decoding": "greedy" if temperature == 0 else "sampling",
            "max_new_tokens": cfg.rollout.max_new_tokens, "mode": "ray" if ray else "local",
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}
    if benchmark != "humaneval":
        meta["split"] = split
        meta["pass@1_by_ops"] = report.pass_at_1_by(
            {p.id: f"{len(ops_of(p.task.tags))} ops" for p in problems if p.task is not None})
        by = report.by_corpus_tags(
            {p.id: corpus_tags_of(p.task.tags) for p in problems if p.task is not None})
        meta.update({f"pass@1_by_{kind}": groups for kind, groups in by.items()})
    summary = write_results(report, out, meta)
    table = Table(title=f"{benchmark}: {ref.source}")
    for column in ("problem", "correct", "pass@1", f"pass@{samples}", "statuses"):
        table.add_column(column)
    for r in report.results:
        statuses = ", ".join(sorted({s["status"] for s in r.samples}))
        row = r.row(samples)
        table.add_row(Text(r.id), f"{r.correct}/{r.n}", f"{row['pass@1']:.2f}",
                      f"{row[f'pass@{samples}']:.2f}", Text(statuses))
    console.print(table)
    console.print(f"[bold]pass@1 {summary['pass@1']:.3f}[/]" + (
        f", pass@{samples} {summary[f'pass@{samples}']:.3f}" if samples > 1 else "")
        + f" on {summary['problems']} problems ({summary['seconds_per_problem']:.2f} s per "
        f"problem); wrote {out}", highlight=False)
    if meta.get("pass@1_by_ops"):
        console.print("pass@1 by number of operations: " + ", ".join(
            f"{group} {rate:.3f}" for group, rate in meta["pass@1_by_ops"].items()),
            highlight=False)
    for kind in CORPUS_TAG_KINDS:
        groups = meta.get(f"pass@1_by_{kind}")
        if groups:
            console.print(f"pass@1 by {kind} (problems, 95% interval): " + ", ".join(
                f"{name} {g['pass@1']:.2f} ({g['n']}, {g['low']:.2f}-{g['high']:.2f})"
                for name, g in groups.items()), highlight=False)


def _default_out(source: str, benchmark: str) -> Path:
    path = Path(source)
    run = RunPaths.of_checkpoint(path)
    if run is not None and path.name.startswith("step-"):
        return run.eval_dir / f"{benchmark}-{path.name}.jsonl"
    return Path(f"eval-{benchmark}.jsonl")


@eval_app.command("fidelity")
def eval_fidelity(
    benchmark: Annotated[str, typer.Option(help="Benchmark to measure on.")] = "humaneval",
    limit: Annotated[int | None, typer.Option(help="Only the first N problems.")] = None,
    mutants: Annotated[int, typer.Option(min=1, help="Most mutants per problem.")] = 10,
    out: Annotated[Path, typer.Option(help="Per-problem JSONL (+ .summary.json).")
                   ] = Path("fidelity-humaneval.jsonl"),
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """How well Hypothesis-judged rewards separate correct code from mutants of it,
    compared with the benchmark's own tests."""
    from zeroplay.eval.fidelity import fidelity_config, run_fidelity, write_fidelity
    from zeroplay.eval.problems import EvalError, check_limit

    if benchmark != "humaneval":
        raise EvalError(f"--benchmark {benchmark!r}: the fidelity report needs a benchmark with "
                        "its own tests; use humaneval")
    check_limit(limit)
    cfg = load_config(config, set_)
    cfg = cfg.model_copy(update={"sandbox": fidelity_config(cfg.sandbox)})
    with sandbox_pool(cfg) as pool, progress_display("reward fidelity") as progress:
        report = run_fidelity(pool, cfg.sandbox, limit=limit, max_mutants=mutants,
                              progress=progress)
    summary = write_fidelity(report, out)
    table = Table(title=f"reward fidelity on {benchmark} ({summary['problems']} problems)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in summary["table"]:
        table.add_row(key, value)
    console.print(table)
    console.print(f"wrote {out}", highlight=False)
