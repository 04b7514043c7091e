"""Small pools: a LAN whose DHCP pool of 4 addresses serves 6 clients, and a LAN of 4 with a reservation.

::

      h1  h2  h3  h4  h5  h6   (DHCP, pool 10.77.0.8-11)     res 10.77.1.4 (reserved)  mallory 10.77.1.2
      |   |   |   |   |   |                                    |                        |
      +-- smallsw1 10.77.0.0/28 --+                       --+-- smallsw2 10.77.1.0/28 --+----
                  |                                                    |
      srv 10.77.0.1 (dnsmasq)                                  srv2 10.77.1.1 (dnsmasq, pool 10.77.1.8-11)

On ``smallsw1`` two of the six pool clients can get nothing: the pool is
exhausted by design, and ``up`` must say so by the pool's name and the
clients'.  On ``smallsw2`` nobody takes from the pool until the starvation
check attacks it from mallory (4 addresses against 1,000 made-up MACs),
while ``res`` keeps its reservation.  ``--dhcp-server isc`` runs ISC dhcpd
on both servers instead.  The switches' names are the machine's bridge
names: unusual ones, so that this lab does not clash with another lab that
is up at the same time.
"""

from __future__ import annotations

from orchestrator.model import Dhcp, Topology, TopologyOptions, service

RESERVED = "10.77.1.4"
RESERVED_MAC = "02:00:0a:4d:01:04"


def add_lan(topo: Topology, switch: str, server: str, network: str, server_ip: str,
            pool: tuple[str, str], clients: list[str], backend: str) -> None:
    """A LAN with its own DHCP server and pool, and ``clients`` taking from it."""
    subnet = topo.subnet(network, pool=pool, lease_time=600)
    lan = topo.switch(switch, description=f"the LAN of {server}'s pool", subnet=subnet)
    srv = topo.host(server, description=f"DHCP server of {switch}",
                    services=[service("dhcp-server", backend=backend, subnets=[subnet])])
    topo.link(srv, lan, ip=server_ip)
    for name in clients:
        topo.link(topo.host(name, description="a PC taking from the pool"), lan,
                  dhcp=Dhcp(server=server))


def build(options: TopologyOptions = TopologyOptions()) -> Topology:
    topo = Topology("smallpool", __doc__.splitlines()[0], options)
    backend = options.dhcp_server or "dnsmasq"
    add_lan(topo, "smallsw1", "srv", "10.77.0.0/28", "10.77.0.1/28", ("10.77.0.8", "10.77.0.11"),
            [f"h{n}" for n in range(1, 7)], backend)
    add_lan(topo, "smallsw2", "srv2", "10.77.1.0/28", "10.77.1.1/28", ("10.77.1.8", "10.77.1.11"),
            [], backend)
    lan2 = topo.find("smallsw2")
    res = topo.host("res", description="a PC with a reservation outside the pool")
    topo.link(res, lan2, mac=RESERVED_MAC, dhcp=Dhcp(server="srv2", reserve=RESERVED))
    mallory = topo.host("mallory", description="a host with a static address: the attacker")
    topo.link(mallory, lan2, ip="10.77.1.2/28")
    return topo
