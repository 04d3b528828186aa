import json

from zeroplay.curricula.task import Provenance, Task, TaskDraft, task_id
from zeroplay.handoff import Validation

from .conftest import make_task


def test_id_is_the_content_hash_of_program_and_inputs():
    a = task_id("f", "def f(x):\n    return x\n", "st.integers()")
    assert a == task_id("f", "def f(x):\n    return x\n", "st.integers()")
    assert a != task_id("f", "def f(x):\n    return x\n", "st.integers(0, 1)")
    assert a != task_id("g", "def f(x):\n    return x\n", "st.integers()")
    draft = TaskDraft("s", "f", "sig", "def f(x):\n    return x\n", "st.integers()",
                      Provenance("seed-synth", "r"))
    assert draft.id == a


def test_json_round_trip():
    task = make_task(3, heldout=True, step=4)
    again = Task.from_json(json.loads(json.dumps(task.to_json())))
    assert again == task
    assert again.public_tests and again.hidden_tests


def test_only_validation_makes_a_task_and_rejections_keep_the_reason():
    rejected = make_task(1, valid=False)
    assert rejected.status == "rejected" and rejected.reason == "trivial"
    assert rejected.tests == () and not rejected.valid
    draft = TaskDraft("s", "f", "sig", "src", "st.none()", Provenance("policy", "r", policy_version=2))
    task = Task.from_validation(draft, Validation(True, tests=[]), step=7)
    assert task.valid and task.step == 7 and task.provenance.policy_version == 2
