"""Expectations: strict and loose sequences, counts, counts per key, absence;
each one passing, and failing with a message that says which step or count
failed and shows the packets that were there instead."""

from __future__ import annotations

import pytest

from orchestrator.packets import (
    ExpectationFailed,
    arp,
    dhcp,
    dns,
    expect,
    icmp,
    merge,
    present,
    synth,
    within,
)

pytestmark = pytest.mark.timeout(60)
XID = 0x1A2B3C4D
DORA = [dhcp(type="DISCOVER"), dhcp(type="OFFER"), dhcp(type="REQUEST"), dhcp(type="ACK")]


@pytest.fixture
def name(request):
    return request.node.name


@pytest.fixture
def dora(tmp_path, name):
    return synth.load(synth.dora_relay(xid=XID), tmp_path, name)


@pytest.fixture
def race(tmp_path, name):
    return synth.load(synth.relay_race(xid=0x5EED0001), tmp_path, name)["xiaoming-eth0"]


# ---------------------------------------------------------------- strict sequence

def test_strict_sequence_through_the_relay(dora):
    client, server = dora["xiaoming-eth0"], dora["srv-eth0"]
    discover, offer, request, ack = expect(client).sequence(
        [dhcp(type="DISCOVER", chaddr=synth.XIAOMING_MAC, giaddr="0.0.0.0", src="0.0.0.0",
              dst="255.255.255.255", sport=68, dport=67),
         dhcp(type="OFFER", yiaddr="10.1.1.2"),
         dhcp(type="REQUEST", requested_ip="10.1.1.2", server_id="10.10.10.10"),
         dhcp(type="ACK", yiaddr="10.1.1.2", subnet_mask="255.255.255.0", router="10.1.1.1",
              dns_servers=["10.10.10.10"], lease_time=present)],
        kind=dhcp(xid=XID))
    assert discover.dhcp.xid == offer.dhcp.xid == request.dhcp.xid == ack.dhcp.xid
    assert ack.dhcp.yiaddr == request.dhcp.requested_ip
    relayed, offered = expect(server).sequence(
        [dhcp(type="DISCOVER", giaddr="10.1.1.1", src="10.10.10.1", dst="10.10.10.10", dport=67),
         dhcp(type="OFFER", yiaddr="10.1.1.2", dst="10.1.1.1", dport=67)],
        kind=dhcp(xid=XID, type={"DISCOVER", "OFFER"}))
    assert relayed.dhcp.hops == 1 and offered.dhcp.giaddr == "10.1.1.1"


def test_strict_sequence_fails_at_the_step_that_differs(dora):
    with pytest.raises(ExpectationFailed) as failure:
        expect(dora["xiaoming-eth0"]).sequence(
            [dhcp(type="DISCOVER"), dhcp(type="OFFER", giaddr="10.1.2.1"), dhcp(type="REQUEST"),
             dhcp(type="ACK")], kind=dhcp(xid=XID))
    message = str(failure.value)
    assert message.startswith(
        "step 2 of 4: expected dhcp(type=OFFER, giaddr=10.1.2.1) after DHCP DISCOVER "
        "xid 0x1a2b3c4d chaddr 02:00:0a:01:01:02 [broadcast] (step 1, 0.000000 xiaoming-eth0)")
    assert "matched so far:\n   0.000000 xiaoming-eth0 0.0.0.0.68 > 255.255.255.255.67: " \
           "DHCP DISCOVER xid 0x1a2b3c4d" in message
    assert ("there were instead:\n   0.002100 xiaoming-eth0 10.1.1.1.67 > 255.255.255.255.68: "
            "DHCP OFFER xid 0x1a2b3c4d yiaddr 10.1.1.2 giaddr 10.1.1.1") in message
    assert "<- giaddr is 10.1.1.1, not 10.1.2.1" in message
    assert failure.value.expectation.startswith("step 2 of 4")


def test_strict_sequence_refuses_anything_of_the_kind_between(race):
    """Relay race: two OFFERs for one DISCOVER; a strict D-O sequence with the
    second OFFER expected right after the first one's place fails."""
    with pytest.raises(ExpectationFailed) as failure:
        expect(race).sequence([dhcp(type="DISCOVER"), dhcp(type="OFFER", giaddr="10.1.2.1")],
                              kind=dhcp(xid=0x5EED0001))
    message = str(failure.value)
    assert "step 2 of 2: expected dhcp(type=OFFER, giaddr=10.1.2.1)" in message
    assert "DHCP OFFER xid 0x5eed0001 yiaddr 10.1.1.2 giaddr 10.1.1.1" in message
    assert "<- giaddr is 10.1.1.1, not 10.1.2.1" in message


def test_strict_sequence_with_only_checks_nothing_before_or_after(race, dora):
    expect(dora["srv-eth0"]).sequence(DORA, only=True)
    with pytest.raises(ExpectationFailed) as failure:
        expect(race).sequence([dhcp(type="DISCOVER"), dhcp(type="OFFER")], only=True)
    message = str(failure.value)
    assert message.startswith("all 2 steps matched, but 1 packet of kind "
                              "dhcp(type=DISCOVER) | dhcp(type=OFFER) followed (only=True)")
    assert "then:\n   0.002300 xiaoming-eth0 10.1.2.1.67 > 255.255.255.255.68: DHCP OFFER" \
        in message


def test_strict_sequence_when_the_first_step_never_matches(dora):
    with pytest.raises(ExpectationFailed) as failure:
        expect(dora["xiaoming-eth0"]).sequence([dhcp(type="INFORM"), dhcp(type="ACK")],
                                               kind=dhcp())
    message = str(failure.value)
    assert message.startswith("step 1 of 2: expected dhcp(type=INFORM); no packet of kind dhcp() "
                              "matched it among 5 packets (xiaoming-eth0)")
    assert "DHCP DISCOVER xid 0x1a2b3c4d chaddr 02:00:0a:01:01:02 [broadcast]    " \
           "<- type is DISCOVER, not INFORM" in message


def test_strict_sequence_when_the_capture_ends_early(dora):
    with pytest.raises(ExpectationFailed) as failure:
        expect(dora["xiaoming-eth0"]).sequence(DORA + [dhcp(type="RELEASE")], kind=dhcp())
    assert "step 5 of 5: expected dhcp(type=RELEASE) after DHCP ACK xid 0x1a2b3c4d" \
        in str(failure.value)
    assert "no more packets of kind dhcp() followed" in str(failure.value)


def test_strict_sequence_skips_a_false_start(race, dora):
    """A retransmitted DISCOVER before the real exchange is not a failure:
    the sequence may start at any DISCOVER."""
    client = dora["xiaoming-eth0"]
    doubled = merge(client[:1], client)            # the DISCOVER twice, then the rest
    found = expect(doubled).sequence(DORA, kind=dhcp())
    assert found[0] is client[0] and found[1] is client[1]


# ---------------------------------------------------------------- loose order

def test_loose_order_allows_packets_between(dora):
    ack, probe = expect(dora["xiaoming-eth0"]).in_order(
        [dhcp(type="DISCOVER"), dhcp(type="ACK", xid=XID),
         arp(op="request", sender_ip="0.0.0.0", target_ip="10.1.1.2")])[1:]
    assert probe.arp.is_probe and probe.time > ack.time
    merged = merge(dora["xiaoming-eth0"], dora["srv-eth0"])
    steps = expect(merged).in_order([dhcp(type="DISCOVER", point="xiaoming-eth0"),
                                     dhcp(type="DISCOVER", point="srv-eth0"),
                                     dhcp(type="OFFER", point="srv-eth0"),
                                     dhcp(type="OFFER", point="xiaoming-eth0")])
    assert [p.point for p in steps] == ["xiaoming-eth0", "srv-eth0", "srv-eth0", "xiaoming-eth0"]


def test_loose_order_fails_when_a_step_comes_too_early(dora):
    with pytest.raises(ExpectationFailed) as failure:
        expect(dora["xiaoming-eth0"]).in_order(
            [arp(op="request", target_ip="10.1.1.2"), dhcp(type="ACK")])
    message = str(failure.value)
    assert message.startswith("step 2 of 2: expected dhcp(type=ACK) after ARP who-has 10.1.1.2 "
                              "tell 0.0.0.0 (probe) (step 1, 0.020000 xiaoming-eth0); none of "
                              "the 0 packets after it matched")
    assert "matched so far:\n   0.020000 xiaoming-eth0 ARP who-has 10.1.1.2 tell 0.0.0.0" in message


def test_loose_order_failure_shows_the_packets_of_that_kind(dora):
    with pytest.raises(ExpectationFailed) as failure:
        expect(dora["xiaoming-eth0"]).in_order([dhcp(type="DISCOVER"), dhcp(type="NAK")])
    message = str(failure.value)
    assert "step 2 of 2: expected dhcp(type=NAK) after DHCP DISCOVER" in message
    assert "none of the 4 packets after it matched" in message
    assert "DHCP ACK xid 0x1a2b3c4d yiaddr 10.1.1.2 giaddr 10.1.1.1 server-id 10.10.10.10 " \
           "[broadcast]    <- type is ACK, not NAK" in message


# ---------------------------------------------------------------- counts and absence

def test_count_two_offers_for_one_transaction(race):
    first, second = expect(race).count(dhcp(type="OFFER", xid=0x5EED0001), exactly=2)
    assert within("10.1.1.0/24")(first.dhcp.yiaddr) and within("10.1.2.0/24")(second.dhcp.yiaddr)
    assert len(expect(race).count(dhcp(), at_least=2)) == 3
    assert len(expect(race).count(dhcp(type="NAK"), at_most=0)) == 0
    assert expect(race).first(dhcp(type="OFFER")).dhcp.giaddr == "10.1.1.1"


def test_count_fails_with_the_packets_found(race):
    with pytest.raises(ExpectationFailed) as failure:
        expect(race).count(dhcp(type="OFFER", xid=0x5EED0001), exactly=1)
    message = str(failure.value)
    assert message.startswith("expected exactly 1 packet matching dhcp(type=OFFER, "
                              "xid=0x5eed0001), found 2 among 3 packets (xiaoming-eth0)")
    assert "matching:\n   0.002000 xiaoming-eth0 10.1.1.1.67 > 255.255.255.255.68: DHCP OFFER " \
           "xid 0x5eed0001 yiaddr 10.1.1.2 giaddr 10.1.1.1" in message
    assert "   0.002300 xiaoming-eth0 10.1.2.1.67 > 255.255.255.255.68: DHCP OFFER xid " \
           "0x5eed0001 yiaddr 10.1.2.100 giaddr 10.1.2.1" in message
    with pytest.raises(ExpectationFailed, match=r"expected at least 3 packets matching "
                                                r"dhcp\(type=OFFER\), found 2"):
        expect(race).count(dhcp(type="OFFER"), at_least=3)
    with pytest.raises(ExpectationFailed, match="found 0 among 3 packets"):
        expect(race).one(icmp())
    with pytest.raises(ValueError):
        expect(race).count(dhcp())


def test_count_per_transaction(dora, race):
    per_xid = expect(merge(*dora.values())).count_per("xid", dhcp(type="OFFER"), exactly=2,
                                                      keys=[XID])
    assert list(per_xid) == [XID] and len(per_xid[XID]) == 2
    with pytest.raises(ExpectationFailed) as failure:
        expect(race).count_per("xid", dhcp(type="OFFER"), exactly=1, keys=[0x5EED0001, 0x77])
    message = str(failure.value)
    assert message.startswith("expected exactly 1 packet matching dhcp(type=OFFER) per xid; "
                              "2 xids of 2 differ: 0x5eed0001: 2, 0x00000077: 0")
    assert "DHCP OFFER xid 0x5eed0001 yiaddr 10.1.2.100 giaddr 10.1.2.1" in message


def test_absence_passes(dora):
    expect(merge(*dora.values())).none(dns())
    expect(dora["srv-eth0"]).none(arp() | icmp())


def test_absence_fails_listing_what_was_there(tmp_path, name):
    lookup = synth.load(synth.dns_udp(), tmp_path, name)["xiaoming-eth0"]
    with pytest.raises(ExpectationFailed) as failure:
        expect(lookup).none(dns())
    message = str(failure.value)
    assert message.startswith("expected no packet matching dns(), found 2 among 2 packets "
                              "(xiaoming-eth0)")
    assert "   0.000000 xiaoming-eth0 10.1.1.2.53001 > 10.10.10.10.53: DNS A? www.baidu.com. " \
           "id 1234" in message
    assert "   0.003100 xiaoming-eth0 10.10.10.10.53 > 10.1.1.2.53001: DNS 1234 NOERROR " \
           "A 61.135.169.125 ttl 300" in message


def test_long_listings_are_cut_in_the_middle(tmp_path, name):
    many = {"xiaoming-eth0": [p for i in range(30) for p in synth.dns_udp(
        query_id=i, start=1_700_000_000.0 + i)["xiaoming-eth0"]]}
    capture = synth.load(many, tmp_path, name)["xiaoming-eth0"]
    with pytest.raises(ExpectationFailed) as failure:
        expect(capture).none(dns(qr=False))
    lines = str(failure.value).splitlines()
    assert lines[0].startswith("expected no packet matching dns(qr=False), found 30")
    assert "  ... 10 more packets ..." in lines
    assert len(lines) == 2 + 20 + 1
    assert lines[-1].endswith("DNS A? www.baidu.com. id 29")


def test_expect_takes_a_path_or_a_list(dora):
    expect(dora["srv-eth0"].path).count(dhcp(), exactly=4)
    expect(list(dora["srv-eth0"])).sequence(DORA)


def test_the_worked_example_of_the_package_docstring_runs(tmp_path, name, monkeypatch, capsys):
    import textwrap

    import orchestrator.packets as library
    doc = library.__doc__
    block = doc[doc.index("Worked example"):]
    block = block[block.index("::\n") + 3:]
    code = textwrap.dedent(block[:block.index("\nHad the server")])
    directory = tmp_path / name
    directory.mkdir()
    for point, path in synth.save(synth.dora_relay(), directory, "x").items():
        path.rename(directory / f"{point}.pcap")
    monkeypatch.chdir(directory)
    exec(compile(code, "orchestrator/packets/__init__.py", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 8 and "srv-eth0" in printed[1] and "DHCP ACK" in printed[-1]
