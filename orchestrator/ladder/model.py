"""A ladder (sequence) diagram of one capture: lifelines, arrows, notes.

``build(packets, topo=None)`` turns a merged capture (every packet labelled
with its capture ``point``, in the order of the merged file) into a
:class:`Ladder`:

Lifelines
    One per *station*: an interface that sends or receives frames.  A frame
    goes from the station owning its source MAC to the one owning its
    destination MAC, so a router seen on two wires is two lifelines (its
    inside and its outside: ``gw1 (gw1-eth0)``, ``gw1 (gw1-eth1)``); a node
    with one lifeline is named by the node alone.  A MAC is given to a node
    by, in order: the capture point it is captured at (the MAC in most of
    the point's unicast frames, else in most of its broadcasts); an ARP
    sender address or the source address of a packet it originated (TTL 64,
    128 or 255) that the model (when given) assigns to an interface; else
    it is named by that address, else by the MAC.  With the model, an
    endpoint addressed beyond the last wire captured (the web server behind
    the ISP) gets a lifeline of its own at the end of the arrow.

Path order
    Lifelines are ordered by first appearance along the flow: packet after
    packet in time order, each adding the stations it crosses in the order
    it crosses them (sender, receiver, next hop's sender...).  DHCP through
    a relay gives client, relay inside, relay outside, server; web through
    NAT gives client, gw1, edge, isp, web.

Arrows
    One per packet: the same IP packet seen at several points (unchanged by
    routers, :func:`~orchestrator.packets.correlate.routed_identity`, or
    translated by a NAT, ``nat_identity``, within a second) is one arrow
    from its first sender to its last receiver, carrying every frame number
    and the stations it ``crossed``.  Frame numbers are positions in the
    sequence given, from 1: read from a ``merged.pcap`` they are Wireshark's.

``mark_errata``, ``draw_failure`` and ``draw_failure_text`` return a new
ladder with errata marked and a failed expectation drawn (the expected
packet dashed, the packets there instead highlighted).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address
from typing import Iterable, Sequence

from ..packets import kinds as K
from ..packets.correlate import nat_identity, routed_identity
from ..packets.describe import summary
from ..packets.packet import Packet

KINDS = ("dhcp", "tcp", "dns", "arp", "icmp", "other")
STYLES = ("seen", "missing", "instead")
SAME_PACKET_WINDOW = 1.0
"""Seconds within which the same packet seen at another point is one arrow."""
ORIGIN_TTLS = (64, 128, 255)
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


# ---------------------------------------------------------------- stations

@dataclass
class _Stations:
    """Who owns which MAC, learned from the packets and the model."""

    topo: object = None
    owner_of_point: dict = field(default_factory=dict)     # point -> mac
    mac_ip: dict = field(default_factory=dict)             # mac -> ip
    by_address: dict = field(default_factory=dict)         # ip -> (node, iface)
    seen_at: dict = field(default_factory=dict)            # point -> [mac]
    next_hop: dict = field(default_factory=dict)           # mac -> (node, iface)

    def __post_init__(self):
        if self.topo is not None:
            for iface in self.topo.interfaces():
                if iface.address is not None:
                    self.by_address[str(iface.address.ip)] = (iface.node, iface.name)

    def learn(self, packets: Sequence[Packet]) -> None:
        unicast: dict[str, Counter] = {}
        broadcast: dict[str, Counter] = {}
        for p in packets:
            k = p.kinds
            if not k & K.ETH:
                continue
            src, dst = p.eth.src, p.eth.dst
            seen = self.seen_at.setdefault(p.point, [])
            for mac in (src, dst):
                if not _is_group(mac) and mac not in seen:
                    seen.append(mac)
            if _is_group(dst):
                broadcast.setdefault(p.point, Counter())[src] += 1
            else:
                unicast.setdefault(p.point, Counter()).update((src, dst))
            if k & K.ARP:
                ip = p.arp.sender_ip
                if ip and ip != "0.0.0.0":
                    self.mac_ip.setdefault(p.arp.sender_mac, ip)
            elif k & K.IP and p.ip.ttl in ORIGIN_TTLS and p.ip.src != "0.0.0.0":
                self.mac_ip.setdefault(src, p.ip.src)
        # Points with evidence first (the model's address, unicast frames);
        # then points that only heard broadcasts, whose senders are not
        # theirs when another point owns them.
        points = list(dict.fromkeys(p.point for p in packets))
        for point in points:
            mac = self._model_mac(point, packets)
            counts = unicast.get(point)
            if mac is None and counts:
                top = max(counts.values())
                tied = [m for m, n in counts.items() if n == top]
                mac = tied[0] if len(tied) == 1 else _likely_owner(point, tied, packets)
            if mac:
                self.owner_of_point[point] = mac
        for point in points:
            if point in self.owner_of_point or point not in broadcast:
                continue
            owned = set(self.owner_of_point.values())
            heard = [m for m, _ in broadcast[point].most_common() if m not in owned]
            if heard:
                self.owner_of_point[point] = heard[0]
        if self.topo is not None:
            for p in packets:
                self._learn_next_hop(p)

    def _learn_next_hop(self, p: Packet) -> None:
        """A MAC the model gives no address to, talking with a point's owner
        about a far address: the owner's next hop there (its route, its
        gateway, its subnet's gateway)."""
        if not (p.kinds & K.ETH and p.kinds & K.IP) or _is_group(p.eth.dst):
            return
        owner = self.owner_of_point.get(p.point)
        station = self.point_station(p.point)
        if owner is None or station is None or owner not in (p.eth.src, p.eth.dst):
            return
        other = p.eth.dst if owner == p.eth.src else p.eth.src
        if other in self.next_hop or other in self.owner_of_point.values() \
                or self.by_address.get(self.mac_ip.get(other, "")):
            return
        near, far = (p.ip.src, p.ip.dst) if owner == p.eth.src else (p.ip.dst, p.ip.src)
        for via in _vias(self.topo, station[0], IPv4Address(near), IPv4Address(far)):
            found = self.by_address.get(str(via))
            if found is not None:
                self.next_hop[other] = found
                return

    def _model_mac(self, point: str, packets) -> str | None:
        """The MAC that sends from the point's interface address (model)."""
        node_iface = self.point_station(point)
        if node_iface is None:
            return None
        addresses = {ip for ip, ni in self.by_address.items() if ni == node_iface}
        for p in packets:
            if p.point == point and p.kinds & K.ETH:
                if p.kinds & K.ARP and p.arp.sender_ip in addresses:
                    return p.arp.sender_mac
                if p.kinds & K.IP and p.ip.src in addresses:
                    return p.eth.src
        return None

    def point_station(self, point: str) -> tuple[str, str] | None:
        """(node, interface) of a capture point, when the model knows it."""
        if self.topo is None:
            return None
        for iface in self.topo.interfaces():
            if point in (iface.name, f"{iface.node}:{iface.name}"):
                return iface.node, iface.name
        return None

    def key_of_point(self, point: str) -> tuple[str, str] | None:
        """The station a capture point is at: its owner's, or the model's."""
        owner = self.owner_of_point.get(point)
        if owner is not None:
            return self.key_of_mac(owner)
        return self.point_station(point)

    def key_of_mac(self, mac: str) -> tuple[str, str]:
        """A station key: ``(node, interface)``; interface empty when unknown."""
        for point, owner in self.owner_of_point.items():
            if owner == mac:
                known = self.point_station(point)
                return known or _split_point(point)
        ip = self.mac_ip.get(mac)
        if ip is not None and ip in self.by_address:
            return self.by_address[ip]
        if mac in self.next_hop:
            return self.next_hop[mac]
        if ip is not None:
            return ip, ""
        return mac, ""

    def key_of_address(self, ip: str) -> tuple[str, str] | None:
        return self.by_address.get(ip)


def _likely_owner(point: str, tied: list[str], packets) -> str:
    """Of MACs as frequent at a point, the one a host there would have: the
    DHCP client's (chaddr of a request from 0.0.0.0), the DHCP server's
    (a reply from its server identifier), else one that only sends packets
    it originated from one address (a router forwards others'), else the
    first."""
    at = [p for p in packets if p.point == point and p.kinds & K.ETH]
    for p in at:
        if p.kinds & K.DHCP and p.eth.src in tied:
            d = p.dhcp
            if d.op in (1, "BOOTREQUEST", "request") and p.ip.src == "0.0.0.0":
                return p.eth.src
            if d.op in (2, "BOOTREPLY", "reply") and d.server_id and p.ip.src == str(d.server_id):
                return p.eth.src
    for mac in tied:
        sent = [p for p in at if p.eth.src == mac and p.kinds & K.IP]
        if sent and all(p.ip.ttl in ORIGIN_TTLS for p in sent) \
                and len({p.ip.src for p in sent}) == 1:
            return mac
    return tied[0]


def _vias(topo, node_name: str, near: IPv4Address, far: IPv4Address) -> list:
    """Next hops of ``node_name`` towards ``far``: its routes (longest prefix
    first), its gateway, the gateway of the subnet its ``near`` address is in."""
    node = topo.find(node_name)
    routes = sorted((r for r in getattr(node, "routes", ()) if far in r.destination),
                    key=lambda r: -r.destination.prefixlen)
    vias = [r.via for r in routes]
    if getattr(node, "gateway", None) is not None:
        vias.append(node.gateway)
    subnets = [sw.subnet for sw in topo.switches() if sw.subnet is not None] + \
        [v.subnet for v in topo.vlans if v.subnet is not None]
    vias += [s.gateway for s in subnets if s.gateway is not None and near in s.network
             and far not in s.network]
    return vias


def _split_point(point: str) -> tuple[str, str]:
    """``node:iface`` or ``node-eth0`` (the interface names the node)."""
    if ":" in point:
        node, iface = point.split(":", 1)
        return node, iface
    node = point.rsplit("-", 1)[0] if "-" in point else point
    return node, point


def _is_group(mac: str) -> bool:
    return bool(int(mac.split(":")[0], 16) & 1)


# ---------------------------------------------------------------- labels

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


# ---------------------------------------------------------------- build

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


def build(packets: Sequence[Packet], topo=None, title: str = "") -> Ladder:
    """The ladder of a merged capture (see the module's docstring)."""
    packets = list(packets)
    stations = _Stations(topo)
    stations.learn(packets)
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
    for g in _group(packets):
        crossed: list[tuple[str, str]] = []
        broadcast = False
        for p in g.packets:
            sender, receiver = _ends(p, stations, packets)
            for key in (sender, receiver):
                if key is not None and key not in crossed:
                    crossed.append(key)
            broadcast = broadcast or receiver is None or \
                bool(p.kinds & K.ETH and _is_group(p.eth.dst))
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
        arrows.append(Arrow(frames=tuple(g.frames), time=first.time, src=src, dst=dst,
                            label=label_of(first), kind=kind_of(first), broadcast=broadcast,
                            crossed=tuple(names[k] for k in crossed)))
    return Ladder(title, lifelines, tuple(arrows))


def _ends(p: Packet, stations: _Stations, packets) -> tuple:
    """(sender, receiver) station keys of one sighting; receiver None for a
    broadcast (then the capture point's owner, when it did not send it)."""
    if p.kinds & K.ETH:
        sender = stations.key_of_mac(p.eth.src)
        if not _is_group(p.eth.dst):
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
    return _split_point(p.point), None


def _names(order: list[tuple[str, str]]) -> dict:
    per_node = Counter(node for node, _ in order)
    return {(node, iface): (f"{node} ({iface})" if per_node[node] > 1 and iface else node)
            for node, iface in order}


# ---------------------------------------------------------------- errata

ERRATUM_SHOWN_BY = {
    "dhcp-ports": lambda a: a.kind == "dhcp" and ":68 " in a.label + " ",
    "relay-source": lambda a: a.kind == "dhcp" and "giaddr" in a.label
    and not a.label.split(" \u2192 ")[0].endswith(":68"),
    "offer-unicast": lambda a: a.kind == "dhcp" and " OFFER " in a.label,
    "arp-ethertype": lambda a: a.kind == "arp",
    "arp-expiry": lambda a: a.kind == "arp" and "who-has" in a.label,
    "synack-retries": lambda a: a.kind == "tcp" and a.label.startswith("SYN,ACK"),
    "keepalive": lambda a: a.kind == "tcp",
    "time-wait": lambda a: a.kind == "tcp" and "FIN" in a.label,
}
"""Which arrow shows an erratum: the first one this accepts."""


def mark_errata(ladder: Ladder, errata: Iterable) -> Ladder:
    """Mark, for each erratum (a ``Demonstrated``, or its ``as_dict()``), the
    first arrow that shows it and not yet marked; an erratum no arrow shows
    becomes a note.  Unknown keys raise KeyError."""
    arrows = list(ladder.arrows)
    notes = list(ladder.notes)
    for erratum in errata:
        key = erratum["key"] if isinstance(erratum, dict) else erratum.key
        shows = ERRATUM_SHOWN_BY[key]
        for i, arrow in enumerate(arrows):
            if arrow.erratum is None and arrow.style != "missing" and shows(arrow):
                arrows[i] = replace(arrow, erratum=key)
                break
        else:
            notes.append(f"erratum {key}: shown by the check, on no arrow of this capture")
    return replace(ladder, arrows=tuple(arrows), notes=tuple(notes))


# ---------------------------------------------------------------- failures

def frames_of(packets: Sequence[Packet], wanted: Iterable[Packet]) -> list[int]:
    """Frame numbers (in ``packets``) of the ``wanted`` packets, recognised
    by time and bytes, so that packets read from other files are found."""
    index: dict = {}
    for number, p in enumerate(packets, 1):
        index.setdefault((p.tns, p.data), number)
    found = []
    for p in wanted:
        number = index.get((p.tns, p.data))
        if number is not None and number not in found:
            found.append(number)
    return found


def draw_failure(ladder: Ladder, failure, packets: Sequence[Packet]) -> Ladder:
    """The ladder with ``failure`` (an ExpectationFailed) drawn: the
    packets it lists (found in ``packets``, what the ladder was built
    from) marked "instead", and the expected packet as a "missing" arrow."""
    return _draw(ladder, failure.expectation, set(frames_of(packets, failure.packets)))


def draw_failure_text(ladder: Ladder, text: str, packets: Sequence[Packet]) -> Ladder:
    """The same from a failure's message (all results.json keeps): the
    packets it lists are those whose one-line summary it contains."""
    frames = {n for n, p in enumerate(packets, 1) if summary(p) in text}
    return _draw(ladder, text.splitlines()[0] if text else "failed", frames)


def _draw(ladder: Ladder, expectation: str, frames: set[int]) -> Ladder:
    arrows = [replace(a, style="instead") if frames & set(a.frames) else a
              for a in ladder.arrows]
    named = _lifelines_named(ladder, expectation)
    names = ladder.names
    if len(named) >= 2:
        src, dst = named[0], named[1]
    elif len(named) == 1:
        src = named[0]
        others = [n for n in names if n != src]
        dst = others[-1] if others else src
    else:
        src, dst = (names[0], names[-1]) if names else (BROADCAST, BROADCAST)
    time = max((a.time for a in arrows), default=0.0)
    kind = next((k for k in KINDS[:-1] if k in expectation.lower()), "other")
    expected = re.search(r"expected (\w+\(.*?\))(?: after| at|;|$)", expectation)
    label = f"expected {expected.group(1)}" if expected else expectation
    arrows.append(Arrow(frames=(), time=time, src=src, dst=dst, label=label,
                        kind=kind, style="missing"))
    return replace(ladder, arrows=tuple(arrows),
                   notes=ladder.notes + (f"failed: {expectation}",))


def _lifelines_named(ladder: Ladder, text: str) -> list[str]:
    """Lifelines the text names, by capture point or node, in text order."""
    found = []
    for line in ladder.lifelines:
        words = set(line.points) | {line.name, line.name.split(" ")[0]}
        positions = [m.start() for w in words
                     for m in re.finditer(rf"(?<![\w.-]){re.escape(w)}(?![\w-])", text)]
        if positions:
            found.append((min(positions), line.name))
    return [name for _, name in sorted(found)]

