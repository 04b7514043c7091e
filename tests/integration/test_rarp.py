"""rarp-vs-dhcp in a real enterprise lab: Debian's rarpd on gw1 answers
xiaoming in a 0x8035 frame, stays silent for a MAC it does not know, never
hears xiaoli behind gw2, and its table never touched the machine's /etc."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from orchestrator.packets import arp, expect, read
from orchestrator.results import verify as results

from .test_cli_lifecycle import flowlab

pytestmark = [pytest.mark.root, pytest.mark.timeout(300)]

ETHERS = Path("/etc/ethers")


def ethers_state() -> str:
    return hashlib.sha256(ETHERS.read_bytes()).hexdigest() if ETHERS.exists() else "absent"


def test_rarp_vs_dhcp_passes_in_enterprise(tmp_path, untouched_machine):
    before = ethers_state()
    result = flowlab("verify", "enterprise", "--check", "rarp-vs-dhcp", "--out", str(tmp_path),
                     "--format", "json", timeout=240)
    (check,) = results.read(tmp_path).checks
    assert result.returncode == 0 and check.passed, f"{check.failures}\n{result.stderr[-3000:]}"
    evidence = check.evidence
    assert "xiaoming RARP who-is 02:00:0a:01:01:02 (broadcast) -> gw1 02:00:0a:01:01:01: " \
           "10.1.1.2" in evidence
    assert "(eth 0x8035 | rarp op rarp-reply 02:00:0a:01:01:02 -> 10.1.1.2), the address only" \
        in evidence
    assert "dhcp ACK yiaddr 10.1.1.2 mask 255.255.255.0 router 10.1.1.1 dns 10.10.10.10 " \
           "lease 3600 s" in evidence
    assert "(no table entry) unanswered" in evidence
    assert "xiaoli (in the table as 10.1.2.2) asked: heard at gw2-eth0 only, not beyond gw2, " \
           "unanswered, while its DHCP crossed gw2 (giaddr 10.1.2.1) and got 10.1.2.2" in evidence
    assert [(e.key, e.evidence) for e in check.errata] == [
        ("arp-ethertype", "RARP request and reply of xiaoming: frame type 0x8035 and 0x8035, "
                          "not 0x0800")]
    # The reply on the wire, read back from the check's own capture.
    merged = next(p for p in check.pcaps if p.endswith("part-2/merged.pcap"))
    reply = expect(read(merged)).first(arp(op="rarp-reply", target_ip="10.1.1.2"))
    assert (reply.eth.type, reply.layers) == (0x8035, ["eth", "arp"])
    assert ethers_state() == before
