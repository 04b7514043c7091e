"""What the derived checks read from a running lab, in one place: the
addresses the DHCP clients really hold, and every interface's MAC.

Everything else they need comes from the model (:mod:`orchestrator.paths`).
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Iterable

from ...lab import Lab
from ...model import Topology
from ...paths import Key, Network
from .common import end_hosts


def lease_address(lease) -> IPv4Interface | None:
    """A lease's address with its prefix.  The typed ``Lease`` record has it
    as ``.address``; the dict record that precedes it has strings "address"
    and "mask" (read here only until the typed record has landed)."""
    address = getattr(lease, "address", None)
    if isinstance(address, IPv4Interface):
        return address
    if isinstance(lease, dict) and lease.get("address") and lease.get("mask"):
        prefix = IPv4Network(f"0.0.0.0/{lease['mask']}").prefixlen
        return IPv4Interface(f"{lease['address']}/{prefix}")
    return None


def runtime_addresses(lab: Lab) -> dict[Key, IPv4Interface]:
    """(node, interface) -> the address its DHCP client leased."""
    found = {}
    for key, lease in lab.leases().items():
        address = lease_address(lease)
        if address is not None:
            found[key] = address
    return found


def lease_router(lease) -> IPv4Address | None:
    """A lease's first router (option 3), typed record or dict record."""
    routers = getattr(lease, "routers", None)
    if routers is None and isinstance(lease, dict):
        routers = lease.get("routers")
    if isinstance(routers, str):
        routers = routers.split()
    for router in routers or ():
        return IPv4Address(str(router))
    return None


def runtime_gateways(lab: Lab) -> dict[Key, IPv4Address]:
    """(node, interface) -> the router its DHCP lease named."""
    found = {}
    for key, lease in lab.leases().items():
        router = lease_router(lease)
        if router is not None:
            found[key] = router
    return found


def network(lab: Lab) -> Network:
    """The lab's topology as :mod:`orchestrator.paths` predicts it, with
    the addresses and routers its DHCP clients leased."""
    return Network(lab.topo, runtime_addresses(lab), runtime_gateways(lab))


def macs(lab: Lab, keys: Iterable[Key]) -> dict[Key, str]:
    """The MAC of each (node, interface), as the running lab has it."""
    return {(node, iface): lab.node(node).intf(iface).mac.lower() for node, iface in keys}


def end_host_names(topo: Topology) -> list[str]:
    """The end hosts (:func:`.common.end_hosts`) by name, in model order."""
    return [host.name for host in end_hosts(topo)]
