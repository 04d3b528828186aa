"""Whole-file writes that a crash never leaves half done.

    atomic_write_text(run.config_path, cfg.to_yaml())
    atomic_write_bytes(path, data)
    with atomic_file(out) as f:             # for writers that want a file object
        pyarrow.parquet.write_table(table, f)

The data goes to a temporary file in the same directory, which is flushed and fsynced,
renamed over the target (`os.replace`, atomic on POSIX), and then the directory is
fsynced so the rename itself survives a power loss. Readers see the old file or the new
one, never a mix. On an error the temporary file is removed and the target is untouched.
The new file gets the usual permissions (0o666 less the umask), like `open(path, "w")`.

Not guaranteed: two writers of the same path do not merge; the last rename wins.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def atomic_file(path: str | Path) -> Iterator[BinaryIO]:
    """A binary file to write `path`'s new content to; it replaces `path` on success."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with open(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_file(path) as f:
        f.write(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write `text` as UTF-8, atomically (see the module docstring)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def fsync_dir(path: str | Path) -> None:
    """Make the entries of directory `path` (new names, renames) durable."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
