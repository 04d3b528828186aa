"""Hostile solutions against the real sandbox: each is contained and changes nothing on the host."""

import os
import threading

import pytest

from zeroplay.sandbox.codec import from_tagged
from zeroplay.sandbox.pool import Job, SandboxPool
from zeroplay.sandbox.selftest import CASES, host_listener, run_case

pytestmark = pytest.mark.docker
SANDBOX_UID = 10001


def _sandbox_processes() -> set[int]:
    """Host pids running as the sandbox user (all of them live inside containers). Read
    from /proc/<pid>/status: a job is not dumpable, so its /proc directory belongs to root."""
    pids = set()
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/status") as status:
                    uids = next(line for line in status if line.startswith("Uid:")).split()[1:]
            except (OSError, StopIteration):
                continue
            if str(SANDBOX_UID) in uids:
                pids.add(int(name))
    return pids


def _container_pids(docker_client, pool) -> set[int]:
    pids = set()
    for worker in list(pool._live):
        top = docker_client.api.top(worker.container.id, ps_args="-eo pid")
        pids.update(int(row[0]) for row in top["Processes"])
    return pids


@pytest.fixture
def listener():
    server, port = host_listener()
    connections = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            connections.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield port, connections
    stop.set()
    thread.join()
    server.close()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_hostile_case_is_contained(case, pool, fast_sandbox_cfg, docker_client, listener):
    port, connections = listener
    host_tmp_before = set(os.listdir("/tmp"))
    row = run_case(pool, case, fast_sandbox_cfg, port)
    for verdict in row.verdicts:
        assert verdict.reward == 0.0
        assert verdict.status in case.expect, verdict.detail
    assert [v.reward for v in row.wrong_after] == [0.0] * len(row.wrong_after), \
        "a wrong solution judged after the case was rewarded: a forged verdict"
    assert row.honest_after.status == "pass" and row.honest_after.reward == 1.0
    assert connections == [], "a sandboxed job reached a listener on the host's loopback"
    new_host_tmp = set(os.listdir("/tmp")) - host_tmp_before
    assert not [n for n in new_host_tmp if "marker" in n or n.startswith(("fill-", "big"))]
    pool.settle()
    stray = _sandbox_processes() - _container_pids(docker_client, pool)
    assert not stray, f"sandbox-user processes outside live containers: {stray}"


ENV_PROBE = """
import os
def f(x):
    seen = [repr(dict(os.environ))]
    for path in ('/proc/self/environ', '/proc/1/environ'):
        try:
            with open(path, 'rb') as src:
                seen.append(src.read().decode('latin-1'))
        except OSError:
            pass
    return [os.environ.get('ZEROPLAY_TEST_SECRET'), '\\n'.join(seen)]
"""


def test_secrets_of_the_host_are_not_visible(sandbox_image, fast_sandbox_cfg, monkeypatch):
    # The variable is set before this test's own pool starts its containers, so a pool that
    # forwarded the host's environment would hand it to them (the shared pool is older).
    monkeypatch.setenv("ZEROPLAY_TEST_SECRET", "s3cr3t-value")
    cfg = fast_sandbox_cfg.model_copy(update={"pool_size": 1})
    case = next(c for c in CASES if c.name == "read secrets")
    with SandboxPool(cfg, sandbox_image.tag) as own:
        probe = own.run(Job(ENV_PROBE, "f", [[["i", 0]]]))
        row = run_case(own, case, cfg, 1)
    assert probe.status == "ok" and probe.results is not None, probe.detail
    variable, environment = from_tagged(probe.results[0]["ok"])
    assert "'PATH'" in environment  # the probe did read the container's environment
    assert variable is None
    assert "s3cr3t-value" not in environment
    seen = str(row.verdicts[0].detail.get("got"))
    assert "s3cr3t-value" not in seen
    assert "root:" not in seen  # /etc/shadow was not readable
