"""The fidelity report on a handful of HumanEval problems, in the real sandbox."""

import json

from typer.testing import CliRunner

from zeroplay.eval.fidelity import fidelity_config, run_fidelity, summarize
from zeroplay.launch.cli import app


def test_fidelity_on_a_handful_of_problems(pool):
    cfg = fidelity_config(pool.cfg).model_copy(update={"job_timeout_s": 2.0})
    rows = run_fidelity(pool, cfg, limit=5, max_mutants=4)
    assert [r.problem for r in rows] == [f"HumanEval/{i}" for i in range(5)]
    summary = summarize(rows)
    assert summary["tasks"] == 5 and summary["skipped_no_strategy"] == 0
    assert summary["canonical_accepted_zeroplay"] == summary["canonical_accepted_humaneval"] == 5
    assert summary["mutants"] == sum(len(r.mutants) for r in rows) >= 15
    assert all({"zeroplay", "humaneval", "operator"} <= set(m) for r in rows for m in r.mutants)
    assert summary["kill_rate_zeroplay"] >= 0.6 and summary["kill_rate_humaneval"] >= 0.6
    assert (summary["killed_both"] + summary["killed_only_zeroplay"]
            + summary["killed_only_humaneval"] + summary["killed_neither"]) == summary["mutants"]


def test_fidelity_cli_writes_results_and_summary(tmp_path, sandbox_image):
    out = tmp_path / "fid.jsonl"
    result = CliRunner().invoke(app, ["eval", "fidelity", "--limit", "2", "--mutants", "2",
                                      "--out", str(out), "--set", "sandbox.pool_size=1"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    summary = json.loads((tmp_path / "fid.summary.json").read_text())
    assert len(rows) == 2 and summary["problems"] == 2
    assert summary["canonical_acceptance"] == 1.0
    assert "canonical accepted (zeroplay)" in result.output
