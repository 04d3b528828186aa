"""JSON Lines in and out, with errors that name the file and line.

    rows = read_jsonl("tasks.jsonl", required={"id": str, "reference": str})
    write_jsonl("out.jsonl", rows)          # None or "-" writes stdout
    append_jsonl(run.metrics_path, row)     # one line, synced
    cut_torn_tail(run.metrics_path)         # a crash's half line removed: bytes cut

A file is written atomically (zeroplay/files.py), so a crash never leaves half of it.
Lines are UTF-8; a row with a string UTF-8 cannot hold (a lone surrogate such as "\\ud800",
which JSON input can carry and model-written code can return) is written with \\u escapes
instead, so what was read can always be written back. Reading refuses a line nested too
deeply for the parser with an error that names it, like any other bad line.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path

from zeroplay.errors import ZeroplayError
from zeroplay.files import atomic_write_text


class JsonlError(ZeroplayError):
    """A JSONL input that cannot be read (the message names file and line)."""


def read_jsonl(path: str | Path, required: dict[str, type] | None = None,
               tail_ok: bool = False) -> list[dict]:
    """Every object in `path` ('-': stdin); each must have the `required` keys and types.
    `tail_ok`: a last line cut short by a crash is skipped instead of an error."""
    name = "stdin" if str(path) == "-" else str(path)
    try:
        text = sys.stdin.read() if str(path) == "-" else Path(path).read_text()
    except FileNotFoundError:
        raise JsonlError(f"{name}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise JsonlError(f"{name}: cannot be read: {exc}") from None
    rows = []
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            if tail_ok and number == len(lines) and not text.endswith("\n"):
                break
            raise JsonlError(f"{name}:{number}: not valid JSON ({exc.args[0]})") from None
        except RecursionError:
            raise JsonlError(f"{name}:{number}: JSON nested too deeply to read") from None
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
    lines = "".join(map(_line, rows))
    if path is None or str(path) == "-":
        sys.stdout.write(lines)
        sys.stdout.flush()
        return
    atomic_write_text(path, lines)


def append_jsonl(path: Path, row: dict) -> None:
    """Append one line and sync it: a crash may lose the line being written, never one
    written before (a reader skips a torn last line with `read_jsonl(..., tail_ok=True)`)."""
    data = _line(row).encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def cut_torn_tail(path: Path) -> int:
    """Remove a last line that a crash cut short (no newline at the end, or not a whole
    JSON object), so that lines appended later start on a line of their own. Returns the
    bytes removed (0: nothing torn, or no file). Lines before it are never touched."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return 0
    body = data[:-1] if data.endswith(b"\n") else data
    start = body.rfind(b"\n") + 1
    last = data[start:]
    if not last.strip():
        return 0
    if data.endswith(b"\n"):
        try:
            if isinstance(json.loads(last), dict):
                return 0
        except ValueError:
            pass
    with open(path, "r+b") as handle:
        handle.truncate(start)
        handle.flush()
        os.fsync(handle.fileno())
    return len(data) - start


def _line(row: dict) -> str:
    """One JSON line that encodes as UTF-8 (see the module docstring)."""
    line = json.dumps(row, ensure_ascii=False)
    try:
        line.encode()
    except UnicodeEncodeError:
        line = json.dumps(row)
    return line + "\n"
