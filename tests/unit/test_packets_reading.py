"""Reading captures: file formats, lazy decoding, the fields of every layer,
merging points and writing merged files.

Captures are made with scapy in the tests (orchestrator.packets.synth) and
named after the test that made them.
"""

from __future__ import annotations

import shutil
import struct
import subprocess

import pytest

from orchestrator.packets import (
    CaptureFileError,
    Flags,
    Record,
    from_frames,
    kinds as K,
    merge,
    read,
    synth,
    write_pcap,
    write_pcapng,
)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def name(request):
    return request.node.name


@pytest.fixture
def dora(tmp_path, name):
    return synth.load(synth.dora_relay(), tmp_path, name)


def test_reading_is_lazy_until_a_field_is_asked_for(dora):
    client = dora["xiaoming-eth0"]
    assert len(client) == 5
    assert all(p._kinds == -1 and p._cache is None for p in client)
    assert client[0].dhcp.xid == 0x1A2B3C4D
    assert client[0]._kinds != -1
    assert all(p._kinds == -1 for p in client[1:])


def test_frame_fields(dora):
    client = dora["xiaoming-eth0"]
    first, second = client[0], client[1]
    assert first.point == "xiaoming-eth0"
    assert first.index == 0 and first.frame.number == 1
    assert first.time == pytest.approx(1_700_000_000.0)
    assert second.time - first.time == pytest.approx(0.0021, abs=1e-6)
    assert first.file.endswith(".xiaoming-eth0.pcap")
    assert first.wirelen == first.caplen == len(first.data)
    assert first.layers == ["eth", "ip", "udp", "dhcp"]
    assert "dhcp" in first and "tcp" not in first


def test_ethernet_arp_ip_udp_fields(dora):
    discover, offer, *_, probe = dora["xiaoming-eth0"]
    assert discover.eth.src == synth.XIAOMING_MAC
    assert discover.eth.dst == "ff:ff:ff:ff:ff:ff"
    assert discover.eth.type == 0x0800 and discover.eth.vlan is None
    assert (discover.ip.src, discover.ip.dst, discover.ip.ttl, discover.ip.proto) == \
        ("0.0.0.0", "255.255.255.255", 64, 17)
    assert discover.ip.len == discover.caplen - 14 and discover.ip.id == 0
    assert (discover.udp.sport, discover.udp.dport) == (68, 67)
    assert discover.udp.port == [68, 67]
    assert offer.eth.src == synth.GW1_LAN_MAC
    assert probe.eth.type == 0x0806 and probe.ip is None
    a = probe.arp
    assert (a.op, a.sender_mac, a.sender_ip, a.target_ip) == \
        ("request", synth.XIAOMING_MAC, "0.0.0.0", "10.1.1.2")
    assert a.target_mac == "00:00:00:00:00:00" and a.is_probe and not a.is_gratuitous


def test_dhcp_fields_and_options(dora):
    discover, offer, request, ack, _ = dora["xiaoming-eth0"]
    d = discover.dhcp
    assert (d.op, d.type, d.xid, d.broadcast, d.flags) == \
        ("BOOTREQUEST", "DISCOVER", 0x1A2B3C4D, True, 0x8000)
    assert d.chaddr == synth.XIAOMING_MAC and d.giaddr == "0.0.0.0"
    assert d.param_request_list == [1, 3, 6, 15, 51, 54, 58, 59]
    assert d.requested_ip is None and d.server_id is None
    o = offer.dhcp
    assert (o.type, o.yiaddr, o.siaddr, o.giaddr, o.ciaddr) == \
        ("OFFER", "10.1.1.2", "10.10.10.10", "10.1.1.1", "0.0.0.0")
    assert (o.server_id, o.lease_time, o.t1, o.t2) == ("10.10.10.10", 3600, 1800, 3150)
    assert (o.subnet_mask, o.router, o.dns_servers) == \
        ("255.255.255.0", ["10.1.1.1"], ["10.10.10.10"])
    r = request.dhcp
    assert (r.type, r.requested_ip, r.server_id) == ("REQUEST", "10.1.1.2", "10.10.10.10")
    assert ack.dhcp.type == "ACK"
    assert o.option(54) == bytes([10, 10, 10, 10]) and o.option(82) is None
    assert list(o.options)[0] == 53
    assert discover["dhcp.type"] == "DISCOVER" and discover["dns.id"] is None


def test_dns_fields_over_udp_and_tcp(tmp_path, name):
    query, response = synth.load(synth.dns_udp(), tmp_path, name + "-udp")["xiaoming-eth0"]
    q = query.dns
    assert (q.id, q.qr, q.opcode, q.rd, q.qname, q.qtype, q.transport) == \
        (1234, False, "QUERY", True, "www.baidu.com.", "A", "udp")
    r = response.dns
    assert (r.qr, r.aa, r.ra, r.tc, r.rcode, r.ancount, r.nscount, r.arcount) == \
        (True, False, True, False, "NOERROR", 1, 0, 0)
    assert r.answers == [Record("www.baidu.com.", "A", 300, "61.135.169.125")]
    assert r.a == ["61.135.169.125"] and r.authority == [] and r.additional == []
    segments = synth.load(synth.dns_tcp(), tmp_path, name + "-tcp")["xiaoming-eth0"]
    over_tcp = [p for p in segments if p.dns]
    assert [p.dns.qr for p in over_tcp] == [False, True]
    answer = over_tcp[1].dns
    assert answer.transport == "tcp" and answer.qname == "many.baidu.com."
    assert answer.a == ["61.135.170.1", "61.135.170.2", "61.135.170.3"]
    assert over_tcp[1].tcp.flags == "PA"


def test_tcp_fields_raw_and_relative(tmp_path, name):
    inside = synth.load(synth.web11(isn=(0xFFFFFFF0, 7)), tmp_path, name)["xiaoming-eth0"]
    syn, synack, ack3, request = inside[:4]
    assert syn.tcp.flags == "S" and syn.tcp.flags == Flags.parse("SYN")
    assert str(synack.tcp.flags) == "SA" and synack.tcp.flags.tcpdump() == "S."
    assert (syn.tcp.seq_raw, syn.tcp.seq, syn.tcp.ack) == (0xFFFFFFF0, 0, None)
    assert (synack.tcp.seq, synack.tcp.ack) == (0, 1)
    # wraps past 2**32 and still counts from x
    assert (ack3.tcp.seq_raw, ack3.tcp.seq, ack3.tcp.ack) == (0xFFFFFFF1, 1, 1)
    assert request.tcp.len == len(synth.REQUEST) and request.tcp.payload == synth.REQUEST
    assert request.tcp.window == 64240 and request.tcp.hdr_len == 20
    assert "P" in request.tcp.flags and request.tcp.flags == {"P", "A"}


def test_icmp_fields(tmp_path, name):
    packets = synth.load(synth.arp_ping(), tmp_path, name)["xiaoming-eth0"]
    request, reply = packets[2], packets[3]
    assert (request.icmp.type, request.icmp.code, request.icmp.id, request.icmp.seq) == \
        (8, 0, 0x77, 1)
    assert reply.icmp.type == 0 and reply.icmp.payload == b"flowlab" * 8
    assert packets[1].arp.op == "reply"


@pytest.mark.parametrize("nano,endianness", [(False, "<"), (True, "<"), (False, ">"),
                                             (True, ">")])
def test_pcap_byte_orders_and_resolutions(tmp_path, name, nano, endianness):
    scenario = synth.arp_ping()
    capture = synth.load(scenario, tmp_path, name, nano=nano, endianness=endianness)[
        "xiaoming-eth0"]
    assert capture.info.format == "pcap"
    assert capture.info.byte_order == ("little" if endianness == "<" else "big")
    assert capture.info.resolution == ("ns" if nano else "us")
    assert [p.time for p in capture] == pytest.approx(
        [float(p.time) for p in scenario["xiaoming-eth0"]], abs=1e-6)
    assert capture[2].icmp.seq == 1 and capture[0].arp.target_ip == "10.1.1.3"


def test_pcapng_written_and_read_back_keeps_points(tmp_path, name, dora):
    merged = merge(dora["xiaoming-eth0"], dora["srv-eth0"])
    path = write_pcapng(tmp_path / f"{name}.pcapng", merged)
    back = read(path)
    assert back.info.format == "pcapng" and back.info.resolution == "ns"
    assert [p.point for p in back] == [p.point for p in merged]
    assert [p.tns for p in back] == [p.tns for p in merged]
    assert [p.data for p in back] == [p.data for p in merged]


@pytest.mark.skipif(not shutil.which("editcap"), reason="editcap (wireshark-common) missing")
def test_pcapng_from_wireshark_tools(tmp_path, name, dora):
    source = dora["srv-eth0"].path
    target = tmp_path / f"{name}.pcapng"
    subprocess.run(["editcap", "-F", "pcapng", str(source), str(target)], check=True,
                   capture_output=True)
    back = read(target, "srv-eth0")
    assert back.info.format == "pcapng"
    assert [p.dhcp.type for p in back] == ["DISCOVER", "OFFER", "REQUEST", "ACK"]
    assert back[1].time == pytest.approx(dora["srv-eth0"][1].time)


def test_merge_orders_by_time_and_keeps_labels(dora):
    merged = merge(dora["xiaoming-eth0"], dora["srv-eth0"])
    assert len(merged) == 9
    assert [p.time for p in merged] == sorted(p.time for p in merged)
    assert merged.points == ["xiaoming-eth0", "srv-eth0"]
    assert [(p.point, p.dhcp.type if p.dhcp else "ARP") for p in merged][:4] == [
        ("xiaoming-eth0", "DISCOVER"), ("srv-eth0", "DISCOVER"), ("srv-eth0", "OFFER"),
        ("xiaoming-eth0", "OFFER")]
    # Every packet keeps its own capture: relative numbers stay per point.
    assert merged[1].capture is dora["srv-eth0"]


def test_merge_accepts_paths_with_labels(dora):
    merged = merge((dora["xiaoming-eth0"].path, "client"), (dora["srv-eth0"].path, "server"))
    assert set(merged.points) == {"client", "server"}


@pytest.mark.skipif(not shutil.which("tshark"), reason="tshark missing")
def test_merged_pcap_is_valid_for_wireshark(tmp_path, name, dora):
    merged = merge(dora["xiaoming-eth0"], dora["srv-eth0"])
    classic = write_pcap(tmp_path / f"{name}.pcap", merged)
    ng = write_pcapng(tmp_path / f"{name}.pcapng", merged)
    out = subprocess.run(["tshark", "-r", str(classic), "-T", "fields", "-e", "dhcp.id"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == ["0x1a2b3c4d"] * 8
    names = subprocess.run(["tshark", "-r", str(ng), "-T", "fields",
                            "-e", "frame.interface_name"],
                           capture_output=True, text=True, check=True).stdout.split()
    assert names == [p.point for p in merged]
    assert [p.data for p in read(classic)] == [p.data for p in merged]


def test_write_pcap_refuses_mixed_link_types(tmp_path, name):
    ethernet = from_frames([(0.0, bytes(64))], "a")
    cooked = from_frames([(1.0, bytes(64))], "b", linktype=113)
    with pytest.raises(ValueError, match="write_pcapng"):
        write_pcap(tmp_path / f"{name}.pcap", merge(ethernet, cooked))


def test_linux_cooked_and_raw_ip_link_types(tmp_path, name):
    scapy_packet = synth.dns_udp()["xiaoming-eth0"][0]
    ip_bytes = bytes(scapy_packet)[14:]
    sll = struct.pack("!HHH8sH", 0, 1, 6, bytes(8), 0x0800) + ip_bytes
    sll2 = struct.pack("!HHIHBB8s", 0x0800, 0, 2, 1, 0, 6, bytes(8)) + ip_bytes
    for linktype, frame in ((113, sll), (276, sll2), (101, ip_bytes)):
        capture = from_frames([(0.0, frame)], "any", linktype=linktype)
        packet = capture[0]
        assert packet.eth is None
        assert packet.dns.qname == "www.baidu.com." and packet.ip.src == "10.1.1.2"


def test_truncated_and_bad_files(tmp_path, name, dora):
    data = dora["srv-eth0"].path.read_bytes()
    cut = tmp_path / f"{name}.pcap"
    cut.write_bytes(data[:-10])
    capture = read(cut)
    assert len(capture) == 3 and capture.info.truncated
    bad = tmp_path / f"{name}.bad"
    bad.write_bytes(b"not a capture at all, not even close")
    with pytest.raises(CaptureFileError, match="not a pcap"):
        read(bad)


def test_snapped_packets_do_not_read_past_their_frame(dora):
    full = dora["xiaoming-eth0"][1].data
    snapped = from_frames([(0.0, full[:60]), (0.0, full)], "snap")
    assert snapped[0].kinds & K.UDP and not snapped[0].kinds & K.DHCP
    assert snapped[0].udp.payload_len == 60 - 42
    assert snapped[1].dhcp.type == "OFFER"


def test_vlan_tags_ip_options_and_malformed_dns(tmp_path, name):
    capture = synth.load(synth.odd_frames(), tmp_path, name)["trunk"]
    first, second, third = capture
    assert first.eth.vlan == 10 and first.eth.type == 0x0800 and "vlan" in first.layers
    assert first.dhcp.type == "DISCOVER" and first.dhcp.chaddr == synth.XIAOMING_MAC
    assert second.ip.hdr_len == 24 and second.udp.dport == 53 and second.dns.id == 5
    assert second.dns.qname is None
    assert third.dns.id == 6 and third.dns.qname is None and third.dns.malformed
    assert "DNS id 6" in third.describe()
