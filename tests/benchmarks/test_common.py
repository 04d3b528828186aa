"""benchmarks/common.py: a prepared directory is never reused for other settings, a task
cache is made again when it is torn or stale, and results land in --out and results/."""

import json

import common
import pytest

from zeroplay.curricula.task import Provenance, Task, TaskDraft
from zeroplay.handoff import TestCase, Validation


def _task(i: int) -> Task:
    draft = TaskDraft(f"Add {i}.", "f", "def f(x: int) -> int", f"def f(x):\n    return x + {i}\n",
                      "st.integers(0, 9)", Provenance.seed_synth("t", "g", i))
    return Task.from_validation(draft, Validation(True, tests=[TestCase([["i", 1]], ["i", 1 + i])]))


def test_a_directory_prepared_with_other_settings_is_refused(tmp_path):
    common.claim_dir(tmp_path / "out", {"seed": 0})
    common.claim_dir(tmp_path / "out", {"seed": 0})  # the same settings: reused
    with pytest.raises(SystemExit, match="prepared with other settings"):
        common.claim_dir(tmp_path / "out", {"seed": 1})


def test_a_task_cache_is_made_once_and_again_when_torn_or_stale(tmp_path):
    path, calls = tmp_path / "tasks.json", []

    def make():
        calls.append(1)
        return {"probe": [_task(len(calls)), _task(9)]}

    first = common.cached_tasks(path, {"n": 2}, make)
    assert common.cached_tasks(path, {"n": 2}, make) == first and len(calls) == 1
    assert common.cached_tasks(path, {"n": 3}, make) != first and len(calls) == 2  # stale
    path.write_text(path.read_text()[:40])  # cut short
    common.cached_tasks(path, {"n": 3}, make)
    assert len(calls) == 3 and json.loads(path.read_text())["made_by"] == {"n": 3}


def test_a_result_goes_to_out_and_to_results_with_its_commit(tmp_path, monkeypatch):
    monkeypatch.setattr(common, "RESULTS", tmp_path / "results")
    path = common.write_result("demo", tmp_path / "out", {"score": 0.5})
    kept = json.loads((tmp_path / "results" / "demo.json").read_text())
    assert json.loads(path.read_text()) == kept
    assert kept["score"] == 0.5 and kept["benchmark"] == "demo" and "command" in kept
