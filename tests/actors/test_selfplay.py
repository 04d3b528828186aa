"""A full self-play round without learning: real Ray, real Docker, the tiny model."""

import random

import pytest

from zeroplay.actors.prompts import render_proposal, render_solution
from zeroplay.actors.ray_actors import RolloutActor, SandboxActor, WeightStore, make_actor
from zeroplay.actors.selfplay import Remote, selfplay_round
from zeroplay.config import load_config
from zeroplay.curricula.admit import pool_validator, seed_curriculum
from zeroplay.curricula.store import CurriculumStore
from zeroplay.sandbox.batch import judge_many, validate_many

pytestmark = pytest.mark.docker
CFG = load_config(None, ["rollout.max_new_tokens=48", "rollout.proposals_per_step=2",
                         "rollout.solver_tasks_per_step=2", "rollout.num_generations=3",
                         "sandbox.job_timeout_s=3", "sandbox.cpu_seconds=2"])


@pytest.fixture
def store(tmp_path, pool):
    with CurriculumStore.open(tmp_path / "curriculum.sqlite", create=True, run_id="sp") as s:
        seed_curriculum(s, pool_validator(pool, CFG), CFG, n=12, heldout=3, seed=1, run_id="sp")
        yield s


@pytest.fixture(scope="module")
def actors(ray_local, tiny_cache):
    cfg_json = CFG.model_dump(mode="json")
    weights = ray_local.remote(WeightStore).options(name="weights-sp").remote()
    rollout = make_actor(RolloutActor, CFG.cluster.rollout, "proposer-sp").remote(
        cfg_json, "weights-sp", str(tiny_cache))
    sandbox = make_actor(SandboxActor, CFG.cluster.sandbox, "sandbox-sp").remote(cfg_json)
    yield rollout, sandbox
    ray_local.get(sandbox.close.remote())
    del weights


def test_round_with_the_random_tiny_model_records_everything(store, actors):
    rollout, sandbox = actors
    result = selfplay_round(store, Remote(rollout, sandbox), CFG, step=1, rng=random.Random(0),
                            run_id="sp")
    proposers = [s for s in result.samples if s.role == "proposer"]
    solvers = [s for s in result.samples if s.role == "solver"]
    assert len(proposers) == 2 * 3 and len(solvers) >= 2 * 3
    for s in result.samples:
        assert len(s.logprobs) == len(s.completion_ids) and s.policy_version == 0
        assert len({x.group for x in result.samples if x.group == s.group}) == 1
    # A random model writes no valid format: counted by reason, penalised, not hidden.
    assert all(s.reward == CFG.rollout.format_penalty for s in proposers if s.status.startswith("format"))
    steps = store.steps()
    assert [st for st, _, _ in steps][-1] == 1
    summary = steps[-1][2]
    assert sum(summary["proposals"].values()) == 6
    assert sum(store.filter_counts().get(("format", r), 0) for r in summary["format_reasons"]) == \
        sum(summary["format_reasons"].values())
    attempted = [t for t in store.tasks(status="valid") if t.stats.attempts]
    assert sum(t.stats.attempts for t in attempted) == len(solvers)
    # Recording is idempotent: the same round recorded again adds nothing.
    again = selfplay_round(store, Remote(rollout, sandbox), CFG, step=1, rng=random.Random(0),
                           run_id="sp")
    assert sum(t.stats.attempts for t in store.tasks(status="valid")) >= len(solvers)
    assert again.summary is not None


def test_dead_rollout_actor_mid_round_is_retried(store, actors, ray_local):
    rollout, sandbox = actors
    ray_local.kill(rollout, no_restart=False)
    result = selfplay_round(store, Remote(rollout, sandbox), CFG, step=2, rng=random.Random(2),
                            run_id="sp")
    assert len(result.samples) >= 12
    assert [s for s, _, _ in store.steps()][-1] == 2


class ScriptedRemote(Remote):
    """Generation replaced by fixed text (what a trained policy would write); validation
    and judging are real, in the sandbox."""

    def __init__(self, pool, proposals, solutions):
        super().__init__(None, None)
        self.pool, self.proposals, self.solutions = pool, proposals, solutions

    def prompt_tokens(self, messages):
        return 10

    def generate(self, role, messages, n):
        texts = self.proposals if role == "propose" else self.solutions
        return [{"prompt_index": i, "prompt_ids": [1], "completion_ids": [2, 3],
                 "logprobs": [-0.5, -0.5], "text": texts[(i * n + j) % len(texts)],
                 "finish_reason": "stop", "policy_version": 4}
                for i in range(len(messages)) for j in range(n)]

    def validate(self, drafts, seed):
        return validate_many(self.pool, drafts, CFG.sandbox, seed)

    def judge(self, candidates):
        return judge_many(self.pool, candidates, CFG.sandbox)


def test_scoring_of_valid_invalid_and_malformed_proposals(store, pool):
    learnable = render_proposal("Add one to x.", "def f(x: int) -> int:\n    return x + 1\n",
                                "st.integers(-5, 5)")
    trivial = render_proposal("Always seven.", "def f(x: int) -> int:\n    return 7\n",
                              "st.integers(-5, 5)")
    remote = ScriptedRemote(pool, [learnable, trivial, "no tags at all"],
                            [render_solution("def f(x):\n    return x + 1\n"),
                             render_solution("def f(x):\n    return x - 1\n"),
                             "garbage"])
    result = selfplay_round(store, remote, CFG, step=3, rng=random.Random(1), run_id="sp")
    by_status = {}
    for s in result.samples:
        if s.role == "proposer":
            by_status.setdefault(s.status, set()).add(s.reward)
    assert [round(r, 6) for r in by_status["valid"]] == [round(2 / 3, 6)]  # 1 of 3 solutions pass
    assert by_status["rejected:trivial"] == {CFG.rollout.invalid_penalty}
    assert by_status["format:no_format"] == {CFG.rollout.format_penalty}
    new = [t for t in store.tasks(status="valid", origin="policy")]
    assert len(new) == 1 and new[0].provenance.policy_version == 4
    assert len(new[0].provenance.parent_task_ids) > 0
    rejected = store.tasks(status="rejected", origin="policy")
    assert [t.reason for t in rejected] == ["trivial"]
    assert store.filter_counts()[("format", "no_format")] >= 1
    solver = [s for s in result.samples if s.role == "solver"]
    assert {s.reward for s in solver} <= {0.0, 1.0} and any(s.reward == 1.0 for s in solver)
