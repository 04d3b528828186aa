"""Stage 5, judge: every parsed solution run on its task's tests in the sandbox.

    verdicts = judge(sandboxes, solutions)   # one Verdict per solution, None if unparsed

The sandbox only runs code and returns values; verdicts are decided on the host
(`zeroplay.sandbox.verdicts`). Solutions that did not parse are not sent.
"""

from __future__ import annotations

from typing import Protocol

from zeroplay.handoff import Verdict
from zeroplay.selfplay.solve import Solution


class Judges(Protocol):
    def judge(self, candidates: list) -> list[Verdict]: ...


def judge(sandboxes: Judges, solutions: list[Solution]) -> list[Verdict | None]:
    sent = [i for i, s in enumerate(solutions) if s.code is not None]
    candidates = [(solutions[i].code, solutions[i].task.entry_point, list(solutions[i].task.tests))
                  for i in sent]
    verdicts: list[Verdict | None] = [None] * len(solutions)
    for i, verdict in zip(sent, sandboxes.judge(candidates) if candidates else [], strict=True):
        verdicts[i] = verdict
    return verdicts
