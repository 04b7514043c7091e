"""Each topology comes up and goes down as a real Mininet network, and
forwards as its diagram says; the packets captured on its links say so."""

from __future__ import annotations

import pytest

from orchestrator.lab import Lab
from orchestrator.model import TopologyOptions, registry
from orchestrator.model.domains import broadcast_domains, link_subnet

from .labtools import broadcast_from_xiaoming, captured_while, icmp_echo_sources, ping

pytestmark = pytest.mark.root

# (topology, options, pairs that must reach each other)
REACHABILITY = {
    "enterprise": [("xiaoming", "10.1.1.3"), ("xiaoming", "10.1.2.2"), ("xiaoli", "10.1.1.1"),
                   ("gw1", "10.10.10.2"), ("gw1", "10.1.2.1"), ("gw2", "10.10.10.254"),
                   ("edge", "203.0.113.1"), ("gw1", "203.0.113.1"), ("srv", "8.8.8.8"),
                   ("xiaoli", "61.135.169.125"), ("pubdns", "198.41.0.4")],
    # Without VLANs the relay race decides each PC's subnet: only the routers'
    # paths are fixed.
    "enterprise-no-vlan": [("gw1", "10.10.10.2"), ("gw2", "10.1.1.1"), ("edge", "203.0.113.1"),
                           ("srv", "8.8.8.8"), ("gw1", "61.135.169.125")],
    "home": [("oldpc", "192.168.1.129"), ("homegw", "192.168.1.100"),
             ("oldpc", "61.135.169.125"), ("homegw", "8.8.8.8")],
    "arp-lan": [("A", "192.168.1.2"), ("B", "192.168.1.1")],
}

VARIANTS = [("enterprise", True), ("enterprise", False), ("home", True), ("arp-lan", True)]


@pytest.mark.parametrize("name,vlans", VARIANTS,
                         ids=["enterprise", "enterprise-no-vlan", "home", "arp-lan"])
def test_topology_comes_up_forwards_and_goes_down(name, vlans, untouched_machine):
    topo = registry.load(name, TopologyOptions(vlans=vlans))
    with Lab(topo) as lab:
        assert lab.state.status == "up"
        variant = name if vlans else f"{name}-no-vlan"
        unreachable = [(s, d) for s, d in REACHABILITY[variant] if not ping(lab, s, d)]
        assert unreachable == []
        leases = lab.leases()
        assert len(leases) == sum(1 for i in topo.interfaces() if i.dhcp)
        for (node, iface), lease in leases.items():
            # Any subnet of the PC's broadcast domain: one, or two in the race.
            domain = next(d for d in broadcast_domains(topo)
                          if any(i.name == iface for i in d.interfaces))
            subnets = {link_subnet(topo, i) for i in domain.interfaces} - {None}
            assert any(lease.ip_interface.ip in net for net in subnets), (node, lease)
        run = lab.run
    assert run.load().status == "down"


@pytest.fixture(scope="module")
def enterprise():
    with Lab(registry.load("enterprise")) as lab:
        yield lab


def test_vlans_isolate_layer_2(enterprise):
    heard = broadcast_from_xiaoming(enterprise)
    assert heard["xiaomei"] >= 1, "VLAN 10 must carry xiaoming's broadcast to xiaomei"
    assert heard["xiaoli"] == 0, "VLAN 20 must not hear VLAN 10's broadcasts"
    assert heard["gw2"] == 0


def test_edge_translates_into_the_internet(enterprise):
    pcaps = captured_while(enterprise, [("edge", "edge-eth0"), ("web", "web-eth0")], "icmp",
                           lambda: ping(enterprise, "xiaoming", "61.135.169.125"))
    assert icmp_echo_sources(pcaps[("edge", "edge-eth0")], "61.135.169.125") == {"10.1.1.2"}
    assert icmp_echo_sources(pcaps[("web", "web-eth0")], "61.135.169.125") == {"203.0.113.2"}


def test_the_internet_has_no_route_to_private_networks(enterprise):
    result = enterprise.run_in("isp", ["ip", "route", "get", "10.1.1.2"])
    assert result.returncode != 0, result.stdout


def test_each_node_has_its_own_etc_files(enterprise):
    hosts = enterprise.run_in("xiaoming", ["cat", "/etc/hosts"]).stdout
    resolv = enterprise.run_in("xiaoming", ["cat", "/etc/resolv.conf"]).stdout
    assert "intranet.corp" in hosts
    # The PC asks its local cache, whose upstream is the server DHCP gave it.
    assert "nameserver 127.0.0.1" in resolv
    upstream = enterprise.run.path / "nodes/xiaoming/dns-cache/upstream-resolv.conf"
    assert upstream.read_text() == "nameserver 10.10.10.10\n"
    assert "xiaoming" not in enterprise.run_in("web", ["cat", "/etc/hosts"]).stdout
    with open("/etc/hosts") as machine:
        assert "intranet.corp" not in machine.read()
