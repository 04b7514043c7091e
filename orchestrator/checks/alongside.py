"""After checks ran at once: did any capture catch another check's packets?

The schedule lets two checks overlap only when their footprints say their
captures cannot hear each other (:mod:`.footprint`).  This is the proof
from the packets: a packet in a check's capture is the other check's when
one of its ends (Ethernet source or destination, IP source or destination,
ARP sender or target, DHCP chaddr) is an address of a node only the other
check works on.  Any such packet makes the capture ambiguous, and the check
fails saying whose packets it caught; broadcast and unspecified addresses
are nobody's.
"""

from __future__ import annotations

from typing import Iterable, Mapping

from ..packets import ExpectationFailed, Packet, Packets
from ..packets.failure import listing

SHOWN = 5          # foreign packets listed in a failure
NOBODY = {"ff:ff:ff:ff:ff:ff", "00:00:00:00:00:00", "0.0.0.0", "255.255.255.255"}


def ends(packet: Packet) -> set[str]:
    """The addresses a packet names as its ends, lower case."""
    found = set()
    if packet.eth is not None:
        found |= {packet.eth.src, packet.eth.dst}
    if packet.arp is not None:
        found |= {packet.arp.sender_ip, packet.arp.target_ip, packet.arp.sender_mac}
    if packet.ip is not None:
        found |= {packet.ip.src, packet.ip.dst}
    if packet.dhcp is not None:
        found.add(packet.dhcp.chaddr)
    return {str(a).lower() for a in found if a} - NOBODY


def caught(packets: Iterable[Packet], others: Mapping[str, set[str]]) -> dict[str, list[Packet]]:
    """Per other check (name -> the addresses of the nodes only it works
    on), the packets that are its."""
    found: dict[str, list[Packet]] = {}
    for packet in packets:
        named = ends(packet)
        for other, addresses in others.items():
            if named & addresses:
                found.setdefault(other, []).append(packet)
    return found


def judge_alongside(packets: Packets, others: Mapping[str, set[str]]) -> None:
    """Raise when the capture holds packets of a check that ran alongside."""
    found = caught(packets, others)
    if not found:
        return
    whose = "; ".join(f"{len(p)} of {name}" for name, p in sorted(found.items()))
    foreign = sorted({id(p): p for group in found.values() for p in group}.values(),
                     key=lambda p: p.time)[:SHOWN]
    raise ExpectationFailed(
        f"the capture is ambiguous: it holds packets of checks that ran at the same time "
        f"({whose})",
        listing("the first of them:", foreign, foreign[0].time), foreign)
