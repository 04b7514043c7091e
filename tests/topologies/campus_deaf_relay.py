"""Campus, broken: core's DHCP relay does not listen on VLAN 20 (core-eth1).

The campus of ``campus.py`` as a student might leave it: dhcrelay started
on the VLAN 10 side only.  b1 and b2 (VLAN 20) broadcast DISCOVERs that core
hears on core-eth1 but never relays; the lab still comes up for ``verify``
and the ``dhcp`` check fails naming the step where their exchange stopped.
"""

from __future__ import annotations

from dataclasses import replace

from orchestrator.model import Topology, TopologyOptions
from tests.topologies import campus


def build(options: TopologyOptions = TopologyOptions()) -> Topology:
    topo = campus.build(options)
    core = topo.node("core")
    core.services = [replace(s, params={**s.params, "downstream": ["core-eth0"]})
                     if s.kind == "dhcp-relay" else s for s in core.services]
    return topo
