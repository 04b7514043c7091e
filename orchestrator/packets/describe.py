"""One line per packet, the way tcpdump prints it, for failures and reports.

``describe(packet)`` gives the relative time, the capture point and a
summary (the first line is cut here; it is one line)::

    0.000412 xiaoming-eth0  10.1.1.1.67 > 255.255.255.255.68: DHCP OFFER xid 0x1a2b3c4d
                            yiaddr 10.1.1.2 giaddr 10.1.1.1
    0.000977 xiaoming-eth0  ARP who-has 10.1.1.3 tell 10.1.1.2
    0.003001 xiaoming-eth0  10.1.1.2.40000 > 61.135.169.125.80: Flags [S.], seq 0, ack 1, len 0
    0.004100 srv-eth0       10.1.1.2.53001 > 10.10.10.10.53: DNS A? www.baidu.com. id 1234

TCP sequence numbers are relative (as in the texts' x+1, y+1); ``verbose``
adds the raw ones, the TTL and the IP id, and ``macs`` the Ethernet
addresses, which is what router and NAT checks need to show.
"""

from __future__ import annotations

from typing import Iterable

from . import kinds as K

_DHCP_FROM_CLIENT = {"DISCOVER", "REQUEST", "DECLINE", "RELEASE", "INFORM"}
MAX_ANSWERS_SHOWN = 3


def _dhcp(d) -> str:
    kind = d.type or "BOOTP " + (d.op or "")
    parts = [f"DHCP {kind}", f"xid 0x{d.xid:08x}"]
    for name in ("ciaddr", "yiaddr", "giaddr"):
        value = getattr(d, name)
        if value != "0.0.0.0":
            parts.append(f"{name} {value}")
    if d.type in _DHCP_FROM_CLIENT or d.type is None:
        parts.append(f"chaddr {d.chaddr}")
    if d.requested_ip:
        parts.append(f"requested {d.requested_ip}")
    if d.server_id:
        parts.append(f"server-id {d.server_id}")
    if d.broadcast:
        parts.append("[broadcast]")
    return " ".join(parts)


def _dhcp_verbose(d) -> str:
    parts = []
    if d.subnet_mask:
        parts.append(f"mask {d.subnet_mask}")
    if d.router:
        parts.append(f"router {','.join(d.router)}")
    if d.dns_servers:
        parts.append(f"dns {','.join(d.dns_servers)}")
    if d.lease_time is not None:
        parts.append(f"lease {d.lease_time}")
    return " ".join(parts)


def _dns(d) -> str:
    if not d.qr:
        question = f" {d.qtype}? {d.qname}" if d.qname else ""
        return f"DNS{question} id {d.id}"
    answers = d.answers
    parts = [f"DNS {d.id} {d.rcode}"]
    if d.tc:
        parts.append("TC")
    if answers:
        shown = [f"{r.type} {r.data} ttl {r.ttl}" for r in answers[:MAX_ANSWERS_SHOWN]]
        more = f" (+{len(answers) - MAX_ANSWERS_SHOWN} more)" if len(answers) > MAX_ANSWERS_SHOWN \
            else ""
        parts.append(", ".join(shown) + more)
    else:
        parts.append(f"{d.qtype}? {d.qname} no answer" if d.qname else "no answer")
        if d.nscount:
            parts.append(f"authority {d.nscount}")
        if d.arcount:
            parts.append(f"additional {d.arcount}")
    return " ".join(parts)


def _icmp(c) -> str:
    names = {0: "echo reply", 8: "echo request", 3: "unreachable", 11: "time exceeded",
             5: "redirect"}
    name = names.get(c.type, f"type {c.type}")
    if c.id is not None:
        return f"ICMP {name}, id {c.id}, seq {c.seq}"
    return f"ICMP {name}, code {c.code}" if c.code else f"ICMP {name}"


def _tcp(packet, t, verbose: bool) -> str:
    flags = t.flags
    parts = [f"Flags [{flags.tcpdump()}]", f"seq {_num(t.seq, t.seq_raw)}"]
    if "A" in flags:
        parts.append(f"ack {_num(t.ack, t.ack_raw)}")
    if verbose:
        parts.append(f"win {t.window}")
    parts.append(f"len {t.len}")
    text = ", ".join(parts)
    if verbose:
        text += f" (raw seq {t.seq_raw}" + (f", ack {t.ack_raw})" if "A" in flags else ")")
    return text


def _num(relative, raw) -> str:
    return str(raw if relative is None else relative)


def summary(packet, verbose: bool = False, macs: bool = False) -> str:
    """The packet without time and capture point: what tcpdump prints after them."""
    k = packet.kinds
    head = ""
    if macs and k & K.ETH:
        e = packet.eth
        vlan = f" vlan {e.vlan}" if e.vlan is not None else ""
        head = f"{e.src} > {e.dst}{vlan}, "
    if k & K.ARP:
        a = packet.arp
        if a.op == "request":
            text = f"ARP who-has {a.target_ip} tell {a.sender_ip}"
            if a.is_probe:
                text += " (probe)"
        elif a.op == "reply":
            text = f"ARP reply {a.sender_ip} is-at {a.sender_mac}"
        elif a.op == "rarp-request":
            text = f"RARP who-is {a.target_mac} tell {a.sender_mac}"
        elif a.op == "rarp-reply":
            text = f"RARP reply {a.target_mac} at {a.target_ip}"
        else:
            text = f"ARP {a.op} {a.sender_ip} > {a.target_ip}"
        return head + text
    if not k & K.IP:
        if k & K.ETH:
            e = packet.eth
            return head + f"{e.src} > {e.dst} ethertype 0x{e.type:04x}, len {packet.wirelen}"
        return head + f"link type {packet.linktype}, len {packet.wirelen}"
    i = packet.ip
    extra = f" [ttl {i.ttl}, id 0x{i.id:04x}]" if verbose else ""
    if k & (K.UDP | K.TCP):
        layer = packet.udp if k & K.UDP else packet.tcp
        where = f"{i.src}.{layer.sport} > {i.dst}.{layer.dport}:"
    else:
        where = f"{i.src} > {i.dst}:"
    if k & K.TCP:
        body = _tcp(packet, packet.tcp, verbose)
        if k & K.DNS:
            body += ": " + _dns(packet.dns)
    elif k & K.DHCP:
        body = _dhcp(packet.dhcp)
        if verbose:
            more = _dhcp_verbose(packet.dhcp)
            body += f" ({more})" if more else ""
    elif k & K.DNS:
        body = _dns(packet.dns)
    elif k & K.UDP:
        body = f"UDP, len {packet.udp.payload_len}"
    elif k & K.ICMP:
        body = _icmp(packet.icmp)
    elif k & K.FRAGMENT:
        body = f"fragment id 0x{i.id:04x} offset {i.frag_offset}, proto {i.proto}"
    else:
        body = f"ip-proto {i.proto}, len {i.len}"
    return f"{head}{where} {body}{extra}"


def describe(packet, t0: float | None = None, *, verbose: bool = False, macs: bool = False,
             point_width: int = 14) -> str:
    """``0.000412 xiaoming-eth0  10.1.1.1.67 > ...: DHCP OFFER ...``: time relative
    to ``t0`` (default: the start of the packet's capture), capture point,
    summary."""
    if t0 is None:
        t0 = packet.capture.start if packet.capture is not None and len(packet.capture) else 0.0
    return (f"{packet.time - t0:9.6f} {packet.point:<{point_width}} "
            f"{summary(packet, verbose=verbose, macs=macs)}")


def render(packets: Iterable, t0: float, *, limit: int | None = 40,
           notes: dict[int, str] | None = None, indent: str = "  ", **options) -> str:
    """Many packets, one line each; beyond ``limit``, the first and the last
    ones with a count of those left out.  ``notes`` maps ``id(packet)`` to a
    remark printed after its line (why it did not match)."""
    packets = list(packets)
    if not packets:
        return f"{indent}(no packets)"
    width = max(len(p.point) for p in packets)
    shown: list = packets
    skipped = 0
    if limit is not None and len(packets) > limit:
        tail = max(1, limit // 4)
        shown = packets[:limit - tail] + [None] + packets[-tail:]
        skipped = len(packets) - limit
    lines = []
    for packet in shown:
        if packet is None:
            lines.append(f"{indent}... {skipped} more packets ...")
            continue
        line = indent + describe(packet, t0, point_width=width, **options)
        note = notes.get(id(packet)) if notes else None
        if note:
            line += f"    <- {note}"
        lines.append(line)
    return "\n".join(lines)
