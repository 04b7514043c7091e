"""Path prediction from the model alone (orchestrator/model/paths.py): routing
tables, longest prefix, default routes, next-hop owners, NAT, failures in
words, broadcast domains across trunks; on the test tree's chain and campus
and on enterprise with and without VLANs.  No lab, no root."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface, IPv4Network

import pytest

from orchestrator.model import Dhcp, Topology, TopologyOptions
from orchestrator.model.paths import CONNECTED, DHCP, GATEWAY, STATIC, Network, address_plan
from tests.topologies import campus, chain
from topologies import enterprise


def A(text: str) -> IPv4Address:
    return IPv4Address(text)


def hops(path) -> list[tuple[str, str | None, str | None]]:
    return [(h.node, h.arrived_on, h.left_on) for h in path.hops]


# -- routing tables -------------------------------------------------------------------

def test_chain_tables_have_connected_static_and_default_routes():
    net = Network(chain.build())
    assert [(str(r.network), r.via and str(r.via), r.iface, r.origin)
            for r in net.tables["r1"].routes] == [
        ("10.9.0.0/24", None, "r1-eth0", CONNECTED),
        ("10.9.255.0/30", None, "r1-eth1", CONNECTED),
        ("10.9.1.0/24", "10.9.255.2", "r1-eth1", STATIC)]
    assert str(net.tables["r2"].routes[-1]) == "default via 10.9.255.1 dev r2-eth0 (static)"
    assert str(net.tables["pc1"].routes[-1]) == "default via 10.9.0.1 dev pc1-eth0 (gateway)"


def wan_router() -> Topology:
    """r with a /8 and a /16 route by different next hops, and a default."""
    topo = Topology("lpm")
    r = topo.router("r")
    for name, mine, theirs in (("a", "192.0.2.1/30", "192.0.2.2/30"),
                               ("b", "192.0.2.5/30", "192.0.2.6/30"),
                               ("c", "192.0.2.9/30", "192.0.2.10/30")):
        topo.link(r, topo.router(name), ip=mine, peer_ip=theirs)
    r.route("10.0.0.0/8", via="192.0.2.2").route("10.1.0.0/16", via="192.0.2.6")
    r.route("default", via="192.0.2.10")
    return topo


@pytest.mark.parametrize("address, via", [
    ("10.1.2.3", "192.0.2.6"),       # the /16 beats the /8
    ("10.2.0.1", "192.0.2.2"),       # only the /8
    ("192.168.7.7", "192.0.2.10"),   # only the default
    ("192.0.2.5", None),             # connected /30, no next hop
])
def test_lookup_takes_the_longest_prefix(address, via):
    route = Network(wan_router()).lookup("r", A(address))
    assert (route.via and str(route.via)) == via


def test_no_route_at_all_without_a_default():
    topo = wan_router()
    topo.node("r").routes.pop()
    assert Network(topo).lookup("r", A("192.168.7.7")) is None


def test_default_route_from_gateway_dhcp_subnet_and_static_default():
    topo = Topology("defaults")
    lan = topo.switch("lan", subnet=topo.subnet("10.5.0.0/24", gateway="10.5.0.1"))
    gw = topo.router("gw", services=[])
    topo.link(gw, lan, ip="10.5.0.1/24")
    topo.link(topo.host("static", gateway="10.5.0.1"), lan, ip="10.5.0.10/24")
    topo.link(topo.host("leased"), lan, mac="02:00:00:00:05:0b",
              dhcp=Dhcp(server="gw", reserve="10.5.0.11"))
    both = topo.host("both", gateway="10.5.0.1").route("default", via="10.5.0.2")
    topo.link(both, lan, ip="10.5.0.12/24")
    net = Network(topo)
    defaults = {name: [r for r in net.tables[name].routes if r.network.prefixlen == 0]
                for name in ("static", "leased", "both", "gw")}
    assert [(str(r.via), r.origin) for r in defaults["static"]] == [("10.5.0.1", GATEWAY)]
    assert [(str(r.via), r.origin) for r in defaults["leased"]] == [("10.5.0.1", DHCP)]
    assert [(str(r.via), r.origin) for r in defaults["both"]] == [("10.5.0.2", STATIC)]
    assert defaults["gw"] == []


def test_address_plan_takes_reservations_and_runtime_leases():
    topo = campus.build()
    assert address_plan(topo)[("a1", "a1-eth0")] == IPv4Interface("10.20.10.10/24")
    assert ("a2", "a2-eth0") not in address_plan(topo)          # pool, no lease yet
    leased = {("a2", "a2-eth0"): IPv4Interface("10.20.10.100/24"),
              ("a1", "a1-eth0"): IPv4Interface("10.20.10.101/24")}
    plan = address_plan(topo, leased)
    assert plan[("a2", "a2-eth0")] == IPv4Interface("10.20.10.100/24")
    assert plan[("a1", "a1-eth0")] == IPv4Interface("10.20.10.101/24")   # the lease wins


# -- paths ---------------------------------------------------------------------------------

def test_chain_path_there_and_back_hop_by_hop():
    trip = Network(chain.build()).round_trip("pc1", "10.9.1.13")
    assert trip.ok
    assert hops(trip.there) == [("pc1", None, "pc1-eth0"), ("r1", "r1-eth0", "r1-eth1"),
                                ("r2", "r2-eth0", "r2-eth1"), ("pc3", "pc3-eth0", None)]
    assert [(leg.out, leg.into, leg.routers, str(leg.destination)) for leg in trip.there.legs] == [
        ("pc1-eth0", "r1-eth0", 0, "10.9.1.13"), ("r1-eth1", "r2-eth0", 1, "10.9.1.13"),
        ("r2-eth1", "pc3-eth0", 2, "10.9.1.13")]
    assert [h.next_hop and str(h.next_hop) for h in trip.there.hops] == [
        "10.9.0.1", "10.9.255.2", "10.9.1.13", None]
    assert trip.there.routers == ["r1", "r2"]
    # The reply leaves from the address pinged, back to the source.
    assert [h.node for h in trip.back.hops] == ["pc3", "r2", "r1", "pc1"]
    assert {(str(h.source), str(h.destination)) for h in trip.back.hops} == {
        ("10.9.1.13", "10.9.0.11")}
    r2 = trip.back.hops[1].route
    assert r2.origin == STATIC and r2.network.prefixlen == 0


def test_same_subnet_is_one_wire():
    path = Network(chain.build()).path("pc1", "10.9.0.12")
    assert path.ok and [(leg.out, leg.into) for leg in path.legs] == [("pc1-eth0", "pc2-eth0")]


def test_missing_route_fails_naming_router_and_network():
    path = Network(chain.build(missing_route=True)).path("pc1", "10.9.1.13")
    assert not path.ok
    assert path.failure == "r1 has no route to 10.9.1.0/24"
    assert path.progress() == "left pc1 on pc1-eth0, reached r1 on r1-eth0"
    assert hops(path)[-1] == ("r1", "r1-eth0", None)


def test_gateway_nobody_has_fails_naming_the_domain():
    topo = Topology("t")
    lan = topo.switch("lan", subnet=topo.subnet("10.9.0.0/24"))
    topo.link(topo.host("pc", gateway="10.9.0.99"), lan, ip="10.9.0.11/24")
    topo.link(topo.host("other"), lan, ip="10.9.0.12/24")
    path = Network(topo).path("pc", "192.0.2.1")
    assert path.failure.startswith("10.9.0.99 is not on any interface of lan")
    assert path.progress() == "did not leave pc"


def test_a_host_does_not_forward():
    topo = Topology("t")
    lan = topo.switch("lan", subnet=topo.subnet("10.9.0.0/24"))
    far = topo.switch("far", subnet=topo.subnet("10.8.0.0/24"))
    topo.link(topo.host("pc", gateway="10.9.0.2"), lan, ip="10.9.0.11/24")
    dual = topo.host("dual")
    topo.link(dual, lan, ip="10.9.0.2/24")
    topo.link(dual, far, ip="10.8.0.2/24")
    topo.link(topo.host("x"), far, ip="10.8.0.9/24")
    path = Network(topo).path("pc", "10.8.0.9")
    assert path.failure == "dual is not a router: it does not forward to 10.8.0.9"


def test_routing_loop_is_named():
    topo = Topology("loop")
    a, b = topo.router("a"), topo.router("b")
    topo.link(a, b, ip="10.0.0.1/30", peer_ip="10.0.0.2/30")
    lan = topo.switch("lan", subnet=topo.subnet("10.1.0.0/24"))
    topo.link(topo.host("pc", gateway="10.1.0.1"), lan, ip="10.1.0.10/24")
    topo.link(a, lan, ip="10.1.0.1/24")
    a.route("default", via="10.0.0.2")
    b.route("default", via="10.0.0.1")
    path = Network(topo).path("pc", "172.16.0.1")
    assert path.failure.startswith("routing loop: back at a for 172.16.0.1")


def test_source_nat_rewrites_the_source_and_the_reply_is_translated_back():
    net = Network(campus.build())
    trip = net.round_trip("a1", "198.18.0.100")
    assert trip.ok
    assert [(h.node, str(h.source), h.translated) for h in trip.there.hops] == [
        ("a1", "10.20.10.10", False), ("core", "198.18.0.1", True),
        ("ext", "198.18.0.1", False)]
    assert [leg.source for leg in trip.there.legs] == [A("10.20.10.10"), A("198.18.0.1")]
    # ext answers the NAT address; core turns it back to a1 and forwards it.
    assert [(h.node, str(h.destination), h.untranslated) for h in trip.back.hops] == [
        ("ext", "198.18.0.1", False), ("core", "10.20.10.10", True),
        ("a1", "10.20.10.10", False)]
    assert [leg.routers for leg in trip.back.legs] == [0, 1]


def test_nat_makes_the_outside_unable_to_reach_in():
    net = Network(campus.build())
    assert [h.node for h in net.nat_between("a1", A("198.18.0.100"))] == ["core"]
    assert net.nat_between("ext", A("10.20.10.10")) == []
    assert net.path("ext", "10.20.10.10").failure == "ext has no route to 10.20.10.0/24"


def test_dhcp_client_without_lease_has_no_source():
    path = Network(campus.build()).path("a2", "10.20.0.10")
    assert path.failure == "a2 has no address on a2-eth0 to send from"
    leased = Network(campus.build(), {("a2", "a2-eth0"): IPv4Interface("10.20.10.150/24")})
    assert leased.round_trip("a2", "10.20.0.10").ok


# -- broadcast domains --------------------------------------------------------------------

def members(net: Network, node: str, iface: str) -> set[str]:
    return {i.name for i in net.domain_of(node, iface).interfaces}


def test_vlans_span_both_switches_through_the_trunk():
    net = Network(campus.build())
    assert members(net, "a2", "a2-eth0") == {"core-eth0", "a1-eth0", "a2-eth0"}
    assert members(net, "b1", "b1-eth0") == {"core-eth1", "b1-eth0", "b2-eth0"}
    assert net.owner(net.domain_of("a2", "a2-eth0"), A("10.20.10.1")).name == "core-eth0"


def test_a_trunk_without_a_vlan_splits_it():
    topo = campus.build()
    trunk = topo.links[0]
    trunk.a.trunk = trunk.b.trunk = (10,)
    net = Network(topo)
    assert members(net, "b2", "b2-eth0") == {"b2-eth0"}
    trip = net.round_trip("b1", "10.20.20.20")
    assert trip.there.failure == "10.20.20.20 is not on any interface of acc1/vlan20 " \
                                 "(b1's route 10.20.20.0/24 dev b1-eth0 (connected))"


def test_flat_switches_make_one_domain():
    net = Network(campus.build(TopologyOptions(vlans=False)))
    assert members(net, "a1", "a1-eth0") == {"core-eth0", "core-eth1", "a1-eth0", "b1-eth0",
                                             "a2-eth0", "b2-eth0"}


# -- enterprise ------------------------------------------------------------------------------

def test_enterprise_cross_vlan_path_goes_through_the_edge():
    net = Network(enterprise.build())
    trip = net.round_trip("xiaoming", "10.1.2.2")
    assert [h.node for h in trip.there.hops] == ["xiaoming", "gw1", "edge", "gw2", "xiaoli"]
    assert [h.node for h in trip.back.hops] == ["xiaoli", "gw2", "edge", "gw1", "xiaoming"]
    assert trip.there.hops[0].route.origin == DHCP


def test_enterprise_server_uses_its_static_routes():
    trip = Network(enterprise.build()).round_trip("srv", "10.1.1.3")
    assert [h.node for h in trip.there.hops] == ["srv", "gw1", "xiaomei"]
    assert [h.node for h in trip.back.hops] == ["xiaomei", "gw1", "srv"]     # gw1 is on srvlan


def test_enterprise_internet_through_the_edge_nat():
    net = Network(enterprise.build())
    trip = net.round_trip("xiaoli", "8.8.8.8")
    assert trip.ok and [h.node for h in trip.there.translations] == ["edge"]
    assert trip.there.final_source == A("203.0.113.2")
    assert [h.node for h in trip.back.hops] == ["pubdns", "isp", "edge", "gw2", "xiaoli"]
    assert net.path("pubdns", "10.1.2.2").failure == "isp has no route to 10.1.2.0/24"


def test_enterprise_without_vlans_is_one_access_domain():
    net = Network(enterprise.build(TopologyOptions(vlans=False)))
    assert members(net, "xiaoli", "xiaoli-eth0") == {
        "gw1-eth0", "gw2-eth0", "xiaoming-eth0", "xiaomei-eth0", "xiaoli-eth0"}
    same = net.path("xiaoming", "10.1.1.3")
    assert [(leg.out, leg.into) for leg in same.legs] == [("xiaoming-eth0", "xiaomei-eth0")]
    assert net.round_trip("xiaoming", "10.1.2.2").ok


def test_interface_networks_are_routes():
    net = Network(enterprise.build())
    assert net.network_of(A("10.1.2.2")) == IPv4Network("10.1.2.0/24")
    assert net.source_address("edge", A("8.8.8.8")) == A("203.0.113.2")


def test_a_leased_router_replaces_the_declared_gateway():
    """Two relays racing on a flat LAN: xiaomei's lease came through gw2, so
    her address and router are of VLAN 20's subnet, not the one her port
    declares; the prediction follows the lease."""
    topo = enterprise.build(TopologyOptions(vlans=False))
    runtime = {("xiaomei", "xiaomei-eth0"): IPv4Interface("10.1.2.163/24")}
    stale = Network(topo, runtime)
    assert stale.path("xiaomei", "8.8.8.8").failure == "xiaomei has no route to 8.8.8.0/24"
    assert stale.tables["xiaomei"].unusable == (
        "0.0.0.0/0 via 10.1.1.1 (dhcp): 10.1.1.1 is on none of xiaomei's networks",)
    net = Network(topo, runtime, {("xiaomei", "xiaomei-eth0"): A("10.1.2.1")})
    assert str(net.tables["xiaomei"].routes[-1]) == "default via 10.1.2.1 dev xiaomei-eth0 (lease)"
    trip = net.round_trip("xiaomei", "10.1.1.2")
    assert [h.node for h in trip.there.hops] == ["xiaomei", "gw2", "edge", "gw1", "xiaoming"]
    assert trip.ok
