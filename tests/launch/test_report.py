"""The run report: series from metrics.jsonl, escaping of model-written text, and the page
in a real headless Chromium (loads with no console error, curves have points, the task
table sorts, filters, and opens a task on click)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser import Chromium
from zeroplay.curricula.store import Attempt, CurriculumStore, Solution
from zeroplay.curricula.task import Provenance, Task, TaskDraft
from zeroplay.errors import RunDirError
from zeroplay.handoff import TestCase, Validation
from zeroplay.launch.run_report import run_report, step_series, write_report
from zeroplay.run_paths import RunPaths

HOSTILE = "</script><script>window.pwned = 1</script><img src=x onerror=window.pwned=2>"


def _task(n: int, origin: str, statement: str, step: int) -> Task:
    draft = TaskDraft(
        statement=statement, entry_point="f", signature="def f(x: int) -> int",
        reference=f"def f(x: int) -> int:\n    return x + {n}\n", strategy="st.integers(-9, 9)",
        provenance=Provenance(origin, "test", policy_version=3 if origin == "policy" else None),
        kind="int->int", tags=("add",))
    tests = [TestCase([["i", x]], ["i", x + n], public=x in (4, -7)) for x in (4, -7, 0, 1)]
    return Task.from_validation(draft, Validation(True, tests=tests), step=step)


def _metrics_row(step: int) -> dict:
    return {"step": step, "time": 1.0e9 + step, "solve_rate": step / 10,
            "samples_per_s": 10.0 + step, "proposal_validity": 0.25,
            "reward": {"proposer": {"mean": -0.5, "n": 4}, "solver": {"mean": step / 10, "n": 8}},
            "frac_reward_zero_std": {"solver": 0.5},
            "stages": {"solve": 1.5, "judge": 0.25},
            "learner": {"loss": 0.1 * step, "kl": None, "entropy": 0.5},
            "proposals": {}, "policy_tasks_learnable": None, "proposing": step > 1}


@pytest.fixture
def run(tmp_path) -> RunPaths:
    """A run directory written by the real store and JSONL files, as a run writes them."""
    run = RunPaths(tmp_path / "demo")
    run.eval_dir.mkdir(parents=True)
    run.metrics_path.write_text("".join(json.dumps(_metrics_row(s)) + "\n" for s in (1, 2, 3))
                                + '{"step": 4, "solve')  # a step being written right now
    run.heldout_curve_path.write_text(
        "".join(json.dumps({"step": s, "when": w, "heldout-seen": p, "heldout-unseen": p / 2})
                + "\n" for s, w, p in ((0, "start", 0.1), (3, "end", 0.3))))
    seed, invented = _task(1, "seed-synth", "Add 1 to x.", 0), _task(2, "policy", HOSTILE, 2)
    with CurriculumStore.open(run.curriculum_path, create=True, run_id="demo") as store:
        with store.transaction(step=0):
            store.add_task(seed)
        with store.transaction(step=2):
            store.add_task(invented)
            for i, (status, text) in enumerate((("pass", "def f(x):\n    return x + 2\n"),
                                                ("fail:wrong", f"# {HOSTILE}\n"))):
                store.add_attempt(Attempt(f"2:{i}", invented.id, f"h{i}", float(status == "pass"),
                                          status, 3, 2))
                store.add_solution(Solution(invented.id, f"h{i}", status,
                                            float(status == "pass"), 2, text))
    return run


def test_series_cover_every_numeric_per_step_value():
    charts = step_series([_metrics_row(1), _metrics_row(2)])
    assert charts["reward · mean"] == {"proposer": [(1, -0.5), (2, -0.5)],
                                       "solver": [(1, 0.1), (2, 0.2)]}
    assert charts["stages"] == {"solve": [(1, 1.5), (2, 1.5)], "judge": [(1, 0.25), (2, 0.25)]}
    assert charts["learner · loss"]["loss"] == [(1, 0.1), (2, 0.2)]
    assert "learner · kl" not in charts  # null throughout: nothing to draw
    assert charts["proposing"]["proposing"] == [(1, 0.0), (2, 1.0)]
    assert "time" not in charts and "step" not in charts


def test_model_written_text_never_becomes_markup(run):
    html = run_report(run)
    assert "<script>window.pwned" not in html and "<img src=x" not in html
    data = html.split('id="task-data">', 1)[1].split("</script>", 1)[0]
    tasks = json.loads(data)
    assert {t["statement"] for t in tasks} == {"Add 1 to x.", HOSTILE}


def test_an_empty_or_missing_run_is_a_clear_error(tmp_path):
    with pytest.raises(RunDirError, match="no run directory"):
        run_report(RunPaths(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunDirError, match="nothing to report"):
        run_report(RunPaths(tmp_path / "empty"))


def test_report_command_writes_the_page_into_the_run(run):
    exe = str(Path(sys.executable).with_name("zeroplay"))
    done = subprocess.run([exe, "report", str(run.path)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and (run.path / "report.html").is_file()
    missing = subprocess.run([exe, "report", str(run.path / "nope")], capture_output=True,
                             text=True, timeout=120)
    assert missing.returncode != 0 and "no run directory" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_the_page_works_in_a_real_browser(run, tmp_path):
    page_path = write_report(run.path, tmp_path / "report.html")
    with Chromium(tmp_path / "profile") as browser:
        page = browser.open(page_path)
        assert page.errors == []
        assert page.evaluate("window.pwned === undefined")
        charts = page.evaluate("[...document.querySelectorAll('figure.chart')].map(f => "
                               "[f.querySelector('figcaption').textContent, "
                               "f.querySelectorAll('circle.point').length])")
        by_name = dict(charts)
        assert by_name["held-out pass@1 (run.eval_every)"] == 4  # 2 splits x 2 evaluations
        assert by_name["reward · mean"] == 6  # 2 roles x 3 complete steps
        assert by_name["valid training tasks"] > 0
        assert all(points > 0 for points in by_name.values())

        rows = "[...document.querySelectorAll('#tasks tbody tr')].map(r => r.cells[2].textContent)"
        assert page.evaluate(rows) == ["policy", "seed-synth"]  # invented tasks first
        page.evaluate("document.querySelector('#tasks th[data-key=origin]').click()")
        assert page.evaluate(rows) == ["policy", "seed-synth"]
        page.evaluate("document.querySelector('#tasks th[data-key=origin]').click()")
        assert page.evaluate(rows) == ["seed-synth", "policy"]
        page.evaluate("const f = document.getElementById('filter'); f.value = 'POLICY'; "
                      "f.dispatchEvent(new Event('input'))")
        assert page.evaluate(rows) == ["policy"]

        assert page.evaluate("document.getElementById('detail').hidden")
        page.evaluate("document.querySelector('#tasks tbody tr').click()")
        detail = page.evaluate("document.getElementById('detail').hidden ? null : "
                               "document.getElementById('detail').innerText")
        assert detail is not None
        assert HOSTILE in detail  # shown as text
        assert "f(4) == 6" in detail and "f(-7) == -5" in detail  # public tests
        assert "solve rate 0.5 over 2 attempts" in detail
        assert "reward 1" in detail and "fail:wrong" in detail and "return x + 2" in detail
        assert page.evaluate("window.pwned === undefined")
        assert page.errors == []


def test_a_report_of_a_run_being_written_reads_only_committed_steps(run):
    html = run_report(run)
    assert "steps recorded</th><td>3<" in html  # the half-written step 4 is skipped
    Path(run.metrics_path).write_text("")
    assert "no step recorded yet" in run_report(run)
