"""A DHCPINFORM from a host whose address was configured by hand: it asks
only for its configuration parameters (RFC 2131 section 3.4), no lease.

``python -m services.tools.dhcp_inform IFACE ADDRESS MAC XID`` builds the
INFORM with scapy (ciaddr ADDRESS, chaddr MAC, xid XID in hex, asking for
mask, router, DNS servers and domain name) and has the node's kernel send it
from a UDP socket bound to ADDRESS, port 68, to the broadcast address; the
ACK is read from a packet socket opened before, so that it cannot slip by.
It tries TRIES times, WAIT seconds each, then prints one JSON line (the
ACK's ``yiaddr`` and ``options``) and exits 0, or says there was no answer
and exits 1.  The check judges from its captures either way.

The BROADCAST flag is set because, through a relay, the ACK to a flagless
INFORM has nowhere to go: dhcrelay unicasts replies to yiaddr, which an
INFORM's ACK leaves 0.0.0.0 (seen with dnsmasq, which answers giaddr).
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
from typing import Any

from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.l2 import Ether

from . import arguments

ETH_P_IP = 0x0800
CLIENT_PORT, SERVER_PORT = 68, 67
BROADCAST_IP = "255.255.255.255"
BROADCAST_FLAG = 0x8000
PARAMETERS = [1, 3, 6, 15]           # subnet mask, router, DNS servers, domain name
TRIES, WAIT = 2, 2.0


def inform(address: str, mac: str, xid: int) -> bytes:
    """The BOOTP payload of the INFORM (the kernel adds UDP and IP)."""
    return bytes(BOOTP(op=1, xid=xid, flags=BROADCAST_FLAG, ciaddr=address,
                       chaddr=bytes.fromhex(mac.replace(":", "")))
                 / DHCP(options=[("message-type", "inform"), ("param_req_list", PARAMETERS),
                                 "end"]))


def answer(frame: bytes, xid: int) -> dict[str, Any] | None:
    """The reply to our INFORM in an Ethernet frame, as the JSON line says
    it (yiaddr, and every option as text); None for any other frame."""
    reply = Ether(frame)
    if BOOTP not in reply or DHCP not in reply:
        return None
    if reply[BOOTP].op != 2 or reply[BOOTP].xid != xid:
        return None
    options = {o[0]: str(o[1]) for o in reply[DHCP].options if isinstance(o, tuple)}
    return {"yiaddr": reply[BOOTP].yiaddr, "options": options}


def ask(iface: str, address: str, mac: str, xid: int, tries: int = TRIES,
        wait: float = WAIT) -> dict[str, Any] | None:
    """Send the INFORM up to ``tries`` times and return the first answer."""
    payload = inform(address, mac, xid)
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP)) as listen, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as send:
        listen.bind((iface, 0))
        send.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        send.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        send.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
        send.bind((address, CLIENT_PORT))
        for _ in range(tries):
            send.sendto(payload, (BROADCAST_IP, SERVER_PORT))
            deadline = time.monotonic() + wait
            while (left := deadline - time.monotonic()) > 0:
                listen.settimeout(left)
                try:
                    frame = listen.recv(65535)
                except socket.timeout:
                    break
                got = answer(frame, xid)
                if got is not None:
                    return got
    return None


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(prog="python -m services.tools.dhcp_inform",
                                      description="Send a DHCPINFORM from a hand-configured "
                                                  "address and print the ACK as one JSON line.")
    command.add_argument("iface", help="the interface the address is configured on")
    command.add_argument("address", type=arguments.ipv4, help="the hand-configured address")
    command.add_argument("mac", type=arguments.mac, help="the interface's MAC (chaddr)")
    command.add_argument("xid", type=arguments.hex32, help="the transaction id, in hex")
    return command


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    got = ask(args.iface, args.address, args.mac, args.xid)
    if got is None:
        print("no answer to the DHCPINFORM", file=sys.stderr)
        return 1
    print(json.dumps(got))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
