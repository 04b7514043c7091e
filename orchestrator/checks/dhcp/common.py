"""What every DHCP check shares: who plays which part, what the topology
says each client gets (its relay, its server, its reservation), and the
messages as the texts describe them, as matchers.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from services.dhcp_relay import DHCP_RELAY

from ...errors import LabError
from ...lab import Lab
from ...model import Interface, Subnet
from ...model.domains import declared_subnet
from ...packets import (
    Matcher,
    Packet,
    Packets,
    arp,
    between,
    dhcp,
    expect,
    ip,
)
from ...packets.match import Predicate
from ..footprint import Footprint, dhcp_filter

DHCP_BPF = "udp port 67 or udp port 68"
DHCP_ARP_BPF = f"{DHCP_BPF} or arp"
ZERO = "0.0.0.0"
BROADCAST_IP = "255.255.255.255"
BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"

# Who plays which part in enterprise: xiaoming reboots and releases, xiaomei
# lends her wire to a hand-configured host (the last octet below), and the
# client whose reservation has a renew_time renews.
REBOOTING = "xiaoming"
RELEASING = "xiaoming"
INFORMING = "xiaomei"
HAND_OCTET = 50
# home: the PC, and the host of 192.168.1.0/25 that is off-link for it.
HOME_PC = "pc"
OFF_LINK_HOST = "192.168.1.100"

RENEW_POLL = 0.25          # seconds between looks at the lease record while waiting for T1


# -- what the topology says each client gets ------------------------------------------------

@dataclass(frozen=True)
class Relay:
    """A DHCP relay as a client's messages cross it."""

    node: str
    lan: str            # its interface on the client's subnet
    lan_mac: str
    up: str             # its interface towards the server
    giaddr: str         # its address on the client's subnet: what it writes in giaddr
    source: str         # its upstream address: where relayed messages come from


@dataclass(frozen=True)
class Client:
    """A DHCP client interface and what its server should give it."""

    node: str
    iface: str
    mac: str
    address: str | None          # its reservation; None: from the pool
    subnet: Subnet
    server: str                  # the server's node
    server_iface: str
    server_id: str               # option 54: the server's address facing the client or relay
    server_mac: str
    relay: Relay | None
    renew_time: int | None

    @property
    def mask(self) -> str:
        return str(self.subnet.network.netmask)

    @property
    def router(self) -> str:
        return str(self.subnet.gateway)

    @property
    def dns(self) -> list[str]:
        return [str(d) for d in self.subnet.dns]

    @property
    def replier(self) -> tuple[str, str]:
        """(address, MAC) that replies come from on the client's wire: the
        relay's, or the server's own when it sits on the client's LAN."""
        if self.relay:
            return self.relay.giaddr, self.relay.lan_mac
        return self.server_id, self.server_mac

    @property
    def gateway_mac(self) -> str:
        """Where the client's unicast to an off-link server goes first."""
        return self.replier[1]


def mac_of(lab: Lab, iface: Interface) -> str:
    """The interface's MAC: the model's (a plan needs no lab where the model
    gives every MAC), else the running lab's."""
    return iface.mac or lab.mac(iface.node, iface.name)


def iface_on(lab: Lab, node: str, network: ipaddress.IPv4Network) -> Interface:
    for iface in lab.topo.interfaces(node):
        if iface.address is not None and iface.address.network == network:
            return iface
    raise LabError(f"{node} has no interface on {network}")


def iface_with(lab: Lab, node: str, address: str) -> Interface:
    for iface in lab.topo.interfaces(node):
        if iface.ip is not None and str(iface.ip) == address:
            return iface
    raise LabError(f"{node} has no interface with the address {address}")


def relay_for(lab: Lab, name: str, network: ipaddress.IPv4Network) -> tuple[Relay, str]:
    """The relay ``name`` for clients on ``network``, and the server address
    it forwards to."""
    params = next(s.params for s in lab.topo.node(name).services if s.kind == DHCP_RELAY)
    lan = iface_on(lab, name, network)
    up = next(i for i in lab.topo.interfaces(name) if i.name == params["upstream"])
    return Relay(name, lan.name, mac_of(lab, lan), up.name, str(lan.ip), str(up.ip)), \
        str(params["server"])


def server_node(topo, address: str) -> str | None:
    """The node that owns ``address``: where a relay's messages go."""
    return next((i.node for i in topo.interfaces() if i.ip is not None and str(i.ip) == address),
                None)


def plan_via(lab: Lab, iface: Interface, subnet: Subnet, relay_node: str | None) -> Client:
    """What DHCP interface ``iface`` gets from ``subnet``, relayed by
    ``relay_node`` (or straight from its server when None): its reservation
    (when ``subnet`` is its port's own), the subnet's options, the server."""
    relay = None
    server = iface.dhcp.server
    if relay_node:
        relay, server_address = relay_for(lab, relay_node, subnet.network)
        server = server_node(lab.topo, server_address) or server
        server_iface = iface_with(lab, server, server_address)
    else:
        server_iface = iface_on(lab, server, subnet.network)
    reserve = iface.dhcp.reserve
    own = declared_subnet(lab.topo, iface)
    address = str(reserve) if reserve and own is not None and own.network == subnet.network \
        else None
    return Client(iface.node, iface.name, mac_of(lab, iface), address, subnet, server,
                  server_iface.name, str(server_iface.ip), mac_of(lab, server_iface), relay,
                  iface.dhcp.renew_time)


def client_plan(lab: Lab, node: str) -> Client:
    """The first DHCP interface of ``node``, from the model: its reservation,
    its subnet's options, its relay and its server."""
    iface = next((i for i in lab.topo.interfaces(node) if i.dhcp), None)
    if iface is None:
        raise LabError(f"{node} takes no address by DHCP in {lab.topo.name}")
    subnet = declared_subnet(lab.topo, iface)
    if subnet is None:
        raise LabError(f"{node}: no subnet is declared for {iface.name}")
    return plan_via(lab, iface, subnet, iface.dhcp.relay)


def relayed_clients(lab: Lab) -> list[Client]:
    """Every PC that takes its address through a relay, in topology order."""
    return [client_plan(lab, i.node) for i in lab.topo.interfaces()
            if i.dhcp and i.dhcp.relay]


def renewing_client(lab: Lab) -> Client:
    """The client whose reservation has a short T1 (``Dhcp.renew_time``)."""
    for iface in lab.topo.interfaces():
        if iface.dhcp and iface.dhcp.renew_time:
            return client_plan(lab, iface.node)
    raise LabError(f"no DHCP client of {lab.topo.name} has a renew_time: nothing renews "
                   "within a check's time (give one reservation Dhcp(renew_time=...))")


def client_bpf(c: Client, arp: bool = False) -> str:
    """The capture filter of one client's DHCP (by chaddr) and, with
    ``arp``, the ARP about its address: what :func:`client_footprint` says
    the check hears, so that checks of other clients can run beside it."""
    return dhcp_filter(c.mac, c.address, arp)


def client_footprint(clients: list[Client], arp: bool = False) -> Footprint:
    """A check of these clients' DHCP: it restarts them (or configures their
    interface), asks their relays and servers, and hears their DHCP (and ARP)."""
    nodes = {c.node for c in clients}
    return Footprint.of(
        changes=nodes,
        uses={c.server for c in clients} | {c.relay.node for c in clients if c.relay},
        hears={f"dhcp@{n}" for n in nodes} | ({f"arp@{n}" for n in nodes} if arp else set()),
        makes={f"dhcp@{n}" for n in nodes})


def wire_points(c: Client) -> list[tuple[str, str]]:
    """Where a client's DHCP is captured: its wire, both sides of its relay,
    and the server's wire."""
    points = [(c.node, c.iface)]
    if c.relay:
        points += [(c.relay.node, c.relay.lan), (c.relay.node, c.relay.up)]
    return points + [(c.server, c.server_iface)]


# -- matchers: the messages as the texts describe them ------------------------------------------

def from_unconfigured(**fields) -> Matcher:
    """What a client with no address sends: 0.0.0.0:68 -> 255.255.255.255:67,
    no ciaddr, no giaddr."""
    return dhcp(src=ZERO, dst=BROADCAST_IP, sport=68, dport=67, ciaddr=ZERO, giaddr=ZERO,
                **fields)


def relayed(c: Client, **fields) -> Matcher:
    """A client's message as the relay forwards it: unicast from the relay's
    upstream address, port 67 to the server's 67, giaddr = the gateway."""
    return dhcp(src=c.relay.source, dst=c.server_id, sport=67, dport=67, giaddr=c.relay.giaddr,
                **fields)


def to_relay(c: Client, **fields) -> Matcher:
    """A server's answer to a relayed message: to giaddr, port 67."""
    return dhcp(src=c.server_id, dst=c.relay.giaddr, sport=67, dport=67, giaddr=c.relay.giaddr,
                **fields)


def delivered(c: Client, broadcast: bool, **fields) -> Matcher:
    """A reply on the client's wire, from the relay (or the server on its LAN),
    port 67 to 68: broadcast when the client set the BROADCAST flag, else
    unicast to yiaddr at chaddr."""
    source_ip, source_mac = c.replier
    if broadcast:
        where = {"dst": BROADCAST_IP, "mac_dst": BROADCAST_MAC}
    else:
        where = {"dst": fields["yiaddr"], "mac_dst": c.mac}
    return dhcp(src=source_ip, mac_src=source_mac, sport=67, dport=68, **where, **fields)


def in_range(low: str, high: str) -> Predicate:
    """An address from ``low`` to ``high`` (a DHCP pool), both included."""
    lo, hi = ipaddress.IPv4Address(low), ipaddress.IPv4Address(high)
    return Predicate(lambda v: v is not None and lo <= ipaddress.IPv4Address(v) <= hi,
                     f"in {low}-{high}")


def lease_up_to(c: Client) -> Predicate:
    """A lease time no longer than the subnet's: ISC dhcpd answers a client
    that comes back within its cache threshold (a quarter of the lease) with
    what is left of the lease it holds (3599 s), not a new one."""
    return between(1, c.subnet.lease_time)


def lease_terms(ack: Packet) -> str:
    """The ACK's lease time and T1 as the evidence shows them: dnsmasq sends
    T1 (and T2) in every ACK, ISC dhcpd only when told to."""
    t1 = f"T1 {ack.dhcp.t1} s" if ack.dhcp.t1 is not None else "no T1"
    return f"lease {ack.dhcp.lease_time} s, {t1}"


def nonzero(value) -> bool:
    return value is not None and value != ZERO


def after(wire: Packets, packet: Packet) -> Packets:
    """The packets of ``wire`` that follow ``packet``."""
    items = list(wire)
    for position, candidate in enumerate(items):
        if candidate is packet:
            return Packets(items[position + 1:], wire.label)
    return Packets([p for p in items if p.time > packet.time], wire.label)


def probed_before_use(wire: Packets, ack: Packet, mac: str, address: str) -> Packet:
    """After its ACK the client asks "who has my address?" from 0.0.0.0 (RFC
    5227 probe) and uses the address only after that."""
    probe = expect(after(wire, ack)).first(
        arp(op="request", sender_ip=ZERO, target_ip=address, sender_mac=mac))
    between = Packets([p for p in after(wire, ack) if p.time < probe.time])
    expect(between).none(ip(src=address) | arp(sender_ip=address))
    return probe


def relayed_copies(server_wire: Packets, kind: str, c: Client, xid: int) -> int:
    """How many copies of a client's unicast message a relay forwarded too:
    ISC dhcrelay hears every BOOTREQUEST on its client side, even one
    addressed past it, and relays it with giaddr set."""
    return len(server_wire.filter(dhcp(type=kind, xid=xid, ciaddr=c.address, giaddr=nonzero)))


def copies_note(count: int, c: Client, answered: bool) -> str:
    """The evidence's word on the relay's copies (see relayed_copies)."""
    if not count or not c.relay:
        return ""
    copies = "a copy" if count == 1 else f"{count} copies"
    fate = "which the server answered too" if answered else "so the server got it twice"
    return (f"; {c.relay.node}'s dhcrelay overheard it and relayed {copies} "
            f"(giaddr {c.relay.giaddr}), {fate}")
