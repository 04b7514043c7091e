"""The derived ``dhcp`` check's judge, fed synthetic captures: it passes on
a whole relayed exchange and, when the network is broken, fails naming the
step where the exchange stopped and what was on the wire instead.  Also the
plans it derives from models that are not the shipped labs."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest
from scapy.layers.dhcp import BOOTP

from orchestrator.checks.derived import dhcp as derived
from orchestrator.checks.dhcp.common import Client, Relay
from orchestrator.model import Dhcp, Topology, TopologyOptions, service
from orchestrator.packets import ExpectationFailed, synth
from tests.unit.test_checks_dhcp import XIAOMING

pytestmark = pytest.mark.timeout(60)


def points(tmp_path, request, scenario) -> dict:
    """The synthetic DORA at the four points: the relay's LAN side sees the
    client's wire, its upstream side the server's LAN."""
    caps = synth.load(scenario, tmp_path, request.node.name)
    client, server = caps["xiaoming-eth0"], caps["srv-eth0"]
    return {"xiaoming-eth0": client, "gw1-eth0": client, "gw1-eth1": server, "srv-eth0": server}


def plans(client=XIAOMING, *others) -> derived.Plans:
    return derived.Plans(client, list(others))


def fails(scenario_points, plan, says: list[str]) -> str:
    with pytest.raises(ExpectationFailed) as failure:
        derived.judge_dhcp(scenario_points, plan)
    text = str(failure.value)
    for phrase in says:
        assert phrase in text, text
    return text


def test_a_whole_relayed_exchange_passes(tmp_path, request):
    followed, ack = derived.judge_dhcp(points(tmp_path, request, synth.dora_relay()), plans())
    assert followed.relay.node == "gw1" and followed.address == "10.1.1.2"
    assert ack.dhcp.yiaddr == "10.1.1.2"


def test_a_pool_client_passes_with_any_address_of_its_pool(tmp_path, request):
    scenario = synth.dora_relay(address="10.1.1.150")
    followed, _ = derived.judge_dhcp(points(tmp_path, request, scenario),
                                     plans(replace(XIAOMING, address=None)))
    assert followed.address == "10.1.1.150"


def test_a_relay_that_relays_nothing_stops_the_exchange_at_step_3(tmp_path, request):
    scenario = synth.dora_relay()
    scenario["srv-eth0"] = []
    text = fails(points(tmp_path, request, scenario), plans(),
                 ["stopped at step 3 of 10", "no DISCOVER relayed by gw1 from 10.10.10.1 "
                  "with giaddr 10.1.1.1 on gw1-eth1", "got as far as: DISCOVER heard by gw1"])
    assert text.startswith("xiaoming (xiaoming-eth0, 02:00:0a:01:01:02)")


def test_no_discover_at_all_names_the_first_step(tmp_path, request):
    scenario = synth.dora_relay()
    scenario["xiaoming-eth0"] = scenario["xiaoming-eth0"][4:]      # only the ARP probe
    fails(points(tmp_path, request, scenario), plans(),
          ["stopped at step 1 of 10", "no DISCOVER from xiaoming"])


def test_an_address_outside_the_pool_is_refused(tmp_path, request):
    scenario = synth.dora_relay(address="10.1.1.50")
    fails(points(tmp_path, request, scenario), plans(replace(XIAOMING, address=None)),
          ["stopped at step 5 of 10", "OFFER from srv", "yiaddr is 10.1.1.50, which fails in 10.1.1.100-10.1.1.199"])


def test_a_wrong_router_in_the_ack_is_refused(tmp_path, request):
    scenario = synth.dora_relay(gateway="10.1.1.1")
    for packet in scenario["xiaoming-eth0"][3:4]:
        packet["DHCP options"].options = [
            ("router", "10.1.1.254") if isinstance(o, tuple) and o[0] == "router" else o
            for o in packet["DHCP options"].options]
    fails(points(tmp_path, request, scenario), plans(),
          ["stopped at step 10 of 10", "ACK delivered by gw1", "router is [10.1.1.254], not 10.1.1.1"])


def test_an_ack_through_another_relay_is_refused_where_subnets_are_not_mixed(tmp_path, request):
    scenario = synth.dora_relay()
    for packet in scenario["xiaoming-eth0"][1:4:2]:
        packet[BOOTP].giaddr = "10.1.2.1"
    fails(points(tmp_path, request, scenario), plans(),
          ["its ACK came with giaddr 10.1.2.1, not 10.1.1.1 (via gw1)"])


def test_in_a_mixed_domain_the_exchange_follows_the_winning_relay(tmp_path, request):
    gw2 = Client(
        "xiaoming", "xiaoming-eth0", XIAOMING.mac, None,
        replace(XIAOMING.subnet, network=__import__("ipaddress").IPv4Network("10.1.2.0/24")),
        "srv", "srv-eth0", synth.SERVER, synth.SRV_MAC,
        Relay("gw2", "gw2-eth0", synth.GW2_LAN_MAC, "gw2-eth1", "10.1.2.1",
                      "10.10.10.2"), None)
    with pytest.raises(ExpectationFailed):       # gw1's OFFER: gw2's plan does not fit it
        derived.judge_dhcp(points(tmp_path, request, synth.dora_relay()), plans(gw2))
    followed, _ = derived.judge_dhcp(points(tmp_path, request, synth.dora_relay()),
                                     plans(gw2, XIAOMING))
    assert followed.relay.node == "gw1"


def test_the_configuration_applied_must_match_the_ack():
    c = XIAOMING
    ok = derived.judge_config(c, "2: xiaoming-eth0    inet 10.1.1.2/24 brd 10.1.1.255 scope",
                              "default via 10.1.1.1 dev xiaoming-eth0\n",
                              "nameserver 10.10.10.10\n")
    assert ok == "10.1.1.2/24 router 10.1.1.1 dns 10.10.10.10"
    with pytest.raises(ExpectationFailed) as failure:
        derived.judge_config(c, "inet 10.1.1.9/24 ", "", "nameserver 8.8.8.8\n")
    text = str(failure.value)
    assert "not 10.1.1.2/24" in text and "not via 10.1.1.1" in text and "not ['10.10.10.10']" in text


def campus_like() -> Topology:
    """Two access switches joined by a trunk, one relay serving both VLANs,
    a flat LAN with a server on it: not a shipped lab."""
    topo = Topology("campus-like", options=TopologyOptions())
    a = topo.subnet("172.20.10.0/24", gateway="172.20.10.1", pool=("172.20.10.100", "172.20.10.150"),
                    dns=["172.20.0.10"])
    b = topo.subnet("172.20.20.0/24", gateway="172.20.20.1", pool=("172.20.20.100", "172.20.20.150"))
    v10, v20 = topo.vlan(10, "staff", a), topo.vlan(20, "guests", b)
    core = topo.switch("core", subnet=topo.subnet("172.20.0.0/24"))
    s1, s2 = topo.switch("s1"), topo.switch("s2")
    topo.link(s1, s2, trunk=[10, 20])
    relay = topo.router("r", services=[service("dhcp-relay", server="172.20.0.10",
                                               downstream=["r-eth0", "r-eth1"],
                                               upstream="r-eth2")])
    topo.link(relay, s1, vlan=v10, ip="172.20.10.1/24")
    topo.link(relay, s1, vlan=v20, ip="172.20.20.1/24")
    topo.link(relay, core, ip="172.20.0.1/24")
    dhcp_srv = topo.host("d", gateway="172.20.0.1",
                         services=[service("dhcp-server", subnets=[a, b])])
    topo.link(dhcp_srv, core, ip="172.20.0.10/24")
    topo.link(topo.host("p1"), s2, vlan=v10, dhcp=Dhcp(server="d", relay="r"))
    topo.link(topo.host("p2"), s2, vlan=v20,
              dhcp=Dhcp(server="d", relay="r", reserve="172.20.20.5"))
    return topo


def test_plans_are_derived_from_a_users_model():
    topo = campus_like()
    lab = SimpleNamespace(topo=topo, node=lambda name: None)
    p1 = topo.interfaces("p1")[0]
    p2 = topo.interfaces("p2")[0]
    for iface in (p1, p2):
        iface.mac = "02:00:00:00:00:0" + iface.node[-1]
    for iface in topo.interfaces("r") + topo.interfaces("d"):
        iface.mac = iface.mac or "02:00:00:00:01:01"
    one, two = derived.plans_for(lab, p1), derived.plans_for(lab, p2)
    assert one.alternatives == [] and two.alternatives == []
    assert (one.declared.relay.giaddr, one.declared.relay.lan, one.declared.relay.source) == \
        ("172.20.10.1", "r-eth0", "172.20.0.1")
    assert (two.declared.relay.giaddr, two.declared.relay.lan) == ("172.20.20.1", "r-eth1")
    assert one.declared.address is None and two.declared.address == "172.20.20.5"
    assert (one.declared.server, one.declared.server_iface) == ("d", "d-eth0")
    steps = derived.exchange_steps(one.declared, 7)
    assert len(steps) == 10 and steps[2].point == "r-eth2"
    assert [n for n, _ in derived.relays_in_domain(topo, p1)] == ["r"]


def test_in_the_flat_enterprise_both_relays_are_alternatives():
    from orchestrator.model import registry
    topo = registry.load("enterprise", TopologyOptions(vlans=False))
    lab = SimpleNamespace(topo=topo)
    xiaoming = topo.interfaces("xiaoming")[0]
    found = derived.plans_for(lab, xiaoming)
    assert found.declared.relay.node == "gw1"
    assert [(c.relay.node, c.address) for c in found.alternatives] == [("gw2", None)]
    assert found.by_giaddr("10.1.2.1").relay.node == "gw2"
