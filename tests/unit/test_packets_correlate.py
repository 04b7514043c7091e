"""The same packet at two capture points: across routers (cross-subnet) and
across the edge NAT (web-11 inside and outside); passing, and failing with
the pairs or the lonely packets shown."""

from __future__ import annotations

import pytest

from orchestrator.packets import (
    ExpectationFailed,
    expect,
    forwarded,
    icmp,
    pair_up,
    synth,
    tcp,
    translated,
)
from orchestrator.packets.synth import (
    EDGE_PUBLIC,
    GW1_LAN_MAC,
    GW2_LAN_MAC,
    XIAOLI_MAC,
    XIAOMING_MAC,
)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def name(request):
    return request.node.name


@pytest.fixture
def routed(tmp_path, name):
    return synth.load(synth.routed_ping(), tmp_path, name)


@pytest.fixture
def web(tmp_path, name):
    return synth.load(synth.web11(), tmp_path, name)


# ---------------------------------------------------------------- routers

def test_forwarded_across_two_routers(routed):
    vlan10, vlan20 = routed["xiaoming-eth0"], routed["xiaoli-eth0"]
    (pair,) = expect(vlan10).forwarded(vlan20, icmp(type="echo-request"), hops=2,
                                       gateway_mac=GW1_LAN_MAC, router_mac=GW2_LAN_MAC,
                                       next_hop_mac=XIAOLI_MAC)
    assert (pair.before.ip.src, pair.before.ip.dst) == (pair.after.ip.src, pair.after.ip.dst)
    assert (pair.before.ip.ttl, pair.after.ip.ttl) == (64, 62)
    assert (pair.before.eth.src, pair.after.eth.dst) == (XIAOMING_MAC, XIAOLI_MAC)
    (back,) = expect(vlan20).forwarded(vlan10, icmp(type="echo-reply"), hops=2,
                                       router_mac=GW1_LAN_MAC, next_hop_mac=XIAOMING_MAC)
    assert back.after.point == "xiaoming-eth0"
    text = pair.describe(vlan10.start)
    assert "02:00:0a:01:01:02 > 02:00:0a:01:01:01, 10.1.1.2 > 10.1.2.2: ICMP echo request, " \
           "id 9, seq 1 [ttl 64, id 0x4242]" in text
    assert "02:00:0a:01:02:01 > 02:00:0a:01:02:02, 10.1.1.2 > 10.1.2.2: ICMP echo request, " \
           "id 9, seq 1 [ttl 62, id 0x4242]" in text


def test_forwarded_fails_on_the_ttl(routed):
    with pytest.raises(ExpectationFailed) as failure:
        expect(routed["xiaoming-eth0"]).forwarded(routed["xiaoli-eth0"], icmp(type=8), hops=1)
    message = str(failure.value)
    assert message.startswith("1 of 1 pairs of packets matching icmp(type=8 (echo-request)) "
                              "between xiaoming-eth0 and xiaoli-eth0 break the rules (TTL minus "
                              "1, MACs rewritten)")
    assert "TTL 64 -> 62, expected 63 (1 router):" in message
    assert "xiaoli-eth0   02:00:0a:01:02:01 > 02:00:0a:01:02:02, 10.1.1.2 > 10.1.2.2: ICMP echo " \
           "request, id 9, seq 1 [ttl 62, id 0x4242]" in message


def test_forwarded_fails_on_the_macs(routed):
    with pytest.raises(ExpectationFailed) as failure:
        expect(routed["xiaoming-eth0"]).forwarded(routed["xiaoli-eth0"], icmp(type=8), hops=2,
                                                  router_mac=GW1_LAN_MAC,
                                                  next_hop_mac=XIAOMING_MAC)
    message = str(failure.value)
    assert "forwarded from 02:00:0a:01:02:01, not from the router 02:00:0a:01:01:01" in message
    assert "forwarded to 02:00:0a:01:02:02, not to the next hop 02:00:0a:01:01:02" in message


def test_forwarded_fails_when_the_frame_was_not_rewritten(tmp_path, name):
    scenario = synth.routed_ping()
    for packet in scenario["xiaoli-eth0"]:          # as if bridged, not routed
        packet.src, packet.dst = XIAOMING_MAC, GW1_LAN_MAC
    captures = synth.load(scenario, tmp_path, name)
    with pytest.raises(ExpectationFailed) as failure:
        expect(captures["xiaoming-eth0"]).forwarded(captures["xiaoli-eth0"], icmp(type=8),
                                                    hops=2)
    message = str(failure.value)
    assert "source MAC 02:00:0a:01:01:02 not rewritten" in message
    assert "destination MAC 02:00:0a:01:01:01 not rewritten" in message


def test_forwarded_fails_when_the_packet_never_arrives(tmp_path, name):
    scenario = synth.routed_ping()
    scenario["xiaoli-eth0"] = scenario["xiaoli-eth0"][1:]      # the request was dropped
    captures = synth.load(scenario, tmp_path, name)
    with pytest.raises(ExpectationFailed) as failure:
        expect(captures["xiaoming-eth0"]).forwarded(captures["xiaoli-eth0"], icmp(type=8),
                                                    hops=2)
    message = str(failure.value)
    assert message.startswith("1 of 1 packets matching icmp(type=8 (echo-request)) at "
                              "xiaoming-eth0 were not seen at xiaoli-eth0 (matched by addresses, "
                              "IP id and payload)")
    assert "not seen:\n   0.000200 xiaoming-eth0 02:00:0a:01:01:02 > 02:00:0a:01:01:01, " \
           "10.1.1.2 > 10.1.2.2: ICMP echo request, id 9, seq 1 [ttl 64, id 0x4242]" in message


def test_forwarded_needs_something_to_follow(routed):
    with pytest.raises(ExpectationFailed, match=r"no IPv4 packet matching tcp\(\) at "
                                                r"xiaoming-eth0 to follow to xiaoli-eth0"):
        forwarded(routed["xiaoming-eth0"], routed["xiaoli-eth0"], tcp())


def test_pair_up_without_rules(routed):
    pairs, alone = pair_up(routed["xiaoming-eth0"], routed["xiaoli-eth0"])
    assert len(pairs) == 2 and alone == []          # ARP is not IP: not followed


# ---------------------------------------------------------------- NAT

def test_translated_by_the_edge_nat(web):
    inside, outside = web["xiaoming-eth0"], web["edge-eth1"]
    pairs = expect(inside).translated(outside, tcp(port=80), address=EDGE_PUBLIC, hops=2)
    assert len(pairs) == 11
    assert [p.direction for p in pairs].count("outbound") == 6
    assert all(p.before.tcp.seq_raw == p.after.tcp.seq_raw for p in pairs)
    assert all(p.after.ip.src == EDGE_PUBLIC for p in pairs if p.direction == "outbound")
    assert all(p.after.ip.dst == EDGE_PUBLIC for p in pairs if p.direction == "inbound")
    translated(inside, outside, tcp(port=80), address=EDGE_PUBLIC, ports="same")


def test_translated_with_a_new_source_port(tmp_path, name):
    web = synth.load(synth.web11(public_port=61000), tmp_path, name)
    inside, outside = web["xiaoming-eth0"], web["edge-eth1"]
    pairs = expect(inside).translated(outside, tcp(port=80), address=EDGE_PUBLIC)
    assert {p.after.tcp.sport for p in pairs if p.direction == "outbound"} == {61000}
    with pytest.raises(ExpectationFailed) as failure:
        expect(inside).translated(outside, tcp(port=80), address=EDGE_PUBLIC, ports="same")
    message = str(failure.value)
    assert "11 of 11 pairs of packets matching tcp(port=80)" in message
    assert "source port translated 40000 -> 61000:" in message
    assert "destination port translated 61000 -> 40000:" in message


def test_translated_fails_on_the_wrong_address(web):
    with pytest.raises(ExpectationFailed) as failure:
        expect(web["xiaoming-eth0"]).translated(web["edge-eth1"], tcp(flags="S"),
                                                address="203.0.113.9")
    message = str(failure.value)
    assert message.startswith("1 of 1 pairs of packets matching tcp(flags=S) between "
                              "xiaoming-eth0 and edge-eth1 break the rules (source NAT to "
                              "203.0.113.9, sequence numbers kept)")
    assert "not translated to 203.0.113.9: inside 10.1.1.2 > 61.135.169.125, outside " \
           "203.0.113.2 > 61.135.169.125:" in message
    assert "edge-eth1     02:00:cb:00:71:02 > 02:00:cb:00:71:01, 203.0.113.2.40000 > " \
           "61.135.169.125.80: Flags [S], seq 0, win 64240, len 0 (raw seq 3000000000) " \
           "[ttl 62, id 0x7000]" in message


def test_translated_fails_when_sequence_numbers_change(tmp_path, name):
    scenario = synth.web11()
    for packet in scenario["edge-eth1"]:            # a NAT that rewrites sequence numbers
        if packet["IP"].src == EDGE_PUBLIC:
            packet["TCP"].seq = (packet["TCP"].seq + 1000) & 0xFFFFFFFF
    web = synth.load(scenario, tmp_path, name)
    with pytest.raises(ExpectationFailed) as failure:
        expect(web["xiaoming-eth0"]).translated(web["edge-eth1"], tcp(dport=80),
                                                address=EDGE_PUBLIC)
    message = str(failure.value)
    assert message.startswith("6 of 6 packets matching tcp(dport=80) at xiaoming-eth0 were not "
                              "seen at edge-eth1 (matched by IP id, TCP seq/ack/flags and "
                              "payload)")
    assert "packets there with the same IP id and protocol:" in message
    assert "(raw seq 3000001000) [ttl 62, id 0x7000]" in message


def test_translated_fails_on_the_hops(web):
    with pytest.raises(ExpectationFailed, match="TTL 64 -> 62, expected 63"):
        expect(web["xiaoming-eth0"]).translated(web["edge-eth1"], tcp(flags="S"),
                                                address=EDGE_PUBLIC, hops=1)
