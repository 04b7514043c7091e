"""rarp-vs-dhcp: the texts' comparison of RARP and DHCP (``000``, section 6), on the wire.

RARP asks "which IP address has this MAC?" straight in an Ethernet frame
(EtherType 0x8035; the text's 0x0800 is an erratum), and the answer is the
address and nothing else, from a static table (a MAC not in it gets no
answer); being a layer 2 broadcast, it stops at the router.  DHCP rides in
UDP, carries mask, router, DNS and a lease, and crosses subnets by relays.

The cast comes from the model: a host running a ``rarp-server``; the
*near* client, the first DHCP client of its table on the server's broadcast
domain (with an address on the server's subnet); the *far* client, the
first DHCP client of its table on another broadcast domain, behind a DHCP
relay.  Both clients restart DHCP (captured), then ask by RARP for their
own MAC, and the near one for a MAC no table holds (captured on both
clients, every interface of the server and of the far client's relay).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from typing import Mapping

from services.base import python_module
from services.dhcp_client import DHCP_CLIENT
from services.rarp_server import RARP_SERVER, RarpEntry, rarp_table, server_interface

from ..capture.tcpdump import point_label
from ..errors import LabError
from ..model import Host, Interface, Topology
from ..model.domains import broadcast_domains
from ..packets import (
    ExpectationFailed,
    Matcher,
    Packet,
    Packets,
    arp,
    dhcp,
    eth,
    expect,
    merge,
    present,
)
from ..packets.failure import listing
from .base import Check, CheckContext, Demonstrated, record_erratum
from .dhcp.common import DHCP_BPF, mac_of

BROADCAST = "ff:ff:ff:ff:ff:ff"
RARP_TYPE = 0x8035
# How long a client listens for its answer.  RFC 903 leaves retransmission
# to the client; rarpd on an emulated LAN answers within milliseconds, and
# the request that is answered, sent at the same moment, shows the server
# was answering while the others went unanswered.
CLIENT_WAIT = 1.0
UNKNOWN_MAC_BASE = "02:52:41:52:50:"     # 'R' 'A' 'R' 'P': locally administered


@dataclass(frozen=True)
class Client:
    """A machine that asks: where it is captured, its MAC and the address
    the RARP table holds for it."""

    node: str
    iface: str
    point: str
    mac: str
    ip: str


@dataclass(frozen=True)
class Server:
    node: str
    point: str                    # the interface rarpd listens on
    mac: str
    ip: str
    points: tuple[str, ...]       # every interface of the node


@dataclass(frozen=True)
class Relay:
    """The far client's gateway: the port on its side, its address there
    (giaddr), and its other ports, beyond which RARP must not be seen."""

    node: str
    lan: str
    ip: str
    beyond: tuple[str, ...]


@dataclass(frozen=True)
class Cast:
    server: Server
    near: Client
    unknown_mac: str
    far: Client | None = None
    relay: Relay | None = None


# ---------------------------------------------------------------- the cast, from the model

@dataclass(frozen=True)
class Roles:
    """Who plays which part, from the model alone (``applies_to`` needs no lab)."""

    server: Host
    listen: Interface
    near: RarpEntry
    far: RarpEntry | None
    relay: str | None


def _iface(topo: Topology, node: str, name: str) -> Interface:
    return next(i for i in topo.interfaces(node) if i.name == name)


def find_roles(topo: Topology) -> Roles | None:
    """The first ``rarp-server`` with a DHCP client of its table on its own
    broadcast domain and subnet; None if there is none.  A domain declared
    to mix subnets (the relay race) gives DHCP no single answer to compare
    with, so it has no near client."""
    domains = broadcast_domains(topo)
    domain = {(i.node, i.name): d.name for d in domains for i in d.interfaces}
    raced = {d.name for d in domains
             if any(getattr(topo.find(s), "mixed_subnets", False) for s in d.switches)}
    for host in topo.hosts():
        for svc in host.services:
            if svc.kind != RARP_SERVER:
                continue
            listen = server_interface(topo, host, dict(svc.params))
            if listen is None or listen.address is None:
                continue
            here = domain.get((host.name, listen.name))
            clients = [e for e in rarp_table(topo, dict(svc.params))
                       if _iface(topo, e.node, e.iface).dhcp is not None and e.node != host.name]
            near = next((e for e in clients if domain.get((e.node, e.iface)) == here
                         and e.ip in listen.address.network and here not in raced), None)
            if near is None:
                continue
            far = next((e for e in clients if domain.get((e.node, e.iface)) != here
                        and _iface(topo, e.node, e.iface).dhcp.relay), None)
            relay = _iface(topo, far.node, far.iface).dhcp.relay if far else None
            return Roles(host, listen, near, far, relay)
    return None


def unknown_mac(taken: set[str]) -> str:
    """A locally administered MAC that no interface of the lab has."""
    for last in range(1, 256):
        mac = f"{UNKNOWN_MAC_BASE}{last:02x}"
        if mac not in taken:
            return mac
    raise LabError("no free MAC for a machine the RARP table does not know")


# ---------------------------------------------------------------- the judge

def asks(mac: str) -> Matcher:
    """A RARP request (0x8035, opcode 3) of a machine asking for its own MAC."""
    return arp(eth_type=RARP_TYPE, op="rarp-request", sender_mac=mac, target_mac=mac,
               eth_src=mac, eth_dst=BROADCAST)


def answer(server: Server, client: Client) -> Matcher:
    """The server's RARP reply (0x8035, opcode 4) giving ``client`` its address."""
    return arp(eth_type=RARP_TYPE, op="rarp-reply", target_mac=client.mac, target_ip=client.ip,
               sender_mac=server.mac, sender_ip=server.ip, eth_src=server.mac,
               eth_dst=client.mac)


def any_answer(mac: str) -> Matcher:
    return arp(op="rarp-reply", target_mac=mac)


def _layers(packet: Packet) -> str:
    """The headers of a frame, outermost first, with what identifies each."""
    parts = [f"eth 0x{packet.eth.type:04x}"]
    if packet.arp is not None:
        parts.append(f"{'rarp' if packet.eth.type == RARP_TYPE else 'arp'} op "
                     f"{packet.arp.op} {packet.arp.target_mac} -> {packet.arp.target_ip}")
    if packet.ip is not None:
        parts.append(f"ip {packet.ip.src} > {packet.ip.dst}")
    if packet.udp is not None:
        parts.append(f"udp {packet.udp.sport} > {packet.udp.dport}")
    if packet.dhcp is not None:
        d = packet.dhcp
        listed = lambda values: ",".join(str(v) for v in values or [])   # noqa: E731
        parts.append(f"dhcp {d.type} yiaddr {d.yiaddr} mask {d.subnet_mask} "
                     f"router {listed(d.router)} dns {listed(d.dns_servers)} "
                     f"lease {d.lease_time} s")
    return " | ".join(parts)


def _none_at(wires: Mapping[str, Packets], points: tuple[str, ...], matcher: Matcher,
             title: str) -> None:
    for point in points:
        try:
            expect(wires[point]).none(matcher)
        except ExpectationFailed as failure:
            raise ExpectationFailed(f"{title}: seen at {point}", failure.detail,
                                    failure.packets) from None


def judge_near(rarp: Mapping[str, Packets], dhcp_wires: Mapping[str, Packets], cast: Cast,
               errata: list[Demonstrated]) -> tuple[Packet, Packet]:
    """The near client's RARP exchange (0x8035 both ways, the reply from the
    server, unicast, with the table's address) against its DHCP ACK, which
    gives the same address and mask, router, DNS and a lease besides."""
    near, server = cast.near, cast.server
    kind = eth(src=near.mac) | eth(dst=near.mac)
    request, reply = expect(rarp[near.point]).in_order([asks(near.mac), answer(server, near)],
                                                       kind=kind)
    expect(rarp[server.point]).in_order([asks(near.mac), answer(server, near)])
    record_erratum(errata, "arp-ethertype",
                   f"RARP request and reply of {near.node}: frame type "
                   f"0x{request.eth.type:04x} and 0x{reply.eth.type:04x}, not 0x0800", request)
    ack = expect(dhcp_wires[near.point]).first(
        dhcp(type="ACK", chaddr=near.mac, dport=68, subnet_mask=present, router=present,
             dns_servers=present, lease_time=present))
    if ack.dhcp.yiaddr != reply.arp.target_ip:
        raise ExpectationFailed(
            f"RARP gave {near.node} {reply.arp.target_ip} but its DHCP ACK {ack.dhcp.yiaddr}",
            listing("the two answers:", [reply, ack], reply.time, macs=True), [reply, ack])
    return reply, ack


def judge_unknown(rarp: Mapping[str, Packets], cast: Cast) -> None:
    """A MAC the table does not hold reaches the server and gets no answer."""
    expect(rarp[cast.near.point]).first(asks(cast.unknown_mac))
    expect(rarp[cast.server.point]).first(asks(cast.unknown_mac))
    _none_at(rarp, tuple(rarp), any_answer(cast.unknown_mac),
             f"the RARP request for {cast.unknown_mac}, a MAC no table holds, was answered")


def judge_far(rarp: Mapping[str, Packets], dhcp_wires: Mapping[str, Packets],
              cast: Cast) -> Packet:
    """The far client's RARP request reaches its own router and no further,
    and nobody answers it; its DHCP crosses that router by the relay.
    Returns its DHCP ACK."""
    far, relay, server = cast.far, cast.relay, cast.server
    expect(rarp[far.point]).first(asks(far.mac))
    expect(rarp[relay.lan]).first(asks(far.mac))
    beyond = tuple(dict.fromkeys(relay.beyond + server.points + (cast.near.point,)))
    _none_at(rarp, beyond, asks(far.mac),
             f"{far.node}'s RARP request crossed its router {relay.node}")
    _none_at(rarp, tuple(rarp), any_answer(far.mac),
             f"{far.node}'s RARP request was answered although its server is beyond the "
             f"router {relay.node}")
    relayed = merge(*(dhcp_wires[p] for p in relay.beyond))
    expect(relayed).first(dhcp(chaddr=far.mac, giaddr=relay.ip, dport=67))
    expect(relayed).first(dhcp(type="ACK", chaddr=far.mac, giaddr=relay.ip, yiaddr=far.ip))
    return expect(dhcp_wires[far.point]).first(dhcp(type="ACK", chaddr=far.mac, yiaddr=far.ip,
                                                     dport=68))


def judge_rarp_vs_dhcp(rarp: Mapping[str, Packets], dhcp_wires: Mapping[str, Packets],
                       cast: Cast, errata: list[Demonstrated]) -> str:
    """``rarp``: capture point -> packets while the clients asked by RARP
    (the near client's wire, every port of the server, and with a far
    client its wire and every port of its relay); ``dhcp_wires``: the same
    clients' wires and the relay's ports while they restarted DHCP."""
    reply, ack = judge_near(rarp, dhcp_wires, cast, errata)
    judge_unknown(rarp, cast)
    near, server = cast.near, cast.server
    text = (f"{near.node} RARP who-is {near.mac} (broadcast) -> {server.node} "
            f"{server.mac}: {reply.arp.target_ip}, {reply.wirelen}-byte frame "
            f"({_layers(reply)}), the address only; its DHCP ACK ({_layers(ack)}); "
            f"{cast.unknown_mac} (no table entry) unanswered")
    if cast.far is None:
        return text + "; no client of the table behind a router: crossing not shown"
    far_ack = judge_far(rarp, dhcp_wires, cast)
    return (text + f"; {cast.far.node} (in the table as {cast.far.ip}) asked: heard at "
            f"{cast.relay.lan} only, not beyond {cast.relay.node}, unanswered, while its DHCP "
            f"crossed {cast.relay.node} (giaddr {cast.relay.ip}) and got "
            f"{far_ack.dhcp.yiaddr}")


# ---------------------------------------------------------------- the check

class RarpVsDhcp(Check):
    """000, section 6: RARP (a frame of type 0x8035 with the address only,
    from a static table, stopping at the router) beside the DHCP exchange
    of the same hosts (UDP, with mask, router, DNS and lease, relayed)."""

    name = "rarp-vs-dhcp"
    summary = ("RARP: 0x8035 frames, the address only, static table, stops at the router; "
               "the same host's DHCP ACK carries mask, router, DNS, lease and is relayed")

    def applies_to(self, topo: Topology) -> bool:
        return find_roles(topo) is not None

    def why_not(self, topo: Topology) -> str:
        return ("no rarp-server holds, in its table, a DHCP client on its own broadcast "
                "domain and subnet (one that does not mix subnets, as the relay race's does)")

    def cast(self, ctx: CheckContext, roles: Roles) -> Cast:
        lab, topo = ctx.lab, ctx.lab.topo
        server = roles.server.name
        taken = {mac_of(lab, i) for i in topo.interfaces()}

        def client(entry: RarpEntry) -> Client:
            iface = _iface(topo, entry.node, entry.iface)
            return Client(entry.node, entry.iface, point_label(entry.node, entry.iface),
                          mac_of(lab, iface), str(entry.ip))

        relay = None
        if roles.far is not None:
            far_domain = next(d for d in broadcast_domains(topo)
                              if any((i.node, i.name) == (roles.far.node, roles.far.iface)
                                     for i in d.interfaces))
            lan = next(i for i in far_domain.interfaces if i.node == roles.relay)
            relay = Relay(roles.relay, point_label(roles.relay, lan.name), str(lan.ip),
                          tuple(point_label(roles.relay, i.name)
                                for i in topo.interfaces(roles.relay) if i.name != lan.name))
        return Cast(
            Server(server, point_label(server, roles.listen.name), mac_of(lab, roles.listen),
                   str(roles.listen.ip),
                   tuple(point_label(server, i.name) for i in topo.interfaces(server))),
            client(roles.near), unknown_mac(taken),
            client(roles.far) if roles.far else None, relay)

    def run(self, ctx: CheckContext) -> str:
        lab = ctx.lab
        roles = find_roles(lab.topo)
        if roles is None:
            raise LabError(f"rarp-vs-dhcp does not apply: {self.why_not(lab.topo)}")
        cast = self.cast(ctx, roles)
        clients = [c for c in (cast.near, cast.far) if c is not None]
        relay_points = [] if cast.relay is None else \
            [(cast.relay.node, p) for p in (cast.relay.lan, *cast.relay.beyond)]
        wires = [(c.node, c.iface) for c in clients] + relay_points
        with ctx.capture(_points(wires), DHCP_BPF) as dhcp_capture:
            lab.services.restart_dhcp_clients(
                [lab.services.find(DHCP_CLIENT, c.node, c.iface) for c in clients])
        server_points = [(cast.server.node, i.name) for i in lab.topo.interfaces(cast.server.node)]
        with ctx.capture(_points(wires + server_points)) as rarp_capture:
            asked = {cast.near: [cast.near.mac, cast.unknown_mac]}
            if cast.far is not None:
                asked[cast.far] = [cast.far.mac]
            ask_at_once(ctx, asked)
        return judge_rarp_vs_dhcp(rarp_capture.by_point, dhcp_capture.by_point, cast,
                                  ctx.errata)


def _points(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Capture points, each once, in the order given."""
    return list(dict.fromkeys(pairs))


def ask_at_once(ctx: CheckContext, asked: Mapping[Client, list[str]]) -> None:
    """Every client sends its RARP requests at the same moment and listens
    for CLIENT_WAIT seconds (:mod:`services.tools.rarp_client`)."""
    procs = [subprocess.Popen(
        ctx.lab.exec_argv(c.node, python_module("services.tools.rarp_client", c.iface,
                                                str(CLIENT_WAIT), *macs)),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for c, macs in asked.items()]
    for proc in procs:
        _out, err = proc.communicate(timeout=CLIENT_WAIT + 30)
        if proc.returncode != 0:
            raise LabError(f"the RARP client failed: {err.strip()}")


CHECKS = [RarpVsDhcp]
