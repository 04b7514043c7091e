"""Lost relay: two LANs, two relays, one of them sends to a server that is not there.

::

      pc1 (dhclient)              pc2 (dhclient)  pc3 (udhcpc)
          |                            |              |
      lan1 10.30.1.0/24            lan2 10.30.2.0/24
          |                            |
      gw1-eth0 10.30.1.1           gw2-eth0 10.30.2.1
      gw1: dhcrelay -> 10.30.0.10  gw2: dhcrelay -> 10.30.0.99 (nobody)
      gw1-eth1 10.30.0.1           gw2-eth1 10.30.0.2
          |                            |
      ----+------- srvlan 10.30.0.0/24 -------+----
                         |
                  srv 10.30.0.10 (dnsmasq: DHCP for both LANs)

A test network, not a shipped lab: the mistake a student makes when typing
the server's address into one relay.  gw2 relays every DISCOVER of lan2 to
10.30.0.99, which nobody answers, so pc2 and pc3 never get a lease while
pc1, through gw1, does.  Brought up with ``unbound_ok`` the lab stays up and
names pc2 and pc3; without it the bring-up fails naming the first of them.
"""

from __future__ import annotations

from orchestrator.model import Dhcp, Topology, TopologyOptions, service

SERVER = "10.30.0.10"
NOBODY = "10.30.0.99"


def build(options: TopologyOptions = TopologyOptions()) -> Topology:
    topo = Topology("lostrelay", __doc__.splitlines()[0], options)
    lan1 = topo.subnet("10.30.1.0/24", gateway="10.30.1.1", pool=("10.30.1.100", "10.30.1.199"))
    lan2 = topo.subnet("10.30.2.0/24", gateway="10.30.2.1", pool=("10.30.2.100", "10.30.2.199"))
    servers = topo.subnet("10.30.0.0/24")
    sw1 = topo.switch("lan1", description="first LAN", subnet=lan1)
    sw2 = topo.switch("lan2", description="second LAN", subnet=lan2)
    srvlan = topo.switch("srvlan", description="server LAN", subnet=servers)

    srv = topo.host("srv", description="DHCP server of both LANs", gateway="10.30.0.1",
                    services=[service("dhcp-server", backend=options.dhcp_server or "dnsmasq",
                                      subnets=[lan1, lan2])])
    topo.link(srv, srvlan, ip=f"{SERVER}/24")
    for name, lan, last, server in (("gw1", sw1, 1, SERVER), ("gw2", sw2, 2, NOBODY)):
        gw = topo.router(name, description=f"router of {lan.name}, relays to {server}",
                         services=[service("dhcp-relay", server=server,
                                           downstream=[f"{name}-eth0"], upstream=f"{name}-eth1")])
        topo.link(gw, lan, ip=f"10.30.{last}.1/24")
        topo.link(gw, srvlan, ip=f"10.30.0.{last}/24")
    for name, lan, relay, client in (("pc1", sw1, "gw1", "dhclient"),
                                     ("pc2", sw2, "gw2", "dhclient"),
                                     ("pc3", sw2, "gw2", "udhcpc")):
        pc = topo.host(name, description=f"PC on {lan.name}, DHCP through {relay}")
        topo.link(pc, lan, dhcp=Dhcp(server="srv", relay=relay, client=client))
    return topo
