"""Where a packet should go, predicted from the topology model alone.

The derived checks (``reach``, ``l2-scope``) prove a network against what
its model declares, so they need the model's answer first: each node's
routing table, the route a lookup picks, which interface on the far side of
a link owns the next hop, and the whole path hop by hop, there and back.
Working it out here, without Mininet or root, lets it be unit-tested by the
hundred and lets a failure say *why* from the model ("r1 has no route to
10.9.1.0/24") beside *where* from the packets.

What is modelled is what the lab configures (``netbuild``): connected
networks of every addressed interface, static routes, one default route
(a static ``default`` route, else ``Host.gateway``, else the gateway of a
DHCP interface's subnet), forwarding on routers only, and source NAT
(masquerade) out of an interface with ``nat_outside``.  Replies to a
translated packet are translated back at the same router (conntrack).
ICMP redirects, policy routing and ECMP are not modelled.

Addresses come from an *address plan*: static addresses and DHCP
reservations of the model, overridden by the addresses a running lab's
clients actually leased (``runtime``); a DHCP client's default route is
the router its lease names when one is given (``gateways``), else its
subnet's declared gateway.  Where a lease differs from the model (two relays
racing on one flat LAN), the prediction follows what the network did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Mapping

from .domains import Domain, broadcast_domains, declared_subnet, interface_network, link_subnet
from .topology import Host, Interface, Topology

Key = tuple[str, str]
"""(node, interface)."""

MAX_HOPS = 64


# -- the address plan --------------------------------------------------------------

def address_plan(topo: Topology, runtime: Mapping[Key, IPv4Interface] | None = None
                 ) -> dict[Key, IPv4Interface]:
    """Every interface's address that is known: static, else a DHCP
    reservation with its subnet's prefix, each overridden by ``runtime``
    (``{k: lease.ip_interface for k, lease in lab.leases().items()}``); a runtime
    value of None says the interface holds no address now (a DHCP client
    with no lease: its reservation is only what it should have got).  A DHCP
    interface with neither a reservation nor a lease has no entry."""
    plan: dict[Key, IPv4Interface] = {}
    for iface in topo.interfaces():
        if iface.address is not None:
            plan[(iface.node, iface.name)] = iface.address
        elif iface.dhcp is not None and iface.dhcp.reserve is not None:
            subnet = link_subnet(topo, iface)
            if subnet is not None:
                plan[(iface.node, iface.name)] = IPv4Interface(
                    f"{iface.dhcp.reserve}/{subnet.prefixlen}")
    for key, address in (runtime or {}).items():
        if address is None:
            plan.pop(key, None)
        else:
            plan[key] = IPv4Interface(address)
    return plan


# -- routing tables ---------------------------------------------------------------------

CONNECTED, STATIC, GATEWAY, DHCP, LEASE = "connected", "static", "gateway", "dhcp", "lease"


@dataclass(frozen=True)
class Route:
    """One entry of a node's routing table.  ``via`` is None for a
    connected network; ``iface`` is the interface the route sends out of;
    ``origin`` says where it came from in the model."""

    network: IPv4Network
    via: IPv4Address | None
    iface: str
    origin: str

    def __str__(self) -> str:
        dest = "default" if self.network.prefixlen == 0 else str(self.network)
        via = f" via {self.via}" if self.via is not None else ""
        return f"{dest}{via} dev {self.iface} ({self.origin})"


@dataclass(frozen=True)
class Table:
    """A node's routing table, in the order lookups break ties by
    (connected networks first, as the kernel's metric 0 routes are), and
    the routes of the model it could not install (next hop off-link)."""

    node: str
    routes: tuple[Route, ...]
    unusable: tuple[str, ...] = ()

    def lookup(self, address: IPv4Address) -> Route | None:
        """Longest prefix match; the first of equally long prefixes."""
        best: Route | None = None
        for route in self.routes:
            if address in route.network and (best is None or
                                             route.network.prefixlen > best.network.prefixlen):
                best = route
        return best


def _connected(topo: Topology, node: str, plan: Mapping[Key, IPv4Interface]) -> list[Route]:
    routes = []
    for iface in topo.interfaces(node):
        address = plan.get((node, iface.name))
        network = address.network if address is not None else interface_network(topo, iface)
        if network is not None and network.prefixlen < 32:
            routes.append(Route(network, None, iface.name, CONNECTED))
    return routes


def default_gateway(topo: Topology, host: Host,
                    leased: Mapping[Key, IPv4Address] | None = None
                    ) -> tuple[IPv4Address, str] | None:
    """The default gateway the lab gives ``host`` and where it comes from:
    ``Host.gateway``, else its first DHCP interface's router as leased
    (``leased``: (node, interface) -> the lease's first router), else that
    interface's subnet gateway as declared."""
    if host.gateway is not None:
        return host.gateway, GATEWAY
    for iface in topo.interfaces(host.name):
        if iface.dhcp is not None:
            router = (leased or {}).get((host.name, iface.name))
            if router is not None:
                return IPv4Address(router), LEASE
            subnet = declared_subnet(topo, iface)
            if subnet is not None and subnet.gateway is not None:
                return subnet.gateway, DHCP
    return None


def routing_table(topo: Topology, host: Host, plan: Mapping[Key, IPv4Interface],
                  leased: Mapping[Key, IPv4Address] | None = None) -> Table:
    """Connected networks, static routes, and the default route (a static
    ``default`` route wins over the gateway, as in ``netbuild.ip_batch``).
    A gateway route leaves by the connected route its next hop is on."""
    connected = _connected(topo, host.name, plan)
    routes, unusable = list(connected), []

    def on_link(via: IPv4Address) -> Route | None:
        found = Table(host.name, tuple(connected)).lookup(via)
        return found

    wanted = [(r.destination, r.via, STATIC) for r in host.routes]
    if not any(r.destination.prefixlen == 0 for r in host.routes):
        gateway = default_gateway(topo, host, leased)
        if gateway is not None:
            wanted.append((IPv4Network("0.0.0.0/0"), gateway[0], gateway[1]))
    for network, via, origin in wanted:
        link = on_link(via)
        if link is None:
            unusable.append(f"{network} via {via} ({origin}): {via} is on none of "
                            f"{host.name}'s networks")
            continue
        routes.append(Route(network, via, link.iface, origin))
    return Table(host.name, tuple(routes), tuple(unusable))


# -- paths ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Hop:
    """A packet at one node: where it arrived (None at the source), where
    it leaves (None where it is delivered or stuck), the address the frame
    is sent to (the gateway, or the destination itself), the route that
    chose it, and the IP addresses as the packet leaves (after a NAT here:
    ``translated``; after conntrack turned a reply back: ``untranslated``)."""

    node: str
    arrived_on: str | None
    left_on: str | None
    next_hop: IPv4Address | None
    source: IPv4Address | None
    destination: IPv4Address
    route: Route | None = None
    translated: bool = False
    untranslated: bool = False


@dataclass(frozen=True)
class Leg:
    """One frame on one wire: from the interface a node sends on to the
    interface that owns the next hop (``next_hop``, the address the sender
    resolves by ARP).  ``routers``: how many routers have forwarded the
    packet before it is on this wire (its TTL is the original's minus
    that)."""

    sender: str
    out: str
    receiver: str
    into: str
    source: IPv4Address | None
    destination: IPv4Address
    routers: int
    route: Route | None
    next_hop: IPv4Address | None = None


@dataclass(frozen=True)
class Path:
    """A packet's predicted way from ``source`` (a node) to ``destination``:
    the hops it takes, and either the node that owns the destination
    (``reached``) or why it goes no further (``failure``, stated at the
    last hop)."""

    source: str
    destination: IPv4Address
    hops: tuple[Hop, ...]
    reached: str | None = None
    failure: str | None = None

    @property
    def ok(self) -> bool:
        return self.reached is not None

    @property
    def legs(self) -> list[Leg]:
        legs, routers = [], 0
        for here, there in zip(self.hops, self.hops[1:]):
            if here is not self.hops[0] and here.left_on is not None:
                routers += 1
            legs.append(Leg(here.node, here.left_on, there.node, there.arrived_on,
                            here.source, here.destination, routers, here.route, here.next_hop))
        return legs

    @property
    def routers(self) -> list[str]:
        """The nodes that forward the packet, in order."""
        return [h.node for h in self.hops[1:] if h.left_on is not None]

    @property
    def translations(self) -> list[Hop]:
        return [h for h in self.hops if h.translated]

    @property
    def final_source(self) -> IPv4Address | None:
        """The source address the destination sees."""
        return self.hops[-1].source if self.hops else None

    def progress(self) -> str:
        """How far the packet gets, in words: "left pc1 on pc1-eth0,
        reached r1 on r1-eth0"."""
        parts = []
        for leg in self.legs:
            if not parts:
                parts.append(f"left {leg.sender} on {leg.out}")
            parts.append(f"reached {leg.receiver} on {leg.into}")
        return ", ".join(parts) or f"did not leave {self.source}"

    def __str__(self) -> str:
        names = " > ".join(
            h.node + (f" (NAT to {h.source})" if h.translated else "")
            for h in self.hops)
        return names + ("" if self.ok else f": {self.failure}")


@dataclass(frozen=True)
class RoundTrip:
    """A request and its reply: the reply leaves the node that owns the
    request's destination, from that address, to the source the request
    arrived with (translated, if a NAT was crossed), and is translated back
    where it was translated."""

    there: Path
    back: Path | None

    @property
    def ok(self) -> bool:
        return self.there.ok and self.back is not None and self.back.ok

    @property
    def failure(self) -> str | None:
        if not self.there.ok:
            return self.there.failure
        if self.back is not None and not self.back.ok:
            return f"reply: {self.back.failure}"
        return None


@dataclass
class Network:
    """A topology with an address plan, ready for lookups and paths: the
    routing tables, broadcast domains and address owners are worked out
    once, so that predicting hundreds of paths stays cheap.  ``runtime``:
    leased addresses; ``gateways``: leased routers, per (node, interface)."""

    topo: Topology
    runtime: Mapping[Key, IPv4Interface] | None = None
    gateways: Mapping[Key, IPv4Address] | None = None
    plan: dict[Key, IPv4Interface] = field(init=False)
    tables: dict[str, Table] = field(init=False)
    domains: list[Domain] = field(init=False)

    def __post_init__(self):
        self.plan = address_plan(self.topo, self.runtime)
        self.domains = broadcast_domains(self.topo)
        self._domain: dict[Key, Domain] = {(i.node, i.name): d for d in self.domains
                                           for i in d.interfaces}
        self.tables = {h.name: routing_table(self.topo, h, self.plan, self.gateways)
                       for h in self.topo.hosts()}
        self._nodes = {h.name: h for h in self.topo.hosts()}
        self._own: dict[str, set[IPv4Address]] = {}
        for (node, _iface), address in self.plan.items():
            self._own.setdefault(node, set()).add(address.ip)

    # -- facts -------------------------------------------------------------------
    def address(self, node: str, iface: str) -> IPv4Interface | None:
        return self.plan.get((node, iface))

    def addresses(self, node: str) -> set[IPv4Address]:
        return self._own.get(node, set())

    def domain_of(self, node: str, iface: str) -> Domain:
        return self._domain[(node, iface)]

    def owner(self, domain: Domain, address: IPv4Address) -> Interface | None:
        """The interface of ``domain`` that has ``address``: who answers the
        ARP request for a next hop."""
        for iface in domain.interfaces:
            own = self.plan.get((iface.node, iface.name))
            if own is not None and own.ip == address:
                return iface
        return None

    def network_of(self, address: IPv4Address) -> IPv4Network | None:
        """The network of the interface that has ``address``, if any, else
        the declared network that contains it: how a failure names where
        the packet was going."""
        for own in self.plan.values():
            if own.ip == address:
                return own.network
        for iface in self.topo.interfaces():
            network = interface_network(self.topo, iface)
            if network is not None and address in network:
                return network
        return None

    def lookup(self, node: str, address: IPv4Address) -> Route | None:
        return self.tables[node].lookup(address)

    def source_address(self, node: str, destination: IPv4Address) -> IPv4Address | None:
        """The source the kernel picks: the address of the interface the
        route to ``destination`` leaves by."""
        route = self.lookup(node, destination)
        if route is None:
            return None
        own = self.plan.get((node, route.iface))
        return own.ip if own is not None else None

    # -- paths -------------------------------------------------------------------
    def path(self, source: str, destination: IPv4Address | str, *,
             source_address: IPv4Address | None = None,
             untranslate: Mapping[tuple[str, IPv4Address], IPv4Address] | None = None) -> Path:
        """Follow a packet from node ``source`` to ``destination`` through the
        routing tables.  ``untranslate`` maps (router, translated address)
        to the original one, for replies crossing a NAT backwards."""
        destination = IPv4Address(destination)
        untranslate = dict(untranslate or {})
        src = source_address or self.source_address(source, destination)
        hops: list[Hop] = []
        node, arrived = source, None
        seen: set[tuple[str, IPv4Address]] = set()

        def stuck(reason: str) -> Path:
            hops.append(Hop(node, arrived, None, None, src, destination))
            return Path(source, IPv4Address(destination), tuple(hops), None, reason)

        while True:
            if node not in self._nodes:
                return stuck(f"{node} is not a host or router")
            back = untranslate.pop((node, destination), None)
            if back is None and destination in self.addresses(node):
                hops.append(Hop(node, arrived, None, None, src, destination))
                return Path(source, IPv4Address(destination), tuple(hops), node)
            if back is not None:
                destination = back
            if (node, destination) in seen or len(hops) >= MAX_HOPS:
                return stuck(f"routing loop: back at {node} for {destination}")
            seen.add((node, destination))
            if arrived is not None and not self._nodes[node].forwarding:
                return stuck(f"{node} is not a router: it does not forward to {destination}")
            route = self.lookup(node, destination)
            if route is None:
                network = self.network_of(destination)
                return stuck(f"{node} has no route to {network or destination}")
            next_hop = route.via or destination
            domain = self.domain_of(node, route.iface)
            owner = self.owner(domain, next_hop)
            if owner is None:
                return stuck(f"{next_hop} is not on any interface of {domain.name} "
                             f"({node}'s route {route})")
            iface = next(i for i in self.topo.interfaces(node) if i.name == route.iface)
            translated = iface.nat_outside and arrived is not None
            if translated:
                own = self.plan.get((node, route.iface))
                src = own.ip if own is not None else src
            if src is None:
                return stuck(f"{node} has no address on {route.iface} to send from")
            hops.append(Hop(node, arrived, route.iface, next_hop, src, destination, route,
                            translated=translated, untranslated=back is not None))
            node, arrived = owner.node, owner.name

    def round_trip(self, source: str, destination: IPv4Address | str) -> RoundTrip:
        """The request's path and, if it arrives, the reply's."""
        there = self.path(source, destination)
        if not there.ok:
            return RoundTrip(there, None)
        untranslate = {}
        for before, hop in zip(there.hops, there.hops[1:]):
            if hop.translated:
                untranslate[(hop.node, hop.source)] = before.source
        back = self.path(there.reached, there.final_source,
                         source_address=IPv4Address(destination), untranslate=untranslate)
        return RoundTrip(there, back)

    def nat_between(self, inside: str, outside_address: IPv4Address | str) -> list[Hop]:
        """The NAT hops a packet from ``inside`` to ``outside_address``
        crosses: when not empty, ``outside_address``'s node is outside a NAT
        relative to ``inside`` and cannot open connections towards it."""
        return self.path(inside, outside_address).translations
