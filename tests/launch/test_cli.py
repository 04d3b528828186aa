import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from zeroplay.config import Config
from zeroplay.launch.cli import app

runner = CliRunner()


def _command_paths(group, prefix=()):
    for name, cmd in group.commands.items():
        yield (*prefix, name)
        if hasattr(cmd, "commands"):
            yield from _command_paths(cmd, (*prefix, name))


ALL_COMMANDS = sorted(_command_paths(typer.main.get_command(app)))


def test_the_command_groups_exist():
    top = {path[0] for path in ALL_COMMANDS}
    assert {"run", "submit", "curriculum", "sandbox", "eval", "config", "jobs"} <= top


@pytest.mark.parametrize("path", [(), *ALL_COMMANDS], ids=lambda p: " ".join(p) or "zeroplay")
def test_help_for_every_command(path):
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_eval_routes_model_and_fidelity():
    model = runner.invoke(app, ["eval", "./no-such-ckpt", "--benchmark", "humaneval"])
    fidelity = runner.invoke(app, ["eval", "fidelity", "--benchmark", "mbpp"])
    assert "no model or checkpoint at './no-such-ckpt'" in model.output
    assert "the fidelity report needs a benchmark with its own tests" in fidelity.output


def test_config_show_prints_resolved_config_with_overrides():
    result = runner.invoke(app, ["config", "show", "--set", "rollout.temperature=0.25"])
    assert result.exit_code == 0, result.output
    shown = yaml.safe_load(result.stdout)
    expected = Config().model_dump(mode="json")
    expected["rollout"]["temperature"] = 0.25
    assert shown == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--set", "rollout.temprature=1"], "did you mean 'temperature'"),
        (["--set", "run.steps=lots"], "run.steps: expected int"),
        (["--config", "missing.yaml"], "config file not found: missing.yaml"),
    ],
)
def test_bad_config_is_one_line_exit_2(args, expected):
    result = runner.invoke(app, ["config", "show", *args])
    assert result.exit_code == 2
    assert expected in result.output
    assert result.output.startswith("error:")
    assert "Traceback" not in result.output


def test_console_script_is_installed():
    exe = Path(sys.executable).with_name("zeroplay")
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip().startswith("zeroplay ")


def test_run_without_docker_fails_before_writing(tmp_path):
    env = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    result = runner.invoke(
        app, ["run", "--set", f"run.runs_dir={tmp_path}", "--name", "nodocker"], env=env
    )
    assert result.exit_code == 2
    assert "no Docker daemon reachable" in result.output
    assert "start it with" in result.output
    assert not (tmp_path / "nodocker").exists()


@pytest.mark.docker
def test_run_refuses_an_existing_run_dir(tmp_path, sandbox_image):
    from zeroplay.launch.rundir import RunDir

    run = RunDir.create(Config().model_copy(update={"run": Config().run.model_copy(
        update={"name": "demo", "runs_dir": tmp_path})}))
    before = run.config_path.read_text()
    result = runner.invoke(app, ["run", "--set", f"run.runs_dir={tmp_path}", "--name", "demo"])
    assert result.exit_code == 2
    assert "already exists" in result.output and "--resume" in result.output
    assert run.config_path.read_text() == before


def test_resume_keeps_the_config(tmp_path):
    result = runner.invoke(app, ["run", "--resume", str(tmp_path), "--set", "run.seed=3"])
    assert result.exit_code == 2
    assert "a resumed run keeps the config" in result.output
    assert "except --set cluster.*" in result.output


def test_a_resumed_run_may_change_where_its_actors_run(tmp_path):
    from zeroplay.launch.rundir import RunDir

    run = RunDir.create(Config().model_copy(update={"run": Config().run.model_copy(
        update={"name": "demo", "runs_dir": tmp_path})}))
    moved = RunDir.open(run.path).with_changes(["cluster.learner.num_workers=2",
                                                "run.steps=30"])
    reopened = RunDir.open(run.path).config
    assert reopened.cluster.learner.num_workers == moved.config.cluster.learner.num_workers == 2
    assert reopened.run.steps == 30 and reopened.run.seed == run.config.run.seed


def test_actors_step_needs_a_curriculum(tmp_path):
    result = runner.invoke(app, ["actors", "step", str(tmp_path)])
    assert result.exit_code == 2
    assert "has no curriculum.sqlite" in result.output and "curriculum seed" in result.output


def test_resume_of_missing_run_dir_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["run", "--resume", str(tmp_path / "gone")])
    assert result.exit_code == 2
    assert "no run directory at" in result.output


TASKS = [
    {"id": "sortk", "entry_point": "f", "reference": "def f(xs, k):\n    return sorted(xs)[:k]\n",
     "strategy": "st.lists(st.integers(-9, 9), max_size=6), st.integers(0, 3)"},
    {"id": "loops", "entry_point": "f", "reference": "def f(x):\n    while True:\n        pass\n",
     "strategy": "st.integers()"},
    {"id": "evil-strategy", "entry_point": "f", "reference": "def f(x):\n    return x\n",
     "strategy": "__import__('os').system('true')"},
]
SOLUTIONS = [
    {"task_id": "sortk", "solution_id": "right", "code": "def f(xs, k):\n    return sorted(xs)[:k]\n"},
    {"task_id": "loops", "solution_id": "any", "code": "def f(x):\n    return x\n"},
    {"task_id": "sortk", "solution_id": "wrong", "code": "def f(xs, k):\n    return xs[:k]\n"},
    {"task_id": "missing", "solution_id": "orphan", "code": "def f(x):\n    return x\n"},
]
FAST = ["--set", "sandbox.job_timeout_s=2", "--set", "sandbox.cpu_seconds=1"]


def _jsonl(path, rows):
    import json

    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def _rows(text):
    import json

    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.docker
def test_sandbox_validate_cli(tmp_path, sandbox_image):
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["sandbox", "validate", "--tasks", _jsonl(tmp_path / "t.jsonl", TASKS),
                                 "--out", str(out), *FAST])
    assert result.exit_code == 0, result.output
    rows = _rows(out.read_text())
    assert [(r["id"], r["valid"], r["reason"]) for r in rows] == [
        ("sortk", True, ""), ("loops", False, "timeout"), ("evil-strategy", False, "strategy")]
    assert rows[0]["tests"] == 30 and rows[1]["tests"] == 0


@pytest.mark.docker
def test_sandbox_judge_cli_reads_stdin(tmp_path, sandbox_image):
    tasks = _jsonl(tmp_path / "t.jsonl", TASKS)
    solutions = "".join(__import__("json").dumps(s) + "\n" for s in SOLUTIONS)
    result = runner.invoke(app, ["sandbox", "judge", "--tasks", tasks, "--solutions", "-", *FAST],
                           input=solutions)
    assert result.exit_code == 0, result.output
    rows = _rows(result.stdout)
    assert [(r["solution_id"], r["status"], r["reward"]) for r in rows] == [
        ("right", "pass", 1.0), ("any", "invalid", 0.0), ("wrong", "fail", 0.0),
        ("orphan", "invalid", 0.0)], json.dumps(rows)
    assert rows[2]["passed"] < rows[2]["total"] == 30
    assert set(rows[0]) == {"task_id", "solution_id", "reward", "status", "passed", "total",
                            "detail"}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json}\n", "t.jsonl:1: not valid JSON"),
        ('{"id": "a"}\n', "t.jsonl:1: 'entry_point' must be a str (missing)"),
        ('[1, 2]\n', "t.jsonl:1: expected a JSON object"),
        (json.dumps(TASKS[0]) + "\n" + "[" * 100_000 + "\n", "t.jsonl:2: JSON nested too deeply"),
    ],
)
def test_sandbox_validate_bad_input_is_one_line(tmp_path, content, expected):
    path = tmp_path / "t.jsonl"
    path.write_text(content)
    result = runner.invoke(app, ["sandbox", "validate", "--tasks", str(path)])
    assert result.exit_code == 2
    assert expected in result.output and "Traceback" not in result.output


def test_sandbox_judge_bad_solutions_are_one_line(tmp_path):
    tasks = _jsonl(tmp_path / "t.jsonl", TASKS)
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps(SOLUTIONS[0]) + "\n" + "[" * 100_000 + "\n")
    result = runner.invoke(app, ["sandbox", "judge", "--tasks", tasks, "--solutions", str(path)])
    assert result.exit_code == 2
    assert "s.jsonl:2: JSON nested too deeply" in result.output
    assert "Traceback" not in result.output


HOSTILE_TASKS = [
    {"id": "unhashable", "entry_point": "f", "reference": "def f(s):\n    return len(s)\n",
     "strategy": "st.sets(st.lists(st.integers()), min_size=1)"},
    {"id": "huge-bound", "entry_point": "f", "reference": "def f(x):\n    return x\n",
     "strategy": f"st.floats(max_value={10 ** 400})"},
    {"id": "surrogate-\ud800", "entry_point": "f",
     "reference": "def f(x):\n    return '\\ud800' * (x % 3)\n", "strategy": "st.integers(0, 9)"},
    {"id": "hash-seeded", "entry_point": "f",
     "reference": "def f(s):\n    return hash(s) % 97\n", "strategy": "st.text('abc', min_size=2)"},
    {"id": "long", "entry_point": "f", "reference": "def f(x):\n    return x\n" + "#" * 30_000,
     "strategy": "st.integers()"},
]
HOSTILE_SOLUTIONS = [
    {"task_id": "surrogate-\ud800", "solution_id": "forged-values",
     "code": "def f(x):\n    return [10 ** 400, '\\udfff', {(1,): 2}]\n"},
    {"task_id": "surrogate-\ud800", "solution_id": "huge", "code": "#" * 10**6 + "\n"},
    {"task_id": "unhashable", "solution_id": "orphan-task", "code": "def f(s):\n    return 0\n"},
]


@pytest.mark.docker
def test_hostile_records_get_clean_rows_from_the_real_sandbox(tmp_path, sandbox_image):
    tasks = _jsonl(tmp_path / "t.jsonl", HOSTILE_TASKS)
    validated = runner.invoke(app, ["sandbox", "validate", "--tasks", tasks, *FAST])
    assert validated.exit_code == 0 and "Traceback" not in validated.output, validated.output
    reasons = {r["id"]: (r["valid"], r["reason"]) for r in _rows(validated.stdout)}
    assert reasons == {"unhashable": (False, "strategy"), "huge-bound": (False, "strategy"),
                       "surrogate-\ud800": (True, ""),
                       "hash-seeded": (False, "nondeterministic"),
                       "long": (False, "reference_too_long")}
    solutions = _jsonl(tmp_path / "s.jsonl", HOSTILE_SOLUTIONS)
    judged = runner.invoke(app, ["sandbox", "judge", "--tasks", tasks, "--solutions", solutions,
                                 *FAST])
    assert judged.exit_code == 0 and "Traceback" not in judged.output, judged.output
    rows = {r["solution_id"]: (r["status"], r["reward"]) for r in _rows(judged.stdout)}
    assert rows == {"forged-values": ("fail", 0.0), "huge": ("error", 0.0),
                    "orphan-task": ("invalid", 0.0)}


@pytest.mark.docker
def test_sandbox_selftest_cli(sandbox_image):
    result = runner.invoke(app, ["sandbox", "selftest", *FAST])
    assert result.exit_code == 0, result.output
    assert "hostile cases contained" in result.output
    assert "fork bomb" in result.output and "NO" not in result.output


def test_run_with_an_unwritable_runs_dir_is_one_line(tmp_path, sandbox_image):
    (tmp_path / "file").write_text("")
    result = runner.invoke(app, ["run", "--set", f"run.runs_dir={tmp_path}/file/runs"])
    assert result.exit_code == 2
    assert "cannot create the run directory" in result.output and "run.runs_dir" in result.output
    assert "Traceback" not in result.output


def test_unreachable_storage_stops_a_run_before_it_writes_anything(tmp_path):
    result = runner.invoke(app, ["run", "--set", f"run.runs_dir={tmp_path / 'runs'}",
                                 "--set", f"run.storage={tmp_path / 'not-mounted'}"])
    assert result.exit_code == 2, result.output
    assert "error: run.storage=" in result.output and "no such directory" in result.output
    assert not (tmp_path / "runs").exists()


def test_curriculum_ops_lists_the_catalogue_as_a_table_and_as_json_lines():
    from zeroplay.corpus.catalogue import OPS

    rows = [json.loads(line) for line in
            runner.invoke(app, ["curriculum", "ops", "--json"]).output.splitlines()]
    assert [r["name"] for r in rows] == [op.name for op in OPS]
    by_name = {r["name"]: r for r in rows}
    assert by_name["map_add"]["family"] == "lists" and by_name["map_add"]["api"] == "builtin"
    assert by_name["max_or"]["edge"] == "empty" and by_name["pair_div"]["edge"] == "zero"
    assert by_name["largest_n"]["api"] == "heapq" and by_name["largest_n"]["family"] == "heaps"
    assert len(rows) >= 120 and len({r["api"] for r in rows} - {"builtin"}) >= 8
    assert all(r["family"] and r["api"] and r["input"] and r["output"] for r in rows)
    table = runner.invoke(app, ["curriculum", "ops"], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and f"{len(OPS)} operations" in table.output
