"""JSON Lines in and out, with errors that name the file and line.

    rows = read_jsonl("tasks.jsonl", required={"id": str, "reference": str})
    write_jsonl("out.jsonl", rows)          # None or "-" writes stdout

A file is written to a temporary name and renamed, so a crash never leaves half of it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path

from zeroplay.errors import ZeroplayError


class JsonlError(ZeroplayError):
    """A JSONL input that cannot be read (the message names file and line)."""


def read_jsonl(path: str | Path, required: dict[str, type] | None = None) -> list[dict]:
    """Every object in `path` ('-': stdin); each must have the `required` keys and types."""
    name = "stdin" if str(path) == "-" else str(path)
    try:
        text = sys.stdin.read() if str(path) == "-" else Path(path).read_text()
    except FileNotFoundError:
        raise JsonlError(f"{name}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise JsonlError(f"{name}: cannot be read: {exc}") from None
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise JsonlError(f"{name}:{number}: not valid JSON ({exc.args[0]})") from None
        if not isinstance(row, dict):
            raise JsonlError(f"{name}:{number}: expected a JSON object, got {type(row).__name__}")
        for key, kind in (required or {}).items():
            if not isinstance(row.get(key), kind):
                got = "missing" if key not in row else type(row[key]).__name__
                raise JsonlError(
                    f"{name}:{number}: {key!r} must be a {kind.__name__} ({got})"
                )
        rows.append(row)
    return rows


def write_jsonl(path: str | Path | None, rows: Iterable[dict]) -> None:
    lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if path is None or str(path) == "-":
        sys.stdout.write(lines)
        sys.stdout.flush()
        return
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(lines)
    os.replace(tmp, path)
