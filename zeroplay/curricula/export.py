"""Export a curriculum to JSONL or Parquet, and import one from JSONL.

    export(store, "tasks.parquet", "parquet")
    added = import_jsonl(store, "other-run.jsonl")    # inside a transaction

JSONL holds one task per line exactly as `Task.to_json` writes it (tests, provenance,
stats), so it imports back. Parquet flattens the same fields into columns, with tests
and provenance as JSON strings, for analysis with pandas, polars or DuckDB.
"""

from __future__ import annotations

import json
from pathlib import Path

from zeroplay.curricula.store import CurriculumStore
from zeroplay.errors import ZeroplayError
from zeroplay.files import atomic_file
from zeroplay.jsonl import read_jsonl, write_jsonl

FORMATS = ("jsonl", "parquet")


def export(store: CurriculumStore, out: str | Path, fmt: str) -> int:
    """Write every task (valid and rejected, with stats); returns how many."""
    if fmt not in FORMATS:
        raise ZeroplayError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    rows = store.export_rows()
    out = Path(out)
    if fmt == "jsonl":
        write_jsonl(out, rows)
        return len(rows)
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {
        "id": [r["id"] for r in rows],
        "status": [r["status"] for r in rows],
        "reason": [r["reason"] for r in rows],
        "origin": [r["provenance"]["origin"] for r in rows],
        "kind": [r["kind"] for r in rows],
        "tags": [r["tags"] for r in rows],
        "heldout": [r["heldout"] for r in rows],
        "step": [r["step"] for r in rows],
        "statement": [r["statement"] for r in rows],
        "entry_point": [r["entry_point"] for r in rows],
        "signature": [r["signature"] for r in rows],
        "reference": [r["reference"] for r in rows],
        "strategy": [r["strategy"] for r in rows],
        "num_tests": [len(r["tests"]) for r in rows],
        "tests_json": [json.dumps(r["tests"]) for r in rows],
        "provenance_json": [json.dumps(r["provenance"]) for r in rows],
        "attempts": [r["stats"]["attempts"] for r in rows],
        "solves": [r["stats"]["solves"] for r in rows],
        "solve_rate": [r["stats"]["solve_rate"] for r in rows],
        "learnability": [r["stats"]["learnability"] for r in rows],
    }
    with atomic_file(out) as f:
        pq.write_table(pa.table(columns), f)
    return len(rows)


def import_jsonl(store: CurriculumStore, path: str | Path, step: int = 0) -> int:
    """Add the tasks of an exported JSONL file (stats start fresh); returns how many are new."""
    rows = read_jsonl(path, {"id": str, "entry_point": str, "reference": str,
                             "strategy": str, "provenance": dict})
    errors: list[str] = []
    added = store.import_tasks(rows, step, on_error=lambda n, why: errors.append(f"{n}: {why}"))
    if errors:
        raise ZeroplayError(f"{path}: lines that are not tasks: {'; '.join(errors[:5])}")
    return added
