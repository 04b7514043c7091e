"""Scale LAN: one DHCP server and N DHCP hosts (--guests N, default 100) on one flat /20.

The lab of the scale benchmark (``bench/scale.py``) and of anyone who wants
to see a server hand out a thousand leases::

      srv 10.64.0.1/20  (DHCP server: dnsmasq, or dhcpd with --dhcp-server isc)
       |
      s1 ---- s2 ---- s3 ---- ...      switches of up to 100 hosts, chained
      |        |       |
   g1..g100  g101..  g201..            DHCP clients, pool 10.64.0.10 - 10.64.15.250

One broadcast domain: every DISCOVER reaches the server straight, no relay.
The pool holds 4,081 addresses, so any number of guests up to that gets a
lease; more are refused here rather than left to starve (the starvation
check shows a pool exhausted on purpose).
"""

from __future__ import annotations

from ipaddress import IPv4Address

from orchestrator.model import Dhcp, Topology, TopologyError, TopologyOptions, service

TAKES_GUESTS = True
DEFAULT_GUESTS = 100
PORTS_PER_SWITCH = 100
POOL = ("10.64.0.10", "10.64.15.250")
POOL_SIZE = int(IPv4Address(POOL[1])) - int(IPv4Address(POOL[0])) + 1


def build(options: TopologyOptions = TopologyOptions()) -> Topology:
    guests = DEFAULT_GUESTS if options.guests is None else options.guests
    if not 1 <= guests <= POOL_SIZE:
        raise TopologyError(None, "guests", f"scale takes 1 to {POOL_SIZE} guests (its pool's "
                                            f"size), not {guests}")
    topo = Topology("scale", __doc__.splitlines()[0].replace("N DHCP", f"{guests} DHCP"),
                    options)
    lan = topo.subnet("10.64.0.0/20", pool=POOL)
    server = topo.host("srv", description="DHCP server of the LAN", services=[
        service("dhcp-server", backend=options.dhcp_server or "dnsmasq", subnets=[lan])])
    switches = []
    for index in range(1, (guests + PORTS_PER_SWITCH - 1) // PORTS_PER_SWITCH + 1):
        switch = topo.switch(f"s{index}", description=f"access switch {index}", subnet=lan)
        if switches:
            topo.link(switches[-1], switch)
        switches.append(switch)
    topo.link(server, switches[0], ip="10.64.0.1/20")
    for index in range(1, guests + 1):
        guest = topo.host(f"g{index}", description="DHCP client")
        topo.link(guest, switches[(index - 1) // PORTS_PER_SWITCH], dhcp=Dhcp(server="srv"))
    return topo
