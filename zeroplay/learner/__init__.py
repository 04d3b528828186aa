"""The learner: TRL GRPO on the actors' samples, the SFT warm start, checkpoints.

Modules: `grpo` (the trainer fed by a SampleFeed, behaviour log-prob correction),
`warmstart` (SFT on synthetic tasks), `checkpoint` (atomic checkpoints, publishing),
`actor` (the LearnerActor that runs it all on Ray).
"""
