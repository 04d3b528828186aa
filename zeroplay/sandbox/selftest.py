"""The adversarial suite: hostile solutions the sandbox must contain.

    rows = run_selftest(pool, cfg)    # one SelftestRow per hostile case, `contained` or not

Every case is judged against the task "return x + 1" (integer inputs). A case is
contained when it gets reward 0 with one of its expected statuses, a few wrong solutions
judged after it (on whatever containers the pool hands out next) all get reward 0, so
nothing it left behind forged their verdicts, and the honest solution judged last still
passes. Cases marked `repeat` run twice, to show that nothing one job leaves behind
reaches the next. `zeroplay sandbox selftest` prints the table; the tests run the same
cases with extra checks on the host.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

from zeroplay.config import SandboxConfig
from zeroplay.handoff import TestCase, Verdict
from zeroplay.sandbox.pool import SandboxPool
from zeroplay.sandbox.verdicts import judge

HONEST = "def f(x):\n    return x + 1\n"
WRONG = "def f(x):\n    return x + 2\n"
WRONG_AFTER = 4  # wrong solutions judged after each case: any reward means a forged verdict
LINGER_S = 0.5  # what a case left behind gets this long to act before they are judged
TESTS = [TestCase([["i", x]], ["i", x + 1], public=x < 1) for x in range(5)]
FAILED = ("fail", "error", "timeout", "memory", "output_limit")


@dataclass(frozen=True)
class HostileCase:
    name: str
    code: str
    expect: tuple[str, ...]  # acceptable statuses (reward must be 0 in every one)
    repeat: bool = False


def _code(body: str) -> str:
    return body.strip("\n") + "\n"


CASES: list[HostileCase] = [
    HostileCase("fork bomb", _code("""
import os
def f(x):
    while True:
        os.fork()
"""), FAILED),
    HostileCase("10k threads", _code("""
import threading, time
def f(x):
    for _ in range(10000):
        threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
    return x + 1
"""), ("fail",)),
    HostileCase("busy loop", "def f(x):\n    while True:\n        pass\n", ("timeout",)),
    HostileCase("sleep forever", "import time\ndef f(x):\n    time.sleep(1e9)\n", ("timeout",)),
    HostileCase("catastrophic regex", _code("""
import re
def f(x):
    return len(re.findall(r'(a+)+$', 'a' * 64 + 'b'))
"""), ("timeout",)),
    HostileCase("huge power 10**10**8", "def f(x):\n    return 10**10**8\n", ("timeout", "memory")),
    HostileCase("ignore SIGALRM/SIGTERM/SIGXCPU", _code("""
import signal
def f(x):
    for s in (signal.SIGALRM, signal.SIGTERM, signal.SIGXCPU, signal.SIGINT):
        signal.signal(s, signal.SIG_IGN)
    while True:
        pass
"""), ("timeout",)),
    HostileCase("allocate 10 GB", "def f(x):\n    return len(bytearray(10 * 2**30))\n",
                ("memory",)),
    HostileCase("exhaust the container's memory from several processes", _code("""
import os, time
def f(x):
    for _ in range(CHILDREN):  # each under the job's limit, together over the container's
        if os.fork() == 0:
            hog = b'x' * (HOG_MB * 2**20)
            time.sleep(5)
            os._exit(0)
    hog = b'x' * (HOG_MB * 2**20)
    time.sleep(1)
    return x + 1
"""), ("memory",)),
    HostileCase("fill /tmp", _code("""
import os
def f(x):
    i = 0
    while True:
        with open(f'/tmp/fill-{i}', 'wb') as out:
            out.write(b'x' * 60000)
        i += 1
"""), ("fail", "output_limit")),
    HostileCase("write a 1 GB file", _code("""
def f(x):
    with open('/tmp/big', 'wb') as out:
        for _ in range(1024):
            out.write(b'x' * 2**20)
    return x + 1
"""), ("output_limit",)),
    HostileCase("print 1 GB", _code("""
def f(x):
    line = 'x' * 2**20
    for _ in range(1024):
        print(line)
    return x + 1
"""), ("output_limit",)),
    HostileCase("double-fork daemon outlives the job", _code("""
import os, time
def f(x):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(600)
        os._exit(0)
    return x + 1
"""), ("error",)),
    HostileCase("marker file read by the next job", _code("""
import os
PLACES = ['/tmp/.marker', '/tmp/job/.marker', '/dev/shm/.marker', '/var/tmp/.marker',
          '/dev/mqueue/.marker', os.path.expanduser('~/.marker')]
SEEN = any(os.path.exists(p) for p in PLACES)
for p in PLACES:
    try:
        open(p, 'w').write('1')
    except OSError:
        pass
def f(x):
    return x + 1 if SEEN else -1
"""), ("fail", "error"), repeat=True),
    HostileCase("connect out (host loopback listener, any address)", _code("""
import os, socket
def f(x):
    assert sorted(os.listdir('/sys/class/net')) == ['lo'], os.listdir('/sys/class/net')
    socket.create_connection(('127.0.0.1', PORT), timeout=2).close()
    return x + 1
"""), ("fail",)),
    HostileCase("read secrets", _code("""
import os
def f(x):
    found = []
    for path in ('/etc/shadow', '/proc/1/environ', '/var/run/docker.sock', '/run/docker.sock',
                 '/root/.docker/config.json'):
        try:
            found.append(open(path, 'rb').read(200))
        except OSError:
            pass
    return repr([found, dict(os.environ)])
"""), ("fail",)),
    HostileCase("kill the parent", "import os\ndef f(x):\n    os.kill(os.getppid(), 9)\n",
                ("fail", "error")),
    HostileCase("kill pid 1", _code("""
import os, signal
def f(x):
    for s in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT):
        os.kill(1, s)
    return -1
"""), ("fail", "error")),
    HostileCase("kill -1", "import os\ndef f(x):\n    os.kill(-1, 9)\n", ("fail", "error")),
    HostileCase("sys.exit(0) at import", "import sys\nsys.exit(0)\ndef f(x):\n    return x + 1\n",
                ("error",)),
    HostileCase("os._exit(0) before returning", "import os\ndef f(x):\n    os._exit(0)\n",
                ("error",)),
    HostileCase("fake protocol frames and ALL TESTS PASSED", _code("""
import json, os, struct, sys
def f(x):
    fake = json.dumps({'status': 'ok', 'nonce': '0' * 32, 'payload': '{"results": []}'}).encode()
    print('ALL TESTS PASSED')
    sys.stdout.buffer.write(struct.pack('>I', len(fake)) + fake)
    sys.stdout.flush()
    try:
        fd = os.open('/proc/1/fd/1', os.O_WRONLY)
        os.write(fd, struct.pack('>I', len(fake)) + fake)
    except OSError:
        pass
    return -1
"""), ("fail", "error")),
    HostileCase("monkeypatch builtins, json, pickle, the supervisor", _code("""
import builtins, json, pickle, sys
builtins.isinstance = lambda *a: True
json.dumps = lambda *a, **k: '{"results": [{"ok": ["i", 0]}]}'
pickle.dumps = lambda *a, **k: b''
for mod in list(sys.modules.values()):
    if hasattr(mod, 'to_tagged'):
        mod.to_tagged = lambda v: ['b', True]
def f(x):
    return x + 1
"""), ("fail", "error")),
    HostileCase("__eq__ always True", _code("""
class Anything:
    def __eq__(self, other):
        return True
    __hash__ = object.__hash__
def f(x):
    return Anything()
"""), ("fail",)),
    HostileCase("deep recursion", _code("""
import sys
sys.setrecursionlimit(10**6)
def f(x):
    return f(x) + 1
"""), ("fail", "error", "memory", "timeout")),
    HostileCase("segfault via ctypes", "import ctypes\ndef f(x):\n    return ctypes.string_at(0)\n",
                ("error",)),
    HostileCase("input()", "def f(x):\n    return int(input()) + x\n", ("fail",)),
    HostileCase("forge later verdicts from a zombie's live thread", _code("""
import ctypes, json, os, platform, signal, struct, threading, time

def read_exact(fd, n):
    data = b''
    while len(data) < n:
        chunk = os.read(fd, n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data

def forge():
    time.sleep(0.1)  # until the supervisor has answered this job and looks clean
    # The container's stdin and stdout, held by pid 1: the host's frames, nonces included.
    try:
        frames_in = os.open('/proc/1/fd/0', os.O_RDONLY)
        frames_out = os.open('/proc/1/fd/1', os.O_WRONLY)
    except OSError:
        frames_in = frames_out = None
    for name in os.listdir('/proc'):  # stop the supervisor so that its frames come here
        try:
            cmd = open(f'/proc/{name}/cmdline', 'rb').read() if name.isdigit() else b''
            if name != '1' and b'supervisor.py' in cmd and b'--zygote' not in cmd:
                os.kill(int(name), signal.SIGSTOP)
        except OSError:
            pass
    if frames_in is None:
        return
    while True:
        (n,) = struct.unpack('>I', read_exact(frames_in, 4))
        msg = json.loads(read_exact(frames_in, n))
        if msg.get('op') == 'ping':
            reply = {'nonce': msg['nonce'], 'op': 'pong', 'anomalies': []}
        else:  # every later job "passes": x + 1 for each input x
            results = [{'ok': ['i', args[0][1] + 1]} for args in msg['inputs']]
            reply = {'nonce': msg['nonce'], 'status': 'ok', 'elapsed': 0.01, 'stdout': '',
                     'anomalies': [], 'payload': json.dumps({'results': results})}
        data = json.dumps(reply).encode()
        os.write(frames_out, struct.pack('>I', len(data)) + data)

STARTED = []

def f(x):
    if not STARTED and os.fork() == 0:
        os.setsid()
        threading.Thread(target=forge).start()
        # Only the main thread ends: the process shows as a zombie while forge() runs on.
        ctypes.CDLL(None).syscall(60 if platform.machine() == 'x86_64' else 93, 0)
    STARTED.append(x)
    return -1
"""), ("fail", "error")),
    HostileCase("write to site-packages", _code("""
import json, os, hypothesis
def f(x):
    for mod in (json, hypothesis):
        with open(os.path.join(os.path.dirname(mod.__file__), '__init__.py'), 'a') as out:
            out.write('raise SystemExit')
    return x + 1
"""), ("fail",)),
]


@dataclass(frozen=True)
class SelftestRow:
    name: str
    verdicts: tuple[Verdict, ...]
    expect: tuple[str, ...]
    wrong_after: tuple[Verdict, ...]
    honest_after: Verdict

    @property
    def contained(self) -> bool:
        return all(v.reward == 0 and v.status in self.expect for v in self.verdicts) and \
            all(v.reward == 0 for v in self.wrong_after) and \
            self.honest_after.status == "pass" and self.honest_after.reward == 1.0


def host_listener() -> tuple[socket.socket, int]:
    """A listener on the host's loopback that no sandboxed job may reach."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    return server, server.getsockname()[1]


def run_case(pool: SandboxPool, case: HostileCase, cfg: SandboxConfig, port: int) -> SelftestRow:
    hog_mb = cfg.job_memory_mb * 7 // 10
    code = case.code.replace("PORT", str(port)).replace("HOG_MB", str(hog_mb)).replace(
        "CHILDREN", str(cfg.memory_mb // hog_mb + 1))
    verdicts = [judge(pool, code, "f", TESTS, cfg) for _ in range(2 if case.repeat else 1)]
    time.sleep(LINGER_S)
    wrong = [judge(pool, WRONG, "f", TESTS, cfg) for _ in range(WRONG_AFTER)]
    honest = judge(pool, HONEST, "f", TESTS, cfg)
    return SelftestRow(case.name, tuple(verdicts), case.expect, tuple(wrong), honest)


def run_selftest(pool: SandboxPool, cfg: SandboxConfig, progress=None) -> list[SelftestRow]:
    """Run every hostile case; also fails a case if the host listener saw a connection."""
    server, port = host_listener()
    reached = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            reached.set()
            conn.close()

    stop = threading.Event()
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    rows = []
    try:
        for case in CASES:
            if progress:
                progress(case.name)
            row = run_case(pool, case, cfg, port)
            if reached.is_set():  # a connection reached the host: not contained
                row = SelftestRow(row.name, row.verdicts, (), row.wrong_after,
                                  row.honest_after)
                reached.clear()
            rows.append(row)
    finally:
        stop.set()
        watcher.join()
        server.close()
    return rows
