"""DHCP pools: which pool serves each client, and when one runs out.

A DHCP interface without a reservation takes an address from the dynamic
pool (``Subnet.pool``) of its server for its subnet; a reservation is
handed out by MAC outside the pool and does not consume it.  Counting the
clients of each pool from the model alone (:func:`demands`) says before
anything runs which pools are smaller than their clients: ``validate``
warns of them (a starved network is a legitimate lab, not an error).

Once a lab is up, :func:`exhausted` confirms it from what the server
itself wrote: every address of the pool held in its lease database, and
which clients hold nothing there.  ``up`` then names the pool, its size,
how many asked and who got nothing, instead of a client's timeout.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Iterable

from services.dhcp_server import DHCP_SERVER, DhcpServer
from services.lease import ServerLease, server_leases

from ..errors import LabError, TopologyError
from .domains import link_subnet
from .topology import Host, Interface, Subnet, Topology

Key = tuple[str, str]            # (node, interface)
NAMED_HOLDERS = 8                # holders a message lists before "and N more"
POOLS_FIELD = f"services[{DHCP_SERVER}].subnets"     # where a pool is declared


@dataclass(frozen=True)
class Pool:
    """One dynamic range of one server, on one subnet."""

    server: str
    network: IPv4Network
    start: IPv4Address
    end: IPv4Address

    @property
    def size(self) -> int:
        return int(self.end) - int(self.start) + 1

    def __contains__(self, address: object) -> bool:
        return isinstance(address, IPv4Address) and self.start <= address <= self.end

    def describe(self) -> str:
        return (f"the pool of {self.network} on {self.server} ({self.start}-{self.end}, "
                f"{self.size} address{'es' if self.size != 1 else ''})")


@dataclass(frozen=True)
class Demand:
    """A pool and the DHCP clients the model sends to it (reservations not
    counted: they are served outside the pool)."""

    pool: Pool
    clients: tuple[Key, ...]

    @property
    def oversubscribed(self) -> bool:
        return len(self.clients) > self.pool.size

    def warning(self) -> str:
        short = len(self.clients) - self.pool.size
        return (f"{self.pool.describe()} is smaller than its {len(self.clients)} DHCP clients: "
                f"{short} of them will get no address (a starved network; 'up "
                "--allow-unbound' keeps such a lab up)")

    def problem(self) -> TopologyError:
        """The warning as ``validate`` reports it, naming the server's node."""
        return TopologyError(self.pool.server, POOLS_FIELD, self.warning())


def served_subnet(topo: Topology, server: str, network: IPv4Network) -> Subnet | None:
    """The Subnet (with its pool) the dhcp-server of ``server`` serves for
    ``network``, as its service declares it."""
    node = topo.find(server)
    if not isinstance(node, Host):
        return None
    for svc in node.services:
        if svc.kind != DHCP_SERVER:
            continue
        for _, subnet in DhcpServer.declared_subnets(svc):
            if subnet.network == network:
                return subnet
    return None


def pool_of(topo: Topology, iface: Interface) -> Pool | None:
    """The pool ``iface`` takes its address from: its server's range on the
    interface's subnet; None when it holds a reservation there or the
    subnet has no pool."""
    if iface.dhcp is None:
        return None
    network = link_subnet(topo, iface)
    subnet = served_subnet(topo, iface.dhcp.server, network) if network else None
    if subnet is None or subnet.pool is None:
        return None
    if iface.dhcp.reserve is not None and iface.dhcp.reserve in network:
        return None
    return Pool(iface.dhcp.server, subnet.network, *subnet.pool)


def pools(topo: Topology) -> list[Pool]:
    """Every dynamic range a DHCP server of ``topo`` declares, in model order."""
    found = []
    for node in topo.hosts():
        for svc in node.services:
            if svc.kind != DHCP_SERVER:
                continue
            for _, subnet in DhcpServer.declared_subnets(svc):
                if subnet.pool is not None:
                    found.append(Pool(node.name, subnet.network, *subnet.pool))
    return list(dict.fromkeys(found))


def demands(topo: Topology) -> list[Demand]:
    """Each pool with the clients that take from it, in model order."""
    clients: dict[Pool, list[Key]] = {pool: [] for pool in pools(topo)}
    for iface in topo.interfaces():
        pool = pool_of(topo, iface)
        if pool is not None:
            clients.setdefault(pool, []).append((iface.node, iface.name))
    return [Demand(pool, tuple(keys)) for pool, keys in clients.items()]


def oversubscribed(topo: Topology) -> list[Demand]:
    """The pools smaller than their clients."""
    return [d for d in demands(topo) if d.oversubscribed]


# -- confirmed from the server's lease database ------------------------------------------

@dataclass(frozen=True)
class Exhaustion:
    """A pool the server's lease database shows full, and the clients of
    the pool that hold nothing in it."""

    demand: Demand
    database: str                        # the lease database's path
    leased: tuple[ServerLease, ...]      # the held leases inside the pool
    holders: tuple[str, ...]             # who holds them: client names, else MACs
    starved: tuple[Key, ...]

    @property
    def pool(self) -> Pool:
        return self.demand.pool

    def headline(self) -> str:
        return (f"{self.pool.describe()} is exhausted: {len(self.demand.clients)} DHCP clients "
                f"asked for it, {self.pool.server}'s lease database holds all "
                f"{len(self.leased)}")

    def describe(self) -> str:
        shown = list(self.holders[:NAMED_HOLDERS])
        more = len(self.holders) - len(shown)
        held = ", ".join(shown) + (f" and {more} more" if more else "")
        starved = ", ".join(f"{node}:{iface}" for node, iface in self.starved) or "nobody"
        return (f"{self.headline()} ({held}; {self.database}); got nothing: {starved}")


def judge_exhaustion(demand: Demand, leases: Iterable[ServerLease], macs: dict[Key, str],
                     bound: Iterable[Key], database: str) -> Exhaustion | None:
    """The pool's exhaustion as the lease database shows it, or None when
    the database holds a free address of the pool (the pool is not why a
    client went without).  ``macs`` are the clients' MACs; ``bound`` the
    clients holding a lease by their own record."""
    inside = tuple(sorted((l for l in leases if l.address in demand.pool),
                          key=lambda l: l.address))
    if len({l.address for l in inside}) < demand.pool.size:
        return None
    names = {mac.lower(): node for (node, _iface), mac in macs.items()}
    holders = tuple(names.get(l.mac, l.mac) for l in inside)
    leased_macs = {l.mac for l in inside}
    bound = set(bound)
    starved = tuple(key for key in demand.clients
                    if key not in bound and macs.get(key, "").lower() not in leased_macs)
    return Exhaustion(demand, database, inside, holders, starved)


def lease_database(lab, server: str) -> tuple[str, Path]:
    """(backend, path) of the lease database of the DHCP server on ``server``."""
    daemon = lab.services.find(DHCP_SERVER, server).daemon
    return daemon.backend, Path(daemon.lease_database)


def held_leases(lab, server: str) -> tuple[Path, list[ServerLease]]:
    """The leases the server on ``server`` holds, read from its database."""
    backend, path = lease_database(lab, server)
    text = path.read_text() if path.exists() else ""
    return path, server_leases(backend, text)


def client_macs(lab, keys: Iterable[Key]) -> dict[Key, str]:
    """Each client's MAC, as the running lab has it."""
    return {(node, name): lab.mac(node, name) for node, name in keys}


def exhausted(lab) -> list[Exhaustion]:
    """The oversubscribed pools of a running lab that its servers' lease
    databases show full, with the clients that got nothing."""
    found = []
    bound = set(lab.leases())
    for demand in oversubscribed(lab.topo):
        path, leases = held_leases(lab, demand.pool.server)
        verdict = judge_exhaustion(demand, leases, client_macs(lab, demand.clients), bound,
                                   str(path))
        if verdict is not None:
            found.append(verdict)
    return found


def _verdicts(lab) -> tuple[list[Exhaustion], str]:
    """exhausted(lab), or none and why when a lease database cannot be
    read: the account of unbound clients must not be lost to it."""
    try:
        return exhausted(lab), ""
    except (OSError, ValueError, LookupError, LabError) as exc:
        return [], f" (the DHCP servers' lease databases could not be read: {exc})"


def explain_unbound(lab, unbound: list) -> list:
    """The lab's unbound clients, each whose pool is exhausted with the
    pool's verdict first in its reason (what ``up`` and ``verify`` show)."""
    verdicts, _unread = _verdicts(lab) if unbound else ([], "")
    explained = []
    for record in unbound:
        verdict = next((v for v in verdicts if (record.node, record.iface) in v.starved), None)
        if verdict is not None:
            record = dataclasses.replace(record, reason=f"{verdict.headline()}\n{record.reason}")
        explained.append(record)
    return explained


def failure(lab, late) -> str:
    """Why a bring-up failed on the unbound client ``late``: the exhausted
    pools by name, size, demand and starved clients when the lease
    databases show them full, else the client's own account."""
    verdicts, unread = _verdicts(lab)
    if any((late.node, late.iface) in v.starved for v in verdicts):
        return "\n".join(v.describe() for v in verdicts)
    return late.describe() + unread
