"""One captured packet: where and when it was seen, and its layers on demand.

A ``Packet`` holds no decoded data when it is created: only a reference to
its capture's bytes and where its frame lies in them.  The first question
about its content classifies it (which layers are there and where each one
starts: a walk over a few header bytes, see ``_classify``); fields are read
only when asked for, by the layer views of :mod:`.layers`, :mod:`.dhcp` and
:mod:`.dns`.  That is what lets a million-packet capture be read and
filtered in seconds instead of the minutes an eager dissector takes.

Fields are reached three ways, all with the same names:

* by layer: ``p.dhcp.yiaddr``, ``p.tcp.flags``, ``p.ip.ttl`` (a layer the
  packet does not have is ``None``: ``if p.dns: ...``);
* by qualified name: ``p["ip.ttl"]`` (``None`` when the layer is absent);
* in matchers: ``ip(ttl=63)``, ``pkt(ip_ttl=63)`` (see :mod:`.match`).
"""

from __future__ import annotations

import struct

from . import kinds as K
from .dhcp import DHCP
from .dns import DNS
from .fields import Field, Layer
from .layers import ARP, ICMP, TCP, UDP, Ethernet, Frame, IPv4, Transport

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_LINUX_SLL2 = 276

LAYERS: dict[str, type[Layer]] = {cls.name: cls for cls in
                                  (Frame, Ethernet, ARP, IPv4, UDP, TCP, Transport, ICMP, DHCP,
                                   DNS)}
"""Every layer by name, outermost first."""

FIELDS: dict[str, Field] = {f"{layer.name}.{name}": field for layer in LAYERS.values()
                            for name, field in layer.fields.items()}
"""Every field by qualified name: ``FIELDS["dhcp.yiaddr"]``."""

_U16 = struct.Struct("!H").unpack_from
_DHCP_PORTS = (67, 68)


class Packet:
    """A packet of a capture.  ``time`` (seconds, float), ``point`` (the label of
    where it was captured), ``index`` (its position in its file, from 0),
    ``capture`` (the :class:`~.captures.Capture` it came from); layers as
    attributes (``eth``, ``arp``, ``ip``, ``udp``, ``tcp``, ``icmp``,
    ``dhcp``, ``dns``), ``None`` when absent."""

    # _cache holds what a layer decoded once (DHCP options, the DNS message):
    # one object, not a dict, so that a million packets cost a million fewer
    # objects for the garbage collector to walk.
    __slots__ = ("capture", "index", "tns", "point", "_buf", "_off", "caplen", "wirelen",
                 "_link", "_kinds", "_l3", "_l4", "_l7", "_end", "_cache")

    def __init__(self, capture, index: int, tns: int, point: str, buf, off: int, caplen: int,
                 wirelen: int, link: int):
        self.capture = capture
        self.index = index
        self.tns = tns
        self.point = point
        self._buf = buf
        self._off = off
        self.caplen = caplen
        self.wirelen = wirelen
        self._link = link
        self._kinds = -1
        self._cache = None

    # ------------------------------------------------------------ frame
    @property
    def time(self) -> float:
        """Capture time, seconds since the epoch."""
        return self.tns / 1e9

    @property
    def file(self) -> str | None:
        path = getattr(self.capture, "path", None)
        return str(path) if path is not None else None

    @property
    def data(self) -> bytes:
        """The frame's bytes as captured."""
        return bytes(self._buf[self._off:self._off + self.caplen])

    @property
    def linktype(self) -> int:
        return self._link

    @property
    def kinds(self) -> int:
        """Bits of :mod:`.kinds` for the layers this packet carries."""
        found = self._kinds
        return found if found >= 0 else self._classify()

    @property
    def layers(self) -> list[str]:
        return K.names(self.kinds)

    # ------------------------------------------------------------ layers
    def layer(self, name: str) -> Layer | None:
        cls = LAYERS[name]
        if cls.kind and not self.kinds & cls.kind:
            return None
        return cls(self)

    @property
    def frame(self) -> Frame:
        return Frame(self)

    @property
    def eth(self) -> Ethernet | None:
        return Ethernet(self) if self.kinds & K.ETH else None

    @property
    def arp(self) -> ARP | None:
        return ARP(self) if self.kinds & K.ARP else None

    @property
    def ip(self) -> IPv4 | None:
        return IPv4(self) if self.kinds & K.IP else None

    @property
    def udp(self) -> UDP | None:
        return UDP(self) if self.kinds & K.UDP else None

    @property
    def tcp(self) -> TCP | None:
        return TCP(self) if self.kinds & K.TCP else None

    @property
    def icmp(self) -> ICMP | None:
        return ICMP(self) if self.kinds & K.ICMP else None

    @property
    def dhcp(self) -> DHCP | None:
        return DHCP(self) if self.kinds & K.DHCP else None

    @property
    def dns(self) -> DNS | None:
        return DNS(self) if self.kinds & K.DNS else None

    def __contains__(self, layer: str) -> bool:
        """``"dhcp" in packet``."""
        cls = LAYERS.get(layer)
        if cls is None:
            raise KeyError(f"unknown layer {layer!r}; layers: {', '.join(LAYERS)}")
        return not cls.kind or bool(self.kinds & cls.kind)

    def __getitem__(self, name: str):
        """``packet["ip.ttl"]``: the field's value, or None if the layer is absent."""
        field = FIELDS.get(name)
        if field is None:
            raise KeyError(f"unknown field {name!r}")
        layer = field.layer
        if layer.kind and not self.kinds & layer.kind:
            return None
        return field.read(layer(self))

    def get(self, name: str, default=None):
        value = self[name]
        return default if value is None else value

    def describe(self, t0: float | None = None, **options) -> str:
        """The one-line tcpdump-like form; see :func:`.describe.describe`."""
        from .describe import describe
        return describe(self, t0, **options)

    def __repr__(self) -> str:
        from .describe import summary
        return f"<Packet {self.point}#{self.index + 1} {summary(self)}>"

    # ------------------------------------------------------------ classification
    def _classify(self) -> int:
        """Find which layers the frame carries and where each starts, reading as
        few bytes as possible; store the kinds bits and the offsets."""
        buf = self._buf
        start = self._off
        end = start + self.caplen
        self._end = end
        link = self._link
        k = 0
        if link == LINKTYPE_ETHERNET:
            if end - start < 14:
                self._kinds = 0
                return 0
            k = K.ETH
            ethertype = buf[start + 12] << 8 | buf[start + 13]
            l3 = start + 14
            while (ethertype == 0x8100 or ethertype == 0x88A8) and l3 + 4 <= end:
                k |= K.VLAN
                ethertype = buf[l3 + 2] << 8 | buf[l3 + 3]
                l3 += 4
        elif link == LINKTYPE_LINUX_SLL:
            if end - start < 16:
                self._kinds = 0
                return 0
            ethertype = buf[start + 14] << 8 | buf[start + 15]
            l3 = start + 16
        elif link == LINKTYPE_LINUX_SLL2:
            if end - start < 20:
                self._kinds = 0
                return 0
            ethertype = buf[start] << 8 | buf[start + 1]
            l3 = start + 20
        elif link == LINKTYPE_RAW or link == LINKTYPE_IPV4:
            if end - start < 1:
                self._kinds = 0
                return 0
            ethertype = 0x0800 if buf[start] >> 4 == 4 else 0x86DD
            l3 = start
        else:
            self._kinds = 0
            return 0
        self._l3 = l3
        if ethertype == 0x0800:
            if l3 + 20 > end or buf[l3] >> 4 != 4:
                self._kinds = k
                return k
            k |= K.IP
            ip_end = l3 + (buf[l3 + 2] << 8 | buf[l3 + 3])
            if ip_end < end:
                end = self._end = ip_end      # Ethernet padding is not payload
            if (buf[l3 + 6] & 0x1F) or buf[l3 + 7]:
                k |= K.FRAGMENT
                self._kinds = k
                return k
            l4 = self._l4 = l3 + (buf[l3] & 0x0F) * 4
            proto = buf[l3 + 9]
            if proto == 6:
                if l4 + 20 <= end:
                    k |= K.TCP
                    l7 = self._l7 = l4 + (buf[l4 + 12] >> 4) * 4
                    if end - l7 >= 14:
                        sport = buf[l4] << 8 | buf[l4 + 1]
                        dport = buf[l4 + 2] << 8 | buf[l4 + 3]
                        if (sport == 53 or dport == 53) and 12 <= _U16(buf, l7)[0] <= end - l7 - 2:
                            k |= K.DNS
            elif proto == 17:
                if l4 + 8 <= end:
                    k |= K.UDP
                    l7 = self._l7 = l4 + 8
                    sport = buf[l4] << 8 | buf[l4 + 1]
                    dport = buf[l4 + 2] << 8 | buf[l4 + 3]
                    if sport in _DHCP_PORTS or dport in _DHCP_PORTS:
                        if end - l7 >= 236:
                            k |= K.DHCP
                    elif (sport == 53 or dport == 53) and end - l7 >= 12:
                        k |= K.DNS
            elif proto == 1:
                if l4 + 8 <= end:
                    k |= K.ICMP
                    self._l7 = l4 + 8
        elif ethertype == 0x0806 or ethertype == 0x8035:
            # RARP (0x8035) has ARP's layout; its opcodes (3, 4) tell it apart.
            if l3 + 28 <= end:
                k |= K.ARP
        self._kinds = k
        return k
