"""Synthetic captures of the documented flows, made with scapy.

The library's tests, its examples and its benchmark need captures that look
like the real ones (FLOWS.md's addresses, the enterprise topology's MACs)
without building a network.  Each function here returns a *scenario*: for
each capture point (``"xiaoming-eth0"``, ``"srv-eth0"``...), the packets
seen there, with their times, as scapy packets; ``save`` writes them as one
pcap per point (named after the caller's test, as STYLE.md asks) and
``load`` reads them back as :class:`~.captures.Capture` objects.

Scapy is imported only by this module, so the library itself does not pay
its start-up time.
"""

from __future__ import annotations

from pathlib import Path

from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import ICMP, IP, TCP, UDP, IPOption_RR
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.packet import Packet as ScapyPacket, Raw
from scapy.utils import PcapWriter

from .captures import Capture, read

BROADCAST = "ff:ff:ff:ff:ff:ff"
# The enterprise topology's MACs (topologies/enterprise.py).
XIAOMING_MAC = "02:00:0a:01:01:02"
XIAOMEI_MAC = "02:00:0a:01:01:03"
XIAOLI_MAC = "02:00:0a:01:02:02"
GW1_LAN_MAC, GW1_SRV_MAC = "02:00:0a:01:01:01", "02:00:0a:0a:0a:01"
GW2_LAN_MAC, GW2_SRV_MAC = "02:00:0a:01:02:01", "02:00:0a:0a:0a:02"
SRV_MAC = "02:00:0a:0a:0a:0a"
EDGE_LAN_MAC, EDGE_WAN_MAC, ISP_MAC = "02:00:0a:0a:0a:fe", "02:00:cb:00:71:02", "02:00:cb:00:71:01"
EDGE_PUBLIC = "203.0.113.2"
SERVER = "10.10.10.10"
WEB = "61.135.169.125"

Scenario = dict[str, list[ScapyPacket]]


def _at(packet: ScapyPacket, time: float) -> ScapyPacket:
    packet.time = time
    return packet


def _chaddr(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", "")) + b"\0" * 10


# ---------------------------------------------------------------- DHCP

def dora_relay(client_mac: str = XIAOMING_MAC, address: str = "10.1.1.2",
               gateway: str = "10.1.1.1", relay_upstream: str = "10.10.10.1",
               relay_lan_mac: str = GW1_LAN_MAC, relay_srv_mac: str = GW1_SRV_MAC,
               xid: int = 0x1A2B3C4D, client_point: str = "xiaoming-eth0",
               server_point: str = "srv-eth0", start: float = 1_700_000_000.0,
               lease: int = 3600) -> Scenario:
    """DISCOVER, OFFER, REQUEST, ACK through a relay (dora-relay): seen on the
    client's wire (broadcasts to and from the relay) and on the server's LAN
    (unicast between the relay's upstream address and 10.10.10.10, giaddr =
    the gateway), then the client's ARP probe for its new address."""
    chaddr = _chaddr(client_mac)
    asks = [1, 3, 6, 15, 51, 54, 58, 59]
    granted = [("server_id", SERVER), ("lease_time", lease), ("renewal_time", lease // 2),
               ("rebinding_time", lease * 7 // 8), ("subnet_mask", "255.255.255.0"),
               ("router", gateway), ("name_server", SERVER)]

    def client_msg(kind, options, t):
        return _at(Ether(src=client_mac, dst=BROADCAST)
                   / IP(src="0.0.0.0", dst="255.255.255.255", ttl=64, id=0)
                   / UDP(sport=68, dport=67)
                   / BOOTP(op=1, xid=xid, flags=0x8000, chaddr=chaddr)
                   / DHCP(options=[("message-type", kind), *options,
                                   ("param_req_list", asks), "end"]), t)

    def relayed(kind, options, t, ip_id):
        return _at(Ether(src=relay_srv_mac, dst=SRV_MAC)
                   / IP(src=relay_upstream, dst=SERVER, ttl=64, id=ip_id)
                   / UDP(sport=67, dport=67)
                   / BOOTP(op=1, hops=1, xid=xid, flags=0x8000, giaddr=gateway, chaddr=chaddr)
                   / DHCP(options=[("message-type", kind), *options,
                                   ("param_req_list", asks), "end"]), t)

    def answer(kind, t, ip_id):
        return _at(Ether(src=SRV_MAC, dst=relay_srv_mac)
                   / IP(src=SERVER, dst=gateway, ttl=64, id=ip_id)
                   / UDP(sport=67, dport=67)
                   / BOOTP(op=2, xid=xid, flags=0x8000, yiaddr=address, siaddr=SERVER,
                           giaddr=gateway, chaddr=chaddr)
                   / DHCP(options=[("message-type", kind), *granted, "end"]), t)

    def delivered(kind, t):
        return _at(Ether(src=relay_lan_mac, dst=BROADCAST)
                   / IP(src=gateway, dst="255.255.255.255", ttl=64, id=0)
                   / UDP(sport=67, dport=68)
                   / BOOTP(op=2, xid=xid, flags=0x8000, yiaddr=address, siaddr=SERVER,
                           giaddr=gateway, chaddr=chaddr)
                   / DHCP(options=[("message-type", kind), *granted, "end"]), t)

    request = [("requested_addr", address), ("server_id", SERVER), ("hostname", b"xiaoming")]
    t = start
    return {
        client_point: [
            client_msg("discover", [], t),
            delivered("offer", t + 0.0021),
            client_msg("request", request, t + 0.0100),
            delivered("ack", t + 0.0121),
            _at(Ether(src=client_mac, dst=BROADCAST)
                / ARP(op=1, hwsrc=client_mac, psrc="0.0.0.0", hwdst="00:00:00:00:00:00",
                      pdst=address), t + 0.0200),
        ],
        server_point: [
            relayed("discover", [], t + 0.0005, 0x1001),
            answer("offer", t + 0.0016, 0x2001),
            relayed("request", request, t + 0.0105, 0x1002),
            answer("ack", t + 0.0116, 0x2002),
        ],
    }


def relay_race(xid: int = 0x5EED0001, start: float = 1_700_000_100.0) -> Scenario:
    """The relay race (no VLANs): one DISCOVER from xiaoming, relayed by gw1 and
    gw2, answered twice: two OFFERs for one xid, from 10.1.1.0/24 and
    10.1.2.0/24, as seen on xiaoming's wire."""
    chaddr = _chaddr(XIAOMING_MAC)

    def offer(gateway, mac, address, t):
        return _at(Ether(src=mac, dst=BROADCAST)
                   / IP(src=gateway, dst="255.255.255.255", ttl=64, id=0)
                   / UDP(sport=67, dport=68)
                   / BOOTP(op=2, xid=xid, flags=0x8000, yiaddr=address, siaddr=SERVER,
                           giaddr=gateway, chaddr=chaddr)
                   / DHCP(options=[("message-type", "offer"), ("server_id", SERVER),
                                   ("lease_time", 3600), ("subnet_mask", "255.255.255.0"),
                                   ("router", gateway), "end"]), t)

    return {"xiaoming-eth0": [
        _at(Ether(src=XIAOMING_MAC, dst=BROADCAST)
            / IP(src="0.0.0.0", dst="255.255.255.255", id=0) / UDP(sport=68, dport=67)
            / BOOTP(op=1, xid=xid, flags=0x8000, chaddr=chaddr)
            / DHCP(options=[("message-type", "discover"), "end"]), start),
        offer("10.1.1.1", GW1_LAN_MAC, "10.1.1.2", start + 0.0020),
        offer("10.1.2.1", GW2_LAN_MAC, "10.1.2.100", start + 0.0023),
    ]}


# ---------------------------------------------------------------- ARP and ICMP

def arp_ping(a: tuple[str, str] = ("10.1.1.2", XIAOMING_MAC),
             b: tuple[str, str] = ("10.1.1.3", XIAOMEI_MAC), pings: int = 2,
             point: str = "xiaoming-eth0", start: float = 1_700_000_200.0) -> Scenario:
    """arp-same-subnet: A asks who has B (broadcast), B replies (unicast), then
    ``pings`` echo request/reply pairs; no ARP before the second ping."""
    (a_ip, a_mac), (b_ip, b_mac) = a, b
    packets = [
        _at(Ether(src=a_mac, dst=BROADCAST) / ARP(op=1, hwsrc=a_mac, psrc=a_ip, pdst=b_ip),
            start),
        _at(Ether(src=b_mac, dst=a_mac) / ARP(op=2, hwsrc=b_mac, psrc=b_ip, hwdst=a_mac,
                                              pdst=a_ip), start + 0.0002),
    ]
    for seq in range(1, pings + 1):
        t = start + 0.0003 + (seq - 1) * 1.0
        data = Raw(b"flowlab" * 8)
        packets.append(_at(Ether(src=a_mac, dst=b_mac)
                           / IP(src=a_ip, dst=b_ip, ttl=64, id=100 + seq)
                           / ICMP(type=8, id=0x77, seq=seq) / data, t))
        packets.append(_at(Ether(src=b_mac, dst=a_mac)
                           / IP(src=b_ip, dst=a_ip, ttl=64, id=200 + seq)
                           / ICMP(type=0, id=0x77, seq=seq) / data, t + 0.0001))
    return {point: packets}


def routed_ping(start: float = 1_700_000_300.0) -> Scenario:
    """cross-subnet: xiaoming (10.1.1.2) pings xiaoli (10.1.2.2) through gw1 and
    gw2.  On VLAN 10 the request goes from xiaoming's MAC to gw1's; on VLAN 20
    it arrives from gw2's MAC to xiaoli's, two routers later (TTL 64 -> 62)."""
    payload = Raw(b"cross-subnet" * 4)
    request = IP(src="10.1.1.2", dst="10.1.2.2", ttl=64, id=0x4242) / ICMP(type=8, id=9, seq=1) \
        / payload
    reply = IP(src="10.1.2.2", dst="10.1.1.2", ttl=64, id=0x5151) / ICMP(type=0, id=9, seq=1) \
        / payload

    def hop(ip_packet, ttl):
        copy = ip_packet.copy()
        copy.ttl = ttl
        del copy.chksum
        return copy

    return {
        "xiaoming-eth0": [
            _at(Ether(src=XIAOMING_MAC, dst=BROADCAST)
                / ARP(op=1, hwsrc=XIAOMING_MAC, psrc="10.1.1.2", pdst="10.1.1.1"), start),
            _at(Ether(src=GW1_LAN_MAC, dst=XIAOMING_MAC)
                / ARP(op=2, hwsrc=GW1_LAN_MAC, psrc="10.1.1.1", hwdst=XIAOMING_MAC,
                      pdst="10.1.1.2"), start + 0.0001),
            _at(Ether(src=XIAOMING_MAC, dst=GW1_LAN_MAC) / hop(request, 64), start + 0.0002),
            _at(Ether(src=GW1_LAN_MAC, dst=XIAOMING_MAC) / hop(reply, 62), start + 0.0011),
        ],
        "xiaoli-eth0": [
            _at(Ether(src=GW2_LAN_MAC, dst=XIAOLI_MAC) / hop(request, 62), start + 0.0005),
            _at(Ether(src=XIAOLI_MAC, dst=GW2_LAN_MAC) / hop(reply, 64), start + 0.0006),
        ],
    }


# ---------------------------------------------------------------- DNS

def dns_udp(client: str = "10.1.1.2", server: str = SERVER, qname: str = "www.baidu.com.",
            answer: str = WEB, ttl: int = 300, query_id: int = 1234, sport: int = 53001,
            point: str = "xiaoming-eth0", start: float = 1_700_000_400.0) -> Scenario:
    """dns-chain step 3, first hop: an A query to the resolver over UDP and its answer."""
    query = DNS(id=query_id, rd=1, qd=DNSQR(qname=qname, qtype="A"))
    response = DNS(id=query_id, qr=1, rd=1, ra=1, qd=DNSQR(qname=qname, qtype="A"),
                   an=DNSRR(rrname=qname, type="A", ttl=ttl, rdata=answer))
    return {point: [
        _at(Ether(src=XIAOMING_MAC, dst=GW1_LAN_MAC) / IP(src=client, dst=server, id=0x3001)
            / UDP(sport=sport, dport=53) / query, start),
        _at(Ether(src=GW1_LAN_MAC, dst=XIAOMING_MAC) / IP(src=server, dst=client, ttl=62, id=0x3002)
            / UDP(sport=53, dport=sport) / response, start + 0.0031),
    ]}


def dns_tcp(client: str = "10.1.1.2", server: str = SERVER, qname: str = "many.baidu.com.",
            answers: int = 3, ttl: int = 300, query_id: int = 4321, sport: int = 41000,
            point: str = "xiaoming-eth0", start: float = 1_700_000_500.0) -> Scenario:
    """A query retried over TCP (after a truncated UDP answer): handshake, the
    length-prefixed query and response, and the close."""
    query = bytes(DNS(id=query_id, rd=1, qd=DNSQR(qname=qname, qtype="A")))
    response = bytes(DNS(id=query_id, qr=1, rd=1, ra=1, qd=DNSQR(qname=qname, qtype="A"),
                         an=[DNSRR(rrname=qname, type="A", ttl=ttl, rdata=f"61.135.170.{i}")
                             for i in range(1, answers + 1)]))
    q = len(query).to_bytes(2, "big") + query
    r = len(response).to_bytes(2, "big") + response
    x, y = 1000, 5000
    c2s = dict(src=client, dst=server)
    s2c = dict(src=server, dst=client, ttl=62)
    segments = [
        (c2s, dict(sport=sport, dport=53, flags="S", seq=x), b""),
        (s2c, dict(sport=53, dport=sport, flags="SA", seq=y, ack=x + 1), b""),
        (c2s, dict(sport=sport, dport=53, flags="A", seq=x + 1, ack=y + 1), b""),
        (c2s, dict(sport=sport, dport=53, flags="PA", seq=x + 1, ack=y + 1), q),
        (s2c, dict(sport=53, dport=sport, flags="PA", seq=y + 1, ack=x + 1 + len(q)), r),
        (c2s, dict(sport=sport, dport=53, flags="FA", seq=x + 1 + len(q), ack=y + 1 + len(r)), b""),
        (s2c, dict(sport=53, dport=sport, flags="FA", seq=y + 1 + len(r), ack=x + 2 + len(q)), b""),
        (c2s, dict(sport=sport, dport=53, flags="A", seq=x + 2 + len(q), ack=y + 2 + len(r)), b""),
    ]
    packets = []
    for n, (addresses, fields, data) in enumerate(segments):
        mac = (XIAOMING_MAC, GW1_LAN_MAC) if addresses is c2s else (GW1_LAN_MAC, XIAOMING_MAC)
        packet = Ether(src=mac[0], dst=mac[1]) / IP(id=0x6000 + n, **addresses) \
            / TCP(window=64240, **fields)
        if data:
            packet = packet / Raw(data)
        packets.append(_at(packet, start + n * 0.001))
    return {point: packets}


# ---------------------------------------------------------------- TCP

REQUEST = (b"GET / HTTP/1.1\r\nHost: www.baidu.com\r\nUser-Agent: flowlab\r\n"
           b"Accept: */*\r\n\r\n")
RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 39\r\n\r\n"
            b"<html><body>www.baidu.com</body></html>")


def web11(client: str = "10.1.1.2", sport: int = 40000, server: str = WEB, dport: int = 80,
          isn: tuple[int, int] = (3_000_000_000, 123_456), request: bytes = REQUEST,
          response: bytes = RESPONSE, public: str = EDGE_PUBLIC, public_port: int | None = None,
          start: float = 1_700_000_600.0) -> Scenario:
    """web-11: the eleven segments of FLOWS.md, seen inside (xiaoming's wire,
    source 10.1.1.2) and outside the edge NAT (source = the edge's public
    address, same sequence numbers; two routers between the points)."""
    x, y = isn
    L, R = len(request), len(response)
    C, S = "client", "server"
    rows = [  # who, flags, seq, ack, payload
        (C, "S", x, 0, b""),
        (S, "SA", y, x + 1, b""),
        (C, "A", x + 1, y + 1, b""),
        (C, "PA", x + 1, y + 1, request),
        (S, "A", y + 1, x + 1 + L, b""),
        (S, "PA", y + 1, x + 1 + L, response),
        (C, "A", x + 1 + L, y + 1 + R, b""),
        (C, "FA", x + 1 + L, y + 1 + R, b""),
        (S, "A", y + 1 + R, x + 2 + L, b""),
        (S, "FA", y + 1 + R, x + 2 + L, b""),
        (C, "A", x + 2 + L, y + 2 + R, b""),
    ]
    outside_port = public_port if public_port is not None else sport
    inside, outside = [], []
    for n, (who, flags, seq, ack, data) in enumerate(rows):
        t = start + n * 0.01
        ip_id = (0x7000 if who == C else 0x9000) + n
        if who == C:
            inner = IP(src=client, dst=server, ttl=64, id=ip_id) / TCP(
                sport=sport, dport=dport, flags=flags, seq=seq & 0xFFFFFFFF, ack=ack & 0xFFFFFFFF,
                window=64240)
            outer = IP(src=public, dst=server, ttl=62, id=ip_id) / TCP(
                sport=outside_port, dport=dport, flags=flags, seq=seq & 0xFFFFFFFF,
                ack=ack & 0xFFFFFFFF, window=64240)
            macs_in, macs_out = (XIAOMING_MAC, GW1_LAN_MAC), (EDGE_WAN_MAC, ISP_MAC)
            t_in, t_out = t, t + 0.0004
        else:
            outer = IP(src=server, dst=public, ttl=61, id=ip_id) / TCP(
                sport=dport, dport=outside_port, flags=flags, seq=seq & 0xFFFFFFFF,
                ack=ack & 0xFFFFFFFF, window=65160)
            inner = IP(src=server, dst=client, ttl=59, id=ip_id) / TCP(
                sport=dport, dport=sport, flags=flags, seq=seq & 0xFFFFFFFF, ack=ack & 0xFFFFFFFF,
                window=65160)
            macs_in, macs_out = (GW1_LAN_MAC, XIAOMING_MAC), (ISP_MAC, EDGE_WAN_MAC)
            t_in, t_out = t + 0.0004, t
        if data:
            inner, outer = inner / Raw(data), outer / Raw(data)
        inside.append(_at(Ether(src=macs_in[0], dst=macs_in[1]) / inner, t_in))
        outside.append(_at(Ether(src=macs_out[0], dst=macs_out[1]) / outer, t_out))
    return {"xiaoming-eth0": inside, "edge-eth1": outside}


# ---------------------------------------------------------------- odd frames

def odd_frames(start: float = 1_700_000_900.0) -> Scenario:
    """Frames the flows do not make but real captures may hold: a DISCOVER
    tagged for VLAN 10 (as on a trunk), a DNS query in an IP packet with
    options, and a DNS message cut short in its question."""
    discover = dora_relay()["xiaoming-eth0"][0]
    tagged = Ether(src=XIAOMING_MAC, dst=BROADCAST) / Dot1Q(vlan=10) / discover["IP"]
    optioned = Ether() / IP(src="10.1.1.2", dst=SERVER, options=[IPOption_RR()]) \
        / UDP(sport=5000, dport=53) / DNS(id=5, qd=[])
    broken = Ether() / IP(src="10.1.1.2", dst=SERVER) / UDP(sport=5000, dport=53) \
        / Raw(bytes.fromhex("0006 0100 0001 0000 0000 0000 03777777 c0ff"))
    return {"trunk": [_at(p, start + i * 0.001) for i, p in
                      enumerate((tagged, optioned, broken))]}


# ---------------------------------------------------------------- files

def save(scenario: Scenario, directory: str | Path, name: str, *, nano: bool = False,
         endianness: str = "") -> dict[str, Path]:
    """Write one pcap per point, ``<directory>/<name>.<point>.pcap``; ``nano``
    for nanosecond timestamps, ``endianness`` ``">"`` for a big-endian file."""
    paths = {}
    for point, packets in scenario.items():
        path = Path(directory) / f"{name}.{point}.pcap"
        writer = PcapWriter(str(path), linktype=1, nano=nano, endianness=endianness, sync=True)
        for packet in packets:
            writer.write(packet)
        writer.close()
        paths[point] = path
    return paths


def load(scenario: Scenario, directory: str | Path, name: str, **options) -> dict[str, Capture]:
    """``save`` then read back: point -> Capture, labelled with the point."""
    return {point: read(path, point) for point, path in
            save(scenario, directory, name, **options).items()}
