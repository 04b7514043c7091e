"""Captures in a real lab: complete when tcpdump keeps up, and refused as
evidence when it does not.

The kernel drops what does not fit in tcpdump's ring while tcpdump waits for
a CPU; such a file lacks packets silently unless tcpdump's own count is read.
Here tcpdump is frozen (SIGSTOP, by its pid) during a ping flood, which makes
the kernel drop packets every time."""

from __future__ import annotations

import os
import signal

import pytest

from orchestrator.capture.tcpdump import Tcpdump
from orchestrator.checks.base import CheckContext
from orchestrator.errors import CaptureIncomplete
from orchestrator.lab import Lab, LabSettings
from orchestrator.model import registry
from orchestrator.packets import expect, icmp, read

pytestmark = pytest.mark.root

FLOOD = ["ping", "-f", "-c", "3000", "-W", "1", "192.168.1.2"]


@pytest.fixture(scope="module")
def lab(untouched_machine_module):
    with Lab(registry.load("arp-lan"), settings=LabSettings(services=False)) as running:
        yield running


def tcpdump_pids(lab) -> list[int]:
    return [p.pid for p in lab.state.processes if p.what == "tcpdump"]


def test_a_capture_that_kept_up_has_every_packet_and_no_drop(lab):
    path = lab.run.subdir("captures") / "A-eth0.pcap"
    capture = Tcpdump(lab, "A", "A-eth0", "icmp", path).start()
    try:
        assert lab.run_in("A", ["ping", "-c", "3", "-i", "0.2", "192.168.1.2"]).returncode == 0
    finally:
        capture.stop()
    assert capture.dropped == 0
    expect(read(capture.path)).count(icmp(type=8), exactly=3)


def test_a_capture_the_kernel_dropped_from_is_refused_as_evidence(lab, tmp_path):
    ctx = CheckContext(lab, "frozen", tmp_path)
    with pytest.raises(CaptureIncomplete) as refused:
        with ctx.capture([("A", "A-eth0")], "icmp"):
            pid = tcpdump_pids(lab)[-1]
            os.kill(pid, signal.SIGSTOP)
            try:
                lab.run_in("A", FLOOD, timeout=60)
            finally:
                os.kill(pid, signal.SIGCONT)
    message = str(refused.value)
    assert "the kernel dropped packets before tcpdump read them" in message
    assert "A-eth0 (" in message
    assert ctx.blocks, "the incomplete pcaps stay in the run directory for a look"
