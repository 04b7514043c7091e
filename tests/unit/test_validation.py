"""Whole-model validation: the shipped topologies are clean, and every check
finds the mistake it is for, naming the node and the field.

Each broken model below is the smallest one that shows one mistake, built
on a sound little LAN, so that the check under test is the only one firing.
"""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest

from orchestrator.errors import TopologyError
from orchestrator.model import Dhcp, Subnet, Topology, TopologyOptions, service
from orchestrator.model.validation import problems, validate
from topologies import arp_lan, enterprise, home

# -- the shipped topologies -----------------------------------------------------

@pytest.mark.parametrize("build, options", [
    pytest.param(enterprise.build, TopologyOptions(), id="enterprise"),
    pytest.param(enterprise.build, TopologyOptions(vlans=False), id="enterprise-no-vlan"),
    pytest.param(enterprise.build, TopologyOptions(dhcp_server="isc"), id="enterprise-isc"),
    pytest.param(home.build, TopologyOptions(), id="home"),
    pytest.param(home.build, TopologyOptions(dhcp_server="isc"), id="home-isc"),
    pytest.param(arp_lan.build, TopologyOptions(), id="arp-lan"),
])
def test_shipped_topologies_are_clean(build, options):
    topo = build(options)
    assert problems(topo) == []
    validate(topo)


# -- small models to break ------------------------------------------------------

def lan(gateway: str | None = "10.0.0.1", host_ip: str = "10.0.0.2/24", **subnet) -> Topology:
    """Router r (10.0.0.1) and host h on switch lan, 10.0.0.0/24."""
    topo = Topology("t")
    sw = topo.switch("lan", subnet=topo.subnet("10.0.0.0/24", gateway="10.0.0.1", **subnet))
    r = topo.router("r")
    topo.link(r, sw, ip="10.0.0.1/24", mac="02:00:00:00:00:01")
    h = topo.host("h", gateway=gateway)
    topo.link(h, sw, ip=host_ip, mac="02:00:00:00:00:02")
    return topo


def dhcp_lan(server_subnets=None, pc_gateway=None, **dhcp) -> Topology:
    """``lan`` with a pool, r serving DHCP, and pc taking its address by DHCP."""
    topo = lan(pool=("10.0.0.100", "10.0.0.199"))
    served = [topo.find("lan").subnet] if server_subnets is None else server_subnets
    topo.find("r").run(service("dhcp-server", subnets=served))
    pc = topo.host("pc", gateway=pc_gateway)
    topo.link(pc, "lan", mac=dhcp.pop("mac", "02:00:00:00:00:03"),
              dhcp=Dhcp(**{"server": "r", **dhcp}))
    return topo


def vlan_lan(vlans: bool = True, mixed: bool = False) -> Topology:
    """Switch access with VLAN 10 (pcs-a, 10.1.1.0/24) and 20 (pcs-b, 10.1.2.0/24)."""
    topo = Topology("t")
    topo.vlan(10, "pcs-a", topo.subnet("10.1.1.0/24", gateway="10.1.1.1"))
    topo.vlan(20, "pcs-b", topo.subnet("10.1.2.0/24", gateway="10.1.2.1"))
    topo.switch("access", vlans=vlans, mixed_subnets=mixed)
    return topo


def on_vlan(topo: Topology, name: str, vlan: int, ip: str, switch: str = "access") -> Topology:
    topo.link(topo.host(name), switch, vlan=vlan, ip=ip)
    return topo


def two_switches(trunk=None, vlan=None) -> Topology:
    topo = vlan_lan()
    topo.switch("core")
    topo.link("access", "core", trunk=trunk, vlan=vlan)
    return topo


def p2p(ip: str, peer_ip: str, subnet: str | None = None) -> Topology:
    topo = Topology("t")
    topo.link(topo.router("a"), topo.router("b"), ip=ip, peer_ip=peer_ip, subnet=subnet)
    return topo


def with_(topo: Topology, change) -> Topology:
    change(topo)
    return topo


def relay_lan(**params) -> Topology:
    topo = lan()
    topo.find("r").run(service("dhcp-relay", **{"server": "10.0.0.9", "downstream": ["r-eth0"],
                                                "upstream": "r-eth0", **params}))
    return topo


def flat_enterprise() -> Topology:
    topo = enterprise.build(TopologyOptions(vlans=False))
    topo.find("access").mixed_subnets = False
    return topo


def test_the_small_models_are_clean():
    for topo in (lan(), dhcp_lan(), dhcp_lan(reserve="10.0.0.50"), relay_lan(),
                 vlan_lan(vlans=False, mixed=True), two_switches(trunk=[10, 20]),
                 p2p("10.9.0.0/31", "10.9.0.1/31"),
                 p2p("10.9.0.1/30", "10.9.0.2/30", "10.9.0.0/30"),
                 on_vlan(on_vlan(vlan_lan(mixed=True, vlans=False), "a", 10, "10.1.1.5/24"),
                         "b", 20, "10.1.2.5/24")):
        assert problems(topo) == []


def test_a_route_on_a_plain_host_is_allowed():
    topo = lan()
    topo.find("h").route("10.5.0.0/16", via="10.0.0.1")
    assert problems(topo) == []


def test_mixed_subnets_allowed_when_marked():
    topo = Topology("t")
    topo.switch("sw", mixed_subnets=True)
    topo.link(topo.host("h1"), "sw", ip="10.0.0.2/24")
    topo.link(topo.host("h2"), "sw", ip="10.0.1.2/24")
    assert problems(topo) == []


def test_a_dhcp_host_may_name_its_subnets_gateway():
    assert problems(dhcp_lan(pc_gateway="10.0.0.1")) == []


# -- one mistake each: (model, node, field, phrase of the message) ----------------------

def mixed_untagged() -> Topology:
    topo = Topology("t")
    topo.switch("sw")
    topo.link(topo.host("h1"), "sw", ip="10.0.0.2/24")
    topo.link(topo.host("h2"), "sw", ip="10.0.1.2/24")
    return topo


def flat_behind_trunk() -> Topology:
    topo = vlan_lan()
    topo.switch("dumb", vlans=False)
    topo.link("access", "dumb", trunk=[10, 20])
    on_vlan(topo, "a", 10, "10.1.1.5/24")
    return on_vlan(topo, "b", 20, "10.1.2.5/24")


def declared_late() -> Topology:
    topo = Topology("t")
    topo.link(topo.host("h"), "sw")
    topo.switch("sw")
    return topo


CASES = [
    # names
    pytest.param(lambda: with_(lan(), lambda t: t.host("h")),
                 "h", "name", "2 nodes are named 'h'", id="duplicate-node"),
    pytest.param(lambda: with_(Topology("t"), lambda t: t.host("pc-1")),
                 "pc-1", "name", "not a usable node name", id="hyphen-in-name"),
    pytest.param(lambda: with_(Topology("t"), lambda t: t.host("1pc")),
                 "1pc", "name", "start with a letter", id="digit-first"),
    pytest.param(lambda: with_(Topology("t"), lambda t: t.host("")),
                 None, "name", "not a usable node name", id="empty-name"),
    pytest.param(lambda: with_(Topology("t"), lambda t: t.host("pc 1")),
                 "pc 1", "name", "only letters, digits and underscore", id="space-in-name"),
    pytest.param(lambda: with_(Topology("t"), lambda t: t.switch("s" * 16)),
                 "s" * 16, "name", "bridge interface", id="long-switch-name"),
    # links
    pytest.param(lambda: with_(lan(), lambda t: t.link("h", "ghost")),
                 "h", "h-eth1: link", "'ghost', which is not a node", id="unknown-node"),
    pytest.param(lambda: with_(lan(), lambda t: t.link("r", "r", name="r-eth1",
                                                      peer_name="r-eth2")),
                 "r", "r-eth1: link", "to itself", id="self-link"),
    pytest.param(declared_late, "sw", "sw-eth0: link", "declared before the switch",
                 id="link-before-switch"),
    # interface names
    pytest.param(lambda: with_(lan(), lambda t: t.link("h", "lan", name="h-a-very-long-name")),
                 "h", "h-a-very-long-name: name", "at most 15", id="long-interface"),
    pytest.param(lambda: with_(lan(), lambda t: t.link("h", "lan", peer_name="lan-uplink-port1")),
                 "lan", "lan-uplink-port1: name", "at most 15", id="long-switch-port"),
    pytest.param(lambda: with_(Topology("t"), lambda t: t.link(t.host("abcdefghijkl"),
                                                              t.host("b"))),
                 "abcdefghijkl", "abcdefghijkl-eth0: name", "has 17 characters",
                 id="long-generated-name"),
    pytest.param(lambda: with_(lan(), lambda t: t.link("h", "lan", name="h-eth0")),
                 "h", "h-eth0: name", "two interfaces named 'h-eth0'", id="duplicate-interface"),
    # VLANs
    pytest.param(lambda: with_(vlan_lan(), lambda t: t.link(t.host("h"), "access", vlan=30)),
                 "access", "access-eth1: vlan", "VLAN 30 is used but not declared",
                 id="undeclared-access-vlan"),
    pytest.param(lambda: two_switches(trunk=[10, 30]),
                 "access", "access-eth1: trunk", "VLAN 30 is used but not declared",
                 id="undeclared-trunk-vlan"),
    pytest.param(lambda: with_(vlan_lan(), lambda t: t.vlan(4095, "x")),
                 None, "vlan 4095", "outside 1..4094", id="vlan-id-too-big"),
    pytest.param(lambda: with_(vlan_lan(), lambda t: t.vlan(0, "x")),
                 None, "vlan 0", "outside 1..4094", id="vlan-id-zero"),
    pytest.param(lambda: with_(vlan_lan(), lambda t: t.vlan(10, "again")),
                 None, "vlan 10", "declared more than once", id="duplicate-vlan"),
    pytest.param(lambda: two_switches(vlan=10),
                 "access", "access-eth1: vlan", "access VLAN on a link between two switches",
                 id="access-vlan-between-switches"),
    pytest.param(lambda: with_(vlan_lan(), lambda t: t.link(t.host("h"), "access", trunk=[10])),
                 "access", "access-eth1: trunk", "no VLAN sub-interfaces", id="trunk-to-host"),
    # addresses
    pytest.param(lambda: on_vlan(vlan_lan(), "xiaoming", 10, "10.1.2.5/24"),
                 "xiaoming", "xiaoming-eth0: ip",
                 "10.1.2.5/24 is outside the subnet 10.1.1.0/24 of VLAN 10 (pcs-a)",
                 id="outside-vlan-subnet"),
    pytest.param(lambda: lan(gateway=None, host_ip="10.0.1.2/24"),
                 "h", "h-eth0: ip", "outside the subnet 10.0.0.0/24 of switch lan",
                 id="outside-switch-subnet"),
    pytest.param(lambda: lan(host_ip="10.0.0.2/16"),
                 "h", "h-eth0: ip", "has prefix /16, but the subnet 10.0.0.0/24",
                 id="wrong-prefix"),
    pytest.param(lambda: lan(host_ip="10.0.0.0/24"),
                 "h", "h-eth0: ip", "is the network address of", id="network-address"),
    pytest.param(lambda: lan(host_ip="10.0.0.255/24"),
                 "h", "h-eth0: ip", "is the broadcast address of", id="broadcast-address"),
    pytest.param(lambda: p2p("10.9.0.3/30", "10.9.0.2/30"),
                 "a", "a-eth0: ip", "broadcast address of 10.9.0.0/30", id="p2p-broadcast"),
    pytest.param(lambda: p2p("10.9.0.1/30", "10.9.1.2/30"),
                 "a", "a-eth0: ip", "on different networks", id="p2p-two-networks"),
    pytest.param(lambda: p2p("10.9.0.1/30", "10.9.1.2/30", subnet="10.9.0.0/30"),
                 "b", "b-eth0: ip", "outside the subnet 10.9.0.0/30 of the link",
                 id="p2p-declared-subnet"),
    pytest.param(lambda: lan(host_ip="10.0.0.150/24", pool=("10.0.0.100", "10.0.0.199")),
                 "h", "h-eth0: ip", "inside the DHCP pool 10.0.0.100-10.0.0.199",
                 id="static-in-pool"),
    # duplicates
    pytest.param(lambda: with_(lan(), lambda t: t.link(t.host("h2"), "lan", ip="10.0.0.2/24")),
                 "h2", "h2-eth0: ip", "10.0.0.2 is already the address of h-eth0",
                 id="duplicate-ip"),
    pytest.param(lambda: dhcp_lan(reserve="10.0.0.2"),
                 "pc", "pc-eth0: dhcp.reserve", "already the address of h-eth0",
                 id="reservation-duplicates-ip"),
    pytest.param(lambda: with_(lan(), lambda t: t.link(t.host("h2"), "lan", ip="10.0.0.3/24",
                                                      mac="02:00:00:00:00:02")),
                 "h2", "h2-eth0: mac", "already the MAC of h-eth0", id="duplicate-mac"),
    # subnets
    pytest.param(lambda: with_(lan(), lambda t: t.vlan(
                     10, "pcs-a", t.subnet("10.1.1.0/24", gateway="10.1.2.1"))),
                 None, "vlan 10: subnet", "gateway 10.1.2.1 of 10.1.1.0/24 is outside",
                 id="vlan-gateway-outside"),
    pytest.param(lambda: with_(Topology("t"), lambda t: t.switch(
                     "sw", subnet=t.subnet("10.0.0.0/24", pool=("10.0.0.100", "10.0.1.5")))),
                 "sw", "subnet", "pool 10.0.0.100-10.0.1.5 is not inside", id="pool-outside"),
    pytest.param(lambda: with_(Topology("t"), lambda t: t.switch(
                     "sw", subnet=t.subnet("10.0.0.0/24", pool=("10.0.0.200", "10.0.0.100")))),
                 "sw", "subnet", "starts at 10.0.0.200, after its end", id="pool-reversed"),
    pytest.param(lambda: with_(Topology("t"), lambda t: t.switch(
                     "sw", subnet=t.subnet("10.0.0.0/24", gateway="10.0.0.1",
                                           pool=("10.0.0.1", "10.0.0.99")))),
                 "sw", "subnet", "includes the gateway", id="pool-has-gateway"),
    # broadcast domains
    pytest.param(flat_enterprise, "access", "vlans",
                 "'access' carries several subnets: 10.1.1.0/24", id="flat-without-mixed"),
    pytest.param(mixed_untagged, "sw", "mixed_subnets", "carries several subnets",
                 id="two-subnets-untagged"),
    pytest.param(flat_behind_trunk, "dumb", "vlans", "'access/vlan10' carries several",
                 id="flat-switch-behind-trunk"),
    # gateways and routes
    pytest.param(lambda: lan(gateway="10.0.9.1"),
                 "h", "gateway", "10.0.9.1 is on none of h's networks (10.0.0.0/24)",
                 id="gateway-off-net"),
    pytest.param(lambda: dhcp_lan(pc_gateway="10.9.9.1"),
                 "pc", "gateway", "on none of pc's networks (10.0.0.0/24)",
                 id="dhcp-host-gateway-off-net"),
    pytest.param(lambda: with_(lan(), lambda t: t.find("r").route("10.5.0.0/16", via="10.9.9.9")),
                 "r", "routes.via", "unreachable next hop 10.9.9.9 for 10.5.0.0/16",
                 id="unreachable-next-hop"),
    # services
    pytest.param(lambda: with_(lan(), lambda t: t.find("r").run(service("dhcp-servr"))),
                 "r", "services[dhcp-servr]", "unknown service 'dhcp-servr'; known: dhcp-relay",
                 id="unknown-service"),
    pytest.param(lambda: with_(lan(), lambda t: t.find("r").run(
                     service("dhcp-relay", server="10.0.0.9", downstream=["r-eth0"]))),
                 "r", "services[dhcp-relay].upstream", "missing required parameter 'upstream'",
                 id="missing-parameter"),
    pytest.param(lambda: with_(lan(), lambda t: t.find("h").run(service("dns-cache",
                                                                      upstrem="10.0.0.1"))),
                 "h", "services[dns-cache].upstrem", "unknown parameter 'upstrem'",
                 id="unknown-parameter"),
    pytest.param(lambda: with_(lan(), lambda t: t.find("h").run(service(
                     "http", sites=["www.baidu.com"], mode="fast"))),
                 "h", "services[http].mode", "'fast' is not one of normal, textbook",
                 id="bad-choice"),
    pytest.param(lambda: relay_lan(downstream=["r-eth7"]),
                 "r", "services[dhcp-relay].downstream", "'r-eth7' is not an interface of r",
                 id="relay-downstream-unknown"),
    pytest.param(lambda: relay_lan(upstream="eth0"),
                 "r", "services[dhcp-relay].upstream", "'eth0' is not an interface of r",
                 id="relay-upstream-unknown"),
    pytest.param(lambda: with_(lan(), lambda t: t.find("r").run(service(
                     "dhcp-server", subnets=["10.0.0.0/24"]))),
                 "r", "services[dhcp-server].subnets", "must be a list of Subnet objects",
                 id="server-subnets-as-text"),
    # DHCP
    pytest.param(lambda: dhcp_lan(server="h"),
                 "pc", "pc-eth0: dhcp.server", "'h' runs no dhcp-server service",
                 id="server-without-service"),
    pytest.param(lambda: dhcp_lan(server="nosuch"),
                 "pc", "pc-eth0: dhcp.server", "'nosuch' runs no dhcp-server", id="server-unknown"),
    pytest.param(lambda: dhcp_lan(relay="h"),
                 "pc", "pc-eth0: dhcp.relay", "'h' runs no dhcp-relay service",
                 id="relay-without-service"),
    pytest.param(lambda: dhcp_lan(client="pump"),
                 "pc", "pc-eth0: dhcp.client", "unknown DHCP client 'pump'", id="unknown-client"),
    pytest.param(lambda: dhcp_lan(reserve="10.0.0.50", mac=None),
                 "pc", "pc-eth0: dhcp.reserve", "a reservation is made by MAC",
                 id="reservation-without-mac"),
    pytest.param(lambda: dhcp_lan(reserve="10.0.1.50"),
                 "pc", "pc-eth0: dhcp.reserve", "10.0.1.50 is outside the subnet 10.0.0.0/24",
                 id="reservation-outside-subnet"),
    pytest.param(lambda: dhcp_lan(reserve="10.0.0.255"),
                 "pc", "pc-eth0: dhcp.reserve", "is the broadcast address",
                 id="reservation-broadcast"),
    pytest.param(lambda: dhcp_lan(reserve="10.0.0.150"),
                 "pc", "pc-eth0: dhcp.reserve", "inside the dynamic pool 10.0.0.100-10.0.0.199",
                 id="reservation-in-pool"),
    pytest.param(lambda: dhcp_lan(server_subnets=[]),
                 "pc", "pc-eth0: dhcp.server", "the dhcp-server of r does not serve 10.0.0.0/24",
                 id="server-does-not-serve-subnet"),
    pytest.param(lambda: with_(dhcp_lan(), lambda t: t.link(t.host("static"), "lan",
                                                           ip="10.0.0.7/24",
                                                           dhcp=Dhcp(server="r"))),
                 "static", "static-eth0: ip",
                 "is static, but the interface takes its address by DHCP",
                 id="dhcp-and-static-ip"),
    pytest.param(lambda: with_(dhcp_lan(), lambda t: t.link(t.host("far"), "r",
                                                           dhcp=Dhcp(server="r"))),
                 "far", "far-eth0: dhcp", "no subnet to take an address from",
                 id="dhcp-without-subnet"),
    # the topology itself, and hosts files
    pytest.param(lambda: with_(lan(), lambda t: setattr(t, "name", "../../../tmp/x")),
                 None, "topology name", "'../../../tmp/x' is not a usable topology name",
                 id="topology-name-path"),
    pytest.param(lambda: Topology("empty"),
                 None, "nodes", "topology 'empty' declares no node", id="empty-topology"),
    pytest.param(lambda: with_(lan(), lambda t: t.find("h").hosts.update({"x.corp": "not-an-ip"})),
                 "h", "hosts['x.corp']", "'not-an-ip' is not an IPv4 address",
                 id="hosts-entry-not-an-address"),
    pytest.param(lambda: with_(lan(), lambda t: t.find("h").hosts.update({"bad name": "10.0.0.9"})),
                 "h", "hosts['bad name']", "'bad name' is not a host name",
                 id="hosts-entry-bad-name"),
    pytest.param(lambda: with_(lan(), lambda t: t.vlan(10, "v", Subnet(
                     IPv4Network("10.1.1.0/24"), lease_time=-5))),
                 None, "vlan 10: subnet", "the lease time of 10.1.1.0/24 is -5",
                 id="negative-lease-time"),
    # a daemon's listening address
    pytest.param(lambda: with_(lan(), lambda t: t.find("h").run(
                     service("dns-resolver", mode="recursive", listen="10.0.0.3"))),
                 "h", "services[dns-resolver].listen", "10.0.0.3 is not an address of h (10.0.0.2)",
                 id="listen-not-own-address"),
    pytest.param(lambda: with_(lan(), lambda t: t.find("h").run(
                     service("dns-authoritative", zones={}, listen="example"))),
                 "h", "services[dns-authoritative].listen", "'example' is not an IPv4 address",
                 id="listen-not-an-address"),
    # NAT
    pytest.param(lambda: with_(lan(), lambda t: t.link("h", t.router("isp"), ip="198.51.100.2/24",
                                                      nat=True, peer_ip="198.51.100.1/24")),
                 "h", "h-eth1: nat", "source NAT needs a router, and h is a host",
                 id="nat-on-host"),
]


@pytest.mark.parametrize("build, node, field, phrase", CASES)
def test_each_check_names_node_and_field(build, node, field, phrase):
    found = problems(build())
    assert len(found) == 1, found
    problem = found[0]
    assert (problem.node, problem.field) == (node, field), problem
    assert phrase in problem.message
    with pytest.raises(TopologyError) as raised:
        validate(build())
    assert (raised.value.node, raised.value.field) == (node, field)


# -- mistakes that show up in more than one place ------------------------------------

def fields(topo: Topology) -> list[tuple[str | None, str]]:
    return [(p.node, p.field) for p in problems(topo)]


def test_vlan_and_trunk_on_one_port():
    topo = two_switches(trunk=[10], vlan=10)
    assert fields(topo) == [("access", "access-eth1: trunk"), ("core", "core-eth1: trunk"),
                            ("access", "access-eth1: vlan")]
    assert "either an access port (vlan=) or a trunk" in problems(topo)[0].message


def test_empty_trunk_is_refused_on_both_ends():
    topo = two_switches(trunk=[])
    assert fields(topo) == [("access", "access-eth1: trunk"), ("core", "core-eth1: trunk")]
    assert all("must carry a VLAN" in p.message for p in problems(topo))


def test_every_problem_is_reported_in_check_order():
    topo = lan(gateway="10.0.9.1")
    topo.host("h")
    topo.find("r").run(service("dhcp-servr"))
    assert fields(topo) == [("h", "name"), ("h", "gateway"), ("r", "services[dhcp-servr]")]


def test_an_undeclared_vlan_is_reported_once():
    topo = vlan_lan()
    for name in ("a", "b"):
        topo.link(topo.host(name), "access", vlan=30)
    assert fields(topo) == [("access", "access-eth1: vlan")]


def test_validate_raises_the_first_problem():
    topo = lan(gateway="10.0.9.1", host_ip="10.0.0.0/24")
    with pytest.raises(TopologyError) as raised:
        validate(topo)
    assert (raised.value.node, raised.value.field) == (problems(topo)[0].node,
                                                       problems(topo)[0].field)
    assert str(raised.value).startswith("h: h-eth0: ip: 10.0.0.0/24 is the network address")


@pytest.mark.parametrize("lease", [-5, 0, "an hour", True])
def test_the_builder_refuses_a_lease_time_that_is_not_positive_seconds(lease):
    with pytest.raises(TopologyError, match="lease_time: .* is not a positive number of seconds"):
        Topology("t").subnet("10.0.0.0/24", lease_time=lease)


def test_renew_time_must_be_shorter_than_the_lease():
    from orchestrator.model import Dhcp
    from orchestrator.model.validation import problems
    from topologies import enterprise
    topo = enterprise.build()
    iface = topo.interfaces("xiaoming")[0]
    iface.dhcp = Dhcp(server="srv", relay="gw1", reserve=iface.dhcp.reserve, renew_time=7200)
    found = [p for p in problems(topo) if p.field.endswith("dhcp.renew_time")]
    assert found and found[0].node == "xiaoming" and "not shorter than the lease" in found[0].message
