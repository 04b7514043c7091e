"""The kinds of layer a packet can carry, as bits of one integer.

A packet is classified once, on first use, by walking its headers (link
type, EtherType, IP protocol, ports) without decoding any field; the result
is an ``int`` whose bits say which layers are there.  Matchers test those
bits before they read a single field, which is what makes filtering a
million packets cheap: most packets are rejected by one ``&``.
"""

from __future__ import annotations

ETH = 1 << 0
ARP = 1 << 1
IP = 1 << 2
UDP = 1 << 3
TCP = 1 << 4
ICMP = 1 << 5
DHCP = 1 << 6
DNS = 1 << 7
VLAN = 1 << 8
FRAGMENT = 1 << 9
"""A non-first IPv4 fragment: it has an IP layer and nothing above it."""

NAMES: dict[int, str] = {
    ETH: "eth", VLAN: "vlan", ARP: "arp", IP: "ip", FRAGMENT: "fragment", UDP: "udp",
    TCP: "tcp", ICMP: "icmp", DHCP: "dhcp", DNS: "dns",
}


def names(kinds: int) -> list[str]:
    """``names(ETH | IP | UDP)`` -> ``["eth", "ip", "udp"]``, outermost first."""
    return [name for bit, name in NAMES.items() if kinds & bit]
