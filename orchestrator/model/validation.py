"""Whole-model checks: everything wrong with a topology, before anything runs.

The builder refuses values that do not parse, at the line that wrote them;
what needs the whole model (duplicates, subnets, who serves whom) is checked
here.  Every check runs and every problem is reported, so that a user fixes
a topology in one pass instead of one error per run, and nothing here needs
root or Mininet: ``flowlab validate`` and the unit tests call it directly.

Each problem is a :class:`TopologyError` naming the node (None for problems
of the topology as a whole) and the field, in the order the checks are
listed in :data:`CHECKS` and, within a check, in declaration order.

:func:`warnings` names what is sound but will not work out for everyone (a
DHCP pool smaller than its clients): reported, never refused, since a
starved network is a lab worth building.
"""

from __future__ import annotations

import re
from collections import Counter
from ipaddress import IPv4Address, IPv4Network
from typing import Callable, Iterable, Iterator

from services.dhcp_relay import DHCP_RELAY
from services.dhcp_server import DHCP_SERVER
from services.registry import KINDS, known_kinds

from ..errors import TopologyError
from .domains import broadcast_domains, connected_networks, declared_subnet, link_subnet
from .pools import oversubscribed
from .topology import DHCP_CLIENTS, Host, Interface, Port, Router, Service, Subnet, Switch, Topology

# Mininet puts node names into interface names and shell commands.
NODE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
TOPOLOGY_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,39}")
HOST_NAME = re.compile(r"(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?")
IFNAMSIZ = 15  # Linux netdev names: 15 characters and the terminating NUL
VLAN_IDS = range(1, 4095)  # 0 and 4095 are reserved by 802.1Q

Problems = Iterator[TopologyError]


def problems(topo: Topology) -> list[TopologyError]:
    """Every problem of ``topo``, in a stable order; empty if it is sound."""
    return [problem for check in CHECKS for problem in check(topo)]


def warnings(topo: Topology) -> list[TopologyError]:
    """What will not work out for every node of a sound ``topo``, as
    records shaped like problems (node, field, message); nothing refuses
    a topology for them."""
    return [d.problem() for d in oversubscribed(topo)]


def validate(topo: Topology) -> None:
    """Raise the first problem of ``topo``; return if there is none."""
    found = problems(topo)
    if found:
        raise found[0]


# -- helpers ------------------------------------------------------------------

def _names(items: Iterable[object]) -> str:
    return ", ".join(str(item) for item in items)


def _misplaced(ip: IPv4Address, network: IPv4Network) -> str | None:
    """Why ``ip`` cannot be a host's address on ``network``, or None."""
    if ip not in network:
        return "is outside"
    if network.prefixlen < 31 and ip == network.network_address:
        return "is the network address of"
    if network.prefixlen < 31 and ip == network.broadcast_address:
        return "is the broadcast address of"
    return None


def _in_pool(ip: IPv4Address | None, subnet: Subnet | None) -> bool:
    return bool(ip and subnet and subnet.pool and subnet.pool[0] <= ip <= subnet.pool[1])


def _pool_text(subnet: Subnet) -> str:
    return f"{subnet.pool[0]}-{subnet.pool[1]}"


def _subnet_phrase(topo: Topology, iface: Interface, network: IPv4Network) -> str:
    """'the subnet 10.1.1.0/24 of VLAN 10 (pcs-a)': where the subnet comes from."""
    link = topo.link_of(iface)
    port = link.other(iface)
    if link.subnet is not None or not isinstance(port, Port):
        return f"the subnet {network} of the link"
    vlan = topo.vlan_by_id(port.vlan) if port.vlan is not None else None
    if vlan is not None:
        return f"the subnet {network} of VLAN {vlan.id} ({vlan.name})"
    return f"the subnet {network} of switch {port.node}"


def _node_networks(topo: Topology, node: str) -> str:
    return _names(connected_networks(topo, node)) or "it has none"


def _runs(topo: Topology, node_name: str, kind: str) -> Service | None:
    node = topo.find(node_name)
    if not isinstance(node, Host):
        return None
    return next((svc for svc in node.services if svc.kind == kind), None)


def _served_networks(service: Service) -> list[IPv4Network]:
    return [s.network for _, s in KINDS[service.kind].declared_subnets(service)]


# -- names and links ------------------------------------------------------------

def check_topology(topo: Topology) -> Problems:
    """A name that is safe in a path (the run directory is named after it),
    and something to bring up."""
    if not isinstance(topo.name, str) or not TOPOLOGY_NAME.fullmatch(topo.name):
        yield TopologyError(None, "topology name",
                            f"{topo.name!r} is not a usable topology name: start with a letter, "
                            "then letters, digits, '-' or '_', at most 40 (it names the run's "
                            "directory)")
    if not topo.nodes:
        yield TopologyError(None, "nodes", f"topology {topo.name!r} declares no node: nothing "
                                           "to bring up")


def check_hosts_files(topo: Topology) -> Problems:
    """Entries of a node's own /etc/hosts: a host name and an IPv4 address."""
    for host in topo.hosts():
        for name, address in host.hosts.items():
            field = f"hosts[{name!r}]"
            if not isinstance(name, str) or not HOST_NAME.fullmatch(name):
                yield TopologyError(host.name, field, f"{name!r} is not a host name")
            try:
                IPv4Address(str(address))
            except ValueError:
                yield TopologyError(host.name, field, f"{address!r} is not an IPv4 address")


def check_node_names(topo: Topology) -> Problems:
    """Unique, shell- and interface-safe node names; switch names fit a netdev."""
    counts = Counter(node.name for node in topo.nodes)
    reported = set()
    for node in topo.nodes:
        name = node.name
        if not isinstance(name, str) or not NODE_NAME.fullmatch(name):
            yield TopologyError(name or None, "name",
                                f"{name!r} is not a usable node name: start with a letter and "
                                "use only letters, digits and underscore (Mininet puts it in "
                                "interface names and shell commands)")
        elif counts[name] > 1 and name not in reported:
            reported.add(name)
            yield TopologyError(name, "name",
                                f"{counts[name]} nodes are named {name!r}; names must be unique")
        if isinstance(node, Switch) and isinstance(name, str) and len(name) > IFNAMSIZ:
            yield TopologyError(name, "name",
                                f"a switch becomes a bridge interface named after it, and "
                                f"{name!r} has {len(name)} characters (Linux allows {IFNAMSIZ})")


def check_links(topo: Topology) -> Problems:
    """Links join two different nodes that exist, declared before the link."""
    for link in topo.links:
        for end in link.ends:
            node = topo.find(end.node)
            other = link.other(end)
            if node is None:
                where = other.node if topo.find(other.node) is not None else None
                yield TopologyError(where, f"{other.name}: link",
                                    f"links to {end.node!r}, which is not a node of this topology")
            elif isinstance(end, Interface) and isinstance(node, Switch):
                yield TopologyError(end.node, f"{end.name}: link",
                                    f"the link to {other.node} was declared before the switch "
                                    f"{end.node}: declare nodes before linking them")
        if link.a.node == link.b.node:
            yield TopologyError(link.a.node, f"{link.a.name}: link",
                                f"links the node to itself ({link.a.name} <-> {link.b.name})")


def check_interface_names(topo: Topology) -> Problems:
    """Interface names fit IFNAMSIZ and are unique on their node."""
    seen: dict[str, set[str]] = {}
    reported: set[tuple[str, str]] = set()
    for link in topo.links:
        for end in link.ends:
            if len(end.name) > IFNAMSIZ:
                yield TopologyError(end.node, f"{end.name}: name",
                                    f"{end.name!r} has {len(end.name)} characters; Linux "
                                    f"interface names have at most {IFNAMSIZ} (shorten the "
                                    "node name or give name=/peer_name=)")
            names = seen.setdefault(end.node, set())
            if end.name in names and (end.node, end.name) not in reported:
                reported.add((end.node, end.name))
                yield TopologyError(end.node, f"{end.name}: name",
                                    f"{end.node} has two interfaces named {end.name!r}")
            names.add(end.name)


# -- VLANs ----------------------------------------------------------------------

def check_vlans(topo: Topology) -> Problems:
    """Declared VLANs are unique and in range; ports use them as 802.1Q allows."""
    declared: set[int] = set()
    for vlan in topo.vlans:
        if vlan.id not in VLAN_IDS:
            yield TopologyError(None, f"vlan {vlan.id}",
                                f"VLAN id {vlan.id} ({vlan.name}) is outside 1..4094")
        if vlan.id in declared:
            yield TopologyError(None, f"vlan {vlan.id}",
                                f"VLAN {vlan.id} is declared more than once ({vlan.name})")
        declared.add(vlan.id)
    undeclared_reported: set[int] = set()
    for link in topo.links:
        ports = [end for end in link.ends if isinstance(end, Port)]
        for port in ports:
            yield from _port_problems(port, between_switches=len(ports) == 2)
            for vid, what in _vlans_used(port):
                if topo.vlan_by_id(vid) is None and vid not in undeclared_reported:
                    undeclared_reported.add(vid)
                    yield TopologyError(port.node, f"{port.name}: {what}",
                                        f"VLAN {vid} is used but not declared: add "
                                        f"topo.vlan({vid}, name, subnet)")
        if len(ports) == 2 and link.a.vlan is not None:
            yield TopologyError(link.a.node, f"{link.a.name}: vlan",
                                f"an access VLAN on a link between two switches ({link.a.node}, "
                                f"{link.b.node}): carry VLANs with trunk=[...], or leave the "
                                "link untagged")


def _vlans_used(port: Port) -> Iterator[tuple[int, str]]:
    """(VLAN id, the Port field that names it) for every VLAN a port uses."""
    if port.vlan is not None:
        yield port.vlan, "vlan"
    for vid in port.trunk or ():
        yield vid, "trunk"


def _port_problems(port: Port, between_switches: bool) -> Problems:
    if port.trunk is None:
        return
    if port.vlan is not None:
        yield TopologyError(port.node, f"{port.name}: trunk",
                            "a port is either an access port (vlan=) or a trunk (trunk=), "
                            "not both")
    if not port.trunk:
        yield TopologyError(port.node, f"{port.name}: trunk", "a trunk must carry a VLAN")
    if not between_switches:
        yield TopologyError(port.node, f"{port.name}: trunk",
                            "a trunk carries tagged frames, and hosts and routers here have no "
                            "VLAN sub-interfaces: use vlan= for an access port")


# -- addresses ------------------------------------------------------------------

def check_addresses(topo: Topology) -> Problems:
    """Static addresses sit in their link's subnet, are usable host
    addresses, and stay out of the DHCP pool."""
    for iface in topo.interfaces():
        if iface.address is None:
            continue
        field = f"{iface.name}: ip"
        subnet = link_subnet(topo, iface)
        network = subnet or iface.address.network
        why = _misplaced(iface.ip, network)
        where = _subnet_phrase(topo, iface, network) if subnet else str(network)
        if why:
            yield TopologyError(iface.node, field, f"{iface.address} {why} {where}")
        elif subnet and iface.address.network != subnet:
            yield TopologyError(iface.node, field,
                                f"{iface.address} has prefix /{iface.address.network.prefixlen}"
                                f", but {where} is /{subnet.prefixlen}")
        spec = declared_subnet(topo, iface)
        if _in_pool(iface.ip, spec):
            yield TopologyError(iface.node, field,
                                f"{iface.ip} is inside the DHCP pool {_pool_text(spec)} of "
                                f"{spec.network}: the server may hand it out")
    yield from _point_to_point_problems(topo)


def _point_to_point_problems(topo: Topology) -> Problems:
    for link in topo.links:
        a, b = link.ends
        if (link.subnet is None and isinstance(a, Interface) and isinstance(b, Interface)
                and a.address and b.address and a.address.network != b.address.network):
            yield TopologyError(a.node, f"{a.name}: ip",
                                f"{a.address} and {b.node}'s {b.address} are on different "
                                "networks; both ends of a point-to-point link need one")


Claims = Iterator[tuple[object, Interface, str]]


def _ip_claims(topo: Topology) -> Claims:
    """(address, interface, field) for every static address and reservation."""
    for iface in topo.interfaces():
        if iface.ip is not None:
            yield iface.ip, iface, f"{iface.name}: ip"
        if iface.dhcp is not None and iface.dhcp.reserve is not None:
            yield iface.dhcp.reserve, iface, f"{iface.name}: dhcp.reserve"


def _mac_claims(topo: Topology) -> Claims:
    for iface in topo.interfaces():
        if iface.mac is not None:
            yield iface.mac, iface, f"{iface.name}: mac"


def check_duplicates(topo: Topology) -> Problems:
    """One owner per IPv4 address (static or reserved) and per MAC."""
    for claims, what in ((_ip_claims, "address"), (_mac_claims, "MAC")):
        owners: dict[object, Interface] = {}
        for value, iface, field in claims(topo):
            owner = owners.setdefault(value, iface)
            if owner is not iface:
                yield TopologyError(iface.node, field,
                                    f"{value} is already the {what} of {owner.name}")


def _declared_subnets(topo: Topology) -> Iterator[tuple[Subnet, str | None, str]]:
    """Every Subnet object with where it was declared, each once."""
    sources: list[tuple[object, str | None, str]] = []
    sources += [(v.subnet, None, f"vlan {v.id}: subnet") for v in topo.vlans]
    sources += [(s.subnet, s.name, "subnet") for s in topo.switches()]
    for host in topo.hosts():
        for svc in host.services:
            if svc.kind in KINDS:
                sources += [(s, host.name, f"services[{svc.kind}].{param}")
                            for param, s in KINDS[svc.kind].declared_subnets(svc)]
    seen: set[int] = set()
    for subnet, node, field in sources:
        if isinstance(subnet, Subnet) and id(subnet) not in seen:
            seen.add(id(subnet))
            yield subnet, node, field


def check_subnets(topo: Topology) -> Problems:
    """What a DHCP server hands out on a subnet lies inside it."""
    for subnet, node, field in _declared_subnets(topo):
        net = subnet.network
        lease = subnet.lease_time
        if isinstance(lease, bool) or not isinstance(lease, int) or lease <= 0:
            yield TopologyError(node, field, f"the lease time of {net} is {lease!r}: give a "
                                             "positive number of seconds")
        if subnet.gateway is not None and subnet.gateway not in net:
            yield TopologyError(node, field, f"the gateway {subnet.gateway} of {net} is outside it")
        if subnet.pool is None:
            continue
        start, end = subnet.pool
        if start not in net or end not in net:
            yield TopologyError(node, field, f"the pool {_pool_text(subnet)} is not inside {net}")
        elif start > end:
            yield TopologyError(node, field, f"the pool of {net} starts at {start}, after its "
                                             f"end {end}")
        elif _in_pool(subnet.gateway, subnet):
            yield TopologyError(node, field, f"the pool {_pool_text(subnet)} includes the "
                                             f"gateway {subnet.gateway}")


def check_broadcast_domains(topo: Topology) -> Problems:
    """One subnet per broadcast domain, unless its switches say otherwise."""
    for domain in broadcast_domains(topo):
        by_network: dict[IPv4Network, list[str]] = {}
        for iface in domain.interfaces:
            network = _meant_network(topo, iface)
            if network is not None:
                by_network.setdefault(network, []).append(iface.name)
        switches = [s for s in topo.switches() if s.name in domain.switches]
        strict = [s for s in switches if not s.mixed_subnets]
        if len(by_network) < 2 or not strict:
            continue
        # A flat switch is the likelier cause, so it is the one named.
        switch = next((s for s in strict if not s.vlans), strict[0])
        carried = "; ".join(f"{net} ({_names(names)})" for net, names in by_network.items())
        remedy = ("turn its VLANs on" if not switch.vlans
                  else "put the subnets on different VLANs")
        yield TopologyError(switch.name, "mixed_subnets" if switch.vlans else "vlans",
                            f"broadcast domain {domain.name!r} carries several subnets: "
                            f"{carried}; {remedy}, or set mixed_subnets=True if it is intended")


def _meant_network(topo: Topology, iface: Interface) -> IPv4Network | None:
    """The subnet an interface is meant to be on, else the one it is on: an
    address outside its declared subnet is reported once, by check_addresses,
    not again as a second subnet on the domain."""
    if (subnet := link_subnet(topo, iface)) is not None:
        return subnet
    return iface.address.network if iface.address else None


# -- gateways and routes ------------------------------------------------------------

def check_gateways(topo: Topology) -> Problems:
    """A host's default gateway is on one of its own networks."""
    for host in topo.hosts():
        if host.gateway is not None and not _reachable(topo, host.name, host.gateway):
            yield TopologyError(host.name, "gateway",
                                f"{host.gateway} is on none of {host.name}'s networks "
                                f"({_node_networks(topo, host.name)})")


def check_routes(topo: Topology) -> Problems:
    """A static route's next hop is on one of the node's own networks."""
    for host in topo.hosts():
        for route in host.routes:
            if not _reachable(topo, host.name, route.via):
                yield TopologyError(host.name, "routes.via",
                                    f"unreachable next hop {route.via} for {route.destination}: "
                                    f"it is on none of {host.name}'s networks "
                                    f"({_node_networks(topo, host.name)})")


def _reachable(topo: Topology, node: str, address: IPv4Address) -> bool:
    return any(address in net for net in connected_networks(topo, node))


# -- services -------------------------------------------------------------------

def check_services(topo: Topology) -> Problems:
    """Services are registered kinds, and each kind finds its declarations
    sound (:meth:`services.kind.ServiceDaemon.problems`)."""
    for host in topo.hosts():
        for svc in host.services:
            kind = KINDS.get(svc.kind)
            if kind is None:
                yield TopologyError(host.name, f"services[{svc.kind}]",
                                    f"unknown service {svc.kind!r}; known: "
                                    f"{_names(known_kinds())}")
            else:
                yield from kind.problems(topo, host, svc)
        for kind in KINDS.values():
            yield from kind.host_problems(topo, host)


# -- DHCP and NAT -------------------------------------------------------------------

def check_dhcp(topo: Topology) -> Problems:
    """DHCP interfaces name a real server and relay, a known client, a
    subnet to be served from, and a reservation that can be honoured."""
    for iface in topo.interfaces():
        if iface.dhcp is not None:
            yield from _dhcp_problems(topo, iface)


def _dhcp_problems(topo: Topology, iface: Interface) -> Problems:
    dhcp, node, name = iface.dhcp, iface.node, iface.name
    if iface.address is not None:
        yield TopologyError(node, f"{name}: ip",
                            f"{iface.address} is static, but the interface takes its address "
                            "by DHCP: give one or the other")
    if dhcp.client not in DHCP_CLIENTS:
        yield TopologyError(node, f"{name}: dhcp.client",
                            f"unknown DHCP client {dhcp.client!r}; known: {_names(DHCP_CLIENTS)}")
    server = _runs(topo, dhcp.server, DHCP_SERVER)
    for role, kind in (("server", DHCP_SERVER), ("relay", DHCP_RELAY)):
        target = getattr(dhcp, role)
        if target is not None and _runs(topo, target, kind) is None:
            yield TopologyError(node, f"{name}: dhcp.{role}",
                                f"{target!r} runs no {kind} service")
    subnet = link_subnet(topo, iface)
    if subnet is None:
        yield TopologyError(node, f"{name}: dhcp",
                            "no subnet to take an address from: plug the interface into a "
                            "switch port whose VLAN or switch declares a subnet")
    elif server is not None and subnet not in _served_networks(server):
        yield TopologyError(node, f"{name}: dhcp.server",
                            f"the {DHCP_SERVER} of {dhcp.server} does not serve {subnet}")
    if dhcp.reserve is not None:
        yield from _reservation_problems(topo, iface, subnet)


def _reservation_problems(topo: Topology, iface: Interface,
                          subnet: IPv4Network | None) -> Problems:
    field = f"{iface.name}: dhcp.reserve"
    reserve = iface.dhcp.reserve
    if iface.mac is None:
        yield TopologyError(iface.node, field,
                            f"a reservation is made by MAC address: give {iface.name} a mac")
    why = _misplaced(reserve, subnet) if subnet else None
    spec = declared_subnet(topo, iface)
    if why:
        yield TopologyError(iface.node, field,
                            f"{reserve} {why} {_subnet_phrase(topo, iface, subnet)}")
    elif _in_pool(reserve, spec):
        yield TopologyError(iface.node, field,
                            f"{reserve} is inside the dynamic pool {_pool_text(spec)}: reserve "
                            "an address outside it")
    renew = iface.dhcp.renew_time
    if renew is not None and spec is not None and renew >= spec.lease_time:
        yield TopologyError(iface.node, f"{iface.name}: dhcp.renew_time",
                            f"T1 of {renew} s is not shorter than the lease of "
                            f"{spec.lease_time} s: the client would renew after it expired")


def check_nat(topo: Topology) -> Problems:
    """Only routers masquerade: NAT needs forwarding between interfaces."""
    for iface in topo.interfaces():
        node = topo.find(iface.node)
        if iface.nat_outside and node is not None and not isinstance(node, Router):
            yield TopologyError(iface.node, f"{iface.name}: nat",
                                f"source NAT needs a router, and {iface.node} is a {node.role}: "
                                "declare it with topo.router(...)")


CHECKS: tuple[Callable[[Topology], Problems], ...] = (
    check_topology, check_node_names, check_links, check_interface_names, check_vlans, check_addresses,
    check_duplicates, check_subnets, check_broadcast_domains, check_gateways, check_routes,
    check_services, check_dhcp, check_nat, check_hosts_files,
)
