"""Small pool: one LAN whose DHCP pool of 4 addresses serves 6 clients, and a reservation.

::

      res 10.77.0.4 (reserved)   h1  h2  h3  h4  h5  h6   (DHCP, pool 10.77.0.8-11)
          |                      |   |   |   |   |   |
      ----+--------- lan 10.77.0.0/28 ----------+---+---+----
          |
      srv 10.77.0.1 (dnsmasq, or ISC dhcpd with --dhcp-server isc)

Two of the six pool clients can get nothing: the pool is exhausted by
design.  ``up`` must say so by the pool's name and the clients', and the
starvation check finds a pool it can empty (4 addresses against 1,000
made-up MACs) while ``res`` keeps its reservation.
"""

from __future__ import annotations

from orchestrator.model import Dhcp, Topology, TopologyOptions, service

RESERVED = "10.77.0.4"
RESERVED_MAC = "02:00:0a:4d:00:04"


def build(options: TopologyOptions = TopologyOptions(), *, name: str = "smallpool",
          network: str = "10.77.0.0/28", server: str = "10.77.0.1/28",
          pool: tuple[str, str] = ("10.77.0.8", "10.77.0.11"), clients: int = 6,
          backend: str = "dnsmasq") -> Topology:
    topo = Topology(name, __doc__.splitlines()[0], options)
    subnet = topo.subnet(network, pool=pool, lease_time=600)
    lan = topo.switch("lan", description="the LAN of the pool", subnet=subnet)
    srv = topo.host("srv", description="DHCP server of the LAN",
                    services=[service("dhcp-server", backend=options.dhcp_server or backend,
                                      subnets=[subnet])])
    topo.link(srv, lan, ip=server)
    res = topo.host("res", description="a PC with a reservation outside the pool")
    topo.link(res, lan, mac=RESERVED_MAC, dhcp=Dhcp(server="srv", reserve=RESERVED))
    for number in range(1, clients + 1):
        topo.link(topo.host(f"h{number}", description="a PC taking from the pool"), lan,
                  dhcp=Dhcp(server="srv"))
    return topo
