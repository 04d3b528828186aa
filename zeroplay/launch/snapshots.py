"""The run's own files snapshotted with every checkpoint, and what a resume repairs with them.

    take_snapshot(run, store, step)          # <run>/snapshots/step-N/, and run.storage
    notes = repair_for_resume(run)           # torn JSONL lines cut, a damaged store restored
    run = restore_from_storage(uri, Path("runs/demo"))   # a run directory from storage alone

A snapshot holds `curriculum.sqlite` (SQLite's online backup, taken after checkpoint step-N
was written and before step N+1 is recorded, so it holds the tasks the weights of step N
were trained with), `config.yaml`, `metrics.jsonl`, `checkpoints.jsonl`, `provenance.json`
and `eval/heldout-during-run.jsonl` as they were, and `snapshot.json`, written last: a
snapshot without it is incomplete and never used. The newest `learner.keep_checkpoints`
are kept, in the run directory and, with `run.storage`, in `<storage>/<name>/snapshots/`.

A resume first cuts the torn last line a crash leaves in the run's JSONL files, then
checks the store with SQLite's integrity check; a damaged store is renamed (kept, never
deleted), the newest whole snapshot takes its place, and the notes say how many steps of
tasks were lost (their metrics rows stay: the newest checkpoint trained on them, and the
run goes on after it). A step's metrics row is stored with the step (`record_step`): a
row that a crash kept out of metrics.jsonl is appended from the store, and held-out
curve rows of steps the store never committed are cut (they run again). Not guaranteed:
the tasks the store gained after the newest whole snapshot, and the rows appended from
the store reach metrics.jsonl but not TensorBoard or W&B.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from zeroplay.curricula.store import CurriculumStore, StoreError, integrity_problems
from zeroplay.failpoints import crash_point
from zeroplay.jsonl import append_jsonl, cut_torn_tail, read_jsonl, write_jsonl
from zeroplay.launch.rundir import RunDir
from zeroplay.learner.checkpoint import PREFIX
from zeroplay.run_paths import RunPaths

MARK = "snapshot.json"
AREA = "snapshots"  # the area in run.storage


def _copied_files(run: RunPaths) -> list[tuple[Path, str]]:
    """The run's files a snapshot copies, with their names inside it."""
    return [(run.config_path, "config.yaml"), (run.metrics_path, "metrics.jsonl"),
            (run.checkpoint_log_path, "checkpoints.jsonl"),
            (run.provenance_path, "provenance.json"),
            (run.heldout_curve_path, "eval/heldout-during-run.jsonl")]


def take_snapshot(run: RunDir, store: CurriculumStore, step: int) -> Path:
    """<run>/snapshots/step-N (and its copy in run.storage); older ones beyond
    `learner.keep_checkpoints` are removed. Returns the snapshot's directory."""
    started = time.monotonic()
    final = run.snapshots_dir / f"{PREFIX}{step}"
    tmp = final.with_name(f".{final.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    store.snapshot(tmp / "curriculum.sqlite")
    for source, name in _copied_files(run):
        if source.is_file():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, tmp / name)
    tasks = store.count("status = 'valid' AND heldout = 0")
    crash_point("snapshot-write")
    (tmp / MARK).write_text(json.dumps({
        "step": step, "training_tasks": tasks, "time": time.time(),
        "seconds": round(time.monotonic() - started, 3)}) + "\n")
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    keep = run.config.learner.keep_checkpoints
    for old in sorted(snapshot_steps(run))[:-keep]:
        shutil.rmtree(run.snapshots_dir / f"{PREFIX}{old}", ignore_errors=True)
    if run.config.run.storage:
        from zeroplay.learner.storage import CheckpointStorage

        CheckpointStorage.open(run.config.run.storage, run.path.name).upload(
            final, keep, area=AREA, mark=MARK)
    return final


def snapshot_steps(run: RunPaths) -> list[int]:
    area = run.snapshots_dir
    if not area.is_dir():
        return []
    return sorted(int(p.name[len(PREFIX):]) for p in area.iterdir()
                  if p.name.startswith(PREFIX) and p.name[len(PREFIX):].isdigit()
                  and (p / MARK).is_file())


def whole_snapshots(run: RunPaths) -> list[tuple[int, list[str]]]:
    """Every complete local snapshot, newest first, with what the integrity check finds
    wrong with its store ([]: whole)."""
    return [(step, integrity_problems(run.snapshots_dir / f"{PREFIX}{step}" / "curriculum.sqlite"))
            for step in reversed(snapshot_steps(run))]


def repair_for_resume(run: RunDir) -> list[str]:
    """Cut torn JSONL tails and restore a damaged store (see the module docstring); one
    note per repair. A StoreError when the store is damaged and no whole snapshot is left."""
    notes = []
    for path in (run.metrics_path, run.checkpoint_log_path, run.heldout_curve_path):
        if (cut := cut_torn_tail(path)):
            notes.append(f"{path}: cut a torn last line ({cut} bytes) that a crash left")
    store = run.curriculum_path
    if not store.is_file():
        return notes
    problems = integrity_problems(store)
    if not problems:
        return notes + _rows_from_store(run)
    whole = next((step for step, found in whole_snapshots(run) if not found), None)
    if whole is None:
        raise StoreError(f"{store} is damaged ({problems[0]}) and no whole snapshot of it is "
                         f"left in {run.snapshots_dir}; it was kept as it is")
    kept = store.with_name(f"{store.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{store}{suffix}").exists():
            Path(f"{store}{suffix}").rename(f"{kept}{suffix}")
    shutil.copyfile(run.snapshots_dir / f"{PREFIX}{whole}" / "curriculum.sqlite", store)
    lost = last_recorded_step(run) - whole
    notes.append(f"{store} was damaged ({problems[0]}): kept as {kept.name}, and the store "
                 f"of snapshot step-{whole} restored; the tasks of {max(lost, 0)} step(s) "
                 "after it were lost (their metrics rows and the newest checkpoint stay)")
    return notes + _rows_from_store(run)


def _rows_from_store(run: RunPaths) -> list[str]:
    """The store commits a step with its metrics row before metrics.jsonl gets it: rows a
    crash kept from metrics.jsonl are appended from the store; held-out curve rows of
    steps the store never committed are cut (those steps run again)."""
    with CurriculumStore.open(run.curriculum_path, readonly=True) as store:
        steps = store.steps()
    written = last_recorded_step(run)
    last = max(steps[-1][0] if steps else 0, written)
    notes = []
    if run.heldout_curve_path.is_file():
        rows = read_jsonl(run.heldout_curve_path)
        kept = [r for r in rows if r.get("step", 0) <= last]
        if len(kept) < len(rows):
            write_jsonl(run.heldout_curve_path, kept)
            notes.append(f"{run.heldout_curve_path}: cut {len(rows) - len(kept)} row(s) of "
                         f"steps after step {last}, which run again")
    missing = [data["row"] for step, _, data in steps if step > written and "row" in data]
    for row in missing:
        append_jsonl(run.metrics_path, row)
    if missing:
        notes.append(f"{run.metrics_path}: appended the row(s) of step(s) "
                     f"{', '.join(str(r['step']) for r in missing)} from the store (a crash "
                     "came between the two writes)")
    return notes


def last_recorded_step(run: RunPaths) -> int:
    """The newest step with a metrics row (0: none)."""
    rows = read_jsonl(run.metrics_path, tail_ok=True) if run.metrics_path.is_file() else []
    return max((row.get("step", 0) for row in rows), default=0)


def restore_from_storage(uri: str, path: Path) -> RunDir:
    """A run directory at `path` made from the newest complete snapshot of the run of that
    name in storage `uri`; its checkpoints stay in storage, where `--resume` reads them."""
    from zeroplay.learner.storage import CheckpointStorage

    storage = CheckpointStorage.open(uri, path.name)
    steps = storage.steps(AREA, MARK)
    if not steps:
        raise StoreError(f"no complete snapshot of run {path.name!r} in {uri} "
                         f"({storage.run_root}/{AREA}): nothing to restore the run from")
    if path.exists():
        raise StoreError(f"{path} exists already: resume it with `zeroplay run --resume "
                         f"{path}`, or restore into a new directory")
    snapshot = storage.download(steps[-1], RunPaths(path).snapshots_dir, area=AREA, mark=MARK)
    shutil.copyfile(snapshot / "curriculum.sqlite", path / "curriculum.sqlite")
    run = RunPaths(path)
    for target, name in _copied_files(run):
        if (snapshot / name).is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(snapshot / name, target)
    return RunDir.open(path)
