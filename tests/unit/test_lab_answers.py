"""What checks ask a running lab (an interface's MAC, a node's MACs) is
answered by the lab, not read through Mininet's objects by each check.
Here the lab's network is a stand-in with Mininet's lookups (a name not
there is a KeyError), so the answers and their refusals need no root."""

from __future__ import annotations

import pytest

from orchestrator.errors import LabError
from orchestrator.lab import Lab
from orchestrator.model import registry

MACS = {("A", "A-eth0"): "0A:11:22:33:44:01", ("B", "B-eth0"): "0a:11:22:33:44:02"}


class Net:
    """Mininet's ``net.get(name).intf(name).mac``, for a lab that is up."""

    def get(self, node: str):
        names = {iface for (owner, iface) in MACS if owner == node}
        if not names:
            raise KeyError(node)
        return Node({iface: MACS[(node, iface)] for iface in names})


class Node:
    def __init__(self, macs: dict[str, str]):
        self.macs = macs

    def intf(self, name: str):
        return type("Intf", (), {"mac": self.macs[name]})()


@pytest.fixture
def lab():
    up = Lab(registry.load("arp-lan"))
    up.net = Net()
    return up


def test_an_interface_mac_as_packets_show_it(lab):
    assert lab.mac("A", "A-eth0") == "0a:11:22:33:44:01"


def test_a_node_macs_are_those_of_its_interfaces(lab):
    assert lab.macs("B") == {"0a:11:22:33:44:02"}


@pytest.mark.parametrize("ask,says", [
    (lambda lab: lab.mac("A", "A-eth9"), "A has no interface 'A-eth9'"),
    (lambda lab: lab.mac("Z", "Z-eth0"), "no node 'Z' in arp-lan"),
    (lambda lab: lab.macs("Z"), "no node 'Z' in arp-lan"),
])
def test_what_the_lab_does_not_have_is_refused_by_name(lab, ask, says):
    with pytest.raises(LabError, match=says):
        ask(lab)


def test_a_lab_that_is_not_up_says_so():
    with pytest.raises(LabError, match="the lab is not up"):
        Lab(registry.load("arp-lan")).mac("A", "A-eth0")
