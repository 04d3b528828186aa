"""One self-play step as one module per stage of the data flow (docs/design.md).

    result = selfplay_step(store, fleet.rollouts, fleet.sandboxes, cfg, step=3, rng=rng)

Stages, in order: `sample` (references and solver tasks from the curriculum), `propose`
(proposer prompts, generation, parsing), `validate` (drafts in the sandbox), `solve`
(solver generation and parsing), `judge` (solutions in the sandbox), `score` (rewards
by `zeroplay.rewards`), `dynamic` (solver rounds until enough groups have unequal
rewards: DAPO's dynamic sampling), `groups` (samples and GRPO groups for the learner),
`record` (the step in the curriculum store, in one transaction). `step` runs them top
to bottom.
"""

from zeroplay.selfplay.step import StepResult, selfplay_step

__all__ = ["StepResult", "selfplay_step"]
