"""The sandbox: every piece of model-written code runs here, and only here.

    with SandboxPool(cfg.sandbox) as pool:
        v = validate_draft(pool, "f", reference, "st.integers(0, 9)", cfg.sandbox)
        verdict = judge(pool, candidate, "f", v.tests, cfg.sandbox)

Modules: `image` (offline image build), `engine` (Docker connection), `pool` (warm
hardened containers), `supervisor` (what runs inside them), `codec` (type-tagged values
and their strict comparison, shared by host and container), `strategies` (the input DSL,
drawn on the host), `validate` (task drafts), `judge` (host-side verdicts), `batch`
(many at once), `selftest` (the adversarial suite).

Isolation is Docker's: namespaces, cgroups, no network, read-only root, no capabilities,
seccomp, under the host kernel (use the gVisor runtime for a separate kernel). Inputs
are drawn and outputs judged on the host; the container only returns values.
"""
