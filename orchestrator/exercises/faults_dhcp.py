"""Faults of DHCP: the relay stopped, relaying to a wrong server or deaf on
one interface, the server offering a wrong router or DNS server.

Each affects the DHCP clients the model says it should serve; those are
restarted when the fault is applied, so the student finds them as the
fault leaves them (no address, or a wrong configuration), and again when
it is solved.
"""

from __future__ import annotations

from dataclasses import replace

from services.dhcp_relay import DHCP_RELAY
from services.dhcp_server import DHCP_SERVER

from ..checks.derived.http import sites
from ..model import Topology
from . import actions
from .faults import Fault, ModelChange, ModelFault, Swap, Variant, names, with_params
from .where import (
    clients_of,
    free_address,
    network_of,
    relayed_by,
    relays,
    same_domain,
    served_subnets,
)

LAYER2 = "l2-scope"


def _no_address(clients) -> str:
    hosts = [c.node for c in clients]
    verb = "gets" if len(set(hosts)) == 1 else "get"
    return f"{names(hosts)} {verb} no IPv4 address"


class RelayStopped(Fault):
    name = "relay-stopped"
    title = "a DHCP relay agent is not running"
    kind = "live"
    why = "no router relays DHCP for a client of the model"

    def variants(self, topo: Topology) -> list[Variant]:
        found = []
        for router, _params in relays(topo):
            clients = relayed_by(topo, router.name)
            if clients:
                found.append(Variant(self.name, {"router": router.name},
                                     f"the DHCP relay on {router.name} is stopped",
                                     _no_address(clients), ("dhcp",), (LAYER2,)))
        return found

    def _clients(self, lab, variant):
        return [(i.node, i.name) for i in relayed_by(lab.topo, variant.target["router"])]

    def apply(self, lab, variant: Variant) -> None:
        lab.services.stop(lab.services.find(DHCP_RELAY, variant.target["router"]))
        actions.restart_clients(lab, self._clients(lab, variant), wait=False)

    def solve(self, lab, variant: Variant) -> None:
        instance = lab.services.find(DHCP_RELAY, variant.target["router"])
        if not lab.services.is_running(instance):
            lab.services.start(instance)
        actions.restart_clients(lab, self._clients(lab, variant), wait=True)


class RelayWrongServer(ModelFault):
    name = "relay-wrong-server"
    title = "a DHCP relay forwards to an address where no server is"
    why = "no router relays DHCP for a client of the model to a server on a known network"

    def variants(self, topo: Topology) -> list[Variant]:
        found = []
        for router, params in relays(topo):
            clients = relayed_by(topo, router.name)
            network = network_of(topo, _address(params["server"]))
            wrong = free_address(topo, network) if network is not None else None
            if clients and wrong is not None:
                found.append(Variant(
                    self.name, {"router": router.name, "server": str(wrong)},
                    f"the DHCP relay on {router.name} forwards to {wrong}, not "
                    f"{params['server']}", _no_address(clients), ("dhcp",), (LAYER2,)))
        return found

    def transform(self, topo: Topology, variant: Variant) -> ModelChange:
        router = variant.target["router"]
        with_params(topo, router, DHCP_RELAY, server=variant.target["server"])
        return ModelChange(topo, [Swap(DHCP_RELAY, router)],
                           [(i.node, i.name) for i in relayed_by(topo, router)],
                           wait_clients=False)


class RelayDeafInterface(ModelFault):
    name = "relay-deaf-interface"
    title = "a DHCP relay does not listen on one of its client-side interfaces"
    why = "no DHCP relay listens on two or more interfaces with clients behind them"

    def variants(self, topo: Topology) -> list[Variant]:
        found = []
        for router, params in relays(topo):
            downstream = list(params.get("downstream", ()))
            if len(downstream) < 2:
                continue
            for ifname in downstream:
                clients = _behind(topo, router.name, ifname)
                if clients:
                    found.append(Variant(
                        self.name, {"router": router.name, "interface": ifname},
                        f"the DHCP relay on {router.name} does not listen on {ifname}",
                        _no_address(clients), ("dhcp",), (LAYER2,)))
        return found

    def transform(self, topo: Topology, variant: Variant) -> ModelChange:
        router, ifname = variant.target["router"], variant.target["interface"]
        params = next(s.params for s in topo.node(router).services if s.kind == DHCP_RELAY)
        with_params(topo, router, DHCP_RELAY,
                    downstream=[i for i in params["downstream"] if i != ifname])
        return ModelChange(topo, [Swap(DHCP_RELAY, router)],
                           [(i.node, i.name) for i in _behind(topo, router, ifname)],
                           wait_clients=False)


def _behind(topo: Topology, router: str, ifname: str):
    """The DHCP clients relayed by ``router`` in ``ifname``'s broadcast domain."""
    iface = next((i for i in topo.interfaces(router) if i.name == ifname), None)
    if iface is None:
        return []
    domain = same_domain(topo, iface)
    return [i for i in relayed_by(topo, router) if any(i is d for d in domain)]


def _address(text):
    from ipaddress import IPv4Address
    return IPv4Address(str(text))


class _ServerOption(ModelFault):
    """A served subnet's option rendered wrong in the DHCP server's config."""

    option = ""

    def candidates(self, topo: Topology):
        """(server, subnet, wrong value, clients) for every place it applies."""
        raise NotImplementedError

    def symptom(self, topo: Topology, subnet, clients) -> str:
        raise NotImplementedError

    def broken_checks(self, topo: Topology, clients) -> tuple[str, ...]:
        return ("dhcp",)

    def kept_checks(self, topo: Topology, clients) -> tuple[str, ...]:
        return (LAYER2,)

    def variants(self, topo: Topology) -> list[Variant]:
        return [Variant(self.name, {"server": server, "subnet": str(subnet.network),
                                    self.option: str(wrong)},
                        f"the DHCP server on {server} offers {self.option} {wrong} on "
                        f"{subnet.network}", self.symptom(topo, subnet, clients),
                        self.broken_checks(topo, clients), self.kept_checks(topo, clients))
                for server, subnet, wrong, clients in self.candidates(topo)]

    def transform(self, topo: Topology, variant: Variant) -> ModelChange:
        server, network = variant.target["server"], variant.target["subnet"]
        params = next(s.params for s in topo.node(server).services if s.kind == DHCP_SERVER)
        subnets = [self.wrong(s, variant.target[self.option]) if str(s.network) == network
                   else s for s in params["subnets"]]
        with_params(topo, server, DHCP_SERVER, subnets=subnets)
        served = next(s for s in params["subnets"] if str(s.network) == network)
        clients = [(i.node, i.name) for i in clients_of(topo, server, served.network)]
        return ModelChange(topo, [Swap(DHCP_SERVER, server)], clients, wait_clients=True)

    def wrong(self, subnet, value: str):
        raise NotImplementedError


def _beyond_target(topo: Topology, network) -> str | None:
    """What a user on ``network`` would try to reach beyond it: a web site
    first, else an end host with a static address elsewhere."""
    for site in sites(topo):
        if _address(site.address) not in network:
            return f"open http://{site.name}/" if site.port == 80 else \
                f"open http://{site.name}:{site.port}/"
    from .where import server_address, users
    for host in users(topo):
        address = server_address(topo, host)
        if address is not None and address not in network:
            return f"reach {host} ({address})"
    return None


class DhcpWrongRouter(_ServerOption):
    name = "dhcp-wrong-router"
    title = "the DHCP server offers a wrong default router"
    option = "router"
    why = ("no DHCP server hands out a router to a client of the model with a free address "
           "in its subnet and something beyond it to reach")

    def candidates(self, topo: Topology):
        for server, subnet in served_subnets(topo):
            clients = clients_of(topo, server, subnet.network)
            wrong = free_address(topo, subnet.network)
            if subnet.gateway is not None and clients and wrong is not None \
                    and _beyond_target(topo, subnet.network):
                yield server, subnet, wrong, clients

    def symptom(self, topo, subnet, clients) -> str:
        return f"{clients[0].node} cannot {_beyond_target(topo, subnet.network)}"

    def broken_checks(self, topo, clients) -> tuple[str, ...]:
        return ("dhcp", "reach")

    def wrong(self, subnet, value: str):
        return replace(subnet, gateway=_address(value))


class DhcpWrongDns(_ServerOption):
    name = "dhcp-wrong-dns"
    title = "the DHCP server offers a wrong DNS server"
    option = "dns"
    why = ("no DHCP server hands out a DNS server to a client of the model with a free "
           "address beside it")

    def candidates(self, topo: Topology):
        for server, subnet in served_subnets(topo):
            clients = clients_of(topo, server, subnet.network)
            if not subnet.dns or not clients:
                continue
            network = network_of(topo, subnet.dns[0]) or subnet.network
            wrong = free_address(topo, network)
            if wrong is not None:
                yield server, subnet, wrong, clients

    def symptom(self, topo, subnet, clients) -> str:
        named = sites(topo)
        what = f"open http://{named[0].name}/ by its name" if named else "resolve names"
        return f"{clients[0].node} cannot {what}"

    def kept_checks(self, topo, clients) -> tuple[str, ...]:
        return (LAYER2, "reach")

    def wrong(self, subnet, value: str):
        return replace(subnet, dns=(_address(value),))


FAULTS = [RelayStopped, RelayWrongServer, RelayDeafInterface, DhcpWrongRouter, DhcpWrongDns]
