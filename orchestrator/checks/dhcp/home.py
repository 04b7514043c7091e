"""home-dora: the home router serves DHCP itself; the PC computes its /25,
goes off-link through the gateway and out through the router's NAT.
"""

from __future__ import annotations

import ipaddress
import re
import sys

from services.http_daemon import HTTP, HttpDaemon

from ...errors import LabError
from ...lab import Lab
from ...model import Interface
from ...packets import (
    ExpectationFailed,
    Packet,
    Packets,
    arp,
    dhcp,
    expect,
    icmp,
    tcp,
)
from ..base import Check, CheckContext
from .common import (
    DHCP_ARP_BPF,
    HOME_PC,
    OFF_LINK_HOST,
    ZERO,
    Client,
    after,
    client_plan,
    delivered,
    from_unconfigured,
    in_range,
    lease_terms,
    lease_up_to,
    probed_before_use,
)


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
            settings = HttpDaemon.settings(svc)
            if svc.kind == HTTP and settings["mode"] == "textbook":
                address = str(lab.topo.interfaces(host.name)[0].ip)
                return settings["sites"][0], address, int(settings["port"])
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
