"""The one-line, tcpdump-like rendering of packets used by failures and reports."""

from __future__ import annotations

import pytest
from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw

from orchestrator.packets import describe, from_frames, summary, synth

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def name(request):
    return request.node.name


def frames(*packets, point="xiaoming-eth0"):
    return from_frames([(1000.0 + i * 0.5, bytes(p)) for i, p in enumerate(packets)], point)


def test_dhcp_lines(tmp_path, name):
    client = synth.load(synth.dora_relay(), tmp_path, name)["xiaoming-eth0"]
    assert describe(client[1]) == (
        " 0.002100 xiaoming-eth0  10.1.1.1.67 > 255.255.255.255.68: DHCP OFFER xid 0x1a2b3c4d "
        "yiaddr 10.1.1.2 giaddr 10.1.1.1 server-id 10.10.10.10 [broadcast]")
    assert summary(client[2]) == (
        "0.0.0.0.68 > 255.255.255.255.67: DHCP REQUEST xid 0x1a2b3c4d chaddr 02:00:0a:01:01:02 "
        "requested 10.1.1.2 server-id 10.10.10.10 [broadcast]")
    assert summary(client[3], verbose=True).endswith(
        "(mask 255.255.255.0 router 10.1.1.1 dns 10.10.10.10 lease 3600) [ttl 64, id 0x0000]")


def test_arp_lines():
    capture = frames(
        Ether(src=synth.XIAOMING_MAC, dst="ff:ff:ff:ff:ff:ff")
        / ARP(op=1, hwsrc=synth.XIAOMING_MAC, psrc="10.1.1.2", pdst="10.1.1.3"),
        Ether(src=synth.XIAOMEI_MAC, dst=synth.XIAOMING_MAC)
        / ARP(op=2, hwsrc=synth.XIAOMEI_MAC, psrc="10.1.1.3", pdst="10.1.1.2"),
        Ether(src=synth.XIAOMING_MAC, dst="ff:ff:ff:ff:ff:ff")
        / ARP(op=1, hwsrc=synth.XIAOMING_MAC, psrc="0.0.0.0", pdst="10.1.1.2"))
    assert [summary(p) for p in capture] == [
        "ARP who-has 10.1.1.3 tell 10.1.1.2",
        "ARP reply 10.1.1.3 is-at 02:00:0a:01:01:03",
        "ARP who-has 10.1.1.2 tell 0.0.0.0 (probe)"]
    assert summary(capture[0], macs=True) == \
        "02:00:0a:01:01:02 > ff:ff:ff:ff:ff:ff, ARP who-has 10.1.1.3 tell 10.1.1.2"


def test_tcp_lines_use_relative_numbers(tmp_path, name):
    inside = synth.load(synth.web11(), tmp_path, name)["xiaoming-eth0"]
    lines = [summary(p).split(": ", 1)[1] for p in inside]
    assert lines[:4] == ["Flags [S], seq 0, len 0", "Flags [S.], seq 0, ack 1, len 0",
                         "Flags [.], seq 1, ack 1, len 0", "Flags [P.], seq 1, ack 1, len 73"]
    assert lines[7] == "Flags [F.], seq 74, ack 104, len 0"
    assert summary(inside[0], verbose=True) == (
        "10.1.1.2.40000 > 61.135.169.125.80: Flags [S], seq 0, win 64240, len 0 "
        "(raw seq 3000000000) [ttl 64, id 0x7000]")


def test_dns_lines():
    query = DNS(id=7, rd=1, qd=DNSQR(qname="nowhere.example.", qtype="AAAA"))
    nx = DNS(id=7, qr=1, rcode=3, qd=DNSQR(qname="nowhere.example.", qtype="AAAA"))
    referral = DNS(id=8, qr=1, qd=DNSQR(qname="www.baidu.com."),
                   ns=DNSRR(rrname="com.", type="NS", rdata="a.gtld-servers.net."),
                   ar=DNSRR(rrname="a.gtld-servers.net.", type="A", rdata="192.5.6.30"))
    cname = DNS(id=9, qr=1, qd=DNSQR(qname="news.baidu.com."),
                an=[DNSRR(rrname="news.baidu.com.", type="CNAME", ttl=300, rdata="www.baidu.com."),
                    DNSRR(rrname="www.baidu.com.", type="A", ttl=299, rdata="61.135.169.125")])
    base = Ether() / IP(src="10.10.10.10", dst="8.8.8.8") / UDP(sport=5353, dport=53)
    capture = frames(*(base / m for m in (query, nx, referral, cname)))
    assert [summary(p).split(": ", 1)[1] for p in capture] == [
        "DNS AAAA? nowhere.example. id 7",
        "DNS 7 NXDOMAIN AAAA? nowhere.example. no answer",
        "DNS 8 NOERROR A? www.baidu.com. no answer authority 1 additional 1",
        "DNS 9 NOERROR CNAME www.baidu.com. ttl 300, A 61.135.169.125 ttl 299"]
    assert capture[2].dns.authority[0].data == "a.gtld-servers.net."
    assert capture[2].dns.additional[0].data == "192.5.6.30"


def test_dns_over_tcp_line(tmp_path, name):
    segments = synth.load(synth.dns_tcp(answers=5), tmp_path, name)["xiaoming-eth0"]
    assert summary(segments[4]) == (
        "10.10.10.10.53 > 10.1.1.2.41000: Flags [P.], seq 1, ack 35, len 184: DNS 4321 NOERROR "
        "A 61.135.170.1 ttl 300, A 61.135.170.2 ttl 300, A 61.135.170.3 ttl 300 (+2 more)")


def test_icmp_other_ip_and_non_ip_lines():
    capture = frames(
        Ether() / IP(src="10.1.1.2", dst="10.1.2.2") / ICMP(type=8, id=5, seq=9),
        Ether() / IP(src="10.1.1.1", dst="10.1.1.2") / ICMP(type=3, code=3) / Raw(bytes(28)),
        Ether() / IP(src="10.1.1.2", dst="10.1.2.2", proto=47) / Raw(b"gre"),
        Ether() / IP(src="10.1.1.2", dst="10.1.2.2", flags=0, frag=185, proto=17) / Raw(b"x" * 8),
        Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02", type=0x88CC) / Raw(bytes(46)))
    assert [summary(p) for p in capture] == [
        "10.1.1.2 > 10.1.2.2: ICMP echo request, id 5, seq 9",
        "10.1.1.1 > 10.1.1.2: ICMP unreachable, code 3",
        "10.1.1.2 > 10.1.2.2: ip-proto 47, len 23",
        "10.1.1.2 > 10.1.2.2: fragment id 0x0001 offset 1480, proto 17",
        "02:00:00:00:00:01 > 02:00:00:00:00:02 ethertype 0x88cc, len 60"]


def test_times_are_relative_to_the_given_start():
    capture = frames(Ether() / IP() / ICMP(), Ether() / IP() / ICMP(), point="p")
    assert describe(capture[1]).startswith(" 0.500000 p ")
    assert describe(capture[1], t0=999.0).startswith(" 1.500000 p ")
    assert repr(capture[0]) == "<Packet p#1 127.0.0.1 > 127.0.0.1: ICMP echo request, id 0, seq 0>"


def test_a_capture_describes_itself_with_a_cut_in_the_middle():
    capture = frames(*(Ether() / IP(id=i) / ICMP(seq=i) for i in range(100)), point="p")
    lines = capture.describe(limit=8).splitlines()
    assert len(lines) == 9 and lines[6] == "  ... 92 more packets ..."
    assert lines[-1].endswith("seq 99")
