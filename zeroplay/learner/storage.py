"""Checkpoints on storage every node sees (`run.storage`): what a resume reads on a cluster.

    storage = CheckpointStorage.open("s3://bucket/zeroplay", run_name="demo")  # or /mnt/shared
    storage.upload(Path("runs/demo/checkpoints/step-10"), keep=3)  # after a local save
    storage.steps()                              # complete steps held, oldest first
    storage.read_state(10)                       # its zeroplay_state.json
    storage.download(10, Path("runs/demo/checkpoints"))   # -> runs/demo/checkpoints/step-10

The learner writes each checkpoint into its own node's run directory, as without storage,
then copies it to `<storage>/<run name>/checkpoints/step-N/`, `zeroplay_state.json` last:
as on local disk, a step without that file is incomplete and never resumed from, so a
crash in mid-copy leaves the previous checkpoint usable. Storage is a directory every node
mounts or any `pyarrow.fs` URI (s3://, gs://, hdfs://, file://); object stores have no
atomic rename, which is why completeness is marked by the last file rather than by one.
Not guaranteed: two runs of the same name writing the same storage.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from zeroplay.errors import ConfigError
from zeroplay.learner.checkpoint import PREFIX, STATE_FILE


class CheckpointStorage:
    def __init__(self, filesystem, root: str, uri: str):
        self.fs, self.root, self.uri = filesystem, root.rstrip("/"), uri

    @classmethod
    def open(cls, uri: str, run_name: str) -> CheckpointStorage:
        """The run's checkpoint area under `uri`; ConfigError (one line) if `uri` cannot
        be resolved or does not exist."""
        from pyarrow import fs

        try:
            filesystem, base = fs.FileSystem.from_uri(uri)
            info = filesystem.get_file_info(base)
        except Exception as exc:  # pyarrow's errors differ per filesystem
            raise ConfigError(f"run.storage={uri!r}: cannot open it ({type(exc).__name__}: "
                              f"{exc})".replace("\n", " ")) from None
        # An object store has no directories until something is written under a prefix.
        if isinstance(filesystem, fs.LocalFileSystem) and info.type != fs.FileType.Directory:
            raise ConfigError(f"run.storage={uri!r}: no such directory; create it (it must be "
                              "shared by every node) or fix run.storage")
        return cls(filesystem, f"{base.rstrip('/')}/{run_name}/checkpoints", uri)

    def where(self, step: int | None = None) -> str:
        """A readable location (the URI and path), for messages."""
        return f"{self.uri} ({self.root}" + (f"/{PREFIX}{step})" if step is not None else ")")

    def steps(self) -> list[int]:
        """Steps of the complete checkpoints held, oldest first."""
        from pyarrow import fs

        if self.fs.get_file_info(self.root).type != fs.FileType.Directory:
            return []
        steps = []
        for entry in self.fs.get_file_info(fs.FileSelector(self.root)):
            name = entry.base_name
            if (entry.type == fs.FileType.Directory and name.startswith(PREFIX)
                    and name[len(PREFIX):].isdigit()
                    and self.fs.get_file_info(f"{entry.path}/{STATE_FILE}").type
                    == fs.FileType.File):
                steps.append(int(name[len(PREFIX):]))
        return sorted(steps)

    def read_state(self, step: int) -> dict[str, Any]:
        with self.fs.open_input_stream(f"{self._dir(step)}/{STATE_FILE}") as stream:
            return json.loads(stream.read().decode())

    def upload(self, checkpoint: Path, keep: int) -> None:
        """Copy a local `step-N` directory into storage, its state file last, then drop
        all but the newest `keep` complete steps there (and incomplete older ones)."""
        from pyarrow import fs

        step = int(checkpoint.name[len(PREFIX):])
        target = self._dir(step)
        self.fs.delete_dir_contents(target, missing_dir_ok=True)  # a half-copied try
        self.fs.create_dir(target)
        local = fs.LocalFileSystem()
        files = sorted(p for p in checkpoint.rglob("*") if p.is_file())
        for path in sorted(files, key=lambda p: p.name == STATE_FILE):  # state file last
            destination = f"{target}/{path.relative_to(checkpoint).as_posix()}"
            self.fs.create_dir(destination.rsplit("/", 1)[0])
            fs.copy_files(str(path), destination, source_filesystem=local,
                          destination_filesystem=self.fs)
        complete = self.steps()
        for entry in self.fs.get_file_info(fs.FileSelector(self.root)):
            suffix = entry.base_name[len(PREFIX):]
            if (entry.base_name.startswith(PREFIX) and suffix.isdigit()
                    and int(suffix) not in complete[-keep:] and int(suffix) < step):
                self.fs.delete_dir(entry.path)

    def download(self, step: int, checkpoints_dir: Path) -> Path:
        """`checkpoints_dir/step-N`, copied from storage unless a complete copy is there;
        written to a temporary directory and renamed into place."""
        from pyarrow import fs

        path = checkpoints_dir / f"{PREFIX}{step}"
        if (path / STATE_FILE).is_file():
            return path
        checkpoints_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=checkpoints_dir))
        try:
            fs.copy_files(self._dir(step), str(tmp), source_filesystem=self.fs,
                          destination_filesystem=fs.LocalFileSystem())
            shutil.rmtree(path, ignore_errors=True)  # an incomplete local copy
            tmp.rename(path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return path

    def _dir(self, step: int) -> str:
        return f"{self.root}/{PREFIX}{step}"

