"""A RARP client: "who am I?" broadcast in an Ethernet frame, as a diskless
machine of RFC 903 asks it.  Debian ships no RARP client, so the request is
crafted with scapy and sent from a packet socket inside the node.

``python -m services.tools.rarp_client IFACE WAIT MAC [MAC ...]`` sends, from
IFACE, one request per MAC (opcode 3, EtherType 0x8035, from that MAC to
the broadcast address, sender and target hardware address both that MAC:
the machine asks for itself), then listens for replies (opcode 4) until
each MAC has one or WAIT seconds have passed.  It prints one JSON line per
MAC (``{"mac", "answered", "address", "server_mac", "server_ip"}``) and
exits 0 either way: whether the server should have answered is for the
check to judge, from its captures.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
from dataclasses import asdict, dataclass

from . import arguments

ETH_P_RARP = 0x8035
RARP_REQUEST, RARP_REPLY = 3, 4
BROADCAST = "ff:ff:ff:ff:ff:ff"


@dataclass
class Answer:
    mac: str
    answered: bool = False
    address: str = ""
    server_mac: str = ""
    server_ip: str = ""


def request(mac: str) -> bytes:
    """The frame a machine with ``mac`` broadcasts to learn its address."""
    from scapy.layers.l2 import ARP, Ether
    return bytes(Ether(src=mac, dst=BROADCAST, type=ETH_P_RARP)
                 / ARP(op=RARP_REQUEST, hwsrc=mac, psrc="0.0.0.0", hwdst=mac, pdst="0.0.0.0"))


def parse_reply(frame: bytes) -> Answer | None:
    """A RARP reply's target MAC and the address it was given; None for
    anything else."""
    from scapy.layers.l2 import ARP, Ether
    ether = Ether(frame)
    if ether.type != ETH_P_RARP:
        return None
    reply = ARP(bytes(ether.payload))
    if reply.op != RARP_REPLY:
        return None
    return Answer(reply.hwdst, True, reply.pdst, reply.hwsrc, reply.psrc)


def ask(iface: str, wait: float, macs: list[str]) -> list[Answer]:
    answers = {mac.lower(): Answer(mac.lower()) for mac in macs}
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_RARP)) as sock:
        sock.bind((iface, ETH_P_RARP))
        for mac in answers:
            sock.send(request(mac))
        deadline = time.monotonic() + wait
        while not all(a.answered for a in answers.values()):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            sock.settimeout(left)
            try:
                frame = sock.recv(2048)
            except socket.timeout:
                break
            got = parse_reply(frame)
            if got is not None and got.mac in answers:
                answers[got.mac] = got
    return list(answers.values())


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(prog="python -m services.tools.rarp_client",
                                      description="Broadcast RFC 903 RARP requests and print the "
                                                  "replies, one JSON line per MAC.")
    command.add_argument("iface", help="the interface to ask from")
    command.add_argument("wait", type=arguments.seconds, help="seconds to listen for replies")
    command.add_argument("macs", nargs="+", type=arguments.mac, metavar="MAC",
                         help="a MAC to ask the address of")
    return command


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    for answer in ask(args.iface, args.wait, args.macs):
        print(json.dumps(asdict(answer)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
