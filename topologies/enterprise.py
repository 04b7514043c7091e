"""Enterprise LAN: three PCs in two VLANs, relayed DHCP, NAT to the internet.

The network of the texts (``000``), with their own addresses::

      xiaoming 10.1.1.2   xiaomei 10.1.1.3          xiaoli 10.1.2.2
            |  VLAN 10        |  VLAN 10                |  VLAN 20
      +-----+-----------------+-------- access ---------+------------+
      |  VLAN 10                                           VLAN 20   |
      gw1 10.1.1.1  (rarpd)                            gw2 10.1.2.1
      gw1 10.10.10.1  (dhcrelay)                (dhcrelay) 10.10.10.2
            |                                              |
      ------+----------------- srvlan 10.10.10.0/24 -------+------
                       |                          |
                srv 10.10.10.10            edge 10.10.10.254
          DHCP server, DNS resolver        edge 203.0.113.2 (SNAT)
                                                  |
                                     isp -- pubdns 8.8.8.8, web 61.135.169.125,
                                            root, tld (com.), auth (baidu.com.)

The PCs take their addresses by DHCP from srv through their own gateway's
relay; each has a reservation by MAC and the pools serve extra clients.
gw1 also runs a RARP server for VLAN 10 (``000``, section 6), its static
table holding the PCs' MACs and reserved addresses.
With ``--no-vlan`` the access switch is flat: the five of the texts share one
broadcast domain, both relays hear every DISCOVER, and the relay race is on.
"""

from __future__ import annotations

from orchestrator.model import Dhcp, Topology, TopologyOptions, service
from topologies.internet import add_internet

RESOLVER = "10.10.10.10"
RENEW_TIME = 10


def build(options: TopologyOptions = TopologyOptions()) -> Topology:
    topo = Topology("enterprise", __doc__.splitlines()[0], options)

    # Subnets and VLANs: what DHCP hands out on each.
    pcs_a = topo.subnet("10.1.1.0/24", gateway="10.1.1.1", pool=("10.1.1.100", "10.1.1.199"),
                        dns=[RESOLVER], lease_time=3600)
    pcs_b = topo.subnet("10.1.2.0/24", gateway="10.1.2.1", pool=("10.1.2.100", "10.1.2.199"),
                        dns=[RESOLVER], lease_time=3600)
    servers = topo.subnet("10.10.10.0/24", gateway="10.10.10.254", dns=[RESOLVER])
    vlan10 = topo.vlan(10, "pcs-a", pcs_a)
    vlan20 = topo.vlan(20, "pcs-b", pcs_b)

    # Switches. Flat (no VLANs) is the relay race set-up, and intended.
    access = topo.switch("access", description="access switch, VLAN 10 and 20 access ports",
                         vlans=options.vlans, mixed_subnets=not options.vlans)
    srvlan = topo.switch("srvlan", description="server LAN", subnet=servers)

    # The server: DHCP for both PC subnets, and the resolver (forwards to 8.8.8.8).
    srv = topo.host("srv", description="enterprise DHCP server and recursive DNS resolver",
                    gateway="10.10.10.254", services=[
                        service("dhcp-server", backend=options.dhcp_server or "dnsmasq",
                                subnets=[pcs_a, pcs_b]),
                        service("dns-resolver", mode="forward", forwarders=["8.8.8.8"]),
                    ])
    topo.link(srv, srvlan, ip="10.10.10.10/24", mac="02:00:0a:0a:0a:0a")
    srv.route("10.1.1.0/24", via="10.10.10.1").route("10.1.2.0/24", via="10.10.10.2")

    # The gateways: one leg in their VLAN, one in the server LAN; each relays DHCP.
    for name, vlan, inside, mac_in, outside, mac_out in (
            ("gw1", vlan10, "10.1.1.1/24", "02:00:0a:01:01:01", "10.10.10.1/24", "02:00:0a:0a:0a:01"),
            ("gw2", vlan20, "10.1.2.1/24", "02:00:0a:01:02:01", "10.10.10.2/24", "02:00:0a:0a:0a:02")):
        gw = topo.router(name, description=f"gateway of VLAN {vlan.id}, DHCP relay agent",
                         services=[service("dhcp-relay", server=RESOLVER,
                                           downstream=[f"{name}-eth0"], upstream=f"{name}-eth1")])
        topo.link(gw, access, vlan=vlan, ip=inside, mac=mac_in)
        topo.link(gw, srvlan, ip=outside, mac=mac_out)
        gw.route("default", via="10.10.10.254")

    # The PCs: DHCP through their own gateway, with a reservation by MAC.
    # xiaoli's reservation renews at T1 = RENEW_TIME s (her lease stays an
    # hour): a renewal the renew check can watch without waiting half an hour.
    for name, vlan, relay, reserve, mac, renew in (
            ("xiaoming", vlan10, "gw1", "10.1.1.2", "02:00:0a:01:01:02", None),
            ("xiaomei", vlan10, "gw1", "10.1.1.3", "02:00:0a:01:01:03", None),
            ("xiaoli", vlan20, "gw2", "10.1.2.2", "02:00:0a:01:02:02", RENEW_TIME)):
        pc = topo.host(name, description=f"PC in VLAN {vlan.id}, DHCP client",
                       hosts={"intranet.corp": RESOLVER}, services=[service("dns-cache")])
        topo.link(pc, access, vlan=vlan, mac=mac,
                  dhcp=Dhcp(server="srv", relay=relay, reserve=reserve, renew_time=renew))

    # RARP, the older way to learn an address (000, section 6): a static table
    # of the PCs on VLAN 10's router.  It holds xiaoli too, and still cannot
    # answer her: her broadcast stops at gw2.
    topo.node("gw1").run(service("rarp-server", interface="gw1-eth0",
                                 clients=["xiaoming", "xiaomei", "xiaoli"]))

    # The edge: source NAT from the enterprise into the emulated internet.
    edge = topo.router("edge", description="edge router, source NAT to the internet")
    topo.link(edge, srvlan, ip="10.10.10.254/24", mac="02:00:0a:0a:0a:fe")
    edge.route("10.1.1.0/24", via="10.10.10.1").route("10.1.2.0/24", via="10.10.10.2")
    add_internet(topo, edge, customer_wan="203.0.113.2/24", isp_side="203.0.113.1/24")
    return topo


def add_guests(topo: Topology, count: int, static: bool = False) -> list[str]:
    """Add ``count`` extra PCs (g001, g002, ...) spread over VLAN 10 and 20,
    with no reservation: they take addresses from the pools (or, with
    ``static``, the same addresses configured by hand).  For load and the
    bring-up benchmark; returns their names."""
    names = []
    for index in range(1, count + 1):
        vlan, relay, octet = (10, "gw1", 1) if index % 2 else (20, "gw2", 2)
        name = f"g{index:03d}"
        pc = topo.host(name, description=f"extra PC in VLAN {vlan}",
                       gateway=f"10.1.{octet}.1" if static else None)
        mac = f"02:00:0b:{octet:02x}:{index // 256:02x}:{index % 256:02x}"
        if static:
            # Outside the pool, which validation would rightly refuse.
            topo.link(pc, "access", vlan=vlan, mac=mac, ip=f"10.1.{octet}.{10 + index // 2}/24")
        else:
            topo.link(pc, "access", vlan=vlan, mac=mac, dhcp=Dhcp(server="srv", relay=relay))
        names.append(name)
    return names
