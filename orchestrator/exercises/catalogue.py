"""The catalogue of faults: the one place that knows them all, in the order
``exercise list`` shows them."""

from __future__ import annotations

from ..model import Topology
from . import faults_dhcp, faults_dns, faults_net
from .faults import Fault, FaultError

FAULT_MODULES = (faults_dhcp, faults_net, faults_dns)


def all_faults() -> list[Fault]:
    return [cls() for module in FAULT_MODULES for cls in module.FAULTS]


def by_name(name: str) -> Fault:
    known = {f.name: f for f in all_faults()}
    if name not in known:
        raise FaultError(f"unknown fault {name!r}; the catalogue has: {', '.join(known)}")
    return known[name]


def applicable(topo: Topology) -> list[Fault]:
    return [f for f in all_faults() if f.applies_to(topo)]
