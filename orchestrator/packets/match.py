"""Matchers: what a packet must look like, said with field names and values.

``dhcp(type="OFFER", xid=x, giaddr="10.1.1.1")`` is a matcher: a function of a
packet that says yes or no, that prints as it was written (failure messages
quote it), and that can say *why not* for a packet that does not match
(``giaddr is 10.1.2.1, not 10.1.1.1``).

Factories: one per layer, ``eth arp ip udp tcp icmp dhcp dns``, each
requiring its layer, plus ``pkt`` which requires nothing.  Keywords name
fields:

* the layer's own fields: ``dhcp(yiaddr=...)``, ``tcp(flags="SA", seq=0)``;
* a qualified name, layer and field joined by ``_``: ``dhcp(ip_ttl=63)``,
  ``pkt(eth_src=...)``;
* shorthands, where they are not a field of the layer itself: ``src``,
  ``dst``, ``ttl``, ``host`` (either address) for IP; ``sport``, ``dport``,
  ``port`` (either port) for UDP or TCP; ``point``, ``time``, ``index`` for
  the frame; ``mac_src``, ``mac_dst``, ``vlan`` for Ethernet;
* in ``pkt(...)``, any field name that only one layer has (``xid``,
  ``qname``, ``yiaddr``); an ambiguous one (``flags``) is refused with the
  qualified names to choose from;
* in ``dhcp(...)``, ``opt<code>`` for any option, raw (``opt82=b"..."``).

Values: an exact value (normalised by the field: ``type="offer"`` is
``"OFFER"``, MACs in any case), a ``set`` of allowed values, or a callable
(a predicate, given the field's value; helpers: ``within("10.1.1.0/24")``,
``present``, ``absent``, ``between(lo, hi)``).  A value that cannot be right
(``giaddr="10.1.1.0/24"``, ``type="OFFERR"``) raises at once.  For fields
whose value is a list (``dns.a``, ``dhcp.router``, ``tcp.port``), a single
value matches when any element equals it and a list must equal the whole.

Combine with ``&`` (both), ``|`` (either) and ``~`` (not).
"""

from __future__ import annotations

import functools
import ipaddress
import operator
import re
from typing import Any, Callable

from . import kinds as K
from .dhcp import option_field
from .fields import Codec, Field, ListOf
from .packet import FIELDS, LAYERS, Packet

# ---------------------------------------------------------------- predicates


class Predicate:
    """A callable test of a field's value with a name for messages."""

    def __init__(self, test: Callable[[Any], bool], label: str):
        self.test = test
        self.label = label

    def __call__(self, value) -> bool:
        return self.test(value)

    def __repr__(self) -> str:
        return self.label


def within(network: str) -> Predicate:
    """An address inside ``network`` (``"10.1.1.0/24"``); for a list of addresses
    (``dhcp.router``, ``dns.a``), any of them."""
    net = ipaddress.IPv4Network(network, strict=False)

    def test(value):
        if value is None:
            return False
        if isinstance(value, (list, tuple)):
            return any(ipaddress.IPv4Address(v) in net for v in value)
        return ipaddress.IPv4Address(value) in net
    return Predicate(test, f"within({net})")


def between(low, high) -> Predicate:
    """A number from ``low`` to ``high``, both included."""
    return Predicate(lambda v: v is not None and low <= v <= high, f"between({low}, {high})")


present = Predicate(lambda v: v is not None and v != [], "present")
"""The field has a value (a DHCP option is there, an ICMP message has an id)."""

absent = Predicate(lambda v: v is None or v == [], "absent")
"""The field has no value (the option is missing)."""


# ---------------------------------------------------------------- expected values

class Expected:
    """What one field must hold: built from the user's value by ``expected()``."""

    test: Callable[[Any], bool]

    def show(self) -> str:
        raise NotImplementedError


class Exact(Expected):
    def __init__(self, field: Field, value: Any):
        codec = field.codec
        self.field = field
        self.value = value = None if value is None else codec.normalize(value)
        if isinstance(codec, ListOf) and not isinstance(value, list):
            element = codec.element
            self.test = lambda v: v is not None and any(element.canon(x) == value for x in v)
        elif type(codec).canon is Codec.canon:
            self.test = functools.partial(operator.eq, value)
        else:
            canon = codec.canon
            self.test = lambda v: canon(v) == value

    def show(self) -> str:
        return self.field.codec.show(self.value)


class OneOf(Expected):
    def __init__(self, field: Field, values: set | frozenset):
        codec = field.codec
        self.field = field
        self.values = [codec.normalize(v) for v in values]
        allowed = self.values
        if isinstance(codec, ListOf):
            element = codec.element
            self.test = lambda v: v is not None and any(element.canon(x) in allowed for x in v)
        else:
            canon = codec.canon
            self.test = lambda v: canon(v) in allowed

    def show(self) -> str:
        shown = sorted(self.field.codec.show(v) for v in self.values)
        return "{" + ", ".join(shown) + "}"


class Satisfies(Expected):
    def __init__(self, field: Field, predicate: Callable, key: str):
        self.field = field
        self.predicate = predicate

        def test(value):
            try:
                return bool(predicate(value))
            except Exception as error:
                raise TypeError(f"the predicate {self.show()} of {key}= raised on the value "
                                f"{value!r}: {error}") from error
        self.test = test

    def show(self) -> str:
        if isinstance(self.predicate, Predicate):
            return repr(self.predicate)
        name = getattr(self.predicate, "__name__", None) or repr(self.predicate)
        return name if name != "<lambda>" else "<predicate>"


def expected(field: Field, value: Any, key: str) -> Expected:
    if isinstance(value, (set, frozenset)):
        return OneOf(field, value)
    if callable(value) and not isinstance(value, (str, bytes)):
        return Satisfies(field, value, key)
    return Exact(field, value)


# ---------------------------------------------------------------- field names

_FRAME = {"time": "frame.time", "point": "frame.point", "index": "frame.index",
          "number": "frame.number", "mac_src": "eth.src", "mac_dst": "eth.dst",
          "vlan": "eth.vlan"}
_ABOVE_IP = {"src": "ip.src", "dst": "ip.dst", "ttl": "ip.ttl", "host": "ip.host",
             "sport": "l4.sport", "dport": "l4.dport", "port": "l4.port"}
_SHORTHANDS: dict[str | None, dict[str, str]] = {
    "eth": _FRAME, "arp": _FRAME,
    **{layer: {**_FRAME, **_ABOVE_IP} for layer in ("ip", "udp", "tcp", "icmp", "dhcp", "dns",
                                                    None)},
}
_BARE: dict[str, list[str]] = {}
for _name in FIELDS:
    _layer, _, _field = _name.partition(".")
    if _layer not in ("frame", "l4"):
        _BARE.setdefault(_field, []).append(_name)
_OPTION = re.compile(r"opt(\d{1,3})")


def resolve(layer: str | None, key: str) -> Field:
    """The field a keyword names in ``layer(...)`` (``None``: in ``pkt(...)``)."""
    if layer is not None:
        own = LAYERS[layer].fields
        if key in own:
            return own[key]
        if layer == "dhcp" and _OPTION.fullmatch(key):
            return option_field(int(key[3:]))
    prefix, _, rest = key.partition("_")
    if prefix in LAYERS and rest in LAYERS[prefix].fields:
        return LAYERS[prefix].fields[rest]
    if prefix == "dhcp" and _OPTION.fullmatch(rest):
        return option_field(int(rest[3:]))
    shorthand = _SHORTHANDS.get(layer, _FRAME).get(key)
    if shorthand:
        return FIELDS[shorthand]
    if layer is None:
        candidates = _BARE.get(key, [])
        if len(candidates) == 1:
            return FIELDS[candidates[0]]
        if candidates:
            options = ", ".join(c.replace(".", "_") for c in candidates)
            raise TypeError(f"pkt(): {key!r} is a field of several layers; say which: {options}")
    where = f"{layer}()" if layer else "pkt()"
    known = ", ".join(LAYERS[layer].fields) if layer else "a qualified name such as ip_ttl"
    raise TypeError(f"{where} has no field {key!r}; fields: {known} "
                    f"(or a qualified name such as ip_ttl, or src/dst/ttl/sport/dport/point)")


# ---------------------------------------------------------------- matchers

class Matcher:
    """A test of a packet; ``need`` are the kind bits a packet must have for
    the test to be able to pass (checked first, with one ``&``)."""

    need = 0

    def __call__(self, packet: Packet) -> bool:
        raise NotImplementedError

    def mismatch(self, packet: Packet) -> str | None:
        """Why ``packet`` does not match, in words; None when it does."""
        raise NotImplementedError

    def __and__(self, other: "Matcher") -> "Matcher":
        return All(self, _matcher(other))

    def __or__(self, other: "Matcher") -> "Matcher":
        return Either(self, _matcher(other))

    def __invert__(self) -> "Matcher":
        return Not(self)


def _matcher(value) -> Matcher:
    if not isinstance(value, Matcher):
        raise TypeError(f"cannot combine a matcher with {value!r}")
    return value


class Fields(Matcher):
    """A layer (or none) and field tests: what ``dhcp(...)``, ``pkt(...)`` make."""

    def __init__(self, layer: str | None, values: dict[str, Any]):
        self.layer = layer
        need = LAYERS[layer].kind if layer else 0
        self.items: list[tuple[str, Field, Expected]] = []
        for key, value in values.items():
            field = resolve(layer, key)
            try:
                exp = expected(field, value, key)
            except ValueError as error:
                raise ValueError(f"{layer or 'pkt'}({key}={value!r}): {error}") from None
            self.items.append((key, field, exp))
            need |= field.layer.kind
        self.need = need
        # Tests grouped by layer, cheap ones first, so a view is made once per
        # layer and most packets are turned away before any parsing.
        groups: dict[type, list] = {}
        for _, field, exp in sorted(self.items, key=lambda item: item[1].cost):
            groups.setdefault(field.layer, []).append((field.read, exp.test))
        self._groups = [(layer_cls, tuple(tests)) for layer_cls, tests in groups.items()]

    def __call__(self, packet: Packet) -> bool:
        k = packet._kinds
        if k < 0:
            k = packet._classify()
        need = self.need
        if k & need != need:
            return False
        for layer_cls, tests in self._groups:
            view = layer_cls(packet)
            for read, test in tests:
                if not test(read(view)):
                    return False
        return True

    def mismatch(self, packet: Packet) -> str | None:
        missing = self.need & ~packet.kinds
        if missing:
            return f"no {'/'.join(K.names(missing))} layer"
        for key, field, exp in self.items:
            value = field.read(field.layer(packet))
            if not exp.test(value):
                shown = field.codec.show(value)
                if isinstance(exp, OneOf):
                    return f"{key} is {shown}, not one of {exp.show()}"
                if isinstance(exp, Satisfies):
                    return f"{key} is {shown}, which fails {exp.show()}"
                return f"{key} is {shown}, not {exp.show()}"
        return None

    def __repr__(self) -> str:
        inner = ", ".join(f"{key}={exp.show()}" for key, _, exp in self.items)
        return f"{self.layer or 'pkt'}({inner})"


class All(Matcher):
    def __init__(self, *parts: Matcher):
        self.parts = parts
        self.need = functools.reduce(operator.or_, (p.need for p in parts), 0)

    def __call__(self, packet):
        return all(part(packet) for part in self.parts)

    def mismatch(self, packet):
        for part in self.parts:
            reason = part.mismatch(packet)
            if reason:
                return reason
        return None

    def __repr__(self):
        return " & ".join(_group(p) for p in self.parts)


class Either(Matcher):
    def __init__(self, *parts: Matcher):
        self.parts = parts
        self.need = functools.reduce(operator.and_, (p.need for p in parts))

    def __call__(self, packet):
        return any(part(packet) for part in self.parts)

    def mismatch(self, packet):
        reasons = [part.mismatch(packet) for part in self.parts]
        if any(r is None for r in reasons):
            return None
        return "; ".join(reasons)

    def __repr__(self):
        return " | ".join(_group(p) for p in self.parts)


class Not(Matcher):
    def __init__(self, part: Matcher):
        self.part = part

    def __call__(self, packet):
        return not self.part(packet)

    def mismatch(self, packet):
        return f"matches {self.part!r}" if self.part(packet) else None

    def __repr__(self):
        return f"~{_group(self.part)}"


class Anything(Matcher):
    """Every packet (the default ``kind`` of a sequence with no other choice)."""

    def __call__(self, packet):
        return True

    def mismatch(self, packet):
        return None

    def __repr__(self):
        return "any packet"


def _group(matcher: Matcher) -> str:
    text = repr(matcher)
    return f"({text})" if isinstance(matcher, (All, Either)) else text


class Function(Matcher):
    """A plain function of a packet used as a matcher."""

    def __init__(self, function: Callable[[Packet], bool]):
        self.function = function

    def __call__(self, packet):
        return bool(self.function(packet))

    def mismatch(self, packet):
        return None if self(packet) else f"fails {self!r}"

    def __repr__(self):
        name = getattr(self.function, "__name__", "function")
        return name if name != "<lambda>" else "<function>"


def as_matcher(value) -> Matcher:
    """A matcher from a matcher or from any function of a packet."""
    if isinstance(value, Matcher):
        return value
    if callable(value):
        return Function(value)
    raise TypeError(f"expected a matcher such as dhcp(type='OFFER'), got {value!r}")


# ---------------------------------------------------------------- factories

def pkt(**fields) -> Fields:
    """Any packet, with field tests by qualified or unambiguous name:
    ``pkt(ip_src="10.1.1.2", ttl=63)``."""
    return Fields(None, fields)


def eth(**fields) -> Fields:
    """An Ethernet frame: ``eth(src="02:00:0a:01:01:02", type="arp")``."""
    return Fields("eth", fields)


def arp(**fields) -> Fields:
    """An ARP message: ``arp(op="request", target_ip="10.1.1.3")``."""
    return Fields("arp", fields)


def ip(**fields) -> Fields:
    """An IPv4 packet: ``ip(src="10.1.1.2", ttl=63)``."""
    return Fields("ip", fields)


def udp(**fields) -> Fields:
    """A UDP datagram: ``udp(dport=67)``, ``udp(port=53)``."""
    return Fields("udp", fields)


def tcp(**fields) -> Fields:
    """A TCP segment: ``tcp(flags="SA", src="61.135.169.125")``, ``tcp(seq=1, ack=1)``."""
    return Fields("tcp", fields)


def icmp(**fields) -> Fields:
    """An ICMP message: ``icmp(type=8)``, ``icmp(type="echo-reply", id=1)``."""
    return Fields("icmp", fields)


def dhcp(**fields) -> Fields:
    """A DHCP/BOOTP message: ``dhcp(type="OFFER", xid=x, giaddr="10.1.1.1")``."""
    return Fields("dhcp", fields)


def dns(**fields) -> Fields:
    """A DNS message over UDP or TCP: ``dns(qname="www.baidu.com.", qr=True)``."""
    return Fields("dns", fields)
