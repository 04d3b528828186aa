"""Stage 2, propose: proposer prompts that fit, completions, and their parsed drafts.

    proposals = propose(rollouts, batch.references, cfg, run_id="demo")
    proposals[0].draft     # a TaskDraft, or None with proposals[0].reason saying why

Each prompt shows its example tasks; examples are dropped from the end until the prompt
fits `rollout.max_prompt_tokens` (token counts for every candidate length come back in
one call). Parsing never raises on model text: a failure is a reason, prefixed
`truncated:` when the completion was cut at `max_new_tokens`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from zeroplay.actors.parsing import parse_proposal
from zeroplay.actors.prompts import proposer_messages
from zeroplay.config import Config
from zeroplay.curricula.task import Provenance, Task, TaskDraft
from zeroplay.handoff import Completion


class Generates(Protocol):
    def generate(self, prompts: list, n: int, role: str) -> list[Completion]: ...

    def prompt_tokens(self, prompts: list) -> list[int]: ...


@dataclass(frozen=True)
class Proposal:
    completion: Completion
    parents: tuple[str, ...]  # ids of the example tasks its prompt showed
    draft: TaskDraft | None
    reason: str = ""  # why it did not parse


def fitting_references(rollouts: Generates, references: list[tuple[Task, ...]],
                       max_prompt_tokens: int) -> list[tuple[Task, ...]]:
    """For each prompt, the longest prefix of its examples whose prompt fits."""
    variants = [refs[:k] for refs in references for k in range(len(refs), -1, -1)]
    counts = iter(rollouts.prompt_tokens([proposer_messages(list(v)) for v in variants]))
    fitted = []
    for refs in references:
        lengths = [next(counts) for _ in range(len(refs) + 1)]  # longest first
        keep = next((len(refs) - i for i, n in enumerate(lengths) if n <= max_prompt_tokens), 0)
        fitted.append(refs[:keep])
    return fitted


def propose(rollouts: Generates, references: list[tuple[Task, ...]], cfg: Config,
            run_id: str) -> list[Proposal]:
    r = cfg.rollout
    if not references:
        return []
    fitted = fitting_references(rollouts, references, r.max_prompt_tokens)
    outs = rollouts.generate([proposer_messages(list(refs)) for refs in fitted],
                             r.num_generations, "proposer")
    proposals = []
    for out in outs:
        parents = tuple(t.id for t in fitted[out.prompt_index])
        parsed = parse_proposal(out.text, Provenance.policy(run_id, out.policy_version, parents))
        reason = parsed.reason
        if parsed.draft is None and out.finish_reason != "stop":
            reason = f"truncated:{reason}"
        proposals.append(Proposal(out, parents, parsed.draft, reason))
    return proposals
