"""Two relays on one LAN: two routers relay DHCP from one access switch to one server.

::

      pc1 (VLAN 10)          pc2 (VLAN 20)
      reserve 172.16.1.10    pool 172.16.2.100-199
            |                      |
      +-----+------ lan -----------+------+      VLAN 10  172.16.1.0/24  gateway .1
      |  VLAN 10                 VLAN 20  |      VLAN 20  172.16.2.0/24  gateway .1
      r1-eth0 172.16.1.1        r2-eth0 172.16.2.1
      r1 (dhcrelay)             r2 (dhcrelay)
      r1-eth1 192.0.2.1         r2-eth1 192.0.2.2
            |                          |
      ------+------ srvnet 192.0.2.0/24 ----+------
                          |
                   dhcp1 192.0.2.10 (DHCP for both subnets)

Each router reaches the other VLAN through the other router, across srvnet.
The cast and addresses differ from ``enterprise`` on purpose: nothing of
the race may know them by name.  With VLANs each PC's broadcast domain holds
its own router only; with ``--no-vlan`` the switch is flat, both routers
hear every DISCOVER and relay it, and the client takes the first OFFER: the
relay race.
"""

from __future__ import annotations

from orchestrator.model import Dhcp, Topology, TopologyOptions, service

SERVER = "192.0.2.10"


def build(options: TopologyOptions = TopologyOptions()) -> Topology:
    topo = Topology("tworelays", __doc__.splitlines()[0], options)
    ten = topo.vlan(10, "red", topo.subnet("172.16.1.0/24", gateway="172.16.1.1",
                                           pool=("172.16.1.100", "172.16.1.199")))
    twenty = topo.vlan(20, "blue", topo.subnet("172.16.2.0/24", gateway="172.16.2.1",
                                               pool=("172.16.2.100", "172.16.2.199")))
    lan = topo.switch("lan", description="access switch, VLAN 10 and 20 access ports",
                      vlans=options.vlans, mixed_subnets=not options.vlans)
    srvnet = topo.switch("srvnet", description="server network",
                         subnet=topo.subnet("192.0.2.0/24"))

    dhcp1 = topo.host("dhcp1", description="DHCP server of both subnets", services=[
        service("dhcp-server", backend=options.dhcp_server or "dnsmasq",
                subnets=[ten.subnet, twenty.subnet])])
    topo.link(dhcp1, srvnet, ip=f"{SERVER}/24")
    dhcp1.route("172.16.1.0/24", via="192.0.2.1").route("172.16.2.0/24", via="192.0.2.2")

    for name, vlan, inside, outside, other_net, other_router in (
            ("r1", ten, "172.16.1.1/24", "192.0.2.1/24", "172.16.2.0/24", "192.0.2.2"),
            ("r2", twenty, "172.16.2.1/24", "192.0.2.2/24", "172.16.1.0/24", "192.0.2.1")):
        router = topo.router(name, description=f"router of VLAN {vlan.id}, DHCP relay",
                             services=[service("dhcp-relay", server=SERVER,
                                               downstream=[f"{name}-eth0"],
                                               upstream=f"{name}-eth1")])
        topo.link(router, lan, vlan=vlan, ip=inside)
        topo.link(router, srvnet, ip=outside)
        router.route(other_net, via=other_router)      # the other VLAN, across srvnet

    for name, vlan, relay, mac, reserve in (
            ("pc1", ten, "r1", "02:00:ac:10:01:0a", "172.16.1.10"),
            ("pc2", twenty, "r2", "02:00:ac:10:02:0b", None)):
        pc = topo.host(name, description=f"PC in VLAN {vlan.id}, DHCP client")
        topo.link(pc, lan, vlan=vlan, mac=mac,
                  dhcp=Dhcp(server="dhcp1", relay=relay, reserve=reserve))
    return topo
