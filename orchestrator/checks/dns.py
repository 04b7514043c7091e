"""Name resolution: the check dns-chain.

xiaoming resolves names the way the texts say a PC does: its own hosts
file first (no DNS packet at all), then its local cache (dnsmasq on
127.0.0.1: a packet on ``lo``, nothing on the wire), then the server DHCP
gave it (10.10.10.10), which forwards to the public resolver 8.8.8.8 through
the edge NAT; 8.8.8.8 walks the hierarchy (root, ``com.``, ``baidu.com.``)
with non-recursive queries, and the answer comes back the same way.  A
second PC then gets the answer from 10.10.10.10's cache, with a TTL that
has counted down.

Cold caches make this deterministic: the check restarts the PCs' local
caches and both recursive resolvers (which keep their caches in memory
only) before it starts, whatever ran before it, and leaves them running,
warm with ``www.baidu.com`` as any lookup would.  The name is always
``www.baidu.com``: the check is about that name, not a fresh one per run.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from services.dns_cache import DNS_CACHE
from services.dns_resolver import DNS_RESOLVER

from ..capture.tcpdump import point_label
from ..model import Interface
from ..packets import (
    ExpectationFailed,
    Matcher,
    Packet,
    Packets,
    Pair,
    dns,
    expect,
    tcp,
    udp,
)
from ..packets.failure import listing, short
from .base import Captured, Check, CheckContext, station
from .derived.facts import network
from .footprint import Footprint, name_lookups

ANY_DNS = udp(port=53) | tcp(port=53)
"""Any packet to or from port 53, whether or not it parses as DNS."""

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Chain:
    """What the resolution chain should show, taken from the lab."""

    name: str                     # "www.baidu.com."
    answer: str                   # its address
    client: str                   # xiaoming's address
    neighbour: str                # xiaomei's address
    resolver: str                 # the server DHCP gave (10.10.10.10)
    upstream: str                 # the resolver's forwarder (8.8.8.8)
    public: str                   # the edge's public address (source NAT)
    servers: tuple[str, ...]      # root, com., baidu.com. servers, in the order asked


@dataclass(frozen=True)
class ColdWires:
    """The capture points of the cold lookup, from the PC to the hierarchy."""

    local: Packets                # the PC's lo: its local cache
    client: Packets               # the PC's wire
    resolver: Packets             # srv's wire
    inside: Packets               # the edge's inside (server LAN)
    outside: Packets              # the edge's WAN
    upstream: Packets             # pubdns's wire: the iteration


@dataclass(frozen=True)
class SharedWires:
    """The capture points of the second PC's lookup."""

    client: Packets               # the second PC's wire
    resolver: Packets             # srv's wire
    outside: Packets              # the edge's WAN


def a_ttl(packet: Packet) -> int:
    """The TTL of the first A record of an answer."""
    return next(r.ttl for r in packet.dns.answers if r.type == "A")


def _same_exchange(query: Packet, answer: Packet, where: str) -> None:
    """An answer belongs to a query: same DNS id, back to the asking port."""
    asked, answered = query["l4.sport"], answer["l4.dport"]
    if answer.dns.id != query.dns.id or answered != asked:
        raise ExpectationFailed(f"{where}: the answer does not answer the query (id {query.dns.id}"
                                f" from port {asked} asked, id {answer.dns.id} to port "
                                f"{answered} answered)",
                                listing("the pair:", [query, answer], query.time), [query, answer])


def _in_time_order(steps: list[tuple[str, Packet]]) -> None:
    """The packets of the chain happened in this order (one clock: every
    capture point is on this machine)."""
    for (before_name, before), (name, packet) in pairwise(steps):
        if packet.time < before.time:
            t0 = steps[0][1].time
            raise ExpectationFailed(
                f"the chain is out of order: {name} came before {before_name}",
                "\n".join(f"  {packet.time - t0:9.6f} {packet.point:<14} {step}: {short(packet)}"
                          for step, packet in steps),
                [p for _, p in steps])


def judge_hosts_file(local: Packets, wire: Packets, name: str, address: str,
                     resolved: list[str]) -> str:
    """Step 1: ``name`` resolved to ``address`` (what the lookup printed)
    with no packet to or from port 53, neither on the wire nor to the local
    cache on ``lo``."""
    expect(local).none(ANY_DNS)
    expect(wire).none(ANY_DNS)
    if address not in resolved:
        raise ExpectationFailed(f"{name} resolved to {resolved or 'nothing'}, not {address} "
                                f"from the hosts file")
    return f"{name} -> {address} from the hosts file, no DNS packet (lo, wire)"


def judge_cold_lookup(w: ColdWires, c: Chain) -> tuple[Packet, str]:
    """Step 3: the whole chain with every cache cold.  Returns the answer
    10.10.10.10 sent to the PC (as seen on the PC's wire) and the evidence."""
    asked = dns(qr=False, qname=c.name, qtype="A")
    told = dns(qr=True, qname=c.name, rcode="NOERROR", a=c.answer)
    local_q, local_a = _exchange(w.local, asked & dns(src=LOOPBACK, dst=LOOPBACK, dport=53),
                                 told & dns(src=LOOPBACK, dst=LOOPBACK), "the local cache")
    client_q, client_a = _exchange(
        w.client, asked & udp(src=c.client, dst=c.resolver, dport=53) & dns(rd=True),
        told & udp(src=c.resolver, dst=c.client), f"{c.resolver} to {c.client}")
    arrived, answered, routers = _across_routers(client_q, w, told, c)
    miss_q, miss_a = _exchange(w.resolver, asked & udp(src=c.resolver, dst=c.upstream, dport=53),
                               told & udp(src=c.upstream, dst=c.resolver),
                               f"{c.resolver} and {c.upstream}")
    out, back = _through_nat(w, c)
    iteration, walk = _iteration(w.upstream, c)
    _in_time_order([
        ("the query on lo", local_q), ("the query on the PC's wire", client_q),
        ("the query at the resolver", arrived), ("the resolver's query upstream", miss_q),
        ("the query inside the NAT", out.before), ("the query outside the NAT", out.after),
        *iteration,
        ("the answer outside the NAT", back.after), ("the answer inside the NAT", back.before),
        ("the answer at the resolver", miss_a), ("the resolver's answer", answered),
        ("the answer on the PC's wire", client_a), ("the answer on lo", local_a)])
    evidence = (f"lo cache missed; {c.client} asked {c.resolver} over UDP 53 across {routers} "
                f"router(s); it missed and asked {c.upstream} as {c.public} (NAT); "
                f"{c.upstream} iterated with RD=0: {walk}; the answer (ttl {a_ttl(client_a)}) "
                f"came back the same way")
    return client_a, evidence


def _exchange(wire: Packets, question: Matcher, response: Matcher,
              where: str) -> tuple[Packet, Packet]:
    """The first question and the first response on ``wire``, which must
    answer it."""
    asked, answered = expect(wire).first(question), expect(wire).first(response)
    _same_exchange(asked, answered, where)
    return asked, answered


def _across_routers(query: Packet, w: ColdWires, told: Matcher,
                    c: Chain) -> tuple[Packet, Packet, int]:
    """The PC's query seen again on the resolver's wire, and the resolver's
    answer seen again on the PC's: the same packets, across the same number
    (at least one) of routers.  Returns the query at the resolver, the answer
    there, and how many routers."""
    (there,) = expect(Packets([query])).forwarded(w.resolver, hops=None)
    (back,) = expect(w.resolver).forwarded(w.client, told & dns(dst=c.client), hops=None)
    routers = there.before.ip.ttl - there.after.ip.ttl
    if routers < 1 or back.before.ip.ttl - back.after.ip.ttl != routers:
        raise ExpectationFailed(
            f"the query and its answer did not cross the same routers between {c.client} and "
            f"{c.resolver}",
            listing("the pairs:", [there.before, there.after, back.before, back.after],
                    query.time, verbose=True))
    return there.after, back.before, routers


def _through_nat(w: ColdWires, c: Chain) -> tuple[Pair, Pair]:
    """The resolver's query out through the edge (source translated to the
    public address) and the answer back in: the two pairs."""
    pairs = {pair.direction: pair for pair in expect(w.inside).translated(
        w.outside, dns(host=c.upstream), address=c.public, hops=1)}
    if set(pairs) != {"outbound", "inbound"}:
        raise ExpectationFailed(f"expected the query out and the answer in through the NAT, "
                                f"saw {sorted(pairs) or 'nothing'}")
    return pairs["outbound"], pairs["inbound"]


def _iteration(wire: Packets, c: Chain) -> tuple[list[tuple[str, Packet]], str]:
    """8.8.8.8's work on its own wire: the question from the NAT, then for
    each server of the hierarchy in turn a non-recursive query and its
    response (a referral closer to the name, whose glue gives the next
    server's address; the last one authoritative), then the answer out.
    Returns (step, packet) in order, and the walk in words."""
    asked = dns(qr=False, qname=c.name, qtype="A")
    steps = [asked & dns(src=c.public, dst=c.upstream, rd=True)]
    for number, server in enumerate(c.servers):
        last = number == len(c.servers) - 1
        steps.append(asked & dns(src=c.upstream, dst=server, rd=False))
        steps.append(dns(qr=True, src=server, dst=c.upstream, qname=c.name, aa=last,
                         rcode="NOERROR", **({"a": c.answer} if last else {"ancount": 0})))
    steps.append(dns(qr=True, src=c.upstream, dst=c.public, qname=c.name, a=c.answer))
    found = expect(wire).sequence(steps, kind=dns())
    named = [("the question at the public resolver", found[0])]
    walk, zone = [], "."
    for number, server in enumerate(c.servers):
        query, response = found[1 + 2 * number], found[2 + 2 * number]
        _same_exchange(query, response, f"{c.upstream} and {server}")
        if number < len(c.servers) - 1:
            zone = _referral(response, zone, c.name, c.servers[number + 1])
            walk.append(f"{server} referral to {zone} (AA=0)")
        else:
            walk.append(f"{server} AA answer {c.answer}")
        named += [(f"the query to {server}", query), (f"the response of {server}", response)]
    named.append(("the public resolver's answer", found[-1]))
    return named, " -> ".join(walk)


def _referral(response: Packet, above: str, name: str, next_server: str) -> str:
    """A referral: NS records for a zone below ``above`` that encloses
    ``name``, and glue pointing at ``next_server``.  Returns the zone."""
    zones = {r.name for r in response.dns.authority if r.type == "NS"}
    glue = {r.data for r in response.dns.additional if r.type == "A"}
    deeper = [z for z in zones if _labels(z) > _labels(above) and _encloses(z, name)]
    if len(deeper) != 1 or next_server not in glue:
        raise ExpectationFailed(
            f"expected a referral below {above} towards {name} with glue for {next_server}; "
            f"authority NS {sorted(zones) or 'none'}, glue {sorted(glue) or 'none'}",
            listing("the response:", [response], response.time), [response])
    return deeper[0]


def _labels(zone: str) -> int:
    return len(zone.strip(".").split(".")) if zone.strip(".") else 0


def _encloses(zone: str, name: str) -> bool:
    return zone == "." or name == zone or name.endswith("." + zone)


def judge_local_cache(local: Packets, wire: Packets, c: Chain) -> str:
    """Step 2: a repeated lookup is answered by the cache on 127.0.0.1, and
    nothing goes out on the PC's wire."""
    query = expect(local).one(dns(qr=False, qname=c.name, src=LOOPBACK, dst=LOOPBACK, dport=53))
    answer = expect(local).one(dns(qr=True, qname=c.name, a=c.answer, src=LOOPBACK))
    _same_exchange(query, answer, "the local cache")
    expect(wire).none(ANY_DNS)
    return f"repeat answered on lo by 127.0.0.1 (ttl {a_ttl(answer)}), nothing on the wire"


def judge_shared_cache(w: SharedWires, c: Chain, first: Packet) -> str:
    """Step 4: the second PC's question is answered by the resolver from its
    cache: nothing leaves it upstream, and the TTL is lower than in
    ``first`` (the answer of step 3) by about the time in between."""
    query = expect(w.client).first(dns(qr=False, qname=c.name, src=c.neighbour, dst=c.resolver))
    answer = expect(w.client).first(dns(qr=True, qname=c.name, a=c.answer, src=c.resolver,
                                        dst=c.neighbour))
    _same_exchange(query, answer, f"{c.resolver} to {c.neighbour}")
    expect(w.resolver).one(dns(qr=True, qname=c.name, src=c.resolver, dst=c.neighbour))
    expect(w.resolver).none(dns(qr=False, src=c.resolver))
    expect(w.outside).none(ANY_DNS)
    before, after = a_ttl(first), a_ttl(answer)
    elapsed = answer.time - first.time
    if not 1 <= before - after <= elapsed + 1:
        raise ExpectationFailed(
            f"the cached TTL did not count down with time: {before} then {after}, "
            f"{elapsed:.1f} s apart",
            listing("the two answers:", [first, answer], first.time), [first, answer])
    return (f"{c.neighbour} answered from {c.resolver}'s cache, nothing upstream, "
            f"TTL {before} -> {after} after {elapsed:.1f} s")


# ---------------------------------------------------------------- in the lab

def to_cool(lab, nodes: set[str]) -> list:
    """Every recursive resolver and the local caches of ``nodes``: what
    :func:`restart_cold` restarts, and what a footprint says it changes."""
    return [i for i in lab.services.all() if i.kind == DNS_RESOLVER
            or (i.kind == DNS_CACHE and i.node in nodes)]


def cooled(lab, nodes: set[str]) -> set[str]:
    """:func:`to_cool` as footprint resources (``dns@node``)."""
    return {f"dns@{i.node}" for i in to_cool(lab, nodes)}


def restart_cold(ctx: CheckContext, nodes: set[str]) -> list[str]:
    """Restart every recursive resolver and the local caches of ``nodes``:
    they keep their caches in memory, so they come back empty.  Returns the
    daemons restarted."""
    cold = to_cool(ctx.lab, nodes)
    ctx.lab.services.restart(*cold)
    return [i.name for i in cold]


def chain_facts(ctx: CheckContext, client: str, neighbour: str) -> Chain:
    """Addresses of the chain from the topology and the PCs' leases."""
    topo = ctx.lab.topo
    lease = ctx.lab.leases().get((client, topo.interfaces(client)[0].name))
    if lease is None or not lease.dns:
        raise ExpectationFailed(f"{client} holds no DHCP lease with a DNS server: {lease}")
    resolver = lease.dns[0]
    forwarder = next(s for s in topo.node(interface_with(ctx, resolver).node).services
                     if s.kind == DNS_RESOLVER)
    public = next(i for i in topo.interfaces() if i.nat_outside)

    def address(node: str) -> str:
        return str(topo.interfaces(node)[0].ip)

    return Chain(name="www.baidu.com.", answer=address("web"), client=station(ctx, client).ip,
                 neighbour=station(ctx, neighbour).ip, resolver=resolver,
                 upstream=str(forwarder.params["forwarders"][0]), public=str(public.ip),
                 servers=(address("root"), address("tld"), address("auth")))


def interface_with(ctx: CheckContext, address: str) -> Interface:
    """The interface of the topology that has ``address``."""
    return next(i for i in ctx.lab.topo.interfaces() if str(i.ip) == address)


def chain_points(ctx: CheckContext, c: Chain) -> dict[str, tuple[str, str]]:
    """Where the cold lookup is captured beyond the PC: the resolver's wire,
    both sides of the NAT, the public resolver's wire."""
    outside = interface_with(ctx, c.public)
    inside = next(i for i in ctx.lab.topo.interfaces(outside.node) if not i.nat_outside)
    return {role: (i.node, i.name) for role, i in (
        ("resolver", interface_with(ctx, c.resolver)), ("inside", inside),
        ("outside", outside), ("upstream", interface_with(ctx, c.upstream)))}


def lookup(ctx: CheckContext, node: str, name: str) -> list[str]:
    """Resolve ``name`` in ``node`` through glibc (hosts file, then DNS as
    /etc/resolv.conf says): the addresses getent printed."""
    out = ctx.lab.run_in(node, ["getent", "ahostsv4", name]).stdout
    return sorted({line.split()[0] for line in out.splitlines() if line.strip()})


class DnsChain(Check):
    """xiaoming's lookups: hosts file, local cache, then 10.10.10.10 ->
    8.8.8.8 (through the NAT) -> root -> com. -> baidu.com. and back; then
    xiaomei is answered from 10.10.10.10's cache with a lower TTL."""

    name = "dns-chain"
    summary = "hosts file, local cache, forwarder, NAT, iterative resolution, shared cache"
    topologies = ("enterprise",)
    idle_wait = 1.0
    pc, other = "xiaoming", "xiaomei"

    def footprint(self, lab) -> Footprint:
        """It restarts every resolver and the two PCs' caches cold."""
        net = network(lab)
        return Footprint.of(changes=cooled(lab, {self.pc, self.other}),
                            uses=name_lookups(net, self.pc) | name_lookups(net, self.other),
                            hears={"dns"}, makes={"dns"})

    def run(self, ctx: CheckContext) -> str:
        pc, other = self.pc, self.other
        chain = chain_facts(ctx, pc, other)
        far = chain_points(ctx, chain)
        hosts_name, hosts_address = next(iter(ctx.lab.topo.node(pc).hosts.items()))
        local = [(pc, "lo"), (pc, f"{pc}-eth0")]
        restart_cold(ctx, {pc, other})
        with ctx.capture(local, "port 53") as hosts_step:
            resolved = lookup(ctx, pc, hosts_name)
        with ctx.capture(local + list(far.values()), "port 53") as cold:
            lookup(ctx, pc, chain.name)
        with ctx.capture(local, "port 53") as repeat:
            lookup(ctx, pc, chain.name)
        ctx.wait(1.0)        # the cached TTL counts down in whole seconds
        second = [(other, f"{other}-eth0"), far["resolver"], far["outside"]]
        with ctx.capture(second, "port 53") as shared:
            lookup(ctx, other, chain.name)
        return judge_dns_chain(
            (*wires(hosts_step, local), hosts_name, hosts_address, resolved),
            ColdWires(*wires(cold, local + list(far.values()))),
            wires(repeat, local), SharedWires(*wires(shared, second)), chain)


def wires(captured: Captured, points: list[tuple[str, str]]) -> list[Packets]:
    """The packets of each point, in the order given."""
    return [captured[point_label(node, iface)] for node, iface in points]


def judge_dns_chain(hosts_step: tuple, cold: ColdWires, repeat: list[Packets],
                    shared: SharedWires, c: Chain) -> str:
    """The four steps of FLOWS.md in one line of evidence."""
    one = judge_hosts_file(*hosts_step)
    first_answer, three = judge_cold_lookup(cold, c)
    two = judge_local_cache(*repeat, c)
    four = judge_shared_cache(shared, c, first_answer)
    return f"1. {one}; 2. {two}; 3. {three}; 4. {four}"


CHECKS = [DnsChain]
