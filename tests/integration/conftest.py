"""Fixtures of the integration tests: OVS running, and proof that a test left
the machine exactly as it found it."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from orchestrator.network import ovs
from orchestrator.runs import cleanup

WATCHED_FILES = ("/etc/resolv.conf", "/etc/hosts")
WATCHED_DIRS = ("/var/lib/dhcp",)


def _digest(path: str) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError as exc:
        return f"unreadable: {exc.strerror}"


def _run(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True).stdout


def machine_snapshot() -> dict:
    """What a run must never change: the machine's own files, routes,
    addresses, links, network namespaces and mounts."""
    snapshot = {path: _digest(path) for path in WATCHED_FILES}
    for directory in WATCHED_DIRS:
        entries = sorted(Path(directory).rglob("*")) if Path(directory).is_dir() else []
        snapshot[directory] = {str(p): _digest(str(p)) for p in entries if p.is_file()}
    snapshot["routes"] = _run("ip", "-4", "route", "show", "table", "all")
    snapshot["addresses"] = _run("ip", "-4", "-o", "addr")
    snapshot["links"] = sorted(line.split()[0] for line in _run("ip", "-br", "link").splitlines())
    snapshot["netns"] = _run("ip", "netns", "list")
    snapshot["mounts"] = sorted(line.split()[4] for line in
                                Path("/proc/self/mountinfo").read_text().splitlines())
    snapshot["bridges"] = sorted(ovs.bridges() or [])
    return snapshot


def leftovers() -> dict:
    """Anything of any flowlab run still on the machine."""
    found = {
        "processes": cleanup.marked_processes(),
        "bridges": ovs.bridges_of_run(),
    }
    return {kind: items for kind, items in found.items() if items}


@pytest.fixture(scope="session", autouse=True)
def open_vswitch():
    ovs.ensure_running()


def assert_unchanged(before: dict) -> None:
    assert leftovers() == {}, "a run left processes or bridges behind"
    after = machine_snapshot()
    changed = {key: (before[key], after[key]) for key in before if before[key] != after[key]}
    assert not changed, f"the machine changed: {changed}"


@pytest.fixture
def untouched_machine():
    """Fails the test if it left anything behind or changed the machine."""
    before = machine_snapshot()
    yield
    assert_unchanged(before)


@pytest.fixture(scope="module")
def untouched_machine_module():
    """The same for a module that keeps one lab up across its tests: request
    it before the lab fixture, so that it checks after the lab is down."""
    before = machine_snapshot()
    yield
    assert_unchanged(before)
