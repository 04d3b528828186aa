"""The eval loop end to end: the tiny model through the CLI, and real judging of scripted
answers (the policy is the only part replaced there)."""

import json
import shutil

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from zeroplay.actors.fleet import Fleet, Sandboxes
from zeroplay.actors.group import ActorGroup
from zeroplay.actors.ray_actors import SandboxActor
from zeroplay.config import GENERATION_ONLY, Config, load_config
from zeroplay.curricula.synth import corpus_tags_of
from zeroplay.eval.humaneval import load_problems
from zeroplay.eval.problems import heldout_problems, humaneval_problems
from zeroplay.eval.run import eval_config, evaluate, resolve_model, summary_path
from zeroplay.handoff import Completion
from zeroplay.launch.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def tiny_checkpoint(tiny_cache, tmp_path_factory):
    """The tiny model saved as a run's checkpoint (step 3, policy version 2)."""
    from zeroplay.actors.policy import tiny_model_path

    cfg = load_config(None)
    run = tmp_path_factory.mktemp("evalrun") / "demo"
    ckpt = run / "checkpoints" / "step-3"
    shutil.copytree(tiny_model_path(cfg.policy.tiny, tiny_cache, cfg.run.seed), ckpt)
    (ckpt / "zeroplay_state.json").write_text(json.dumps({"step": 3, "policy_version": 2}))
    return run


@pytest.mark.slow
def test_tiny_checkpoint_eval_end_to_end_on_humaneval(tiny_checkpoint, sandbox_image):
    result = runner.invoke(app, ["eval", str(tiny_checkpoint), "--benchmark", "humaneval",
                                 "--limit", "2", "--samples", "2", "--max-new-tokens", "8",
                                 "--set", "sandbox.pool_size=1"])
    assert result.exit_code == 0, result.output
    out = tiny_checkpoint / "eval" / "humaneval-step-3.jsonl"
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["problem"] for r in rows] == ["HumanEval/0", "HumanEval/1"]
    assert all(r["n"] == 2 and len(r["samples"]) == 2 and 0 <= r["pass@2"] <= 1 for r in rows)
    assert all(s["status"] in ("pass", "fail", "error", "timeout", "unparsed", "prompt_too_long")
               for r in rows for s in r["samples"])
    summary = json.loads(summary_path(out).read_text())
    assert (summary["checkpoint_step"], summary["policy_version"]) == (3, 2)
    assert summary["problems"] == 2 and summary["samples"] == 2
    assert summary["pass@1"] == sum(r["pass@1"] for r in rows) / 2
    assert "pass@1" in result.output


@pytest.mark.slow
def test_greedy_eval_end_to_end(tiny_checkpoint, sandbox_image, tmp_path):
    out = tmp_path / "greedy.jsonl"
    result = runner.invoke(app, ["eval", str(tiny_checkpoint), "--benchmark", "humaneval",
                                 "--limit", "2", "--samples", "2", "--max-new-tokens", "8",
                                 "--temperature", "0", "--out", str(out),
                                 "--set", "sandbox.pool_size=1"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 2
    for r in rows:  # greedy: the same answer every time, so pass@2 is pass@1
        assert len({s.get("completion") for s in r["samples"]}) == 1
        assert r["pass@2"] == r["pass@1"]
    summary = json.loads(summary_path(out).read_text())
    assert (summary["temperature"], summary["decoding"]) == (0, "greedy")
    assert summary["pass@1"] == sum(r["pass@1"] for r in rows) / 2
    assert "pass@1" in result.output


def test_greedy_config_is_for_generation_only():
    cfg = eval_config(load_config(None), resolve_model("tiny"), temperature=0)
    data = cfg.model_dump(mode="json")
    assert Config.model_validate(data, context=GENERATION_ONLY).rollout.temperature == 0
    with pytest.raises(ValidationError, match="rollout.temperature=0 decodes greedily"):
        Config.model_validate(data)


class ScriptedRollouts:
    """Answers from a script instead of a policy."""

    def __init__(self, answers):
        self.answers = answers

    def prompt_tokens(self, prompts):
        return [10] * len(prompts)

    def generate(self, prompts, n, role, greedy=False):
        return [Completion(i, [0], [0], [0.0], self.answers[m[-1]["content"]][j], "stop", 0)
                for i, m in enumerate(prompts) for j in range(n)]


def scripted(cfg, pool, answers):
    """The real sandbox judges, in process; the policy is replaced by a script."""
    sandboxes = Sandboxes(ActorGroup.local(SandboxActor(cfg.model_dump(mode="json"), pool)))
    return Fleet(ScriptedRollouts(answers), sandboxes)


def test_scripted_answers_are_judged_in_the_sandbox(pool):
    cfg = Config().model_copy(update={"sandbox": pool.cfg})
    p0, p1 = load_problems(limit=2)
    problems = humaneval_problems(limit=2)
    right = f"<function>\n{p0.prompt.split(chr(10) * 3)[-1]}{p0.canonical_solution}</function>"
    wrong = f"<function>\ndef {p1.entry_point}(paren_string):\n    return []\n</function>"
    answers = {problems[0].messages[-1]["content"]: [right, "no tags", right],
               problems[1].messages[-1]["content"]: [wrong] * 3}
    report = evaluate(problems, scripted(cfg, pool, answers), samples=3,
                      max_prompt_tokens=768)
    assert [r.correct for r in report.results] == [2, 0]
    assert [s["status"] for s in report.results[0].samples] == ["pass", "unparsed", "pass"]
    assert [s["status"] for s in report.results[1].samples] == ["fail"] * 3
    assert report.pass_at(1) == pytest.approx((2 / 3 + 0) / 2)
    assert report.pass_at(3) == pytest.approx(0.5)


def test_heldout_split_regenerated_and_from_a_run_are_judged(pool, seeded_run):
    cfg = Config().model_copy(update={"sandbox": pool.cfg})
    fleet = scripted(cfg, pool, {})
    regenerated = heldout_problems(cfg, fleet.sandboxes.validate, limit=3)
    seen = heldout_problems(cfg, fleet.sandboxes.validate, limit=3, split="heldout-seen")
    run_dir, _, held_seen, held_unseen = seeded_run
    stored = heldout_problems(cfg, fleet.sandboxes.validate, run_dir=run_dir)
    stored_seen = heldout_problems(cfg, fleet.sandboxes.validate, run_dir=run_dir,
                                   split="heldout-seen")
    assert len(regenerated) == len(seen) == 3
    assert (len(stored), len(stored_seen)) == (held_unseen.valid, held_seen.valid)
    assert {p.task.split for p in regenerated + stored} == {"heldout-unseen"}
    assert {p.task.split for p in seen + stored_seen} == {"heldout-seen"}
    problems = regenerated[:2] + stored[:1]
    fleet.rollouts.answers = {p.messages[-1]["content"]:
                              [f"<function>\n{p.task.reference}</function>"] for p in problems}
    report = evaluate(problems, fleet, samples=1, max_prompt_tokens=768)
    assert [r.correct for r in report.results] == [1, 1, 1]
    fleet.rollouts.answers[problems[0].messages[-1]["content"]] = ["no answer"]
    report = evaluate(problems, fleet, samples=1, max_prompt_tokens=768)
    tags = {p.id: corpus_tags_of(p.task.tags) for p in problems}
    by = report.by_corpus_tags(tags)
    for name, group in by["family"].items():
        members = [p for p in problems if f"family:{name}" in tags[p.id]]
        assert group["n"] == len(members) and group["low"] <= group["pass@1"] <= group["high"]
        assert group["pass@1"] == sum(p is not problems[0] for p in members) / len(members)
    assert set(by["api"]) == {t.split(":")[1] for ts in tags.values() for t in ts
                              if t.startswith("api:")}


@pytest.mark.parametrize(("args", "message"), [
    (["eval", "./missing-model", "--benchmark", "humaneval"], "no model or checkpoint"),
    (["eval", "tiny", "--benchmark", "mbpp"], "unknown benchmark 'mbpp'"),
    (["eval", "tiny", "--benchmark", "humaneval", "--limit", "0"], "--limit 0"),
    (["eval", "tiny", "--benchmark", "humaneval", "--temperature", "-1"], "--temperature -1"),
    (["eval", "tiny", "--benchmark", "synthetic-heldout", "--split", "train"],
     "--split train: choose one of heldout-seen, heldout-unseen"),
])
def test_user_errors_are_one_line_messages(args, message):
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_resolve_model_takes_the_newest_checkpoint_of_a_run(tiny_checkpoint):
    ref = resolve_model(str(tiny_checkpoint))
    assert ref.source.endswith("checkpoints/step-3") and ref.step == 3


@pytest.mark.slow
def test_eval_on_ray_actors_uses_the_same_loop(ray_local, tiny_cache, sandbox_image):
    """The cluster path: generation in a RolloutActor, judging in a SandboxActor."""
    cfg = load_config(None, ["rollout.max_new_tokens=8", "sandbox.pool_size=1",
                             "cluster.rollout.num_cpus=0.5"])
    problems = humaneval_problems(limit=2)
    with Fleet.on_ray(cfg, str(tiny_cache), restarts=0, prefix="eval-") as fleet:
        report = evaluate(problems, fleet, samples=2,
                          max_prompt_tokens=cfg.rollout.max_prompt_tokens)
    assert [r.id for r in report.results] == ["HumanEval/0", "HumanEval/1"]
    assert all(r.n == 2 and 0 <= r.correct <= 2 for r in report.results)
    assert {s["status"] for r in report.results for s in r.samples} <= {
        "pass", "fail", "error", "timeout", "unparsed", "prompt_too_long"}
    assert not [a for a in ray_local.util.list_named_actors() if a.startswith("eval-")]
