"""Stage 7, groups: the step's scored completions as samples and GRPO groups for the learner.

    samples = to_samples("solver", [(s.completion, score) ...], step=3)
    as_groups(samples)   # lists of num_generations samples that share one prompt

A group is every completion of one prompt (one role, one policy version), so its
advantage baseline is that prompt's own. The learner takes groups whole.
"""

from __future__ import annotations

from collections.abc import Iterable

from zeroplay.handoff import Completion, Role, RolloutSample
from zeroplay.selfplay.score import Score


def to_samples(role: Role, scored: Iterable[tuple[Completion, Score]], step: int
               ) -> list[RolloutSample]:
    return [RolloutSample(role, f"{step}:{role}:{out.prompt_index}", out.prompt_ids,
                          out.completion_ids, out.logprobs, score.reward, out.policy_version,
                          step, score.task_id, out.finish_reason, score.status)
            for out, score in scored]


def as_groups(samples: Iterable[RolloutSample]) -> list[list[RolloutSample]]:
    """The samples as GRPO groups (all completions of one prompt), in order."""
    by_group: dict[str, list[RolloutSample]] = {}
    for sample in samples:
        by_group.setdefault(sample.group, []).append(sample)
    return list(by_group.values())
