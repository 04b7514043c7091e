"""One TCP SYN crafted with scapy and sent from a raw IP socket in the node,
past the node's TCP stack: the old duplicate SYN of tcp-faults, of a
connection the sending kernel does not know, so that it resets the answer.

``python -m services.tools.crafted_syn --src A --dst B --sport N --dport N
--seq N`` sends the one SYN and exits 0 (scapy's error and a non-zero status
if it cannot); what became of it is for the check to judge, from its
captures.
"""

from __future__ import annotations

import argparse
import sys

from scapy.layers.inet import IP, TCP
from scapy.packet import Packet
from scapy.supersocket import L3RawSocket

from . import arguments


def syn(src: str, dst: str, sport: int, dport: int, seq: int) -> Packet:
    """The SYN, with everything else (window, options, TTL) scapy's default."""
    return IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags="S", seq=seq)


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(prog="python -m services.tools.crafted_syn",
                                      description="Send one crafted TCP SYN from a raw socket.")
    command.add_argument("--src", type=arguments.ipv4, required=True, help="source address")
    command.add_argument("--dst", type=arguments.ipv4, required=True,
                         help="destination address")
    command.add_argument("--sport", type=arguments.port, required=True, help="source port")
    command.add_argument("--dport", type=arguments.port, required=True,
                         help="destination port")
    command.add_argument("--seq", type=arguments.u32, required=True, help="sequence number")
    return command


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    raw = L3RawSocket()
    try:
        raw.send(syn(args.src, args.dst, args.sport, args.dport, args.seq))
    finally:
        raw.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
