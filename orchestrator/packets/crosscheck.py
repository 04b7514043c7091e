"""Does the library read captures the way tshark does?  A field-by-field comparison.

A hand-written decoder is only as good as its agreement with a reference.
``crosscheck(path)`` runs ``tshark -T fields`` on a capture for every field
of the library that Wireshark also has (the table ``FIELDS`` below: tshark's
name, how to get the same value from a :class:`~.packet.Packet`, how to
compare), reads the same file with the library, and reports every frame and
field where the two disagree.  It takes any pcap or pcapng path, so it runs
on the synthetic captures of the unit tests and on the real captures of a
lab run alike.

Rules of the comparison: a field tshark leaves empty is not compared (tshark
omits fields by context, e.g. the rcode of a query); a field tshark fills and
the library does not is a mismatch.  Values are compared as tshark means
them: codes as numbers (``dhcp.option.dhcp`` 2, not ``OFFER``), relative TCP
numbers as Wireshark computes them, a SYN's ``tcp.ack`` as 0, DNS names
without the trailing dot.
"""

from __future__ import annotations

import functools
import struct
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..processes.binaries import require
from .captures import read
from .describe import describe
from .dhcp import BOOTP_OP, MESSAGE_TYPE
from .dns import OPCODE, RCODE, TYPE
from .failure import ExpectationFailed
from .layers import ARP_OP
from .packet import Packet

_U16 = struct.Struct("!H").unpack_from


@dataclass(frozen=True)
class Compared:
    """One tshark field: its names (the first one this tshark knows is used),
    the library's value for a packet, and the kind of comparison."""

    names: tuple[str, ...]
    ours: Callable[[Packet], Any]
    kind: str = "int"          # int, text, name, bool, time, ints, texts


def _layer(name: str, attr: str, convert: Callable | None = None) -> Callable:
    def get(p: Packet):
        layer = getattr(p, name)
        if layer is None:
            return None
        value = getattr(layer, attr)
        return convert(value) if convert is not None and value is not None else value
    return get


def _tcp_ack(p: Packet):
    t = p.tcp
    if t is None:
        return None
    return 0 if t.ack is None else t.ack


def _resp(attr: str, convert=lambda v: v, opt: bool = False) -> Callable:
    """A field of every resource record, as tshark lists it: the EDNS OPT
    pseudo-record counts for its type and name (41, the root) but has no
    TTL there."""
    def get(p: Packet):
        d = p.dns
        if d is None:
            return None
        return [convert(getattr(r, attr)) for r in d.answers + d.authority + d.additional
                if opt or r.type != "OPT"]
    return get


def _raw_ethertype(p: Packet):
    return _U16(p._buf, p._off + 12)[0] if p.eth else None


FIELDS: list[Compared] = [
    Compared(("frame.time_epoch",), lambda p: p.tns, "time"),
    Compared(("frame.len",), lambda p: p.wirelen),
    Compared(("frame.cap_len",), lambda p: p.caplen),
    Compared(("eth.src",), _layer("eth", "src"), "text"),
    Compared(("eth.dst",), _layer("eth", "dst"), "text"),
    Compared(("eth.type",), _raw_ethertype),
    Compared(("arp.opcode",), _layer("arp", "op", ARP_OP.code)),
    Compared(("arp.src.hw_mac",), _layer("arp", "sender_mac"), "text"),
    Compared(("arp.src.proto_ipv4",), _layer("arp", "sender_ip"), "text"),
    Compared(("arp.dst.hw_mac",), _layer("arp", "target_mac"), "text"),
    Compared(("arp.dst.proto_ipv4",), _layer("arp", "target_ip"), "text"),
    Compared(("ip.src",), _layer("ip", "src"), "text"),
    Compared(("ip.dst",), _layer("ip", "dst"), "text"),
    Compared(("ip.ttl",), _layer("ip", "ttl")),
    Compared(("ip.id",), _layer("ip", "id")),
    Compared(("ip.proto",), _layer("ip", "proto")),
    Compared(("ip.len",), _layer("ip", "len")),
    Compared(("ip.hdr_len",), _layer("ip", "hdr_len")),
    Compared(("ip.dsfield",), _layer("ip", "dsfield")),
    Compared(("ip.flags.df",), _layer("ip", "df"), "bool"),
    Compared(("ip.flags.mf",), _layer("ip", "mf"), "bool"),
    Compared(("ip.frag_offset",), _layer("ip", "frag_offset")),
    Compared(("ip.checksum",), _layer("ip", "checksum")),
    Compared(("udp.srcport",), _layer("udp", "sport")),
    Compared(("udp.dstport",), _layer("udp", "dport")),
    Compared(("udp.length",), _layer("udp", "len")),
    Compared(("udp.checksum",), _layer("udp", "checksum")),
    Compared(("tcp.srcport",), _layer("tcp", "sport")),
    Compared(("tcp.dstport",), _layer("tcp", "dport")),
    Compared(("tcp.seq",), _layer("tcp", "seq")),
    Compared(("tcp.ack",), _tcp_ack),
    Compared(("tcp.seq_raw",), _layer("tcp", "seq_raw")),
    Compared(("tcp.ack_raw",), _layer("tcp", "ack_raw")),
    Compared(("tcp.len",), _layer("tcp", "len")),
    Compared(("tcp.hdr_len",), _layer("tcp", "hdr_len")),
    Compared(("tcp.flags",), _layer("tcp", "flags", lambda f: f.value)),
    Compared(("tcp.window_size_value",), _layer("tcp", "window")),
    Compared(("tcp.checksum",), _layer("tcp", "checksum")),
    Compared(("icmp.type",), _layer("icmp", "type")),
    Compared(("icmp.code",), _layer("icmp", "code")),
    Compared(("icmp.ident",), _layer("icmp", "id")),
    Compared(("icmp.seq",), _layer("icmp", "seq")),
    Compared(("dhcp.type", "bootp.type"), _layer("dhcp", "op", BOOTP_OP.code)),
    Compared(("dhcp.hw.type",), _layer("dhcp", "htype")),
    Compared(("dhcp.hw.len",), _layer("dhcp", "hlen")),
    Compared(("dhcp.hops",), _layer("dhcp", "hops")),
    Compared(("dhcp.id",), _layer("dhcp", "xid")),
    Compared(("dhcp.secs",), _layer("dhcp", "secs")),
    Compared(("dhcp.flags",), _layer("dhcp", "flags")),
    Compared(("dhcp.flags.bc",), _layer("dhcp", "broadcast"), "bool"),
    Compared(("dhcp.ip.client",), _layer("dhcp", "ciaddr"), "text"),
    Compared(("dhcp.ip.your",), _layer("dhcp", "yiaddr"), "text"),
    Compared(("dhcp.ip.server",), _layer("dhcp", "siaddr"), "text"),
    Compared(("dhcp.ip.relay",), _layer("dhcp", "giaddr"), "text"),
    Compared(("dhcp.hw.mac_addr",), _layer("dhcp", "chaddr"), "text"),
    Compared(("dhcp.option.dhcp", "dhcp.option.dhcp_message_type"),
             _layer("dhcp", "type", MESSAGE_TYPE.code)),
    Compared(("dhcp.option.requested_ip_address",), _layer("dhcp", "requested_ip"), "text"),
    Compared(("dhcp.option.dhcp_server_id",), _layer("dhcp", "server_id"), "text"),
    Compared(("dhcp.option.ip_address_lease_time",), _layer("dhcp", "lease_time")),
    Compared(("dhcp.option.renewal_time_value",), _layer("dhcp", "t1")),
    Compared(("dhcp.option.rebinding_time_value",), _layer("dhcp", "t2")),
    Compared(("dhcp.option.subnet_mask",), _layer("dhcp", "subnet_mask"), "text"),
    Compared(("dhcp.option.router",), _layer("dhcp", "router"), "texts"),
    Compared(("dhcp.option.domain_name_server",), _layer("dhcp", "dns_servers"), "texts"),
    Compared(("dhcp.option.hostname",), _layer("dhcp", "hostname"), "text"),
    Compared(("dhcp.option.request_list_item",), _layer("dhcp", "param_request_list"), "ints"),
    Compared(("dns.id",), _layer("dns", "id")),
    Compared(("dns.flags.response",), _layer("dns", "qr"), "bool"),
    Compared(("dns.flags.opcode",), _layer("dns", "opcode", OPCODE.code)),
    Compared(("dns.flags.authoritative",), _layer("dns", "aa"), "bool"),
    Compared(("dns.flags.truncated",), _layer("dns", "tc"), "bool"),
    Compared(("dns.flags.recdesired",), _layer("dns", "rd"), "bool"),
    Compared(("dns.flags.recavail",), _layer("dns", "ra"), "bool"),
    Compared(("dns.flags.rcode",), _layer("dns", "rcode", RCODE.code)),
    Compared(("dns.count.queries",), _layer("dns", "qdcount")),
    Compared(("dns.count.answers",), _layer("dns", "ancount")),
    Compared(("dns.count.auth_rr",), _layer("dns", "nscount")),
    Compared(("dns.count.add_rr",), _layer("dns", "arcount")),
    Compared(("dns.qry.name",), _layer("dns", "qname"), "name"),
    Compared(("dns.qry.type",), _layer("dns", "qtype", TYPE.code)),
    Compared(("dns.a",), _layer("dns", "a"), "texts"),
    Compared(("dns.resp.ttl",), _resp("ttl"), "ints"),
    Compared(("dns.resp.type",), _resp("type", TYPE.code, opt=True), "ints"),
    Compared(("dns.resp.name",), _resp("name", opt=True), "names"),
]


@functools.lru_cache(maxsize=4)
def _known_fields(tshark: str) -> frozenset[str]:
    listing = subprocess.run([tshark, "-G", "fields"], capture_output=True, text=True,
                             check=True).stdout
    return frozenset(line.split("\t")[2] for line in listing.splitlines()
                     if line.startswith("F\t") and line.count("\t") >= 2)


def _parse_time(text: str) -> int:
    seconds, _, fraction = text.partition(".")
    return int(seconds) * 1_000_000_000 + int((fraction + "000000000")[:9])


def _bool(text: str) -> bool:
    return text.strip().lower() in ("1", "true")


def _name(text: str) -> str:
    """A domain name to compare: tshark writes the root as "<Root>"."""
    return "" if text.lower() == "<root>" else text.lower().rstrip(".")


def _theirs(kind: str, text: str):
    if kind == "time":
        return _parse_time(text)
    if kind == "int":
        return int(text.split(",")[0], 0)
    if kind == "bool":
        return _bool(text.split(",")[0])
    if kind == "text":
        return text.split(",")[0]
    if kind == "name":
        return _name(text.split(",")[0])
    if kind == "ints":
        return [int(x, 0) for x in text.split(",")]
    if kind == "texts":
        return text.split(",")
    if kind == "names":
        return [_name(x) for x in text.split(",")]
    raise ValueError(kind)


def _ours(kind: str, value):
    if value is None:
        return None
    if kind == "name":
        return _name(value)
    if kind == "names":
        return [_name(v) for v in value]
    if kind == "bool":
        return bool(value)
    if kind in ("ints", "texts"):
        return list(value)
    return value


@dataclass
class Mismatch:
    number: int                # Wireshark's frame number
    field: str
    ours: Any
    tshark: Any
    packet: Packet | None

    def __str__(self) -> str:
        shown = describe(self.packet) if self.packet is not None else "(no such packet)"
        return f"frame {self.number} {self.field}: library {self.ours!r}, tshark " \
               f"{self.tshark!r}\n    {shown}"


@dataclass
class Report:
    """The outcome of one comparison."""

    path: Path
    packets: int
    compared: Counter = field(default_factory=Counter)    # tshark field -> values compared
    mismatches: list[Mismatch] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)  # fields this tshark lacks

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def __str__(self) -> str:
        head = (f"{self.path}: {self.packets} packets, {sum(self.compared.values())} values in "
                f"{len(self.compared)} fields compared with tshark, "
                f"{len(self.mismatches)} mismatches")
        lines = [head, *(str(m) for m in self.mismatches[:20])]
        if len(self.mismatches) > 20:
            lines.append(f"... {len(self.mismatches) - 20} more")
        return "\n".join(lines)

    def assert_ok(self) -> "Report":
        if self.mismatches:
            raise ExpectationFailed(f"the library and tshark disagree on {self.path}",
                                    str(self), [m.packet for m in self.mismatches if m.packet])
        return self


def crosscheck(path: str | Path, fields: list[Compared] | None = None,
               tshark: str | None = None) -> Report:
    """Compare the library's reading of ``path`` with tshark's, field by field."""
    path = Path(path)
    tshark = tshark or require("tshark")
    known = _known_fields(tshark)
    chosen: list[tuple[str, Compared]] = []
    report = Report(path, 0)
    for compared in fields or FIELDS:
        name = next((n for n in compared.names if n in known), None)
        if name is None:
            report.unavailable.append(compared.names[0])
        else:
            chosen.append((name, compared))
    argv = [tshark, "-n", "-r", str(path), "-T", "fields", "-E", "header=n",
            "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,", "-E", "quote=n",
            "-o", "tcp.relative_sequence_numbers:TRUE", "-e", "frame.number"]
    for name, _ in chosen:
        argv += ["-e", name]
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"tshark failed on {path}: {result.stderr.strip()}")
    packets = read(path)
    report.packets = len(packets)
    for line in result.stdout.splitlines():
        cells = line.split("\t")
        number = int(cells[0])
        packet = packets[number - 1] if number <= len(packets) else None
        for (name, compared), text in zip(chosen, cells[1:], strict=False):
            if not text:
                continue
            theirs = _theirs(compared.kind, text)
            ours = _ours(compared.kind, compared.ours(packet)) if packet is not None else None
            report.compared[name] += 1
            if ours != theirs:
                report.mismatches.append(Mismatch(number, name, ours, theirs, packet))
    return report
