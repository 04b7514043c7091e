"""Router chain: two routers joined by a /30, a LAN with two PCs behind each.

::

     pc1 10.9.0.11   pc2 10.9.0.12                  pc3 10.9.1.13   pc4 10.9.1.14
          |              |                                |              |
      ----+---- lan1 ----+----                        ----+---- lan2 ----+----
          10.9.0.0/24    |                                |    10.9.1.0/24
                 r1-eth0 10.9.0.1                 r2-eth1 10.9.1.1
                      r1 -- r1-eth1 10.9.255.1/30 ---- 10.9.255.2/30 r2-eth0 -- r2

Everything is static.  r1 knows 10.9.1.0/24 by a static route via r2; r2
has only a default route back via r1: one router routes by a specific
prefix, the other by its default.  ``missing_route`` leaves r1's route out
(the broken variant: nothing crosses from lan1 to lan2).
"""

from __future__ import annotations

from orchestrator.model import Topology, TopologyOptions


def build(options: TopologyOptions = TopologyOptions(), *, missing_route: bool = False
          ) -> Topology:
    topo = Topology("chain", __doc__.splitlines()[0], options)
    lan1 = topo.switch("lan1", subnet=topo.subnet("10.9.0.0/24", gateway="10.9.0.1"))
    lan2 = topo.switch("lan2", subnet=topo.subnet("10.9.1.0/24", gateway="10.9.1.1"))

    r1 = topo.router("r1", description="router of lan1")
    r2 = topo.router("r2", description="router of lan2")
    topo.link(r1, lan1, ip="10.9.0.1/24")
    topo.link(r1, r2, ip="10.9.255.1/30", peer_ip="10.9.255.2/30", subnet="10.9.255.0/30")
    topo.link(r2, lan2, ip="10.9.1.1/24")
    if not missing_route:
        r1.route("10.9.1.0/24", via="10.9.255.2")
    r2.route("default", via="10.9.255.1")

    for name, lan, address, gateway in (("pc1", lan1, "10.9.0.11/24", "10.9.0.1"),
                                        ("pc2", lan1, "10.9.0.12/24", "10.9.0.1"),
                                        ("pc3", lan2, "10.9.1.13/24", "10.9.1.1"),
                                        ("pc4", lan2, "10.9.1.14/24", "10.9.1.1")):
        topo.link(topo.host(name, gateway=gateway), lan, ip=address)
    return topo
