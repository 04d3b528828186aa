"""Named crash points, for the crash tests: with `ZEROPLAY_CRASH_AT=<point>:<n>` in its
environment, a process of a run that reaches `<point>` for the n-th time kills, with
SIGKILL, every process of its session (the driver, Ray and the actors it started), as a
power loss or `kill -9` of the run would. Unset, as it always is outside those tests, a
crash point costs one dictionary lookup.

The points, in the order a step meets them: `warm-start` (the learner, between the warm
start's two phases), `generation` (the driver, proposals generated), `validation` (the
driver, drafts validated, nothing judged), `learner-update` (the learner, in the middle of
an update: gradients applied, the version not published), `store-write` (the driver,
inside a step's store transaction), `metrics-write` (the driver, the step stored, its
metrics row not yet written), `checkpoint-write` (the learner, the weights written, the
checkpoint's state file not yet) and `snapshot-write` (the driver, the snapshot's store
copied, the snapshot not yet marked whole). Counts are per process.

The env variable is read once per process; Ray workers inherit it from the driver.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

from zeroplay.errors import ConfigError

ENV = "ZEROPLAY_CRASH_AT"
POINTS = ("warm-start", "generation", "validation", "learner-update", "store-write",
          "metrics-write", "checkpoint-write", "snapshot-write")
_reached: Counter[str] = Counter()


def _target() -> tuple[str, int] | None:
    value = os.environ.get(ENV, "")
    if not value:
        return None
    point, _, n = value.partition(":")
    if point not in POINTS or not n.isdigit():
        raise ConfigError(f"{ENV}={value!r}: expected <point>:<n> with a point among "
                          f"{', '.join(POINTS)}; unset it outside the crash tests")
    return point, int(n)


def crash_point(point: str) -> None:
    """Kill this process's session if `ZEROPLAY_CRASH_AT` names this point and this is
    the n-th time this process reached it."""
    target = _target()
    if target is None or target[0] != point:
        return
    _reached[point] += 1
    if _reached[point] == target[1]:
        _kill_session()


def _kill_session() -> None:
    session, me = os.getsid(0), os.getpid()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != me:
            try:
                if os.getsid(int(entry)) == session:
                    os.kill(int(entry), signal.SIGKILL)
            except OSError:  # gone already, or not ours
                pass
    os.kill(me, signal.SIGKILL)
