"""Stations: which interface sends or receives each frame of a capture.

A MAC is given to a node by, in order: the capture point it is captured
at (with the model, the MAC that sends from the point's interface address;
else the MAC a packet went to at one of the node's points and came from at
another, forwarded or translated by the node; else the MAC in most of the point's unicast frames, a tie going to the DHCP
client or server, or to a MAC that only sends packets it originated; else
the MAC in most of its broadcasts that no other point owns); an ARP sender
address or the source of a packet it originated (TTL 64, 128 or 255) that
the model assigns to an interface; with the model, the next hop a point's
owner talks to about a far address (its route, its gateway, its subnet's
gateway); else it is named by that address, else by the MAC.  A station is
``(node, interface)``, the interface empty when unknown.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Sequence

from ..packets import kinds as K
from ..packets.packet import Packet

ORIGIN_TTLS = (64, 128, 255)
"""TTLs a packet leaves its sender with (Linux, Windows, network gear)."""

@dataclass
class Stations:
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

    def learn(self, packets: Sequence[Packet], journeys: Sequence[Sequence[Packet]] = ()
              ) -> None:
        """Learn from the packets, and from ``journeys``: the sightings of
        each packet at several points, in order."""
        through = self._through(journeys)
        unicast: dict[str, Counter] = {}
        broadcast: dict[str, Counter] = {}
        for p in packets:
            k = p.kinds
            if not k & K.ETH:
                continue
            src, dst = p.eth.src, p.eth.dst
            seen = self.seen_at.setdefault(p.point, [])
            for mac in (src, dst):
                if not is_group(mac) and mac not in seen:
                    seen.append(mac)
            if is_group(dst):
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
            mac = self._model_mac(point, packets) or through.get(point)
            owned = set(self.owner_of_point.values())
            counts = {m: n for m, n in (unicast.get(point) or {}).items() if m not in owned}
            if mac is None and counts:      # one MAC, one interface: not another point's
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
        if not (p.kinds & K.ETH and p.kinds & K.IP) or is_group(p.eth.dst):
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

    def node_of_point(self, point: str) -> str:
        known = self.point_station(point)
        return known[0] if known else split_point(point)[0]

    def _through(self, journeys) -> dict[str, str]:
        """A packet seen at two capture points of one node went through it:
        it was sent to the node's MAC at the first, from its MAC at the second."""
        found: dict[str, str] = {}
        for sightings in journeys:
            for a, b in zip(sightings, sightings[1:]):
                if a.point == b.point or not (a.kinds & K.ETH and b.kinds & K.ETH) \
                        or self.node_of_point(a.point) != self.node_of_point(b.point):
                    continue
                if not is_group(a.eth.dst):
                    found.setdefault(a.point, a.eth.dst)
                found.setdefault(b.point, b.eth.src)
        return found

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
        return self.point_station(point) or split_point(point)

    def key_of_mac(self, mac: str) -> tuple[str, str]:
        """A station key: ``(node, interface)``; interface empty when unknown."""
        for point, owner in self.owner_of_point.items():
            if owner == mac:
                known = self.point_station(point)
                return known or split_point(point)
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
    first to send there (the capture was started for its traffic)."""
    at = [p for p in packets if p.point == point and p.kinds & K.ETH]
    senders = list(dict.fromkeys(p.eth.src for p in at))
    tied = sorted(tied, key=lambda m: senders.index(m) if m in senders else len(senders))
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


def split_point(point: str) -> tuple[str, str]:
    """``node:iface`` or ``node-eth0`` (the interface names the node)."""
    if ":" in point:
        node, iface = point.split(":", 1)
        return node, iface
    node = point.rsplit("-", 1)[0] if "-" in point else point
    return node, point


def is_group(mac: str) -> bool:
    return bool(int(mac.split(":")[0], 16) & 1)
