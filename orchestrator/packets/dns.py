"""DNS over UDP and over TCP: header bits by name, the question, the records.

The header (id, flags, counts) is read in place.  The rest of the message
(question, answer, authority and additional records, with name compression)
is parsed once, on the first access to any of it, and cached on the packet:
a check that only looks at ``qr`` or ``id`` never pays for it.

Over TCP a message is preceded by its 2-byte length (RFC 1035 4.2.2); a
segment is taken as DNS when it starts with such a prefix and holds the
whole message.  Messages split over several segments are not reassembled.
"""

from __future__ import annotations

import socket
import struct
from typing import NamedTuple

from . import kinds
from .fields import BOOL, INT, IPV4, NAME, Codec, Field, Layer, ListOf, Names, bit, u16

TYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA",
         33: "SRV", 35: "NAPTR", 41: "OPT", 43: "DS", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY",
         64: "SVCB", 65: "HTTPS", 251: "IXFR", 252: "AXFR", 255: "ANY"}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
          6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE"}
OPCODES = {0: "QUERY", 1: "IQUERY", 2: "STATUS", 4: "NOTIFY", 5: "UPDATE"}

TYPE = Names(TYPES)
RCODE = Names(RCODES, unknown=lambda code: f"RCODE{code}")
OPCODE = Names(OPCODES, unknown=lambda code: f"OPCODE{code}")

_RR = struct.Struct("!HHIH")
_U16 = struct.Struct("!H").unpack_from


class Record(NamedTuple):
    """One resource record: ``Record("www.baidu.com.", "A", 300, "61.135.169.125")``."""

    name: str
    type: str
    ttl: int
    data: str

    def __str__(self) -> str:
        return f"{self.name} {self.ttl} {self.type} {self.data}"


class Malformed(ValueError):
    """The message ends, or points, where it must not."""


class Message(NamedTuple):
    """The parsed body of a DNS message."""

    questions: list[tuple[str, str, int]]
    answers: list[Record]
    authority: list[Record]
    additional: list[Record]
    malformed: bool


def read_name(buf, at: int, start: int, end: int) -> tuple[str, int]:
    """The (possibly compressed) name at ``at``; returns it with a trailing dot
    and the offset just after it.  Pointers are relative to ``start``."""
    labels = []
    after = None
    for _ in range(128):
        if at >= end:
            raise Malformed("name runs past the end")
        size = buf[at]
        if size == 0:
            at += 1
            break
        if size >= 0xC0:
            if at + 1 >= end:
                raise Malformed("truncated pointer")
            if after is None:
                after = at + 2
            at = start + (((size & 0x3F) << 8) | buf[at + 1])
            continue
        at += 1 + size
        if at > end:
            raise Malformed("label runs past the end")
        labels.append(buf[at - size:at])
    else:
        raise Malformed("compression loop")
    name = b".".join(labels).decode("ascii", "backslashreplace") + "." if labels else "."
    return name, (after if after is not None else at)


def _rdata(buf, kind: int, at: int, size: int, start: int, end: int) -> str:
    stop = at + size
    if kind == 1 and size == 4:
        return socket.inet_ntoa(bytes(buf[at:stop]))
    if kind == 28 and size == 16:
        return socket.inet_ntop(socket.AF_INET6, bytes(buf[at:stop]))
    if kind in (2, 5, 12):
        return read_name(buf, at, start, end)[0]
    if kind == 15:
        return f"{_U16(buf, at)[0]} {read_name(buf, at + 2, start, end)[0]}"
    if kind == 6:
        mname, at = read_name(buf, at, start, end)
        rname, at = read_name(buf, at, start, end)
        numbers = struct.unpack_from("!IIIII", buf, at)
        return " ".join([mname, rname, *map(str, numbers)])
    if kind == 16:
        texts, at = [], at
        while at < stop:
            length = buf[at]
            texts.append(bytes(buf[at + 1:at + 1 + length]).decode("utf-8", "replace"))
            at += 1 + length
        return " ".join(f'"{t}"' for t in texts)
    return bytes(buf[at:stop]).hex()


def parse(buf, start: int, end: int) -> Message:
    """Parse the message between ``start`` and ``end``; what can be read before
    a malformation is kept and ``malformed`` is set."""
    questions: list = []
    sections: list[list[Record]] = [[], [], []]
    malformed = False
    try:
        if end - start < 12:
            raise Malformed("shorter than a header")
        qd, an, ns, ar = struct.unpack_from("!HHHH", buf, start + 4)
        at = start + 12
        for _ in range(qd):
            name, at = read_name(buf, at, start, end)
            if at + 4 > end:
                raise Malformed("truncated question")
            kind, klass = struct.unpack_from("!HH", buf, at)
            at += 4
            questions.append((name, TYPE.name(kind), klass))
        for section, count in zip(sections, (an, ns, ar), strict=True):
            for _ in range(count):
                name, at = read_name(buf, at, start, end)
                if at + 10 > end:
                    raise Malformed("truncated record")
                kind, klass, ttl, size = _RR.unpack_from(buf, at)
                at += 10
                if at + size > end:
                    raise Malformed("record data runs past the end")
                if kind == 41:
                    data = f"udp {klass} flags 0x{ttl:08x}"
                    ttl = 0
                else:
                    data = _rdata(buf, kind, at, size, start, end)
                section.append(Record(name, TYPE.name(kind), ttl, data))
                at += size
    except (Malformed, struct.error, IndexError):
        malformed = True
    return Message(questions, sections[0], sections[1], sections[2], malformed)


def _message(v) -> Message:
    """The parsed message, cached on the packet (replacing the question alone)."""
    found = v.packet._cache
    if not isinstance(found, Message):
        found = v.packet._cache = parse(v.buf, v.base, v.end)
    return found


def question(buf, start: int, end: int) -> tuple[str, str, int] | None:
    """The first question alone (name, type, class), without parsing the rest
    of the message: what most checks ask about."""
    try:
        if end - start < 12 or not _U16(buf, start + 4)[0]:
            return None
        name, at = read_name(buf, start + 12, start, end)
        if at + 4 > end:
            return None
        kind, klass = struct.unpack_from("!HH", buf, at)
        return name, TYPE.name(kind), klass
    except (Malformed, IndexError):
        return None


_NO_QUESTION = ("", "", 0)


def _question(index: int):
    def read(v):
        found = v.packet._cache       # None, the first question, or the whole Message
        if found is None:
            found = v.packet._cache = question(v.buf, v.base, v.end) or _NO_QUESTION
        if isinstance(found, Message):
            found = found.questions[0] if found.questions else _NO_QUESTION
        return found[index] if found is not _NO_QUESTION else None
    return read


def _a(v):
    return [r.data for r in _message(v).answers if r.type == "A"]


class DNS(Layer):
    """A DNS message, over UDP or TCP port 53."""

    __slots__ = ()
    name = "dns"
    kind = kinds.DNS
    fields_desc = (
        Field("id", u16(0)),
        Field("qr", bit(2, 0x8000, 2), BOOL, "True in responses"),
        Field("opcode", lambda v: OPCODE.name((_U16(v.buf, v.base + 2)[0] >> 11) & 0xF), OPCODE),
        Field("aa", bit(2, 0x0400, 2), BOOL, "authoritative answer"),
        Field("tc", bit(2, 0x0200, 2), BOOL, "truncated"),
        Field("rd", bit(2, 0x0100, 2), BOOL, "recursion desired"),
        Field("ra", bit(2, 0x0080, 2), BOOL, "recursion available"),
        Field("ad", bit(2, 0x0020, 2), BOOL, "authentic data"),
        Field("cd", bit(2, 0x0010, 2), BOOL, "checking disabled"),
        Field("rcode", lambda v: RCODE.name(_U16(v.buf, v.base + 2)[0] & 0xF), RCODE,
              "NOERROR, NXDOMAIN, SERVFAIL, REFUSED..."),
        Field("qdcount", u16(4)),
        Field("ancount", u16(6)),
        Field("nscount", u16(8)),
        Field("arcount", u16(10)),
        Field("qname", _question(0), NAME, "the first question's name, with a trailing dot",
              cost=1),
        Field("qtype", _question(1), TYPE, "the first question's type: A, AAAA, NS...", cost=1),
        Field("qclass", _question(2), INT, cost=1),
        Field("answers", lambda v: _message(v).answers, Codec(),
              "answer records: (name, type, ttl, data)", cost=1),
        Field("authority", lambda v: _message(v).authority, Codec(), cost=1),
        Field("additional", lambda v: _message(v).additional, Codec(), cost=1),
        Field("a", _a, ListOf(IPV4), "addresses of the A records among the answers", cost=1),
        Field("malformed", lambda v: _message(v).malformed, BOOL, cost=1),
        Field("transport", lambda v: "tcp" if v.packet.kinds & kinds.TCP else "udp", Codec(),
              "'udp' or 'tcp'"),
    )

    @staticmethod
    def locate(packet):
        if packet.kinds & kinds.TCP:
            start = packet._l7 + 2
            return start, min(packet._end, start + _U16(packet._buf, packet._l7)[0])
        return packet._l7, packet._end
