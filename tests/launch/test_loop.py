"""Pure parts of the self-play loop: when the proposer joins."""

from zeroplay.config import load_config
from zeroplay.launch.loop import proposer_on


class Steps:
    def __init__(self, summaries):
        self.summaries = summaries

    def steps(self):
        return [(i, 0.0, s) for i, s in enumerate(self.summaries)]


def test_the_proposer_waits_for_the_solver_then_stays():
    cfg = load_config(None, ["rollout.proposer_after_solve_rate=0.3"])
    seeded_only = Steps([{"seeded": 10}])
    assert not proposer_on(cfg, None, seeded_only)
    assert not proposer_on(cfg, 0.29, seeded_only)
    assert proposer_on(cfg, 0.3, seeded_only)
    proposed_before = Steps([{"seeded": 10}, {"proposals": {"format": 4}}])
    assert proposer_on(cfg, 0.1, proposed_before)  # a resumed run keeps proposing
    solver_only = Steps([{"seeded": 10}, {"proposals": {}}])
    assert not proposer_on(cfg, 0.1, solver_only)


def test_a_threshold_of_zero_always_proposes():
    cfg = load_config(None, ["rollout.proposer_after_solve_rate=0"])
    assert proposer_on(cfg, None, Steps([{"seeded": 1}]))
