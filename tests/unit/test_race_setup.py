"""Who races, from the model alone: the relays of the client's broadcast
domain, their servers and subnets, the default client, and the refusals
that ``race`` gives before building anything, without a lab."""

from __future__ import annotations

from ipaddress import IPv4Network
from pathlib import Path

import pytest

from orchestrator.cli import parser
from orchestrator.cli.race_cmd import prepare
from orchestrator.model import Dhcp, Topology, TopologyOptions, registry, service
from orchestrator.race.plan import RaceError, default_client, plan, slow_relay_gateway, why_no_race

pytestmark = pytest.mark.timeout(60)

FLAT = TopologyOptions(vlans=False)
TWORELAYS = str(Path(__file__).parents[1] / "topologies" / "tworelays.py")


def load(spec: str, options: TopologyOptions = TopologyOptions()) -> Topology:
    return registry.load(spec, options)


def relays(setup) -> list[tuple]:
    return [(gw.label, gw.inside, gw.outside, gw.address, gw.server) for gw in setup.gateways]


def test_enterprise_without_vlans_races_xiaoming_through_both_gateways():
    setup = plan(load("enterprise", FLAT))
    assert (setup.client, setup.client_iface, setup.domain) == ("xiaoming", "xiaoming-eth0",
                                                                "access")
    assert relays(setup) == [("gw1", "gw1-eth0", "gw1-eth1", "10.1.1.1", ("srv", "srv-eth0")),
                             ("gw2", "gw2-eth0", "gw2-eth1", "10.1.2.1", ("srv", "srv-eth0"))]
    assert setup.subnets == [IPv4Network("10.1.1.0/24"), IPv4Network("10.1.2.0/24")]
    assert setup.own_gateway == "10.1.1.1"
    assert setup.points == [("xiaoming", "xiaoming-eth0"), ("gw1", "gw1-eth0"),
                            ("gw1", "gw1-eth1"), ("gw2", "gw2-eth0"), ("gw2", "gw2-eth1"),
                            ("srv", "srv-eth0")]


def test_with_vlans_the_flat_builds_relays_are_captured_and_the_own_one_judged():
    vlans, flat = load("enterprise"), load("enterprise", FLAT)
    assert why_no_race(vlans, "xiaoming") == (
        "xiaoming's broadcast domain access/vlan10 holds one DHCP relay (gw1): a race needs two")
    setup = plan(vlans, None, flat)
    assert [gw.name for gw in setup.gateways] == ["gw1", "gw2"]
    assert setup.client == "xiaoming" and setup.own_gateway == "10.1.1.1"
    assert plan(vlans, "xiaoli", flat).own_gateway == "10.1.2.1"


def test_the_vlan_build_alone_is_refused_with_the_reason():
    with pytest.raises(RaceError, match=r"^xiaoming's broadcast domain access/vlan10 holds one"):
        plan(load("enterprise"), "xiaoming")


def test_another_cast_on_another_topology():
    flat = load(TWORELAYS, FLAT)
    assert default_client(flat) == "pc1"
    setup = plan(flat, "pc2")
    assert relays(setup) == [
        ("r1", "r1-eth0", "r1-eth1", "172.16.1.1", ("dhcp1", "dhcp1-eth0")),
        ("r2", "r2-eth0", "r2-eth1", "172.16.2.1", ("dhcp1", "dhcp1-eth0"))]
    assert setup.subnets == [IPv4Network("172.16.1.0/24"), IPv4Network("172.16.2.0/24")]
    assert setup.own_gateway == "172.16.2.1" and setup.domain == "lan"


def test_a_node_relaying_on_two_interfaces_of_one_domain_relays_twice():
    """One router with a leg in each VLAN: without VLANs both legs share
    the flat domain, so it relays a DISCOVER with each leg's address."""
    setup = plan(two_legs(FLAT), "pc1")
    assert [(gw.label, gw.address) for gw in setup.gateways] == [
        ("core-eth0", "10.70.1.1"), ("core-eth1", "10.70.2.1")]
    assert setup.own_gateway == "10.70.1.1"
    assert setup.points.count(("core", "core-eth2")) == 1
    assert why_no_race(two_legs(TopologyOptions()), "pc1") == (
        "pc1's broadcast domain lan/vlan10 holds one DHCP relay (core): a race needs two")


def two_legs(options: TopologyOptions) -> Topology:
    topo = Topology("twolegs", "", options)
    ten = topo.vlan(10, "a", topo.subnet("10.70.1.0/24", gateway="10.70.1.1",
                                         pool=("10.70.1.100", "10.70.1.199")))
    twenty = topo.vlan(20, "b", topo.subnet("10.70.2.0/24", gateway="10.70.2.1",
                                            pool=("10.70.2.100", "10.70.2.199")))
    lan = topo.switch("lan", vlans=options.vlans, mixed_subnets=not options.vlans)
    back = topo.switch("back", subnet=topo.subnet("10.70.0.0/24"))
    server = topo.host("srv", services=[service("dhcp-server",
                                                subnets=[ten.subnet, twenty.subnet])])
    topo.link(server, back, ip="10.70.0.10/24")
    core = topo.router("core", services=[service(
        "dhcp-relay", server="10.70.0.10", downstream=["core-eth0", "core-eth1"],
        upstream="core-eth2")])
    topo.link(core, lan, vlan=ten, ip="10.70.1.1/24")
    topo.link(core, lan, vlan=twenty, ip="10.70.2.1/24")
    topo.link(core, back, ip="10.70.0.1/24")
    topo.link(topo.host("pc1"), lan, vlan=ten, dhcp=Dhcp(server="srv", relay="core"))
    return topo


def test_nodes_without_dhcp_or_relays_are_refused_by_name():
    enterprise = load("enterprise", FLAT)
    with pytest.raises(RaceError, match="^srv takes no address by DHCP$"):
        plan(enterprise, "srv")
    with pytest.raises(RaceError, match="^enterprise has no node nobody$"):
        plan(enterprise, "nobody")
    with pytest.raises(RaceError, match="^chain has no DHCP client: nothing to race$"):
        plan(load(str(Path(TWORELAYS).with_name("chain.py"))))
    with pytest.raises(RaceError, match="^home-like's broadcast domain lan holds no DHCP "
                                        "relays: a race needs two$"):
        plan(server_on_the_lan(), "home-like")


def one_relay(options: TopologyOptions, servers: int = 1) -> Topology:
    """pc1 behind r1 (VLAN 10); with ``servers`` 2, a second relay r2 on
    VLAN 20 forwarding to a second server."""
    topo = Topology("onerelay", "", options)
    ten = topo.vlan(10, "a", topo.subnet("10.50.1.0/24", gateway="10.50.1.1",
                                         pool=("10.50.1.100", "10.50.1.199")))
    twenty = topo.vlan(20, "b", topo.subnet("10.50.2.0/24", gateway="10.50.2.1",
                                            pool=("10.50.2.100", "10.50.2.199")))
    lan = topo.switch("lan", vlans=options.vlans, mixed_subnets=not options.vlans)
    back = topo.switch("back", subnet=topo.subnet("10.50.0.0/24"))
    for index in range(1, servers + 1):
        subnet = (ten if index == 1 else twenty).subnet
        server = topo.host(f"s{index}", services=[service("dhcp-server", subnets=[subnet])])
        topo.link(server, back, ip=f"10.50.0.{10 + index}/24")
        router = topo.router(f"r{index}", services=[service(
            "dhcp-relay", server=f"10.50.0.{10 + index}", downstream=[f"r{index}-eth0"],
            upstream=f"r{index}-eth1")])
        topo.link(router, lan, vlan=ten if index == 1 else twenty, ip=f"10.50.{index}.1/24")
        topo.link(router, back, ip=f"10.50.0.{index}/24")
    topo.link(topo.host("pc1"), lan, vlan=ten, dhcp=Dhcp(server="s1", relay="r1"))
    return topo


def server_on_the_lan() -> Topology:
    topo = Topology("home-like", "")
    lan = topo.switch("lan", subnet=topo.subnet("10.60.0.0/24", pool=("10.60.0.100",
                                                                      "10.60.0.199")))
    router = topo.router("router", services=[service("dhcp-server", subnets=[lan.subnet])])
    topo.link(router, lan, ip="10.60.0.1/24")
    topo.link(topo.host("home-like"), lan, dhcp=Dhcp(server="router"))
    return topo


def test_one_relay_is_refused_flat_and_with_vlans():
    with pytest.raises(RaceError) as flat:
        plan(one_relay(FLAT), "pc1")
    assert str(flat.value) == ("pc1's broadcast domain lan holds one DHCP relay (r1): "
                               "a race needs two")
    with pytest.raises(RaceError) as fixed:
        plan(one_relay(TopologyOptions()), "pc1", one_relay(FLAT))
    assert str(fixed.value) == ("no race for VLANs to fix: without them, pc1's broadcast "
                                "domain lan holds one DHCP relay (r1): a race needs two")
    with pytest.raises(RaceError, match=r"^no DHCP client of onerelay has two DHCP relays"):
        plan(one_relay(FLAT))


def test_each_relay_is_followed_to_its_own_server():
    setup = plan(one_relay(FLAT, servers=2), "pc1")
    assert [(gw.name, gw.server) for gw in setup.gateways] == [("r1", ("s1", "s1-eth0")),
                                                               ("r2", ("s2", "s2-eth0"))]
    assert setup.servers == [("s1", "s1-eth0"), ("s2", "s2-eth0")]
    assert setup.subnets == [IPv4Network("10.50.1.0/24"), IPv4Network("10.50.2.0/24")]
    assert setup.points[-2:] == [("s1", "s1-eth0"), ("s2", "s2-eth0")]


def test_slow_relay_must_name_a_racing_relay():
    setup = plan(load("enterprise", FLAT))
    assert slow_relay_gateway(setup, "gw1=5ms").outside == "gw1-eth1"
    with pytest.raises(RaceError, match=r"racing relays \(gw1, gw2\)"):
        slow_relay_gateway(setup, "edge=5ms")


def race_args(*argv: str):
    return parser().parse_args(["race", *argv])


def test_the_command_takes_vlan_and_no_vlan_and_refuses_before_building():
    assert race_args().vlan is False and race_args("--no-vlan").vlan is False
    assert race_args("--vlan").vlan is True
    topo, setup = prepare(race_args(TWORELAYS, "--vlan"))
    assert topo.options.vlans and setup.client == "pc1"
    with pytest.raises(RaceError, match="^pc1 takes no address by DHCP$"):
        prepare(race_args(str(Path(TWORELAYS).with_name("chain.py")), "--client", "pc1"))
    with pytest.raises(RaceError, match="--trials must be at least 1"):
        prepare(race_args("--trials", "0"))
    with pytest.raises(RaceError, match="^--slow-relay r3=1ms"):
        prepare(race_args(TWORELAYS, "--slow-relay", "r3=1ms"))
