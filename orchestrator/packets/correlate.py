"""The same packet seen at two capture points: across routers, across a NAT.

The texts' claims about forwarding are claims about pairs of captures:
"source and destination IP never change; TTL drops by one per router; the
frame arrives from gw2's MAC to xiaoli's", "outside the edge, the source is
the edge's public address and the sequence numbers are the same".  These
functions find, for each packet of interest at the first point, the same
packet at the second, check the rules, and return the pairs so that a report
can show them side by side.

How "the same packet" is recognised:

* across routers, by what a router does not touch: addresses, IP id,
  protocol and the whole IP payload (ports, TCP numbers, ICMP id and
  sequence, data);
* across a NAT, which rewrites addresses, ports and checksums, by the IP id
  and what stays: TCP sequence and acknowledgement numbers, flags, window and
  payload; UDP payload; ICMP type, code, sequence and payload.

When a packet has no counterpart, the failure shows the packets at the other
point that share its IP id, with what differs.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass

from . import kinds as K
from .captures import Packets
from .describe import describe
from .failure import LIMIT, ExpectationFailed, listing
from .fields import IPV4, MAC
from .match import Anything, as_matcher
from .packet import Packet
from .pause import pausing


@dataclass(frozen=True)
class Pair:
    """One packet at two points: ``before`` (or inside a NAT) and ``after``
    (or outside).  ``direction`` is ``"forward"`` across routers, and
    ``"outbound"`` or ``"inbound"`` across a NAT."""

    before: Packet
    after: Packet
    direction: str = "forward"

    def describe(self, t0: float | None = None) -> str:
        return (describe(self.before, t0, verbose=True, macs=True) + "\n"
                + describe(self.after, t0, verbose=True, macs=True))


def routed_identity(packet: Packet):
    """What routers leave unchanged: addresses, IP id, protocol, IP payload."""
    if not packet.kinds & K.IP:
        return None
    buf, l3 = packet._buf, packet._l3
    header = (buf[l3] & 0x0F) * 4
    return (bytes(buf[l3 + 12:l3 + 20]), bytes(buf[l3 + 4:l3 + 6]), buf[l3 + 9],
            bytes(buf[l3 + header:packet._end]))


def nat_identity(packet: Packet):
    """What a NAT leaves unchanged: IP id and protocol, and TCP numbers, flags,
    window and payload / UDP payload / ICMP type, code, sequence, payload."""
    k = packet.kinds
    if not k & K.IP:
        return None
    ip_id = packet.ip.id
    if k & K.TCP:
        t = packet.tcp
        return ip_id, 6, t.seq_raw, t.ack_raw, t.flags.value, t.window, t.payload
    if k & K.UDP:
        return ip_id, 17, packet.udp.payload
    if k & K.ICMP:
        c = packet.icmp
        return ip_id, 1, c.type, c.code, c.seq, c.payload
    buf = packet._buf
    return ip_id, packet.ip.proto, bytes(buf[packet._l3 + packet.ip.hdr_len:packet._end])


@pausing
def pair_up(first, second, what=None, identity=routed_identity
            ) -> tuple[list[tuple[Packet, Packet]], list[Packet]]:
    """Pairs (packet in ``first`` accepted by ``what``, the same packet in
    ``second``), in order, and the packets of ``first`` left without one.
    Identical packets pair first with first; packets ``identity`` cannot name
    (not IPv4) are left out."""
    what = as_matcher(what) if what is not None else Anything()
    waiting: dict = defaultdict(deque)
    for packet in second:
        key = identity(packet)
        if key is not None:
            waiting[key].append(packet)
    pairs, alone = [], []
    for packet in first:
        if not what(packet):
            continue
        key = identity(packet)
        if key is None:
            continue
        queue = waiting.get(key)
        if queue:
            pairs.append((packet, queue.popleft()))
        else:
            alone.append(packet)
    return pairs, alone


def _label(packets) -> str:
    points = packets.points if isinstance(packets, Packets) else \
        list(dict.fromkeys(p.point for p in packets))
    return ", ".join(points) or "(empty)"


def _same_id(packet: Packet, others) -> list[Packet]:
    ip_id, proto = packet.ip.id, packet.ip.proto
    return [o for o in others if o.kinds & K.IP and o.ip.id == ip_id and o.ip.proto == proto]


def _fail_unpaired(what, first, second, alone, selected, t0, rule):
    title = (f"{len(alone)} of {len(selected)} packets matching {what!r} at {_label(first)} "
             f"were not seen at {_label(second)} ({rule})")
    parts = [listing("not seen:", alone, t0, verbose=True, macs=True)]
    near = [o for p in alone[:5] for o in _same_id(p, second)]
    if near:
        parts.append(listing("packets there with the same IP id and protocol:", near, t0,
                             verbose=True, macs=True))
    raise ExpectationFailed(title, "\n".join(parts), alone + near)


def _fail_rules(what, first, second, broken, pairs, t0, rules):
    title = (f"{len(broken)} of {len(pairs)} pairs of packets matching {what!r} between "
             f"{_label(first)} and {_label(second)} break the rules ({rules})")
    lines = []
    width = max(len(p.point) for pair, _ in broken for p in (pair.before, pair.after))
    for pair, reasons in broken[:LIMIT // 2]:
        lines.append(f"  {'; '.join(reasons)}:")
        for packet in (pair.before, pair.after):
            lines.append("    " + describe(packet, t0, verbose=True, macs=True, point_width=width))
    if len(broken) > LIMIT // 2:
        lines.append(f"  ... {len(broken) - LIMIT // 2} more pairs")
    raise ExpectationFailed(title, "\n".join(lines),
                            [p for pair, _ in broken for p in (pair.before, pair.after)])


def _selected(packets, what) -> list[Packet]:
    return [p for p in packets if what(p) and p.kinds & K.IP]


def forwarded(before, after, what=None, *, hops: int | None = 1, gateway_mac: str | None = None,
              router_mac: str | None = None, next_hop_mac: str | None = None,
              every: bool = True, t0: float | None = None) -> list[Pair]:
    """Each IPv4 packet ``what`` accepts in ``before`` must be seen in ``after``
    with the same addresses, the TTL lower by ``hops`` (None: not checked),
    new Ethernet addresses (when ``hops``), and, when given, sent to
    ``gateway_mac`` at ``before``, from ``router_mac`` to ``next_hop_mac`` at
    ``after``.  With ``every=False`` one counterpart is enough.  Returns the
    pairs."""
    what = as_matcher(what) if what is not None else Anything()
    gateway_mac, router_mac, next_hop_mac = (MAC.normalize(m) if m else None for m in
                                             (gateway_mac, router_mac, next_hop_mac))
    t0 = t0 if t0 is not None else (before.start if isinstance(before, Packets) else 0.0)
    selected = _selected(before, what)
    if not selected:
        raise ExpectationFailed(f"no IPv4 packet matching {what!r} at {_label(before)} "
                                f"to follow to {_label(after)}")
    raw, alone = pair_up(selected, after, None, routed_identity)
    rule = "matched by addresses, IP id and payload"
    if (alone and every) or not raw:
        _fail_unpaired(what, before, after, alone, selected, t0, rule)
    pairs = [Pair(b, a) for b, a in raw]
    broken = []
    for pair in pairs:
        b, a = pair.before, pair.after
        reasons = []
        if hops is not None and a.ip.ttl != b.ip.ttl - hops:
            reasons.append(f"TTL {b.ip.ttl} -> {a.ip.ttl}, expected {b.ip.ttl - hops} "
                           f"({hops} router{'s' if hops != 1 else ''})")
        if b.eth and a.eth:
            if hops and a.eth.src == b.eth.src:
                reasons.append(f"source MAC {a.eth.src} not rewritten")
            if hops and a.eth.dst == b.eth.dst:
                reasons.append(f"destination MAC {a.eth.dst} not rewritten")
            if gateway_mac and b.eth.dst != gateway_mac:
                reasons.append(f"sent to {b.eth.dst}, not to the gateway {gateway_mac}")
            if router_mac and a.eth.src != router_mac:
                reasons.append(f"forwarded from {a.eth.src}, not from the router {router_mac}")
            if next_hop_mac and a.eth.dst != next_hop_mac:
                reasons.append(f"forwarded to {a.eth.dst}, not to the next hop {next_hop_mac}")
        if reasons:
            broken.append((pair, reasons))
    if broken:
        rules = f"TTL minus {hops}, MACs rewritten" if hops else "MACs as given"
        _fail_rules(what, before, after, broken, pairs, t0, rules)
    return pairs


def translated(inside, outside, what=None, *, address: str, hops: int | None = None,
               ports: str = "any", every: bool = True, t0: float | None = None) -> list[Pair]:
    """Each IPv4 packet ``what`` accepts in ``inside`` must be seen in
    ``outside`` translated to the public ``address``: going out, the source
    becomes ``address`` and the destination stays; coming back, the
    destination was ``address`` and the source stays.  TCP sequence and
    acknowledgement numbers and payload lengths are unchanged; the remote port
    is unchanged, the local one too when ``ports="same"`` (``"any"``: may be
    translated).  ``hops`` routers (the NAT included) lower the TTL, when
    given.  Returns the pairs, ``direction`` "outbound" or "inbound"."""
    if ports not in ("any", "same"):
        raise ValueError("ports is 'any' or 'same'")
    address = IPV4.normalize(address)
    what = as_matcher(what) if what is not None else Anything()
    t0 = t0 if t0 is not None else (inside.start if isinstance(inside, Packets) else 0.0)
    selected = _selected(inside, what)
    if not selected:
        raise ExpectationFailed(f"no IPv4 packet matching {what!r} at {_label(inside)} "
                                f"to follow through the NAT to {_label(outside)}")
    raw, alone = pair_up(selected, outside, None, nat_identity)
    rule = "matched by IP id, TCP seq/ack/flags and payload"
    if (alone and every) or not raw:
        _fail_unpaired(what, inside, outside, alone, selected, t0, rule)
    pairs, broken = [], []
    for i, o in raw:
        reasons = []
        ii, oi = i.ip, o.ip
        ports_of = (lambda p: (p.udp or p.tcp)) if i.kinds & (K.UDP | K.TCP) else None
        if oi.src == address and ii.src != address:
            direction = "outbound"
            if oi.dst != ii.dst:
                reasons.append(f"destination changed {ii.dst} -> {oi.dst}")
            if ports_of:
                if ports_of(o).dport != ports_of(i).dport:
                    reasons.append(f"remote port changed {ports_of(i).dport} -> "
                                   f"{ports_of(o).dport}")
                if ports == "same" and ports_of(o).sport != ports_of(i).sport:
                    reasons.append(f"source port translated {ports_of(i).sport} -> "
                                   f"{ports_of(o).sport}")
            if hops is not None and oi.ttl != ii.ttl - hops:
                reasons.append(f"TTL {ii.ttl} -> {oi.ttl}, expected {ii.ttl - hops}")
        elif oi.dst == address and ii.dst != address:
            direction = "inbound"
            if oi.src != ii.src:
                reasons.append(f"source changed {oi.src} -> {ii.src}")
            if ports_of:
                if ports_of(o).sport != ports_of(i).sport:
                    reasons.append(f"remote port changed {ports_of(o).sport} -> "
                                   f"{ports_of(i).sport}")
                if ports == "same" and ports_of(o).dport != ports_of(i).dport:
                    reasons.append(f"destination port translated {ports_of(o).dport} -> "
                                   f"{ports_of(i).dport}")
            if hops is not None and ii.ttl != oi.ttl - hops:
                reasons.append(f"TTL {oi.ttl} -> {ii.ttl}, expected {oi.ttl - hops}")
        else:
            direction = "untranslated"
            reasons.append(f"not translated to {address}: inside {ii.src} > {ii.dst}, "
                           f"outside {oi.src} > {oi.dst}")
        if i.kinds & K.TCP:
            if (i.tcp.seq_raw, i.tcp.ack_raw, i.tcp.len) != (o.tcp.seq_raw, o.tcp.ack_raw,
                                                             o.tcp.len):
                reasons.append("TCP sequence numbers or length changed")
        pair = Pair(i, o, direction)
        pairs.append(pair)
        if reasons:
            broken.append((pair, reasons))
    if broken:
        _fail_rules(what, inside, outside, broken, pairs, t0,
                    f"source NAT to {address}, sequence numbers kept")
    return pairs
