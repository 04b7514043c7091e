"""Layer 2 and 3 of a topology model: broadcast domains and subnets.

Validation, the capture planner and the checks all need to know which
interfaces hear each other's broadcasts and which subnet an interface is
meant to be on.  Working that out once, here, from the model alone (no
Mininet, no root) keeps them in agreement: a DISCOVER that reaches two
relays in the ``--no-vlan`` set-up is one broadcast domain for all of them.

A broadcast domain is a set of *keys* ``(switch, vlan)``: an access port
puts its interface on ``(switch, vlan)``, an untagged port on
``(switch, None)``.  A flat switch (``vlans=False``) forwards every frame to
every port, so all of its ports sit on ``(switch, None)`` whatever their tag.
Links between switches join keys: a trunk joins the VLANs it carries, an
untagged link the untagged sides.  A link between two hosts or routers is a
domain of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Network

from .topology import Interface, Link, Port, Subnet, Switch, Topology

Key = tuple[str, int | None]


@dataclass
class Domain:
    """One broadcast domain: who hears a broadcast sent on it."""

    name: str
    interfaces: list[Interface] = field(default_factory=list)
    keys: frozenset[Key] = frozenset()

    @property
    def switches(self) -> list[str]:
        return sorted({switch for switch, _ in self.keys})


class _UnionFind:
    """Union-find over keys that remembers the order keys were first seen,
    so that domain names do not depend on hashing."""

    def __init__(self):
        self.parent: dict[Key, Key] = {}

    def add(self, key: Key) -> Key:
        self.parent.setdefault(key, key)
        return key

    def find(self, key: Key) -> Key:
        self.add(key)
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def union(self, a: Key, b: Key) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


def _is_flat(topo: Topology, switch_name: str) -> bool:
    switch = topo.find(switch_name)
    return isinstance(switch, Switch) and not switch.vlans


def _key(topo: Topology, switch_name: str, vlan: int | None) -> Key:
    return (switch_name, None if _is_flat(topo, switch_name) else vlan)


def port_key(topo: Topology, port: Port) -> Key:
    """The key an interface attached to ``port`` sits on."""
    return _key(topo, port.node, port.vlan)


def _carried(port: Port) -> tuple[int | None, ...]:
    """The VLANs a port between two switches carries (None: untagged)."""
    if port.trunk is not None:
        return port.trunk
    return (port.vlan,)


def _key_name(key: Key) -> str:
    switch, vlan = key
    return switch if vlan is None else f"{switch}/vlan{vlan}"


def broadcast_domains(topo: Topology) -> list[Domain]:
    """Every broadcast domain with at least one host or router interface on
    it, in the order their first link was declared."""
    uf = _UnionFind()
    for link in topo.links:
        if isinstance(link.a, Port) and isinstance(link.b, Port):
            b_carries = set(_carried(link.b))
            for vlan in _carried(link.a):
                if vlan in b_carries:
                    uf.union(_key(topo, link.a.node, vlan), _key(topo, link.b.node, vlan))
        else:
            for end in link.ends:
                if isinstance(end, Port):
                    uf.add(port_key(topo, end))

    groups: dict[Key, list[Key]] = {}
    for key in uf.parent:
        groups.setdefault(uf.find(key), []).append(key)

    domains: dict[object, Domain] = {}
    for link in topo.links:
        for iface, port in _attachments(link):
            if port is None:
                ident = id(link)
                name = f"{link.a.name}<->{link.b.name}"
                keys: frozenset[Key] = frozenset()
            else:
                ident = uf.find(port_key(topo, port))
                name = _key_name(groups[ident][0])
                keys = frozenset(groups[ident])
            domains.setdefault(ident, Domain(name, [], keys)).interfaces.append(iface)
    return list(domains.values())


def _attachments(link: Link) -> list[tuple[Interface, Port | None]]:
    """The interfaces of a link with the switch port each is plugged into
    (None for a point-to-point link)."""
    a, b = link.ends
    if isinstance(a, Interface) and isinstance(b, Interface):
        return [(a, None), (b, None)]
    if isinstance(a, Interface):
        return [(a, b)]
    if isinstance(b, Interface):
        return [(b, a)]
    return []


def declared_subnet(topo: Topology, iface: Interface) -> Subnet | None:
    """The :class:`Subnet` (with gateway, pool, DNS) an interface is plugged
    into: its access VLAN's, or the switch's for an untagged port.

    The VLAN counts even on a flat switch: the tag still says which subnet
    the port is meant for, though it does not separate the traffic.
    """
    port = topo.link_of(iface).other(iface)
    subnet = _port_subnet(topo, port) if isinstance(port, Port) else None
    return subnet if isinstance(subnet, Subnet) else None


def _port_subnet(topo: Topology, port: Port) -> object:
    if port.vlan is not None:
        vlan = topo.vlan_by_id(port.vlan)
        return vlan.subnet if vlan else None
    if port.trunk is None:
        switch = topo.find(port.node)
        return switch.subnet if isinstance(switch, Switch) else None
    return None


def link_subnet(topo: Topology, iface: Interface) -> IPv4Network | None:
    """The subnet ``iface`` is meant to be on: the link's declared subnet,
    else the VLAN's or switch's; None for an undeclared point-to-point link."""
    link = topo.link_of(iface)
    if link.subnet is not None:
        return link.subnet
    subnet = declared_subnet(topo, iface)
    return subnet.network if subnet else None


def interface_network(topo: Topology, iface: Interface) -> IPv4Network | None:
    """The network ``iface`` is actually on: its static address's, or for a
    DHCP interface the subnet of its link (where its lease will be)."""
    if iface.address is not None:
        return iface.address.network
    if iface.dhcp is not None:
        return link_subnet(topo, iface)
    return None


def connected_networks(topo: Topology, node_name: str) -> list[IPv4Network]:
    """The networks a node is directly on, in interface order, each once:
    where its gateway and the next hops of its routes must lie."""
    networks: list[IPv4Network] = []
    for iface in topo.interfaces(node_name):
        network = interface_network(topo, iface)
        if network is not None and network not in networks:
            networks.append(network)
    return networks
