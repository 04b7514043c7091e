"""nat: every interface a router masquerades out of (``nat=True``) translates.

For each such interface, a user inside (an end host on the router's other
sides, a DHCP client first) opens a flow to a host outside: an HTTP fetch
when an outside host serves HTTP (then the router's connection tracking
table is read too), else an echo.  Captured on the router's interface
toward the user and on its outside interface, the judge demands each packet
of the flow seen on both: going out with the outside interface's address as
source and the destination unchanged, coming back with the destination
translated back; and no inside address at all outside.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.http_daemon import HTTP, NORMAL, HttpDaemon

from ...capture.tcpdump import point_label
from ...errors import LabError
from ...model import Interface, Topology
from ...packets import ExpectationFailed, Packets, conversation, expect, icmp, ip
from ..base import Check, CheckContext, station
from ..footprint import Footprint, route_nodes
from ..web import curl
from .common import beyond, end_hosts, interface_toward, static_ip, users_first
from .facts import network


@dataclass(frozen=True)
class Crossing:
    """One masquerading interface and the flow that proves it."""

    router: str
    outside: Interface
    inside: Interface          # the router's interface toward the client
    client: str
    server: str
    port: int | None           # an HTTP port of the server, or None: an echo


def http_port(topo: Topology, node: str) -> int | None:
    for svc in topo.node(node).services:
        settings = HttpDaemon.settings(svc)
        if svc.kind == HTTP and settings["mode"] == NORMAL:
            return int(settings["port"])
    return None


def crossings(topo: Topology) -> list[Crossing]:
    """Per masquerading interface: who is inside, who outside, and how."""
    found = []
    hosts = end_hosts(topo)
    for outside in (i for i in topo.interfaces() if i.nat_outside):
        out = beyond(topo, outside)
        others = [i for i in topo.interfaces(outside.node) if i is not outside]
        inside = set().union(*(beyond(topo, i) for i in others)) - out if others else set()
        clients = users_first(topo, [h for h in hosts if h.name in inside])
        servers = [h for h in hosts if h.name in out and static_ip(topo, h.name)]
        if not clients or not servers:
            continue
        web = next((h.name for h in servers if http_port(topo, h.name)), None)
        server = web or servers[0].name
        found.append(Crossing(outside.node, outside,
                              interface_toward(topo, outside.node, clients[0].name),
                              clients[0].name, server, http_port(topo, server) if web else None))
    return found


CONNTRACK_PAIR = re.compile(r"src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+)")


def conntrack_entry(lines: list[str], inside: tuple[str, int], server: tuple[str, int],
                    outside: tuple[str, int]) -> str:
    """The connection tracking line of the translated connection: original
    direction inside -> server, reply server -> outside (the public address
    and port); raises if there is none."""
    want = ((*inside, *server), (*server, *outside))
    for line in lines:
        found = [(s, int(sp), d, int(dp)) for s, d, sp, dp in CONNTRACK_PAIR.findall(line)]
        if tuple(found[:2]) == want:
            return " ".join(line.split())
    raise ExpectationFailed(
        f"no connection tracking entry {inside[0]}:{inside[1]} -> {server[0]}:{server[1]} "
        f"replied to {outside[0]}:{outside[1]}",
        "entries:\n" + "\n".join(f"  {line}" for line in lines[:20]))


def judge_nat(inside: Packets, outside: Packets, client_ip: str, server: tuple[str, int],
              public: str, conntrack: list[str], hops: int = 1) -> str:
    """The edge rewrites the source of every segment of the connection going
    out (client -> its public address, the destination unchanged) and the
    destination of every one coming back, keeping sequence numbers; no
    private address leaves; its connection tracking has the mapping."""
    conv = conversation(inside, client=client_ip, server=server)
    pairs = expect([s.packet for s in conv]).translated(outside, address=public, hops=hops)
    expect(outside).none(ip(host=client_ip))
    out, back = (sum(1 for p in pairs if p.direction == d) for d in ("outbound", "inbound"))
    syn = pairs[0]
    local = (syn.before.ip.src, syn.before.tcp.sport)
    mapped = (syn.after.ip.src, syn.after.tcp.sport)
    entry = conntrack_entry(conntrack, local, server, mapped)
    return (f"{local[0]}:{local[1]} → {mapped[0]}:{mapped[1]} outside, destination "
            f"{server[0]}:{server[1]} unchanged; {out} segments out and {back} back, all "
            f"translated (TTL -1, sequence numbers kept), no {client_ip} outside; "
            f"conntrack: {entry}")


def conntrack_table(ctx: CheckContext, node: str) -> tuple[list[str], str]:
    """The node's connection tracking table, and where it was read from:
    ``conntrack -L``, or /proc/net/nf_conntrack when that is refused."""
    listed = ctx.lab.run_in(node, ["conntrack", "-L", "-p", "tcp"])
    if listed.returncode == 0:
        return listed.stdout.splitlines(), "conntrack -L"
    proc = ctx.lab.run_in(node, ["cat", "/proc/net/nf_conntrack"])
    if proc.returncode == 0:
        return proc.stdout.splitlines(), (f"/proc/net/nf_conntrack (conntrack -L failed: "
                                          f"{listed.stderr.strip()})")
    raise LabError(f"{node}: no connection tracking table: conntrack -L: "
                   f"{listed.stderr.strip()}; /proc/net/nf_conntrack: {proc.stderr.strip()}")


def judge_nat_echo(inside: Packets, outside: Packets, client_ip: str, server_ip: str,
                   public: str) -> str:
    """Each echo and its reply, seen inside and outside: translated to the
    public address going out, back to the client coming in; no client
    address outside."""
    flow = inside.filter(icmp(type={"echo-request", "echo-reply"})
                         & ip(host=client_ip) & ip(host=server_ip))
    pairs = expect(flow).translated(outside, address=public, hops=1)
    expect(outside).none(ip(host=client_ip))
    out, back = (sum(1 for p in pairs if p.direction == d) for d in ("outbound", "inbound"))
    if not back:
        raise AssertionError(f"no echo reply from {server_ip} came back through the NAT "
                             f"({out} request(s) went out as {public})")
    return (f"echo {client_ip} → {server_ip} left as {public}: {out} out, {back} back, all "
            f"translated, no {client_ip} outside")


class Nat(Check):
    name = "nat"
    summary = ("each masquerading interface: a flow from inside leaves with its address, "
               "replies translated back, no inside address outside")

    def applies_to(self, topo: Topology) -> bool:
        return bool(crossings(topo))

    def why_not(self, topo: Topology) -> str:
        return ("no link has nat=True with an end host on both sides"
                if any(i.nat_outside for i in topo.interfaces())
                else "no link has nat=True")

    def footprint(self, lab) -> Footprint:
        net, found = network(lab), crossings(lab.topo)
        traffic = {f"tcp/{c.port}" if c.port is not None else "icmp" for c in found}
        return Footprint.of(uses=set().union(*(route_nodes(net, c.client, c.server)
                                                for c in found)),
                            hears=traffic, makes=traffic)

    def run(self, ctx: CheckContext) -> str:
        found = crossings(ctx.lab.topo)
        proofs = [prove(ctx, crossing) for crossing in found]
        if len(found) == 1:
            return proofs[0]
        return "; ".join(f"{c.router} ({c.inside.name} → {c.outside.name}): {proof}"
                         for c, proof in zip(found, proofs))


def prove(ctx: CheckContext, c: Crossing) -> str:
    """One flow through one masquerading interface, judged from both sides."""
    client = station(ctx, c.client)
    server_ip = str(static_ip(ctx.lab.topo, c.server))
    public = str(c.outside.ip)
    points = [(c.router, c.inside.name), (c.router, c.outside.name)]
    inside, outside = (point_label(*point) for point in points)
    if c.port is not None:
        with ctx.capture(points, f"tcp port {c.port}") as wire:
            curl(ctx, client, f"http://{server_ip}:{c.port}/")
        table, source = conntrack_table(ctx, c.router)
        evidence = judge_nat(wire[inside], wire[outside], client.ip, (server_ip, c.port),
                             public, table)
        return f"{evidence} (from {source})"
    with ctx.capture(points, "icmp") as wire:
        ping = ctx.lab.run_in(c.client, ["ping", "-c", "2", "-i", "0.2", "-W", "2", server_ip])
    if ping.returncode not in (0, 1):
        raise LabError(f"{c.client}: ping {server_ip}: {ping.stderr.strip()}")
    return judge_nat_echo(wire[inside], wire[outside], client.ip, server_ip, public)


CHECKS = [Nat]
