"""Matchers: a field match of each protocol, passing and failing with a
message that names the field and shows the packets; values (exact, sets,
predicates), combinations, and mistakes refused at once."""

from __future__ import annotations

import pytest

from orchestrator.packets import (
    ExpectationFailed,
    absent,
    arp,
    between,
    dhcp,
    dns,
    eth,
    expect,
    icmp,
    ip,
    merge,
    pkt,
    present,
    synth,
    tcp,
    udp,
    within,
)

pytestmark = pytest.mark.timeout(60)
XID = 0x1A2B3C4D


@pytest.fixture
def name(request):
    return request.node.name


@pytest.fixture
def dora(tmp_path, name):
    return synth.load(synth.dora_relay(xid=XID), tmp_path, name)


@pytest.fixture
def client(dora):
    return dora["xiaoming-eth0"]


@pytest.fixture
def web(tmp_path, name):
    return synth.load(synth.web11(), tmp_path, name)["xiaoming-eth0"]


@pytest.fixture
def pings(tmp_path, name):
    return synth.load(synth.arp_ping(), tmp_path, name)["xiaoming-eth0"]


@pytest.fixture
def lookup(tmp_path, name):
    return synth.load(synth.dns_udp(), tmp_path, name)["xiaoming-eth0"]


# ---------------------------------------------------------------- each protocol

def test_dhcp_match_passes(client):
    offer = expect(client).one(dhcp(type="offer", xid=XID, giaddr="10.1.1.1"))
    assert offer.dhcp.yiaddr == "10.1.1.2"


def test_dhcp_match_fails_naming_the_field(client):
    with pytest.raises(ExpectationFailed) as failure:
        expect(client).one(dhcp(type="OFFER", xid=XID, giaddr="10.1.2.1"))
    message = str(failure.value)
    assert message.startswith("expected exactly 1 packet matching "
                              "dhcp(type=OFFER, xid=0x1a2b3c4d, giaddr=10.1.2.1), found 0 "
                              "among 5 packets (xiaoming-eth0)")
    assert "not matching, of the same kind:" in message
    assert ("xiaoming-eth0 10.1.1.1.67 > 255.255.255.255.68: DHCP OFFER xid 0x1a2b3c4d "
            "yiaddr 10.1.1.2 giaddr 10.1.1.1") in message
    assert "<- giaddr is 10.1.1.1, not 10.1.2.1" in message
    assert "<- type is DISCOVER, not OFFER" in message


def test_arp_match_passes(pings):
    request = expect(pings).one(arp(op="request", target_ip="10.1.1.3", sender_ip="10.1.1.2"))
    assert request.eth.dst == "ff:ff:ff:ff:ff:ff"
    reply = expect(pings).one(arp(op="reply", sender_mac=synth.XIAOMEI_MAC.upper()))
    assert reply.eth.dst == synth.XIAOMING_MAC


def test_arp_match_fails(pings):
    with pytest.raises(ExpectationFailed) as failure:
        expect(pings).one(arp(op="request", target_ip="10.1.1.9"))
    message = str(failure.value)
    assert "matching arp(op=request, target_ip=10.1.1.9), found 0" in message
    assert "ARP who-has 10.1.1.3 tell 10.1.1.2    <- target_ip is 10.1.1.3, not 10.1.1.9" in message
    assert "ARP reply 10.1.1.3 is-at 02:00:0a:01:01:03    <- op is reply, not request" in message


def test_tcp_match_passes(web):
    synack = expect(web).one(tcp(flags="SA", src="61.135.169.125"))
    assert (synack.tcp.seq, synack.tcp.ack) == (0, 1)
    assert len(expect(web).count(tcp(flags="S.", sport=80), exactly=1)) == 1
    assert len(expect(web).count(tcp(flags={"FA"}), exactly=2)) == 2


def test_tcp_match_fails(web):
    with pytest.raises(ExpectationFailed) as failure:
        expect(web).one(tcp(flags="SA", src="10.1.1.2"))
    message = str(failure.value)
    assert "matching tcp(flags=SA, src=10.1.1.2), found 0 among 11 packets" in message
    assert ("61.135.169.125.80 > 10.1.1.2.40000: Flags [S.], seq 0, ack 1, len 0    "
            "<- src is 61.135.169.125, not 10.1.1.2") in message
    assert "Flags [S], seq 0, len 0    <- flags is S, not SA" in message


def test_dns_match_passes(lookup):
    response = expect(lookup).one(dns(qname="www.baidu.com.", qr=True))
    assert response.dns.answers[0].data == "61.135.169.125"
    expect(lookup).one(dns(qname="WWW.Baidu.com", qr=False, qtype="a", rd=True, dport=53))
    expect(lookup).one(dns(a="61.135.169.125", rcode="NOERROR", id=1234))


def test_dns_match_fails(lookup):
    with pytest.raises(ExpectationFailed) as failure:
        expect(lookup).one(dns(qname="www.baidu.com.", qr=True, rcode="NXDOMAIN"))
    message = str(failure.value)
    assert "dns(qname=www.baidu.com., qr=True, rcode=NXDOMAIN)" in message
    assert ("10.10.10.10.53 > 10.1.1.2.53001: DNS 1234 NOERROR A 61.135.169.125 ttl 300    "
            "<- rcode is NOERROR, not NXDOMAIN") in message
    assert "DNS A? www.baidu.com. id 1234    <- qr is False, not True" in message


def test_icmp_match_passes(pings):
    assert len(expect(pings).count(icmp(type=8), exactly=2)) == 2
    reply = expect(pings).one(icmp(type="echo-reply", seq=2))
    assert reply.icmp.id == 0x77


def test_icmp_match_fails(pings):
    with pytest.raises(ExpectationFailed) as failure:
        expect(pings).one(icmp(type="echo-request", seq=3))
    message = str(failure.value)
    assert "icmp(type=8 (echo-request), seq=3), found 0" in message
    assert "10.1.1.2 > 10.1.1.3: ICMP echo request, id 119, seq 1    <- seq is 1, not 3" in message


def test_generic_ip_match_passes_and_fails(tmp_path, name):
    routed = synth.load(synth.routed_ping(), tmp_path, name)
    both = merge(*routed.values())
    arrived = expect(both).one(pkt(ip_src="10.1.1.2", ttl=62))
    assert arrived.point == "xiaoli-eth0"
    expect(both).one(ip(dst="10.1.2.2", point="xiaoming-eth0", mac_dst=synth.GW1_LAN_MAC))
    with pytest.raises(ExpectationFailed) as failure:
        expect(both).one(pkt(ip_src="10.1.1.2", ttl=63))
    message = str(failure.value)
    assert "pkt(ip_src=10.1.1.2, ttl=63), found 0 among 6 packets (xiaoming-eth0, xiaoli-eth0)" \
        in message
    assert "xiaoli-eth0   10.1.1.2 > 10.1.2.2: ICMP echo request, id 9, seq 1    " \
           "<- ttl is 62, not 63" in message


def test_ethernet_and_udp_matchers(client):
    assert len(expect(client).count(eth(src=synth.XIAOMING_MAC.replace(":", "-")),
                                    exactly=3)) == 3
    assert len(expect(client).count(eth(type="arp"), exactly=1)) == 1
    assert len(expect(client).count(udp(port=68), exactly=4)) == 4
    assert len(expect(client).count(udp(sport=67, dst="255.255.255.255"), exactly=2)) == 2


# ---------------------------------------------------------------- values

def test_sets_predicates_and_helpers(client):
    assert len(client.filter(dhcp(type={"OFFER", "ack"}))) == 2
    assert len(client.filter(dhcp(yiaddr=within("10.1.1.0/24")))) == 2
    assert len(client.filter(dhcp(requested_ip=present))) == 1
    assert len(client.filter(dhcp(requested_ip=absent))) == 3
    assert len(client.filter(dhcp(lease_time=between(1000, 4000)))) == 2
    assert len(client.filter(ip(ttl=lambda ttl: ttl < 64))) == 0
    assert len(client.filter(pkt(xid=XID))) == 4
    assert len(client.filter(pkt(time=lambda t: t > client.start + 0.011))) == 2


def test_list_fields_match_an_element_or_the_whole_list(client):
    ack = client[3]
    assert dhcp(router="10.1.1.1")(ack)
    assert dhcp(router=["10.1.1.1"])(ack)
    assert not dhcp(router=["10.1.1.1", "10.1.1.254"])(ack)
    assert dhcp(dns_servers={"8.8.8.8", "10.10.10.10"})(ack)
    assert dhcp(param_request_list=51)(client[0])


def test_raw_options(client):
    offer = client[1]
    assert dhcp(opt54=b"\x0a\x0a\x0a\x0a")(offer)
    assert dhcp(opt54="0a0a0a0a")(offer)
    assert dhcp(opt82=None)(offer)
    assert pkt(dhcp_opt51=(3600).to_bytes(4, "big"))(offer)


def test_combinations(client):
    offer_or_ack = dhcp(type="OFFER") | dhcp(type="ACK")
    assert len(client.filter(offer_or_ack)) == 2
    not_discover = dhcp() & ~dhcp(type="DISCOVER")
    assert len(client.filter(not_discover)) == 3
    assert repr(offer_or_ack) == "dhcp(type=OFFER) | dhcp(type=ACK)"
    assert repr(not_discover) == "dhcp() & ~dhcp(type=DISCOVER)"
    assert repr(dhcp(type="ACK") & (arp() | icmp())) == "dhcp(type=ACK) & (arp() | icmp())"
    assert (dhcp() | arp()).need == 0        # no layer is common to both


def test_mismatch_says_why(client):
    matcher = dhcp(type="ACK", yiaddr="10.1.1.3")
    assert matcher.mismatch(client[3]) == "yiaddr is 10.1.1.2, not 10.1.1.3"
    assert matcher.mismatch(client[4]) == "no dhcp layer"
    assert dhcp(type="ACK").mismatch(client[3]) is None
    assert (~dhcp()).mismatch(client[0]) == "matches dhcp()"


# ---------------------------------------------------------------- mistakes

def test_unknown_field_is_refused_with_the_known_ones():
    with pytest.raises(TypeError, match=r"dhcp\(\) has no field 'yaddr'; fields: op, .*yiaddr"):
        dhcp(yaddr="10.1.1.2")


def test_ambiguous_bare_name_in_pkt_is_refused():
    with pytest.raises(TypeError, match="tcp_flags"):
        pkt(flags="SA")


def test_impossible_values_are_refused_at_once():
    with pytest.raises(ValueError, match=r"within\("):
        dhcp(giaddr="10.1.1.0/24")
    with pytest.raises(ValueError, match="unknown name 'OFFERR'.*OFFER"):
        dhcp(type="OFFERR")
    with pytest.raises(ValueError, match="not a MAC address"):
        eth(src="02:00:0a")
    with pytest.raises(ValueError, match="unknown TCP flag"):
        tcp(flags="SYNACK")


def test_a_predicate_that_raises_says_which(client):
    with pytest.raises(TypeError, match="predicate .* of lease_time= raised on the value None"):
        client.filter(dhcp(lease_time=lambda v: v > 0))
