"""Which daemons a topology runs, where, and in what order.

Every declared service becomes the daemon its kind's class makes of it
(:data:`services.registry.KINDS`), and every DHCP interface a client, so
that the lab, the tests and ``validate`` agree on what a topology will run.
"""

from __future__ import annotations

from pathlib import Path

from orchestrator.model import Topology

from .base import Context, Daemon, Launch
from .dhcp_client import CLIENTS, DHCP_CLIENT, client_interfaces
from .registry import KINDS


def node_dir(run_path: Path, node: str) -> Path:
    return run_path / "nodes" / node


def daemons(topo: Topology, run_path: Path) -> list[Daemon]:
    """Every daemon of the topology, servers first, DHCP clients last."""
    found: list[Daemon] = []
    for host in topo.hosts():
        base = node_dir(run_path, host.name)
        services = [KINDS[svc.kind].create(Context(topo, host, svc, base / svc.kind, base / "etc"))
                    for svc in host.services]
        found += services
        # The lease's DNS servers go to a service that takes them (a local
        # cache), else straight into the node's own resolv.conf.
        resolv = next((file for s in services if (file := s.lease_dns_file)),
                      str(base / "etc" / "resolv.conf"))
        for iface in client_interfaces(topo, host.name):
            ctx = Context(topo, host, None, base / DHCP_CLIENT, base / "etc")
            found.append(CLIENTS[iface.dhcp.client](ctx, iface, resolv))
    return found


def launches(topo: Topology, run_path: Path) -> list[Launch]:
    return [daemon.launch() for daemon in daemons(topo, run_path)]
