"""The optional OpenFlow controller in real labs: os-ken with flowlab's apps
or a user's Ryu app, the switches in secure fail mode, OpenFlow 1.3."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestrator.results import race as race_results, verify as verify_results
from orchestrator.runs import cleanup
from orchestrator.runs.rundir import live_runs

pytestmark = pytest.mark.root

ROOT = Path(__file__).resolve().parents[2]


def flowlab(*args: str, timeout: float = 150) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "orchestrator", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def test_verify_enterprise_under_the_l2_app_passes_every_check(tmp_path, untouched_machine):
    result = flowlab("verify", "enterprise", "--controller", "os-ken", "--out", str(tmp_path))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run = verify_results.read(tmp_path)
    assert run.passed, [c.name for c in run.checks if not c.passed]
    assert "starting the os-ken controller (l2)" in result.stderr


@pytest.mark.parametrize("backend", ["dnsmasq", "isc"])
def test_dhcp_guard_fixes_the_flat_race_with_both_backends(backend, tmp_path, untouched_machine):
    result = flowlab("race", "enterprise", "--no-vlan", "--controller", "os-ken",
                     "--controller-app", "dhcp-guard", "--dhcp-server", backend, "--trials", "3",
                     "--out", str(tmp_path))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (race,) = race_results.read(tmp_path)
    assert (race.vlans, race.guard, race.backend) == (False, "dhcp-guard", backend)
    assert len(race.trials) == 3
    for trial in race.trials:
        assert [o.giaddr for o in trial.offers] == ["10.1.1.1"], trial
        assert trial.subnet == "10.1.1.0/24"


def test_an_unchanged_ryu_app_from_the_test_tree_gives_full_reachability(untouched_machine):
    app = ROOT / "tests" / "controller_apps" / "ryu_learning_switch.py"
    result = flowlab("verify", "home", "--controller", "os-ken", "--controller-app", str(app),
                     "--check", "reach", "--check", "dhcp")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "ryu_learning_switch.py" in result.stderr


def controller_pid() -> int | None:
    for pid in cleanup.marked_processes():
        try:
            if b"orchestrator.controller.run" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return pid
        except OSError:
            continue
    return None


@pytest.mark.parametrize("command", [["up", "home", "--no-cli"],
                                     ["verify", "home", "--check", "reach"]],
                         ids=["up", "verify"])
def test_a_controller_killed_mid_run_is_reported_and_torn_down(command, untouched_machine):
    """Killed once the lab is up: ``up`` (waiting) and ``verify`` (checking)
    both end with status 1 naming the controller, and leave nothing."""
    run = subprocess.Popen([sys.executable, "-m", "orchestrator", *command,
                            "--controller", "os-ken"], cwd=ROOT, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        pid = None
        while time.monotonic() < deadline and run.poll() is None:
            pid = controller_pid()
            if pid and any(s.status == "up" for _r, s in live_runs()):
                break
            time.sleep(0.2)
        assert pid, "the controller never ran"
        os.kill(pid, signal.SIGKILL)
        _out, err = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 1, err
    assert f"the os-ken controller (pid {pid}) was killed by SIGKILL" in err
    assert "forward nothing without it" in err
    assert controller_pid() is None


def test_clean_stops_the_controller_of_a_crashed_run(untouched_machine):
    """``up`` killed outright leaves its controller running (its own
    session): ``clean`` finds it by the run's mark and stops it."""
    up = subprocess.Popen([sys.executable, "-m", "orchestrator", "up", "home", "--no-cli",
                           "--controller", "os-ken"], cwd=ROOT, stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(s.status == "up" for _r, s in live_runs()):
        time.sleep(0.2)
    pid = controller_pid()
    assert pid, "the controller never ran"
    up.kill()
    up.wait()
    assert controller_pid() == pid
    cleaned = flowlab("clean")
    assert cleaned.returncode == 0, cleaned.stderr
    assert controller_pid() is None
