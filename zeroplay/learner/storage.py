"""Checkpoints on storage every node sees (`run.storage`): what a resume reads on a cluster.

    storage = CheckpointStorage.open("s3://bucket/zeroplay", run_name="demo")  # or /mnt/shared
    storage.upload(Path("runs/demo/checkpoints/step-10"), keep=3)  # after a local save
    storage.steps()                              # complete steps held, oldest first
    storage.read_state(10)                       # its zeroplay_state.json
    storage.download(10, Path("runs/demo/checkpoints"))   # -> runs/demo/checkpoints/step-10
    storage.upload_reference(Path("runs/demo/reference"))   # the KL reference, once
    storage.download_reference(Path("runs/demo/reference"))  # True if storage has one

The learner writes each checkpoint into its own node's run directory, as without storage,
then copies it to `<storage>/<run name>/checkpoints/step-N/`, `zeroplay_state.json` last:
as on local disk, a step without that file is incomplete and never resumed from, so a
crash in mid-copy leaves the previous checkpoint usable. The driver's snapshots of the
run's own files (`zeroplay.launch.snapshots`) go to `snapshots/step-N/` the same way,
their `snapshot.json` last. Storage is a directory every node
mounts or any `pyarrow.fs` URI (s3://, gs://, hdfs://, file://); object stores have no
atomic rename, which is why completeness is marked by the last file rather than by one.
With `learner.beta > 0` the KL reference (`<run>/reference`) goes there too, its
`config.json` last, for the same reason. Not guaranteed: two runs of the same name writing
the same storage.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from zeroplay.errors import ConfigError
from zeroplay.learner.checkpoint import PREFIX, STATE_FILE

REFERENCE_MARK = "config.json"  # what missing_reference() looks for: copied last


class CheckpointStorage:
    def __init__(self, filesystem, run_root: str, uri: str):
        self.fs, self.uri = filesystem, uri
        self.run_root = run_root.rstrip("/")
        self.root = f"{self.run_root}/checkpoints"

    @classmethod
    def open(cls, uri: str, run_name: str) -> CheckpointStorage:
        """The run's checkpoint area under `uri`; ConfigError (one line) if `uri` cannot
        be resolved or does not exist."""
        from pyarrow import fs

        local = "://" not in uri  # a plain path: relative ones are to the working directory
        try:
            filesystem, base = fs.FileSystem.from_uri(str(Path(uri).absolute()) if local else uri)
            info = filesystem.get_file_info(base)
        except Exception as exc:  # pyarrow's errors differ per filesystem
            raise ConfigError(f"run.storage={uri!r}: cannot open it ({type(exc).__name__}: "
                              f"{exc})".replace("\n", " ")) from None
        # An object store has no directories until something is written under a prefix.
        if isinstance(filesystem, fs.LocalFileSystem) and info.type != fs.FileType.Directory:
            raise ConfigError(f"run.storage={uri!r}: no such directory; create it (it must be "
                              "shared by every node) or fix run.storage")
        return cls(filesystem, f"{base.rstrip('/')}/{run_name}", uri)

    def where(self, step: int | None = None) -> str:
        """A readable location (the URI and path), for messages."""
        return f"{self.uri} ({self.root}" + (f"/{PREFIX}{step})" if step is not None else ")")

    def steps(self, area: str = "checkpoints", mark: str = STATE_FILE) -> list[int]:
        """Steps of the complete checkpoints held (or of another `area` of step-N
        directories whose `mark` file says they are whole), oldest first."""
        from pyarrow import fs

        root = f"{self.run_root}/{area}"
        if self.fs.get_file_info(root).type != fs.FileType.Directory:
            return []
        steps = []
        for entry in self.fs.get_file_info(fs.FileSelector(root)):
            name = entry.base_name
            if (entry.type == fs.FileType.Directory and name.startswith(PREFIX)
                    and name[len(PREFIX):].isdigit()
                    and self.exists(f"{area}/{name}/{mark}")):
                steps.append(int(name[len(PREFIX):]))
        return sorted(steps)

    def read_state(self, step: int) -> dict[str, Any]:
        with self.fs.open_input_stream(f"{self._dir(step)}/{STATE_FILE}") as stream:
            return json.loads(stream.read().decode())

    def upload(self, checkpoint: Path, keep: int, area: str = "checkpoints",
               mark: str = STATE_FILE) -> None:
        """Copy a local `step-N` directory into storage (into `area`), its `mark` file
        last, then drop all but the newest `keep` complete steps there (and incomplete
        older ones)."""
        from pyarrow import fs

        step = int(checkpoint.name[len(PREFIX):])
        root = f"{self.run_root}/{area}"
        self._copy_up(checkpoint, f"{root}/{PREFIX}{step}", last=mark)
        complete = self.steps(area, mark)
        for entry in self.fs.get_file_info(fs.FileSelector(root)):
            suffix = entry.base_name[len(PREFIX):]
            if (entry.base_name.startswith(PREFIX) and suffix.isdigit()
                    and int(suffix) not in complete[-keep:] and int(suffix) < step):
                self.fs.delete_dir(entry.path)

    def upload_reference(self, reference_dir: Path) -> None:
        self._copy_up(reference_dir, f"{self.run_root}/reference", last=REFERENCE_MARK)

    def exists(self, relative: str) -> bool:
        """Whether a file `relative` to the run's storage area is there."""
        from pyarrow import fs

        return self.fs.get_file_info(f"{self.run_root}/{relative}").type == fs.FileType.File

    def download_reference(self, reference_dir: Path) -> bool:
        """Copy the KL reference to `reference_dir` unless it is there; False if storage
        has no complete one."""
        source = f"{self.run_root}/reference"
        if not self.exists(f"reference/{REFERENCE_MARK}"):
            return False
        if not (reference_dir / REFERENCE_MARK).is_file():
            self._copy_down(source, reference_dir)
        return True

    def _copy_up(self, local_dir: Path, target: str, last: str) -> None:
        """Every file of `local_dir` under `target`, the file named `last` last, so that
        its presence means the copy is whole."""
        from pyarrow import fs

        self.fs.delete_dir_contents(target, missing_dir_ok=True)  # a half-copied try
        self.fs.create_dir(target)
        local = fs.LocalFileSystem()
        files = sorted(p for p in local_dir.rglob("*") if p.is_file())
        for path in sorted(files, key=lambda p: p.name == last):
            destination = f"{target}/{path.relative_to(local_dir).as_posix()}"
            self.fs.create_dir(destination.rsplit("/", 1)[0])
            fs.copy_files(str(path), destination, source_filesystem=local,
                          destination_filesystem=self.fs)

    def _copy_down(self, source: str, path: Path) -> None:
        """`source` copied to `path` through a temporary directory renamed into place."""
        from pyarrow import fs

        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
        try:
            fs.copy_files(source, str(tmp), source_filesystem=self.fs,
                          destination_filesystem=fs.LocalFileSystem())
            shutil.rmtree(path, ignore_errors=True)  # an incomplete local copy
            tmp.rename(path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def download(self, step: int, checkpoints_dir: Path, area: str = "checkpoints",
                 mark: str = STATE_FILE) -> Path:
        """`checkpoints_dir/step-N`, copied from storage (from `area`) unless a complete
        copy is there."""
        path = checkpoints_dir / f"{PREFIX}{step}"
        if not (path / mark).is_file():
            self._copy_down(f"{self.run_root}/{area}/{PREFIX}{step}", path)
        return path

    def _dir(self, step: int) -> str:
        return f"{self.root}/{PREFIX}{step}"

