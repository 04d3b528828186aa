"""One round of self-play without learning: propose, validate, solve, judge, score, record.

    result = selfplay_round(store, rollout, sandbox, cfg, step=3, rng=random.Random(3))
    result.samples      # RolloutSamples for the learner (ids, behaviour log-probs, reward)
    result.summary      # counts by role, status and reason
    result.seconds      # wall time per stage: propose, validate, solve, judge, record

Proposals are parsed (format failures are counted by reason and get `format_penalty`),
filtered and validated in the sandbox (rejections are recorded with their reason and get
`invalid_penalty`). The solver then writes `num_generations` solutions for a mix of
curriculum tasks and the round's new tasks; each is judged in the sandbox. A new task's
proposer reward is its learnability from those solutions. Everything the round learned
is written to the store in one transaction, with a provenance record for every sample
it hands the learner: a crash loses the round, never half of it.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from zeroplay.actors.parsing import parse_proposal, parse_solution
from zeroplay.actors.prompts import proposer_messages, solver_messages
from zeroplay.config import Config
from zeroplay.curricula.admit import Vetted, record, vet
from zeroplay.curricula.sampling import proposer_references, solver_tasks
from zeroplay.curricula.store import Attempt, CurriculumStore, Sample
from zeroplay.curricula.task import Provenance, learnability
from zeroplay.handoff import RolloutSample
from zeroplay.sandbox.batch import Draft

log = logging.getLogger(__name__)


@dataclass
class RoundResult:
    samples: list[RolloutSample] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def groups(self) -> list[list[RolloutSample]]:
        """The samples as GRPO groups (all completions of one prompt), in order."""
        by_group: dict[str, list[RolloutSample]] = {}
        for sample in self.samples:
            by_group.setdefault(sample.group, []).append(sample)
        return list(by_group.values())


class Remote:
    """Calls on actors, blocking; tests and the launch loop share this seam."""

    def __init__(self, rollout, sandbox):
        self.rollout, self.sandbox = rollout, sandbox

    def generate(self, role: str, messages: list, n: int) -> list[dict]:
        return _call(self.rollout, "generate", role, messages, n)

    def prompt_tokens(self, messages: list) -> int:
        return _call(self.rollout, "prompt_tokens", messages)

    def validate(self, drafts: list[Draft], seed: int) -> list:
        return _call(self.sandbox, "validate", drafts, seed)

    def judge(self, candidates: list) -> list:
        return _call(self.sandbox, "judge", candidates)


def _call(actor, method: str, *args, retries: int = 8):
    """Retried, with back-off, while the actor restarts after dying; nothing is recorded
    until the round ends, so a retried batch is never recorded twice."""
    import ray
    from ray.exceptions import ActorUnavailableError, RayActorError

    for attempt in range(retries + 1):
        try:
            return ray.get(getattr(actor, method).remote(*args))
        except (RayActorError, ActorUnavailableError) as exc:
            if attempt == retries or getattr(exc, "actor_init_failed", False):
                raise  # out of restarts, or it cannot even start: retrying cannot help
            log.warning("actor unavailable during %s; retrying", method)
            time.sleep(min(2**attempt, 10))
    raise AssertionError("unreachable")


def selfplay_round(store: CurriculumStore, remote: Remote, cfg: Config, *, step: int,
                   rng: random.Random, run_id: str = "") -> RoundResult:
    r, cur = cfg.rollout, cfg.curriculum
    window, g = cur.learnability_window, r.num_generations
    result = RoundResult()
    clock = _StageClock(result.seconds)

    # 1. Propose: each prompt shows K examples; drop examples until the prompt fits.
    prompts, parents = [], []
    for _ in range(r.proposals_per_step):
        refs = proposer_references(store, cur.reference_k, window, rng)
        while refs and remote.prompt_tokens(proposer_messages(refs)) > r.max_prompt_tokens:
            refs = refs[:-1]
        prompts.append(proposer_messages(refs))
        parents.append(tuple(t.id for t in refs))
    proposals = remote.generate("propose", prompts, g) if prompts else []
    clock.lap("propose")
    drafts, proposal_status = [], []
    format_reasons: Counter = Counter()
    for out in proposals:
        prov = Provenance.policy(run_id, out["policy_version"], parents[out["prompt_index"]])
        parsed = parse_proposal(out["text"], prov)
        if parsed.draft is None:
            reason = parsed.reason
            if out["finish_reason"] != "stop":
                reason = f"truncated:{reason}"
            format_reasons[reason] += 1
            proposal_status.append(("format", reason))
            drafts.append(None)
        else:
            proposal_status.append(("draft", ""))
            drafts.append(parsed.draft)
    vetted = vet(store, remote.validate, [d for d in drafts if d is not None], cfg, seed=step,
                 step=step)
    by_id = {t.id: t for t in vetted.tasks}
    new_tasks = [t for t in vetted.tasks if t.valid]
    clock.lap("validate")

    # 2. Solve: curriculum tasks plus this round's new ones (their solve rate scores them).
    tasks = solver_tasks(store, r.solver_tasks_per_step, cur.solver_new_fraction, window, rng)
    tasks += [t for t in new_tasks if t.id not in {x.id for x in tasks}]
    solutions = remote.generate("solve", [solver_messages(t) for t in tasks], g) if tasks else []
    clock.lap("solve")
    candidates, owners = [], []
    solve_status: list[str] = []
    for i, out in enumerate(solutions):
        task = tasks[out["prompt_index"]]
        parsed = parse_solution(out["text"], task.entry_point)
        if parsed.code is None:
            solve_status.append(f"format:{parsed.reason}")
            continue
        solve_status.append("")
        candidates.append((parsed.code, task.entry_point, list(task.tests)))
        owners.append(i)
    verdicts = dict(zip(owners, remote.judge(candidates), strict=True)) if candidates else {}
    clock.lap("judge")

    attempts, solver_rewards, solve_counts = [], [], Counter()
    provenance: list[Provenance] = []  # of each sample, in order
    per_task: dict[str, list[float]] = {}
    for i, out in enumerate(solutions):
        task = tasks[out["prompt_index"]]
        verdict = verdicts.get(i)
        reward = verdict.reward if verdict else 0.0
        status = verdict.status if verdict else solve_status[i]
        solve_counts[status.split(":")[0]] += 1
        per_task.setdefault(task.id, []).append(1.0 if verdict and verdict.status == "pass"
                                                else 0.0)
        code_hash = hashlib.sha256(out["text"].encode()).hexdigest()[:16]
        attempts.append(Attempt(f"{step}:{task.id}:{i}", task.id, code_hash, reward,
                                status, out["policy_version"], step))
        solver_rewards.append(reward)
        result.samples.append(_sample("solver", f"{step}:solve:{out['prompt_index']}", out,
                                      reward, step, task.id, status))
        provenance.append(Provenance.policy(run_id, out["policy_version"], (task.id,)))

    # 3. Score proposals: learnability of valid new tasks, penalties for the rest.
    proposal_counts: Counter = Counter()
    for out, (kind, reason), draft in zip(proposals, proposal_status, drafts, strict=True):
        if kind == "format":
            reward, status, task_id = r.format_penalty, f"format:{reason}", None
        else:
            task = by_id.get(draft.id)
            task_id = draft.id
            if task is None:  # filtered as a duplicate of an existing task
                reward, status = r.invalid_penalty, "duplicate"
            elif not task.valid:
                reward, status = r.invalid_penalty, f"rejected:{task.reason}"
            else:
                solved = per_task.get(task.id, [])
                rate = sum(solved) / len(solved) if solved else None
                reward, status = learnability(rate), "valid"
        proposal_counts[status.split(":")[0]] += 1
        result.samples.append(_sample("proposer", f"{step}:propose:{out['prompt_index']}", out,
                                      reward, step, task_id, status))
        provenance.append(Provenance.policy(run_id, out["policy_version"],
                                            parents[out["prompt_index"]]))

    with store.transaction(step=step, summary=_summary(vetted, format_reasons, proposal_counts,
                                                       solve_counts, solver_rewards)):
        record(store, vetted)
        for reason, n in format_reasons.items():
            store.count_filtered("format", reason, n)
        for attempt in attempts:
            store.add_attempt(attempt)
        for i, (sample, prov) in enumerate(zip(result.samples, provenance, strict=True)):
            store.add_sample(Sample(f"{sample.group}:{i}", step, sample.role, sample.task_id,
                                    prov))
    result.summary = store.steps()[-1][2]
    clock.lap("record")
    return result


class _StageClock:
    """Wall time since the previous lap, stored under each stage's name."""

    def __init__(self, into: dict[str, float]):
        self.into, self.last = into, time.monotonic()

    def lap(self, stage: str) -> None:
        now = time.monotonic()
        self.into[stage] = now - self.last
        self.last = now


def _sample(role: str, group: str, out: dict, reward: float, step: int, task_id: str | None,
            status: str) -> RolloutSample:
    return RolloutSample(role, group, out["prompt_ids"], out["completion_ids"], out["logprobs"],
                         reward, out["policy_version"], step, task_id, out["finish_reason"],
                         status)


def _summary(vetted: Vetted, format_reasons: Counter, proposals: Counter, solves: Counter,
             solver_rewards: list[float]) -> dict[str, Any]:
    return {
        "proposals": dict(proposals),
        "format_reasons": dict(format_reasons),
        "filtered": dict(vetted.filtered),
        "rejected": dict(vetted.rejected),
        "new_valid_tasks": vetted.valid,
        "solutions": dict(solves),
        "solver_reward_mean": sum(solver_rewards) / len(solver_rewards) if solver_rewards else 0.0,
    }

