"""A whole self-play step without learning: real Ray, real Docker, the tiny model."""

import random

import pytest

from zeroplay.actors.fleet import Fleet, Sandboxes
from zeroplay.actors.group import ActorGroup
from zeroplay.actors.prompts import render_proposal, render_solution, solver_messages
from zeroplay.actors.ray_actors import SandboxActor
from zeroplay.config import load_config
from zeroplay.curricula.admit import pool_validator, seed_curriculum
from zeroplay.curricula.store import CurriculumStore
from zeroplay.handoff import Completion
from zeroplay.selfplay import selfplay_step
from zeroplay.selfplay.groups import as_groups

pytestmark = [pytest.mark.docker, pytest.mark.slow]
CFG = load_config(None, ["rollout.max_new_tokens=48", "rollout.proposals_per_step=2",
                         "rollout.solver_tasks_per_step=2", "rollout.num_generations=3",
                         "learner.per_device_train_batch_size=4",
                         "learner.gradient_accumulation_steps=3",
                         "sandbox.job_timeout_s=3", "sandbox.cpu_seconds=2",
                         "sandbox.pool_size=1", "curriculum.reference_k=2"])


@pytest.fixture
def store(tmp_path, pool):
    with CurriculumStore.open(tmp_path / "curriculum.sqlite", create=True, run_id="sp") as s:
        seed_curriculum(s, pool_validator(pool, CFG), CFG, n=12, heldout=3, seed=1, run_id="sp")
        yield s


@pytest.fixture(scope="module")
def fleet(ray_local, tiny_cache):
    with Fleet.on_ray(CFG, str(tiny_cache), prefix="sp-") as started:
        yield started


def _step(store, fleet, step):
    return selfplay_step(store, fleet.rollouts, fleet.sandboxes, CFG, step=step,
                         rng=random.Random(step), run_id="sp")


def test_step_with_the_random_tiny_model_records_everything(store, fleet):
    result = _step(store, fleet, 1)
    proposers = [s for s in result.samples + result.dropped if s.role == "proposer"]
    solvers = [s for s in result.samples + result.dropped if s.role == "solver"]
    g = CFG.rollout.num_generations
    assert len(proposers) == 2 * g and len(solvers) >= 2 * g
    for group in as_groups(proposers):  # equal rewards give no gradient: not trained on
        equal = len({s.reward for s in group}) == 1
        assert (group[0] in result.dropped) == (equal and CFG.rollout.dynamic_sampling
                                                and CFG.learner.beta == 0)
    for group in result.groups():  # whole groups: one prompt, role and version each
        assert len(group) == g
        assert len({(tuple(s.prompt_ids), s.role, s.policy_version) for s in group}) == 1
    assert all(len(s.logprobs) == len(s.completion_ids) for s in result.samples)
    # A random model writes no valid format: counted by reason, penalised, not hidden.
    assert all(s.reward == CFG.rollout.format_penalty for s in proposers
               if s.status.startswith("format"))
    summary = store.steps()[-1][2]
    assert store.steps()[-1][0] == 1 and sum(summary["proposals"].values()) == 2 * g
    assert sum(store.filter_counts().get(("format", r), 0) for r in summary["format_reasons"]) \
        == sum(summary["format_reasons"].values())
    attempts = sum(t.stats.attempts for t in store.tasks(status="valid"))
    assert attempts == len(solvers)
    assert set(result.seconds) == {"propose", "validate", "solve", "judge", "record"}


def test_dead_rollout_actor_mid_step_is_retried(store, fleet, ray_local):
    ray_local.kill(fleet.rollouts.group.members[0], no_restart=False)
    result = _step(store, fleet, 2)
    assert len(result.samples) + len(result.dropped) >= 4 * CFG.rollout.num_generations
    assert store.steps()[-1][0] == 2


class ScriptedRollouts:
    """Generation replaced by fixed text (what a trained policy would write)."""

    def __init__(self, proposals, solutions):
        self.texts = {"proposer": proposals, "solver": solutions}

    def prompt_tokens(self, prompts):
        return [10] * len(prompts)

    def generate(self, prompts, n, role):
        texts = self.texts[role]
        return [Completion(i, [1], [2, 3], [-0.5, -0.5], texts[(i * n + j) % len(texts)],
                           "stop", 4)
                for i in range(len(prompts)) for j in range(n)]


def test_scoring_of_valid_invalid_and_malformed_proposals(store, pool):
    """Validation and judging are real, in the sandbox, through an in-process group."""
    learnable = render_proposal("Add one to x.", "def f(x: int) -> int:\n    return x + 1\n",
                                "st.integers(-5, 5)")
    trivial = render_proposal("Always seven.", "def f(x: int) -> int:\n    return 7\n",
                              "st.integers(-5, 5)")
    rollouts = ScriptedRollouts([learnable, trivial, "no tags at all"],
                                [render_solution("def f(x):\n    return x + 1\n"),
                                 render_solution("def f(x):\n    return x - 1\n"), "garbage"])
    sandboxes = Sandboxes(ActorGroup.local(SandboxActor(CFG.model_dump(mode="json"), pool)))
    result = selfplay_step(store, rollouts, sandboxes, CFG, step=3, rng=random.Random(1),
                           run_id="sp")
    by_status = {}
    for s in result.samples:
        if s.role == "proposer":
            by_status.setdefault(s.status, set()).add(s.reward)
    assert [round(r, 6) for r in by_status["valid"]] == [round(2 / 3, 6)]  # 1 of 3 pass
    assert by_status["rejected:trivial"] == {CFG.rollout.invalid_penalty}
    assert by_status["format:no_format"] == {CFG.rollout.format_penalty}
    new = store.tasks(status="valid", origin="policy")
    assert len(new) == 1 and new[0].provenance.policy_version == 4
    assert len(new[0].provenance.parent_task_ids) > 0
    assert [t.reason for t in store.tasks(status="rejected", origin="policy")] == ["trivial"]
    assert store.filter_counts()[("format", "no_format")] >= 1
    solver = [s for s in result.samples if s.role == "solver"]
    assert {s.reward for s in solver} <= {0.0, 1.0} and any(s.reward == 1.0 for s in solver)


class PlannedSolver(ScriptedRollouts):
    """Solver rounds by plan: round r's i-th prompt gets group kind plan[r][i] ("pass":
    the task's reference every time, "fail": a function that raises, "mixed": one
    reference, the rest failing). Tasks are recognised by their prompt."""

    def __init__(self, store, plan):
        super().__init__(["no tags at all"], [])
        self.tasks = {str(solver_messages(t)): t for t in store.tasks()}
        self.plan, self.round = plan, 0

    def generate(self, prompts, n, role):
        if role == "proposer":
            return super().generate(prompts, n, role)
        kinds, self.round = self.plan[self.round], self.round + 1
        assert len(kinds) == len(prompts), "a refill of one task per missing group"
        outs = []
        for i, (prompt, kind) in enumerate(zip(prompts, kinds, strict=True)):
            task = self.tasks[str(prompt)]
            right = render_solution(task.reference)
            wrong = render_solution(f"def {task.entry_point}(*args):\n    raise ValueError\n")
            texts = {"pass": [right] * n, "fail": [wrong] * n,
                     "mixed": [right] + [wrong] * (n - 1)}[kind]
            outs += [Completion(i, [1], [2, 3], [-0.5, -0.5], text, "stop", 4) for text in texts]
        return outs


def _planned_step(store, pool, plan, *overrides):
    cfg = load_config(None, ["rollout.num_generations=3", "rollout.solver_tasks_per_step=3",
                             "learner.per_device_train_batch_size=3",
                             "learner.gradient_accumulation_steps=4", *overrides])
    sandboxes = Sandboxes(ActorGroup.local(SandboxActor(cfg.model_dump(mode="json"), pool)))
    return selfplay_step(store, PlannedSolver(store, plan), sandboxes, cfg, step=5,
                         rng=random.Random(5), run_id="sp")


def test_dynamic_sampling_refills_until_the_solver_batch_is_full(store, pool):
    """Round 1 has an all-pass, an all-fail and a mixed group: two refill rounds solve
    one new task per missing group until three groups are mixed; the bound (4) is not hit."""
    plan = [["pass", "fail", "mixed"], ["fail", "mixed"], ["mixed"], ["mixed"]]
    result = _planned_step(store, pool, plan, "rollout.max_sampling_rounds=4",
                           "rollout.proposals_per_step=1")
    solver = [g for g in result.groups() if g[0].role == "solver"]
    assert [[s.reward for s in g] for g in solver] == [[1.0, 0.0, 0.0]] * 3  # just the mixed
    assert all(s.role == "solver" for s in result.samples)  # the proposals, all -1: dropped
    assert [s.reward for s in result.dropped if s.role == "proposer"] == [-1.0] * 3
    summary = store.steps()[-1][2]
    assert summary["sampling_rounds"] == 3
    assert summary["dropped"] == {"all_pass": 1, "all_fail": 2, "all_equal": 0, "proposer": 1}
    assert summary["frac_reward_zero_std"] == {"proposer": 1.0, "solver": 3 / 6}
    assert summary["proposals"] == {"format": 3}  # still counted as proposals
    assert len(result.dropped) == 3 * 3 + 3
    dropped = {s.task_id for s in result.dropped if s.role == "solver"}
    kept = {s.task_id for g in solver for s in g}
    assert len(dropped | kept) == 6  # refills took tasks not solved before in the step
    for task in store.tasks(status="valid"):  # every judged solution is an attempt
        assert len(store.attempts(task.id)) == (3 if task.id in dropped | kept else 0)
    assert {r.task_id for r in store.samples()} == kept  # no provenance for what no one trains


def test_with_a_kl_term_proposer_groups_of_equal_rewards_are_trained_on(store, pool):
    """With beta > 0 such a group still has a gradient (toward the reference): kept."""
    result = _planned_step(store, pool, [["mixed", "mixed", "mixed"]], "learner.beta=0.04",
                           "rollout.proposals_per_step=1")
    proposer = [s for s in result.samples if s.role == "proposer"]
    assert [s.reward for s in proposer] == [-1.0] * 3 and not result.dropped
    assert store.steps()[-1][2]["dropped"]["proposer"] == 0


def test_refills_stop_at_the_bound_and_an_empty_batch_reaches_no_learner(store, pool):
    plan = [["fail", "pass", "fail"], ["fail", "fail", "fail"], ["mixed"] * 3]
    result = _planned_step(store, pool, plan, "rollout.max_sampling_rounds=2",
                           "rollout.proposals_per_step=0")
    assert result.samples == [] and result.groups() == []
    summary = store.steps()[-1][2]
    assert summary["sampling_rounds"] == 2 and summary["solutions"] == {"pass": 3, "fail": 15}
    assert summary["dropped"] == {"all_pass": 1, "all_fail": 5, "all_equal": 0, "proposer": 0}
    assert sum(t.stats.attempts for t in store.tasks(status="valid")) == 18
    assert store.samples() == []


def test_fresh_synthesizer_tasks_join_the_curriculum_and_are_solved(store, pool):
    from zeroplay.curricula.programs import normalized_hash

    cfg = CFG.model_copy(update={"curriculum": CFG.curriculum.model_copy(
        update={"fresh_tasks_per_step": 3})})
    before = {t.id for t in store.tasks(status="valid", split="train")}
    rollouts = ScriptedRollouts(["no tags"], ["no tags either"])
    sandboxes = Sandboxes(ActorGroup.local(SandboxActor(cfg.model_dump(mode="json"), pool)))
    result = selfplay_step(store, rollouts, sandboxes, cfg, step=5, rng=random.Random(5),
                           run_id="sp", proposing=False)
    fresh = [t for t in store.tasks(status="valid", split="train") if t.id not in before]
    assert len(fresh) == 3 and all(t.provenance.origin == "seed-synth" for t in fresh)
    heldout = {normalized_hash(t.reference) for t in store.tasks(heldout=True)}
    assert not {normalized_hash(t.reference) for t in fresh} & heldout
    solved = {s.task_id for s in result.samples + result.dropped if s.role == "solver"}
    assert {t.id for t in fresh} <= solved
    assert not [s for s in result.samples if s.role == "proposer"]  # a solver-only step


def test_copies_are_rejected_with_their_reason_and_novelty_is_counted(store, pool):
    """Step 3: a copy of a seed task (renamed), a new program twice in one step. Step 4:
    that program again, and the same shape with other constants: valid, but not novel."""
    seed = store.tasks(status="valid", split="train")[0]
    copy = render_proposal("A copy.", seed.reference.replace("def f(", "def g("), seed.strategy)
    new = render_proposal("Triple x, add one.", "def f(x: int) -> int:\n    return x * 3 + 1\n",
                          "st.integers(-5, 5)")
    other = render_proposal("Triple x, add two.", "def f(x: int) -> int:\n    return x * 3 + 2\n",
                            "st.integers(-5, 5)")
    solutions = [render_solution("def f(x):\n    return x * 3 + 1\n"), "no tags"]
    sandboxes = Sandboxes(ActorGroup.local(SandboxActor(CFG.model_dump(mode="json"), pool)))

    def play(step, proposals):
        result = selfplay_step(store, ScriptedRollouts(proposals, solutions), sandboxes, CFG,
                               step=step, rng=random.Random(step), run_id="sp")
        return [s.status for s in result.samples + result.dropped if s.role == "proposer"]

    assert play(3, [copy, new, new, "no tags", "no tags", "no tags"])[:3] == [
        "duplicate:near_duplicate", "valid", "duplicate:duplicate"]
    summary = store.steps()[-1][2]
    assert summary["new_policy_tasks"] == summary["novel_policy_tasks"] == 1
    assert summary["filtered"] == {"near_duplicate": 1, "duplicate": 1}
    assert summary["judged_policy_tasks"] == 1  # solved by some of its three solutions
    assert summary["learnable_policy_tasks"] == 1
    assert play(4, [new, other] + ["no tags"] * 4)[:2] == ["duplicate:duplicate", "valid"]
    summary = store.steps()[-1][2]
    assert summary["new_policy_tasks"] == 1 and summary["novel_policy_tasks"] == 0
    assert len(store.tasks(status="valid", origin="policy")) == 2
