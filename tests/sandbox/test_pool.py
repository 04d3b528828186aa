"""The warm container pool against the real Docker engine."""

import threading

import pytest

from zeroplay.sandbox.codec import from_tagged
from zeroplay.sandbox.pool import (
    LABEL,
    OWNER_LABEL,
    Job,
    JobResult,
    SandboxPool,
    remove_orphans,
    triage,
)

pytestmark = pytest.mark.docker
HONEST = Job("def f(x):\n    return x + 1\n", "f", [[["i", i]] for i in range(3)])


def _ids(pool):
    return {w.container.id for w in pool._live}


def test_containers_are_hardened(pool, docker_client, fast_sandbox_cfg):
    cfg = fast_sandbox_cfg
    for worker in list(pool._live):
        attrs = docker_client.api.inspect_container(worker.container.id)
        host = attrs["HostConfig"]
        assert host["NetworkMode"] == "none"
        assert host["ReadonlyRootfs"] is True
        assert host["CapDrop"] == ["ALL"]
        assert "no-new-privileges" in host["SecurityOpt"]
        assert host["PidsLimit"] == cfg.pids_limit
        assert host["Memory"] == host["MemorySwap"] == cfg.memory_mb * 2**20
        assert host["NanoCpus"] == int(cfg.cpus * 1e9)
        assert host["Init"] is True
        assert host["LogConfig"]["Type"] == "none"
        assert host["IpcMode"] == "none"
        assert host["Runtime"] == cfg.runtime
        assert not host.get("Binds") and attrs["Mounts"] == []
        assert f"size={cfg.tmpfs_mb}m" in host["Tmpfs"]["/tmp"]
        assert "noexec" in host["Tmpfs"]["/tmp"]
        assert attrs["Config"]["User"] == "0:0"  # the machinery; jobs run as 10001
        assert sorted(host["CapAdd"]) == ["CAP_KILL", "CAP_SETGID", "CAP_SETUID"] or \
            sorted(host["CapAdd"]) == ["KILL", "SETGID", "SETUID"]
        assert attrs["Config"]["Labels"][LABEL] == "1"
        env = {e.split("=", 1)[0] for e in attrs["Config"]["Env"]}
        assert env <= {"PATH", "LANG", "PYTHONDONTWRITEBYTECODE", "HOSTNAME"}


def test_inside_a_job_there_is_no_network_and_no_privilege(pool):
    code = ("import os\ndef f(x):\n    return [sorted(os.listdir('/sys/class/net')), os.getuid(),"
            " os.access('/', os.W_OK), open('/proc/self/status').read().count('CapEff:\\t0000000000000000')]\n")
    result = pool.run(Job(code, "f", [[["i", 0]]]))
    assert result.results == [{"ok": ["l", [["l", [["s", "lo"]]], ["i", 10001], ["b", False],
                                           ["i", 1]]]}]


MACHINERY_PROBE = """
import ctypes, errno, os, resource, signal
def denied(action):
    try:
        action()
    except PermissionError:
        return True
    return False
def f(x):
    libc = ctypes.CDLL(None, use_errno=True)
    eperm = lambda ret: ret == -1 and ctypes.get_errno() == errno.EPERM
    out = {}
    zygote = os.getppid()
    supervisor = int(open(f'/proc/{zygote}/stat').read().rsplit(')', 1)[1].split()[1])
    for pid in (1, supervisor, zygote):
        out[f'signal {pid}'] = denied(lambda: os.kill(pid, signal.SIGSTOP))
        out[f'prlimit {pid}'] = denied(
            lambda: resource.prlimit(pid, resource.RLIMIT_NOFILE, (1, 1)))
        for name in ('fd/0', 'fd/1', 'mem', 'environ'):
            out[f'open {pid} {name}'] = denied(lambda: open(f'/proc/{pid}/{name}', 'rb'))
        out[f'ptrace {pid}'] = eperm(libc.ptrace(0x4206, pid, None, None))  # PTRACE_SEIZE
        buf = ctypes.create_string_buffer(8)
        iov = (ctypes.c_void_p * 2)(ctypes.addressof(buf), 8)
        out[f'process_vm_readv {pid}'] = eperm(libc.process_vm_readv(pid, iov, 1, iov, 1, 0))
    out['uids'] = os.getresuid() == os.getresgid() == (10001, 10001, 10001)
    return out
"""


def test_a_job_cannot_reach_the_machinery(pool):
    """The verdict channel: no signal, rlimit, /proc handle, trace or memory read of pid 1
    (which holds the container's stdin and stdout), the supervisor or the zygote."""
    result = pool.run(Job(MACHINERY_PROBE, "f", [[["i", 0]]]))
    checks = from_tagged(result.results[0]["ok"])
    assert checks and all(checks.values()), {k: v for k, v in checks.items() if not v}


def test_results_are_tagged_per_input(pool):
    result = pool.run(Job("def f(x):\n    return 10 // x\n", "f", [[["i", 5]], [["i", 0]]]))
    assert result.status == "ok"
    assert result.results[0] == {"ok": ["i", 2]}
    assert result.results[1]["exc"][0] == "ZeroDivisionError"


def test_map_yields_every_job_once(pool):
    jobs = [Job(f"def f(x):\n    return x + {i}\n", "f", [[["i", 1]]]) for i in range(12)]
    seen = dict(pool.map(jobs))
    assert sorted(seen) == list(range(12))
    assert all(seen[i].results == [{"ok": ["i", 1 + i]}] for i in range(12))


def test_batch_deadline_times_out_jobs_not_started(pool):
    slow = Job("import time\ndef f(x):\n    time.sleep(1.5)\n    return x\n", "f", [[["i", 1]]])
    results = dict(pool.map([slow] * 6, deadline_s=0.5))
    statuses = [results[i].status for i in range(6)]
    assert statuses.count("ok") == pool.cfg.pool_size
    assert all(s == "timeout" for s in statuses if s != "ok")
    assert any("batch deadline" in r.detail for r in results.values())


def test_concurrent_callers_share_the_pool(pool):
    out, errors = [], []

    def call():
        try:
            out.append(pool.run(HONEST).results)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert out == [[{"ok": ["i", 1]}, {"ok": ["i", 2]}, {"ok": ["i", 3]}]] * 8


def test_anomaly_recycles_the_container(pool):
    before = _ids(pool)
    recycled = pool.recycled
    # The job returns only once its child has left the job's session: under load the
    # runner's clean-up could otherwise kill the child before it escapes.
    leaves_a_daemon = ("import os, time\ndef f(x):\n    r, w = os.pipe()\n"
                       "    if os.fork() == 0:\n        os.setsid()\n        os.write(w, b'1')\n"
                       "        time.sleep(60)\n    os.read(r, 1)\n    return x\n")
    result = pool.run(Job(leaves_a_daemon, "f", [[["i", 1]]]))
    assert any(a.startswith("leftover_processes") for a in result.anomalies)
    assert pool.run(HONEST).status == "ok"
    assert pool.recycled >= recycled + 1  # (an earlier test's recycle may finish now)
    pool.settle()
    assert _ids(pool) != before
    assert len(_ids(pool)) == pool.cfg.pool_size


def test_recycled_after_n_jobs_and_warmed_first(sandbox_image, fast_sandbox_cfg, docker_client):
    cfg = fast_sandbox_cfg.model_copy(update={"pool_size": 1, "recycle_after_jobs": 3})
    with SandboxPool(cfg, sandbox_image.tag) as small:
        first = _ids(small)
        for _ in range(3):
            assert small.run(HONEST).status == "ok"
        assert small.run(HONEST).status == "ok"  # served by the replacement
        assert small.recycled == 1
        assert _ids(small).isdisjoint(first)
        assert all(small.health() == [] for _ in range(2))
    mine = docker_client.containers.list(all=True, filters={"label": f"{OWNER_LABEL}={small.owner}"})
    assert [c for c in mine if c.id in first] == []


def test_close_removes_every_container(sandbox_image, fast_sandbox_cfg, docker_client):
    cfg = fast_sandbox_cfg.model_copy(update={"pool_size": 2})
    small = SandboxPool(cfg, sandbox_image.tag)
    ids = _ids(small)
    small.close()
    left = {c.id for c in docker_client.containers.list(all=True, filters={"label": LABEL})}
    assert not ids & left


def test_orphans_of_dead_owners_are_removed(sandbox_image, docker_client):
    import socket

    dead_owner = f"{socket.gethostname()}:999999999"
    orphan = docker_client.containers.create(
        sandbox_image.tag, labels={LABEL: "1", OWNER_LABEL: dead_owner}, network_mode="none")
    assert remove_orphans(docker_client) >= 1
    left = {c.id for c in docker_client.containers.list(all=True, filters={"label": LABEL})}
    assert orphan.id not in left


def test_unknown_runtime_is_a_clear_error(sandbox_image, fast_sandbox_cfg):
    from zeroplay.sandbox.pool import SandboxError

    cfg = fast_sandbox_cfg.model_copy(update={"runtime": "no-such-runtime"})
    with pytest.raises(SandboxError, match="not a runtime of this Docker engine.*sandbox.runtime=runc"):
        SandboxPool(cfg, sandbox_image.tag)


@pytest.mark.parametrize(
    ("result", "kind"),
    [
        (JobResult("ok", results=[{"ok": ["i", 1]}]), None),
        (JobResult("ok", results=[{"exc": ["ValueError", "no"]}]), None),
        (JobResult("timeout", detail="wall"), "timeout"),
        (JobResult("crash", anomalies=["broken_reply"]), "crash"),  # the status wins
        (JobResult("ok", results=[], anomalies=["tmp_not_empty"]), "unclean"),
        (JobResult("ok", load_error=["SyntaxError", "bad"], anomalies=["ipc_objects"]),
         "unclean"),
        (JobResult("ok", load_error=["SyntaxError", "bad"]), "load_error"),
        (JobResult("ok", load_error=[]), "load_error"),  # forged by the job: still one line
    ],
)
def test_triage_reads_status_then_anomalies_then_load_error(result, kind):
    failure = triage(result)
    assert (failure and failure.kind) == kind
    assert failure is None or failure.detail
