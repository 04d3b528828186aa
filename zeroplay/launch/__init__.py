"""Launching and watching runs: the CLI, the self-play loop, Ray jobs, run directories.

Modules: `cli` (and `cli_*`: the typer commands), `run` (from a config to a run
directory), `loop` (seed, warm start, steps with learning, checkpoints), `rundir`,
`progress` (the live display), `jobs` (Ray job submission).
"""
