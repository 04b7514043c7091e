"""Exercises in real labs: faults applied, checked from packets, solved, reset.

Two bring-ups in all.  One enterprise lab (module fixture) takes several
catalogued faults in turn through a session: with the fault, ``check``
fails the check the fault breaks with a readable reason and passes those
it keeps; after ``solve`` every check passes; ``reset`` brings the fault
back.  One test topology (the router chain) goes through the command line
as a class uses it: ``exercise start`` holding the lab, and ``check``,
``answer``, ``solve``, ``reset`` and ``down`` from other processes, then
``grades`` over the checks' JSON.  The whole matrix of every fault on
every topology is ``bench/exercises.py``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from orchestrator.exercises.control import wait_started
from orchestrator.exercises.session import BREAKS, KEEPS, Session, from_fault
from orchestrator.lab import Lab, LabSettings
from orchestrator.model import registry
from orchestrator.results import grade as grade_record, verify as results
from orchestrator.results.grade import Grade, Verdict
from orchestrator.runs.rundir import STARTING, live_runs

pytestmark = [pytest.mark.root, pytest.mark.timeout(600)]


# -- through the command line, on a test topology -------------------------------------------

CHAIN = "tests/topologies/chain.py"


def flowlab(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "orchestrator", *args], capture_output=True,
                          text=True, timeout=timeout)


def paused_while_starting(proc: subprocess.Popen, timeout: float = 60) -> str:
    """Pause ``proc`` (SIGSTOP) as soon as its run directory says its lab is starting, so that
    a request can be made in that window whatever the machine's speed; the run's id."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        started = [r for r, s in live_runs() if s.owner_pid == proc.pid]
        if started:
            os.kill(proc.pid, signal.SIGSTOP)
            state = started[0].load()
            assert state.status == STARTING, state
            return state.run_id
        time.sleep(0.01)
    raise AssertionError(f"no run of pid {proc.pid} within {timeout} s "
                         f"(exit status {proc.poll()})")


def asked_while_starting(run: list[str], start: subprocess.Popen) -> tuple[int, str, str]:
    """``exercise check`` while ``start`` is paused: once it says that it waits, ``start`` goes
    on; the check's exit status, output and errors."""
    check = subprocess.Popen([sys.executable, "-m", "orchestrator", "exercise", "check", *run,
                              "--format", "json"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    said = ""
    try:
        while "still starting" not in said and (line := check.stderr.readline()):
            said += line
    finally:
        start.send_signal(signal.SIGCONT)
    out, rest = check.communicate(timeout=180)
    return check.returncode, out, said + rest


def test_a_class_on_the_chain_through_the_command_line(tmp_path, untouched_machine):
    start = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "exercise", "start", "route-missing", CHAIN,
         "--student", "alice", "--no-cli", "--format", "json"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        run = ["--run", paused_while_starting(start)]     # another lab may be up beside it
        # A student too quick: the request waits for the exercise, then is graded.
        status, out, err = asked_while_starting(run, start)
        assert "the exercise is still starting: bringing the lab up" in err, err
        assert status == 1, err
        assert not by_check(grade_record.from_dict(json.loads(out)))["reach"].passed, err

        shown = wait_started(start, timeout=120)
        assert run[1] == shown["run"]
        expected = from_fault("route-missing", registry.load(CHAIN), CHAIN, "alice")
        assert shown["symptom"] == expected.symptom and "route" not in shown["symptom"]
        node = expected.variants[0].target["node"]

        check = flowlab("exercise", "check", *run, "--format", "json", "--out",
                        str(tmp_path / "a1"))
        assert check.returncode == 1, check.stderr
        graded = grade_record.from_dict(json.loads(check.stdout))
        reach = by_check(graded)["reach"]
        assert not reach.passed and "did not reach" in reach.reason, reach
        assert by_check(graded)["l2-scope"].passed
        assert (tmp_path / "a1" / "report.html").is_file()
        (tmp_path / "class").mkdir()
        (tmp_path / "class" / "alice-1.json").write_text(check.stdout)

        wrong = flowlab("exercise", "answer", "nat-off", *run)
        assert wrong.returncode == 2 and "none of the faults" in wrong.stderr, wrong.stderr
        right = flowlab("exercise", "answer", "route-missing", *run, "--format", "json")
        assert right.returncode == 0 and json.loads(right.stdout)["correct"]

        assert flowlab("exec", node, *run, "--", "ip", "route").returncode == 0
        solve = flowlab("exercise", "solve", *run)
        assert solve.returncode == 0, solve.stderr
        check = flowlab("exercise", "check", *run, "--format", "json")
        assert check.returncode == 0, check.stdout
        (tmp_path / "class" / "alice-2.json").write_text(check.stdout)

        assert flowlab("exercise", "reset", *run).returncode == 0
        again = flowlab("exercise", "check", *run, "--format", "json")
        assert again.returncode == 1
        assert not by_check(grade_record.from_dict(json.loads(again.stdout)))["reach"].passed

        grades = flowlab("exercise", "grades", str(tmp_path / "class"))
        assert grades.returncode == 0, grades.stderr
        lines = grades.stdout.splitlines()
        assert len(lines) == 3 and "did not reach" in lines[1] and lines[2].count(",yes,") == 1
    finally:
        start.send_signal(signal.SIGCONT)  # never leave it paused
        down = flowlab("down", *run) if "run" in locals() else None
        if down is None or down.returncode != 0:
            start.terminate()              # the holder tears its lab down on SIGTERM
        start.wait(timeout=60)
    assert down.returncode == 0, down.stderr
    assert start.returncode == 0
    refused = flowlab("exercise", "check", "--run", shown["run"])
    assert refused.returncode != 0 and "no lab is up" in refused.stderr


@pytest.fixture(scope="module")
def enterprise(untouched_machine_module):
    with Lab(registry.load("enterprise"), settings=LabSettings(unbound_ok=True)) as lab:
        yield lab


def by_check(graded: Grade) -> dict[str, Verdict]:
    return {v.check: v for v in graded.checks}


def assert_broken(graded: Grade, check: str, *said: str) -> None:
    verdict = by_check(graded)[check]
    assert not verdict.passed, verdict
    for words in said:
        assert words in verdict.reason, verdict.reason
    for v in graded.checks:
        if v.role == KEEPS:
            assert v.passed, v
    assert not graded.solved and graded.points < graded.max_points


def assert_solved(graded: Grade) -> None:
    assert graded.solved, [v.reason for v in graded.checks if not v.passed]
    assert graded.points == graded.max_points


@pytest.mark.parametrize("fault, student, check, said", [
    ("dhcp-wrong-router", "alice", "dhcp", ["the DHCP exchange stopped at step", "ACK"]),
    ("firewall-drop-synack", "alice", "http", ["no handshake"]),
    ("resolver-dead-upstream", "alice", "dns", ["www.baidu.com"]),
    ("port-wrong-vlan", "bob", "l2-scope", ["left their broadcast domain"]),
])
def test_fault_breaks_its_check_and_solve_repairs_it(enterprise, tmp_path, fault, student,
                                                     check, said):
    exercise = from_fault(fault, enterprise.topo, "enterprise", student)
    assert check in [d.check for d in exercise.deciders if d.role == BREAKS]
    session = Session(enterprise, exercise, tmp_path)
    session.apply()
    out, broken = session.check()
    assert_broken(broken, check, *said)
    assert results.read(out).check(check).passed is False and (out / "report.html").is_file()
    assert grade_record.read(out / grade_record.FILE) == broken
    session.solve()
    _, repaired = session.check()
    assert_solved(repaired)


def test_reset_brings_the_fault_back_and_undoes_the_students_changes(enterprise, tmp_path):
    exercise = from_fault("duplicate-address", enterprise.topo, "enterprise", "carol")
    holder, victim, address = (exercise.variants[0].target[k]
                               for k in ("holder", "victim", "address"))
    session = Session(enterprise, exercise, tmp_path)
    session.start()
    _, broken = session.check()
    assert_broken(broken, "reach", "did not reach", address)
    # The student investigates, and makes things worse elsewhere.
    for node, argv in (("gw1", ["ip", "route", "add", "192.0.2.0/24", "via", "10.10.10.254"]),
                       ("edge", ["iptables", "-A", "FORWARD", "-p", "icmp", "-j", "DROP"])):
        assert enterprise.run_in(node, argv).returncode == 0
    undone = session.reset()
    assert "gw1: route 192.0.2.0/24 via 10.10.10.254 dev gw1-eth1 removed" in undone, undone
    assert "edge: iptables rules restored" in undone, undone
    _, again = session.check()
    assert_broken(again, "reach", "did not reach", address)
    assert holder in exercise.symptom and victim in exercise.symptom
    session.solve()
    assert_solved(session.check()[1])
