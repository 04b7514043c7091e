"""http: every HTTP service of any topology answers 200 through the network.

For each ``http`` service and each site it serves, the network's user (an
end host that is not the server, a DHCP client first) fetches
``http://SITE:PORT/`` with curl, the site's name pinned to the server's
address (``--resolve``: names are the ``dns`` check's business).  Captured
on the user's wire and on the server's, the judge demands the connection
from the packets: the handshake, the request for the site (its ``Host``
header) seen leaving the user and arriving at the server, and a response
whose status line says 200 seen leaving the server and arriving at the user.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.http_daemon import HTTP, HttpDaemon

from ...capture.tcpdump import point_label
from ...errors import LabError
from ...model import Topology
from ...packets import ExpectationFailed, Packets, conversation, expect, tcp
from ...packets.conversation import CLIENT_TO_SERVER, SERVER_TO_CLIENT, Conversation
from ..base import Check, CheckContext, station
from ..footprint import Footprint, route_nodes
from ..web import wait_closed
from .common import end_hosts, static_ip, users_first
from .facts import network


@dataclass(frozen=True)
class Site:
    server: str
    address: str
    port: int
    name: str
    client: str


def sites(topo: Topology) -> list[Site]:
    found = []
    for host in topo.hosts():
        address = static_ip(topo, host.name)
        for svc in host.services:
            if svc.kind != HTTP or address is None:
                continue
            clients = users_first(topo, [h for h in end_hosts(topo) if h.name != host.name])
            if not clients:
                continue
            port = int(HttpDaemon.settings(svc)["port"])
            found += [Site(host.name, str(address), port, name, clients[0].name)
                      for name in svc.params["sites"]]
    return found


def _payload_starts(conv: Conversation, direction: str, prefix: bytes):
    return next((s for s in conv if s.direction == direction and s.len
                 and bytes(s.packet.tcp.payload).startswith(prefix)), None)


def judge_http(client_wire: Packets, server_wire: Packets, client_ip: str, site: Site) -> str:
    """The request for the site and a 200 response, on both wires."""
    server = (site.address, site.port)
    conv = conversation(client_wire, client=client_ip, server=server)
    flags = [str(s.flags) for s in conv][:2]
    if flags[:2] != ["S", "SA"]:
        raise ExpectationFailed(f"{site.client} → {site.address}:{site.port}: no handshake "
                                f"(first segments {flags})", conv.table())
    request = _payload_starts(conv, CLIENT_TO_SERVER, b"GET ")
    host = f"Host: {site.name}".encode()
    if request is None or host not in bytes(request.packet.tcp.payload):
        raise ExpectationFailed(f"{site.client}: no GET with '{host.decode()}' to "
                                f"{site.address}:{site.port}", conv.table())
    response = _payload_starts(conv, SERVER_TO_CLIENT, b"HTTP/")
    if response is None:
        raise ExpectationFailed(f"{site.server} sent no HTTP response to {site.client}",
                                conv.table())
    status_line = bytes(response.packet.tcp.payload).split(b"\r\n", 1)[0].decode(errors="replace")
    if status_line.split()[1:2] != ["200"]:
        raise ExpectationFailed(f"{site.server} answered '{status_line}', not 200", conv.table())
    # The same request and response at the server's end of the path.
    for segment in (request, response):
        payload = bytes(segment.packet.tcp.payload)
        expect(server_wire).first(tcp(port=site.port, payload=payload))
    return (f"{site.client} → http://{site.name}:{site.port}/ at {site.address}: "
            f"'{status_line}', request and response seen at both ends")


class Http(Check):
    name = "http"
    summary = "each HTTP service's sites fetched by a user of the network: status 200 on the wire"

    def applies_to(self, topo: Topology) -> bool:
        return bool(sites(topo))

    def why_not(self, topo: Topology) -> str:
        return "no node runs an http service with a static address and a client to fetch it"

    def footprint(self, lab) -> Footprint:
        net, found = network(lab), sites(lab.topo)      # curl --resolve: no name lookup
        ports = {f"tcp/{site.port}" for site in found}
        return Footprint.of(uses=set().union(*(route_nodes(net, s.client, s.server)
                                                for s in found)),
                            hears=ports, makes=ports)

    def run(self, ctx: CheckContext) -> str:
        lines = []
        for site in sites(ctx.lab.topo):
            client = station(ctx, site.client)
            server_iface = next(i for i in ctx.lab.topo.interfaces(site.server)
                                if i.ip is not None and str(i.ip) == site.address)
            client_point = point_label(client.node, client.iface)
            server_point = point_label(site.server, server_iface.name)
            with ctx.capture([(client.node, client.iface), (site.server, server_iface.name)],
                             f"tcp port {site.port}") as wire:
                fetch(ctx, client, site)
            lines.append(judge_http(wire[client_point], wire[server_point], client.ip, site))
        return "; ".join(lines)


def fetch(ctx: CheckContext, client, site: Site) -> None:
    url = f"http://{site.name}:{site.port}/"
    result = ctx.lab.run_in(client.node, [
        "curl", "-sS", "-m", "5", "-o", "/dev/null", "-w", "%{local_port}",
        "--resolve", f"{site.name}:{site.port}:{site.address}", url])
    if result.returncode != 0:
        # The packets say why (no SYN-ACK, a reset, no response): judged next.
        return
    if result.stdout.strip().isdigit():
        try:
            wait_closed(ctx, client, int(result.stdout.strip()))
        except LabError:
            pass


CHECKS = [Http]
