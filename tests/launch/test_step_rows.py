"""The metrics row of a step carries the learner's record of each weight publish."""

import json
from types import SimpleNamespace

from zeroplay.handoff import LearnerStatus
from zeroplay.launch.step_rows import step_row
from zeroplay.launch.trackers import flatten


def test_a_step_row_carries_the_publishes_since_the_last_row():
    result = SimpleNamespace(samples=[SimpleNamespace(role="solver", reward=1.0,
                                                      policy_version=3)],
                             dropped=[], summary={}, seconds={"solve": 1.0})
    collective = {"version": 4, "via": "collective", "digest": "ab12",
                  "received": {"rollout-0": "ab12", "rollout-1": "ab12"}}
    fallback = {"version": 5, "via": "object_store", "digest": "cd34",
                "received": {"rollout-0": None}}
    status = LearnerStatus(5, 5, 0, 0, None, None, published=[collective, fallback],
                           published_index=5)
    row = step_row(2, result, status, 2.0, 10)
    assert row["learner"]["published"] == [collective, fallback]
    assert json.loads(json.dumps(row))["learner"]["published"][1]["received"] == {
        "rollout-0": None}
    assert not [key for key in flatten(row) if "published" in key]  # not a tracker scalar
