"""Arrow labels as the textbook writes them: DHCP type, xid, ports,
giaddr/yiaddr; TCP flags with relative seq/ack/len; DNS id, question and
answers; ARP who-has/is-at, RARP who-is/is-at; ICMP type, id and sequence."""

from __future__ import annotations

from ..packets import kinds as K
from ..packets.describe import summary
from ..packets.packet import Packet


def kind_of(packet: Packet) -> str:
    k = packet.kinds
    for bit, name in ((K.DHCP, "dhcp"), (K.DNS, "dns"), (K.TCP, "tcp"), (K.ARP, "arp"),
                      (K.ICMP, "icmp")):
        if k & bit:
            return name
    return "other"


def _ports(packet: Packet) -> str:
    layer = packet.udp or packet.tcp
    if layer is None:
        return f"{packet.ip.src} \u2192 {packet.ip.dst}"
    return f"{packet.ip.src}:{layer.sport} \u2192 {packet.ip.dst}:{layer.dport}"


def label_of(packet: Packet) -> str:
    """The arrow's label as the textbook writes it."""
    k = packet.kinds
    if k & K.DHCP:
        d = packet.dhcp
        parts = [f"DHCP {d.type or 'BOOTP'} xid 0x{d.xid:08x}", _ports(packet)]
        for name in ("giaddr", "yiaddr"):
            value = getattr(d, name)
            if value and value != "0.0.0.0":
                parts.append(f"{name} {value}")
        return " ".join(parts)
    if k & K.DNS:
        d = packet.dns
        text = f"DNS id {d.id} {d.qtype}? {d.qname}" if not d.qr else \
            f"DNS id {d.id} {d.qname} " + (", ".join(f"{r.type} {r.data}" for r in d.answers)
                                            or d.rcode)
        return text + " " + _ports(packet) if not k & K.TCP else \
            f"{_tcp(packet)} {text}"
    if k & K.TCP:
        return f"{_tcp(packet)} {_ports(packet)}"
    if k & K.ARP:
        a = packet.arp
        if a.op == "request":
            return f"ARP who-has {a.target_ip} tell {a.sender_ip}"
        if a.op == "reply":
            return f"ARP {a.sender_ip} is-at {a.sender_mac}"
        if a.op == "rarp-request":
            return f"RARP request who-is {a.target_mac} tell {a.sender_mac}"
        if a.op == "rarp-reply":
            return f"RARP reply {a.target_mac} is-at {a.target_ip}"
        return f"ARP {a.op} {a.sender_ip} > {a.target_ip}"
    if k & K.ICMP:
        text = summary(packet)
        return text.split(": ", 1)[1] + f" {packet.ip.src} \u2192 {packet.ip.dst}"
    return summary(packet)


def _tcp(packet: Packet) -> str:
    t = packet.tcp
    names = {"S": "SYN", "F": "FIN", "R": "RST", "P": "PSH", "A": "ACK", "U": "URG"}
    flags = ",".join(names[f] for f in "SFRPUA" if f in t.flags) or "none"
    seq = t.seq if t.seq is not None else t.seq_raw
    text = f"{flags} seq {seq}"
    if "A" in t.flags:
        text += f" ack {t.ack if t.ack is not None else t.ack_raw}"
    return text + f" len {t.len}"
