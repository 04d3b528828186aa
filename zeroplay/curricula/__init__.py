"""The curriculum: task schema, seed synthesizer, filters, admission, the store, sampling.

Modules: `task` (Task, TaskDraft, Provenance), `synth` (the seed synthesizer), `filters`
(generation-time filters), `admit` (filter, validate and record drafts), `store` (the
SQLite task store with attempts and samples), `sampling` (what each step shows),
`stats`, `export` and `report` (inspection).
"""
