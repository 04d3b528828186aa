import pytest

from zeroplay.curricula.store import Attempt, CurriculumStore
from zeroplay.curricula.task import Provenance, Task, TaskDraft
from zeroplay.handoff import TestCase, Validation


def make_task(i: int, *, kind: str = "int->int", origin: str = "seed-synth",
              heldout: bool = False, valid: bool = True, step: int = 0) -> Task:
    draft = TaskDraft(
        statement=f"Return x plus {i}.", entry_point="f", signature="def f(x: int) -> int",
        reference=f"def f(x):\n    return x + {i}\n", strategy="st.integers(0, 9)",
        provenance=Provenance(origin, "test", policy_version=0 if origin == "policy" else None),
        kind=kind, tags=("add",))
    tests = [TestCase([["i", x]], ["i", x + i], public=x == 0) for x in range(3)]
    validation = Validation(True, tests=tests) if valid else Validation.reject("trivial", "same")
    return Task.from_validation(draft, validation, step=step,
                               split="heldout-unseen" if heldout else "train")


def attempt(task_id: str, n: int, solved: bool, version: int = 0, step: int = 1) -> Attempt:
    return Attempt(f"{task_id}:{version}:{step}:{n}", task_id, f"h{n}", float(solved),
                   "pass" if solved else "fail", version, step)


@pytest.fixture
def store(tmp_path):
    with CurriculumStore.open(tmp_path / "curriculum.sqlite", create=True, run_id="t") as s:
        yield s
