"""Home LAN: a home router serving DHCP for 192.168.1.128/25, NAT to the internet.

The home network of the texts (``000``, section 二)::

        pc (DHCP, 192.168.1.130-254)          oldpc 192.168.1.100/25
            |                                     |
        homesw 192.168.1.128/25               oldsw 192.168.1.0/25
            |                                     |
        homegw-eth0 192.168.1.129/25          homegw-eth2 192.168.1.1/25
                 homegw (DHCP server, SNAT)
                 homegw-eth1 198.51.100.2/24 --- isp --- the emulated internet

The router serves DHCP itself (no relay).  With a /25 mask the PC computes
network 192.168.1.128 and broadcast 192.168.1.255, so oldpc at
192.168.1.100 is off-link for it: the PC reaches it through its gateway.
The texts' PPPoE dial-up is not emulated (no PPP in the kernel here); a
plain WAN link stands in.
"""

from __future__ import annotations

from orchestrator.model import Dhcp, Topology, TopologyOptions, service
from topologies.internet import add_internet


def build(options: TopologyOptions = TopologyOptions()) -> Topology:
    topo = Topology("home", __doc__.splitlines()[0], options)

    lan = topo.subnet("192.168.1.128/25", gateway="192.168.1.129",
                      pool=("192.168.1.130", "192.168.1.254"), dns=["8.8.8.8"], lease_time=3600)
    old = topo.subnet("192.168.1.0/25", gateway="192.168.1.1")
    homesw = topo.switch("homesw", description="the home LAN", subnet=lan)
    oldsw = topo.switch("oldsw", description="a second LAN behind the router", subnet=old)

    homegw = topo.router("homegw", description="home router: DHCP server and source NAT",
                         services=[service("dhcp-server", backend=options.dhcp_server or "dnsmasq",
                                           subnets=[lan])])
    topo.link(homegw, homesw, ip="192.168.1.129/25", mac="02:00:c0:a8:01:81")

    pc = topo.host("pc", description="PC on the home LAN, DHCP client",
                   services=[service("dns-cache")])
    topo.link(pc, homesw, mac="02:00:c0:a8:01:82", dhcp=Dhcp(server="homegw"))

    topo.link(homegw, oldsw, ip="192.168.1.1/25", mac="02:00:c0:a8:01:01", name="homegw-eth2")
    oldpc = topo.host("oldpc", description="a host at 192.168.1.100, off-link for the PC",
                      gateway="192.168.1.1")
    topo.link(oldpc, oldsw, ip="192.168.1.100/25", mac="02:00:c0:a8:01:64")

    add_internet(topo, homegw, customer_wan="198.51.100.2/24", isp_side="198.51.100.1/24")
    return topo
