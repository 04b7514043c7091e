"""DHCP (and plain BOOTP): the fixed header and the options, by name.

The options the documented flows talk about are declared once, in
``OPTIONS`` (code, field name, how the bytes read), the way scapy's
``DHCPOptions`` table does it; each becomes a field of the layer, so
``dhcp(server_id="10.10.10.10", lease_time=present)`` reads like the
texts' description of the REQUEST and the ACK.  Any other option is reached
raw: ``packet.dhcp.option(82)``, or ``dhcp(opt82=...)`` in a matcher.

Options are parsed once per packet, on first access, and cached on the
packet.  The message type, asked for by nearly every check, is read
straight from its usual place (the first option) without parsing the rest.
"""

from __future__ import annotations

import socket
from typing import Callable

from . import kinds
from .fields import (
    BOOL,
    BYTES,
    HEX4,
    HEX8,
    INT,
    IPV4,
    MAC,
    TEXT,
    Codec,
    Field,
    Layer,
    ListOf,
    Names,
    ipv4,
    named,
    u8,
    u16,
    u32,
)

MAGIC_COOKIE = b"\x63\x82\x53\x63"
OPTIONS_AT = 240
"""Offset of the first option: 236 bytes of BOOTP header, then the cookie."""

MESSAGE_TYPES = {1: "DISCOVER", 2: "OFFER", 3: "REQUEST", 4: "DECLINE", 5: "ACK", 6: "NAK",
                 7: "RELEASE", 8: "INFORM", 9: "FORCERENEW", 10: "LEASEQUERY"}
BOOTP_OPS = {1: "BOOTREQUEST", 2: "BOOTREPLY"}
MESSAGE_TYPE = Names(MESSAGE_TYPES)
BOOTP_OP = Names(BOOTP_OPS)


def _one_ip(raw: bytes) -> str | None:
    return socket.inet_ntoa(raw[:4]) if len(raw) >= 4 else None


def _ip_list(raw: bytes) -> list[str]:
    return [socket.inet_ntoa(raw[i:i + 4]) for i in range(0, len(raw) - 3, 4)]


def _uint(raw: bytes) -> int | None:
    return int.from_bytes(raw, "big") if raw else None


def _text(raw: bytes) -> str:
    return raw.rstrip(b"\0").decode("utf-8", "replace")


# code -> (field name, decoder of the option's bytes, codec, what it is)
OPTIONS: dict[int, tuple[str, Callable, Codec, str]] = {
    1: ("subnet_mask", _one_ip, IPV4, "subnet mask"),
    3: ("router", _ip_list, ListOf(IPV4), "routers, the default gateway first"),
    6: ("dns_servers", _ip_list, ListOf(IPV4), "DNS servers"),
    12: ("hostname", _text, TEXT, "host name"),
    15: ("domain_name", _text, TEXT, "domain name"),
    50: ("requested_ip", _one_ip, IPV4, "requested address (REQUEST, INIT-REBOOT)"),
    51: ("lease_time", _uint, INT, "lease time, seconds"),
    54: ("server_id", _one_ip, IPV4, "server identifier"),
    55: ("param_request_list", list, ListOf(INT), "option codes the client asks for"),
    56: ("message", _text, TEXT, "error message (NAK)"),
    57: ("max_size", _uint, INT, "maximum DHCP message size"),
    58: ("t1", _uint, INT, "renewal time T1, seconds"),
    59: ("t2", _uint, INT, "rebinding time T2, seconds"),
    61: ("client_id", bytes, BYTES, "client identifier"),
    82: ("relay_agent_info", bytes, BYTES, "relay agent information"),
}


def parse_options(buf, start: int, end: int) -> dict[int, bytes]:
    """The options from ``start`` to ``end`` as code -> bytes, in the order they
    come; an option given several times is concatenated (RFC 3396).  A
    truncated last option is kept as far as it goes."""
    options: dict[int, bytes] = {}
    at = start
    while at < end:
        code = buf[at]
        if code == 255:
            break
        if code == 0:
            at += 1
            continue
        if at + 1 >= end:
            break
        size = buf[at + 1]
        value = bytes(buf[at + 2:min(at + 2 + size, end)])
        options[code] = options[code] + value if code in options else value
        at += 2 + size
    return options


def _options(v) -> dict[int, bytes]:
    found = v.packet._cache          # a DHCP packet's decoded state: its options
    if found is None:
        if v.end - v.base >= OPTIONS_AT and v.buf[v.base + 236:v.base + 240] == MAGIC_COOKIE:
            found = parse_options(v.buf, v.base + OPTIONS_AT, v.end)
        else:
            found = {}
        v.packet._cache = found
    return found


def _message_type(v):
    buf, at = v.buf, v.base + OPTIONS_AT
    if at + 2 < v.end and buf[at] == 53 and buf[at + 1] == 1 \
            and buf[v.base + 236:at] == MAGIC_COOKIE:
        return MESSAGE_TYPE.name(buf[at + 2])
    raw = _options(v).get(53)
    return MESSAGE_TYPE.name(raw[0]) if raw else None


def _chaddr(v):
    size = min(v.buf[v.base + 2], 16)
    raw = v.buf[v.base + 28:v.base + 28 + size]
    return raw.hex(":")


def _cstring(offset: int, size: int) -> Callable:
    def read(v):
        raw = bytes(v.buf[v.base + offset:v.base + offset + size])
        return raw.split(b"\0", 1)[0].decode("latin-1")
    return read


def _option_reader(code: int, decode: Callable) -> Callable:
    def read(v):
        raw = _options(v).get(code)
        return None if raw is None else decode(raw)
    return read


def option_field(code: int) -> Field:
    """A field for option ``code`` as raw bytes (``dhcp(opt82=b"...")``)."""
    field = Field(f"opt{code}", _option_reader(code, bytes), BYTES, f"option {code}, raw", cost=1)
    field.layer = DHCP
    return field


class DHCP(Layer):
    """BOOTP/DHCP on UDP ports 67 and 68."""

    __slots__ = ()
    name = "dhcp"
    kind = kinds.DHCP
    fields_desc = (
        Field("op", named(u8(0), BOOTP_OP), BOOTP_OP,
              "BOOTREQUEST (client to server) or BOOTREPLY"),
        Field("htype", u8(1)),
        Field("hlen", u8(2)),
        Field("hops", u8(3)),
        Field("xid", u32(4), HEX8, "transaction id"),
        Field("secs", u16(8)),
        Field("flags", u16(10), HEX4),
        Field("broadcast", lambda v: bool(v.buf[v.base + 10] & 0x80), BOOL,
              "the client asks for broadcast replies"),
        Field("ciaddr", ipv4(12), IPV4, "client address (renewing, INFORM, RELEASE)"),
        Field("yiaddr", ipv4(16), IPV4, "'your' address: what the server gives"),
        Field("siaddr", ipv4(20), IPV4, "next server address"),
        Field("giaddr", ipv4(24), IPV4, "relay agent address"),
        Field("chaddr", _chaddr, MAC, "client hardware address"),
        Field("sname", _cstring(44, 64), TEXT),
        Field("file", _cstring(108, 128), TEXT),
        Field("type", _message_type, MESSAGE_TYPE,
              "message type (option 53): DISCOVER OFFER REQUEST DECLINE ACK NAK RELEASE INFORM"),
        Field("options", _options, Codec(), "every option: code -> raw bytes", cost=1),
        *(Field(name, _option_reader(code, decode), codec, f"option {code}: {doc}", cost=1)
          for code, (name, decode, codec, doc) in OPTIONS.items()),
    )

    @staticmethod
    def locate(packet):
        return packet._l7, packet._end

    def option(self, code: int) -> bytes | None:
        """Option ``code`` as raw bytes, or None when the message lacks it."""
        return _options(self).get(code)

