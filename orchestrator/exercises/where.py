"""Where faults can be put, found in the model alone: relays and the clients
they serve, served subnets, free addresses, the user of a network and what
it would reach.  Shared by the catalogue so that every fault reads the
model the same way the derived checks do.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

from services.dhcp_relay import DHCP_RELAY
from services.dhcp_server import DHCP_SERVER

from ..checks.derived.common import end_hosts, static_ip, users_first
from ..model import Interface, Router, Subnet, Topology
from ..model.domains import broadcast_domains, declared_subnet


def dhcp_interfaces(topo: Topology) -> list[Interface]:
    return [i for i in topo.interfaces() if i.dhcp is not None]


def relayed_by(topo: Topology, router: str) -> list[Interface]:
    """The DHCP interfaces whose model names ``router`` as their relay."""
    return [i for i in dhcp_interfaces(topo) if i.dhcp.relay == router]


def relays(topo: Topology) -> list[tuple[Router, dict]]:
    """Every router running a DHCP relay, with the relay's parameters."""
    return [(node, svc.params) for node in topo.hosts() if isinstance(node, Router)
            for svc in node.services if svc.kind == DHCP_RELAY]


def same_domain(topo: Topology, iface_a: Interface) -> list[Interface]:
    """Every interface in ``iface_a``'s broadcast domain, itself included."""
    for domain in broadcast_domains(topo):
        if any(i is iface_a for i in domain.interfaces):
            return list(domain.interfaces)
    return [iface_a]


def served_subnets(topo: Topology) -> list[tuple[str, Subnet]]:
    """(server node, subnet) for every subnet a DHCP server hands out."""
    return [(host.name, subnet) for host in topo.hosts() for svc in host.services
            if svc.kind == DHCP_SERVER for subnet in svc.params.get("subnets", ())]


def clients_of(topo: Topology, server: str, network: IPv4Network) -> list[Interface]:
    """The DHCP interfaces served by ``server`` on ``network``."""
    found = []
    for iface in dhcp_interfaces(topo):
        subnet = declared_subnet(topo, iface)
        if iface.dhcp.server == server and subnet is not None and subnet.network == network:
            found.append(iface)
    return found


def taken_addresses(topo: Topology) -> set[IPv4Address]:
    """Every address the model gives anything: interfaces, reservations,
    gateways, DNS servers, pools."""
    taken: set[IPv4Address] = set()
    for iface in topo.interfaces():
        if iface.ip is not None:
            taken.add(iface.ip)
        if iface.dhcp is not None and iface.dhcp.reserve is not None:
            taken.add(iface.dhcp.reserve)
    subnets = [v.subnet for v in topo.vlans] + [s.subnet for s in topo.switches()]
    subnets += [s for _server, s in served_subnets(topo)]
    for subnet in subnets:
        if subnet is None:
            continue
        if subnet.gateway is not None:
            taken.add(subnet.gateway)
        taken.update(subnet.dns)
        if subnet.pool is not None:
            first, last = subnet.pool
            taken.update(IPv4Address(a) for a in range(int(first), int(last) + 1))
    return taken


def free_address(topo: Topology, network: IPv4Network) -> IPv4Address | None:
    """The highest address of ``network`` that the model gives nothing:
    a next hop, a server or a router nobody answers for."""
    taken = taken_addresses(topo)
    for candidate in reversed(list(network.hosts())):
        if candidate not in taken:
            return candidate
    return None


def network_of(topo: Topology, address: IPv4Address) -> IPv4Network | None:
    """The network of the interface that has ``address``, or that holds it."""
    for iface in topo.interfaces():
        if iface.address is not None and address in iface.address.network:
            return iface.address.network
    for subnet in [v.subnet for v in topo.vlans] + [s.subnet for s in topo.switches()]:
        if subnet is not None and address in subnet.network:
            return subnet.network
    return None


def model_address(topo: Topology, iface: Interface) -> IPv4Address | None:
    """An interface's address as the model knows it: static, else reserved."""
    if iface.ip is not None:
        return iface.ip
    return iface.dhcp.reserve if iface.dhcp is not None else None


def users(topo: Topology) -> list[str]:
    """End hosts, DHCP clients first, in model order: who a symptom is about."""
    return [h.name for h in users_first(topo, end_hosts(topo))]


def server_address(topo: Topology, node: str) -> IPv4Address | None:
    return static_ip(topo, node)
