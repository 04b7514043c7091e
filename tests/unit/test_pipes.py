"""Reading a running process's pipe until it says enough: real child
processes that write lines as they go, and go on running or exit."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest

from orchestrator.processes.pipes import read_until

READY = re.compile(rb"listening on (\w+)")


@pytest.fixture
def child():
    started = []

    def start(script: str) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()
        proc.wait()
        proc.stdout.close()


SAYS_THEN_RUNS = """
import sys, time
for line in ("starting", "listening on eth0", "later"):
    print(line, flush=True)
    time.sleep(0.1)
time.sleep(30)
"""


def test_what_accept_found_as_soon_as_it_came_while_the_process_runs(child):
    proc = child(SAYS_THEN_RUNS)
    began = time.monotonic()
    found, seen = read_until(proc, proc.stdout, READY.search, timeout=10)
    assert found[1] == b"eth0" and time.monotonic() - began < 5
    assert seen.startswith(b"starting\nlistening on eth0\n") and b"later" not in seen
    assert proc.poll() is None


def test_nothing_accepted_by_the_deadline_returns_what_was_said(child):
    proc = child("print('starting', flush=True); import time; time.sleep(30)")
    began = time.monotonic()
    assert read_until(proc, proc.stdout, READY.search, timeout=0.5) == (None, b"starting\n")
    assert 0.5 <= time.monotonic() - began < 5


def test_a_process_that_ends_first_ends_the_wait(child):
    proc = child("print('bad option'); raise SystemExit(3)")
    began = time.monotonic()
    assert read_until(proc, proc.stdout, READY.search, timeout=30) == (None, b"bad option\n")
    assert time.monotonic() - began < 5


def test_accept_sees_everything_read_so_far_across_chunks(child):
    proc = child("import time\nprint('{\"a\":', flush=True); time.sleep(0.2); print(' 1}')")

    def whole(seen: bytes):
        return seen if seen.strip().endswith(b"}") else None
    found, _ = read_until(proc, proc.stdout, whole, timeout=10)
    assert found == b'{"a":\n 1}\n'
