"""Small helpers the integration tests share: traffic and what the packets say."""

from __future__ import annotations

from pathlib import Path

from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import ARP, Ether
from scapy.utils import rdpcap

from orchestrator.capture.recording import Recording
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
    """Capture on every (node, interface) while ``action()`` runs, through
    the project's own pipeline (readiness, drain, kernel drops: a capture
    that lost packets is refused); returns {(node, interface): pcap path}."""
    directory = lab.run.subdir("captures")
    with Recording(lab, points, bpf, directory) as captured:
        action()
    assert not captured.dropped, f"the kernel dropped packets at {captured.incomplete()}"
    return {(node, iface): directory / f"{node}-{iface}.pcap" for node, iface in points}


def broadcast_from_xiaoming(lab):
    """xiaoming ARPs for an address nobody has: the request is a broadcast.
    (arping, not ping: which subnet xiaoming is on must not matter.)"""
    points = [("xiaomei", "xiaomei-eth0"), ("xiaoli", "xiaoli-eth0"), ("gw2", "gw2-eth0")]
    arping = ["arping", "-c", "1", "-w", "1", "-I", "xiaoming-eth0", "10.1.1.99"]
    pcaps = captured_while(lab, points, "arp", lambda: lab.run_in("xiaoming", arping))
    mac = lab.mac("xiaoming", "xiaoming-eth0")
    return {node: len(arp_requests(path, mac, "10.1.1.99")) for (node, _i), path in pcaps.items()}


def dig(lab: Lab, node: str, server: str, name: str, qtype: str = "A", port: int = 53,
        tcp: bool = False) -> dict:
    """Ask ``server`` from inside ``node`` with dig (a real client) and read
    its answer: status, flags, and the answer and authority records."""
    argv = ["dig", f"@{server}", "-p", str(port), name, qtype, "+tries=1", "+time=5",
            "+noall", "+comments", "+answer", "+authority"]
    if tcp:
        argv.append("+tcp")
    out = lab.run_in(node, argv).stdout
    reply = {"status": None, "flags": set(), "answer": [], "authority": []}
    section = None
    for line in out.splitlines():
        if "status:" in line:
            reply["status"] = line.split("status:")[1].split(",")[0].strip()
        elif line.startswith(";; flags:"):
            reply["flags"] = set(line.split(";")[2].replace("flags:", "").split())
        elif line.startswith(";; ANSWER SECTION"):
            section = "answer"
        elif line.startswith(";; AUTHORITY SECTION"):
            section = "authority"
        elif line and not line.startswith(";") and section:
            owner, ttl, _cls, rtype, *data = line.split()
            reply[section].append((owner.lower(), rtype, int(ttl), " ".join(data).lower()))
    return reply


def records(reply: dict, section: str = "answer") -> set[tuple[str, str, str]]:
    """Records without their TTLs, for comparing two resolvers."""
    return {(owner, rtype, data) for owner, rtype, _ttl, data in reply[section]}


DHCP_TYPES = {1: "DISCOVER", 2: "OFFER", 3: "REQUEST", 4: "DECLINE", 5: "ACK", 6: "NAK",
              7: "RELEASE", 8: "INFORM"}


def dhcp_messages(path: Path) -> list[dict]:
    """The DHCP messages of a capture, unpacked into the fields checks use."""
    from scapy.layers.dhcp import BOOTP, DHCP
    from scapy.layers.inet import UDP
    found = []
    for p in packets(path):
        if DHCP not in p:
            continue
        options = {o[0]: o[1:] if len(o) > 2 else o[1]
                   for o in p[DHCP].options if isinstance(o, tuple)}
        bootp = p[BOOTP]
        found.append({
            "type": DHCP_TYPES.get(options.get("message-type")), "time": float(p.time),
            "src": p[IP].src, "dst": p[IP].dst, "sport": p[UDP].sport, "dport": p[UDP].dport,
            "eth_src": p[Ether].src, "eth_dst": p[Ether].dst,
            "xid": bootp.xid, "ciaddr": bootp.ciaddr, "yiaddr": bootp.yiaddr,
            "giaddr": bootp.giaddr, "chaddr": ":".join(f"{b:02x}" for b in bootp.chaddr[:6]),
            "options": options,
        })
    return found
