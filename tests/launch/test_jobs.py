"""`zeroplay submit` and `zeroplay jobs` against a real Ray head with a job server
(the `ray_head` fixture in conftest.py)."""

import socket
import time

import pytest
import yaml
from typer.testing import CliRunner

from zeroplay.config import load_config
from zeroplay.launch import jobs
from zeroplay.launch.cli import app

runner = CliRunner()
NO_RAY_ENV = {"RAY_ADDRESS": None, "RAY_API_SERVER_ADDRESS": None}
# The runs dir under /dev/null cannot be created: `zeroplay run` fails early and fast,
# whatever the state of the self-play loop.
FAILING_RUN = ["--set", "run.runs_dir=/dev/null/runs"]


def invoke(args, columns=None):
    env = {**NO_RAY_ENV, **({"COLUMNS": str(columns)} if columns else {})}
    return runner.invoke(app, args, env=env)


@pytest.fixture(scope="module")
def client(ray_head):
    return jobs.connect(ray_head.address)


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for_status(client, job_id, statuses, timeout_s=120):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        info = jobs.job_info(client, job_id)
        if str(info.status) in statuses:
            return info
        time.sleep(0.3)
    raise AssertionError(f"{job_id} still {info.status} after {timeout_s} s")


def one_line_error(result, text):
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error:"), result.output
    assert text in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


# --- addresses -----------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["submit"], ["jobs", "list"], ["jobs", "status", "x"]],
                         ids=" ".join)
def test_missing_address_is_one_line_error(args):
    one_line_error(invoke(args), "pass --address http://HEAD:8265")


@pytest.mark.parametrize("args", [["submit"], ["jobs", "list"], ["jobs", "logs", "x"]],
                         ids=" ".join)
def test_unreachable_address_is_one_line_error(args):
    address = f"http://127.0.0.1:{closed_port()}"
    one_line_error(invoke([*args, "--address", address]), f"cannot reach a Ray job server at {address}")


@pytest.mark.slow
def test_explicit_address_wins_over_ray_address(ray_head, monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", f"http://127.0.0.1:{closed_port()}")
    assert jobs.connect(ray_head.address).get_address() == ray_head.address


@pytest.mark.slow
def test_bad_override_fails_before_anything_is_submitted(ray_head, client):
    before = len(client.list_jobs())
    result = invoke(["submit", "--address", ray_head.address, "--set", "rollout.temprature=1"])
    one_line_error(result, "did you mean 'temperature'")
    assert len(client.list_jobs()) == before


# --- the job: entrypoint, config, source ---------------------------------------------------


def test_run_job_ships_the_resolved_config_and_passes_options_through():
    spec = jobs.run_job("configs/local.yaml", ["rollout.temperature=0.25"], name="ship", steps=3)
    shipped = yaml.safe_load(spec.runtime_env["env_vars"][jobs.CONFIG_ENV_VAR])
    assert shipped["rollout"]["temperature"] == 0.25
    assert shipped["run"] == {**shipped["run"], "name": "ship", "steps": 3}
    tail = "--name ship --steps 3 --set rollout.temperature=0.25"
    assert spec.entrypoint.endswith(tail)
    assert f"zeroplay run --config .zeroplay-job-{spec.submission_id}.yaml" in spec.entrypoint
    assert spec.metadata["command"] == f"zeroplay run --config configs/local.yaml {tail}"
    assert spec.metadata["zeroplay"] == "1" and spec.metadata["run_name"] == "ship"
    assert {"/.venv", "/runs", "/.git", "__pycache__"} <= set(spec.runtime_env["excludes"])


@pytest.mark.slow
def test_follow_returns_succeeded_and_the_job_used_the_shipped_config(client):
    cfg = load_config("configs/local.yaml", ["rollout.temperature=0.25", "run.name=shown"])
    spec = jobs.zeroplay_job(["config", "show"], cfg, run_name="shown")
    chunks = []
    started = time.monotonic()
    job_id = jobs.submit(client, spec)
    info = jobs.follow(client, job_id, write=chunks.append)
    assert str(info.status) == "SUCCEEDED", "".join(chunks)
    shown = yaml.safe_load("".join(chunks)[("".join(chunks)).index("run:"):])
    assert shown == cfg.model_dump(mode="json")
    print(f"config-show job: submit to SUCCEEDED in {time.monotonic() - started:.1f} s")


@pytest.mark.slow
def test_follow_returns_failed_for_a_failing_entrypoint(client):
    cfg = load_config(None)
    spec = jobs.zeroplay_job(["config", "show"], cfg, run_name="badset",
                             extra=["--set", "no.such_key=1"])
    chunks = []
    info = jobs.follow(client, jobs.submit(client, spec), write=chunks.append)
    assert str(info.status) == "FAILED"
    assert "error: --set no.such_key=1" in "".join(chunks)


@pytest.mark.slow
def test_job_imports_the_shipped_source_not_the_installed_one(client, ray_head):
    spec = jobs.shell_job(
        "python -c 'import zeroplay; print(\"ZP\", zeroplay.__file__)' && ls -a", run_name="src")
    chunks = []
    info = jobs.follow(client, jobs.submit(client, spec), write=chunks.append)
    logs = "".join(chunks)
    assert str(info.status) == "SUCCEEDED", logs
    imported = next(line for line in logs.splitlines() if line.startswith("ZP "))
    assert str(ray_head.temp_dir) in imported and "working_dir_files" in imported
    listed = set(logs.split())
    assert {"zeroplay", "pyproject.toml", "configs"} <= listed
    assert not {".venv", ".git", "runs"} & listed


@pytest.mark.slow
def test_submit_to_running_latency(client):
    spec = jobs.shell_job("sleep 30", run_name="latency")
    started = time.monotonic()
    job_id = jobs.submit(client, spec)
    wait_for_status(client, job_id, {"RUNNING"})
    print(f"submit to RUNNING: {time.monotonic() - started:.2f} s")
    assert str(jobs.stop(client, job_id).status) == "STOPPED"


# --- the commands --------------------------------------------------------------------------


@pytest.mark.slow
def test_submit_prints_job_id_and_dashboard_url(ray_head, client):
    result = invoke(["submit", "--address", ray_head.address, "--name", "printed", *FAILING_RUN])
    assert result.exit_code == 0, result.output
    job_id = result.stdout.split("submitted job ")[1].split()[0]
    assert job_id.startswith("zeroplay-printed-")
    assert f"dashboard: {ray_head.address}/#/jobs/{job_id}" in result.stdout
    info = jobs.job_info(client, job_id)
    assert info.metadata["run_name"] == "printed"
    jobs.wait(client, job_id, timeout_s=120)


@pytest.mark.slow
def test_submit_follow_exits_1_and_says_failed_when_the_run_fails(ray_head):
    result = invoke(["submit", "--address", ray_head.address, "--name", "doomed", "--follow",
                     *FAILING_RUN])
    assert result.exit_code == 1, result.output
    assert "submitted job zeroplay-doomed-" in result.stdout
    assert "ended FAILED: Job entrypoint command failed with exit code 2; `zeroplay jobs logs" in result.output
    assert result.output.strip().splitlines()[-1].startswith("error: job zeroplay-doomed-")


@pytest.mark.slow
def test_jobs_list_shows_zeroplay_jobs_only(ray_head, client):
    ours = jobs.submit(client, jobs.shell_job("echo listed", run_name="listed"))
    theirs = client.submit_job(entrypoint="echo not-zeroplay")
    jobs.wait(client, ours)
    jobs.wait(client, theirs)
    result = invoke(["jobs", "list", "--address", ray_head.address], columns=250)
    assert result.exit_code == 0, result.output
    assert ours in result.stdout and "listed" in result.stdout and "SUCCEEDED" in result.stdout
    assert theirs not in result.stdout
    assert ours in {j.submission_id for j in jobs.list_jobs(client)}


@pytest.mark.slow
def test_jobs_status_and_logs(ray_head, client):
    job_id = jobs.submit(client, jobs.shell_job("echo hello-from-the-job", run_name="logged"))
    jobs.wait(client, job_id)
    status = invoke(["jobs", "status", job_id, "--address", ray_head.address])
    assert status.exit_code == 0, status.output
    assert f"{job_id}: SUCCEEDED" in status.stdout and "run: logged" in status.stdout
    logs = invoke(["jobs", "logs", job_id, "--address", ray_head.address])
    assert logs.exit_code == 0, logs.output
    assert "hello-from-the-job" in logs.stdout
    followed = invoke(["jobs", "logs", job_id, "--follow", "--address", ray_head.address])
    assert followed.exit_code == 0, followed.output
    assert "hello-from-the-job" in followed.stdout and "SUCCEEDED" in followed.stdout


@pytest.mark.slow
def test_jobs_stop_stops_a_long_running_job(ray_head, client):
    job_id = jobs.submit(client, jobs.shell_job("sleep 600", run_name="sleeper"))
    wait_for_status(client, job_id, {"RUNNING"})
    result = invoke(["jobs", "stop", job_id, "--address", ray_head.address])
    assert result.exit_code == 0, result.output
    assert f"{job_id}: STOPPED" in result.stdout
    assert str(jobs.job_info(client, job_id).status) == "STOPPED"


@pytest.mark.slow
@pytest.mark.parametrize("command", ["status", "logs", "stop"])
def test_unknown_job_id_is_one_line_error(ray_head, command):
    result = invoke(["jobs", command, "zeroplay-nope-000000", "--address", ray_head.address])
    one_line_error(result, "no job 'zeroplay-nope-000000'")
