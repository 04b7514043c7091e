"""Which daemons a topology runs, where, and in what order.

The one place that maps a declared service kind (and backend) to a daemon
class, and every DHCP interface to a client, so that the lab, the tests and
``validate`` agree on what a topology will run.
"""

from __future__ import annotations

from pathlib import Path

from orchestrator.model import Host, Topology

from .base import Context, Daemon, Launch
from .dhcp import Dhcrelay, client_interfaces, server_class
from .dhcp_client import CLIENTS
from .dns_cache import DnsmasqCache


def _daemon_classes() -> dict[str, type[Daemon]]:
    """Service kind -> daemon class, for the kinds with a single backend."""
    from .dns_daemons import DnsAuthoritative, DnsResolver
    from .rarp import RarpServer
    from .web_daemon import WebServer
    return {"dhcp-relay": Dhcrelay, "dns-cache": DnsmasqCache, "dns-resolver": DnsResolver,
            "dns-authoritative": DnsAuthoritative, "http": WebServer, "rarp-server": RarpServer}


def node_dir(run_path: Path, node: str) -> Path:
    return run_path / "nodes" / node


def daemons(topo: Topology, run_path: Path) -> list[Daemon]:
    """Every daemon of the topology, servers first, DHCP clients last."""
    classes = _daemon_classes()
    found: list[Daemon] = []
    for host in topo.hosts():
        base = node_dir(run_path, host.name)
        caches = []
        for svc in host.services:
            ctx = Context(topo, host, svc, base / svc.kind, base / "etc")
            if svc.kind == "dhcp-server":
                backend = svc.params.get("backend") or topo.options.dhcp_server
                found.append(server_class(backend)(ctx))
            else:
                daemon = classes[svc.kind](ctx)
                found.append(daemon)
                if isinstance(daemon, DnsmasqCache):
                    caches.append(daemon)
        for iface in client_interfaces(topo, host.name):
            resolv = caches[0].upstream_file if caches else str(base / "etc" / "resolv.conf")
            ctx = Context(topo, host, None, base / "dhcp-client", base / "etc")
            found.append(CLIENTS[iface.dhcp.client](ctx, iface, resolv))
    return found


def launches(topo: Topology, run_path: Path) -> list[Launch]:
    return [daemon.launch() for daemon in daemons(topo, run_path)]


def runs_dns_cache(host: Host) -> bool:
    return any(s.kind == "dns-cache" for s in host.services)
