"""A crash point kills its whole session at the n-th reach, and nothing without the env."""

import os
import subprocess
import sys
import time

import psutil
import pytest

from zeroplay.errors import ConfigError
from zeroplay.failpoints import ENV, crash_point

SCRIPT = """
import subprocess, sys, time
from zeroplay.failpoints import crash_point
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(child.pid, flush=True)
for i in range(1, 4):
    crash_point("generation")
    print("passed", i, flush=True)
"""


def _run(value: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=60, env={**os.environ, ENV: value}, start_new_session=True)


def test_the_nth_reach_kills_the_process_and_its_session():
    killed = _run("generation:2")
    assert killed.returncode == -9
    lines = killed.stdout.split()
    assert lines[1:] == ["passed", "1"]
    deadline = time.monotonic() + 10
    try:  # the child, of the same session, went too (a zombie until reaped)
        child = psutil.Process(int(lines[0]))
        while child.status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline, child.status()
            time.sleep(0.1)
    except psutil.NoSuchProcess:
        pass


def test_other_points_pass_and_a_bad_value_is_an_error(monkeypatch):
    passed = _run("validation:1")
    assert passed.returncode == 0 and passed.stdout.split()[1:] == [
        "passed", "1", "passed", "2", "passed", "3"]
    monkeypatch.setenv(ENV, "nowhere:1")
    with pytest.raises(ConfigError, match="expected <point>:<n>"):
        crash_point("generation")
