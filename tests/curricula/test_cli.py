"""Every `zeroplay curriculum` command on a real store built through the real sandbox."""

import json

import pytest
from typer.testing import CliRunner

from zeroplay.curricula.store import CurriculumStore
from zeroplay.launch.cli import app

from .conftest import make_task

pytestmark = pytest.mark.docker
runner = CliRunner()


def test_seed_builds_a_validated_curriculum(tmp_path, sandbox_image):
    out = tmp_path / "seeded"
    result = runner.invoke(app, ["curriculum", "seed", "--out", str(out), "--n", "25",
                                 "--heldout", "10", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "validity" in result.output
    with CurriculumStore.open(out / "curriculum.sqlite", readonly=True) as s:
        valid = s.tasks(status="valid")
        assert len(valid) >= 33
        assert sum(t.heldout for t in valid) >= 9
        assert all(len(t.tests) >= 2 for t in valid)
    assert (out / "config.yaml").is_file()
    again = runner.invoke(app, ["curriculum", "seed", "--out", str(out), "--n", "5"])
    assert again.exit_code == 2 and "already exists" in again.output


def test_list_show_stats(seeded_run):
    run_dir, train, _, _ = seeded_run
    listed = runner.invoke(app, ["curriculum", "list", str(run_dir), "--json", "--limit", "100"])
    assert listed.exit_code == 0, listed.output
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    with CurriculumStore.open(run_dir / "curriculum.sqlite", readonly=True) as s:
        assert len(rows) == s.count() and s.count() >= train.valid
    assert {r["provenance"]["origin"] for r in rows} == {"seed-synth"}
    valid_only = runner.invoke(app, ["curriculum", "list", str(run_dir), "--status", "valid",
                                     "--sort", "learnability", "--json"])
    assert all(json.loads(line)["status"] == "valid" for line in valid_only.stdout.splitlines())

    task_id = rows[0]["id"]
    shown = runner.invoke(app, ["curriculum", "show", str(run_dir), task_id])
    assert shown.exit_code == 0 and task_id in shown.output and "hidden tests" in shown.output
    as_json = json.loads(runner.invoke(app, ["curriculum", "show", str(run_dir), task_id,
                                             "--json"]).stdout)
    assert as_json["id"] == task_id and as_json["attempts"] == []

    stats = json.loads(runner.invoke(app, ["curriculum", "stats", str(run_dir), "--json"]).stdout)
    assert stats["by_origin"] == {"seed-synth": stats["tasks"]}
    assert stats["heldout"] >= 10
    table = runner.invoke(app, ["curriculum", "stats", str(run_dir)])
    assert table.exit_code == 0 and "top operations" in table.output


def test_export_report_provenance(seeded_run, tmp_path):
    run_dir, _, _, _ = seeded_run
    for fmt in ("jsonl", "parquet"):
        out = tmp_path / f"tasks.{fmt}"
        result = runner.invoke(app, ["curriculum", "export", str(run_dir), "--format", fmt,
                                     "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert out.stat().st_size > 0
    html = tmp_path / "report.html"
    assert runner.invoke(app, ["curriculum", "report", str(run_dir), "--out", str(html)]).exit_code == 0
    text = html.read_text()
    assert "<svg" in text and "Reject reasons" in text
    assert "http://" not in text and "https://" not in text  # no network assets
    result = runner.invoke(app, ["curriculum", "provenance", str(run_dir)])
    assert result.exit_code == 0, result.output
    assert json.loads((run_dir / "provenance.json").read_text())["passed"] is True


def test_provenance_fails_on_an_injected_task(seeded_run, tmp_path):
    import shutil

    run_dir, _, _, _ = seeded_run
    copy = tmp_path / "tainted"
    shutil.copytree(run_dir, copy)
    bad = make_task(77, origin="github-scrape")
    with CurriculumStore.open(copy / "curriculum.sqlite") as s, s.transaction():
        s.add_task(bad)
    result = runner.invoke(app, ["curriculum", "provenance", str(copy)])
    assert result.exit_code == 1
    assert bad.id in result.output and "provenance check failed" in result.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["curriculum", "list", "/nonexistent/run"], "no run directory at /nonexistent/run"),
        (["curriculum", "stats", "{tmp}"], "has no curriculum.sqlite"),
        (["curriculum", "show", "{run}", "0000000000000000"], "no task with id"),
        (["curriculum", "list", "{bad}"], "not a zeroplay curriculum store"),
        (["curriculum", "list", "{run}", "--sort", "size"], "--sort 'size'"),
        (["curriculum", "export", "{run}", "--format", "csv", "--out", "{tmp}/x"], "unknown export format"),
    ],
)
def test_bad_input_is_one_line_exit_2(seeded_run, tmp_path, args, expected):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "curriculum.sqlite").write_bytes(b"garbage" * 100)
    args = [a.format(tmp=tmp_path, run=seeded_run[0], bad=bad) for a in args]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert expected in result.output and "Traceback" not in result.output


def test_show_by_id_prefix_lists_the_tasks_attempts(tmp_path):
    """Regression: attempts were looked up with the prefix instead of the resolved id."""
    from .conftest import attempt

    task = make_task(5)
    with CurriculumStore.open(tmp_path / "curriculum.sqlite", create=True, run_id="t") as s, \
            s.transaction(step=1):
        s.add_task(task)
        s.add_attempt(attempt(task.id, 0, solved=True))
        s.add_attempt(attempt(task.id, 1, solved=False))
    prefix = task.id[:6]
    shown = runner.invoke(app, ["curriculum", "show", str(tmp_path), prefix, "--json"])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    assert data["id"] == task.id
    assert [a["status"] for a in data["attempts"]] == ["pass", "fail"]
    text = runner.invoke(app, ["curriculum", "show", str(tmp_path), prefix])
    assert "reward 1 " in text.output and "reward 0 " in text.output
