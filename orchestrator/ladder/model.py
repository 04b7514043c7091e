"""A ladder (sequence) diagram of one capture: lifelines, arrows, notes.

``build(packets, topo=None)`` turns a merged capture (every packet labelled
with its capture ``point``, in the order of the merged file) into a
:class:`Ladder`:

Lifelines
    One per *station*: an interface that sends or receives frames.  A frame
    goes from the station owning its source MAC to the one owning its
    destination MAC, so a router seen on two wires is two lifelines (its
    inside and its outside: ``gw1 (gw1-eth0)``, ``gw1 (gw1-eth1)``); a node
    with one lifeline is named by the node alone.  Which MAC is whose is
    learned from the capture points, ARP, the packets' addresses and the
    model (see :mod:`.stations`).  With the model, an endpoint addressed
    beyond the last wire captured (the web server behind the ISP) gets a
    lifeline of its own at the end of the arrow.

Path order
    Lifelines are ordered by first appearance along the flow: packet after
    packet in time order, each adding the stations it crosses in the order
    it crosses them (sender, receiver, next hop's sender...).  DHCP through
    a relay gives client, relay inside, relay outside, server; web through
    NAT gives client, gw1, edge, isp, web.

Arrows
    One per packet: the same IP packet seen at several points (unchanged by
    routers, :func:`~orchestrator.packets.correlate.routed_identity`, or
    translated by a NAT, ``nat_identity``, within a second; any other frame
    by its bytes, as switches pass it) is one arrow from its first sender to its last receiver, carrying every frame number
    and the stations it ``crossed``.  Frame numbers are positions in the
    sequence given, from 1: read from a ``merged.pcap`` they are Wireshark's.

Who owns which MAC is :mod:`.stations`'s to decide, the labels are
:mod:`.labels`'s; errata and failures are marked by :mod:`.marks`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

from ..packets import kinds as K
from ..packets.correlate import nat_identity, routed_identity
from ..packets.packet import Packet
from .labels import kind_of, label_of
from .stations import Stations, is_group, split_point

KINDS = ("dhcp", "tcp", "dns", "arp", "icmp", "other")
STYLES = ("seen", "missing", "instead")
SAME_PACKET_WINDOW = 1.0
"""Seconds within which the same packet seen at another point is one arrow."""
BROADCAST = "*"
"""``Arrow.dst`` of a broadcast nobody else was seen on the wire to hear."""


@dataclass(frozen=True)
class Lifeline:
    """A station: ``name`` as drawn, ``points`` the capture points at it."""

    name: str
    points: tuple[str, ...] = ()


@dataclass(frozen=True)
class Arrow:
    frames: tuple[int, ...]
    time: float
    src: str
    dst: str
    label: str
    kind: str = "other"
    broadcast: bool = False
    crossed: tuple[str, ...] = ()
    erratum: str | None = None
    style: str = "seen"

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"arrow kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.style not in STYLES:
            raise ValueError(f"arrow style {self.style!r} is not one of {', '.join(STYLES)}")


@dataclass(frozen=True)
class Ladder:
    title: str
    lifelines: tuple[Lifeline, ...]
    arrows: tuple[Arrow, ...]
    notes: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        return [line.name for line in self.lifelines]


@dataclass
class _Group:
    packets: list = field(default_factory=list)
    frames: list = field(default_factory=list)


def _group(packets: Sequence[Packet]) -> list[_Group]:
    """The sightings of each packet, in order of first sighting."""
    groups: list[_Group] = []
    by_routed: dict = {}
    by_nat: dict = {}
    for number, p in enumerate(packets, 1):
        target = None
        for table, key in _identities(p, by_routed, by_nat):
            g = table.get(key)
            if g is not None and p.time - g.packets[-1].time <= SAME_PACKET_WINDOW \
                    and p.point not in {q.point for q in g.packets} \
                    and (table is by_routed or _translated(g.packets[0], p)):
                target = g
                break
        if target is None:
            target = _Group()
            groups.append(target)
        target.packets.append(p)
        target.frames.append(number)
        for table, key in _identities(p, by_routed, by_nat):
            table[key] = target
    return groups


def _identities(p: Packet, by_routed: dict, by_nat: dict) -> list:
    """Where to look the packet up: an IP packet by what routers and NATs
    keep, any other frame by its bytes (switched unchanged)."""
    if p.kinds & K.IP and not p.kinds & K.FRAGMENT:
        return [(by_routed, routed_identity(p)), (by_nat, nat_identity(p))]
    return [(by_routed, ("frame", p.data))]


def _translated(first: Packet, later: Packet) -> bool:
    """A NAT changes one end's address and keeps the other."""
    a, b = first.ip, later.ip
    return (a.src != b.src) != (a.dst != b.dst)


def distinct_packets(packets: Sequence[Packet]) -> int:
    """How many packets a merged capture holds once the sightings of each at
    several points are counted once: the number of arrows of its ladder."""
    return len(_group(list(packets)))


def build(packets: Sequence[Packet], topo=None, title: str = "") -> Ladder:
    """The ladder of a merged capture (see the module's docstring)."""
    packets = list(packets)
    stations = Stations(topo)
    groups = _group(packets)
    stations.learn(packets, [g.packets for g in groups])
    order: list[tuple[str, str]] = []
    points: dict[tuple[str, str], list[str]] = {}

    def add(key):
        if key not in order:
            order.append(key)
        return key

    for p in packets:
        key = stations.key_of_point(p.point)
        if key:
            points.setdefault(key, []).append(p.point)

    drafts = []
    for g in groups:
        crossed: list[tuple[str, str]] = []
        broadcast = False
        for p in g.packets:
            sender, receiver = _ends(p, stations, packets)
            for key in (sender, receiver):
                if key is not None and key not in crossed:
                    crossed.append(key)
            broadcast = broadcast or receiver is None or \
                bool(p.kinds & K.ETH and is_group(p.eth.dst))
        first, last = g.packets[0], g.packets[-1]
        if topo is not None and first.kinds & K.IP:
            nodes = {node for node, _ in crossed}
            origin = stations.key_of_address(first.ip.src)
            if origin and origin[0] not in nodes:
                crossed.insert(0, origin)
            end = stations.key_of_address(last.ip.dst)
            if end and end[0] not in nodes:
                crossed.append(end)
        for key in crossed:
            add(key)
        drafts.append((g, crossed, broadcast))

    names = _names(order)
    lifelines = tuple(Lifeline(names[key], tuple(dict.fromkeys(points.get(key, ()))))
                      for key in order)
    arrows = []
    for g, crossed, broadcast in drafts:
        first = g.packets[0]
        src = names[crossed[0]] if crossed else BROADCAST
        dst = names[crossed[-1]] if len(crossed) > 1 else BROADCAST
        if broadcast and len(crossed) > 1 and g.packets[0].kinds & K.ETH \
                and is_group(g.packets[0].eth.dst):
            # heard by everyone on the wire: drawn to the farthest who heard it
            start = order.index(crossed[0])
            dst = names[max(crossed[1:], key=lambda k: abs(order.index(k) - start))]
        arrows.append(Arrow(frames=tuple(g.frames), time=first.time, src=src, dst=dst,
                            label=label_of(first), kind=kind_of(first), broadcast=broadcast,
                            crossed=tuple(names[k] for k in crossed)))
    return Ladder(title, lifelines, tuple(arrows))


def _ends(p: Packet, stations: Stations, packets) -> tuple:
    """(sender, receiver) station keys of one sighting; receiver None for a
    broadcast (then the capture point's owner, when it did not send it)."""
    if p.kinds & K.ETH:
        sender = stations.key_of_mac(p.eth.src)
        if not is_group(p.eth.dst):
            return sender, stations.key_of_mac(p.eth.dst)
        owner = stations.owner_of_point.get(p.point)
        if owner != p.eth.src:
            here = stations.key_of_point(p.point)
            if here is not None:
                return sender, here
        peers = [m for m in stations.seen_at.get(p.point, ()) if m != p.eth.src]
        return sender, (stations.key_of_mac(peers[0]) if peers else None)
    if p.kinds & K.IP:
        return ((stations.key_of_address(p.ip.src) or (p.ip.src, "")),
                (stations.key_of_address(p.ip.dst) or (p.ip.dst, "")))
    return split_point(p.point), None


def _names(order: list[tuple[str, str]]) -> dict:
    per_node = Counter(node for node, _ in order)
    return {(node, iface): (f"{node} ({iface})" if per_node[node] > 1 and iface else node)
            for node, iface in order}
