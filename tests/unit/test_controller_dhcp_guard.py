"""The ``dhcp-guard`` app's decisions on a flat switch (the relay race set-up)."""

from __future__ import annotations

from os_ken.ofproto import ofproto_v1_3_parser as parser

from orchestrator.controller.apps.dhcp_guard import DhcpGuard
from orchestrator.controller.fabric import DhcpAgent, FabricSwitch

from .controller_fakes import FakeDatapath, fabric_of, frame, packet_in, port, sent_to

PC_A, PC_B, ROGUE = "02:00:00:00:01:02", "02:00:00:00:02:02", "02:00:00:00:09:09"
GW1, GW2 = "02:00:00:00:01:01", "02:00:00:00:02:01"
NET_A, NET_B = "10.1.1.0/24", "10.1.2.0/24"
BCAST = "ff:ff:ff:ff:ff:ff"
AGENTS = (DhcpAgent("gw1", "gw1-eth0", GW1, "10.1.1.1", NET_A),
          DhcpAgent("gw2", "gw2-eth0", GW2, "10.1.2.1", NET_B))


def flat_access(uplink: bool = False) -> FabricSwitch:
    """The flat access switch of the race: both gateways' relays, a PC of
    each subnet (VLAN tags kept in the model) and a PC with no DHCP agent."""
    ports = [port("a-eth1", "gw1", vlan_id=10, subnet=NET_A, mac=GW1, role="router",
                  agent=True, trusted=True),
             port("a-eth2", "gw2", vlan_id=20, subnet=NET_B, mac=GW2, role="router",
                  agent=True, trusted=True),
             port("a-eth3", "pca", vlan_id=10, subnet=NET_A, mac=PC_A),
             port("a-eth4", "pcb", vlan_id=20, subnet=NET_B, mac=PC_B),
             port("a-eth5", "rogue", subnet="", mac=ROGUE)]
    if uplink:
        ports.append(port("a-eth6", "b", role="switch", trusted=True))
    return FabricSwitch("a", 1, False, tuple(ports))


def up(*switches: FabricSwitch, dpid: int = 1):
    app = DhcpGuard(fabric=fabric_of(*switches, agents=AGENTS))
    switch = next(s for s in switches if s.dpid == dpid)
    datapath = FakeDatapath(dpid, [p.name for p in switch.ports])
    app.datapath_up(datapath)
    return app, datapath


def discover(mac: str) -> bytes:
    return frame(mac, BCAST, payload="dhcp", sport=68, dport=67)


def test_discover_goes_only_to_the_relay_of_the_clients_subnet():
    app, datapath = up(flat_access())
    app._packet_in(packet_in(datapath, "a-eth3", discover(PC_A)))
    assert sent_to(datapath) == [("a-eth1", None)]
    app._packet_in(packet_in(datapath, "a-eth4", discover(PC_B)))
    assert sent_to(datapath) == [("a-eth2", None)]


def test_without_the_guard_the_flat_switch_floods_the_discover_to_both_relays():
    """The race itself: what l2 alone does with the same frame."""
    from orchestrator.controller.apps.l2 import L2Switch
    app = L2Switch(fabric=fabric_of(flat_access(), agents=AGENTS))
    datapath = FakeDatapath(1, [p.name for p in flat_access().ports])
    app.datapath_up(datapath)
    app._packet_in(packet_in(datapath, "a-eth3", discover(PC_A)))
    assert {"a-eth1", "a-eth2"} <= {name for name, _tag in sent_to(datapath)}


def test_server_messages_from_an_untrusted_port_are_dropped():
    app, datapath = up(flat_access())
    offer = frame(ROGUE, BCAST, payload="dhcp", sport=67, dport=68)
    app._packet_in(packet_in(datapath, "a-eth5", offer))
    assert sent_to(datapath) == []
    assert app.dropped == {1: 1}


def test_server_messages_from_a_relay_are_forwarded():
    app, datapath = up(flat_access())
    offer = frame(GW1, BCAST, payload="dhcp", sport=67, dport=68)
    app._packet_in(packet_in(datapath, "a-eth1", offer))
    assert ("a-eth3", None) in sent_to(datapath)


def test_untrusted_ports_get_a_drop_flow_for_udp_source_port_67():
    _app, datapath = up(flat_access())
    flows = datapath.take(parser.OFPFlowMod)
    drops = {dict(f.match.items())["in_port"] for f in flows
             if dict(f.match.items()).get("udp_src") == 67}
    assert drops == {datapath.number(n) for n in ("a-eth3", "a-eth4", "a-eth5")}
    assert all(not f.instructions for f in flows if dict(f.match.items()).get("udp_src") == 67)


def test_a_client_whose_subnet_has_no_agent_is_flooded_as_by_l2():
    app, datapath = up(flat_access())
    app._packet_in(packet_in(datapath, "a-eth5", discover(ROGUE)))
    assert [n for n, _ in sent_to(datapath)] == ["a-eth1", "a-eth2", "a-eth3", "a-eth4"]


def test_on_a_second_switch_the_client_is_known_by_its_mac():
    """The DISCOVER of PC_A (plugged into switch a) arrives at switch b
    through the uplink; b sends it only to gw1, plugged into b."""
    a = flat_access(uplink=True)
    b = FabricSwitch("b", 2, False, (
        port("b-eth1", "a", role="switch", trusted=True),
        port("b-eth2", "gw1", subnet=NET_A, mac=GW1, role="router", agent=True, trusted=True),
        port("b-eth3", "gw2", subnet=NET_B, mac=GW2, role="router", agent=True, trusted=True)))
    app, datapath = up(a, b, dpid=2)
    app._packet_in(packet_in(datapath, "b-eth1", discover(PC_A)))
    assert sent_to(datapath) == [("b-eth2", None)]


def test_relay_on_another_switch_is_reached_through_the_uplink():
    a = flat_access(uplink=True)
    a = FabricSwitch("a", 1, False, tuple(p for p in a.ports if p.peer_node != "gw1"))
    app, datapath = up(a)
    app._packet_in(packet_in(datapath, "a-eth3", discover(PC_A)))
    assert sent_to(datapath) == [("a-eth6", None)]


def _race(guard: str, offers_per_trial: list[list[str]]):
    from orchestrator.race import verdict
    from orchestrator.results.race import Offer, RaceRun, Trial
    trials = [Trial(i, offers=[Offer("gw", giaddr, "10.1.1.2", 1.0) for giaddr in offers],
                    subnet="10.1.1.0/24", final_address="10.1.1.2")
              for i, offers in enumerate(offers_per_trial, start=1)]
    return verdict(RaceRun("enterprise", "dnsmasq", False, "xiaoming", trials, 1.0, "10.1.1.1",
                           guard=guard))


def test_flat_race_under_the_guard_is_judged_as_a_fix():
    race = _race("dhcp-guard", [["10.1.1.1"], ["10.1.1.1"]])
    assert race == (True, "fixed by dhcp-guard: exactly one OFFER per "
                                              "DISCOVER, from 10.1.1.1, every trial")


def test_guard_letting_a_second_offer_through_fails_the_race():
    passed, reason = _race("dhcp-guard", [["10.1.1.1"], ["10.1.1.1", "10.1.2.1"]])
    assert not passed and "trial 2" in reason


def test_offer_from_the_wrong_gateway_fails_the_race():
    passed, _reason = _race("dhcp-guard", [["10.1.2.1"]])
    assert not passed


def test_compare_takes_the_guard_as_its_third_run_and_no_other_app():
    import pytest

    from orchestrator.cli import parser
    from orchestrator.race import RaceError
    args = parser().parse_args(["race", "--compare", "--controller", "os-ken",
                                "--controller-app", "l2"])
    with pytest.raises(RaceError, match="the third run is the flat network under dhcp-guard"):
        args.handler(args)
