"""The judges of the ARP and forwarding checks (arp-same-subnet,
cross-subnet, arp-cache) on synthetic captures: the flows as FLOWS.md and
Linux have them pass; captures that break a claim fail with a message that
names it."""

from __future__ import annotations

import pytest
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw

from orchestrator.checks.arp import (
    RouterPorts,
    judge_arp_cache,
    judge_arp_same_subnet,
    judge_cross_subnet,
)
from orchestrator.checks.base import Station
from orchestrator.packets import ExpectationFailed, synth
from orchestrator.packets.synth import (
    BROADCAST,
    EDGE_LAN_MAC,
    EDGE_WAN_MAC,
    GW1_LAN_MAC,
    GW1_SRV_MAC,
    GW2_LAN_MAC,
    GW2_SRV_MAC,
    XIAOLI_MAC,
    XIAOMEI_MAC,
    XIAOMING_MAC,
)

pytestmark = pytest.mark.timeout(60)

T0 = 1_700_001_000.0
XIAOMING = Station("xiaoming", "xiaoming-eth0", XIAOMING_MAC, "10.1.1.2")
XIAOMEI = Station("xiaomei", "xiaomei-eth0", XIAOMEI_MAC, "10.1.1.3")
XIAOLI = Station("xiaoli", "xiaoli-eth0", XIAOLI_MAC, "10.1.2.2")
GW1 = Station("gw1", "gw1-eth0", GW1_LAN_MAC, "10.1.1.1")
GW2 = Station("gw2", "gw2-eth0", GW2_LAN_MAC, "10.1.2.1")
A = Station("A", "A-eth0", "0a:11:22:33:44:01", "192.168.1.1")
B = Station("B", "B-eth0", "0a:11:22:33:44:02", "192.168.1.2")
ROUTERS = [RouterPorts("gw1", (("gw1-eth0", GW1_LAN_MAC), ("gw1-eth1", GW1_SRV_MAC))),
           RouterPorts("gw2", (("gw2-eth0", GW2_LAN_MAC), ("gw2-eth1", GW2_SRV_MAC))),
           RouterPorts("edge", (("edge-eth0", EDGE_LAN_MAC), ("edge-eth1", EDGE_WAN_MAC)))]


@pytest.fixture
def load(tmp_path, request):
    """Write a scenario as pcaps named after the test and read them back."""
    return lambda scenario: synth.load(scenario, tmp_path, request.node.name)


def at(packet, time):
    packet.time = time
    return packet


def who_has(sender: Station, target: str, time: float, dst: str = BROADCAST):
    return at(Ether(src=sender.mac, dst=dst)
              / ARP(op=1, hwsrc=sender.mac, psrc=sender.ip, pdst=target), time)


def is_at(sender: Station, to: Station, time: float):
    return at(Ether(src=sender.mac, dst=to.mac)
              / ARP(op=2, hwsrc=sender.mac, psrc=sender.ip, hwdst=to.mac, pdst=to.ip), time)


def echo(src: Station, dst: Station, time: float, reply: bool = False, ident: int = 7):
    return at(Ether(src=src.mac, dst=dst.mac) / IP(src=src.ip, dst=dst.ip, id=ident)
              / ICMP(type=0 if reply else 8, id=0x77, seq=1) / Raw(b"flowlab"), time)


def ping(a: Station, b: Station, time: float, ident: int = 7) -> list:
    return [echo(a, b, time, ident=ident), echo(b, a, time + 0.0001, reply=True, ident=ident + 1)]


def first_contact(a: Station, b: Station, time: float) -> list:
    """Broadcast request, unicast reply, then the ping."""
    return [who_has(a, b.ip, time), is_at(b, a, time + 0.0001), *ping(a, b, time + 0.0002)]


# ---------------------------------------------------------------- arp-same-subnet

def same_subnet(heard_in_vlan20: bool = False, repeat_asks: bool = False) -> dict:
    request = who_has(XIAOMING, XIAOMEI.ip, T0)
    other = [request.copy()] if heard_in_vlan20 else []
    second = ping(XIAOMING, XIAOMEI, T0 + 1, ident=20)
    if repeat_asks:
        second.insert(0, who_has(XIAOMING, XIAOMEI.ip, T0 + 0.9))
    return {"xiaoming-eth0": first_contact(XIAOMING, XIAOMEI, T0), "xiaomei-eth0": [request.copy()],
            "gw1-eth0": [request.copy()], "xiaoli-eth0": other, "gw2-eth0": [], "repeat": second}


def judge_same_subnet(caps, errata=None):
    return judge_arp_same_subnet(caps["xiaoming-eth0"], [caps["xiaomei-eth0"], caps["gw1-eth0"]],
                                 [caps["xiaoli-eth0"], caps["gw2-eth0"]], caps["repeat"],
                                 XIAOMING, XIAOMEI, [] if errata is None else errata)


def test_same_subnet_passes(load):
    errata = []
    evidence = judge_same_subnet(load(same_subnet()), errata)
    assert evidence.startswith("who-has 10.1.1.3 tell 10.1.1.2 broadcast, heard by 2 in its VLAN "
                               "and none of 2 outside")
    assert [(e.key, e.evidence) for e in errata] == [("arp-ethertype",
                                                       "who-has frame type 0x0806")]


def test_same_subnet_fails_when_vlan20_hears_the_broadcast(load):
    with pytest.raises(ExpectationFailed) as failure:
        judge_same_subnet(load(same_subnet(heard_in_vlan20=True)))
    assert str(failure.value).startswith("expected no packet matching arp(op=")
    assert "xiaoli-eth0" in str(failure.value)


def test_same_subnet_fails_when_the_second_ping_asks_again(load):
    with pytest.raises(ExpectationFailed) as failure:
        judge_same_subnet(load(same_subnet(repeat_asks=True)))
    assert "expected no packet matching arp()" in str(failure.value)
    assert "who-has 10.1.1.3 tell 10.1.1.2" in str(failure.value)


# ---------------------------------------------------------------- cross-subnet

def legs_there(edge_ttl: int = 62) -> list:
    """(source MAC, destination MAC, TTL, points) of each link the echo
    request crosses: xiaoming -> gw1 -> edge -> gw2 -> xiaoli."""
    return [(XIAOMING_MAC, GW1_LAN_MAC, 64, ("xiaoming-eth0", "gw1-eth0")),
            (GW1_SRV_MAC, EDGE_LAN_MAC, 63, ("gw1-eth1", "edge-eth0")),
            (EDGE_LAN_MAC, GW2_SRV_MAC, edge_ttl, ("edge-eth0", "gw2-eth1")),
            (GW2_LAN_MAC, XIAOLI_MAC, 61, ("gw2-eth0", "xiaoli-eth0"))]


def legs_back() -> list:
    return [(XIAOLI_MAC, GW2_LAN_MAC, 64, ("xiaoli-eth0", "gw2-eth0")),
            (GW2_SRV_MAC, EDGE_LAN_MAC, 63, ("gw2-eth1", "edge-eth0")),
            (EDGE_LAN_MAC, GW1_SRV_MAC, 62, ("edge-eth0", "gw1-eth1")),
            (GW1_LAN_MAC, XIAOMING_MAC, 61, ("gw1-eth0", "xiaoming-eth0"))]


def routed(scenario: dict, packet, legs: list, start: float) -> None:
    """The same IP packet on every leg, in new frames, with each leg's TTL."""
    for number, (src, dst, ttl, points) in enumerate(legs):
        copy = packet.copy()
        copy.ttl = ttl
        for offset, point in enumerate(points):
            scenario[point].append(at(Ether(src=src, dst=dst) / copy,
                                      start + number * 0.001 + offset * 0.0001))


def cross_subnet(there: list | None = None, source_at_edge: str | None = None,
                 asks_for_far_host: bool = False) -> dict:
    scenario = {point: [] for router in ROUTERS for point, _ in router.ports}
    scenario["xiaoming-eth0"] = [who_has(XIAOMING, GW1.ip, T0), is_at(GW1, XIAOMING, T0 + 0.0001)]
    scenario["xiaoli-eth0"] = []
    if asks_for_far_host:
        scenario["xiaoming-eth0"].insert(0, who_has(XIAOMING, XIAOLI.ip, T0 - 0.5))
    request = IP(src=XIAOMING.ip, dst=XIAOLI.ip, id=0x4242) / ICMP(type=8, id=9, seq=1) \
        / Raw(b"cross-subnet")
    legs = there or legs_there()
    routed(scenario, request, legs[:2], T0 + 0.0002)
    if source_at_edge:
        request = request.copy()
        request.src = source_at_edge
    routed(scenario, request, legs[2:], T0 + 0.0022)
    reply = IP(src=XIAOLI.ip, dst=XIAOMING.ip, id=0x5151) / ICMP(type=0, id=9, seq=1) \
        / Raw(b"cross-subnet")
    routed(scenario, reply, legs_back(), T0 + 0.01)
    for packets in scenario.values():
        packets.sort(key=lambda p: p.time)
    return scenario


def judge_cross(caps):
    return judge_cross_subnet(caps, XIAOMING, XIAOLI, GW1, GW2, ROUTERS)


def test_cross_subnet_passes_and_names_the_path(load):
    evidence = judge_cross(load(cross_subnet()))
    assert "xiaoming ARPed for its gateway 10.1.1.1 only" in evidence
    assert "crossed 3 routers (gw1 -> edge -> gw2), TTL 64 -> 63 -> 62 -> 61" in evidence
    assert f"arrived from {GW2_LAN_MAC} to {XIAOLI_MAC}" in evidence
    assert "reply back across 3 routers (gw2 -> edge -> gw1), TTL 64 -> 63 -> 62 -> 61" in evidence


def test_cross_subnet_fails_when_a_router_keeps_the_ttl(load):
    with pytest.raises(ExpectationFailed) as failure:
        judge_cross(load(cross_subnet(there=legs_there(edge_ttl=63))))
    message = str(failure.value)
    assert message.startswith("hop 2 (edge): 1 of 1 pairs of packets")
    assert "TTL 63 -> 63, expected 62 (1 router)" in message


def test_cross_subnet_fails_when_xiaoming_asks_for_xiaoli(load):
    with pytest.raises(ExpectationFailed) as failure:
        judge_cross(load(cross_subnet(asks_for_far_host=True)))
    message = str(failure.value)
    assert message.startswith("expected no packet matching arp(op=")
    assert "who-has 10.1.2.2 tell 10.1.1.2" in message


def test_cross_subnet_fails_when_an_address_changes_on_the_way(load):
    with pytest.raises(ExpectationFailed) as failure:
        judge_cross(load(cross_subnet(source_at_edge="10.10.10.254")))
    message = str(failure.value)
    assert message.startswith("hop 2 (edge): 1 of 1 packets")
    assert "were not seen at" in message
    assert "packets there with the same IP id and protocol:" in message


def test_cross_subnet_fails_when_the_packet_is_lost_after_a_router(load):
    with pytest.raises(ExpectationFailed) as failure:
        judge_cross(load(cross_subnet(there=legs_there()[:3])))
    assert str(failure.value).startswith("hop 3 (gw2): 1 of 1 packets")


def test_cross_subnet_fails_when_the_frame_does_not_come_from_xiaolis_gateway(load):
    there = legs_there()[:2] + [(EDGE_LAN_MAC, XIAOLI_MAC, 62, ("edge-eth0", "xiaoli-eth0"))]
    with pytest.raises(ExpectationFailed) as failure:
        judge_cross(load(cross_subnet(there=there)))
    assert str(failure.value).startswith(
        f"the echo request reached 10.1.2.2 from {EDGE_LAN_MAC}, not from its gateway gw2")


# ---------------------------------------------------------------- arp-cache

def arp_cache(renewal: str = "probe", b_asks: bool = False, hit_asks: bool = False,
              probe_after: float = 1.02) -> dict:
    """A-eth0 and B-eth0 during the first ping; A-eth0 during the second and
    after expiry, where ``renewal`` is "probe" (Linux: the stale entry is
    used, then probed by unicast), "broadcast" (the texts) or "none"."""
    learn_b = first_contact(A, B, T0)
    if b_asks:
        learn_b.insert(3, who_has(B, A.ip, T0 + 0.00025))
    hit = ping(A, B, T0 + 0.1, ident=20)
    if hit_asks:
        hit.insert(0, who_has(A, B.ip, T0 + 0.09))
    t = T0 + 3.0
    if renewal == "probe":
        renewed = [*ping(A, B, t, ident=30), who_has(A, B.ip, t + probe_after, dst=B.mac),
                   is_at(B, A, t + probe_after + 0.0001)]
    elif renewal == "broadcast":
        renewed = first_contact(A, B, t)
    else:
        renewed = ping(A, B, t, ident=30)
    return {"learn-A": first_contact(A, B, T0), "learn-B": learn_b, "hit-A": hit,
            "renewed-A": renewed}


def judge_cache(caps, errata=None):
    return judge_arp_cache(caps["learn-A"], caps["learn-B"], caps["hit-A"], caps["renewed-A"],
                           A, B, 1.0, [] if errata is None else errata)


def test_arp_cache_passes_with_linux_probe_and_records_the_erratum(load):
    errata = []
    evidence = judge_cache(load(arp_cache()), errata)
    assert evidence.startswith("1-2 A's cache empty: who-has 192.168.1.2 tell 192.168.1.1 "
                               "broadcast with A's mapping; 3-4 B answered unicast")
    assert "5 A cached 0a:11:22:33:44:02: 2nd ping no ARP" in evidence
    assert "who-has unicast to 0a:11:22:33:44:02 1.02 s later (DELAY -> PROBE)" in evidence
    assert [e.key for e in errata] == ["arp-expiry"]
    assert "1.02 s later who-has 192.168.1.2 unicast to 0a:11:22:33:44:02" in errata[0].evidence


def test_arp_cache_accepts_the_texts_broadcast_without_an_erratum(load):
    errata = []
    evidence = judge_cache(load(arp_cache(renewal="broadcast")), errata)
    assert evidence.endswith("expired: the next ping asked again by broadcast, then was sent")
    assert errata == []


def test_arp_cache_fails_when_expiry_brings_no_new_exchange(load):
    with pytest.raises(ExpectationFailed) as failure:
        judge_cache(load(arp_cache(renewal="none")))
    assert str(failure.value).startswith("step 2 of 3: expected arp(op=")
    assert "no more packets of kind" in str(failure.value)


def test_arp_cache_fails_when_b_did_not_learn_from_the_request(load):
    with pytest.raises(ExpectationFailed) as failure:
        judge_cache(load(arp_cache(b_asks=True)))
    message = str(failure.value)
    assert message.startswith("step 4 of 4: expected icmp(type=0 (echo-reply)")
    assert "who-has 192.168.1.1 tell 192.168.1.2" in message


def test_arp_cache_fails_when_the_cached_entry_is_not_used(load):
    with pytest.raises(ExpectationFailed) as failure:
        judge_cache(load(arp_cache(hit_asks=True)))
    assert str(failure.value).startswith("expected no packet matching arp(op=")


def test_arp_cache_fails_when_the_probe_skips_the_delay(load):
    with pytest.raises(ExpectationFailed) as failure:
        judge_cache(load(arp_cache(probe_after=0.1)))
    assert str(failure.value).startswith("the probe followed the packet after 0.100 s, sooner "
                                         "than delay_first_probe_time (1 s)")
