"""ARP and forwarding: the checks arp-same-subnet, cross-subnet and arp-cache."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from orchestrator.model import Router as RouterNode

from ..packets import (
    ExpectationFailed,
    Matcher,
    Packet,
    Packets,
    arp,
    eth,
    expect,
    icmp,
    merge,
)
from ..packets.failure import listing, short
from .base import Check, CheckContext, Demonstrated, Station, record_erratum, station

BROADCAST = "ff:ff:ff:ff:ff:ff"


def judge_arp_same_subnet(sender: Packets, same_vlan: list[Packets], other_vlan: list[Packets],
                          repeat: Packets, a: Station, b: Station,
                          errata: list[Demonstrated]) -> str:
    """``sender``: a's wire during the first ping; ``same_vlan``/``other_vlan``:
    wires that must / must not hear the broadcast; ``repeat``: a's wire
    during a second ping, which must need no ARP."""
    who_has = arp(op="request", sender_ip=a.ip, target_ip=b.ip, sender_mac=a.mac)
    request, _reply, _echo, _echo_reply = expect(sender).sequence(
        [who_has & arp(eth_dst="ff:ff:ff:ff:ff:ff"),
         arp(op="reply", sender_ip=b.ip, sender_mac=b.mac, target_mac=a.mac, eth_dst=a.mac),
         icmp(type=8, src=a.ip, dst=b.ip), icmp(type=0, src=b.ip, dst=a.ip)],
        kind=arp() | icmp())
    for wire in same_vlan:
        expect(wire).count(who_has, exactly=1)
    for wire in other_vlan:
        expect(wire).none(who_has)
    record_erratum(errata, "arp-ethertype", f"who-has frame type 0x{request.eth.type:04x}",
                   request)
    expect(repeat).none(arp())
    expect(repeat).count(icmp(type=8, dst=b.ip), exactly=1)
    return (f"who-has {b.ip} tell {a.ip} broadcast, heard by {len(same_vlan)} in its VLAN and "
            f"none of {len(other_vlan)} outside; reply from {b.mac} unicast; second ping: no ARP")


class ArpSameSubnet(Check):
    """xiaoming pings xiaomei: ARP request broadcast (heard all over VLAN 10,
    nowhere in VLAN 20), unicast reply, then ICMP; a second ping sends no ARP."""

    name = "arp-same-subnet"
    summary = "ARP who-has as broadcast in VLAN 10 only, unicast reply, then ICMP; cache hit"
    topologies = ("enterprise",)
    vlans = True

    def run(self, ctx: CheckContext) -> str:
        lab = ctx.lab
        a, b = station(ctx, "xiaoming"), station(ctx, "xiaomei")
        for s in (a, b):
            lab.run_in(s.node, ["ip", "neigh", "flush", "dev", s.iface])
        points = [("xiaoming", "xiaoming-eth0"), ("xiaomei", "xiaomei-eth0"),
                  ("gw1", "gw1-eth0"), ("xiaoli", "xiaoli-eth0"), ("gw2", "gw2-eth0")]
        with ctx.capture(points, "arp or icmp") as first:
            lab.run_in(a.node, ["ping", "-c1", "-W2", b.ip])
        learned = lab.run_in(b.node, ["ip", "neigh", "show", a.ip]).stdout
        with ctx.capture([(a.node, a.iface)], "arp or icmp") as second:
            lab.run_in(a.node, ["ping", "-c1", "-W2", b.ip])
        cached = lab.run_in(a.node, ["ip", "neigh", "show", b.ip]).stdout.strip()
        evidence = judge_arp_same_subnet(
            first["xiaoming-eth0"], [first["xiaomei-eth0"], first["gw1-eth0"]],
            [first["xiaoli-eth0"], first["gw2-eth0"]], second.all, a, b, ctx.errata)
        if a.mac not in learned.lower():
            raise ExpectationFailed(f"xiaomei did not learn xiaoming's mapping from the request: "
                                 f"ip neigh shows {learned.strip()!r}")
        return f"{evidence} (ip neigh: {cached})"


# ---------------------------------------------------------------- cross-subnet

@dataclass(frozen=True)
class RouterPorts:
    """A router as path tracing sees it: its capture points and the MAC of
    the interface each one watches."""

    name: str
    ports: tuple[tuple[str, str], ...]      # (capture point, MAC)


@dataclass(frozen=True)
class Hop:
    """One router on a packet's path: the frame that reached it (addressed
    to its MAC) and the frame it sent on (from its MAC, TTL one lower)."""

    router: str
    arrived: Packet
    left: Packet


def _at_hop(number: int, router: str, failure: ExpectationFailed) -> ExpectationFailed:
    return ExpectationFailed(f"hop {number} ({router}): {failure.expectation}", failure.detail,
                             failure.packets)


def trace_path(sent: Packet, wires: Mapping[str, Packets], routers: list[RouterPorts],
               destination_mac: str, destination_point: str) -> list[Hop]:
    """Follow ``sent`` from router to router by the captures alone: its
    destination MAC names the next router; that router's capture of the
    port with this MAC must show the same IP packet arriving, and one of its
    ports the packet leaving from that port's MAC with the TTL one lower
    (:func:`~orchestrator.packets.forwarded`), addressed to the next MAC.
    Ends when a frame is addressed to ``destination_mac`` and seen at
    ``destination_point``."""
    owner = {mac: (router, point) for router in routers for point, mac in router.ports}
    hops: list[Hop] = []
    current = sent
    while current.eth.dst != destination_mac:
        found = owner.get(current.eth.dst)
        if found is None or len(hops) > len(routers):
            why = "no captured router port has that MAC" if found is None else "a routing loop"
            raise ExpectationFailed(
                f"after {len(hops)} router(s) the packet went to {current.eth.dst}, not to the "
                f"destination {destination_mac}: {why}",
                listing("the frame:", [current], sent.time, verbose=True, macs=True), [current])
        router, point = found
        number = len(hops) + 1
        try:
            (arrival,) = expect(Packets([current])).forwarded(
                wires[point].filter(eth(dst=current.eth.dst)), hops=0)
            departures = merge(*(wires[p].filter(eth(src=mac)) for p, mac in router.ports))
            (departure,) = expect(Packets([arrival.after])).forwarded(
                departures, hops=1, gateway_mac=current.eth.dst)
        except ExpectationFailed as failure:
            raise _at_hop(number, router.name, failure) from None
        hops.append(Hop(router.name, arrival.after, departure.after))
        current = departure.after
    try:
        expect(Packets([current])).forwarded(wires[destination_point], hops=0)
    except ExpectationFailed as failure:
        raise _at_hop(len(hops) + 1, "delivery", failure) from None
    return hops


def _path_text(origin: Packet, hops: list[Hop]) -> str:
    names = " -> ".join(h.router for h in hops)
    ttls = " -> ".join(str(t) for t in [origin.ip.ttl] + [h.left.ip.ttl for h in hops])
    return f"{len(hops)} router{'s' if len(hops) != 1 else ''} ({names}), TTL {ttls}"


def judge_cross_subnet(wires: Mapping[str, Packets], a: Station, b: Station,
                       a_gateway: Station, b_gateway: Station,
                       routers: list[RouterPorts]) -> str:
    """``wires``: capture point -> packets, for both hosts and every port of
    every router, during one ping from ``a`` to ``b``.  ``a`` ARPs for its
    gateway, never for ``b``; the echo request is followed router by router
    to ``b`` and the reply back to ``a`` (addresses unchanged, MACs rewritten,
    TTL minus one at every router)."""
    sender = wires[a.iface]
    request = expect(sender).in_order([
        arp(op="request", sender_ip=a.ip, sender_mac=a.mac, target_ip=a_gateway.ip,
            eth_dst=BROADCAST),
        arp(op="reply", sender_ip=a_gateway.ip, sender_mac=a_gateway.mac, eth_dst=a.mac),
        icmp(type=8, src=a.ip, dst=b.ip, eth_src=a.mac, eth_dst=a_gateway.mac)])[-1]
    expect(merge(*wires.values())).none(arp(op="request", sender_ip=a.ip, target_ip=b.ip))
    there = trace_path(request, wires, routers, b.mac, b.iface)
    if there[-1].left.eth.src != b_gateway.mac:
        raise ExpectationFailed(
            f"the echo request reached {b.ip} from {there[-1].left.eth.src}, not from its "
            f"gateway {b_gateway.node} ({b_gateway.mac})",
            listing("the last hop:", [there[-1].left], request.time, verbose=True, macs=True))
    reply = expect(wires[b.iface]).first(
        icmp(type=0, src=b.ip, dst=a.ip, id=request.icmp.id, seq=request.icmp.seq,
             eth_src=b.mac, eth_dst=b_gateway.mac))
    back = trace_path(reply, wires, routers, a.mac, a.iface)
    redirects = len(merge(*wires.values()).filter(icmp(type=5)))
    return (f"{a.node} ARPed for its gateway {a_gateway.ip} only; echo {a.ip} > {b.ip} left "
            f"{a.mac} for {a_gateway.mac}, crossed {_path_text(request, there)}, arrived "
            f"from {b_gateway.mac} to {b.mac}, addresses unchanged; reply back across "
            f"{_path_text(reply, back)}"
            + (f"; {redirects} ICMP redirect frame(s) seen" if redirects else ""))


def gateway(ctx: CheckContext, host: Station) -> Station:
    """The router port that is ``host``'s default gateway (from its lease,
    else from the topology)."""
    lease = ctx.lab.leases().get((host.node, host.iface))
    address = lease.router if lease and lease.router else \
        str(ctx.lab.topo.node(host.node).gateway)
    for iface in ctx.lab.topo.interfaces():
        if iface.address is not None and str(iface.address.ip) == address:
            return Station(iface.node, iface.name, ctx.lab.mac(iface.node, iface.name), address)
    raise ExpectationFailed(f"{host.node}'s gateway {address} is no interface of the topology")


def router_ports(ctx: CheckContext) -> list[RouterPorts]:
    """Every router of the topology with the MAC of each of its interfaces."""
    return [RouterPorts(node.name, tuple((i.name, ctx.lab.mac(node.name, i.name))
                                         for i in ctx.lab.topo.interfaces(node.name)))
            for node in ctx.lab.topo.hosts() if isinstance(node, RouterNode)]


class CrossSubnet(Check):
    """xiaoming pings xiaoli in the other VLAN: it ARPs for its gateway only,
    and the echo is followed across every router from the captures on both
    sides of each (same IP packet, new MACs, TTL one lower per router)."""

    name = "cross-subnet"
    summary = "ARP for the gateway only; per router: MACs rewritten, addresses kept, TTL - 1"
    topologies = ("enterprise",)
    vlans = True

    def run(self, ctx: CheckContext) -> str:
        lab = ctx.lab
        a, b = station(ctx, "xiaoming"), station(ctx, "xiaoli")
        routers = router_ports(ctx)
        points = [(a.node, a.iface), (b.node, b.iface)] + \
            [(router.name, point) for router in routers for point, _ in router.ports]
        gw_a = gateway(ctx, a)
        lab.run_in(a.node, ["ip", "neigh", "flush", "dev", a.iface])
        # The gateway forgets A too: its entry for A, left stale by earlier
        # traffic, could be probed right now, and A would learn the gateway
        # from that probe instead of asking for it.
        lab.run_in(gw_a.node, ["ip", "neigh", "del", a.ip, "dev", gw_a.iface])
        with ctx.capture(points, "arp or icmp") as captured:
            lab.run_in(a.node, ["ping", "-c1", "-W2", b.ip])
        return judge_cross_subnet(captured.by_point, a, b, gw_a, gateway(ctx, b), routers)


# ---------------------------------------------------------------- arp-cache

@dataclass(frozen=True)
class Walk:
    """The frames of A's ARP walk-through towards B, as matchers."""

    asks: Matcher          # A's request for B (any destination MAC)
    answers: Matcher       # B's reply, unicast to A
    sends: Matcher         # A's echo request, to B's MAC
    kind: Matcher          # all of A's requests and echoes, and B's replies to A

    @classmethod
    def of(cls, a: Station, b: Station) -> "Walk":
        asks = arp(op="request", sender_ip=a.ip, sender_mac=a.mac, target_ip=b.ip)
        answers = arp(op="reply", sender_ip=b.ip, sender_mac=b.mac, target_ip=a.ip,
                      target_mac=a.mac, eth_src=b.mac, eth_dst=a.mac)
        return cls(asks, answers, icmp(type=8, src=a.ip, dst=b.ip, eth_dst=b.mac),
                   asks | answers | icmp(type=8, src=a.ip))

    @property
    def from_scratch(self) -> list[Matcher]:
        """A broadcast request, the unicast reply, then the data."""
        return [self.asks & arp(eth_dst=BROADCAST), self.answers, self.sends]


def judge_arp_cache(learn_a: Packets, learn_b: Packets, hit_a: Packets, renewed_a: Packets,
                    a: Station, b: Station, probe_delay: float,
                    errata: list[Demonstrated]) -> str:
    """The five steps of 001 and the soft state, from A's and B's wires.

    ``learn_a``/``learn_b``: the first ping, both caches empty; ``hit_a``: a
    second ping at once; ``renewed_a``: a ping once A's entry has expired,
    captured until the entry is confirmed again.  ``probe_delay``: the
    kernel's delay_first_probe_time, seconds."""
    walk = Walk.of(a, b)
    # 1-2: nothing cached, so A's first frame for B is a broadcast request
    # carrying its own mapping; 4: B's reply is unicast; 5: then the data.
    expect(learn_a).sequence(walk.from_scratch, kind=walk.kind, only=True)
    # 2-3: B hears the broadcast and answers the ping without asking for A:
    # it took A's mapping from the request.
    expect(learn_b).sequence(
        [*walk.from_scratch, icmp(type=0, src=b.ip, dst=a.ip, eth_dst=a.mac)],
        kind=arp() | icmp())
    # 5: A cached B's mapping: the next packet needs no ARP.
    expect(hit_a).none(walk.asks)
    expect(hit_a).one(walk.sends)
    return (f"1-2 A's cache empty: who-has {b.ip} tell {a.ip} broadcast with A's mapping; "
            f"3-4 B answered unicast to {a.mac} and replied to the ping without asking; "
            f"5 A cached {b.mac}: 2nd ping no ARP; "
            + _renewal(renewed_a, walk, b, probe_delay, errata))


def _renewal(renewed_a: Packets, walk: Walk, b: Station, probe_delay: float,
             errata: list[Demonstrated]) -> str:
    """Soft state: after expiry the next packet brings a new exchange,
    either the texts' (a broadcast request first, as for an unknown
    address) or Linux's (the STALE entry is used at once, then confirmed
    by a request unicast to the cached MAC after delay_first_probe_time:
    DELAY, then PROBE), which is an erratum."""
    if walk.from_scratch[0](expect(renewed_a).first(walk.kind)):
        expect(renewed_a).sequence(walk.from_scratch, kind=walk.kind, only=True)
        return "expired: the next ping asked again by broadcast, then was sent"
    used, probe, _confirmed = expect(renewed_a).sequence(
        [walk.sends, walk.asks & arp(eth_dst=b.mac), walk.answers], kind=walk.kind, only=True)
    waited = probe.time - used.time
    if waited < 0.8 * probe_delay:
        raise ExpectationFailed(
            f"the probe followed the packet after {waited:.3f} s, sooner than "
            f"delay_first_probe_time ({probe_delay:g} s)",
            listing("after expiry:", [used, probe], used.time))
    record_erratum(errata, "arp-expiry",
                   f"after expiry: {short(used)} sent at once to {b.mac}; {waited:.2f} s later "
                   f"who-has {b.ip} unicast to {b.mac}, no broadcast", probe)
    return (f"expired (STALE): next ping sent at once, then who-has unicast to {b.mac} "
            f"{waited:.2f} s later (DELAY -> PROBE), reply")


NEIGH_POLL = 0.1


def neighbour(ctx: CheckContext, host: Station, address: str) -> str:
    """``ip neigh`` of ``host`` for ``address``: one line, or empty."""
    return ctx.lab.run_in(host.node, ["ip", "neigh", "show", address, "dev", host.iface]
                          ).stdout.strip()


def neigh_timer(ctx: CheckContext, host: Station, name: str) -> float:
    """One of the interface's neighbour timers (seconds), as the kernel has it."""
    path = f"/proc/sys/net/ipv4/neigh/{host.iface}/{name}"
    value = float(ctx.lab.run_in(host.node, ["cat", path]).stdout)
    return value / 1000 if name.endswith("_ms") else value


def wait_for_state(ctx: CheckContext, host: Station, address: str, state: str,
                   timeout: float) -> float:
    """Wait (a protocol timer: counted) until ``host``'s entry for
    ``address`` is in ``state``; returns how long that took."""
    waited = 0.0
    while state not in neighbour(ctx, host, address).split():
        if waited >= timeout:
            raise ExpectationFailed(f"{host.node}'s ARP entry for {address} was not {state} "
                                    f"after {timeout:g} s: {neighbour(ctx, host, address)!r}")
        ctx.wait(NEIGH_POLL)
        waited += NEIGH_POLL
    return waited


class ArpCache(Check):
    """001's ARP walk-through for A and B, step by step, and the cache's
    soft state: once A's entry expires, the next packet brings a new ARP
    exchange (on Linux: a unicast probe of the stale entry)."""

    name = "arp-cache"
    summary = "the five steps of 001's ARP walk-through; an expired entry is asked for again"
    topologies = ("arp-lan",)

    def run(self, ctx: CheckContext) -> str:
        lab = ctx.lab
        a, b = station(ctx, "A"), station(ctx, "B")
        points = [(a.node, a.iface), (b.node, b.iface)]
        for host in (a, b):
            lab.run_in(host.node, ["ip", "neigh", "flush", "dev", host.iface])
        ping = ["ping", "-c1", "-W2", b.ip]
        before = neighbour(ctx, a, b.ip)
        with ctx.capture(points, "arp or icmp") as learn:
            lab.run_in(a.node, ping)
        learned = neighbour(ctx, b, a.ip)
        with ctx.capture(points, "arp or icmp") as hit:
            lab.run_in(a.node, ping)
        reachable = neigh_timer(ctx, a, "base_reachable_time_ms")
        delay = neigh_timer(ctx, a, "delay_first_probe_time")
        expired = wait_for_state(ctx, a, b.ip, "STALE", 1.5 * reachable + 1)
        with ctx.capture(points, "arp or icmp") as renewed:
            lab.run_in(a.node, ping)
            wait_for_state(ctx, a, b.ip, "REACHABLE", delay + 4)
        evidence = judge_arp_cache(learn[a.iface], learn[b.iface], hit[a.iface],
                                   renewed[a.iface], a, b, delay, ctx.errata)
        if before:
            raise ExpectationFailed(f"A's cache was not empty before the walk-through: {before!r}")
        if a.mac not in learned.lower():
            raise ExpectationFailed(f"B did not learn A's mapping from the request: ip neigh "
                                    f"shows {learned!r}")
        return f"{evidence} (STALE {expired:.1f} s after the 2nd ping; B: {learned})"


CHECKS = [ArpSameSubnet, CrossSubnet, ArpCache]
