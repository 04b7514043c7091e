"""Large pool: a LAN whose pool of 1,100 addresses (ISC dhcpd) outlasts 1,000 made-up MACs.

::

      h1 (DHCP)   res 10.77.0.4 (reserved)   mallory 10.77.0.2
          |              |                       |
      ----+-------- largesw 10.77.0.0/21 --------+----
                         |
      srv 10.77.0.1 (ISC dhcpd, pool 10.77.1.0-10.77.5.75)

The starvation check cannot empty this pool, so it must fail saying how
many of its addresses were leased.  ISC dhcpd serves it because dnsmasq
stops at 1,000 leases of its own (``dhcp-lease-max``) before such a pool
runs out.
"""

from __future__ import annotations

from orchestrator.model import Dhcp, Topology, TopologyOptions
from tests.topologies.smallpool import add_lan


def build(options: TopologyOptions = TopologyOptions()) -> Topology:
    topo = Topology("largepool", __doc__.splitlines()[0], options)
    add_lan(topo, "largesw", "srv", "10.77.0.0/21", "10.77.0.1/21", ("10.77.1.0", "10.77.5.75"),
            ["h1"], options.dhcp_server or "isc")
    lan = topo.find("largesw")
    res = topo.host("res", description="a PC with a reservation outside the pool")
    topo.link(res, lan, mac="02:00:0a:4d:00:04", dhcp=Dhcp(server="srv", reserve="10.77.0.4"))
    mallory = topo.host("mallory", description="a host with a static address: the attacker")
    topo.link(mallory, lan, ip="10.77.0.2/21")
    return topo
