"""DHCP: the checks dora-relay, init-reboot, renew, inform, release and home-dora.

Every check drives a real client inside a PC (ISC dhclient: a fresh start,
a reboot with its lease file, a renewal at T1, ``dhclient -r``) or, for
INFORM, a hand-configured address that sends one crafted message through the
node's own kernel, while tcpdump captures the client's wire, both sides of
its relay and the server's wire.  Then a pure ``judge_*`` function decides
from those packets alone (as :mod:`.arp` does), so unit tests can feed it
right and wrong synthetic captures.

What the two server backends (dnsmasq, ISC dhcpd) do differently on the wire
is said in the evidence, not hidden: the ACK to a relayed INFORM (dnsmasq
answers the relay, dhcpd answers ciaddr straight), T1/T2 in every ACK
(dnsmasq only), and a lease database that holds reservations (dnsmasq only).
ISC dhcrelay, with either backend, also relays a copy of the unicast
messages it overhears on its client side (a renewal, a RELEASE); the
evidence counts those copies.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from services.dhcp import SERVERS

from ..errors import LabError
from ..lab import Lab
from ..model import Interface, Subnet
from ..packets import (
    ExpectationFailed,
    Matcher,
    Packet,
    Packets,
    absent,
    arp,
    between,
    dhcp,
    expect,
    icmp,
    ip,
    tcp,
)
from ..packets.match import Predicate
from ..segments import declared_subnet
from .base import Check, CheckContext, Demonstrated, record_erratum

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


def _mac(lab: Lab, iface: Interface) -> str:
    return (iface.mac or lab.node(iface.node).intf(iface.name).mac).lower()


def _iface_on(lab: Lab, node: str, network: ipaddress.IPv4Network) -> Interface:
    for iface in lab.topo.interfaces(node):
        if iface.address is not None and iface.address.network == network:
            return iface
    raise LabError(f"{node} has no interface on {network}")


def _iface_with(lab: Lab, node: str, address: str) -> Interface:
    for iface in lab.topo.interfaces(node):
        if iface.ip is not None and str(iface.ip) == address:
            return iface
    raise LabError(f"{node} has no interface with the address {address}")


def _relay(lab: Lab, name: str, network: ipaddress.IPv4Network) -> tuple[Relay, str]:
    """The relay ``name`` for clients on ``network``, and the server address
    it forwards to."""
    params = next(s.params for s in lab.topo.node(name).services if s.kind == "dhcp-relay")
    lan = _iface_on(lab, name, network)
    up = next(i for i in lab.topo.interfaces(name) if i.name == params["upstream"])
    return Relay(name, lan.name, _mac(lab, lan), up.name, str(lan.ip), str(up.ip)), \
        str(params["server"])


def client_plan(lab: Lab, node: str) -> Client:
    """The first DHCP interface of ``node``, from the model: its reservation,
    its subnet's options, its relay and its server."""
    iface = next((i for i in lab.topo.interfaces(node) if i.dhcp), None)
    if iface is None:
        raise LabError(f"{node} takes no address by DHCP in {lab.topo.name}")
    subnet = declared_subnet(lab.topo, iface)
    if subnet is None:
        raise LabError(f"{node}: no subnet is declared for {iface.name}")
    relay = None
    if iface.dhcp.relay:
        relay, server_address = _relay(lab, iface.dhcp.relay, subnet.network)
        server_iface = _iface_with(lab, iface.dhcp.server, server_address)
    else:
        server_iface = _iface_on(lab, iface.dhcp.server, subnet.network)
    reserve = iface.dhcp.reserve
    return Client(node, iface.name, _mac(lab, iface), str(reserve) if reserve else None, subnet,
                  iface.dhcp.server, server_iface.name, str(server_iface.ip),
                  _mac(lab, server_iface), relay, iface.dhcp.renew_time)


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


# -- dora-relay -----------------------------------------------------------------------

@dataclass(frozen=True)
class Dora:
    """What one client's DISCOVER-OFFER-REQUEST-ACK showed: for the evidence
    and for the errata of the texts' ports, relay source and OFFER unicast."""

    client: str
    address: str
    relay: str
    discover: Packet
    offer: Packet
    ack: Packet
    relayed: Packet

    @property
    def flag(self) -> bool:
        return self.discover.dhcp.broadcast

    def summary(self) -> str:
        how = ("broadcast" if self.flag else f"unicast to {self.offer.ip.dst}")
        return (f"{self.client} {self.address} via {self.relay} (from {self.relayed.ip.src}, "
                f"giaddr {self.relayed.dhcp.giaddr}), OFFER {how}, {lease_terms(self.ack)}")


def judge_dora_relay(client_wire: Packets, relay_lan: Packets, relay_up: Packets,
                     server_wire: Packets, c: Client) -> Dora:
    """The four messages on the client's wire, the relay hearing the DISCOVER,
    and the relayed exchange leaving the relay and reaching the server."""
    discover = expect(client_wire).first(from_unconfigured(type="DISCOVER", chaddr=c.mac))
    xid, flag = discover.dhcp.xid, discover.dhcp.broadcast
    offered = {"yiaddr": c.address, "server_id": c.server_id}
    granted = {**offered, "subnet_mask": c.mask, "router": c.router, "dns_servers": c.dns,
               "lease_time": lease_up_to(c)}
    _, offer, _, ack = expect(client_wire).sequence(
        [from_unconfigured(type="DISCOVER", chaddr=c.mac),
         delivered(c, flag, type="OFFER", **offered),
         from_unconfigured(type="REQUEST", chaddr=c.mac, requested_ip=c.address,
                           server_id=c.server_id),
         delivered(c, flag, type="ACK", **granted)],
        kind=dhcp(xid=xid))
    expect(relay_lan).first(dhcp(type="DISCOVER", xid=xid, chaddr=c.mac, giaddr=ZERO))
    for wire in (relay_up, server_wire):
        forwarded, *_ = expect(wire).sequence(
            [relayed(c, type="DISCOVER", chaddr=c.mac),
             to_relay(c, type="OFFER", **offered),
             relayed(c, type="REQUEST", chaddr=c.mac, requested_ip=c.address,
                     server_id=c.server_id),
             to_relay(c, type="ACK", **granted)],
            kind=dhcp(xid=xid))
    probed_before_use(client_wire, ack, c.mac, c.address)
    return Dora(c.node, c.address, c.relay.node, discover, offer, ack, forwarded)


def record_dora_errata(doras: list[Dora], errata: list[Demonstrated]) -> None:
    """The texts' DHCP ports, relay source address and "OFFER as unicast",
    against what the captures showed."""
    d = doras[0]
    record_erratum(errata, "dhcp-ports",
                   f"DISCOVER {d.discover.ip.src}:{d.discover.udp.sport} > "
                   f"{d.discover.ip.dst}:{d.discover.udp.dport}, OFFER {d.offer.ip.src}:"
                   f"{d.offer.udp.sport} > {d.offer.ip.dst}:{d.offer.udp.dport} ({d.client}; "
                   f"the same for {len(doras) - 1} more)")
    by_relay = {dora.relay: dora for dora in reversed(doras)}
    record_erratum(errata, "relay-source", "; ".join(
        f"{r.relay} relays from {r.relayed.ip.src} with giaddr {r.relayed.dhcp.giaddr}"
        for r in sorted(by_relay.values(), key=doras.index)))
    record_erratum(errata, "offer-unicast", "; ".join(
        f"{o.client}: BROADCAST flag {int(o.flag)} in DISCOVER -> OFFER to "
        f"{o.offer.ip.dst} ({o.offer.eth.dst})" for o in doras))


def judge_applied(c: Client, addr_text: str, route_text: str, resolv_text: str) -> str:
    """The client configured what its ACK gave: address and mask, default
    route, its own resolver configuration (supplemental to the packets)."""
    prefix = c.subnet.network.prefixlen
    wrong = []
    if f"inet {c.address}/{prefix} " not in addr_text:
        wrong.append(f"address: 'ip addr' shows {addr_text.strip()!r}, not {c.address}/{prefix}")
    if not re.search(rf"^default via {re.escape(c.router)} dev {re.escape(c.iface)}\b",
                     route_text, re.MULTILINE):
        wrong.append(f"default route: {route_text.strip()!r}, not via {c.router}")
    servers = re.findall(r"^nameserver\s+(\S+)", resolv_text, re.MULTILINE)
    if servers != c.dns:
        wrong.append(f"resolver: nameservers {servers}, not {c.dns}")
    if wrong:
        raise ExpectationFailed(f"{c.node} did not configure what its ACK gave it",
                                "\n".join(f"  {w}" for w in wrong))
    return f"{c.address}/{prefix} default via {c.router} nameserver {' '.join(servers)}"


class DoraRelay(Check):
    """Each PC starts over: DISCOVER, relayed with giaddr, OFFER of its
    reservation, REQUEST, ACK, ARP probe, then the address, route and
    resolver applied."""

    name = "dora-relay"
    summary = "DISCOVER/OFFER/REQUEST/ACK through the relay for each PC, ARP probe, config applied"
    topologies = ("enterprise",)
    vlans = True

    def run(self, ctx: CheckContext) -> str:
        doras, applied = [], []
        for c in relayed_clients(ctx.lab):
            with ctx.capture(wire_points(c), DHCP_ARP_BPF) as cap:
                ctx.lab.restart_dhcp_client(c.node, fresh=True)
            doras.append(judge_dora_relay(cap[c.iface], cap[c.relay.lan], cap[c.relay.up],
                                          cap[c.server_iface], c))
            applied.append(f"{c.node} " + judge_applied(c, *applied_config(ctx.lab, c)))
        record_dora_errata(doras, ctx.errata)
        return ("; ".join(d.summary() for d in doras)
                + "; each REQUEST with options 50 and 54, ACK with mask, router and DNS, ARP "
                  "probe before use; applied: " + "; ".join(applied))


def applied_config(lab: Lab, c: Client) -> tuple[str, str, str]:
    """``ip addr`` of the client's interface, its default route, and the
    resolver configuration its DHCP hook wrote."""
    addr = lab.run_in(c.node, ["ip", "-4", "-o", "addr", "show", "dev", c.iface]).stdout
    route = lab.run_in(c.node, ["ip", "-4", "route", "show", "default"]).stdout
    resolv = lab.run_in(c.node, ["cat", lab.dhcp_client(c.node).resolv_target]).stdout
    return addr, route, resolv


# -- init-reboot ----------------------------------------------------------------------

def reboot_request(c: Client, address: str) -> Matcher:
    """INIT-REBOOT: a broadcast REQUEST for the address it remembers, option 50,
    and no server identifier (it is not answering an OFFER)."""
    return from_unconfigured(type="REQUEST", chaddr=c.mac, requested_ip=address,
                             server_id=absent)


def judge_init_reboot(client_wire: Packets, server_wire: Packets, c: Client) -> str:
    """A client with a valid lease: REQUEST (option 50) and ACK, no DISCOVER."""
    flag = expect(client_wire).first(reboot_request(c, c.address)).dhcp.broadcast
    request, _ack = expect(client_wire).sequence(
        [reboot_request(c, c.address),
         delivered(c, flag, type="ACK", yiaddr=c.address, server_id=c.server_id)],
        kind=dhcp(chaddr=c.mac), only=True)
    xid = request.dhcp.xid
    if c.relay:
        expect(server_wire).sequence([relayed(c, type="REQUEST", requested_ip=c.address),
                                      to_relay(c, type="ACK", yiaddr=c.address)],
                                     kind=dhcp(xid=xid))
    return (f"REQUEST xid 0x{xid:08x} for {c.address} (option 50, no server id) and ACK, "
            f"no DISCOVER")


def judge_init_reboot_nak(client_wire: Packets, server_wire: Packets, c: Client,
                          claimed: str) -> str:
    """A client remembering an address that is not valid on its subnet: its
    REQUEST is NAKed, and it starts over with DISCOVER and gets its own."""
    request, nak, discover, *_ = expect(client_wire).sequence(
        [reboot_request(c, claimed),
         dhcp(type="NAK", yiaddr=ZERO, server_id=c.server_id, sport=67, dport=68),
         from_unconfigured(type="DISCOVER", chaddr=c.mac),
         dhcp(type="OFFER", yiaddr=c.address),
         from_unconfigured(type="REQUEST", requested_ip=c.address, server_id=c.server_id),
         dhcp(type="ACK", yiaddr=c.address)],
        kind=dhcp(chaddr=c.mac), only=True)
    if nak.dhcp.xid != request.dhcp.xid:
        raise ExpectationFailed(f"the NAK (xid 0x{nak.dhcp.xid:08x}) does not answer the "
                                f"REQUEST (xid 0x{request.dhcp.xid:08x})")
    if c.relay:
        expect(server_wire).sequence([relayed(c, type="REQUEST", requested_ip=claimed),
                                      to_relay(c, type="NAK")],
                                     kind=dhcp(xid=request.dhcp.xid))
    reason = f" ({nak.dhcp.message!r})" if nak.dhcp.message else ""
    return (f"claiming {claimed}: REQUEST, NAK{reason} to {nak.ip.dst}, then DISCOVER xid "
            f"0x{discover.dhcp.xid:08x} and ACK of {c.address}")


def other_subnet_address(c: Client, lab: Lab) -> str:
    """An address of another subnet the same server serves (host .50): valid
    there, not on the client's subnet."""
    params = next(s.params for s in lab.topo.node(c.server).services
                  if s.kind == "dhcp-server")
    for subnet in params["subnets"]:
        if subnet.network != c.subnet.network:
            return str(subnet.network.network_address + HAND_OCTET)
    raise LabError(f"{c.server} serves no subnet besides {c.subnet.network}")


@contextlib.contextmanager
def remembering(lab: Lab, c: Client, claimed: str) -> Iterator[None]:
    """Make the client's lease file remember ``claimed`` instead of its
    address, as if it had moved from another VLAN; afterwards start it over
    (fresh), which leaves it bound to its reservation with a clean lease file."""
    client = lab.dhcp_client(c.node)
    if client.name != "dhclient":
        raise LabError(f"init-reboot edits dhclient's lease file; {c.node} runs {client.name}")
    path = Path(client.lease_file)
    text = path.read_text()
    held = f"fixed-address {c.address};"
    if held not in text:
        raise LabError(f"{path} holds no lease of {c.address}")
    try:
        path.write_text(text.replace(held, f"fixed-address {claimed};"))
        yield
    finally:
        lab.restart_dhcp_client(c.node, fresh=True)


class InitReboot(Check):
    """A PC restarts with its lease: REQUEST with option 50, no DISCOVER, ACK;
    with a lease of another VLAN: NAK, then DISCOVER."""

    name = "init-reboot"
    summary = "INIT-REBOOT: REQUEST (option 50), ACK, no DISCOVER; a moved address: NAK, DISCOVER"
    topologies = ("enterprise",)
    vlans = True

    def run(self, ctx: CheckContext) -> str:
        c = client_plan(ctx.lab, REBOOTING)
        points = [(c.node, c.iface), (c.server, c.server_iface)]
        with ctx.capture(points, DHCP_BPF) as kept:
            ctx.lab.restart_dhcp_client(c.node, fresh=False)
        held = judge_init_reboot(kept[c.iface], kept[c.server_iface], c)
        claimed = other_subnet_address(c, ctx.lab)
        with remembering(ctx.lab, c, claimed), ctx.capture(points, DHCP_BPF) as moved:
            ctx.lab.restart_dhcp_client(c.node, fresh=False)
        nak = judge_init_reboot_nak(moved[c.iface], moved[c.server_iface], c, claimed)
        return f"{c.node}: {held}; {nak}"


# -- renew ------------------------------------------------------------------------------

def renew_window(t1: int) -> tuple[float, float]:
    """When a renewal may come after the ACK.  ISC dhclient fuzzes T1: it
    renews (3 T1 + 3) / 4 + (random % T1 + 3) / 4 whole seconds after the
    second it got the ACK in, at a random microsecond of that second
    (client/dhclient.c, dhcpack and bind_lease): so 7 to 12 s after the ACK
    for T1 = 10, a quarter of a second either side for latency."""
    base = (3 * t1 + 3) // 4
    return base - 1 - 0.25, base + (t1 - 1 + 3) // 4 + 1 + 0.25


def judge_renew(client_wire: Packets, server_wire: Packets, c: Client) -> str:
    """At T1 the client unicasts REQUEST with ciaddr straight to the server
    (not broadcast, not through the relay), the server ACKs it straight back,
    and the lease runs from then on."""
    bound = expect(client_wire).first(dhcp(type="ACK", chaddr=c.mac, yiaddr=c.address,
                                           ciaddr=ZERO, t1=c.renew_time))
    request = expect(after(client_wire, bound)).first(
        dhcp(type="REQUEST", chaddr=c.mac, ciaddr=c.address, src=c.address, dst=c.server_id,
             sport=68, dport=67, giaddr=ZERO, mac_dst=c.gateway_mac, broadcast=False,
             requested_ip=absent, server_id=absent))
    low, high = renew_window(c.renew_time)
    waited = request.time - bound.time
    if not low <= waited <= high:
        raise ExpectationFailed(f"the renewal came {waited:.1f} s after the ACK with T1 "
                                f"{c.renew_time} s, outside {low:g}-{high:g} s",
                                f"  {bound.describe()}\n  {request.describe()}")
    xid = request.dhcp.xid
    straight = {"xid": xid, "giaddr": ZERO}
    _arrived, answer = expect(server_wire).in_order(
        [dhcp(type="REQUEST", ciaddr=c.address, src=c.address, dst=c.server_id, **straight),
         dhcp(type="ACK", yiaddr=c.address, src=c.server_id, dst=c.address, dport=68,
              lease_time=lease_up_to(c), **straight)])
    ack = expect(after(client_wire, request)).first(
        dhcp(type="ACK", yiaddr=c.address, src=c.server_id, dst=c.address, dport=68,
             **straight))
    old_end = bound.time + bound.dhcp.lease_time
    new_end = ack.time + ack.dhcp.lease_time
    if new_end <= old_end:
        raise ExpectationFailed(f"the renewal did not extend the lease: it ends {new_end:.0f}, "
                                f"the first one {old_end:.0f}")
    copies = relayed_copies(server_wire, "REQUEST", c, xid)
    return (f"{c.node}: ACK with T1 {c.renew_time} s, then {waited:.1f} s later REQUEST "
            f"ciaddr {c.address} {request.ip.src} > {request.ip.dst} (to {request.eth.dst}, "
            f"giaddr 0), ACK {answer.ip.src} > {answer.ip.dst} lease {ack.dhcp.lease_time} s: "
            f"extended by {new_end - old_end:.1f} s" + copies_note(copies, c, True))


def wait_for_renewal(ctx: CheckContext, c: Client, since: float) -> None:
    """Wait (protocol time) until the client's hook records a renewal, at most
    to the end of the window its T1 allows; the packets judge the rest."""
    client = ctx.lab.dhcp_client(c.node)
    _, high = renew_window(c.renew_time)
    while ctx.protocol_wait - since < high + 1.0:
        record = client.lease()
        if record and record.get("event") in ("RENEW", "renew"):
            return
        ctx.wait(RENEW_POLL)


class Renew(Check):
    """The PC with a short T1 renews by unicast straight to the server."""

    name = "renew"
    summary = "at T1 a unicast REQUEST with ciaddr straight to the server, ACK, lease extended"
    topologies = ("enterprise",)
    vlans = True

    def run(self, ctx: CheckContext) -> str:
        c = renewing_client(ctx.lab)
        with ctx.capture(wire_points(c), DHCP_ARP_BPF) as cap:
            ctx.lab.restart_dhcp_client(c.node, fresh=True)
            wait_for_renewal(ctx, c, ctx.protocol_wait)
        return judge_renew(cap[c.iface], cap[c.server_iface], c)


# -- inform -----------------------------------------------------------------------------

# Sent with the venv's Python inside the node: a DHCPINFORM built with scapy,
# sent by the node's kernel from a UDP socket bound to the hand-configured
# address (port 68), and the ACK read from a packet socket opened before.
# The BROADCAST flag is set because, through a relay, the ACK to a flagless
# INFORM has nowhere to go: dhcrelay unicasts replies to yiaddr, which an
# INFORM's ACK leaves 0.0.0.0 (seen with dnsmasq, which answers giaddr).
INFORM_SCRIPT = r"""
import json, socket, sys, time
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.l2 import Ether

iface, address, mac, xid = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4], 16)
inform = bytes(BOOTP(op=1, xid=xid, flags=0x8000, ciaddr=address,
                     chaddr=bytes.fromhex(mac.replace(":", "")))
               / DHCP(options=[("message-type", "inform"), ("param_req_list", [1, 3, 6, 15]),
                               "end"]))
listen = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
listen.bind((iface, 0))
send = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
send.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
send.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
send.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
send.bind((address, 68))
for _ in range(2):
    send.sendto(inform, ("255.255.255.255", 67))
    deadline = time.monotonic() + 2.0
    while deadline > time.monotonic():
        listen.settimeout(deadline - time.monotonic())
        try:
            frame = listen.recv(65535)
        except socket.timeout:
            break
        reply = Ether(frame)
        if BOOTP in reply and reply[BOOTP].op == 2 and reply[BOOTP].xid == xid:
            options = {o[0]: str(o[1]) for o in reply[DHCP].options if isinstance(o, tuple)}
            print(json.dumps({"yiaddr": reply[BOOTP].yiaddr, "options": options}))
            sys.exit(0)
print("no answer to the DHCPINFORM", file=sys.stderr)
sys.exit(1)
"""


def inform_argv(c: Client, address: str, xid: int) -> list[str]:
    return [sys.executable, "-c", INFORM_SCRIPT, c.iface, address, c.mac, f"{xid:08x}"]


def hand_address(c: Client) -> str:
    """The hand-configured address: host .50 of the client's subnet, outside
    its pool and reservations (validation keeps reservations out of pools)."""
    return str(c.subnet.network.network_address + HAND_OCTET)


@contextlib.contextmanager
def configured_by_hand(lab: Lab, c: Client, address: str) -> Iterator[None]:
    """``address`` added by hand beside the PC's lease, removed afterwards with
    what the neighbours learned of it."""
    prefix = c.subnet.network.prefixlen
    added = lab.run_in(c.node, ["ip", "-4", "addr", "add", f"{address}/{prefix}",
                                "dev", c.iface])
    if added.returncode != 0:
        raise LabError(f"cannot add {address} to {c.node}: {added.stderr.strip()}")
    try:
        yield
    finally:
        lab.run_in(c.node, ["ip", "-4", "addr", "del", f"{address}/{prefix}", "dev", c.iface])
        near, iface = (c.relay.node, c.relay.lan) if c.relay else (c.server, c.server_iface)
        lab.run_in(near, ["ip", "neigh", "del", address, "dev", iface])


def judge_inform(host_wire: Packets, server_wire: Packets, c: Client, address: str) -> str:
    """DHCPINFORM with ciaddr from a configured host, and an ACK with the
    configuration but no yiaddr and no lease time, back on the host's wire."""
    inform = expect(host_wire).first(
        dhcp(type="INFORM", chaddr=c.mac, ciaddr=address, yiaddr=ZERO, src=address,
             sport=68, dport=67))
    xid = inform.dhcp.xid
    arrived = expect(server_wire).first(dhcp(type="INFORM", xid=xid, ciaddr=address,
                                             dst=c.server_id, dport=67))
    config = {"xid": xid, "ciaddr": address, "yiaddr": ZERO, "lease_time": absent,
              "subnet_mask": c.mask, "router": c.router, "dns_servers": c.dns,
              "server_id": c.server_id}
    sent = expect(server_wire).first(dhcp(type="ACK", src=c.server_id, sport=67, **config))
    got = expect(host_wire).first(dhcp(type="ACK", dport=68, dst={address, BROADCAST_IP},
                                       **config))
    via = (f"relayed by {c.relay.node} (giaddr {arrived.dhcp.giaddr})"
           if c.relay and arrived.dhcp.giaddr != ZERO else "straight to the server")
    if sent.ip.dst == address:
        path = f"the server answered ciaddr straight: {sent.ip.src} > {sent.ip.dst}"
    else:
        path = f"the server answered the relay ({sent.ip.dst}), which sent it to {got.ip.dst}"
    return (f"INFORM from {address} (ciaddr {address}, chaddr {c.mac}) {via}; ACK with "
            f"yiaddr 0.0.0.0, no lease time, mask {c.mask} router {c.router} dns "
            f"{' '.join(c.dns)}; {path}")


class Inform(Check):
    """A hand-configured host asks for configuration only."""

    name = "inform"
    summary = "DHCPINFORM with ciaddr; ACK with configuration, yiaddr 0.0.0.0 and no lease time"
    topologies = ("enterprise",)
    vlans = True

    def run(self, ctx: CheckContext) -> str:
        c = client_plan(ctx.lab, INFORMING)
        address = hand_address(c)
        xid = int.from_bytes(os.urandom(4), "big")
        with configured_by_hand(ctx.lab, c, address), \
                ctx.capture(wire_points(c), DHCP_BPF) as cap:
            ctx.lab.run_in(c.node, inform_argv(c, address, xid), timeout=20)
        return judge_inform(cap[c.iface], cap[c.server_iface], c, address)


# -- release ----------------------------------------------------------------------------

def judge_release(client_wire: Packets, server_wire: Packets, c: Client) -> str:
    """DHCPRELEASE: ciaddr and server identifier set, unicast from the
    client's address to the server (through its gateway), and no answer."""
    release = expect(client_wire).first(
        dhcp(type="RELEASE", chaddr=c.mac, ciaddr=c.address, yiaddr=ZERO,
             server_id=c.server_id, src=c.address, dst=c.server_id, sport=68, dport=67,
             mac_dst=c.gateway_mac))
    xid = release.dhcp.xid
    expect(server_wire).first(dhcp(type="RELEASE", xid=xid, ciaddr=c.address, src=c.address,
                                   giaddr=ZERO, dst=c.server_id))
    for wire in (client_wire, server_wire):
        expect(wire).none(dhcp(xid=xid, op="BOOTREPLY"))
    copies = relayed_copies(server_wire, "RELEASE", c, xid)
    return (f"RELEASE ciaddr {c.address} server id {c.server_id}, {release.ip.src}:68 > "
            f"{release.ip.dst}:67 via {release.eth.dst}, unanswered"
            + copies_note(copies, c, False))


def lease_state(kind: str, text: str, address: str) -> str | None:
    """What a server's lease database says of ``address``: "active", "free"
    (dhcpd's binding states), or None when it holds no entry."""
    if kind == "dnsmasq":       # expiry mac address name client-id, one lease a line
        held = any(line.split()[2:3] == [address] for line in text.splitlines())
        return "active" if held else None
    state = None                # dhcpd.leases: the last block of an address wins
    blocks = re.compile(rf"^lease {re.escape(address)} \{{(.*?)^\}}", re.MULTILINE | re.DOTALL)
    for block in blocks.finditer(text):
        found = re.search(r"^\s*binding state (\w+);", block.group(1), re.MULTILINE)
        state = found.group(1) if found else state
    return state


def judge_lease_freed(kind: str, before_text: str, after_text: str, address: str) -> str:
    """Supplemental: the server's lease database no longer holds the lease."""
    was, now = lease_state(kind, before_text, address), lease_state(kind, after_text, address)
    if now == "active":
        raise ExpectationFailed(f"the server's lease database still holds {address} as active "
                                "after the RELEASE")
    if kind == "dnsmasq":
        if was != "active":
            raise ExpectationFailed(f"dnsmasq's lease file held no lease of {address} before "
                                    "the RELEASE")
        return f"dnsmasq's lease file held {address} before, not after"
    if now is None:
        return (f"dhcpd.leases holds no lease of {address} before or after: ISC dhcpd keeps "
                f"none for a fixed-address host")
    return f"dhcpd.leases: {address} binding state {was or 'none'} -> {now}"


def lease_database(lab: Lab, server: str) -> tuple[str, str]:
    """(backend, text of its lease database) of the DHCP server on ``server``."""
    for daemon in lab.daemons:
        for kind, cls in SERVERS.items():
            if isinstance(daemon, cls) and daemon.ctx.host.name == server:
                return kind, Path(daemon.lease_database).read_text()
    raise LabError(f"{server} runs no DHCP server")


def release_lease(lab: Lab, node: str) -> None:
    """Stop the PC's dhclient and run ``dhclient -r`` with its own files: it
    sends DHCPRELEASE for the lease in its lease file, and its hook takes the
    address away.  The pid file goes first, so that -r signals nobody."""
    client = lab.dhcp_client(node)
    if client.name != "dhclient":
        raise LabError(f"release runs 'dhclient -r'; {node} runs {client.name}")
    launch = client.launch()
    lab.supervisor.stop(launch.name)
    argv = list(launch.argv)
    Path(argv[argv.index("-pf") + 1]).unlink(missing_ok=True)
    argv[argv.index("-d")] = "-r"
    done = lab.run_in(node, argv, timeout=20)
    if done.returncode != 0:
        raise LabError(f"dhclient -r on {node} failed: {done.stderr.strip()[-300:]}")


class Release(Check):
    """A PC gives its lease back; then it binds again, as it was."""

    name = "release"
    summary = "DHCPRELEASE (ciaddr, server id, unicast to the server) frees the lease"
    topologies = ("enterprise",)
    vlans = True

    def run(self, ctx: CheckContext) -> str:
        c = client_plan(ctx.lab, RELEASING)
        kind, held = lease_database(ctx.lab, c.server)
        try:
            with ctx.capture(wire_points(c), DHCP_ARP_BPF) as cap:
                release_lease(ctx.lab, c.node)
            _, freed = lease_database(ctx.lab, c.server)
        finally:
            ctx.lab.restart_dhcp_client(c.node, fresh=True)
        evidence = judge_release(cap[c.iface], cap[c.server_iface], c)
        return f"{c.node}: {evidence}; {judge_lease_freed(kind, held, freed, c.address)}"


# -- home-dora ---------------------------------------------------------------------------

def judge_home_dora(wire: Packets, c: Client) -> Packet:
    """The four messages with no relay: giaddr 0 throughout, OFFER and ACK
    straight from the router, an address of the pool with the /25 mask.
    Returns the ACK."""
    discover = expect(wire).first(from_unconfigured(type="DISCOVER", chaddr=c.mac))
    xid, flag = discover.dhcp.xid, discover.dhcp.broadcast
    pool = in_range(str(c.subnet.pool[0]), str(c.subnet.pool[1]))
    offer = expect(wire).first(dhcp(type="OFFER", xid=xid, yiaddr=pool))
    address = offer.dhcp.yiaddr
    straight = {"giaddr": ZERO, "server_id": c.server_id, "yiaddr": address,
                "subnet_mask": c.mask}
    *_, ack = expect(wire).sequence(
        [from_unconfigured(type="DISCOVER", chaddr=c.mac),
         delivered(c, flag, type="OFFER", **straight),
         from_unconfigured(type="REQUEST", chaddr=c.mac, requested_ip=address,
                           server_id=c.server_id),
         delivered(c, flag, type="ACK", router=c.router, lease_time=lease_up_to(c),
                   **straight)],
        kind=dhcp(xid=xid))
    probed_before_use(wire, ack, c.mac, address)
    return ack


def judge_home_addressing(c: Client, ack: Packet, addr_text: str, route_text: str,
                          off_link: str) -> str:
    """From its address and mask the PC computes its network and broadcast
    (seen in ``ip addr`` and its connected route); ``off_link`` lies outside."""
    here = ipaddress.IPv4Interface(f"{ack.dhcp.yiaddr}/{ack.dhcp.subnet_mask}")
    network, broadcast = here.network, here.network.broadcast_address
    wrong = []
    if f"inet {here.with_prefixlen} brd {broadcast} " not in addr_text:
        wrong.append(f"'ip addr' shows {addr_text.strip()!r}, not {here.with_prefixlen} brd "
                     f"{broadcast}")
    if not re.search(rf"^{re.escape(str(network))} dev {re.escape(c.iface)}\b", route_text,
                     re.MULTILINE):
        wrong.append(f"no connected route to {network}: {route_text.strip()!r}")
    if ipaddress.IPv4Address(off_link) in network:
        wrong.append(f"{off_link} is inside {network}: not off-link")
    if wrong:
        raise ExpectationFailed(f"{c.node} did not compute its network from the ACK's mask",
                                "\n".join(f"  {w}" for w in wrong))
    return f"network {network.network_address} broadcast {broadcast}"


def judge_off_link(wire: Packets, c: Client, address: str, target: str) -> str:
    """An off-link host is reached through the gateway: the echo request
    goes to the gateway's MAC, and the PC never ARPs for the host itself."""
    expect(wire).none(arp(op="request", target_ip=target, sender_mac=c.mac))
    request = expect(wire).first(icmp(type=8, src=address, dst=target))
    if request.eth.dst != c.gateway_mac:
        raise ExpectationFailed(f"the echo request to {target} went to {request.eth.dst}, not "
                                f"to the gateway's {c.gateway_mac}",
                                f"  {request.describe(macs=True)}")
    expect(after(wire, request)).first(icmp(type=0, src=target, dst=address))
    return f"ICMP to {target} sent to the gateway's MAC {c.gateway_mac}, no ARP for it"


def judge_home_nat(inside: Packets, outside: Packets, address: str, public: str,
                   port: int) -> str:
    """The web visit leaves the home router with its public address as the
    source; every segment is the same one inside and outside."""
    syn = expect(inside).first(tcp(flags="S", src=address, dport=port))
    pairs = expect(inside).translated(outside, tcp(port=port), address=public)
    out = next((p.after for p in pairs if p.before is syn), None)
    if out is None:
        raise ExpectationFailed(f"the SYN from {address} was not seen on the WAN side")
    expect(inside).first(tcp(src=syn.ip.dst, dst=address, len=lambda n: n > 0))
    return (f"web visit: {len(pairs)} segments, SYN {address}:{syn.tcp.sport} inside is "
            f"{out.ip.src}:{out.tcp.sport} on the WAN")


def textbook_site(lab: Lab) -> tuple[str, str, int]:
    """(name, address, port) of the textbook web server of the emulated internet."""
    for host in lab.topo.hosts():
        for svc in host.services:
            if svc.kind == "http" and svc.params.get("mode") == "textbook":
                address = str(lab.topo.interfaces(host.name)[0].ip)
                return svc.params["sites"][0], address, int(svc.params.get("port", 80))
    raise LabError(f"{lab.topo.name} has no textbook web server")


def nat_outside(lab: Lab, node: str) -> Interface:
    return next(i for i in lab.topo.interfaces(node) if i.nat_outside)


class HomeDora(Check):
    """The home router serves DHCP itself; the PC computes its /25 and goes
    off-link through the gateway, and out through the router's NAT."""

    name = "home-dora"
    summary = "DORA with no relay from 192.168.1.129, /25 network and broadcast, off-link, NAT"
    topologies = ("home",)

    def run(self, ctx: CheckContext) -> str:
        lab = ctx.lab
        c = client_plan(lab, HOME_PC)
        with ctx.capture([(c.node, c.iface)], DHCP_ARP_BPF) as dora:
            lab.restart_dhcp_client(c.node, fresh=True)
        ack = judge_home_dora(dora[c.iface], c)
        address = ack.dhcp.yiaddr
        addr = lab.run_in(c.node, ["ip", "-4", "-o", "addr", "show", "dev", c.iface]).stdout
        routes = lab.run_in(c.node, ["ip", "-4", "route"]).stdout
        computed = judge_home_addressing(c, ack, addr, routes, OFF_LINK_HOST)
        with ctx.capture([(c.node, c.iface)], "arp or icmp") as ping:
            lab.run_in(c.node, ["ping", "-c", "1", "-W", "2", OFF_LINK_HOST])
        off_link = judge_off_link(ping[c.iface], c, address, OFF_LINK_HOST)
        wan = nat_outside(lab, c.server)
        site, _, port = textbook_site(lab)
        with ctx.capture([(c.node, c.iface), (c.server, wan.name)], f"tcp port {port}") as web:
            lab.run_in(c.node, [sys.executable, "-m", "services.web", "fetch", "--textbook",
                                f"http://{site}:{port}/"], timeout=30)
        nat = judge_home_nat(web[c.iface], web[wan.name], address, str(wan.ip), port)
        return (f"DORA with giaddr 0 from {c.server_id}: {address}/{ack.dhcp.subnet_mask}, "
                f"{lease_terms(ack)}; "
                f"{computed}; {off_link}; {nat}")


CHECKS = [DoraRelay, InitReboot, Renew, Inform, Release, HomeDora]
