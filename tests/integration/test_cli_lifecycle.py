"""The lab's life through the command line: ``up`` in another process,
``exec`` into it, ``down``, Ctrl-C, SIGTERM, SIGKILL and ``clean``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from orchestrator.processes.pipes import read_until

from .conftest import leftovers

pytestmark = pytest.mark.root

UP_TIMEOUT = 60


def flowlab(*args: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "orchestrator", *args],
                          capture_output=True, text=True, timeout=timeout, **kwargs)


def start_up(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "orchestrator", "up", *args],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def wait_for(proc: subprocess.Popen, needle: str, timeout: float = UP_TIMEOUT) -> str:
    """Read the process's stderr until it contains ``needle``; what it said."""
    came, seen = read_until(proc, proc.stderr, lambda seen: needle.encode() in seen or None,
                            timeout)
    said = seen.decode(errors="replace")
    if not came:
        proc.kill()
        raise AssertionError(f"'{needle}' never came; stderr so far:\n{said}")
    return said


def test_up_exec_down(untouched_machine):
    up = start_up("enterprise", "--no-cli")
    wait_for(up, "is up;")
    ping = flowlab("exec", "xiaoming", "--", "ping", "-c1", "-W2", "10.1.2.2")
    assert ping.returncode == 0, ping.stdout + ping.stderr
    assert flowlab("exec", "xiaoming", "--", "sh", "-c", "exit 7").returncode == 7
    missing = flowlab("exec", "nobody", "--", "true")
    assert missing.returncode == 1 and "no node 'nobody'" in missing.stderr
    down = flowlab("down")
    assert down.returncode == 0, down.stderr
    assert up.wait(30) == 0
    stdout = up.stdout.read()
    # 'up' returned only once every PC held its lease: the summary shows them.
    for pc, address in (("xiaoming", "10.1.1.2"), ("xiaomei", "10.1.1.3"), ("xiaoli", "10.1.2.2")):
        row = next(line for line in stdout.splitlines() if f"{pc}-eth0" in line)
        assert f"{address}/24" in row and "DHCP 3600 s from 10.10.10.10" in row


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_while_up_tears_down(sig, untouched_machine):
    up = start_up("arp-lan", "--no-cli")
    wait_for(up, "is up;")
    up.send_signal(sig)
    assert up.wait(30) == 0


def test_sigint_is_heard_when_started_in_the_background_of_a_script(untouched_machine):
    """A script's '&' starts its job with SIGINT ignored, and the child
    inherits that; up must still tear down on SIGINT, as the README says."""
    up = start_up("arp-lan", "--no-cli",
                  preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    wait_for(up, "is up;")
    up.send_signal(signal.SIGINT)
    assert up.wait(30) == 0


def test_ctrl_c_during_bring_up_still_cleans(untouched_machine):
    up = start_up("enterprise", "--no-cli")
    wait_for(up, "creating")
    up.send_signal(signal.SIGINT)
    up.wait(30)


def test_clean_removes_what_a_killed_run_left(untouched_machine):
    up = start_up("enterprise", "--no-cli")
    wait_for(up, "is up;")
    # A daemon of the run that outlives its node's shell, as dhcpd or dnsmasq
    # would: it keeps xiaoming's namespaces alive after the owner dies.
    flowlab("exec", "xiaoming", "--", "sh", "-c", "setsid sleep 600 >/dev/null 2>&1 &")
    os.kill(up.pid, signal.SIGKILL)
    up.wait(10)
    left = leftovers()
    assert left.get("processes") and left.get("bridges"), "SIGKILL should leave the lab behind"
    cleaned = flowlab("clean")
    assert cleaned.returncode == 0, cleaned.stderr
    assert "cleaned 1 run" in cleaned.stderr
    assert flowlab("clean").stderr.strip().endswith("nothing to clean")


def test_mininet_cli_is_the_default(untouched_machine):
    result = subprocess.run([sys.executable, "-m", "orchestrator", "up", "arp-lan"],
                            input="A ping -c1 -W2 192.168.1.2\nexit\n",
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "1 received" in result.stdout + result.stderr   # Mininet logs to stderr


def test_down_with_no_lab_up():
    result = flowlab("down")
    assert result.returncode == 1 and "no lab is up" in result.stderr


def test_ctrl_c_while_checks_overlap_still_cleans(untouched_machine):
    """SIGINT while renew and tcp-faults wait on their timers with other
    checks beside them: the waits end at once, the lab is torn down and
    nothing is left (untouched_machine checks)."""
    verify = subprocess.Popen([sys.executable, "-m", "orchestrator", "verify", "enterprise",
                               "--check", "renew", "--check", "tcp-faults", "--check", "dns"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    wait_for(verify, "check dns")
    time.sleep(1.0)                       # inside the checks' waits
    verify.send_signal(signal.SIGINT)
    assert verify.wait(30) != 0
