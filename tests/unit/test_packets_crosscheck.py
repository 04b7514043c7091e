"""The library reads captures as tshark does: every field both have, compared
frame by frame on the synthetic captures of the documented flows and on real
captures of the Linux stack taken on the loopback with tcpdump.

``orchestrator.packets.crosscheck.crosscheck(path)`` is the comparison; it
takes any capture, so the same check runs on the captures of a lab run.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading

import pytest
from dnslib import QTYPE, RR, A, DNSRecord

from orchestrator.capture.tcpdump import Tcpdump
from orchestrator.packets import ExpectationFailed, conversation, dns, expect, read, synth, tcp
from orchestrator.packets.crosscheck import FIELDS, Compared, crosscheck

pytestmark = [pytest.mark.timeout(120),
              pytest.mark.skipif(not shutil.which("tshark"), reason="tshark is not installed")]

SCENARIOS = {
    "dora_relay": synth.dora_relay,
    "relay_race": synth.relay_race,
    "arp_ping": synth.arp_ping,
    "routed_ping": synth.routed_ping,
    "dns_udp": synth.dns_udp,
    "dns_tcp": synth.dns_tcp,
    "web11": synth.web11,
    "odd_frames": synth.odd_frames,
}


@pytest.fixture
def name(request):
    return request.node.name


def test_every_field_agrees_with_tshark_on_the_documented_flows(tmp_path, name):
    compared = set()
    for scenario, build in SCENARIOS.items():
        for path in synth.save(build(), tmp_path, f"{name}.{scenario}").values():
            report = crosscheck(path)
            assert report.ok, str(report)
            assert report.packets > 0 and report.compared
            compared |= set(report.compared)
    known = {c.names[0] for c in FIELDS} - set(report.unavailable)
    assert known - compared == set(), "fields no capture exercised"


def test_an_edns_opt_record_agrees_with_tshark(tmp_path, name):
    """dig asks with EDNS: the OPT pseudo-record of the additional section is
    a record to tshark (type 41, name <Root>) but carries no TTL there."""
    from scapy.layers.dns import DNS, DNSQR, DNSRR, DNSRROPT
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether
    query = DNS(id=7, rd=1, qd=DNSQR(qname="www.baidu.com.", qtype="A"), ar=DNSRROPT(rclass=1232))
    answer = DNS(id=7, qr=1, rd=1, ra=1, qd=DNSQR(qname="www.baidu.com.", qtype="A"),
                 an=DNSRR(rrname="www.baidu.com.", type="A", ttl=300, rdata=synth.WEB),
                 ar=DNSRROPT(rclass=1232))
    frames = [synth._at(Ether() / IP(src="10.1.1.2", dst=synth.SERVER) / UDP(sport=5353, dport=53)
                        / query, 1.0),
              synth._at(Ether() / IP(src=synth.SERVER, dst="10.1.1.2") / UDP(sport=53, dport=5353)
                        / answer, 1.1)]
    for path in synth.save({"edns": frames}, tmp_path, name).values():
        report = crosscheck(path)
        assert report.ok, str(report)
        assert report.compared["dns.resp.type"] == 2


def test_nanosecond_and_big_endian_files_agree_too(tmp_path, name):
    for nano, endianness in ((True, ">"), (False, ">"), (True, "<")):
        paths = synth.save(synth.web11(), tmp_path, f"{name}.{int(nano)}{endianness}", nano=nano,
                           endianness=endianness)
        for path in paths.values():
            crosscheck(path).assert_ok()


def test_a_disagreement_is_reported_with_the_packet(tmp_path, name):
    path = synth.save(synth.arp_ping(), tmp_path, name)["xiaoming-eth0"]
    wrong = [Compared(("ip.ttl",), lambda p: 1 if p.ip else None),
             Compared(("arp.opcode",), lambda p: None)]
    report = crosscheck(path, wrong)
    assert not report.ok and report.compared == {"ip.ttl": 4, "arp.opcode": 2}
    text = str(report)
    assert "6 packets, 6 values in 2 fields compared with tshark, 6 mismatches" in text
    assert "frame 1 arp.opcode: library None, tshark 1" in text
    assert "frame 3 ip.ttl: library 1, tshark 64" in text
    assert "10.1.1.2 > 10.1.1.3: ICMP echo request, id 119, seq 1" in text
    with pytest.raises(ExpectationFailed, match="the library and tshark disagree"):
        report.assert_ok()


# ---------------------------------------------------------------- real captures

needs_tcpdump = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("tcpdump"),
                                   reason="capturing needs root and tcpdump")


def free_port(kind=socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def web_exchange(port: int) -> None:
    """A tiny HTTP exchange on the real stack: request, response, close."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(1)

    def serve():
        conn, _ = server.accept()
        conn.recv(4096)
        conn.sendall(synth.RESPONSE)
        conn.recv(4096)          # wait for the client's FIN
        conn.close()
    thread = threading.Thread(target=serve)
    thread.start()
    client = socket.create_connection(("127.0.0.1", port))
    client.sendall(synth.REQUEST)
    client.recv(4096)
    client.close()
    thread.join(5)
    server.close()


DNS_HOST = "127.0.0.77"
"""A loopback address of its own, so that port 53 (where tshark and the
library look for DNS) is free for the test whatever else runs here."""


def dns_exchange() -> bool:
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        server.bind((DNS_HOST, 53))
    except OSError:
        server.close()
        return False
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.sendto(DNSRecord.question("www.baidu.com").pack(), (DNS_HOST, 53))
    data, peer = server.recvfrom(4096)
    reply = DNSRecord.parse(data).reply()
    reply.add_answer(RR("www.baidu.com", QTYPE.A, rdata=A("61.135.169.125"), ttl=300))
    server.sendto(reply.pack(), peer)
    client.recvfrom(4096)
    client.close()
    server.close()
    return True


@needs_tcpdump
@pytest.mark.parametrize("interface,linktype", [("lo", 1), ("any", 276)])
def test_real_captures_of_the_linux_stack_agree(tmp_path, name, interface, linktype):
    web_port = free_port()
    path = tmp_path / f"{name}.pcap"
    dump = Tcpdump.local(interface, path,
                         f"(tcp port {web_port}) or (udp port 53 and host {DNS_HOST})").start()
    dns_done = False
    try:
        web_exchange(web_port)
        dns_done = dns_exchange()
    finally:
        dump.stop()
    assert dump.dropped == 0, f"the kernel dropped {dump.dropped} packets of the capture"
    capture = read(path)
    assert capture.info.linktypes == [linktype]
    assert len(capture) >= 10, capture.describe()
    crosscheck(path).assert_ok()
    conv = conversation(capture, server=f"127.0.0.1:{web_port}")
    assert [row[1] for row in conv.rows()[:3]] == ["S", "SA", "A"]
    assert conv.rows()[1][2:4] == (0, 1)
    assert conv.payload("client") == synth.REQUEST
    assert conv.payload("server") == synth.RESPONSE
    assert sum("F" in s.flags for s in conv) == 2
    assert expect(capture).one(tcp(flags="S", dport=web_port)).tcp.seq == 0
    if dns_done:
        query, response = expect(capture).sequence(
            [dns(qr=False, qname="www.baidu.com."), dns(qr=True, a="61.135.169.125")])
        assert response.dns.id == query.dns.id and response.dns.answers[0].ttl == 300
