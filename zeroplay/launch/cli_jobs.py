"""`zeroplay submit` and `zeroplay jobs ...`: runs on a Ray cluster as Ray Jobs.

Thin commands over `zeroplay.launch.jobs`; they render with rich and leave errors to the
CLI's ZeroplayError handling (one line, exit 2; a followed job that did not succeed
exits 1).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from zeroplay.launch.cli_common import (
    AddressOpt,
    ConfigOpt,
    SetOpt,
    console,
    err_console,
    make_typer,
    progress_display,
)

jobs_app = make_typer("Follow and manage runs submitted to a Ray cluster.")

JobIdArg = Annotated[str, typer.Argument(help="Job (submission) id, e.g. zeroplay-demo-1a2b3c.")]
FollowOpt = Annotated[bool, typer.Option("--follow", "-f",
                                         help="Stream the job's logs until it ends.")]


def submit(
    address: AddressOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    name: Annotated[str | None, typer.Option(help="Run name. Default: the config's, else a "
                                             "timestamp.")] = None,
    steps: Annotated[int | None, typer.Option(min=1, help="Self-play steps.")] = None,
    follow: FollowOpt = False,
) -> None:
    """Submit a run to a Ray cluster as a Ray Job (`zeroplay run` with exactly this config)."""
    from zeroplay.launch import jobs

    spec = jobs.run_job(config, list(set_ or []), name=name, steps=steps)
    client = jobs.connect(address)
    with progress_display(f"uploading the project and submitting run {spec.run_name}"):
        job_id = jobs.submit(client, spec)
    console.print(f"submitted job {job_id} (run {spec.run_name})", highlight=False)
    console.print(f"dashboard: {jobs.dashboard_url(client, job_id)}", highlight=False)
    for note in spec.notes:
        err_console.print(f"note: {note}", highlight=False, soft_wrap=True)
    if follow:
        _follow(client, job_id)


def _follow(client: Any, job_id: str) -> None:
    from zeroplay.launch import jobs

    info = jobs.follow(client, job_id, write=lambda chunk: typer.echo(chunk, nl=False))
    status = str(info.status)
    if status != "SUCCEEDED":
        why = jobs.short_message(info)
        raise jobs.JobFailedError(f"job {job_id} ended {status}" + (f": {why}" if why else "")
                                  + f"; `zeroplay jobs logs {job_id}` shows its output")
    console.print(f"job {job_id} SUCCEEDED", highlight=False)


@jobs_app.command("list")
def jobs_list(address: AddressOpt = None) -> None:
    """List the zeroplay jobs on the cluster, oldest first."""
    from zeroplay.launch import jobs

    client = jobs.connect(address)
    table = Table(title=f"zeroplay jobs on {client.get_address()}")
    table.add_column("id", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("run", no_wrap=True)
    table.add_column("started", no_wrap=True)
    table.add_column("entrypoint", overflow="fold")
    for job in jobs.list_jobs(client):
        meta = job.metadata or {}
        table.add_row(job.submission_id or job.job_id or "?", _status(str(job.status)),
                      meta.get("run_name", ""), _time(job.start_time),
                      Text(meta.get("command") or job.entrypoint))
    console.print(table)


@jobs_app.command("status")
def jobs_status(job_id: JobIdArg, address: AddressOpt = None) -> None:
    """Status of one job (and Ray's message about it)."""
    from zeroplay.launch import jobs

    client = jobs.connect(address)
    info = jobs.job_info(client, job_id)
    console.print(Text.assemble(f"{job_id}: ", Text.from_markup(_status(str(info.status)))))
    meta = info.metadata or {}
    for label, value in (("run", meta.get("run_name")), ("started", _time(info.start_time)),
                         ("ended", _time(info.end_time)), ("message", jobs.short_message(info)),
                         ("entrypoint", info.entrypoint),
                         ("dashboard", jobs.dashboard_url(client, job_id))):
        if value:
            console.print(Text(f"  {label}: {value}"))


@jobs_app.command("logs")
def jobs_logs(job_id: JobIdArg, address: AddressOpt = None, follow: FollowOpt = False) -> None:
    """Print a job's logs; with --follow, keep streaming until it ends (exit 1 unless it
    SUCCEEDED)."""
    from zeroplay.launch import jobs

    client = jobs.connect(address)
    if follow:
        _follow(client, job_id)
    else:
        typer.echo(jobs.job_logs(client, job_id), nl=False)


@jobs_app.command("stop")
def jobs_stop(job_id: JobIdArg, address: AddressOpt = None) -> None:
    """Stop a job and wait until Ray reports it stopped."""
    from zeroplay.launch import jobs

    client = jobs.connect(address)
    jobs.job_info(client, job_id)  # an unknown id fails before any progress line
    with progress_display(f"stopping {job_id}"):
        info = jobs.stop(client, job_id)
    console.print(f"{job_id}: {info.status}", highlight=False)


def _status(status: str) -> str:
    color = {"SUCCEEDED": "green", "FAILED": "red", "STOPPED": "yellow",
             "RUNNING": "cyan"}.get(status, "white")
    return f"[{color}]{status}[/]"


def _time(ms: int | None) -> str:
    if not ms:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")
