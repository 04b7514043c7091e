"""Who races, derived from the model alone, before anything is built.

Without VLANs, a client's DISCOVER reaches every relay of its broadcast
domain; each relays it with its own address as giaddr.  :func:`plan` finds,
on any topology, the client's DHCP interface, the relays of its broadcast
domain as it is without VLANs (the contenders), the servers they forward to
and the subnets they hand out, and refuses (:class:`RaceError`) where the
domain holds fewer than two relays: there is no race, and nothing for VLANs
to fix.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv4Network

from services.dhcp_relay import DHCP_RELAY

from ..capture.tcpdump import point_label
from ..errors import FlowlabError
from ..lab import Lab
from ..model import Interface, Topology
from ..model.domains import Domain, broadcast_domains, declared_subnet, link_subnet
from ..network import capabilities


class RaceError(FlowlabError):
    exit_status = 2


@dataclass(frozen=True)
class Gateway:
    """A relay the client's DISCOVER reaches: one downstream interface of a
    node running a ``dhcp-relay`` service, in the client's broadcast domain."""

    name: str             # the relay's node
    inside: str           # its interface in the client's broadcast domain
    outside: str          # the interface it relays out of (the service's upstream)
    address: str          # its address on the client side: the giaddr it relays with
    server: tuple[str, str] | None = None
    """Where the DHCP server it relays to is captured: the node and interface
    owning the service's ``server`` address (None: no node of the model owns it)."""
    alias: str = ""       # how the race names it, when the node relays on several of the domain

    @property
    def label(self) -> str:
        return self.alias or self.name


@dataclass(frozen=True)
class RaceSetup:
    """Who races, derived from the model: the client's DHCP interface, the
    relays its broadcast domain holds, their servers and subnets."""

    client: str
    client_iface: str
    client_mac: str
    own_gateway: str               # the giaddr of the client's own relay (its subnet's)
    gateways: list[Gateway]
    subnets: list[IPv4Network]     # the declared subnets of the relays' interfaces
    domain: str = ""               # the client's broadcast domain without VLANs

    @property
    def servers(self) -> list[tuple[str, str]]:
        return list(dict.fromkeys(gw.server for gw in self.gateways if gw.server))

    @property
    def points(self) -> list[tuple[str, str]]:
        points = [(self.client, self.client_iface)]
        for gw in self.gateways:
            points += [(gw.name, gw.inside), (gw.name, gw.outside)]
        return list(dict.fromkeys(points + self.servers))


# -- who races: from the model alone, before anything is built --------------------------

def dhcp_interface(topo: Topology, node: str) -> Interface:
    """The node's first interface that takes its address by DHCP."""
    if topo.find(node) is None:
        raise RaceError(f"{topo.name} has no node {node}")
    for iface in topo.interfaces(node):
        if iface.dhcp is not None:
            return iface
    raise RaceError(f"{node} takes no address by DHCP")


def domain_of(topo: Topology, iface: Interface) -> Domain:
    for domain in broadcast_domains(topo):
        if any(i is iface for i in domain.interfaces):
            return domain
    raise RaceError(f"{iface.node}:{iface.name} is on no link of {topo.name}")


def relays_in(topo: Topology, domain: Domain) -> list[Gateway]:
    """Every downstream interface of a ``dhcp-relay`` service that sits in
    ``domain``: each relays a broadcast DISCOVER it hears, with its own
    address as giaddr (a node relaying on two interfaces of one domain
    relays it twice)."""
    here = {(i.node, i.name): i for i in domain.interfaces}
    found = []
    for host in topo.hosts():
        for svc in host.services:
            if svc.kind != DHCP_RELAY:
                continue
            for name in svc.params.get("downstream", ()):
                iface = here.get((host.name, name))
                if iface is not None:
                    found.append(Gateway(host.name, name, svc.params["upstream"],
                                         str(iface.ip) if iface.ip else "",
                                         server_point(topo, svc.params["server"])))
    several = {gw.name for gw in found if sum(g.name == gw.name for g in found) > 1}
    return [replace(gw, alias=point_label(gw.name, gw.inside)) if gw.name in several else gw
            for gw in found]


def server_point(topo: Topology, address) -> tuple[str, str] | None:
    """The node and interface owning ``address``: where a DHCP server that
    a relay forwards to is captured."""
    for iface in topo.interfaces():
        if iface.ip is not None and str(iface.ip) == str(address):
            return iface.node, iface.name
    return None


def _count(n: int) -> str:
    return {0: "no", 1: "one", 2: "two", 3: "three"}.get(n, str(n))


def why_no_race(topo: Topology, client: str) -> str:
    """Why ``client`` cannot race in ``topo`` (empty: it can)."""
    try:
        domain = domain_of(topo, dhcp_interface(topo, client))
    except RaceError as refused:
        return str(refused)
    relays = relays_in(topo, domain)
    if len(relays) >= 2:
        return ""
    names = f" ({', '.join(gw.label for gw in relays)})" if relays else ""
    return (f"{client}'s broadcast domain {domain.name} holds {_count(len(relays))} DHCP "
            f"relay{'' if len(relays) == 1 else 's'}{names}: a race needs two")


def default_client(flat: Topology) -> str:
    """The first DHCP client (in the model's order) whose broadcast domain
    holds two relays without VLANs: xiaoming in enterprise."""
    clients = list(dict.fromkeys(i.node for i in flat.interfaces() if i.dhcp is not None))
    if not clients:
        raise RaceError(f"{flat.name} has no DHCP client: nothing to race")
    for client in clients:
        if not why_no_race(flat, client):
            return client
    raise RaceError(f"no DHCP client of {flat.name} has two DHCP relays in its broadcast "
                    f"domain without VLANs ({why_no_race(flat, clients[0])}; "
                    "--client NODE says it for another)")


def plan(topo: Topology, client: str | None = None, flat: Topology | None = None) -> RaceSetup:
    """The race of ``client`` in ``topo``, refused (RaceError) before
    anything is built when there is none.

    The rule: the contenders are the relays of the client's broadcast
    domain in the flat build (``flat``, the same topology without VLANs;
    ``topo`` itself when it is flat), and there must be two.  With VLANs
    the same relays are captured, and the verdict is whether exactly one of
    them, the client's own, answered: VLANs fix a race, so they are run
    only where the flat network has one."""
    flat = flat if flat is not None else topo
    client = client or default_client(flat)
    iface = dhcp_interface(topo, client)
    refusal = why_no_race(flat, client)
    if refusal:
        raise RaceError(refusal if flat is topo else
                        f"no race for VLANs to fix: without them, {refusal}")
    domain = domain_of(flat, dhcp_interface(flat, client))
    gateways = [_in_build(topo, gw) for gw in relays_in(flat, domain)]
    subnets: list[IPv4Network] = []
    for gw in gateways:
        declared = _declared(topo, gw.name, gw.inside)
        if declared is not None and declared.network not in subnets:
            subnets.append(declared.network)
    return RaceSetup(client, iface.name, iface.mac or "", own_giaddr(topo, iface, gateways),
                     gateways, subnets, domain.name)


def _interface(topo: Topology, node: str, name: str) -> Interface | None:
    return next((i for i in topo.interfaces(node) if i.name == name), None)


def _declared(topo: Topology, node: str, name: str):
    iface = _interface(topo, node, name)
    return declared_subnet(topo, iface) if iface is not None else None


def _in_build(topo: Topology, gw: Gateway) -> Gateway:
    """A contender of the flat build as the built topology has it (its
    address and its server's interface there)."""
    iface = _interface(topo, gw.name, gw.inside)
    node = topo.find(gw.name)
    svc = next((s for s in getattr(node, "services", ()) if s.kind == DHCP_RELAY), None)
    if iface is None or svc is None:
        return gw
    return replace(gw, address=str(iface.ip) if iface.ip else gw.address,
                   server=server_point(topo, svc.params["server"]))


def own_giaddr(topo: Topology, iface: Interface, gateways: list[Gateway]) -> str:
    """The giaddr the client's own relay uses: the relay named by its DHCP
    declaration, else any, whose address lies in the client's subnet; else
    the subnet's gateway."""
    network = link_subnet(topo, iface)
    mine = [gw for gw in gateways
            if network is not None and gw.address and IPv4Address(gw.address) in network]
    mine.sort(key=lambda gw: gw.name != iface.dhcp.relay)
    if mine:
        return mine[0].address
    subnet = declared_subnet(topo, iface)
    return str(subnet.gateway) if subnet and subnet.gateway else ""


def setup_for(lab: Lab, setup: RaceSetup) -> RaceSetup:
    """The plan with the client's MAC as the running lab has it."""
    return replace(setup, client_mac=lab.mac(setup.client, setup.client_iface))


def slow_relay(lab: Lab, setup: RaceSetup, spec: str) -> str:
    """``gw1=5ms``: delay what the gateway relays, where the kernel has netem."""
    node, _, delay = spec.partition("=")
    netem = capabilities.netem()
    if not netem:
        return f"--slow-relay {spec} ignored: {netem.reason}"
    gw = slow_relay_gateway(setup, spec)
    result = lab.run_in(node, ["tc", "qdisc", "replace", "dev", gw.outside, "root", "netem",
                               "delay", delay])
    if result.returncode != 0:
        raise RaceError(f"--slow-relay {spec}: {result.stderr.strip()}")
    return f"{node} relays {delay} late (netem on {gw.outside})"


def slow_relay_gateway(setup: RaceSetup, spec: str) -> Gateway:
    """The relay ``--slow-relay NODE=DELAY`` names, refused unless it races."""
    node, _, delay = spec.partition("=")
    gw = next((g for g in setup.gateways if g.name == node), None)
    if gw is None or not delay:
        relays = ", ".join(dict.fromkeys(g.name for g in setup.gateways))
        raise RaceError(f"--slow-relay {spec}: give NODE=DELAY with NODE one of the racing "
                        f"relays ({relays})")
    return gw
