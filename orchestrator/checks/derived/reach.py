"""reach: every host reaches every other host, along the path the model predicts.

Mininet's ``pingall`` is the default expectation of any network: every end
host (a host that is not a router) pings every other one.  Here a ping
passes only when the packets prove the model's path: the echo request is
seen on every wire of the path :mod:`orchestrator.model.paths` predicts, leaving
each node from the sending interface's MAC to the next hop's MAC, with the
TTL one lower per router and the addresses unchanged (except where the
model declares source NAT: there the source becomes the NAT interface's
address), and the reply likewise along its own predicted path back.

A pair that fails says where, from the model and the packets: "echo
10.9.0.11 > 10.9.1.13 left pc1 on pc1-eth0, reached r1 on r1-eth0, not
forwarded: r1 has no route to 10.9.1.0/24".

Pairs the model makes one-way are not expected: when the path from the
destination back to the source crosses a source NAT, the destination sits
behind that NAT and the source cannot open anything towards it (the
emulated internet towards the enterprise's PCs).  The evidence names them.

Sampling rule (documented, deterministic, linear in hosts):
with at most ``SAMPLE_ABOVE`` (12) end hosts, every ordered pair.  Above
that, hosts are grouped by the broadcast domain of their first interface
(groups and members in model order); the host at position ``i`` of its
group pings the next host of its own group (position ``i + 1``, wrapping)
and, in every other group, the host at position ``i`` modulo that group's
size.  Every host is a source, every domain pair is crossed from every
host, and the number of pings is at most hosts x domains.

All pings run at once inside one capture on every interface of every
predicted path: each pair's pings carry their own payload pattern
(``ping -p``), which, with the addresses of each wire, tells the pairs
apart even across a NAT, where ICMP ids may be rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Mapping, Sequence

from ...capture.tcpdump import point_label
from ...model import Topology
from ...model.paths import Key, Leg, Network, Path
from ...packets import ExpectationFailed, Packet, Packets
from ...packets.failure import listing
from ..base import Check, CheckContext
from .common import at_once
from .facts import addressed, end_host_names, macs, network

SAMPLE_ABOVE = 12
PING_WAIT = 2                 # seconds ping waits for its reply
ECHO_REQUEST, ECHO_REPLY = 8, 0
SHOWN_FAILURES = 3            # pairs whose packets a failure lists in full
BPF = "icmp or arp"           # ARP: to say why a node did not send


# -- the plan: which pairs, and the wires each must cross ---------------------------

def select_pairs(net: Network, hosts: Sequence[str]) -> list[tuple[str, str]]:
    """The (source, destination) pairs to ping, by the sampling rule of the
    module docstring."""
    if len(hosts) <= SAMPLE_ABOVE:
        return [(a, b) for a in hosts for b in hosts if a != b]
    groups: dict[str, list[str]] = {}
    for host in hosts:
        first = net.topo.interfaces(host)[0]
        groups.setdefault(net.domain_of(host, first.name).name, []).append(host)
    pairs = []
    for name, members in groups.items():
        for index, host in enumerate(members):
            if len(members) > 1:
                pairs.append((host, members[(index + 1) % len(members)]))
            for other, others in groups.items():
                if other != name:
                    pairs.append((host, others[index % len(others)]))
    return pairs


@dataclass(frozen=True)
class Wire:
    """One wire of a predicted path as the captures see it: the packet
    leaves ``sender`` at capture point ``out`` from ``src_mac`` to
    ``dst_mac`` and arrives at ``receiver``'s point ``into``, with IP
    addresses ``src`` > ``dst`` and ``routers`` routers behind it;
    ``next_hop``: the address the sender asks ARP for."""

    sender: str
    out: str
    src_mac: str
    receiver: str
    into: str
    dst_mac: str
    src: str
    dst: str
    routers: int
    route: str
    next_hop: str = ""


@dataclass(frozen=True)
class Expected:
    """One pair as the model predicts it.  ``there``/``back``: the wires of
    the request and of the reply; ``there_stops``/``back_stops``: why the
    model says the packet goes no further than its last wire (None: it is
    delivered); ``one_way``: why the pair is not expected at all (it is
    not pinged); ``pattern``: the ping payload pattern (hex) of this pair."""

    source: str
    destination: str
    src: str
    dst: str
    there: tuple[Wire, ...]
    back: tuple[Wire, ...]
    there_stops: str | None = None
    back_stops: str | None = None
    one_way: str | None = None
    pattern: str = ""
    source_point: str = ""


def wires_of(path: Path | None, mac: Mapping[Key, str]) -> tuple[Wire, ...]:
    if path is None:
        return ()
    return tuple(_wire(leg, mac) for leg in path.legs)


def _wire(leg: Leg, mac: Mapping[Key, str]) -> Wire:
    return Wire(leg.sender, point_label(leg.sender, leg.out), mac[(leg.sender, leg.out)],
                leg.receiver, point_label(leg.receiver, leg.into), mac[(leg.receiver, leg.into)],
                str(leg.source), str(leg.destination), leg.routers, str(leg.route),
                str(leg.next_hop or leg.destination))


def first_address(net: Network, node: str) -> IPv4Address | None:
    for iface in net.topo.interfaces(node):
        address = net.address(node, iface.name)
        if address is not None:
            return address.ip
    return None


def plan_pairs(net: Network, pairs: Sequence[tuple[str, str]],
               mac: Mapping[Key, str]) -> list[Expected]:
    """What each pair must show, from the model: its paths there and back
    as wires, or why it is not expected."""
    planned = []
    for index, (a, b) in enumerate(pairs, start=1):
        pattern = f"{index:08x}"
        a_point = point_label(a, net.topo.interfaces(a)[0].name)
        target = first_address(net, b)
        if target is None:
            planned.append(Expected(a, b, "?", "?", (), (), f"{b} has no address (no lease)",
                                    pattern=pattern, source_point=a_point))
            continue
        there_src = net.source_address(a, target) or first_address(net, a)
        if there_src is None:
            planned.append(Expected(a, b, "?", str(target), (), (),
                                    net.path(a, target).failure, pattern=pattern,
                                    source_point=a_point))
            continue
        behind = net.nat_between(b, there_src)
        if behind:
            planned.append(Expected(a, b, str(there_src), str(target), (), (),
                                    one_way=f"{b} is behind {behind[0].node}'s NAT",
                                    pattern=pattern, source_point=a_point))
            continue
        trip = net.round_trip(a, target)
        planned.append(Expected(
            a, b, str(there_src), str(target), wires_of(trip.there, mac),
            wires_of(trip.back, mac), trip.there.failure,
            trip.back.failure if trip.back is not None else None,
            pattern=pattern, source_point=a_point))
    return planned


def capture_points(planned: Sequence[Expected], net: Network) -> list[Key]:
    """Both ends of every wire of every expected pair, every source's own
    interface (where a stuck packet is still seen leaving, or not), and
    every interface of every router on a path (where a packet that left by
    another way than the predicted one is seen)."""
    keys: dict[Key, None] = {}
    routers: dict[str, None] = {}
    for pair in planned:
        if pair.one_way:
            continue
        keys[(pair.source, net.topo.interfaces(pair.source)[0].name)] = None
        for wire in pair.there + pair.back:
            keys[(wire.sender, _iface(wire.sender, wire.out))] = None
            keys[(wire.receiver, _iface(wire.receiver, wire.into))] = None
            routers.update((n, None) for n in (wire.sender, wire.receiver)
                           if getattr(net.topo.find(n), "forwarding", False))
    for router in routers:
        for iface in net.topo.interfaces(router):
            keys[(router, iface.name)] = None
    return list(keys)


def points_by_node(points: Sequence[Key]) -> dict[str, list[str]]:
    """node -> the labels of its capture points."""
    found: dict[str, list[str]] = {}
    for node, iface in points:
        found.setdefault(node, []).append(point_label(node, iface))
    return found


def _iface(node: str, point: str) -> str:
    return point.split(":", 1)[1] if point.startswith(f"{node}:") else point


# -- the judge ----------------------------------------------------------------------

class _Index:
    """ICMP echo packets per capture point, by payload: each pair's packets
    are found without scanning every point's capture once per pair.  And
    what a failure needs to say more: who owns a MAC, and whether a node's
    ARP requests for a next hop were answered."""

    def __init__(self, wires: Mapping[str, Packets], pairs: Sequence["Expected"] = (),
                 nodes: Mapping[str, Sequence[str]] | None = None):
        self.wires = wires
        self.nodes = nodes or {}
        self._by_point: dict[str, dict[bytes, list[Packet]]] = {}
        self.owners = {mac: point for pair in pairs for w in pair.there + pair.back
                       for mac, point in ((w.src_mac, w.out), (w.dst_mac, w.into))}

    def mac(self, mac: str) -> str:
        """``02:..:ff (core-eth1)`` when the MAC is one of a wire's ends."""
        owner = self.owners.get(mac)
        return f"{mac} ({owner})" if owner else mac

    def unanswered(self, point: str, wire: "Wire") -> str:
        """", its ARP requests for 10.9.1.13 went unanswered" when the
        captures at ``point`` show the sender asking for the next hop and
        no reply."""
        asked = answered = 0
        for packet in self.wires.get(point, ()):
            arp = packet.arp
            if arp is None:
                continue
            if arp.op == "request" and arp.sender_mac == wire.src_mac \
                    and arp.target_ip == wire.next_hop:
                asked += 1
            elif arp.op == "reply" and arp.sender_ip == wire.next_hop \
                    and arp.target_mac == wire.src_mac:
                answered += 1
        if asked and not answered:
            return (f": its {asked} ARP request{'s' if asked != 1 else ''} for {wire.next_hop} "
                    f"went unanswered")
        return ""

    def elsewhere(self, node: str, skip: Sequence[str], kind: int, payload: bytes) -> str:
        """"; it left on r1-eth2 instead": where else ``node`` sent the
        packet (its other capture points), when the prediction said
        otherwise."""
        for point in self.nodes.get(node, ()):
            if point in skip:
                continue
            for packet in self.at(point).get(payload, []):
                if packet.icmp.type == kind and self.owners.get(packet.eth.dst) != point:
                    return (f"; it left on {point} instead, to {self.mac(packet.eth.dst)} "
                            f"TTL {packet.ip.ttl}")
        return ""

    def at(self, point: str) -> dict[bytes, list[Packet]]:
        found = self._by_point.get(point)
        if found is None:
            found = {}
            for packet in self.wires.get(point, ()):
                icmp = packet.icmp
                if icmp is not None and icmp.type in (ECHO_REQUEST, ECHO_REPLY):
                    found.setdefault(bytes(icmp.payload), []).append(packet)
            self._by_point[point] = found
        return found

    def echoes(self, point: str, kind: int) -> list[Packet]:
        return [p for group in self.at(point).values() for p in group if p.icmp.type == kind]


class PairFailed(Exception):
    """One pair's failure: a headline and the packets that show it."""

    def __init__(self, headline: str, detail: str = ""):
        super().__init__(headline)
        self.headline = headline
        self.detail = detail


def _on_wire(candidates: list[Packet], kind: int, wire: Wire) -> list[Packet]:
    return [p for p in candidates if p.icmp.type == kind and p.ip.src == wire.src
            and p.ip.dst == wire.dst]


def _frame_problems(packet: Packet, wire: Wire, ttl: int, index: "_Index | None" = None
                    ) -> list[str]:
    name = index.mac if index is not None else str
    problems = []
    if packet.eth.src != wire.src_mac:
        problems.append(f"from {name(packet.eth.src)}, not {wire.out}'s {wire.src_mac}")
    if packet.eth.dst != wire.dst_mac:
        problems.append(f"to {name(packet.eth.dst)}, not {wire.into}'s {wire.dst_mac}")
    if packet.ip.ttl != ttl:
        problems.append(f"TTL {packet.ip.ttl}, not {ttl} ({wire.routers} router"
                        f"{'s' if wire.routers != 1 else ''} behind)")
    return problems


ICMP_ERRORS = {(3, 0): "net unreachable", (3, 1): "host unreachable",
               (3, 3): "port unreachable", (3, 13): "administratively prohibited",
               (11, 0): "time exceeded in transit"}


def _said(wires: Mapping[str, Packets], point: str | None, origin: Wire | None) -> str:
    """What a router answered at ``point`` about the packet ``origin``
    started (an ICMP error quoting its addresses), in words: " (10.9.0.1
    answered ICMP net unreachable)"."""
    if point is None or origin is None:
        return ""
    quoted = IPv4Address(origin.src).packed + IPv4Address(origin.dst).packed
    for packet in wires.get(point, ()):
        icmp = packet.icmp
        if icmp is None or icmp.type not in (3, 11) or packet.ip.dst != origin.src:
            continue
        inner = bytes(icmp.payload)
        if inner[12:20] == quoted:
            name = ICMP_ERRORS.get((icmp.type, icmp.code), f"type {icmp.type} code {icmp.code}")
            return f" ({packet.ip.src} answered ICMP {name})"
    return ""


def _follow(index: _Index, wires: Mapping[str, Packets], what: str, kind: int,
            path: tuple[Wire, ...], stops: str | None, payload: bytes, t0: float) -> int:
    """Follow one echo (request or reply, ``payload``) along ``path``, wire
    by wire, at both ends of each; raise PairFailed where it stops, with
    what the model says and any ICMP error the last node sent.  Returns the
    number of routers crossed."""
    progress: list[str] = []
    last: str | None = None          # the last point the packet was seen at
    ttl0 = None
    origin = path[0] if path else None
    for number, wire in enumerate(path):
        for point, node, verb in ((wire.out, wire.sender, "left"),
                                  (wire.into, wire.receiver, "reached")):
            here = index.at(point).get(payload, [])
            seen = _on_wire(here, kind, wire)
            if not seen:
                so_far = ", ".join(progress) or "was not seen"
                if verb == "left" and number == 0:
                    why = f"{node} did not send it on {point}{index.unanswered(point, wire)}"
                elif verb == "left":
                    why = (f"not forwarded: {node} did not send it on {point} (route "
                           f"{wire.route}){index.unanswered(point, wire)}"
                           f"{index.elsewhere(node, (point, last), kind, payload)}")
                else:
                    why = (f"lost between {wire.out} and {wire.into}: it left {wire.sender} but "
                           f"{wire.receiver} did not receive it")
                detail = listing(f"at {point}, with the same payload:", here, t0, verbose=True,
                                 macs=True) if here else f"  (nothing with its payload at {point})"
                raise PairFailed(f"{what} {so_far}, {why}{_said(wires, last, origin)}", detail)
            # A router that sends a packet back out of the interface it came in
            # by (a hairpin) shows both frames at one point: take the one that
            # fits this wire, else report the first.
            ttl = (ttl0 if ttl0 is not None else seen[0].ip.ttl) - wire.routers
            packet = next((p for p in seen if not _frame_problems(p, wire, ttl)), seen[0])
            if ttl0 is None:
                ttl0 = packet.ip.ttl
            problems = _frame_problems(packet, wire, ttl0 - wire.routers, index)
            if problems:
                where = ", ".join(progress + [f"{verb} {node} on {point}"])
                raise PairFailed(f"{what} {where} but {'; '.join(problems)}",
                                 listing("the frame:", [packet], t0, verbose=True, macs=True))
            if verb == "left" and not progress:
                progress.append(f"left {node} on {point}")
            elif verb == "reached":
                progress.append(f"reached {node} on {point}")
            last = point
    if stops is not None:
        stuck = path[-1].receiver if path else ""
        raise PairFailed(f"{what} {', '.join(progress) or 'was not sent'}, not forwarded: "
                         f"{stops}{_said(wires, last, origin)}"
                         f"{index.elsewhere(stuck, (last,), kind, payload)}")
    return path[-1].routers if path else 0


def judge_pair(index: _Index, wires: Mapping[str, Packets], pair: Expected, t0: float) -> int:
    """One pair: the request along its wires, then its reply back.  Returns
    the routers crossed there and back; raises PairFailed."""
    known = "?" not in (pair.src, pair.dst)
    what = f"echo {pair.src} > {pair.dst}" if known else \
        f"echo {pair.source} > {pair.destination}"
    pattern = bytes.fromhex(pair.pattern)
    first = pair.there[0] if pair.there else None
    sent_at = first.out if first else pair.source_point
    sent = [p for p in index.echoes(sent_at, ECHO_REQUEST)
            if p.ip.src == pair.src and p.ip.dst == pair.dst and pattern in bytes(p.icmp.payload)]
    if not sent:
        if pair.there_stops is not None and not pair.there:
            raise PairFailed(f"{what} not sent: {pair.there_stops}")
        mine = [p for p in index.echoes(sent_at, ECHO_REQUEST) if p.ip.src == pair.src]
        why = index.unanswered(sent_at, first) if first else ""
        raise PairFailed(f"{what}: {pair.source} sent no echo request for it on {sent_at}{why}",
                         listing(f"echo requests from {pair.src} at {sent_at}:", mine, t0)
                         if mine else "")
    payload = bytes(sent[0].icmp.payload)
    crossed = _follow(index, wires, what, ECHO_REQUEST, pair.there, pair.there_stops, payload,
                      t0)
    back_what = f"reply {pair.dst} > {pair.there[-1].src}"
    crossed += _follow(index, wires, back_what, ECHO_REPLY, pair.back, pair.back_stops, payload,
                       t0)
    return crossed


def judge_reach(wires: Mapping[str, Packets], pairs: Sequence[Expected], rule: str = "",
                nodes: Mapping[str, Sequence[str]] | None = None) -> str:
    """``wires``: capture point -> packets, for every point of every
    expected pair's paths, during the pings of ``pairs``.  Every pair not
    ``one_way`` must go and come back hop by hop as predicted.  ``nodes``
    (node -> its capture points) lets a failure say where a router sent a
    packet instead of the predicted way."""
    index = _Index(wires, pairs, nodes)
    t0 = min((w.start for w in wires.values() if len(w)), default=0.0)
    tested = [p for p in pairs if not p.one_way]
    failures: list[PairFailed] = []
    routers = 0
    for pair in tested:
        try:
            routers += judge_pair(index, wires, pair, t0)
        except PairFailed as failed:
            failures.append(failed)
    one_way = [p for p in pairs if p.one_way]
    not_expected = ""
    if one_way:
        shown = "; ".join(f"{p.source} > {p.destination} ({p.one_way})" for p in one_way[:3])
        more = f" and {len(one_way) - 3} more" if len(one_way) > 3 else ""
        not_expected = f"; not expected (one-way by NAT): {shown}{more}"
    if failures:
        lines = [f"  {f.headline}" for f in failures]
        details = [f"{f.headline}\n{f.detail}" for f in failures[:SHOWN_FAILURES] if f.detail]
        raise ExpectationFailed(
            f"{len(failures)} of {len(tested)} pairs did not reach: {failures[0].headline}",
            "\n".join(["pairs that failed:", *lines, *details]) + not_expected)
    return (f"{len(tested)} pairs{rule}: each echo and reply seen on every wire of its "
            f"predicted path, {routers} router crossings with TTL -1 and MACs rewritten"
            f"{not_expected}")


# -- the check ------------------------------------------------------------------------

def ping_all(ctx: CheckContext, planned: Sequence[Expected]) -> None:
    """Every expected pair's ping at once, each source's in one shell."""
    by_source: dict[str, list[str]] = {}
    for pair in planned:
        if not pair.one_way and pair.dst != "?":
            by_source.setdefault(pair.source, []).append(
                f"ping -n -q -c1 -W{PING_WAIT} -p {pair.pattern} {pair.dst}")
    at_once(ctx, by_source, PING_WAIT + 30)


class Reach(Check):
    """Every end host pings every other (sampled above 12 hosts); each echo
    and reply must cross the path the model's routes predict, hop by hop."""

    name = "reach"
    summary = "pingall along the model's paths: TTL -1 and MACs rewritten per router, replies too"

    def applies_to(self, topo: Topology) -> bool:
        return len(end_host_names(topo)) >= 2

    def why_not(self, topo: Topology) -> str:
        return "it needs at least two end hosts (hosts that are not routers)"

    def run(self, ctx: CheckContext) -> str:
        net = network(ctx.lab)
        hosts, bare = addressed(net, end_host_names(ctx.lab.topo))
        pairs = select_pairs(net, hosts)
        keys = {(n, i.name) for n in net.tables for i in net.topo.interfaces(n)}
        planned = plan_pairs(net, pairs, macs(ctx.lab, keys))
        rule = "" if len(hosts) <= SAMPLE_ABOVE else \
            f" (sampled: {len(hosts)} hosts > {SAMPLE_ABOVE}, own domain + one per other domain)"
        points = capture_points(planned, net)
        with ctx.capture(points, BPF) as captured:
            ping_all(ctx, planned)
        evidence = judge_reach(captured.by_point, planned, rule, points_by_node(points))
        return evidence + (f"; not taking part, holding no address: {', '.join(bare)}"
                           if bare else "")


CHECKS = [Reach]
