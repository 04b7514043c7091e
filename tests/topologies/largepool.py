"""Large pool: the LAN of ``smallpool`` with a pool of 1,100 addresses, ISC dhcpd, 2 clients.

A pool larger than the starvation check's 1,000 made-up MACs: the attack
cannot empty it, so the check must fail saying how many of the pool's
addresses were leased.  ISC dhcpd serves it because dnsmasq stops at 1,000
leases of its own (``dhcp-lease-max``) before such a pool runs out.
"""

from __future__ import annotations

from orchestrator.model import Topology, TopologyOptions
from tests.topologies import smallpool


def build(options: TopologyOptions = TopologyOptions()) -> Topology:
    topo = smallpool.build(options, name="largepool", network="10.77.0.0/21",
                           server="10.77.0.1/21", pool=("10.77.1.0", "10.77.5.75"),
                           clients=2, backend="isc")
    topo.description = __doc__.splitlines()[0]
    return topo
