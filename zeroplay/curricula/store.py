"""The curriculum store: one SQLite file per run (curriculum.sqlite, WAL mode).

    with CurriculumStore.open(run.curriculum_path, create=True, run_id="demo") as s:
        with s.transaction(step=3):               # one self-play step = one transaction
            s.add_task(task)                        # False if its id is already there
            s.add_attempt(Attempt("3:a:0", task.id, "ab12", 1.0, "pass", 0, 3))
        s.tasks(status="valid"), s.get_task(task_id), s.stats(window=4)

It holds tasks (valid, and rejected drafts with their reasons), attempts, the texts of a
few judged solutions per task (for reports), training samples with their provenance,
per-step records, filter counts, and the hashes of programs trained on outside the
curriculum (the warm start's fresh tasks). Every write happens inside a transaction, so a
crash loses at most the step in flight and never leaves a half-written step; adding
the same task, attempt or sample twice is a no-op (Ray may run a call more than once).
Readers (the CLI, while a run writes) open the file read-only and see the last committed
step. The schema is versioned (PRAGMA user_version): an older store is migrated on open,
a newer one is refused with a clear error.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from zeroplay.curricula.programs import normalized_hash, shape_hash
from zeroplay.curricula.task import Provenance, Task, TaskStats
from zeroplay.errors import ZeroplayError

FORMAT = "zeroplay-curriculum"
SCHEMA_VERSION = 3
SOLUTIONS_KEPT = 2  # texts kept per task and verdict (pass / not pass), for reports
MAX_SOLUTION_TEXT = 4000  # characters of a kept solution text


def _fill_shapes(conn: sqlite3.Connection) -> None:
    """Schema 3: every task's split, and every valid task's program shape."""
    rows = conn.execute("SELECT id, status, data FROM tasks").fetchall()
    for task_id, status, data in rows:
        task = json.loads(data)
        shape = shape_hash(task["reference"]) if status == "valid" else None
        conn.execute("UPDATE tasks SET split = ?, shape_hash = ? WHERE id = ?",
                     (task.get("split", "train"), shape, task_id))


# MIGRATIONS[v] brings a store from schema v to v + 1: SQL, or a function of the
# connection for what SQL cannot compute.
MIGRATIONS: dict[int, list[str | Callable[[sqlite3.Connection], None]]] = {
    0: [
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE tasks (
            id TEXT PRIMARY KEY,
            status TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            origin TEXT NOT NULL,
            kind TEXT NOT NULL,
            heldout INTEGER NOT NULL DEFAULT 0,
            step INTEGER NOT NULL,
            created_at REAL NOT NULL,
            norm_hash TEXT,
            data TEXT NOT NULL)""",
        "CREATE INDEX tasks_by_status ON tasks (status, heldout)",
        "CREATE INDEX tasks_by_norm_hash ON tasks (norm_hash)",
        """CREATE TABLE attempts (
            id TEXT PRIMARY KEY,
            task_id TEXT NOT NULL REFERENCES tasks (id),
            solution_hash TEXT NOT NULL,
            reward REAL NOT NULL,
            status TEXT NOT NULL,
            policy_version INTEGER NOT NULL,
            step INTEGER NOT NULL,
            created_at REAL NOT NULL)""",
        "CREATE INDEX attempts_by_task ON attempts (task_id, policy_version)",
        """CREATE TABLE samples (
            id TEXT PRIMARY KEY,
            step INTEGER NOT NULL,
            role TEXT NOT NULL,
            task_id TEXT,
            origin TEXT NOT NULL,
            provenance TEXT NOT NULL)""",
        """CREATE TABLE steps (
            step INTEGER PRIMARY KEY,
            finished_at REAL NOT NULL,
            data TEXT NOT NULL)""",
        """CREATE TABLE filter_counts (
            filter TEXT NOT NULL,
            reason TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (filter, reason))""",
    ],
    1: [
        """CREATE TABLE solutions (
            task_id TEXT NOT NULL REFERENCES tasks (id),
            solution_hash TEXT NOT NULL,
            status TEXT NOT NULL,
            reward REAL NOT NULL,
            step INTEGER NOT NULL,
            text TEXT NOT NULL,
            PRIMARY KEY (task_id, solution_hash))""",
    ],
    2: [
        "ALTER TABLE tasks ADD COLUMN shape_hash TEXT",
        "ALTER TABLE tasks ADD COLUMN split TEXT NOT NULL DEFAULT 'train'",
        "CREATE INDEX tasks_by_shape_hash ON tasks (shape_hash, split)",
        _fill_shapes,
        """CREATE TABLE trained_programs (
            norm_hash TEXT PRIMARY KEY,
            shape_hash TEXT)""",
        "CREATE INDEX trained_programs_by_shape ON trained_programs (shape_hash)",
    ],
}


class StoreError(ZeroplayError):
    """A curriculum store that is missing, not a zeroplay store, of another version, or
    damaged."""


def integrity_problems(path: Path) -> list[str]:
    """What SQLite's integrity check finds wrong with the store at `path` ([]: none); a
    file that is not SQLite at all, or cannot be read, is one problem."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            found = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return [f"{exc}"]
    return [] if found == ["ok"] else found


def damaged(path: Path, problem: str) -> StoreError:
    """The one-line error every command gives for a damaged store, with the way out."""
    return StoreError(f"{path} is damaged ({problem}); `zeroplay curriculum check "
                      f"{path.parent}` shows what is wrong and which snapshots are whole, and "
                      f"`zeroplay run --resume {path.parent}` restores the newest whole one")


@dataclass(frozen=True)
class Attempt:
    """One judged solution. `id` makes recording idempotent (e.g. "step:group:index")."""

    id: str
    task_id: str
    solution_hash: str
    reward: float
    status: str
    policy_version: int
    step: int


@dataclass(frozen=True)
class Solution:
    """The text of a judged solution, kept for reading (reports), never for training."""

    task_id: str
    solution_hash: str
    status: str
    reward: float
    step: int
    text: str


@dataclass(frozen=True)
class Sample:
    """One training sample and where its text came from."""

    id: str
    step: int
    role: str  # "proposer", "solver" or "sft"
    task_id: str | None
    provenance: Provenance


class CurriculumStore:
    def __init__(self, conn: sqlite3.Connection, path: Path, readonly: bool):
        self.conn = conn
        self.path = path
        self.readonly = readonly
        self._in_transaction = False

    # --- opening ------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, *, create: bool = False, readonly: bool = False,
             run_id: str = "") -> CurriculumStore:
        """Open (or with `create`, make) a store; migrate an older schema."""
        path = Path(path)
        if not path.exists():
            if not create:
                raise StoreError(f"no curriculum store at {path}")
            path.parent.mkdir(parents=True, exist_ok=True)
        version = _schema_version(path) if path.exists() else 0
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{path} has schema version {version}, written by a newer zeroplay; this "
                f"version reads up to {SCHEMA_VERSION}: upgrade zeroplay to read it"
            )
        if version < SCHEMA_VERSION:
            conn = _connect(path, readonly=False)
            try:
                _migrate(conn, version, run_id)
            finally:
                conn.close()
        conn = _connect(path, readonly=readonly)
        store = cls(conn, path, readonly)
        if store.meta("format") != FORMAT:
            conn.close()
            raise StoreError(f"{path} is not a zeroplay curriculum store")
        return store

    def close(self) -> None:
        self.conn.close()

    def snapshot(self, dest: Path) -> Path:
        """A consistent copy of the store (SQLite's online backup, taken between two
        transactions) written to `dest` through a temporary file renamed into place."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.tmp")
        tmp.unlink(missing_ok=True)
        target = sqlite3.connect(tmp)
        try:
            self.conn.backup(target)
            target.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        finally:
            target.close()
        os.replace(tmp, dest)
        return dest

    def __enter__(self) -> CurriculumStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    # --- writing ------------------------------------------------------------------------

    @contextmanager
    def transaction(self, step: int | None = None, summary: dict | None = None
                    ) -> Iterator[CurriculumStore]:
        """All writes inside commit together or not at all; with `step`, the step is
        recorded as finished in the same transaction."""
        if self.readonly:
            raise StoreError(f"{self.path} was opened read-only")
        if self._in_transaction:
            raise RuntimeError("transactions do not nest")
        self._in_transaction = True
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            yield self
            if step is not None:
                self.conn.execute(
                    "INSERT OR REPLACE INTO steps (step, finished_at, data) VALUES (?, ?, ?)",
                    (step, time.time(), json.dumps(summary or {})))
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        finally:
            self._in_transaction = False

    def _write(self, sql: str, args: tuple) -> int:
        if not self._in_transaction:
            raise RuntimeError("store writes must happen inside store.transaction()")
        return self.conn.execute(sql, args).rowcount

    def add_task(self, task: Task) -> bool:
        """Insert a task (valid or rejected); False if a task with its id exists. A valid
        one is indexed by its program's hashes (`zeroplay.curricula.programs`), so copies
        and shapes are found by content."""
        data = task.to_json()
        data.pop("stats")
        norm_hash, shape = ((normalized_hash(task.reference), shape_hash(task.reference))
                            if task.valid else (None, None))
        return bool(self._write(
            "INSERT OR IGNORE INTO tasks (id, status, reason, origin, kind, heldout, split, "
            "step, created_at, norm_hash, shape_hash, data) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (task.id, task.status, task.reason, task.provenance.origin, task.kind,
             int(task.heldout), task.split, task.step, task.provenance.created_at, norm_hash,
             shape, json.dumps(data)),
        ))

    def add_trained_program(self, reference: str) -> bool:
        """Note a program the policy was trained on outside the curriculum (the warm
        start's fresh tasks): a proposal of it is a copy, and its shape is not new."""
        return bool(self._write(
            "INSERT OR IGNORE INTO trained_programs (norm_hash, shape_hash) VALUES (?, ?)",
            (normalized_hash(reference), shape_hash(reference))))

    def add_attempt(self, attempt: Attempt) -> bool:
        return bool(self._write(
            "INSERT OR IGNORE INTO attempts (id, task_id, solution_hash, reward, status, "
            "policy_version, step, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (attempt.id, attempt.task_id, attempt.solution_hash, attempt.reward,
             attempt.status, attempt.policy_version, attempt.step, time.time()),
        ))

    def add_solution(self, solution: Solution) -> bool:
        """Keep a solution's text while its task has fewer than SOLUTIONS_KEPT of the same
        verdict (passing, or not) and not this one; False if not kept. Bounded per task,
        so a long run's store grows with its tasks, not with its attempts."""
        passed = solution.status == "pass"
        return bool(self._write(
            "INSERT OR IGNORE INTO solutions (task_id, solution_hash, status, reward, step, "
            "text) SELECT ?, ?, ?, ?, ?, ? WHERE (SELECT COUNT(*) FROM solutions WHERE "
            "task_id = ? AND (status = 'pass') = ?) < ?",
            (solution.task_id, solution.solution_hash, solution.status, solution.reward,
             solution.step, solution.text[:MAX_SOLUTION_TEXT], solution.task_id, passed,
             SOLUTIONS_KEPT),
        ))

    def add_sample(self, sample: Sample) -> bool:
        return bool(self._write(
            "INSERT OR IGNORE INTO samples (id, step, role, task_id, origin, provenance) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (sample.id, sample.step, sample.role, sample.task_id, sample.provenance.origin,
             json.dumps(sample.provenance.to_json())),
        ))

    def count_filtered(self, filter_name: str, reason: str, n: int = 1) -> None:
        self._write(
            "INSERT INTO filter_counts (filter, reason, count) VALUES (?, ?, ?) "
            "ON CONFLICT (filter, reason) DO UPDATE SET count = count + excluded.count",
            (filter_name, reason, n),
        )

    # --- reading ------------------------------------------------------------------------

    def get_task(self, task_id: str, window: int | None = None) -> Task:
        """The task with this id, or with this unique id prefix."""
        rows = self.conn.execute("SELECT data FROM tasks WHERE id = ? OR id LIKE ? || '%' "
                                 "ORDER BY id = ? DESC LIMIT 2",
                                 (task_id, task_id.replace("%", ""), task_id)).fetchall()
        if not rows or (len(rows) > 1 and json.loads(rows[0][0])["id"] != task_id):
            why = "several tasks start with" if rows else "no task with id"
            raise StoreError(f"{why} {task_id!r} in {self.path}")
        task = Task.from_json(json.loads(rows[0][0]))
        task_id = task.id
        return task.with_stats(self.stats(window, [task_id]).get(task_id, TaskStats()))

    def has_task(self, task_id: str) -> bool:
        return self.conn.execute("SELECT 1 FROM tasks WHERE id = ?", (task_id,)).fetchone() \
            is not None

    def has_norm_hash(self, norm_hash: str) -> bool:
        return self.conn.execute(
            "SELECT 1 FROM tasks WHERE norm_hash = ? AND status = 'valid'", (norm_hash,)
        ).fetchone() is not None

    def has_trained_program(self, norm_hash: str) -> bool:
        return self.conn.execute("SELECT 1 FROM trained_programs WHERE norm_hash = ?",
                                 (norm_hash,)).fetchone() is not None

    def has_shape(self, shape_hash: str, split: str | None = None) -> bool:
        """Whether a valid task (of `split`), or with no split given a trained program,
        has this program shape."""
        if split is not None:
            return self.conn.execute(
                "SELECT 1 FROM tasks WHERE shape_hash = ? AND status = 'valid' AND split = ?",
                (shape_hash, split)).fetchone() is not None
        return self.conn.execute(
            "SELECT 1 FROM tasks WHERE shape_hash = ? AND status = 'valid' UNION ALL "
            "SELECT 1 FROM trained_programs WHERE shape_hash = ?",
            (shape_hash, shape_hash)).fetchone() is not None

    def tasks(self, *, status: str | None = None, origin: str | None = None,
              heldout: bool | None = None, split: str | None = None,
              window: int | None = None) -> list[Task]:
        """Tasks matching the filters, with stats over the last `window` policy versions."""
        where, args = [], []
        for column, value in (("status", status), ("origin", origin)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if heldout is not None:
            where.append("heldout = ?")
            args.append(int(heldout))
        sql = "SELECT data FROM tasks" + (" WHERE " + " AND ".join(where) if where else "")
        rows = self.conn.execute(sql + " ORDER BY created_at, id", args)
        tasks = [Task.from_json(json.loads(row[0])) for row in rows]
        if split is not None:
            tasks = [t for t in tasks if t.split == split]
        stats = self.stats(window)
        return [t.with_stats(stats.get(t.id, TaskStats())) for t in tasks]

    def latest_policy_version(self) -> int | None:
        return self.conn.execute("SELECT MAX(policy_version) FROM attempts").fetchone()[0]

    def stats(self, window: int | None = None, ids: list[str] | None = None
              ) -> dict[str, TaskStats]:
        """Per-task attempts and solves, counting only the last `window` policy versions."""
        where, args = [], []
        if window is not None:
            latest = self.latest_policy_version()
            if latest is not None:
                where.append("policy_version > ?")
                args.append(latest - window)
        if ids is not None:
            where.append(f"task_id IN ({', '.join('?' * len(ids))})")
            args.extend(ids)
        sql = ("SELECT task_id, COUNT(*), SUM(status = 'pass'), MAX(step) FROM attempts"
               + (" WHERE " + " AND ".join(where) if where else "") + " GROUP BY task_id")
        return {tid: TaskStats(n, int(solves or 0), last)
                for tid, n, solves, last in self.conn.execute(sql, args)}

    def attempts(self, task_id: str) -> list[Attempt]:
        rows = self.conn.execute(
            "SELECT id, task_id, solution_hash, reward, status, policy_version, step "
            "FROM attempts WHERE task_id = ? ORDER BY step, id", (task_id,))
        return [Attempt(*row) for row in rows]

    def solutions(self, task_id: str) -> list[Solution]:
        rows = self.conn.execute(
            "SELECT task_id, solution_hash, status, reward, step, text FROM solutions "
            "WHERE task_id = ? ORDER BY step, solution_hash", (task_id,))
        return [Solution(*row) for row in rows]

    def samples(self) -> list[Sample]:
        rows = self.conn.execute("SELECT id, step, role, task_id, provenance FROM samples "
                                 "ORDER BY step, id")
        return [Sample(i, s, r, t, Provenance.from_json(json.loads(p))) for i, s, r, t, p in rows]

    def steps(self) -> list[tuple[int, float, dict]]:
        rows = self.conn.execute("SELECT step, finished_at, data FROM steps ORDER BY step")
        return [(s, f, json.loads(d)) for s, f, d in rows]

    def filter_counts(self) -> dict[tuple[str, str], int]:
        rows = self.conn.execute("SELECT filter, reason, count FROM filter_counts")
        return {(f, r): c for f, r, c in rows}

    def count(self, sql_where: str = "", args: tuple = ()) -> int:
        sql = "SELECT COUNT(*) FROM tasks" + (f" WHERE {sql_where}" if sql_where else "")
        return self.conn.execute(sql, args).fetchone()[0]

    def group_counts(self, column: str) -> dict[str, int]:
        assert column in ("status", "origin", "reason", "kind", "step")
        rows = self.conn.execute(f"SELECT {column}, COUNT(*) FROM tasks GROUP BY {column}")
        return dict(rows)

    # --- export / import ----------------------------------------------------------------

    def export_rows(self) -> list[dict[str, Any]]:
        return [t.to_json() for t in self.tasks()]

    def import_tasks(self, rows: list[dict[str, Any]], step: int = 0,
                     on_error: Callable[[int, str], None] | None = None) -> int:
        """Insert tasks exported from another store (stats start fresh); returns how many
        were new. Must be called inside a transaction."""
        added = 0
        for number, row in enumerate(rows, start=1):
            try:
                task = Task.from_json(row)
            except (KeyError, TypeError, ValueError) as exc:
                if on_error:
                    on_error(number, f"not a task: {exc!r}")
                continue
            added += self.add_task(replace(task, step=step))
        return added


def _connect(path: Path, readonly: bool) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                               check_same_thread=False, timeout=30)
    else:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _schema_version(path: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0 and conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]:
                raise StoreError(f"{path} is not a zeroplay curriculum store")
            return version
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is not a zeroplay curriculum store ({exc})") from None


def _migrate(conn: sqlite3.Connection, version: int, run_id: str) -> None:
    """Apply MIGRATIONS from `version` up to SCHEMA_VERSION in one transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for v in range(version, SCHEMA_VERSION):
            for statement in MIGRATIONS[v]:
                if callable(statement):
                    statement(conn)
                else:
                    conn.execute(statement)
        if version == 0:
            conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                             [("format", FORMAT), ("run_id", run_id),
                              ("created_at", str(time.time()))])
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise

