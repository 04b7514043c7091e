"""The machine stays out of the emulated network, even where a lab's subnet
holds the machine's own address.

Switch ports are veths in the machine's namespace; by default Linux answers
ARP for any of its addresses on any interface, so a lab whose LAN includes
the machine's address (a user's 192.0.2.0/24 on a machine that has
192.0.2.2) would have its frames for that address sent to the switch port.
Found by the derived ``reach`` check on the two-relay test network.
"""

from __future__ import annotations

import ipaddress
import subprocess

import pytest

from orchestrator.lab import Lab, LabSettings
from orchestrator.model import Topology
from orchestrator.packets import arp, expect, read

from .labtools import captured_while

pytestmark = pytest.mark.root


def machine_address() -> ipaddress.IPv4Interface | None:
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"],
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        return ipaddress.IPv4Interface(line.split()[3])
    return None


def test_the_machine_answers_no_arp_on_a_switch_port(tmp_path, untouched_machine):
    own = machine_address()
    if own is None or own.network.prefixlen > 29:
        pytest.skip("the machine has no global IPv4 address on a subnet with room for a host")
    host = next(a for a in own.network.hosts() if a != own.ip)
    topo = Topology("isolation")
    lan = topo.switch("lan")
    topo.link(topo.host("h1"), lan, ip=f"{host}/{own.network.prefixlen}")
    with Lab(topo, settings=LabSettings(services=False)) as lab:
        pcaps = captured_while(lab, [("h1", "h1-eth0")], "arp", lambda: lab.run_in(
            "h1", ["arping", "-c", "2", "-w", "2", "-I", "h1-eth0", str(own.ip)]))
        wire = read(pcaps[("h1", "h1-eth0")], "h1-eth0")
        expect(wire).count(arp(op="request", target_ip=str(own.ip)), at_least=1)
        expect(wire).none(arp(op="reply", sender_ip=str(own.ip)))
