"""dhcp: every DHCP interface of any topology gets its lease as the model says.

Derived from the model alone: which interfaces take their address by DHCP,
through which relay (or straight from a server on their LAN), what their
subnet hands out.  Every client starts over while its wire, both sides of
its relay and the server's wire are captured; the exchange is then walked
step by step across those points (DISCOVER on the client's wire, heard by
the relay, relayed with giaddr from its upstream address, reaching the
server, the OFFER back to giaddr and delivered, REQUEST, ACK), so that a
broken network fails with the step where the exchange stopped and the
packets that were there instead, not with a timeout.

Where a broadcast domain intentionally holds several subnets (the relay
race set-up, ``mixed_subnets``), any relay of that domain may win; the
check then follows the relay whose giaddr the ACK carries.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace

from services.dhcp_client import DHCP_CLIENT
from services.dhcp_relay import DHCP_RELAY

from ...capture.tcpdump import point_label
from ...errors import FlowlabError
from ...lab import Lab
from ...model import Interface, Router, Subnet, Switch, Topology
from ...model.domains import broadcast_domains, declared_subnet
from ...packets import ExpectationFailed, Matcher, Packet, Packets, dhcp, expect, within
from ..base import Check, CheckContext
from ..dhcp.common import (
    DHCP_ARP_BPF,
    ZERO,
    Client,
    from_unconfigured,
    in_range,
    lease_up_to,
    plan_via,
    relayed,
    to_relay,
    wire_points,
)

FROM_SERVER = {"sport": 67, "dport": 68}


# -- the plan: what the model says each DHCP interface gets -----------------------------------

def subnet_of(topo: Topology, network: ipaddress.IPv4Network) -> Subnet | None:
    """The declared :class:`Subnet` (pool, gateway, DNS) of ``network``."""
    declared = [v.subnet for v in topo.vlans] + [s.subnet for s in topo.switches()]
    return next((s for s in declared if s is not None and s.network == network), None)


def relays_in_domain(topo: Topology, iface: Interface) -> list[tuple[str, Subnet]]:
    """Every DHCP relay listening in ``iface``'s broadcast domain, with the
    subnet it relays for (its address there): who can answer its DISCOVER."""
    domain = next((d for d in broadcast_domains(topo) if any(i is iface for i in d.interfaces)),
                  None)
    found = []
    for other in domain.interfaces if domain else []:
        node = topo.find(other.node)
        if not isinstance(node, Router) or other.address is None:
            continue
        for svc in node.services:
            if svc.kind == DHCP_RELAY and other.name in svc.params.get("downstream", ()):
                subnet = subnet_of(topo, other.address.network)
                if subnet is not None:
                    found.append((node.name, subnet))
    return found


def mixed(topo: Topology, iface: Interface) -> bool:
    """Whether several subnets share ``iface``'s broadcast domain on purpose."""
    port = topo.link_of(iface).other(iface)
    switch = topo.find(port.node)
    return isinstance(switch, Switch) and switch.mixed_subnets


@dataclass
class Plans:
    """An interface's declared plan, and the others a race may end in."""

    declared: Client
    alternatives: list[Client]

    def by_giaddr(self, giaddr: str) -> Client | None:
        for plan in [self.declared, *self.alternatives]:
            if (plan.relay.giaddr if plan.relay else ZERO) == giaddr:
                return plan
        return None


def plans_for(lab: Lab, iface: Interface) -> Plans:
    subnet = declared_subnet(lab.topo, iface)
    if subnet is None:
        raise FlowlabError(f"{iface.node}: no subnet is declared for {iface.name}")
    declared = plan_via(lab, iface, subnet, iface.dhcp.relay)
    others = []
    if mixed(lab.topo, iface):
        others = [plan_via(lab, iface, s, relay) for relay, s in relays_in_domain(lab.topo, iface)
                  if (relay, s.network) != (iface.dhcp.relay, subnet.network)]
    return Plans(declared, others)


# -- the judge: the exchange walked across the capture points --------------------------------

@dataclass(frozen=True)
class Step:
    point: str
    what: str
    matcher: Matcher


def offered(c: Client) -> Matcher | dict:
    """The address the server must offer: the reservation, else one of its
    subnet's pool."""
    if c.address:
        return c.address
    if c.subnet.pool:
        return in_range(str(c.subnet.pool[0]), str(c.subnet.pool[1]))
    return ipaddress.IPv4Network(c.subnet.network)


def exchange_steps(c: Client, xid: int | None) -> list[Step]:
    """The messages of one exchange, in order, with the point each is seen at
    (``xid`` None: any transaction, for a client that sent nothing)."""
    yiaddr = offered(c)
    if isinstance(yiaddr, ipaddress.IPv4Network):
        yiaddr = within(str(yiaddr))
    terms = {"subnet_mask": c.mask, "lease_time": lease_up_to(c)}
    if c.subnet.gateway is not None:
        terms["router"] = c.router
    if c.subnet.dns:
        terms["dns_servers"] = c.dns
    tx = {} if xid is None else {"xid": xid}
    wire = point_label(c.node, c.iface)
    server = point_label(c.server, c.server_iface)
    reply = dict(FROM_SERVER, **tx, yiaddr=yiaddr, server_id=c.server_id)
    steps = [Step(wire, f"DISCOVER from {c.node} on {wire}",
                  from_unconfigured(type="DISCOVER", chaddr=c.mac, **tx))]
    if c.relay:
        lan, up = point_label(c.relay.node, c.relay.lan), point_label(c.relay.node, c.relay.up)
        steps += [
            Step(lan, f"DISCOVER heard by {c.relay.node} on {c.relay.lan}",
                 dhcp(type="DISCOVER", **tx, chaddr=c.mac, giaddr=ZERO)),
            Step(up, f"DISCOVER relayed by {c.relay.node} from {c.relay.source} with giaddr "
                     f"{c.relay.giaddr} on {c.relay.up}",
                 relayed(c, type="DISCOVER", **tx, chaddr=c.mac)),
            Step(server, f"relayed DISCOVER reaching {c.server} on {c.server_iface}",
                 relayed(c, type="DISCOVER", **tx, chaddr=c.mac)),
            Step(server, f"OFFER from {c.server} to {c.relay.giaddr}:67",
                 to_relay(c, type="OFFER", **tx, yiaddr=yiaddr)),
            Step(wire, f"OFFER delivered by {c.relay.node} on {wire}",
                 dhcp(type="OFFER", src=c.relay.giaddr, **reply)),
            Step(wire, f"REQUEST from {c.node}",
                 from_unconfigured(type="REQUEST", chaddr=c.mac, **tx,
                                   server_id=c.server_id)),
            Step(up, f"REQUEST relayed by {c.relay.node}",
                 relayed(c, type="REQUEST", **tx, chaddr=c.mac)),
            Step(server, f"ACK from {c.server} to {c.relay.giaddr}:67",
                 to_relay(c, type="ACK", **tx, yiaddr=yiaddr)),
            Step(wire, f"ACK delivered by {c.relay.node} on {wire}",
                 dhcp(type="ACK", src=c.relay.giaddr, **reply, **terms)),
        ]
    else:
        steps += [
            Step(wire, f"OFFER from {c.server} ({c.server_id}) on {wire}",
                 dhcp(type="OFFER", src=c.server_id, giaddr=ZERO, **reply)),
            Step(wire, f"REQUEST from {c.node}",
                 from_unconfigured(type="REQUEST", chaddr=c.mac, **tx,
                                   server_id=c.server_id)),
            Step(wire, f"ACK from {c.server} on {wire}",
                 dhcp(type="ACK", src=c.server_id, giaddr=ZERO, **reply, **terms)),
        ]
    return steps


def _since(wire: Packets, time: float) -> Packets:
    return Packets([p for p in wire if p.time >= time], wire.label)


def walk(points: dict[str, Packets], steps: list[Step], who: str) -> list[Packet]:
    """Each step's packet at its point, no earlier than the step before; the
    first step missing fails, saying how far the exchange got."""
    found: list[Packet] = []
    since = float("-inf")
    for number, step in enumerate(steps, start=1):
        wire = points.get(step.point, Packets([], step.point))
        try:
            packet = expect(_since(wire, since)).first(step.matcher)
        except ExpectationFailed as failure:
            got = f"; it got as far as: {steps[number - 2].what}" if number > 1 else ""
            raise ExpectationFailed(
                f"{who}: the DHCP exchange stopped at step {number} of {len(steps)}: "
                f"no {step.what}{got}", failure.detail, failure.packets) from None
        found.append(packet)
        since = packet.time
    return found


def judge_dhcp(points: dict[str, Packets], plans: Plans) -> tuple[Client, Packet]:
    """The client's exchange from DISCOVER to ACK across its capture points.
    Returns the plan the exchange followed (with the address it was given)
    and the ACK."""
    c = plans.declared
    # Only this client's messages: another client's exchange through the
    # same relay is no evidence about this one.
    points = {label: wire.filter(dhcp(chaddr=c.mac)) for label, wire in points.items()}
    wire = points.get(point_label(c.node, c.iface), Packets([], c.iface))
    who = f"{c.node} ({c.iface}, {c.mac})"
    acks = wire.filter(dhcp(type="ACK", chaddr=c.mac))
    if len(acks):
        ack = acks[-1]
        followed = plans.by_giaddr(ack.dhcp.giaddr)
        if followed is None:
            expected = c.relay.giaddr if c.relay else ZERO
            raise ExpectationFailed(
                f"{who}: its ACK came with giaddr {ack.dhcp.giaddr}, not {expected} "
                f"({'via ' + c.relay.node if c.relay else 'straight from ' + c.server})",
                "\n".join(f"  {line}" for line in acks.describe().splitlines()), list(acks))
        xid = ack.dhcp.xid
    else:
        followed = c
        discovers = wire.filter(dhcp(type="DISCOVER", chaddr=c.mac))
        if not len(discovers):
            walk(points, exchange_steps(c, None), who)      # fails: names what was there
        xid = discovers[-1].dhcp.xid
    found = walk(points, exchange_steps(followed, xid), who)
    ack = found[-1]
    return replace(followed, address=ack.dhcp.yiaddr), ack


def judge_config(c: Client, addr_text: str, route_text: str, resolv_text: str) -> str:
    """What the client configured inside its node matches its ACK: address
    and mask, default route (when its subnet has a router), resolver (when
    it has DNS servers).  Supplemental to the packets."""
    prefix = c.subnet.network.prefixlen
    wrong = []
    if f"inet {c.address}/{prefix} " not in addr_text:
        wrong.append(f"address: 'ip addr' shows {addr_text.strip()!r}, not {c.address}/{prefix}")
    if c.subnet.gateway is not None and not re.search(
            rf"^default via {re.escape(c.router)} dev {re.escape(c.iface)}\b", route_text,
            re.MULTILINE):
        wrong.append(f"default route: {route_text.strip()!r}, not via {c.router}")
    servers = re.findall(r"^nameserver\s+(\S+)", resolv_text, re.MULTILINE)
    if c.subnet.dns and servers != c.dns:
        wrong.append(f"resolver: nameservers {servers}, not {c.dns}")
    if wrong:
        raise ExpectationFailed(f"{c.node} did not configure what its ACK gave it",
                                "\n".join(f"  {w}" for w in wrong))
    parts = [f"{c.address}/{prefix}"]
    if c.subnet.gateway is not None:
        parts.append(f"router {c.router}")
    if c.subnet.dns:
        parts.append(f"dns {' '.join(servers)}")
    return " ".join(parts)


def configured(lab: Lab, c: Client) -> tuple[str, str, str]:
    addr = lab.run_in(c.node, ["ip", "-4", "-o", "addr", "show", "dev", c.iface]).stdout
    route = lab.run_in(c.node, ["ip", "-4", "route", "show", "default"]).stdout
    resolv = lab.run_in(c.node, ["cat", lab.dhcp_client(c.node).resolv_target]).stdout
    return addr, route, resolv


class Dhcp(Check):
    name = "dhcp"
    summary = ("every DHCP interface: DISCOVER/OFFER/REQUEST/ACK across its relay or straight "
               "from its server, its reservation or a pool address, configuration applied")

    def applies_to(self, topo: Topology) -> bool:
        return any(i.dhcp for i in topo.interfaces())

    def why_not(self, topo: Topology) -> str:
        return "no interface of it takes its address by DHCP"

    def run(self, ctx: CheckContext) -> str:
        lab = ctx.lab
        plans = [plans_for(lab, i) for i in lab.topo.interfaces() if i.dhcp]
        points: list[tuple[str, str]] = []
        for p in plans:
            for c in [p.declared, *p.alternatives]:
                points += [pt for pt in wire_points(c) if pt not in points]
        with ctx.capture(points, DHCP_ARP_BPF) as cap:
            unbound = restart_clients(lab, [p.declared for p in plans])
        lines, failures = [], []
        for p in plans:
            try:
                c, ack = judge_dhcp(cap.by_point, p)
                applied = judge_config(c, *configured(lab, c))
                lines.append(f"{c.node}:{c.iface} {applied}, "
                             + (f"relayed by {c.relay.node}" if c.relay else f"from {c.server}"))
            except ExpectationFailed as failure:
                failures.append(str(failure))
        if failures:
            unbound_note = ["not bound: " + ", ".join(unbound)] if unbound else []
            raise ExpectationFailed(f"{len(failures)} of {len(plans)} DHCP interface(s) failed",
                                    "\n".join(unbound_note + failures))
        return f"{len(plans)} DHCP interface(s): " + "; ".join(lines)


def restart_clients(lab: Lab, clients: list[Client]) -> list[str]:
    """Every client starts over from a clean state, all at once; those that
    bind no lease by their deadline are named (the packets say why)."""
    instances = [lab.services.find(DHCP_CLIENT, c.node, c.iface) for c in clients]
    return [f"{u.node}:{u.iface}" for u in lab.services.restart_dhcp_clients(instances)]


CHECKS = [Dhcp]
