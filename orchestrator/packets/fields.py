"""Declarative packet fields: a layer is a list of named fields.

As in scapy's ``fields_desc``, each layer class declares its fields as data:
a name, where its bytes are (a reader such as ``u16(4)``: the big-endian
16-bit word at offset 4 of the layer), and what kind of value it holds (a
codec: integer, IPv4 address, MAC address, a code with names...).  The same
declaration serves three purposes, so they can never disagree:

* reading: ``packet.ip.ttl`` runs the reader on the capture's bytes, at the
  moment it is asked for and not before (fields are descriptors);
* expecting: ``ip(ttl=63)`` finds the field by name, and its codec turns the
  expected value into the form the reader returns (``"offer"`` ->
  ``"OFFER"``, ``"0A-11-..."`` -> ``"0a:11:..."``), or refuses it at once
  with a message instead of silently never matching;
* showing: failure messages print values the way the codec says (a DHCP xid
  as ``0x1a2b3c4d``, not as a decimal number nobody recognises).

Readers are small closures over an offset; a layer view (``Layer``) is just
(bytes, offset of the layer, end of the layer) and holds no decoded state, so
creating one costs next to nothing.  Decoded state that is expensive to
build (DHCP options, DNS records) is cached on the packet by the layer that
owns it.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import struct
from typing import Any, Callable

_U16 = struct.Struct("!H").unpack_from
_U32 = struct.Struct("!I").unpack_from


# ---------------------------------------------------------------- readers

def u8(offset: int, shift: int = 0, mask: int = 0xFF) -> Callable:
    """The byte at ``offset`` of the layer (optionally a bit field of it)."""
    if shift == 0 and mask == 0xFF:
        return lambda v: v.buf[v.base + offset]
    return lambda v: (v.buf[v.base + offset] >> shift) & mask


def u16(offset: int, shift: int = 0, mask: int = 0xFFFF) -> Callable:
    """The big-endian 16-bit word at ``offset`` (optionally a bit field of it)."""
    if shift == 0 and mask == 0xFFFF:
        return lambda v: _U16(v.buf, v.base + offset)[0]
    return lambda v: (_U16(v.buf, v.base + offset)[0] >> shift) & mask


def u32(offset: int) -> Callable:
    """The big-endian 32-bit word at ``offset``."""
    return lambda v: _U32(v.buf, v.base + offset)[0]


def bit(offset: int, value: int, width: int = 1) -> Callable:
    """True when the bit(s) ``value`` of the ``width``-byte word at ``offset`` are set."""
    if width == 1:
        return lambda v: bool(v.buf[v.base + offset] & value)
    return lambda v: bool(_U16(v.buf, v.base + offset)[0] & value)


def ipv4(offset: int) -> Callable:
    """The IPv4 address at ``offset``, dotted."""
    ntoa = socket.inet_ntoa

    def read(v):
        start = v.base + offset
        return ntoa(v.buf[start:start + 4])
    return read


def mac(offset: int) -> Callable:
    """The MAC address at ``offset``, lower case with colons."""
    def read(v):
        start = v.base + offset
        return v.buf[start:start + 6].hex(":")
    return read


def named(read: Callable, codec: "Names") -> Callable:
    """A numeric reader whose value is shown by name (``1`` -> ``"request"``)."""
    name = codec.name
    return lambda v: name(read(v))


# ---------------------------------------------------------------- codecs

class Codec:
    """What kind of value a field holds: how an expected value is checked and
    turned into the form the reader returns (``normalize``), how two values
    are compared (``canon``), and how a value is printed (``show``)."""

    def normalize(self, expected: Any) -> Any:
        return expected

    def canon(self, value: Any) -> Any:
        return value

    def show(self, value: Any) -> str:
        return "-" if value is None else str(value)


class Int(Codec):
    def normalize(self, expected):
        if isinstance(expected, bool) or not isinstance(expected, int):
            try:
                return int(str(expected), 0)
            except ValueError:
                raise ValueError(f"expected an integer, got {expected!r}") from None
        return expected


class Number(Codec):
    """An integer or a float (times)."""

    def normalize(self, expected):
        if isinstance(expected, bool) or not isinstance(expected, (int, float)):
            raise ValueError(f"expected a number, got {expected!r}")
        return expected


class Hex(Int):
    """An integer shown in hexadecimal (transaction ids, flag words)."""

    def __init__(self, digits: int = 4):
        self.digits = digits

    def show(self, value):
        return "-" if value is None else f"0x{value:0{self.digits}x}"


class Bool(Codec):
    def normalize(self, expected):
        if isinstance(expected, (bool, int)):
            return bool(expected)
        raise ValueError(f"expected True or False, got {expected!r}")


class Text(Codec):
    def normalize(self, expected):
        if not isinstance(expected, str):
            raise ValueError(f"expected a string, got {expected!r}")
        return expected


class Bytes(Codec):
    def normalize(self, expected):
        if isinstance(expected, str):
            return bytes.fromhex(expected.replace(":", ""))
        return bytes(expected)

    def show(self, value):
        return "-" if value is None else value.hex()


class IPv4(Codec):
    def normalize(self, expected):
        try:
            return str(ipaddress.IPv4Address(str(expected)))
        except ValueError:
            hint = " (for a subnet use within('...'))" if "/" in str(expected) else ""
            raise ValueError(f"not an IPv4 address: {expected!r}{hint}") from None


_MAC = re.compile(r"^[0-9a-f]{2}([:-]?[0-9a-f]{2}){5}$")


class Mac(Codec):
    def normalize(self, expected):
        text = str(expected).lower()
        if not _MAC.match(text):
            raise ValueError(f"not a MAC address: {expected!r}")
        digits = text.replace(":", "").replace("-", "")
        return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


class DomainName(Codec):
    """DNS names compare without regard to case and always end with a dot."""

    def normalize(self, expected):
        if not isinstance(expected, str):
            raise ValueError(f"expected a domain name, got {expected!r}")
        return self.canon(expected)

    def canon(self, value):
        if value is None:
            return None
        value = value.lower()
        return value if value.endswith(".") else value + "."


class Names(Codec):
    """A numeric code known by name (DHCP message types, DNS record types,
    ARP operations...).  With ``value="name"`` the field reads as the name
    (``"OFFER"``) and an expected code (``2``) is turned into the name; with
    ``value="code"`` the field reads as the number (ICMP type 8) and an
    expected name (``"echo-request"``) is turned into it.  Names compare
    without regard to case; an unknown name is refused at once."""

    def __init__(self, table: dict[int, str], value: str = "name",
                 unknown: Callable[[int], str] = lambda code: f"TYPE{code}"):
        self.table = table
        self.by_name = {name.lower(): code for code, name in table.items()}
        self.value = value
        self.unknown = unknown

    def name(self, code: int | None) -> str | None:
        if code is None:
            return None
        found = self.table.get(code)
        return found if found is not None else self.unknown(code)

    def code(self, name: str) -> int:
        code = self.by_name.get(name.lower())
        if code is None:
            match = re.fullmatch(r"[A-Za-z-]*?(\d+)\)?", name)
            if match is None:
                known = ", ".join(sorted(self.table.values()))
                raise ValueError(f"unknown name {name!r} (known: {known})")
            code = int(match.group(1))
        return code

    def normalize(self, expected):
        if isinstance(expected, bool):
            raise ValueError(f"expected a name or a code, got {expected!r}")
        if isinstance(expected, int):
            return self.name(expected) if self.value == "name" else expected
        if isinstance(expected, str):
            code = self.code(expected)
            return self.name(code) if self.value == "name" else code
        raise ValueError(f"expected a name or a code, got {expected!r}")

    def show(self, value):
        if value is None:
            return "-"
        if self.value == "code":
            name = self.table.get(value)
            return f"{value} ({name})" if name else str(value)
        return str(value)


class ListOf(Codec):
    """A field whose value is a list (DNS answers' addresses, DHCP routers).
    An expected list compares with the whole list; an expected single value
    matches when any element equals it."""

    def __init__(self, element: Codec):
        self.element = element

    def normalize(self, expected):
        if isinstance(expected, (list, tuple)):
            return [self.element.normalize(e) for e in expected]
        return self.element.normalize(expected)

    def canon(self, value):
        if value is None or not isinstance(value, (list, tuple)):
            return self.element.canon(value)
        return [self.element.canon(e) for e in value]

    def show(self, value):
        if value is None:
            return "-"
        if isinstance(value, (list, tuple)):
            return "[" + ", ".join(self.element.show(e) for e in value) + "]"
        return self.element.show(value)


INT, NUMBER, HEX2, HEX4, HEX8 = Int(), Number(), Hex(2), Hex(4), Hex(8)
BOOL, TEXT, BYTES, IPV4, MAC, NAME = Bool(), Text(), Bytes(), IPv4(), Mac(), DomainName()


# ---------------------------------------------------------------- fields and layers

class Field:
    """One named field of a layer: ``Field("ttl", u8(8))``.

    ``read`` takes the layer view and returns the value; ``codec`` says what
    the value is (see :class:`Codec`).  ``cost`` orders the tests of a
    matcher: fixed-offset reads (0) run before fields that need parsing (1),
    so that most packets are rejected before any parsing happens.
    """

    def __init__(self, name: str, read: Callable, codec: Codec = INT, doc: str = "",
                 cost: int = 0):
        self.name = name
        self.read = read
        self.codec = codec
        self.doc = doc
        self.cost = cost
        self.layer: type[Layer] | None = None

    @property
    def qualified(self) -> str:
        """``ip.ttl``: the layer's name and the field's, as in Wireshark."""
        return f"{self.layer.name}.{self.name}" if self.layer else self.name

    def __get__(self, view, owner=None):
        if view is None:
            return self
        return self.read(view)

    def __repr__(self) -> str:
        return f"<field {self.qualified}>"


class Layer:
    """A view of one layer of one packet.

    Subclasses declare ``name`` (``"ip"``), ``kind`` (the bit of
    :mod:`.kinds` a packet must have for the layer to be there) and
    ``fields_desc``; ``locate`` says where the layer starts and ends in the
    packet.  Every declared field becomes an attribute that reads the bytes
    when it is accessed.
    """

    __slots__ = ("packet", "buf", "base", "end")
    name = ""
    kind = 0
    fields_desc: tuple[Field, ...] = ()
    fields: dict[str, Field] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.fields = {}
        for field in cls.fields_desc:
            field.layer = cls
            cls.fields[field.name] = field
            setattr(cls, field.name, field)

    def __init__(self, packet):
        self.packet = packet
        self.buf = packet._buf
        self.base, self.end = self.locate(packet)

    @staticmethod
    def locate(packet) -> tuple[int, int]:
        raise NotImplementedError

    def __repr__(self) -> str:
        shown = " ".join(f"{name}={field.codec.show(field.read(self))}"
                         for name, field in self.fields.items())
        return f"<{self.name} {shown}>"
