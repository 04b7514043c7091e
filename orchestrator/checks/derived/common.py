"""Who plays which part in a derived check, chosen from the model alone.

The textbook checks know their cast by name (xiaoming, web); a derived
check must find one in a network written tomorrow.  The rules, documented
here once: the *user* of a network is an end host (a host, not a router),
preferring those that take their address by DHCP (the PCs of a design), in
the order the topology declares them; *what lies beyond* an interface is
every node reachable through its link without crossing the interface's own
node (the graph of links, switches traversed).
"""

from __future__ import annotations

import subprocess
from collections import deque
from ipaddress import IPv4Address
from typing import Mapping, Sequence

from ...errors import LabError
from ...model import Host, Interface, Router, Topology
from ..base import CheckContext


def end_hosts(topo: Topology) -> list[Host]:
    """Hosts that are not routers, with at least one interface."""
    return [n for n in topo.hosts() if not isinstance(n, Router) and topo.interfaces(n.name)]


def users_first(topo: Topology, hosts: list[Host]) -> list[Host]:
    """``hosts`` with DHCP clients first, each group in declaration order."""
    def takes_dhcp(host: Host) -> bool:
        return any(i.dhcp for i in topo.interfaces(host.name))
    return [h for h in hosts if takes_dhcp(h)] + [h for h in hosts if not takes_dhcp(h)]


def beyond(topo: Topology, iface: Interface) -> set[str]:
    """The nodes reachable through ``iface``'s link without crossing
    ``iface``'s node: what lies on that side of it."""
    start = topo.link_of(iface).other(iface).node
    seen = {iface.node, start}
    queue = deque([start])
    while queue:
        name = queue.popleft()
        for end in topo.ends_of(name):
            other = topo.link_of(end).other(end).node
            if other not in seen:
                seen.add(other)
                queue.append(other)
    seen.discard(iface.node)
    return seen


def static_ip(topo: Topology, node: str) -> IPv4Address | None:
    """A server's address: its first static one."""
    return next((i.ip for i in topo.interfaces(node) if i.ip is not None), None)


def interface_toward(topo: Topology, node: str, other: str) -> Interface:
    """``node``'s interface whose side holds ``other``."""
    for iface in topo.interfaces(node):
        if other in beyond(topo, iface):
            return iface
    raise LabError(f"{other} lies beyond no interface of {node}")


def at_once(ctx: CheckContext, commands: Mapping[str, Sequence[str]], timeout: float) -> None:
    """Run every node's shell commands all at the same time: one shell per
    node, its commands in the background, every shell awaited.  Traffic of
    many hosts then overlaps, as one capture block wants it."""
    procs = [subprocess.Popen(ctx.lab.exec_argv(node, ["sh", "-c", " ".join(
                 f"{command} >/dev/null 2>&1 &" for command in own) + " wait"]),
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for node, own in commands.items() if own]
    for proc in procs:
        proc.wait(timeout=timeout)
