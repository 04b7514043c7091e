"""The l2-scope judge on synthetic captures of the campus: each broadcast
heard by exactly its VLAN across the trunk passes; a port that leaks the
other VLAN, a trunk that drops a VLAN, a broadcast never sent each fail
naming the sender, the interfaces and the domain the model declares."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface

import pytest
from scapy.layers.l2 import ARP, Dot1Q, Ether

from orchestrator.checks.derived.l2scope import judge_l2_scope, plan_senders, unused_address
from orchestrator.model import TopologyOptions
from orchestrator.model.paths import Network
from orchestrator.network.netbuild import stable_mac
from orchestrator.packets import ExpectationFailed, from_frames
from tests.topologies import campus, chain

T0 = 1_700_003_000.0
LEASES = {("a2", "a2-eth0"): IPv4Interface("10.20.10.100/24"),
          ("b1", "b1-eth0"): IPv4Interface("10.20.20.100/24")}
BROADCAST = "ff:ff:ff:ff:ff:ff"


def senders_of(topo, runtime=None):
    net = Network(topo, runtime)
    mac = {(i.node, i.name): i.mac or stable_mac(i.name) for i in topo.interfaces()}
    hosts = [h.name for h in topo.hosts() if h.role == "host"]
    return plan_senders(net, hosts, mac)


def request(sender, vlan=None, time=T0):
    frame = Ether(src=sender.mac, dst=BROADCAST)
    if vlan is not None:
        frame = frame / Dot1Q(vlan=vlan)
    frame = frame / ARP(op=1, hwsrc=sender.mac, psrc=sender.ip, pdst=sender.target)
    frame.time = time
    return frame


def broadcasts(senders, *, also=(), missing=(), silent=()) -> dict:
    """Each sender's request on its own point and its domain's; ``also``:
    (sender node, point, vlan tag) heard beyond; ``missing``: (sender node,
    point) not heard; ``silent``: senders that sent nothing."""
    points: dict[str, list] = {}
    for number, sender in enumerate(senders):
        if sender.node in silent:
            continue
        time = T0 + number * 0.001
        for point in (sender.point, *sender.members):
            if (sender.node, point) not in missing:
                points.setdefault(point, []).append(request(sender, time=time))
        for node, point, vlan in also:
            if node == sender.node:
                points.setdefault(point, []).append(request(sender, vlan, time + 0.0001))
    return {point: from_frames(((p.time, bytes(p)) for p in frames), point=point)
            for point, frames in points.items()}


def failure(wires, senders) -> str:
    with pytest.raises(ExpectationFailed) as raised:
        judge_l2_scope(wires, senders)
    return str(raised.value)


def test_campus_plan_asks_for_unused_addresses_of_each_vlan():
    senders, skipped = senders_of(campus.build(), LEASES)
    assert skipped == []
    assert [(s.node, s.ip, s.target, s.domain) for s in senders] == [
        ("srv", "10.20.0.10", "10.20.0.254", "srvlan"),
        ("ext", "198.18.0.100", "198.18.0.254", "outside"),
        ("a1", "10.20.10.10", "10.20.10.254", "acc1/vlan10"),
        ("b1", "10.20.20.100", "10.20.20.254", "acc1/vlan20"),
        ("a2", "10.20.10.100", "10.20.10.254", "acc1/vlan10"),
        ("b2", "10.20.20.20", "10.20.20.254", "acc1/vlan20")]
    assert senders[2].members == ("core-eth0", "a2-eth0")


def test_a_lease_less_client_sends_an_arp_probe_from_nothing():
    senders, skipped = senders_of(campus.build())
    assert skipped == []
    probes = {s.node: s for s in senders if s.ip == "0.0.0.0"}
    assert set(probes) == {"b1", "a2"}
    assert probes["b1"].target == "10.20.20.254" and probes["b1"].domain == "acc1/vlan20"


def test_unused_address_skips_taken_gateway_and_pool():
    net = Network(campus.build(), LEASES)
    assert unused_address(net, "a1", "a1-eth0") == IPv4Address("10.20.10.254")
    topo = chain.build()
    net = Network(topo, {("pc4", "pc4-eth0"): IPv4Interface("10.9.1.254/24")})
    assert unused_address(net, "pc3", "pc3-eth0") == IPv4Address("10.9.1.253")


def test_each_broadcast_heard_by_exactly_its_vlan_passes():
    senders, _ = senders_of(campus.build(), LEASES)
    evidence = judge_l2_scope(broadcasts(senders), senders)
    assert evidence == ("6 ARP broadcasts, each heard by exactly its broadcast domain and "
                        "nowhere else: srvlan (2 interfaces), outside (2 interfaces), "
                        "acc1/vlan10 (3 interfaces), acc1/vlan20 (3 interfaces)")


def test_flat_switches_make_every_pc_hear_every_pc():
    topo = campus.build(TopologyOptions(vlans=False))
    senders, _ = senders_of(topo, LEASES)
    b1 = next(s for s in senders if s.node == "b1")
    assert set(b1.members) == {"core-eth0", "core-eth1", "a1-eth0", "a2-eth0", "b2-eth0"}
    assert judge_l2_scope(broadcasts(senders), senders).endswith("acc1 (6 interfaces)")


def test_a_port_that_leaks_the_other_vlan_is_named():
    senders, _ = senders_of(campus.build(), LEASES)
    text = failure(broadcasts(senders, also=[("b1", "a2-eth0", 20), ("b2", "a2-eth0", 20)]),
                   senders)
    assert text.startswith(
        "2 of 6 broadcasts left their broadcast domain or missed part of it: b1's broadcast "
        "who-has 10.20.20.254 tell 10.20.20.100 from b1-eth0: heard on a2-eth0, outside its "
        "broadcast domain; the model's domain acc1/vlan20 is b1-eth0, b2-eth0, core-eth1")
    assert "heard outside the domain:" in text and "vlan 20" in text.lower()


def test_a_trunk_that_drops_a_vlan_is_named():
    senders, _ = senders_of(campus.build(), LEASES)
    text = failure(broadcasts(senders, missing=[("a1", "a2-eth0")]), senders)
    assert text.startswith(
        "1 of 6 broadcasts left their broadcast domain or missed part of it: a1's broadcast "
        "who-has 10.20.10.254 tell 10.20.10.10 from a1-eth0: not heard on a2-eth0, inside it; "
        "the model's domain acc1/vlan10 is a1-eth0, a2-eth0, core-eth0")


def test_a_broadcast_never_sent_is_named():
    senders, _ = senders_of(campus.build(), LEASES)
    text = failure(broadcasts(senders, silent={"srv"}), senders)
    assert "srv's broadcast who-has 10.20.0.254 tell 10.20.0.10 from srv-eth0: not seen " \
           "leaving srv-eth0" in text



def test_a_network_all_pool_asks_for_a_pool_address_nobody_leased():
    from topologies import home
    net = Network(home.build(), {("pc", "pc-eth0"): IPv4Interface("192.168.1.254/25")})
    # 192.168.1.128/25: .129 the gateway, .130-.254 the pool, .254 leased.
    assert unused_address(net, "pc", "pc-eth0") == IPv4Address("192.168.1.253")
