"""What the derived checks read from a running lab, in one place: the
addresses and routers the DHCP clients really hold, and every interface's
MAC.  Everything else they need comes from the model
(:mod:`orchestrator.model.paths`), which these facts complete.
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Iterable

from services.dhcp_client import DHCP_CLIENT

from ...lab import Lab
from ...model import Topology
from ...model.paths import Key, Network
from .common import end_hosts


def network(lab: Lab) -> Network:
    """The lab's topology as :mod:`orchestrator.model.paths` predicts it, with
    the address and the first router of every lease its clients hold; a
    DHCP client holding no lease has no address (not its reservation)."""
    leases = lab.leases()
    clients = [(i.node, i.iface) for i in lab.services.all(DHCP_CLIENT)]
    addresses = {key: None for key in clients} | {key: lease.ip_interface
                                                 for key, lease in leases.items()}
    return Network(lab.topo, addresses,
                   {key: IPv4Address(lease.router) for key, lease in leases.items()
                    if lease.router is not None})


def addressed(net: Network, hosts: list[str]) -> tuple[list[str], list[str]]:
    """``hosts`` split into those holding an address now and those holding
    none (a DHCP client without a lease: the dhcp check's verdict, not a
    reach or layer-2 one)."""
    holding = [h for h in hosts if any(net.address(h, i.name) is not None
                                       for i in net.topo.interfaces(h))]
    return holding, [h for h in hosts if h not in holding]


def macs(lab: Lab, keys: Iterable[Key]) -> dict[Key, str]:
    """The MAC of each (node, interface), as the running lab has it."""
    return {(node, iface): lab.mac(node, iface) for node, iface in keys}


def end_host_names(topo: Topology) -> list[str]:
    """The end hosts (:func:`.common.end_hosts`) by name, in model order."""
    return [host.name for host in end_hosts(topo)]
