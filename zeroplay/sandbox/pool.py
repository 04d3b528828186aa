"""A warm pool of hardened sandbox containers that run jobs of model-written code.

    with SandboxPool(config.sandbox) as pool:
        result = pool.run(Job(code, "f", inputs=[[["i", 1]], [["i", 2]]]))
        for index, result in pool.map(jobs, deadline_s=60):
            ...

Each container runs `supervisor.py` (see there for what happens inside) and is started
with: no network, read-only root, a small noexec tmpfs at /tmp, every capability dropped
but the three the supervisor needs to run jobs as an unprivileged job user (whose code
holds none), no-new-privileges, pids/memory(=memory+swap)/CPU limits, docker's
init as pid 1, logging driver `none`, no host mounts and an empty environment. The host
talks to it over the attached stdin/stdout, one job at a time, and checks that every
reply carries the nonce of the job it answers.

A container is replaced after `recycle_after_jobs` jobs or on any anomaly (a limit hit,
a leftover process, a broken reply, a dead supervisor); the replacement is started and
health-checked before the old one is removed. Containers are labelled with the owning
process; a new pool removes those whose owner is gone, so a crash leaks nothing for long.

What Docker gives: namespaces, cgroup limits, seccomp's default profile and capability
dropping, under the host kernel. What it does not: a separate kernel. Set
`sandbox.runtime: runsc` (gVisor) where that matters; the wall-clock kill still applies.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import secrets
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from zeroplay.config import SandboxConfig
from zeroplay.errors import ZeroplayError
from zeroplay.sandbox.engine import connect
from zeroplay.sandbox.supervisor import MAX_FRAME, NO_JOB_USER, encode_frame

log = logging.getLogger(__name__)

LABEL = "zeroplay.sandbox"
OWNER_LABEL = "zeroplay.owner"
START_TIMEOUT_S = 30.0
REPLY_MARGIN_S = 5.0  # time beyond the job's wall limit for the sweep and the reply


class SandboxError(ZeroplayError):
    """The pool cannot run jobs (no containers could be started)."""


@dataclass
class Job:
    """Run `code`, then call `entry_point(*args)` for each args list (tagged values).

    With `other_interpreter`, in the container's second warm interpreter, whose hash seed
    differs from the first's (see supervisor.py)."""

    code: str
    entry_point: str
    inputs: list[list[list]]
    other_interpreter: bool = False


@dataclass
class JobResult:
    """What came back. `status`: ok | timeout | memory | crash | output_limit | error.

    With status ok, `results` has one entry per input: {"ok": tagged} or
    {"exc": [type, message]}, unless the code failed to load (`load_error`).
    """

    status: str
    results: list[dict] | None = None
    load_error: list | None = None
    detail: str = ""
    stdout: str = ""
    elapsed: float = 0.0
    anomalies: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class JobFailure:
    """Why a job gave no values to judge.

    `kind`: the job's status when not ok (timeout | memory | crash | output_limit | error),
    "unclean" when it left the sandbox with anomalies, or "load_error" when the code failed
    to load. `detail` is for people, never for decisions.
    """

    kind: str
    detail: str


def triage(result: JobResult) -> JobFailure | None:
    """The one reading of a job's status and anomalies: None when its per-input results
    can be judged, else why not. Validation and judging both start here and map the kind
    to their own outcome; a bad status wins over anomalies, anomalies over a load error.

    >>> triage(JobResult("ok", results=[{"ok": ["i", 1]}])) is None
    True
    >>> triage(JobResult("ok", results=[], anomalies=["tmp_not_empty"])).kind
    'unclean'
    >>> triage(JobResult("ok", load_error=["NameError", "no f"]))
    JobFailure(kind='load_error', detail='NameError: no f')
    """
    if result.status != "ok":
        return JobFailure(result.status, result.detail or f"the job ended: {result.status}")
    if result.anomalies:
        return JobFailure("unclean", "the job left the sandbox unclean: "
                          + ", ".join(result.anomalies))
    if result.load_error is not None:
        return JobFailure("load_error", exc_text(result.load_error))
    return None


def exc_text(exc: object) -> str:
    """An exception as a job reports it ([type, message]) in one line for people."""
    if isinstance(exc, list) and len(exc) == 2:
        return f"{exc[0]}: {exc[1]}"[:300]
    return str(exc)[:300]


class _Broken(Exception):
    """A container's reply stream can no longer be trusted; `status` is the job's."""

    def __init__(self, status: str, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


class _Container:
    """One running sandbox container and its attached stdin/stdout."""

    def __init__(self, client, image: str, cfg: SandboxConfig, owner: str, name: str):
        from docker.types import LogConfig

        self.jobs = 0
        self.container = client.containers.create(
            image,
            name=name,
            stdin_open=True,
            tty=False,
            network_mode="none",
            ipc_mode="none",  # no /dev/shm: it would outlive jobs
            read_only=True,
            tmpfs={"/tmp": f"rw,noexec,nosuid,nodev,size={cfg.tmpfs_mb}m,mode=1777"},
            # Root for the machinery, with only what it needs to run jobs as the job user
            # and to kill what they leave (supervisor.py); jobs hold no capability at all.
            user="0:0",
            cap_drop=["ALL"],
            cap_add=["SETUID", "SETGID", "KILL"],
            security_opt=["no-new-privileges"],
            pids_limit=cfg.pids_limit,
            mem_limit=f"{cfg.memory_mb}m",
            memswap_limit=f"{cfg.memory_mb}m",
            nano_cpus=int(cfg.cpus * 1e9),
            init=True,
            log_config=LogConfig(type=LogConfig.types.NONE),
            environment={},
            runtime=cfg.runtime,
            labels={LABEL: "1", OWNER_LABEL: owner},
        )
        try:
            attached = client.api.attach_socket(
                self.container.id, params={"stdin": 1, "stdout": 1, "stream": 1}
            )
            self._sock: socket.socket = getattr(attached, "_sock", attached)
            self.container.start()
            self._buf = bytearray()
            pong = self.call({"op": "ping"}, START_TIMEOUT_S)
            if NO_JOB_USER in pong.get("anomalies", []):
                raise SandboxError(
                    "the sandbox supervisor cannot switch to its job user: the container "
                    "must start as root with CAP_SETUID and CAP_SETGID (check the engine's "
                    "user-namespace or seccomp settings, and sandbox.runtime)")
        except BaseException:
            self.remove()
            raise

    def call(self, msg: dict, timeout: float) -> dict:
        """Send one frame, return the reply that carries its nonce. Raises _Broken."""
        nonce = secrets.token_hex(16)
        deadline = time.monotonic() + timeout
        try:
            self._sock.sendall(encode_frame({**msg, "nonce": nonce}))
            head = self._read(4, deadline)
            (n,) = struct.unpack(">I", head)
            if n > MAX_FRAME:
                raise _Broken("error", "the sandbox sent an oversized frame")
            reply = _json_loads(self._read(n, deadline))
        except TimeoutError:
            raise _Broken("timeout", "no reply from the sandbox in time") from None
        except (OSError, EOFError):
            raise _Broken("crash", "the sandbox container stopped during the job") from None
        if not isinstance(reply, dict) or reply.get("nonce") != nonce:
            raise _Broken("error", "the sandbox reply did not carry the job's nonce")
        return reply

    def _read(self, n: int, deadline: float) -> bytes:
        """`n` bytes of the container's stdout, demultiplexing docker's stream headers."""
        while len(self._buf) < n:
            self._buf += self._next_chunk(deadline)
        out, self._buf = bytes(self._buf[:n]), self._buf[n:]
        return out

    def _next_chunk(self, deadline: float) -> bytes:
        header = self._recv(8, deadline)
        stream, size = header[0], struct.unpack(">I", header[4:])[0]
        payload = self._recv(size, deadline)
        if stream != 1:  # only stdout carries frames
            return b""
        return payload

    def _recv(self, n: int, deadline: float) -> bytes:
        chunks, got = [], 0
        while got < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            self._sock.settimeout(left)
            chunk = self._sock.recv(min(n - got, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def remove(self) -> None:
        try:
            self._sock.close()
        except Exception:
            pass
        try:
            self.container.remove(force=True)
        except Exception as exc:  # already gone, or the daemon is
            log.debug("removing %s: %s", self.container.name, exc)


def _json_loads(data: bytes) -> object:
    import json

    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        raise _Broken("error", "the sandbox sent a frame that is not JSON") from None


class SandboxPool:
    """Thread-safe pool of warm containers; `run` and `map` block while all are busy."""

    def __init__(self, cfg: SandboxConfig, image: str | None = None):
        from zeroplay.sandbox.image import build_image

        self.cfg = cfg
        self.client = connect()
        self.image = image or build_image(cfg).tag
        runtimes = self.client.info().get("Runtimes") or {}
        if runtimes and cfg.runtime not in runtimes:
            raise SandboxError(
                f"sandbox.runtime={cfg.runtime!r} is not a runtime of this Docker engine "
                f"(it has: {', '.join(sorted(runtimes))}); install it (e.g. gVisor for runsc) "
                "or set sandbox.runtime=runc"
            )
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self.recycled = 0
        self.on_job: Callable[[JobResult, float], None] | None = None  # (result, seconds)
        self._idle: queue.Queue[_Container] = queue.Queue()
        self._names = iter(range(1 << 62))
        self._lock = threading.Lock()
        self._closed = False
        self._failure: Exception | None = None
        self._live: set[_Container] = set()
        self._replacing: set[Future] = set()
        self._background = ThreadPoolExecutor(cfg.pool_size, thread_name_prefix="sandbox-warm")
        self._executor = ThreadPoolExecutor(cfg.pool_size, thread_name_prefix="sandbox-job")
        self._slots = threading.BoundedSemaphore(cfg.pool_size * 4)
        remove_orphans(self.client)
        starts = [self._background.submit(self._start) for _ in range(cfg.pool_size)]
        try:
            for started in starts:
                self._idle.put(started.result())
        except Exception as exc:
            self.close()
            raise SandboxError(
                f"could not start sandbox containers from {self.image}: {exc}"
            ) from None
        atexit.register(self.close)

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def limits(self) -> dict:
        cfg = self.cfg
        return {"wall_s": cfg.job_timeout_s, "cpu_s": cfg.cpu_seconds,
                "mem_bytes": cfg.job_memory_mb * 2**20, "output_bytes": cfg.max_output_bytes}

    def run(self, job: Job) -> JobResult:
        """Run one job on a free container (waits for one)."""
        worker = self._acquire()
        broken = False
        start = time.monotonic()
        try:
            reply = worker.call(
                {"op": "run", "code": job.code, "entry_point": job.entry_point,
                 "inputs": job.inputs, "limits": self.limits,
                 "other_interpreter": job.other_interpreter},
                self.cfg.job_timeout_s + REPLY_MARGIN_S,
            )
            result = _to_result(reply, len(job.inputs))
            broken = bool(result.anomalies) or result.status != "ok"
        except _Broken as exc:
            result = JobResult(exc.status, detail=exc.detail, anomalies=["broken_reply"])
            broken = True
        finally:
            self._release(worker, broken)
        if self.on_job is not None:
            self.on_job(result, time.monotonic() - start)
        return result

    def submit(self, job: Job) -> Future[JobResult]:
        """Queue one job; blocks while 4 x pool_size jobs are already queued (back-pressure)."""
        self._slots.acquire()
        future = self._executor.submit(self.run, job)
        future.add_done_callback(lambda _: self._slots.release())
        return future

    def map(self, jobs: Iterable[Job], deadline_s: float | None = None
            ) -> Iterator[tuple[int, JobResult]]:
        """Run many jobs; yield (index, result) as each finishes. Jobs not started before
        the batch deadline come back with status timeout."""
        deadline = None if deadline_s is None else time.monotonic() + deadline_s

        def run_before_deadline(job: Job) -> JobResult:
            if deadline is not None and time.monotonic() > deadline:
                return JobResult("timeout", detail="batch deadline passed before the job ran")
            return self.run(job)

        pending: dict[Future, int] = {}
        todo = iter(enumerate(jobs))
        for index, job in todo:
            pending[self._executor.submit(run_before_deadline, job)] = index
            if len(pending) >= self.cfg.pool_size * 2:
                break
        while pending:
            done, _ = wait(pending, return_when="FIRST_COMPLETED")
            for future in done:
                yield pending.pop(future), future.result()
                nxt = next(todo, None)
                if nxt is not None:
                    pending[self._executor.submit(run_before_deadline, nxt[1])] = nxt[0]

    def health(self) -> list[str]:
        """Ping every idle container; return anomalies found (those are recycled)."""
        found = []
        for _ in range(self._idle.qsize()):
            worker = self._acquire()
            try:
                anomalies = worker.call({"op": "ping"}, START_TIMEOUT_S).get("anomalies", [])
            except _Broken as exc:
                anomalies = [f"broken:{exc.detail}"]
            found += anomalies
            self._release(worker, bool(anomalies))
        return found

    def close(self) -> None:
        """Remove every container of this pool."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            live = list(self._live)
        self._background.shutdown(wait=True, cancel_futures=True)
        self._executor.shutdown(wait=False, cancel_futures=True)
        for worker in live:
            worker.remove()
        atexit.unregister(self.close)

    # --- containers ---------------------------------------------------------------------

    def _start(self) -> _Container:
        name = f"zeroplay-sbx-{os.getpid()}-{next(self._names)}-{secrets.token_hex(3)}"
        worker = _Container(self.client, self.image, self.cfg, self.owner, name)
        with self._lock:
            if self._closed:
                worker.remove()
                raise SandboxError("the pool was closed")
            self._live.add(worker)
        return worker

    def _acquire(self) -> _Container:
        while True:
            if self._closed:
                raise SandboxError("the sandbox pool is closed")
            if self._failure is not None and self._idle.empty():
                raise SandboxError(f"sandbox containers could not be replaced: {self._failure}")
            try:
                return self._idle.get(timeout=0.5)
            except queue.Empty:
                continue

    def _release(self, worker: _Container, broken: bool) -> None:
        worker.jobs += 1
        if not broken and worker.jobs < self.cfg.recycle_after_jobs:
            self._idle.put(worker)
            return
        with self._lock:
            if self._closed:
                return
        self.recycled += 1
        future = self._background.submit(self._replace, worker)
        with self._lock:
            self._replacing.add(future)
        future.add_done_callback(self._replacing.discard)

    def settle(self, timeout: float = START_TIMEOUT_S) -> None:
        """Wait until every pending replacement container is warm (or failed)."""
        with self._lock:
            pending = list(self._replacing)
        wait(pending, timeout=timeout)

    def _replace(self, old: _Container) -> None:
        """Warm a new container, hand it out, then remove the old one."""
        try:
            new = self._start()
        except Exception as exc:
            if not self._closed:
                log.error("could not start a replacement sandbox container: %s", exc)
                self._failure = exc
        else:
            self._failure = None
            self._idle.put(new)
        finally:
            with self._lock:
                self._live.discard(old)
            old.remove()


def _to_result(reply: dict, n_inputs: int) -> JobResult:
    """Turn the supervisor's reply into a JobResult, checking the shape of what the job
    sent; a reply that is not what the supervisor writes is an error, never an exception.

    >>> _to_result({"status": "ok", "elapsed": "x", "anomalies": 5}, 1).anomalies
    ['broken_reply']
    """
    try:
        return _parse_reply(reply, n_inputs)
    except (TypeError, ValueError, OverflowError) as exc:  # UnicodeError is a ValueError
        return JobResult("error", detail=f"the sandbox reply was malformed ({exc_text(exc)})",
                         anomalies=["broken_reply"])


def _parse_reply(reply: dict, n_inputs: int) -> JobResult:
    anomalies = [str(a) for a in reply.get("anomalies", [])]
    base = {"detail": str(reply.get("detail", "")), "stdout": str(reply.get("stdout", ""))[:2048],
            "elapsed": float(reply.get("elapsed", 0.0)), "anomalies": anomalies}
    status = reply.get("status")
    if status != "ok":
        known = ("timeout", "memory", "crash", "output_limit")
        return JobResult(status if status in known else "error", **base)
    try:
        payload = _json_loads(str(reply.get("payload", "")).encode("utf-8", "surrogatepass"))
    except _Broken:
        return JobResult("error", **{**base, "detail": "job results were not JSON"})
    if isinstance(payload, dict) and isinstance(payload.get("load_error"), list):
        return JobResult("ok", load_error=payload["load_error"][:2], **base)
    results = payload.get("results") if isinstance(payload, dict) else None
    if not isinstance(results, list) or len(results) != n_inputs or not all(
        isinstance(r, dict) and ("ok" in r or isinstance(r.get("exc"), list)) for r in results
    ):
        return JobResult("error", **{**base, "detail": "job results had the wrong shape"})
    return JobResult("ok", results=results, **base)


def remove_orphans(client) -> int:
    """Remove sandbox containers whose owning process on this host is gone."""
    host = socket.gethostname()
    removed = 0
    listed = client.containers.list(all=True, filters={"label": LABEL}, ignore_removed=True)
    for container in listed:  # ignore_removed: another pool may be closing right now
        owner_host, _, pid = container.labels.get(OWNER_LABEL, "").rpartition(":")
        if owner_host != host or not pid.isdigit() or _alive(int(pid)):
            continue
        try:
            container.remove(force=True)
            removed += 1
        except Exception as exc:
            log.debug("could not remove orphan %s: %s", container.name, exc)
    if removed:
        log.info("removed %d sandbox containers left by dead processes", removed)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
