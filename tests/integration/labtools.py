"""Small helpers the integration tests share: traffic and what the packets say."""

from __future__ import annotations

from pathlib import Path

from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import ARP, Ether
from scapy.utils import rdpcap

from orchestrator.capture import Capture
from orchestrator.lab import Lab


def ping(lab: Lab, source: str, target: str, count: int = 1) -> bool:
    return lab.run_in(source, ["ping", "-c", str(count), "-W", "2", target]).returncode == 0


def packets(path: Path):
    return list(rdpcap(str(path)))


def arp_requests(path: Path, sender_mac: str, target_ip: str) -> list:
    return [p for p in packets(path)
            if ARP in p and p[ARP].op == 1 and p[Ether].src == sender_mac
            and p[ARP].pdst == target_ip]


def icmp_echo_sources(path: Path, destination: str) -> set[str]:
    return {p[IP].src for p in packets(path)
            if IP in p and ICMP in p and p[ICMP].type == 8 and p[IP].dst == destination}


def captured_while(lab: Lab, points: list[tuple[str, str]], bpf: str, action) -> dict:
    """Capture on every (node, interface) while ``action()`` runs; returns
    {(node, interface): pcap path}."""
    captures = [Capture(lab, node, iface, bpf).start() for node, iface in points]
    try:
        action()
    finally:
        paths = {(c.node, c.interface): c.stop() for c in captures}
    return paths


def broadcast_from_xiaoming(lab):
    """xiaoming ARPs for an address nobody has: the request is a broadcast.
    (arping, not ping: which subnet xiaoming is on must not matter.)"""
    points = [("xiaomei", "xiaomei-eth0"), ("xiaoli", "xiaoli-eth0"), ("gw2", "gw2-eth0")]
    arping = ["arping", "-c", "1", "-w", "1", "-I", "xiaoming-eth0", "10.1.1.99"]
    pcaps = captured_while(lab, points, "arp", lambda: lab.run_in("xiaoming", arping))
    mac = lab.node("xiaoming").intf("xiaoming-eth0").mac
    return {node: len(arp_requests(path, mac, "10.1.1.99")) for (node, _i), path in pcaps.items()}
