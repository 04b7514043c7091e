"""The reach judge on synthetic captures: the pings of the test tree's chain
and campus as the model predicts them pass; a router that does not forward,
a missing route, a TTL or MAC left alone, a lost reply each fail with a
sentence that says where.  And the sampling rule, on a generated topology."""

from __future__ import annotations

from ipaddress import IPv4Interface

import pytest
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from orchestrator.checks.derived.reach import (
    ECHO_REPLY,
    ECHO_REQUEST,
    SAMPLE_ABOVE,
    Expected,
    judge_reach,
    plan_pairs,
    select_pairs,
)
from orchestrator.model import Topology
from orchestrator.model.paths import Network
from orchestrator.network.netbuild import stable_mac
from orchestrator.packets import ExpectationFailed, from_frames
from tests.topologies import campus, chain
from topologies import enterprise

T0 = 1_700_002_000.0
LEASES = {("a2", "a2-eth0"): IPv4Interface("10.20.10.100/24"),
          ("b1", "b1-eth0"): IPv4Interface("10.20.20.100/24")}


def macs(topo: Topology) -> dict:
    return {(i.node, i.name): i.mac or stable_mac(i.name) for i in topo.interfaces()}


def planned(topo: Topology, runtime=None, pairs=None) -> list[Expected]:
    net = Network(topo, runtime)
    hosts = [h.name for h in topo.hosts() if h.role == "host"]
    return plan_pairs(net, pairs or select_pairs(net, hosts), macs(topo))


def frame(wire, kind: int, payload: bytes, first_ttl: int, time: float, **change):
    fields = {"src_mac": wire.src_mac, "dst_mac": wire.dst_mac, "src": wire.src, "dst": wire.dst,
              "ttl": first_ttl - wire.routers, **change}
    packet = (Ether(src=fields["src_mac"], dst=fields["dst_mac"])
              / IP(src=fields["src"], dst=fields["dst"], ttl=fields["ttl"],
                   id=int(time * 1000) % 65536)
              / ICMP(type=kind, id=0x4242, seq=1) / Raw(payload))
    packet.time = time
    return packet


def pings(pairs: list[Expected], *, stop=None, change=None, no_reply=(), errors=()) -> dict:
    """The captures at every point of every pair's wires.  ``stop``: (pair
    index, wire point) where the request is no longer seen; ``change``:
    (pair index, point, fields) a frame is altered at; ``no_reply``: pairs
    whose reply is lost after its first wire; ``errors``: extra frames."""
    points: dict[str, list] = {}
    time = T0
    for number, pair in enumerate(pairs):
        if pair.one_way:
            continue
        payload = b"\x00" * 16 + bytes.fromhex(pair.pattern) * 10
        if not pair.there:
            continue
        for kind, wires, ttl in ((ECHO_REQUEST, pair.there, 64), (ECHO_REPLY, pair.back, 64)):
            for index, wire in enumerate(wires):
                for point in (wire.out, wire.into):
                    time += 0.0001
                    if stop == (number, point) and kind == ECHO_REQUEST:
                        break
                    if kind == ECHO_REPLY and number in no_reply and point == wire.into:
                        break
                    extra = change[2] if change and change[:2] == (number, point) and \
                        kind == ECHO_REQUEST else {}
                    points.setdefault(point, []).append(frame(wire, kind, payload, ttl, time,
                                                              **extra))
                else:
                    continue
                break
            else:
                continue
            break
    for point, packet in errors:
        points.setdefault(point, []).append(packet)
    return {point: from_frames(((p.time, bytes(p)) for p in frames), point=point)
            for point, frames in points.items()}


def failure(wires, pairs) -> str:
    with pytest.raises(ExpectationFailed) as raised:
        judge_reach(wires, pairs)
    return str(raised.value)


# -- right ---------------------------------------------------------------------------------

def test_chain_all_pairs_pass_hop_by_hop():
    pairs = planned(chain.build())
    assert len(pairs) == 12
    evidence = judge_reach(pings(pairs), pairs)
    # 4 pairs inside a LAN cross no router; 8 cross two each way.
    assert evidence == ("12 pairs: each echo and reply seen on every wire of its predicted path, "
                        "32 router crossings with TTL -1 and MACs rewritten")


def test_campus_nat_pairs_pass_and_the_way_in_is_not_expected():
    pairs = planned(campus.build(), LEASES)
    one_way = [p for p in pairs if p.one_way]
    assert {(p.source, p.destination) for p in one_way} == {
        ("ext", name) for name in ("srv", "a1", "b1", "a2", "b2")}
    evidence = judge_reach(pings(pairs), pairs)
    assert evidence.startswith(f"{len(pairs) - 5} pairs: each echo and reply seen")
    assert "not expected (one-way by NAT): ext > srv (srv is behind core's NAT)" in evidence
    assert evidence.endswith("and 2 more")
    to_ext = next(p for p in pairs if (p.source, p.destination) == ("a1", "ext"))
    assert [w.src for w in to_ext.there] == ["10.20.10.10", "198.18.0.1"]


# -- wrong ---------------------------------------------------------------------------------

def chain_pair(pairs, source="pc1", destination="pc3") -> int:
    return next(i for i, p in enumerate(pairs)
                if (p.source, p.destination) == (source, destination))


def test_a_router_that_does_not_forward_is_named_with_its_route():
    pairs = planned(chain.build())
    index = chain_pair(pairs)
    text = failure(pings(pairs, stop=(index, "r1-eth1")), pairs)
    assert text.startswith(
        "1 of 12 pairs did not reach: echo 10.9.0.11 > 10.9.1.13 left pc1 on pc1-eth0, reached "
        "r1 on r1-eth0, not forwarded: r1 did not send it on r1-eth1 (route 10.9.1.0/24 via "
        "10.9.255.2 dev r1-eth1 (static))")


def test_a_missing_route_fails_with_the_model_reason_and_the_routers_answer():
    pairs = planned(chain.build(missing_route=True))
    index = chain_pair(pairs)
    assert pairs[index].there_stops == "r1 has no route to 10.9.1.0/24"
    unreachable = (Ether(src=stable_mac("r1-eth0"), dst=stable_mac("pc1-eth0"))
                   / IP(src="10.9.0.1", dst="10.9.0.11") / ICMP(type=3, code=0)
                   / IP(src="10.9.0.11", dst="10.9.1.13") / ICMP(type=8))
    unreachable.time = T0 + 1
    text = failure(pings(pairs, errors=[("r1-eth0", unreachable)]), pairs)
    assert text.startswith(
        "8 of 12 pairs did not reach: echo 10.9.0.11 > 10.9.1.13 left pc1 on pc1-eth0, reached "
        "r1 on r1-eth0, not forwarded: r1 has no route to 10.9.1.0/24 (10.9.0.1 answered ICMP "
        "net unreachable)")
    # lan1 to lan2 stops at r1; lan2 to lan1 arrives, but the reply stops at r1.
    assert "  echo 10.9.0.12 > 10.9.1.14 left pc2 on pc2-eth0, reached r1 on r1-eth0, not " \
           "forwarded: r1 has no route to 10.9.1.0/24\n" in text
    assert "  reply 10.9.0.12 > 10.9.1.13 left pc2 on pc2-eth0, reached r1 on r1-eth0, not " \
           "forwarded: r1 has no route to 10.9.1.0/24\n" in text


def test_a_ttl_left_alone_is_named():
    pairs = planned(chain.build())
    index = chain_pair(pairs)
    text = failure(pings(pairs, change=(index, "r2-eth0", {"ttl": 64})), pairs)
    assert "echo 10.9.0.11 > 10.9.1.13 left pc1 on pc1-eth0, reached r1 on r1-eth0, reached r2 " \
           "on r2-eth0 but TTL 64, not 63 (1 router behind)" in text


def test_a_mac_not_rewritten_is_named():
    pairs = planned(chain.build())
    index = chain_pair(pairs)
    wrong = stable_mac("pc1-eth0")
    text = failure(pings(pairs, change=(index, "r1-eth1", {"src_mac": wrong})), pairs)
    assert f"left r1 on r1-eth1 but from {wrong} (pc1-eth0), not r1-eth1's " \
           f"{stable_mac('r1-eth1')}" in text


def test_a_lost_reply_is_named():
    pairs = planned(chain.build())
    index = chain_pair(pairs)
    text = failure(pings(pairs, no_reply={index}), pairs)
    assert "reply 10.9.1.13 > 10.9.0.11 left pc3 on pc3-eth0, lost between pc3-eth0 and " \
           "r2-eth1: it left pc3 but r2 did not receive it" in text


def test_a_translation_missing_is_a_wrong_source():
    pairs = planned(campus.build(), LEASES)
    index = chain_pair(pairs, "a1", "ext")
    text = failure(pings(pairs, stop=(index, "core-eth3"),
                         errors=[]), pairs)
    assert "echo 10.20.10.10 > 198.18.0.100 left a1 on a1-eth0, reached core on core-eth0, " \
           "not forwarded: core did not send it on core-eth3" in text


def test_nothing_sent_is_named():
    pairs = planned(chain.build())
    assert failure({}, pairs).startswith("12 of 12 pairs did not reach: echo 10.9.0.11 > "
                                         "10.9.0.12: pc1 sent no echo request for it on pc1-eth0")


# -- sampling ---------------------------------------------------------------------------------

def lans(count: int, per_lan: int) -> Topology:
    """One router, ``count`` LANs of ``per_lan`` hosts each."""
    topo = Topology("gen")
    r = topo.router("r")
    for lan in range(count):
        sw = topo.switch(f"s{lan}", subnet=topo.subnet(f"10.{lan}.0.0/24"))
        topo.link(r, sw, ip=f"10.{lan}.0.1/24")
        for index in range(per_lan):
            topo.link(topo.host(f"h{lan}x{index}", gateway=f"10.{lan}.0.1"), sw,
                      ip=f"10.{lan}.0.{10 + index}/24")
    return topo


def test_all_pairs_up_to_the_threshold():
    topo = lans(3, 4)
    net = Network(topo)
    hosts = [h.name for h in topo.hosts() if h.role == "host"]
    assert len(hosts) == SAMPLE_ABOVE
    assert len(select_pairs(net, hosts)) == 12 * 11


@pytest.mark.parametrize("count, per_lan", [(3, 5), (4, 25), (2, 50)])
def test_above_it_own_domain_plus_one_per_other_domain(count, per_lan):
    topo = lans(count, per_lan)
    net = Network(topo)
    hosts = [h.name for h in topo.hosts() if h.role == "host"]
    pairs = select_pairs(net, hosts)
    assert len(pairs) == len(hosts) * count
    assert select_pairs(net, hosts) == pairs          # deterministic
    for host in hosts:
        targets = [b for a, b in pairs if a == host]
        lan = host.split("x")[0]
        assert sorted(t.split("x")[0] for t in targets) == sorted(f"h{i}" for i in range(count))
        assert host not in targets and any(t.startswith(lan + "x") for t in targets)
    # every host is also a destination
    assert {b for _, b in pairs} == set(hosts)


def test_enterprise_hairpin_at_the_edge_passes():
    """xiaoming > xiaoli: edge sends the packet back out of edge-eth0, the
    interface it came in by, so that point shows it twice."""
    pairs = planned(enterprise.build())
    pair = pairs[chain_pair(pairs, "xiaoming", "xiaoli")]
    assert [(w.out, w.into) for w in pair.there] == [
        ("xiaoming-eth0", "gw1-eth0"), ("gw1-eth1", "edge-eth0"), ("edge-eth0", "gw2-eth1"),
        ("gw2-eth0", "xiaoli-eth0")]
    evidence = judge_reach(pings(pairs), pairs)
    assert evidence.startswith("52 pairs: each echo and reply seen")
    assert "(xiaoming is behind edge's NAT)" in evidence


def test_a_client_without_lease_is_named_not_pinged():
    pairs = planned(campus.build(), {("b1", "b1-eth0"): IPv4Interface("10.20.20.100/24")},
                    pairs=[("a1", "a2"), ("a2", "a1")])
    assert [(p.src, p.dst, p.there_stops) for p in pairs] == [
        ("?", "?", "a2 has no address (no lease)"),
        ("?", "10.20.10.10", "a2 has no address on a2-eth0 to send from")]
    text = failure({}, pairs)
    assert text.startswith("2 of 2 pairs did not reach: echo a1 > a2 not sent: a2 has no "
                           "address (no lease)")
    assert "  echo a2 > a1 not sent: a2 has no address on a2-eth0 to send from" in text


def test_the_lab_network_takes_leased_addresses_and_routers():
    from ipaddress import IPv4Address
    from types import SimpleNamespace

    from orchestrator.checks.derived.facts import addressed, network
    from orchestrator.model import TopologyOptions
    from services.lease import Lease

    class Leased:
        """xiaomei holds a lease from the other subnet (the race); xiaoli's
        client runs but holds none; xiaoming's lease is as reserved."""
        topo = enterprise.build(TopologyOptions(vlans=False))
        services = SimpleNamespace(all=lambda kind: [
            SimpleNamespace(node=n, iface=f"{n}-eth0") for n in ("xiaoming", "xiaomei", "xiaoli")])

        def leases(self):
            return {("xiaomei", "xiaomei-eth0"): Lease(
                "dhclient", "bound", "xiaomei-eth0", IPv4Interface("10.1.2.163/24"),
                (IPv4Address("10.1.2.1"),), (), 3600, IPv4Address("10.10.10.10"), 0.0),
                ("xiaoming", "xiaoming-eth0"): Lease(
                "dhclient", "bound", "xiaoming-eth0", IPv4Interface("10.1.1.2/24"),
                (IPv4Address("10.1.1.1"),), (), 3600, IPv4Address("10.10.10.10"), 0.0)}

    net = network(Leased())
    assert net.address("xiaomei", "xiaomei-eth0") == IPv4Interface("10.1.2.163/24")
    assert str(net.tables["xiaomei"].routes[-1]) == "default via 10.1.2.1 dev xiaomei-eth0 (lease)"
    assert net.address("xiaoli", "xiaoli-eth0") is None        # not its reservation 10.1.2.2
    assert addressed(net, ["xiaoming", "xiaomei", "xiaoli", "srv"]) == \
        (["xiaoming", "xiaomei", "srv"], ["xiaoli"])


def who_has(sender_iface: str, sender_ip: str, target: str, time: float):
    from scapy.layers.l2 import ARP
    mac = stable_mac(sender_iface)
    frame = Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=mac, psrc=sender_ip,
                                                         pdst=target)
    frame.time = time
    return frame


def test_unanswered_arp_for_the_next_hop_is_named():
    pairs = planned(chain.build())
    same = chain_pair(pairs, "pc1", "pc2")
    routed = chain_pair(pairs, "pc1", "pc3")
    wires = pings([p for i, p in enumerate(pairs) if i != same], stop=(routed - 1, "r1-eth1"),
                  errors=[("pc1-eth0", who_has("pc1-eth0", "10.9.0.11", "10.9.0.12", T0 + t))
                          for t in (1, 2)]
                  + [("r1-eth1", who_has("r1-eth1", "10.9.255.1", "10.9.255.2", T0 + 3))])
    text = failure(wires, pairs)
    assert "  echo 10.9.0.11 > 10.9.0.12: pc1 sent no echo request for it on pc1-eth0: its 2 " \
           "ARP requests for 10.9.0.12 went unanswered\n" in text
    assert "  echo 10.9.0.11 > 10.9.1.13 left pc1 on pc1-eth0, reached r1 on r1-eth0, not " \
           "forwarded: r1 did not send it on r1-eth1 (route 10.9.1.0/24 via 10.9.255.2 dev " \
           "r1-eth1 (static)): its 1 ARP request for 10.9.255.2 went unanswered\n" in text


def test_a_packet_the_model_says_stops_but_leaves_another_way_is_shown():
    """The model lacks r1's route, the running r1 has one (added by hand):
    the failure says both."""
    pairs = planned(chain.build(missing_route=True))
    index = chain_pair(pairs)
    payload = b"\x00" * 16 + bytes.fromhex(pairs[index].pattern) * 10
    leaked = (Ether(src=stable_mac("r1-eth1"), dst=stable_mac("r2-eth0"))
              / IP(src="10.9.0.11", dst="10.9.1.13", ttl=63) / ICMP(type=8, id=0x4242, seq=1)
              / Raw(payload))
    leaked.time = T0 + 1
    with pytest.raises(ExpectationFailed) as raised:
        judge_reach(pings(pairs, errors=[("r1-eth1", leaked)]), pairs, "",
                    {"r1": ["r1-eth0", "r1-eth1"]})
    assert str(raised.value).startswith(
        "8 of 12 pairs did not reach: echo 10.9.0.11 > 10.9.1.13 left pc1 on pc1-eth0, reached "
        f"r1 on r1-eth0, not forwarded: r1 has no route to 10.9.1.0/24; it left on r1-eth1 "
        f"instead, to {stable_mac('r2-eth0')} (r2-eth0) TTL 63")


def test_capture_points_add_every_interface_of_routers_on_paths():
    from orchestrator.checks.derived.reach import capture_points, points_by_node
    topo = chain.build()
    pairs = planned(topo, pairs=[("pc1", "pc2")])
    assert capture_points(pairs, Network(topo)) == [("pc1", "pc1-eth0"), ("pc2", "pc2-eth0")]
    pairs = planned(topo, pairs=[("pc1", "pc3")])
    points = capture_points(pairs, Network(topo))
    assert set(points_by_node(points)["r1"]) == {"r1-eth0", "r1-eth1"}
