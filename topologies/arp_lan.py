"""ARP LAN: the two hosts of the ARP walk-through, on one switch, short ARP timers.

The hosts of ``001``'s ARP section::

        A 192.168.1.1  0a:11:22:33:44:01        B 192.168.1.2  0a:11:22:33:44:02
              |                                       |
              +---------------- lan ------------------+

Neighbour entries go stale after a few seconds instead of minutes, so that
the soft state of the ARP cache (an entry expires, the next packet asks
again) can be watched within a test.
"""

from __future__ import annotations

from orchestrator.model import Topology, TopologyOptions

# Short neighbour timers.  A confirmed entry is REACHABLE for 1-3 s (base 2 s,
# randomised by the kernel between half and one and a half times the base),
# then STALE: still used, but the first use starts DELAY, and 1 s later
# PROBE sends requests unicast to the cached MAC.  Unused stale entries may be
# garbage-collected after 10 s (only when the table is large enough for the
# collector to run at all).
ARP_TIMERS = {
    "base_reachable_time_ms": 2000,
    "delay_first_probe_time": 1,
    "gc_stale_time": 10,
}


def build(options: TopologyOptions = TopologyOptions()) -> Topology:
    topo = Topology("arp-lan", __doc__.splitlines()[0], options)
    lan = topo.switch("lan", description="one broadcast domain",
                      subnet=topo.subnet("192.168.1.0/24"))
    for name, address, mac in (("A", "192.168.1.1/24", "0a:11:22:33:44:01"),
                               ("B", "192.168.1.2/24", "0a:11:22:33:44:02")):
        host = topo.host(name, description=f"host {name} of the ARP walk-through",
                         sysctls={f"net.ipv4.neigh.{name}-eth0.{key}": value
                                  for key, value in ARP_TIMERS.items()})
        topo.link(host, lan, ip=address, mac=mac)
    return topo
