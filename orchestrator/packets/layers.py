"""The layers below the applications: frame, Ethernet, ARP, IPv4, UDP, TCP, ICMP.

Each layer is declared as data (see :mod:`.fields`): the field names follow
Wireshark's where it has one (``ip.ttl``, ``tcp.len`` is the payload length,
``tcp.seq`` is *relative* and ``tcp.seq_raw`` the number on the wire), so that
users who know Wireshark guess them right and the cross-check against
tshark (:mod:`.crosscheck`) is a table, not a translation.
"""

from __future__ import annotations

import struct

from . import kinds
from .fields import (
    BOOL,
    BYTES,
    HEX2,
    HEX4,
    INT,
    IPV4,
    MAC,
    NUMBER,
    TEXT,
    Codec,
    Field,
    Layer,
    ListOf,
    Names,
    ipv4,
    mac,
    named,
    u8,
    u16,
    u32,
)

_U16 = struct.Struct("!H").unpack_from
_U32 = struct.Struct("!I").unpack_from


# ---------------------------------------------------------------- TCP flags

class Flags(frozenset):
    """TCP flags as a set of letters that prints and compares like scapy's:
    ``str(flags) == "SA"``, ``flags == "SA"``, ``flags == "AS"``, ``"P" in
    flags``.  tcpdump's spelling is understood too (``"S."`` is SYN-ACK, ``"."``
    is a bare ACK), and so are names (``"SYN,ACK"``)."""

    ORDER = "FSRPAUEC"
    value: int
    """The flags as the byte on the wire (0x12 for SYN-ACK)."""
    BITS = {letter: 1 << i for i, letter in enumerate(ORDER)}
    WORDS = {"FIN": "F", "SYN": "S", "RST": "R", "PSH": "P", "ACK": "A", "URG": "U",
             "ECE": "E", "CWR": "C"}
    _cache: dict[int, "Flags"] = {}

    @classmethod
    def from_int(cls, bits: int) -> "Flags":
        found = cls._cache.get(bits)
        if found is None:
            found = cls(letter for letter, value in cls.BITS.items() if bits & value)
            found.value = bits & 0xFF
            cls._cache[bits] = found
        return found

    @classmethod
    def parse(cls, spec) -> "Flags":
        if isinstance(spec, Flags):
            return spec
        if isinstance(spec, int) and not isinstance(spec, bool):
            return cls.from_int(spec)
        if not isinstance(spec, str):
            return cls.parse("".join(spec))
        text = spec.strip().upper()
        bits = 0
        if any(word in text for word in cls.WORDS):
            for word in text.replace("+", ",").replace("|", ",").replace(" ", ",").split(","):
                if word:
                    if word not in cls.WORDS:
                        raise ValueError(f"unknown TCP flag {word!r} in {spec!r}")
                    bits |= cls.BITS[cls.WORDS[word]]
            return cls.from_int(bits)
        for letter in text:
            if letter == ".":
                bits |= cls.BITS["A"]
            elif letter in cls.BITS:
                bits |= cls.BITS[letter]
            elif letter not in " []":
                raise ValueError(f"unknown TCP flag {letter!r} in {spec!r} "
                                 f"(letters {cls.ORDER}, or tcpdump's '.' for ACK)")
        return cls.from_int(bits)

    def __str__(self) -> str:
        return "".join(letter for letter in self.ORDER if letter in self)

    def tcpdump(self) -> str:
        """tcpdump's form: ``S.`` for SYN-ACK, ``.`` for ACK, ``P.``, ``F.``, ``R``."""
        text = "".join(letter for letter in "FSRPUEC" if letter in self)
        return text + ("." if "A" in self else "")

    def __repr__(self) -> str:
        return f"Flags({str(self)!r})"

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = Flags.parse(other)
            except ValueError:
                return False
        return frozenset.__eq__(self, other)

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = frozenset.__hash__


class FlagsCodec(Codec):
    def normalize(self, expected):
        return Flags.parse(expected)


FLAGS = FlagsCodec()


# ---------------------------------------------------------------- frame

class Frame(Layer):
    """What the capture says about a packet: when, where, which one."""

    __slots__ = ()
    name = "frame"
    kind = 0
    fields_desc = (
        Field("time", lambda v: v.packet.time, NUMBER, "seconds since the epoch (float)"),
        Field("point", lambda v: v.packet.point, TEXT,
              "label of the capture point, e.g. 'xiaoming-eth0'"),
        Field("index", lambda v: v.packet.index, INT, "position in its capture file, from 0"),
        Field("number", lambda v: v.packet.index + 1, INT, "Wireshark's frame number"),
        Field("file", lambda v: v.packet.file, TEXT, "the capture file it was read from"),
        Field("len", lambda v: v.packet.wirelen, INT, "length on the wire"),
        Field("caplen", lambda v: v.packet.caplen, INT, "length captured"),
        Field("layers", lambda v: v.packet.layers, ListOf(TEXT), "names of its layers"),
    )

    @staticmethod
    def locate(packet):
        return 0, 0


# ---------------------------------------------------------------- Ethernet

ETHERTYPES = {0x0800: "ipv4", 0x0806: "arp", 0x8035: "rarp", 0x86DD: "ipv6", 0x8100: "vlan",
              0x88A8: "qinq", 0x88CC: "lldp"}


def _ethertype(v):
    """The EtherType after any VLAN tags."""
    buf, at = v.buf, v.base + 12
    kind = _U16(buf, at)[0]
    while (kind == 0x8100 or kind == 0x88A8) and at + 6 <= v.end:
        at += 4
        kind = _U16(buf, at)[0]
    return kind


def _vlan(v):
    kind = _U16(v.buf, v.base + 12)[0]
    if kind == 0x8100 or kind == 0x88A8:
        return _U16(v.buf, v.base + 14)[0] & 0x0FFF
    return None


class Ethernet(Layer):
    __slots__ = ()
    name = "eth"
    kind = kinds.ETH
    fields_desc = (
        Field("dst", mac(0), MAC),
        Field("src", mac(6), MAC),
        Field("type", _ethertype, Names(ETHERTYPES, value="code"),
              "EtherType of the payload (after VLAN tags): 0x0800 IPv4, 0x0806 ARP"),
        Field("vlan", _vlan, INT, "VLAN id of the outer 802.1Q tag, None when untagged"),
    )

    @staticmethod
    def locate(packet):
        return packet._off, packet._off + packet.caplen


# ---------------------------------------------------------------- ARP

ARP_OPS = {1: "request", 2: "reply", 3: "rarp-request", 4: "rarp-reply"}
ARP_OP = Names(ARP_OPS, unknown=lambda code: f"op{code}")


class ARP(Layer):
    __slots__ = ()
    name = "arp"
    kind = kinds.ARP
    fields_desc = (
        Field("htype", u16(0)),
        Field("ptype", u16(2), HEX4),
        Field("hlen", u8(4)),
        Field("plen", u8(5)),
        Field("op", named(u16(6), ARP_OP), ARP_OP, "'request' or 'reply'"),
        Field("sender_mac", mac(8), MAC),
        Field("sender_ip", ipv4(14), IPV4),
        Field("target_mac", mac(18), MAC),
        Field("target_ip", ipv4(24), IPV4),
        Field("is_probe", lambda v: v.buf[v.base + 7] == 1 and
              v.buf[v.base + 14:v.base + 18] == b"\0\0\0\0", BOOL,
              "a request from 0.0.0.0: a host checking that an address is free (RFC 5227)"),
        Field("is_gratuitous", lambda v: v.buf[v.base + 14:v.base + 18] ==
              v.buf[v.base + 24:v.base + 28], BOOL, "sender and target address are the same"),
    )

    @staticmethod
    def locate(packet):
        return packet._l3, packet._off + packet.caplen


# ---------------------------------------------------------------- IPv4

IP_PROTOCOLS = {1: "icmp", 2: "igmp", 6: "tcp", 17: "udp", 47: "gre", 50: "esp", 89: "ospf",
                132: "sctp"}


class IPv4(Layer):
    __slots__ = ()
    name = "ip"
    kind = kinds.IP
    fields_desc = (
        Field("version", u8(0, shift=4, mask=0xF)),
        Field("hdr_len", lambda v: (v.buf[v.base] & 0x0F) * 4, INT, "header length in bytes"),
        Field("dsfield", u8(1), HEX2),
        Field("len", u16(2), INT, "total length, header included"),
        Field("id", u16(4), HEX4),
        Field("df", lambda v: bool(v.buf[v.base + 6] & 0x40), BOOL, "don't fragment"),
        Field("mf", lambda v: bool(v.buf[v.base + 6] & 0x20), BOOL, "more fragments"),
        Field("frag_offset", lambda v: (_U16(v.buf, v.base + 6)[0] & 0x1FFF) * 8, INT,
              "fragment offset in bytes"),
        Field("ttl", u8(8)),
        Field("proto", u8(9), Names(IP_PROTOCOLS, value="code"), "1 icmp, 6 tcp, 17 udp"),
        Field("checksum", u16(10), HEX4),
        Field("src", ipv4(12), IPV4),
        Field("dst", ipv4(16), IPV4),
        Field("host", lambda v: [IPv4.src.read(v), IPv4.dst.read(v)], ListOf(IPV4),
              "both addresses: ip(host='10.1.1.2') matches either direction"),
    )

    @staticmethod
    def locate(packet):
        return packet._l3, packet._end


# ---------------------------------------------------------------- UDP

def _ports(v):
    return list(struct.unpack_from("!HH", v.buf, v.base))


class UDP(Layer):
    __slots__ = ()
    name = "udp"
    kind = kinds.UDP
    fields_desc = (
        Field("sport", u16(0)),
        Field("dport", u16(2)),
        Field("port", _ports, ListOf(INT), "both ports: udp(port=53) matches either direction"),
        Field("len", u16(4), INT, "the length field: header and payload"),
        Field("checksum", u16(6), HEX4),
        Field("payload_len", lambda v: v.end - v.base - 8, INT, "payload bytes captured"),
        Field("payload", lambda v: bytes(v.buf[v.base + 8:v.end]), BYTES, cost=1),
    )

    @staticmethod
    def locate(packet):
        return packet._l4, packet._end


# ---------------------------------------------------------------- TCP

_FLAGS = Flags.from_int


def _flags(v):
    return _FLAGS(v.buf[v.base + 13])


def _hdr_len(v):
    return (v.buf[v.base + 12] >> 4) * 4


def _rel_seq(v):
    packet = v.packet
    isn = packet.capture.tcp_isn(packet, reverse=False)
    return None if isn is None else (_U32(v.buf, v.base + 4)[0] - isn) & 0xFFFFFFFF


def _rel_ack(v):
    if not v.buf[v.base + 13] & 0x10:
        return None
    packet = v.packet
    isn = packet.capture.tcp_isn(packet, reverse=True)
    return None if isn is None else (_U32(v.buf, v.base + 8)[0] - isn) & 0xFFFFFFFF


class TCP(Layer):
    __slots__ = ()
    name = "tcp"
    kind = kinds.TCP
    fields_desc = (
        Field("sport", u16(0)),
        Field("dport", u16(2)),
        Field("port", _ports, ListOf(INT), "both ports: tcp(port=80) matches either direction"),
        Field("seq", _rel_seq, INT, "sequence number relative to this side's ISN (the seq of "
              "its SYN; see tcpseq for captures without it)", cost=1),
        Field("ack", _rel_ack, INT, "acknowledgement number relative to the other side's ISN; "
              "None when the ACK flag is clear", cost=1),
        Field("seq_raw", u32(4), INT, "sequence number on the wire"),
        Field("ack_raw", u32(8), INT, "acknowledgement number on the wire"),
        Field("hdr_len", _hdr_len, INT, "header length in bytes"),
        Field("flags", _flags, FLAGS, "e.g. 'S', 'SA', 'A', 'PA', 'FA', 'R'"),
        Field("window", u16(14), INT, "window field as sent (not scaled)"),
        Field("checksum", u16(16), HEX4),
        Field("urgent", u16(18)),
        Field("len", lambda v: max(0, v.end - v.base - _hdr_len(v)), INT, "payload length"),
        Field("payload", lambda v: bytes(v.buf[v.base + _hdr_len(v):v.end]), BYTES, cost=1),
    )

    @staticmethod
    def locate(packet):
        return packet._l4, packet._end


# ---------------------------------------------------------------- transport ports

_TRANSPORT = kinds.UDP | kinds.TCP


def _transport_port(offset: int):
    def read(v):
        return _U16(v.buf, v.base + offset)[0] if v.packet._kinds & _TRANSPORT else None
    return read


def _transport_ports(v):
    return _ports(v) if v.packet._kinds & _TRANSPORT else None


class Transport(Layer):
    """The ports of UDP or TCP, whichever the packet has: what ``sport=``,
    ``dport=`` and ``port=`` mean in ``dns(...)`` (DNS runs over both) and in
    ``pkt(...)``.  Reads None for packets with neither."""

    __slots__ = ()
    name = "l4"
    kind = 0
    fields_desc = (
        Field("sport", _transport_port(0)),
        Field("dport", _transport_port(2)),
        Field("port", _transport_ports, ListOf(INT), "both ports"),
    )

    @staticmethod
    def locate(packet):
        if packet.kinds & _TRANSPORT:
            return packet._l4, packet._end
        return 0, 0


# ---------------------------------------------------------------- ICMP

ICMP_TYPES = {0: "echo-reply", 3: "unreachable", 4: "source-quench", 5: "redirect",
              8: "echo-request", 11: "time-exceeded", 12: "parameter-problem",
              13: "timestamp", 14: "timestamp-reply"}
_ICMP_WITH_ID = frozenset((0, 8, 13, 14, 15, 16, 17, 18))


def _icmp_id(v):
    return _U16(v.buf, v.base + 4)[0] if v.buf[v.base] in _ICMP_WITH_ID else None


def _icmp_seq(v):
    return _U16(v.buf, v.base + 6)[0] if v.buf[v.base] in _ICMP_WITH_ID else None


class ICMP(Layer):
    __slots__ = ()
    name = "icmp"
    kind = kinds.ICMP
    fields_desc = (
        Field("type", u8(0), Names(ICMP_TYPES, value="code"), "8 echo request, 0 echo reply"),
        Field("code", u8(1)),
        Field("checksum", u16(2), HEX4),
        Field("id", _icmp_id, INT, "identifier of echo and timestamp messages, else None"),
        Field("seq", _icmp_seq, INT, "sequence number of echo and timestamp messages, else None"),
        Field("payload", lambda v: bytes(v.buf[v.base + 8:v.end]), BYTES, cost=1),
    )

    @staticmethod
    def locate(packet):
        return packet._l4, packet._end
