import dataclasses
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from zeroplay.curricula import store as store_mod
from zeroplay.curricula.export import export, import_jsonl
from zeroplay.curricula.programs import normalized_hash, shape_hash
from zeroplay.curricula.store import CurriculumStore, Sample, Solution, StoreError
from zeroplay.curricula.task import Provenance

from .conftest import attempt, make_task


def test_tasks_round_trip_and_dedup(store):
    task = make_task(1)
    with store.transaction(step=1):
        assert store.add_task(task) is True
        assert store.add_task(task) is False
        assert store.add_task(make_task(2, valid=False)) is True
    assert store.get_task(task.id) == task
    assert [t.id for t in store.tasks(status="valid")] == [task.id]
    assert store.group_counts("status") == {"valid": 1, "rejected": 1}
    assert store.get_task(task.id[:6]).id == task.id  # unique prefix


def test_attempts_are_idempotent_and_make_stats(store):
    task = make_task(1)
    with store.transaction(step=1):
        store.add_task(task)
        for n, solved in enumerate([True, False, False, True]):
            assert store.add_attempt(attempt(task.id, n, solved))
        assert not store.add_attempt(attempt(task.id, 0, True))  # recorded once only
    stats = store.get_task(task.id).stats
    assert (stats.attempts, stats.solves, stats.solve_rate, stats.learnability) == (4, 2, 0.5, 0.5)


def test_a_few_solution_texts_are_kept_per_task_and_verdict(store):
    task = make_task(1)
    kept = store_mod.SOLUTIONS_KEPT
    with store.transaction(step=1):
        store.add_task(task)
        added = [store.add_solution(Solution(task.id, f"p{n}", "pass", 1.0, 1, f"pass {n}"))
                 for n in range(kept + 2)]
        added += [store.add_solution(Solution(task.id, f"f{n}", "fail:wrong", 0.0, 1,
                                              "x" * (store_mod.MAX_SOLUTION_TEXT + 9)))
                  for n in range(kept + 1)]
        assert not store.add_solution(Solution(task.id, "p0", "pass", 1.0, 2, "again"))
    assert added == [True] * kept + [False] * 2 + [True] * kept + [False]
    texts = store.solutions(task.id)
    assert sorted(s.status for s in texts) == ["fail:wrong"] * kept + ["pass"] * kept
    assert {len(s.text) for s in texts if s.status != "pass"} == {store_mod.MAX_SOLUTION_TEXT}
    assert store.solutions("nope") == []


def test_stats_window_counts_recent_policy_versions_only(store):
    task = make_task(1)
    with store.transaction():
        store.add_task(task)
        for version, solved in enumerate([False, False, True, True, True]):
            store.add_attempt(attempt(task.id, 0, solved, version=version, step=version))
    assert store.get_task(task.id, window=2).stats.solve_rate == 1.0  # versions 3 and 4
    assert store.get_task(task.id, window=5).stats.solve_rate == pytest.approx(0.6)
    assert store.get_task(task.id).stats.attempts == 5


def test_writes_need_a_transaction_and_roll_back_together(store):
    with pytest.raises(RuntimeError, match="inside store.transaction"):
        store.add_task(make_task(1))
    with pytest.raises(ValueError), store.transaction(step=1):
        store.add_task(make_task(1))
        raise ValueError("crash in the middle of a step")
    assert store.tasks() == [] and store.steps() == []


def test_readonly_store_refuses_writes(store):
    with CurriculumStore.open(store.path, readonly=True) as ro, pytest.raises(StoreError), \
            ro.transaction():
        pass


def test_samples_keep_provenance(store):
    prov = Provenance.policy("t", 3, ("a", "b"))
    with store.transaction():
        assert store.add_sample(Sample("s1", 2, "solver", None, prov))
        assert not store.add_sample(Sample("s1", 2, "solver", None, prov))
    assert store.samples() == [Sample("s1", 2, "solver", None, prov)]


WRITER = """
import os, signal, sys
sys.path.insert(0, {root!r})
from tests.curricula.conftest import make_task
from zeroplay.curricula.store import CurriculumStore
s = CurriculumStore.open({path!r}, create=True, run_id="crash")
for step in (1, 2, 3):
    with s.transaction(step=step):
        for i in range(10):
            s.add_task(make_task(step * 100 + i, step=step))
with s.transaction(step=4):
    for i in range(10):
        s.add_task(make_task(400 + i, step=4))
        if i == 5:
            os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_writer_killed_mid_step_loses_only_that_step(tmp_path):
    path = tmp_path / "curriculum.sqlite"
    root = str(__import__("pathlib").Path(__file__).resolve().parents[2])
    proc = subprocess.run([sys.executable, "-c", WRITER.format(root=root, path=str(path))])
    assert proc.returncode == -9
    with CurriculumStore.open(path) as s:
        assert s.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert [step for step, _, _ in s.steps()] == [1, 2, 3]
        assert sorted({t.step for t in s.tasks()}) == [1, 2, 3]
        assert len(s.tasks()) == 30
        with s.transaction(step=4):  # and the store keeps working
            s.add_task(make_task(999, step=4))


def test_concurrent_reader_sees_whole_steps_only(tmp_path):
    path = tmp_path / "curriculum.sqlite"
    CurriculumStore.open(path, create=True).close()
    done = threading.Event()

    def write():
        with CurriculumStore.open(path) as s:
            for step in range(1, 31):
                with s.transaction(step=step):
                    for i in range(5):
                        s.add_task(make_task(step * 10 + i, step=step))
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    seen = []
    with CurriculumStore.open(path, readonly=True) as reader:
        while not done.is_set() or len(seen) < 2:
            with reader.conn:  # one read snapshot
                reader.conn.execute("BEGIN")
                tasks = reader.count()
                steps = len(reader.steps())
                reader.conn.execute("COMMIT")
            assert tasks == 5 * steps
            seen.append(steps)
            time.sleep(0.001)
        writer.join()
        assert len(reader.steps()) == 30 and reader.count() == 150
    assert seen == sorted(seen) and len(seen) > 2


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "curriculum.sqlite"
    CurriculumStore.open(path, create=True).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match="schema version 99, written by a newer zeroplay"):
        CurriculumStore.open(path)


def test_older_schema_is_migrated(tmp_path, monkeypatch):
    path = tmp_path / "curriculum.sqlite"
    with CurriculumStore.open(path, create=True) as s, s.transaction():
        s.add_task(make_task(1))
    newer = store_mod.SCHEMA_VERSION + 1
    monkeypatch.setattr(store_mod, "SCHEMA_VERSION", newer)
    monkeypatch.setitem(store_mod.MIGRATIONS, newer - 1,
                        ["ALTER TABLE tasks ADD COLUMN note TEXT"])
    with CurriculumStore.open(path) as s:
        assert s.conn.execute("PRAGMA user_version").fetchone()[0] == newer
        assert "note" in [r[1] for r in s.conn.execute("PRAGMA table_info(tasks)")]
        assert len(s.tasks()) == 1


def test_a_schema_2_store_gets_splits_and_program_shapes(tmp_path):
    path = tmp_path / "curriculum.sqlite"
    held = dataclasses.replace(make_task(2, heldout=True), reference="def f(x):\n    return x * 2\n")
    with CurriculumStore.open(path, create=True) as s, s.transaction():
        s.add_task(make_task(1))
        s.add_task(held)
        s.add_task(make_task(3, valid=False))
    conn = sqlite3.connect(path)  # back to schema 2, as an older zeroplay wrote it
    conn.execute("DROP TABLE trained_programs")
    conn.execute("DROP INDEX tasks_by_shape_hash")
    conn.execute("ALTER TABLE tasks DROP COLUMN shape_hash")
    conn.execute("ALTER TABLE tasks DROP COLUMN split")
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    with CurriculumStore.open(path) as s:
        assert s.has_shape(shape_hash("def g(y):\n    return y + 7\n"), "train")
        assert s.has_shape(shape_hash(held.reference), "heldout-unseen")
        assert not s.has_shape(shape_hash(make_task(1).reference), "heldout-unseen")
        assert s.conn.execute("SELECT shape_hash FROM tasks WHERE status = 'rejected'"
                              ).fetchone() == (None,)


def test_a_trained_program_is_known_by_its_program_and_its_shape(store):
    reference = "def f(xs):\n    return sorted(xs)[:3]\n"
    with store.transaction():
        assert store.add_trained_program(reference)
        assert not store.add_trained_program(reference.replace("xs", "v"))  # the same
    assert store.has_trained_program(normalized_hash("def g(a):\n    return sorted(a)[:3]"))
    assert store.has_shape(shape_hash("def g(a):\n    return sorted(a)[:9]"))
    assert not store.has_shape(shape_hash("def g(a):\n    return sorted(a)[:9]"), "train")
    assert store.tasks() == []  # not a curriculum task


@pytest.mark.parametrize("content", [b"not a database at all" * 100, None])
def test_a_file_that_is_not_a_store_is_refused(tmp_path, content):
    path = tmp_path / "curriculum.sqlite"
    if content is None:
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE other (x)")
        conn.close()
    else:
        path.write_bytes(content)
    with pytest.raises(StoreError, match="not a zeroplay curriculum store"):
        CurriculumStore.open(path)


def test_missing_store(tmp_path):
    with pytest.raises(StoreError, match="no curriculum store"):
        CurriculumStore.open(tmp_path / "nope.sqlite")


def test_export_and_import(tmp_path, store):
    with store.transaction():
        for i in range(3):
            store.add_task(make_task(i))
        store.add_task(make_task(9, valid=False))
        store.add_attempt(attempt(make_task(0).id, 0, True))
    assert export(store, tmp_path / "c.jsonl", "jsonl") == 4
    assert export(store, tmp_path / "c.parquet", "parquet") == 4
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "c.parquet")
    assert table.num_rows == 4 and set(table.column("status").to_pylist()) == {"valid", "rejected"}
    assert table.column("attempts").to_pylist().count(1) == 1
    with CurriculumStore.open(tmp_path / "other.sqlite", create=True) as other:
        with other.transaction():
            assert import_jsonl(other, tmp_path / "c.jsonl", step=0) == 4
            assert import_jsonl(other, tmp_path / "c.jsonl", step=0) == 0  # dedup
        assert {t.id for t in other.tasks()} == {t.id for t in store.tasks()}
        assert all(t.stats.attempts == 0 for t in other.tasks())  # stats start fresh
        assert other.get_task(make_task(1).id).tests == make_task(1).tests
