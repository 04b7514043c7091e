"""dns: every resolver of any topology resolves a name of its zones by the
path the model declares.

For each ``dns-resolver`` service, a name of the emulated zones (an A
record of a ``dns-authoritative`` service, ``www.`` names first) is asked of
it by its user: a host whose DHCP subnet names the resolver, else a resolver
that forwards to it, else the network's first user.  Every resolver is
restarted first, so that caches are cold and the path shows.  Captured on
the user's wire and on the resolver's, the judge demands: the question and
the answer with the zone's address on the user's wire; on the resolver's,
its own question upstream, to one of its forwarders (``mode="forward"``) or
to a root server of its hints and then to the zone's authoritative server
(``mode="recursive"``), between the user's question and the answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.dns_authoritative import DNS_AUTHORITATIVE
from services.dns_resolver import DNS_RESOLVER

from ...capture.tcpdump import point_label
from ...model import Topology
from ...model.domains import declared_subnet
from ...packets import ExpectationFailed, Packets, dns, expect, udp
from ..base import Check, CheckContext, station
from ..dns import _exchange, cooled, restart_cold
from ..footprint import Footprint, name_lookups
from .common import end_hosts, static_ip, users_first
from .facts import network


@dataclass(frozen=True)
class Lookup:
    resolver: str                 # node
    address: str                  # where it listens
    mode: str
    upstream: tuple[str, ...]     # forwarders, or root servers
    authority: str | None         # the zone's authoritative server (recursive mode)
    name: str                     # with a trailing dot
    answer: str
    client: str


def zone_records(topo: Topology) -> list[tuple[str, str, str]]:
    """(owner, address, server node) of every A record the topology's
    authoritative servers hold, ``www.`` names first."""
    found = []
    for host in topo.hosts():
        for svc in host.services:
            if svc.kind != DNS_AUTHORITATIVE:
                continue
            for records in svc.params["zones"].values():
                targets = {r.split()[-1] for r in records if r.split()[3:4] == ["NS"]}
                for record in records:
                    owner, _ttl, _class, rtype, *data = record.split()
                    if rtype == "A" and owner not in targets:
                        found.append((owner, data[0], host.name))
    return sorted(found, key=lambda r: not r[0].startswith("www."))


def listen(topo: Topology, node: str, params) -> str | None:
    given = params.get("listen")
    return str(given) if given else (str(static_ip(topo, node)) if static_ip(topo, node)
                                     else None)


def client_of(topo: Topology, resolver: str, address: str) -> str | None:
    """Who asks this resolver: a host its DHCP subnet points at it, a
    resolver forwarding to it, else the first user of the network."""
    for iface in topo.interfaces():
        subnet = declared_subnet(topo, iface) if iface.dhcp else None
        if subnet and address in {str(d) for d in subnet.dns} and iface.node != resolver:
            return iface.node
    for host in topo.hosts():
        for svc in host.services:
            if svc.kind == DNS_RESOLVER and address in {str(f) for f in
                                                        svc.params.get("forwarders", ())}:
                return host.name
    users = users_first(topo, [h for h in end_hosts(topo) if h.name != resolver])
    return users[0].name if users else None


def lookups(topo: Topology) -> list[Lookup]:
    records = zone_records(topo)
    if not records:
        return []
    name, answer, owner = records[0]
    found = []
    for host in topo.hosts():
        for svc in host.services:
            if svc.kind != DNS_RESOLVER:
                continue
            address = listen(topo, host.name, svc.params)
            client = client_of(topo, host.name, address) if address else None
            if client is None:
                continue
            mode = svc.params["mode"]
            upstream = tuple(str(f) for f in svc.params.get("forwarders", ())) \
                if mode == "forward" else tuple(str(a) for _n, a in svc.params.get("root_hints", ()))
            authority = str(static_ip(topo, owner)) if mode == "recursive" else None
            found.append(Lookup(host.name, address, mode, upstream, authority, name, answer,
                                client))
    return found


def judge_lookup(client_wire: Packets, resolver_wire: Packets, client_ip: str,
                 look: Lookup) -> str:
    """The question and answer at the user; the resolver's own questions
    upstream, in between, by the declared path."""
    asked = dns(qr=False, qname=look.name, qtype="A")
    told = dns(qr=True, qname=look.name, rcode="NOERROR", a=look.answer)
    question, answer = _exchange(client_wire, asked & udp(src=client_ip, dst=look.address,
                                                          dport=53),
                                 told & udp(src=look.address, dst=client_ip),
                                 f"{look.address} and {client_ip}")
    during = Packets([p for p in resolver_wire if question.time <= p.time <= answer.time],
                     resolver_wire.label)
    first = expect(during).first(asked & udp(dst=set(look.upstream), dport=53))
    path = [f"{first.ip.dst}"]
    if look.mode == "recursive" and look.authority:
        last = expect(during).first(asked & udp(dst=look.authority, dport=53))
        if last.time < first.time:
            raise ExpectationFailed(f"{look.resolver} asked {look.authority} before a root "
                                    f"server", during.describe())
        path.append(look.authority)
    word = "forwarded to" if look.mode == "forward" else "iterated from"
    return (f"{look.client} asked {look.resolver} ({look.address}) for {look.name}: "
            f"{word} {' … '.join(path)}, answer {look.answer}")


class Dns(Check):
    name = "dns"
    summary = "each resolver answers a name of the emulated zones by its declared path, cold"

    def applies_to(self, topo: Topology) -> bool:
        return bool(lookups(topo))

    def why_not(self, topo: Topology) -> str:
        return ("no dns-resolver with a user, or no dns-authoritative zone with an A record, "
                "in it")

    def footprint(self, lab) -> Footprint:
        """Every resolver restarted cold; each client asks through its path."""
        net = network(lab)
        uses = set().union(*(name_lookups(net, look.client) for look in lookups(lab.topo)))
        return Footprint.of(changes=cooled(lab, set()), uses=uses, hears={"dns"}, makes={"dns"})

    def run(self, ctx: CheckContext) -> str:
        topo = ctx.lab.topo
        lines = []
        for look in lookups(topo):
            restart_cold(ctx, set())
            client = station(ctx, look.client)
            resolver_iface = next(i for i in topo.interfaces(look.resolver)
                                  if i.ip is not None and str(i.ip) == look.address)
            points = [(client.node, client.iface), (look.resolver, resolver_iface.name)]
            with ctx.capture(points, "port 53") as wire:
                ctx.lab.run_in(client.node, ["dig", f"@{look.address}", look.name, "A",
                                             "+tries=1", "+time=5"])
            lines.append(judge_lookup(wire[point_label(*points[0])], wire[point_label(*points[1])],
                                      client.ip, look))
        return "; ".join(lines)


CHECKS = [Dns]
