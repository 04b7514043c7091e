"""The topology model: the builder's parsing, and the layer 2/3 analysis
(broadcast domains, subnets) that validation and the checks rely on."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, ip_network

import pytest

from orchestrator.errors import TopologyError
from orchestrator.model import Dhcp, Interface, Port, Topology, TopologyOptions
from orchestrator.model.domains import (
    broadcast_domains,
    connected_networks,
    interface_network,
    link_subnet,
)
from topologies import enterprise


def iface(topo: Topology, name: str) -> Interface:
    return next(i for i in topo.interfaces() if i.name == name)


def net(text: str) -> IPv4Network:
    return ip_network(text)


# -- the builder ----------------------------------------------------------------

def test_builder_names_interfaces_as_mininet_does():
    topo = Topology("t")
    sw = topo.switch("sw")
    h = topo.host("h")
    first = topo.link(h, sw, ip="10.0.0.2/24", mac="0A:11:22:33:44:01")
    second = topo.link(h, sw)
    assert [(e.node, e.name) for e in first.ends] == [("h", "h-eth0"), ("sw", "sw-eth1")]
    assert [e.name for e in second.ends] == ["h-eth1", "sw-eth2"]
    assert isinstance(first.b, Port) and first.a.mac == "0a:11:22:33:44:01"
    assert first.other(first.a) is first.b and topo.link_of(first.b) is first


def test_builder_takes_vlan_objects_and_ids():
    topo = Topology("t")
    ten = topo.vlan(10, "ten")
    topo.switch("a")
    topo.switch("b")
    access = topo.link(topo.host("h"), "a", vlan=ten)
    trunk = topo.link("a", "b", trunk=[ten, 20])
    assert access.b.vlan == 10 and access.b.trunk is None
    assert trunk.a.trunk == trunk.b.trunk == (10, 20)


def test_builder_parses_routes_and_reservations():
    topo = Topology("t")
    h = topo.host("h", gateway="10.0.0.1").route("default", via="10.0.0.1")
    topo.switch("sw")
    link = topo.link(h, "sw", mac="02:00:00:00:00:01", dhcp=Dhcp(server="r", reserve="10.0.0.5"))
    assert h.gateway == IPv4Address("10.0.0.1")
    assert h.routes[0].destination == net("0.0.0.0/0")
    assert link.a.dhcp.reserve == IPv4Address("10.0.0.5")


def test_enterprise_reservations_are_addresses():
    topo = enterprise.build()
    assert iface(topo, "xiaoming-eth0").dhcp.reserve == IPv4Address("10.1.1.2")


def _switch_and_host() -> Topology:
    topo = Topology("t")
    topo.switch("sw")
    topo.host("h")
    return topo


BUILDER_ERRORS = [
    pytest.param(lambda t: t.link("h", "sw", ip="10.0.0.300/24"),
                 "h", "h-eth0: ip", "is not an IPv4 address/prefix", id="bad-ip"),
    pytest.param(lambda t: t.link("h", "sw", ip="10.0.0.2"),
                 "h", "h-eth0: ip", "has no prefix length", id="missing-prefix"),
    pytest.param(lambda t: t.link("h", "sw", ip="fe80::1/64"),
                 "h", "h-eth0: ip", "is not IPv4", id="ipv6"),
    pytest.param(lambda t: t.link("h", "sw", mac="02:00:00:00:00"),
                 "h", "h-eth0: mac", "is not a MAC address", id="short-mac"),
    pytest.param(lambda t: t.link("h", "sw", mac="02:00:00:00:00:zz"),
                 "h", "h-eth0: mac", "is not a MAC address", id="non-hex-mac"),
    pytest.param(lambda t: t.link("h", "sw", mac="01:00:5e:00:00:01"),
                 "h", "h-eth0: mac", "is a multicast MAC address", id="multicast-mac"),
    pytest.param(lambda t: t.link("sw", "h", ip="10.0.0.2/24"),
                 "sw", "sw-eth1: ip", "a switch port has no address", id="ip-on-switch-port"),
    pytest.param(lambda t: t.link("h", "sw", peer_mac="02:00:00:00:00:01"),
                 "sw", "sw-eth1: mac", "a switch port has no address", id="mac-on-switch-port"),
    pytest.param(lambda t: t.link("sw", "h", dhcp=Dhcp(server="r")),
                 "sw", "sw-eth1: dhcp", "a switch port has no address", id="dhcp-on-switch-port"),
    pytest.param(lambda t: t.link("h", "sw", dhcp=Dhcp(server="r", reserve="10.0.0")),
                 "h", "h-eth0: dhcp.reserve", "is not an IPv4 address", id="bad-reservation"),
    pytest.param(lambda t: t.link("h", t.host("h2"), vlan=10),
                 "h", "h-eth0: vlan", "neither h nor h2 is a switch", id="vlan-between-hosts"),
    pytest.param(lambda t: t.link("h", t.host("h2"), trunk=[10]),
                 "h", "h-eth0: trunk", "VLANs are set on switch ports", id="trunk-between-hosts"),
    pytest.param(lambda t: t.host("h3", gateway="10.0.0"),
                 "h3", "gateway", "is not an IPv4 address", id="bad-gateway"),
    pytest.param(lambda t: t.find("h").route("10.0.0.0/33", via="10.0.0.1"),
                 "h", "routes.destination", "is not an IPv4 network", id="bad-route-destination"),
    pytest.param(lambda t: t.find("h").route("default", via="gateway"),
                 "h", "routes.via", "is not an IPv4 address", id="bad-next-hop"),
    pytest.param(lambda t: t.subnet("10.0.0.1/24"),
                 None, "subnet 10.0.0.1/24", "has host bits set", id="subnet-host-bits"),
    pytest.param(lambda t: t.subnet("10.0.0.0/24", pool=("10.0.0.10", "10.0.0.x")),
                 None, "subnet 10.0.0.0/24: pool", "is not an IPv4 address", id="bad-pool"),
    pytest.param(lambda t: t.link("h", "sw", subnet="10.0.0.0/33"),
                 "h", "link subnet", "is not an IPv4 network", id="bad-link-subnet"),
]


@pytest.mark.parametrize("make, node, field, phrase", BUILDER_ERRORS)
def test_builder_refuses_at_the_line_that_is_wrong(make, node, field, phrase):
    with pytest.raises(TopologyError) as raised:
        make(_switch_and_host())
    assert (raised.value.node, raised.value.field) == (node, field)
    assert phrase in raised.value.message


# -- broadcast domains ----------------------------------------------------------------

def domain_members(topo: Topology) -> dict[str, set[str]]:
    return {d.name: {i.name for i in d.interfaces} for d in broadcast_domains(topo)}


def test_enterprise_vlans_separate_the_pcs():
    domains = domain_members(enterprise.build())
    assert domains["access/vlan10"] == {"xiaoming-eth0", "xiaomei-eth0", "gw1-eth0"}
    assert domains["access/vlan20"] == {"xiaoli-eth0", "gw2-eth0"}
    assert domains["srvlan"] == {"srv-eth0", "gw1-eth1", "gw2-eth1", "edge-eth0"}
    assert domains["edge-eth1<->isp-eth0"] == {"edge-eth1", "isp-eth0"}
    assert "access" not in domains


def test_enterprise_without_vlans_is_one_domain():
    domains = domain_members(enterprise.build(TopologyOptions(vlans=False)))
    assert domains["access"] == {"xiaoming-eth0", "xiaomei-eth0", "gw1-eth0",
                                 "xiaoli-eth0", "gw2-eth0"}
    assert not any(name.startswith("access/") for name in domains)


def test_domains_are_in_declaration_order_and_stable():
    names = [d.name for d in broadcast_domains(enterprise.build())]
    assert names[:3] == ["srvlan", "access/vlan10", "access/vlan20"]
    assert names == [d.name for d in broadcast_domains(enterprise.build())]


def two_switch_vlans(trunk, core_vlans: bool = True) -> Topology:
    """Hosts a (VLAN 10) and b (VLAN 20) on sw1, c (10) and d (20) on sw2."""
    topo = Topology("t")
    topo.vlan(10, "ten")
    topo.vlan(20, "twenty")
    topo.switch("sw1")
    topo.switch("sw2", vlans=core_vlans)
    topo.link("sw1", "sw2", trunk=trunk)
    for name, switch, vid in (("a", "sw1", 10), ("b", "sw1", 20), ("c", "sw2", 10),
                              ("d", "sw2", 20)):
        topo.link(topo.host(name), switch, vlan=vid)
    return topo


@pytest.mark.parametrize("trunk, core_vlans, expected", [
    pytest.param([10, 20], True, [{"a", "c"}, {"b", "d"}], id="trunk-joins-each-vlan"),
    pytest.param([10], True, [{"a", "c"}, {"b"}, {"d"}], id="trunk-carries-only-its-vlans"),
    pytest.param(None, True, [{"a"}, {"b"}, {"c"}, {"d"}], id="untagged-link-joins-no-vlan"),
    pytest.param([10, 20], False, [{"a", "b", "c", "d"}], id="flat-end-merges-vlans"),
])
def test_trunks_join_vlans_across_switches(trunk, core_vlans, expected):
    found = [{i.node for i in d.interfaces} for d in broadcast_domains(two_switch_vlans(
        trunk, core_vlans))]
    assert sorted(found, key=sorted) == sorted(expected, key=sorted)


def test_trunk_domain_keys_span_both_switches():
    domain = broadcast_domains(two_switch_vlans([10, 20]))[0]
    assert domain.name == "sw1/vlan10"
    assert domain.keys == {("sw1", 10), ("sw2", 10)}
    assert domain.switches == ["sw1", "sw2"]


def test_untagged_link_joins_untagged_sides():
    topo = Topology("t")
    topo.switch("sw1")
    topo.switch("sw2")
    topo.link("sw1", "sw2")
    topo.link(topo.host("a"), "sw1")
    topo.link(topo.host("b"), "sw2")
    (domain,) = broadcast_domains(topo)
    assert {i.node for i in domain.interfaces} == {"a", "b"}
    assert domain.keys == {("sw1", None), ("sw2", None)}


# -- subnets ----------------------------------------------------------------------

@pytest.mark.parametrize("options, name, expected", [
    pytest.param(TopologyOptions(), "xiaoming-eth0", "10.1.1.0/24", id="access-vlan"),
    pytest.param(TopologyOptions(), "gw2-eth0", "10.1.2.0/24", id="router-on-vlan"),
    pytest.param(TopologyOptions(vlans=False), "xiaoli-eth0", "10.1.2.0/24",
                 id="tag-counts-on-flat-switch"),
    pytest.param(TopologyOptions(), "srv-eth0", "10.10.10.0/24", id="untagged-port"),
    pytest.param(TopologyOptions(), "edge-eth1", None, id="point-to-point"),
])
def test_link_subnet(options, name, expected):
    topo = enterprise.build(options)
    assert link_subnet(topo, iface(topo, name)) == (net(expected) if expected else None)


def test_link_subnet_declared_on_the_link_wins():
    topo = Topology("t")
    topo.link(topo.router("a"), topo.router("b"), ip="10.9.0.1/30", peer_ip="10.9.0.2/30",
              subnet="10.9.0.0/30")
    assert link_subnet(topo, iface(topo, "b-eth0")) == net("10.9.0.0/30")


def test_link_subnet_of_an_undeclared_vlan_is_unknown():
    topo = Topology("t")
    topo.switch("sw")
    topo.link(topo.host("h"), "sw", vlan=30)
    assert link_subnet(topo, iface(topo, "h-eth0")) is None


def test_interface_network_and_connected_networks():
    topo = enterprise.build()
    assert interface_network(topo, iface(topo, "xiaoming-eth0")) == net("10.1.1.0/24")  # DHCP
    assert interface_network(topo, iface(topo, "edge-eth1")) == net("203.0.113.0/24")
    assert connected_networks(topo, "gw1") == [net("10.1.1.0/24"), net("10.10.10.0/24")]
    assert connected_networks(topo, "xiaoli") == [net("10.1.2.0/24")]
    assert connected_networks(topo, "nobody") == []


def test_an_interface_without_address_or_dhcp_is_on_no_network():
    topo = Topology("t")
    topo.switch("sw", subnet=topo.subnet("10.0.0.0/24"))
    topo.link(topo.host("h"), "sw")
    assert interface_network(topo, iface(topo, "h-eth0")) is None
    assert link_subnet(topo, iface(topo, "h-eth0")) == net("10.0.0.0/24")
