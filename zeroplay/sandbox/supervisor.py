"""The supervisor that runs inside every sandbox container (stdlib only, Python 3.11).

Three kinds of process live in a container:

    docker-init (pid 1) -> supervisor -> zygote -> one child per job
    `------------ root, only CAP_SETUID, CAP_SETGID, CAP_KILL ---------'   job user (10001)

* The **supervisor** talks to the host over the container's stdin/stdout in length-prefixed
  JSON frames. Each job frame carries a random nonce; the supervisor echoes it in the
  result frame.
* The **zygote** is a fresh interpreter (fork + exec, so it never held a nonce) that
  preloads common modules and forks one child per job. It enforces the wall-clock limit
  by killing the child's whole process group. There are two, with different hash seeds
  (so different `hash()` of strings, set orders and, being two execs, `id()`s): a job
  frame with `other_interpreter` goes to the second, which is how validation runs a
  reference twice where an interpreter-dependent result would differ.
* The **child** starts its own session, sets rlimits (CPU seconds, address space, file
  size = output cap, open files, no core), gets stdin at EOF and stdout/stderr into a
  capped file, then becomes the job user, which drops every capability, and only then
  runs the code, calls the entry point on each input and writes type-tagged results to a
  pipe.

The verdict channel is out of the job's reach because jobs run under another uid than the
machinery: nothing a job starts can signal, trace (`ptrace`, `process_vm_readv`), change
the rlimits of, or open `/proc/<pid>/{fd,mem,environ}` of pid 1, the supervisor or the
zygote, so it cannot read the frames (nonces included) on the container's stdin, nor
write frames to its stdout. After every job the supervisor kills every process that is
not part of the machinery (double-forked daemons, and zombie leaders whose other threads
live on, included), empties /tmp (as the job user where root may not), and reports
anomalies so that the host recycles the container; if the child cannot become the job
user it exits before running anything. Results are values only: the host compares them
with expected values; nothing a job prints or returns is trusted to decide a verdict.

Values cross in the type-tagged form of `codec.py`, which the image ships beside this
file; the supervisor runs with the standard library and that file only. The host imports
this module for the framing alone (`encode_frame`, `MAX_FRAME`), so both sides share one
definition. What it does not guarantee: a job's child is forked from the zygote, so its
memory holds a copy of what the zygote's heap still holds of earlier jobs' code and inputs
(never a nonce, never an expected value: those are not sent into the container).
"""

from __future__ import annotations

import json
import os
import signal
import struct
import sys
import time

if __package__:  # imported on the host as part of zeroplay
    from zeroplay.sandbox.codec import Unserializable, from_tagged, to_tagged
else:  # run as a script in the container, where codec.py lies beside this file
    from codec import Unserializable, from_tagged, to_tagged

MAX_FRAME = 32 * 2**20
RESULT_FD_SLOT = 3
OUTPUT_FILE = "/tmp/.zeroplay-output"
JOB_DIR = "/tmp/job"
JOB_UID = JOB_GID = 10001  # the image's `sandbox` user; the machinery runs as root
NO_JOB_USER = "cannot_switch_to_job_user"  # a ping's anomaly: the container lacks the caps
DEFAULT_LIMITS = {
    "wall_s": 10.0,
    "cpu_s": 5,
    "mem_bytes": 256 * 2**20,
    "output_bytes": 65536,
    "nofile": 64,
    "result_bytes": 8 * 2**20,
}
PRELOAD = (
    "math", "itertools", "functools", "collections", "re", "string", "heapq", "bisect",
    "operator", "typing", "fractions", "decimal", "statistics", "dataclasses", "json",
)

# --- framing -----------------------------------------------------------------------------


def encode_frame(obj: object) -> bytes:
    data = json.dumps(obj, separators=(",", ":")).encode()
    return struct.pack(">I", len(data)) + data


def _read_exact(fd: int, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> object | None:
    """The next frame from `fd`, or None at EOF."""
    head = _read_exact(fd, 4)
    if head is None:
        return None
    (n,) = struct.unpack(">I", head)
    if n > MAX_FRAME:
        raise ValueError(f"frame of {n} bytes is over the limit")
    body = _read_exact(fd, n)
    return None if body is None else json.loads(body)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


# --- process hygiene ---------------------------------------------------------------------


def _make_undumpable() -> None:
    """Nothing but root with CAP_SYS_PTRACE may then trace us or open /proc/<pid>/fd."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
    except Exception:
        pass


def become_job_user() -> None:
    """Switch to the job user for good; raises if any id stayed privileged."""
    os.setgroups([])
    os.setresgid(JOB_GID, JOB_GID, JOB_GID)
    os.setresuid(JOB_UID, JOB_UID, JOB_UID)
    if set(os.getresuid()) != {JOB_UID} or set(os.getresgid()) != {JOB_GID}:
        raise PermissionError("the job user switch left a privileged id")


def _can_become_job_user() -> bool:
    """Whether a forked process can switch to the job user (root with CAP_SETUID and
    CAP_SETGID can); without it every job would fail, so the host is told at start."""
    pid = os.fork()
    if pid == 0:
        try:
            become_job_user()
        except BaseException:
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def _live(pid: str) -> bool:
    """True if any thread of the process is not a zombie (a thread group whose leader
    exited by a raw `exit` syscall shows `Z` while its other threads run on)."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        if stat[stat.rfind(b")") + 2:][:1] not in (b"Z", b"X"):
            return True
    return False


def _other_pids(keep: set[int]) -> list[int]:
    """Processes with a live thread in this container, other than `keep`."""
    return [int(name) for name in os.listdir("/proc")
            if name.isdigit() and int(name) not in keep and _live(name)]


def _sweep(keep: set[int]) -> int:
    """Kill every process not in `keep`; return how many there were."""
    found: set[int] = set()
    for _ in range(200):
        pids = _other_pids(keep)
        if not pids:
            break
        found.update(pids)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.002)
    return len(found)


def _wipe_tmp() -> bool:
    """Empty /tmp so that no job sees what an earlier one left. True if it is empty.

    Root (without CAP_DAC_OVERRIDE) removes what it may: its own output file, and what
    the job left at the top of /tmp, which root owns. What a job left inside its own
    directories (perhaps locked, mode 0) needs their owner: then a helper that becomes the
    job user removes it (as owner it may chmod), and root removes the rest."""
    import shutil

    def force(func, path, _exc):
        try:
            os.chmod(os.path.dirname(path), 0o700)
            os.chmod(path, 0o700)
            func(path)
        except OSError:
            pass

    def wipe() -> None:
        for name in os.listdir("/tmp"):
            path = os.path.join("/tmp", name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, onerror=force)
            else:
                try:
                    os.unlink(path)
                except OSError:
                    pass

    wipe()
    if os.listdir("/tmp"):
        pid = os.fork()
        if pid == 0:
            try:
                become_job_user()
                wipe()
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        wipe()
    return not os.listdir("/tmp")


def _ipc_objects() -> int:
    """SysV IPC objects and POSIX message queues: state that could outlive a job."""
    count = 0
    for kind in ("shm", "msg", "sem"):
        try:
            with open(f"/proc/sysvipc/{kind}") as f:
                count += max(0, len(f.read().strip().splitlines()) - 1)
        except OSError:
            pass
    try:
        count += len(os.listdir("/dev/mqueue"))
    except OSError:
        pass
    return count


# --- the child: runs one job -------------------------------------------------------------


def _child(job: dict, result_fd: int) -> None:
    """Runs in the forked child; never returns."""
    import resource

    try:
        os.setsid()
        # SIGXFSZ back to its default (Python ignores it), so passing the output cap ends
        # the job instead of raising an exception that the job could catch.
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGPIPE, signal.SIGXFSZ):
            signal.signal(sig, signal.SIG_DFL)
        limits = {**DEFAULT_LIMITS, **job.get("limits", {})}
        # Created by root, mode 0600: the job writes through its stdout and stderr but
        # cannot reopen the file, nor chmod it.
        out = os.open(OUTPUT_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                      0o600)
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.dup2(result_fd, RESULT_FD_SLOT)
        os.closerange(RESULT_FD_SLOT + 1, 1 << 16)
        cpu = int(limits["cpu_s"])
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.setrlimit(resource.RLIMIT_AS, (limits["mem_bytes"],) * 2)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits["output_bytes"],) * 2)
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits["nofile"],) * 2)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        become_job_user()
        os.makedirs(JOB_DIR, exist_ok=True)
        os.chdir(JOB_DIR)
        sys.stdin = open(0, closefd=False)
        sys.stdout = open(1, "w", closefd=False)
        sys.stderr = open(2, "w", closefd=False)
    except BaseException:
        os._exit(70)
    payload = _run_job(job)
    try:
        _write_all(RESULT_FD_SLOT, encode_frame(payload))
    except BaseException:
        os._exit(71)
    os._exit(0)


def _describe(exc: BaseException) -> list:
    try:
        message = str(exc)[:300]
    except BaseException:
        message = "<unprintable>"
    return [type(exc).__name__, message]


def _run_job(job: dict) -> dict:
    import builtins

    namespace = {"__name__": "__solution__", "__builtins__": builtins}
    try:
        exec(compile(job["code"], "<solution>", "exec"), namespace)
        fn = namespace.get(job["entry_point"])
        if not callable(fn):
            raise NameError(f"entry point {job['entry_point']!r} is not defined")
    except BaseException as exc:
        return {"load_error": _describe(exc)}
    results = []
    for args in job["inputs"]:
        try:
            value = fn(*[from_tagged(a) for a in args])
            results.append({"ok": to_tagged(value)})
        except Unserializable as exc:
            results.append({"exc": ["Unserializable", str(exc)]})
        except BaseException as exc:
            results.append({"exc": _describe(exc)})
    return {"results": results}


# --- the zygote: forks one child per job -------------------------------------------------


def zygote() -> None:
    import select

    _make_undumpable()
    for name in PRELOAD:
        try:
            __import__(name)
        except ImportError:
            pass
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    _write_all(1, encode_frame({"ready": True}))  # warm: the supervisor may take jobs now
    while True:
        job = read_frame(0)
        if job is None:
            return
        limits = {**DEFAULT_LIMITS, **job.get("limits", {})}
        start = time.monotonic()
        deadline = start + float(limits["wall_s"])
        oom_before = _oom_kills()
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            _child(job, w)
        os.close(w)
        buf, frame, overflow, timed_out = bytearray(), None, False, False
        while frame is None:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([r], [], [], left)
            if not ready:
                continue
            chunk = os.read(r, 1 << 20)
            if not chunk:
                break
            buf += chunk
            if len(buf) > limits["result_bytes"] + 4:
                overflow = True
                break
            if len(buf) >= 4:
                (n,) = struct.unpack(">I", buf[:4])
                if n > limits["result_bytes"]:
                    overflow = True
                    break
                if len(buf) >= 4 + n:
                    frame = bytes(buf[4 : 4 + n])
        os.close(r)
        status_word = _reap(pid, deadline if not (timed_out or overflow) else 0)
        elapsed = time.monotonic() - start
        oom = oom_before is not None and (_oom_kills() or 0) > oom_before
        report = _classify(status_word, frame, timed_out, overflow, oom)
        report["elapsed"] = round(elapsed, 6)
        report["stdout"] = _output_excerpt()
        _write_all(1, encode_frame(report))


OOM_COUNTERS = ("/sys/fs/cgroup/memory.events",  # cgroup v2
                "/sys/fs/cgroup/memory/memory.oom_control")  # cgroup v1


def _oom_kills() -> int | None:
    """How many processes the container's cgroup has OOM-killed; None if unreadable."""
    for path in OOM_COUNTERS:
        try:
            with open(path) as f:
                for line in f:
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        return int(value)
        except (OSError, ValueError):
            continue
    return None


def _reap(pid: int, deadline: float) -> int | None:
    """Wait for the child until `deadline`, then kill its process group. Its wait status."""
    status = None
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.0005)
        status = None
    for target in (-pid, pid):
        try:
            os.kill(target, signal.SIGKILL)
        except OSError:
            pass
    if status is None:
        _, status = os.waitpid(pid, 0)
    return status


def _classify(status: int | None, frame: bytes | None, timed_out: bool, overflow: bool,
              oom: bool = False) -> dict:
    if oom:  # the container's memory ran out: whatever died, the job used too much
        return {"status": "memory", "detail": "the container ran out of memory (OOM kill)"}
    if overflow:
        return {"status": "output_limit", "detail": "result larger than the limit"}
    sig = os.WTERMSIG(status) if status is not None and os.WIFSIGNALED(status) else None
    if frame is not None and sig is None:
        return {"status": "ok", "payload": frame.decode("utf-8", "replace")}
    if timed_out or sig in (signal.SIGXCPU, signal.SIGKILL):
        return {"status": "timeout", "detail": "wall-clock or CPU limit reached"}
    if sig == signal.SIGXFSZ:
        return {"status": "output_limit", "detail": "printed or wrote more than the limit"}
    if sig is not None:
        return {"status": "crash", "detail": f"killed by signal {signal.Signals(sig).name}"}
    code = os.WEXITSTATUS(status) if status is not None else None
    return {"status": "crash", "detail": f"exited with code {code} before returning results"}


def _output_excerpt(limit: int = 2048) -> str:
    try:
        fd = os.open(OUTPUT_FILE, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            return os.read(fd, limit).decode("utf-8", "replace")
        finally:
            os.close(fd)
    except OSError:
        return ""


# --- the supervisor ----------------------------------------------------------------------


def supervise() -> None:
    _make_undumpable()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, signal.SIG_IGN)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    # Two warm interpreters with different hash seeds: a job asks for the other one to
    # run a reference a second time where `hash()`, set order and `id()` differ.
    seed = 1 + int.from_bytes(os.urandom(4), "big") % (2**32 - 1)
    zygotes = [_start_zygote({k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}),
               _start_zygote({**os.environ, "PYTHONHASHSEED": str(seed)})]
    if None in zygotes:
        return
    keep = {1, os.getpid(), *(z[0] for z in zygotes)}
    switches = _can_become_job_user()
    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    while True:
        try:
            msg = read_frame(stdin)
        except ValueError:
            return
        if msg is None:
            return
        nonce = msg.get("nonce")
        if msg.get("op") == "ping":
            anomalies = _check_clean(keep, zygotes) + ([] if switches else [NO_JOB_USER])
            _write_all(stdout, encode_frame({"nonce": nonce, "op": "pong",
                                             "anomalies": anomalies}))
            continue
        job = {k: msg[k] for k in ("code", "entry_point", "inputs", "limits") if k in msg}
        _, to_zygote, from_zygote = zygotes[1 if msg.get("other_interpreter") else 0]
        try:
            _write_all(to_zygote, encode_frame(job))
            report = read_frame(from_zygote)
        except (OSError, ValueError):
            report = None
        anomalies = []
        if report is None:
            report = {"status": "crash", "detail": "the job killed the sandbox's job runner"}
            anomalies.append("zygote_died")
        leftovers = _sweep(keep)
        if leftovers:
            anomalies.append(f"leftover_processes:{leftovers}")
        if not _wipe_tmp():
            anomalies.append("tmp_not_empty")
        if _ipc_objects():
            anomalies.append("ipc_objects")
        report.update(nonce=nonce, anomalies=anomalies)
        _write_all(stdout, encode_frame(report))
        if "zygote_died" in anomalies:
            return


def _start_zygote(env: dict[str, str]) -> tuple[int, int, int] | None:
    """Fork and exec a zygote with `env`; (pid, its stdin, its stdout) once it is warm."""
    to_zygote_r, to_zygote_w = os.pipe()
    from_zygote_r, from_zygote_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.dup2(to_zygote_r, 0)
        os.dup2(from_zygote_w, 1)
        os.closerange(3, 1 << 16)
        os.execve(sys.executable, [sys.executable, "-u", __file__, "--zygote"], env)
    os.close(to_zygote_r)
    os.close(from_zygote_w)
    if read_frame(from_zygote_r) != {"ready": True}:
        return None
    return pid, to_zygote_w, from_zygote_r


def _check_clean(keep: set[int], zygotes: list[tuple[int, int, int]]) -> list[str]:
    anomalies = []
    for pid, _, _ in zygotes:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            anomalies.append("zygote_died")
            break
    if _other_pids(keep):
        anomalies.append("leftover_processes")
    return anomalies


if __name__ == "__main__":
    if sys.argv[1:] == ["--zygote"]:
        zygote()
    else:
        supervise()
