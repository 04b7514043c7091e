"""dora-relay: a fresh client's DISCOVER, OFFER, REQUEST, ACK through its
relay, on the client's wire, both sides of the relay and the server's wire;
then what the client applied inside its own host.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...lab import Lab
from ...packets import (
    ExpectationFailed,
    Packet,
    Packets,
    dhcp,
    expect,
)
from ..base import Check, CheckContext, Demonstrated, record_erratum
from ..footprint import Footprint
from .common import (
    ZERO,
    Client,
    client_bpf,
    client_footprint,
    delivered,
    from_unconfigured,
    lease_terms,
    lease_up_to,
    probed_before_use,
    relayed,
    relayed_clients,
    to_relay,
    wire_points,
)


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
                   f"the same for {len(doras) - 1} more)", d.discover)
    by_relay = sorted({dora.relay: dora for dora in reversed(doras)}.values(), key=doras.index)
    record_erratum(errata, "relay-source", "; ".join(
        f"{r.relay} relays from {r.relayed.ip.src} with giaddr {r.relayed.dhcp.giaddr}"
        for r in by_relay), by_relay[0].relayed)
    record_erratum(errata, "offer-unicast", "; ".join(
        f"{o.client}: BROADCAST flag {int(o.flag)} in DISCOVER -> OFFER to "
        f"{o.offer.ip.dst} ({o.offer.eth.dst})" for o in doras), d.offer)


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

    def footprint(self, lab: Lab) -> Footprint:
        return client_footprint(relayed_clients(lab), arp=True)

    def run(self, ctx: CheckContext) -> str:
        doras, applied = [], []
        for c in relayed_clients(ctx.lab):
            with ctx.capture(wire_points(c), client_bpf(c, arp=True)) as cap:
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
    resolv = lab.run_in(c.node, ["cat", lab.services.dhcp_client(c.node).resolv_target]).stdout
    return addr, route, resolv
