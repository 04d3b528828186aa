"""The policy and the Ray actors around it.

Modules: `policy` (loading, the tiny from-scratch model), `generation` (sampling with
behaviour log-probs), `prompts` and `parsing` (the proposer and solver text formats),
`ray_actors` (RolloutActor, SandboxActor, WeightStore), `group` (placing and calling
the members of one role), `fleet` (the rollout and sandbox groups of a run, on Ray or in
process), `runtime` (joining or starting Ray, checking that the actors fit).
"""
