"""Campus: two access switches joined by a trunk, two VLANs on both, one relay router, NAT out.

::

      a1 (VLAN 10)  b1 (VLAN 20)              a2 (VLAN 10)  b2 (VLAN 20)
      reserve .10   pool                      pool          reserve .20
          |            |                          |            |
      +---+------------+---+    trunk 10,20   +---+------------+---+
      |        acc1        +------------------+        acc2        |
      +---+------------+---+                  +--------------------+
     VLAN 10 |            | VLAN 20
      core-eth0           core-eth1          VLAN 10  10.20.10.0/24  gateway .1
      10.20.10.1          10.20.20.1         VLAN 20  10.20.20.0/24  gateway .1
                  core   (dhcrelay on both, upstream core-eth2)
      core-eth2 10.20.0.1                    core-eth3 198.18.0.1/24 (SNAT)
          |                                      |
      ----+---- srvlan 10.20.0.0/24 ----     ----+---- outside 198.18.0.0/24 ----
          |                                      |
      srv 10.20.0.10 (dnsmasq: DHCP for        ext 198.18.0.100 (no gateway:
          both VLANs)                              only NAT makes replies possible)

The PCs take their addresses by DHCP relayed by core, one with a
reservation per VLAN, one from the pool.  A PC's broadcast domain spans
both switches through the trunk; the other VLAN is another domain on the
same switches.  ext knows no route to the campus: the campus reaches it only
through core's source NAT, and ext cannot open anything towards the campus.
"""

from __future__ import annotations

from orchestrator.model import Dhcp, Topology, TopologyOptions, service

SERVER = "10.20.0.10"


def build(options: TopologyOptions = TopologyOptions()) -> Topology:
    topo = Topology("campus", __doc__.splitlines()[0], options)
    ten = topo.vlan(10, "staff", topo.subnet("10.20.10.0/24", gateway="10.20.10.1",
                                             pool=("10.20.10.100", "10.20.10.199")))
    twenty = topo.vlan(20, "students", topo.subnet("10.20.20.0/24", gateway="10.20.20.1",
                                                   pool=("10.20.20.100", "10.20.20.199")))
    servers = topo.subnet("10.20.0.0/24", gateway="10.20.0.1")

    acc1 = topo.switch("acc1", description="access switch 1", vlans=options.vlans,
                       mixed_subnets=not options.vlans)
    acc2 = topo.switch("acc2", description="access switch 2", vlans=options.vlans,
                       mixed_subnets=not options.vlans)
    topo.link(acc1, acc2, trunk=[ten, twenty])
    srvlan = topo.switch("srvlan", description="server LAN", subnet=servers)
    outside = topo.switch("outside", description="outside network",
                          subnet=topo.subnet("198.18.0.0/24"))

    srv = topo.host("srv", description="DHCP server of both VLANs", gateway="10.20.0.1",
                    services=[service("dhcp-server", backend=options.dhcp_server or "dnsmasq",
                                      subnets=[ten.subnet, twenty.subnet])])
    topo.link(srv, srvlan, ip=f"{SERVER}/24")

    core = topo.router("core", description="router of both VLANs, DHCP relay, source NAT",
                       services=[service("dhcp-relay", server=SERVER,
                                         downstream=["core-eth0", "core-eth1"],
                                         upstream="core-eth2")])
    topo.link(core, acc1, vlan=ten, ip="10.20.10.1/24")
    topo.link(core, acc1, vlan=twenty, ip="10.20.20.1/24")
    topo.link(core, srvlan, ip="10.20.0.1/24")
    topo.link(core, outside, ip="198.18.0.1/24", nat=True)

    topo.link(topo.host("ext", description="a host outside, no route to the campus"),
              outside, ip="198.18.0.100/24")

    for name, switch, vlan, mac, reserve in (
            ("a1", acc1, ten, "02:00:0a:14:0a:0a", "10.20.10.10"),
            ("b1", acc1, twenty, "02:00:0a:14:14:0b", None),
            ("a2", acc2, ten, "02:00:0a:14:0a:0c", None),
            ("b2", acc2, twenty, "02:00:0a:14:14:14", "10.20.20.20")):
        pc = topo.host(name, description=f"PC in VLAN {vlan.id} on {switch.name}")
        topo.link(pc, switch, vlan=vlan, mac=mac,
                  dhcp=Dhcp(server="srv", relay="core", reserve=reserve))
    return topo
