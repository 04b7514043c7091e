"""The ``rarp-server`` kind: Debian's ``rarpd`` and its table, from the model.

RARP (RFC 903) answers "which IP address has this MAC?" straight in an
Ethernet frame (type 0x8035), from a static table: ``rarpd`` maps the MAC
to a name with ``ether_ntohost`` (the ``ethers`` database, /etc/ethers) and
the name to an address with ``gethostbyname`` (the ``hosts`` database), and
answers only with an address on the subnet of the interface the request
came in on.

The table is the model's: every interface of the declared ``clients``
(default: every end host) that has a fixed MAC and a fixed address (static,
or reserved by DHCP).  Its files are private to the daemon: rarpd runs in a
mount namespace of its own inside its node, where a read-only overlay puts
its ``ethers``, ``hosts`` and ``nsswitch.conf`` over the machine's /etc, the
way every node gets its own /etc/hosts by bind mount; the machine's /etc is
never written (there is usually no /etc/ethers to bind over at all).

rarpd has no dry run of its own; the check before launch runs the same
lookups rarpd makes (:mod:`services.rarp_lookup`) inside the same private
/etc, so a table that would not resolve fails the bring-up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path

from orchestrator.errors import TopologyError
from orchestrator.model import Host, Interface, Router, Service, Topology

from .base import STAGE_ENTERPRISE, Launch, LogLine, python_module, render
from .kind import Problems, ServiceDaemon

RARP_SERVER = "rarp-server"

# Inside a new mount namespace: mount the private /etc layer, then become
# the program ("$@"), so that the supervisor's pid is the program's own.
PRIVATE_ETC_SCRIPT = 'mount -a -T "$1" && shift && exec "$@"'
LAYER_UNSAFE = re.compile(r"[:,\s]")       # overlay options separate with ':' and ','


@dataclass(frozen=True)
class RarpEntry:
    """One line of the table: ``mac`` -> ``name`` (ethers) -> ``ip`` (hosts)."""

    node: str
    iface: str
    name: str
    mac: str
    ip: IPv4Address


def fixed_address(iface: Interface) -> IPv4Address | None:
    """An address known before the network runs: static, or reserved by DHCP."""
    if iface.ip is not None:
        return iface.ip
    return iface.dhcp.reserve if iface.dhcp is not None else None


def table_interfaces(topo: Topology, node: str) -> list[Interface]:
    """The interfaces of ``node`` a RARP table can hold: a fixed MAC and address."""
    return [i for i in topo.interfaces(node) if i.mac and fixed_address(i) is not None]


def default_clients(topo: Topology) -> list[str]:
    """Every end host (not a router) with an interface the table can hold."""
    return [h.name for h in topo.hosts()
            if not isinstance(h, Router) and table_interfaces(topo, h.name)]


def client_names(topo: Topology, params: dict) -> list[str]:
    clients = params.get("clients")
    return list(clients) if clients is not None else default_clients(topo)


def rarp_table(topo: Topology, params: dict) -> list[RarpEntry]:
    """The table a ``rarp-server`` with these parameters serves; a node with
    several such interfaces has one name per interface (its interface name)."""
    entries = []
    for node in client_names(topo, params):
        ifaces = table_interfaces(topo, node)
        for iface in ifaces:
            entries.append(RarpEntry(node, iface.name, node if len(ifaces) == 1 else iface.name,
                                     iface.mac, fixed_address(iface)))
    return entries


def server_interface(topo: Topology, host: Host, params: dict) -> Interface | None:
    """The interface rarpd listens on: ``interface``, else the node's first
    with a static address (rarpd answers only with addresses of its subnet)."""
    wanted = params.get("interface")
    for iface in topo.interfaces(host.name):
        if (iface.name == wanted) if wanted else iface.ip is not None:
            return iface
    return None


def in_private_etc(fstab: str, argv: list[str]) -> list[str]:
    """``argv`` run in a mount namespace of its own where ``fstab`` is mounted."""
    return ["unshare", "--mount", "--propagation", "private",
            "sh", "-c", PRIVATE_ETC_SCRIPT, "rarp-etc", fstab, *argv]


class RarpServer(ServiceDaemon):
    kind = RARP_SERVER
    summary = ("Debian rarpd: answers RARP requests from a static table of the clients' MACs "
               "and addresses")
    optional = ("interface", "clients")
    interface_params = ("interface",)
    name = "rarpd"
    binary = "rarpd"
    stage = STAGE_ENTERPRISE

    @classmethod
    def problems(cls, topo: Topology, host: Host, svc: Service) -> Problems:
        """rarpd answers only with an address of its interface's subnet, from
        a table of fixed MACs and addresses: an interface without an address
        or a client the table cannot hold would make a server that never
        answers."""
        yield from super().problems(topo, host, svc)
        field = f"services[{svc.kind}]"
        yield from _interface_problems(topo, host, svc.params, field)
        yield from _clients_problems(topo, host, svc.params, field)

    @classmethod
    def host_problems(cls, topo: Topology, host: Host) -> Problems:
        count = sum(svc.kind == cls.kind for svc in host.services)
        if count > 1:
            yield TopologyError(host.name, f"services[{cls.kind}]",
                                f"declared {count} times: one RARP server per node")

    @property
    def interface(self) -> Interface:
        iface = server_interface(self.ctx.topo, self.ctx.host, self.ctx.params)
        if iface is None:                 # validation refuses this first
            raise ValueError(f"{self.ctx.host.name}: {self.kind} has no interface to serve")
        return iface

    def table(self) -> list[RarpEntry]:
        return rarp_table(self.ctx.topo, self.ctx.params)

    def launch(self) -> Launch:
        node, iface, entries = self.ctx.host.name, self.interface.name, self.table()
        layer = Path(self.ctx.path("etc"))
        if LAYER_UNSAFE.search(str(layer)):
            raise ValueError(f"{layer}: an overlay layer's path may hold no ':', ',' or space")
        fstab = self.ctx.path("fstab")
        files = {
            str(layer / "ethers"): render("rarp-ethers.j2", node=node, entries=entries),
            str(layer / "hosts"): render("rarp-hosts.j2", node=node, entries=entries),
            str(layer / "nsswitch.conf"): render("rarp-nsswitch.conf.j2", node=node),
            fstab: render("rarp-fstab.j2", node=node, layer=str(layer)),
        }
        lookups = [f"{e.mac}={e.name}={e.ip}" for e in entries]
        # -d: foreground, messages to stderr (and verbose); -e: answer without
        # a boot image in /tftpboot (the texts' RARP gives an address only).
        return self.make_launch(
            files=files,
            check=in_private_etc(fstab, python_module("services.rarp_lookup", *lookups)),
            argv=in_private_etc(fstab, ["rarpd", "-d", "-e", iface]),
            log=self.ctx.path("rarpd.log"),
            # Logged once the socket is bound and the interface's addresses read.
            ready=LogLine(rf"addr [0-9./]+ on {re.escape(iface)}\b"))


def _interface_problems(topo: Topology, host: Host, params: dict, field: str) -> Problems:
    wanted = params.get("interface")
    own = {i.name for i in topo.interfaces(host.name)}
    if wanted is not None and not isinstance(wanted, str):
        yield TopologyError(host.name, f"{field}.interface",
                            f"{wanted!r} is not one interface name: rarpd serves one")
    elif (wanted is None or wanted in own) and server_interface(topo, host, params) is None:
        which = f"{wanted!r} has" if wanted else f"{host.name} has"
        yield TopologyError(host.name, f"{field}.interface",
                            f"{which} no static IPv4 address: rarpd answers only with "
                            f"addresses of its interface's subnet")


def _clients_problems(topo: Topology, host: Host, params: dict, field: str) -> Problems:
    clients = params.get("clients")
    if clients is None:
        if not rarp_table(topo, params):
            yield TopologyError(host.name, f"{field}.clients",
                                "no end host has an interface with a fixed MAC and address: "
                                "the RARP table would be empty")
        return
    if not (isinstance(clients, (list, tuple)) and clients
            and all(isinstance(c, str) for c in clients)):
        yield TopologyError(host.name, f"{field}.clients",
                            f"must be a non-empty list of node names, not {clients!r}")
        return
    for name in clients:
        if not isinstance(topo.find(name), Host):
            yield TopologyError(host.name, f"{field}.clients",
                                f"{name!r} is not a host or router of the topology")
        elif not table_interfaces(topo, name):
            yield TopologyError(host.name, f"{field}.clients",
                                f"{name!r} has no interface with both a fixed MAC (mac=) "
                                f"and a fixed address (static, or dhcp reserve=): a RARP "
                                f"table maps one to the other")
