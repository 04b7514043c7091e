"""TCP connection management: the checks tcp-states and tcp-faults.

Both script one TCP client (xiaoming) and one TCP server (xiaomei, same
VLAN) with small Python processes inside the two nodes (:class:`Puppet`,
driven line by line from here), capture both wires, and judge from the
segments.  The states ``ss`` shows are the supplemental observation that
FLOWS.md asks for: each is paired with the segment that caused it.

Transient states last microseconds on a LAN; to see them, a segment must be
late.  There is no netem here, so the lateness is made with the firewall of
the node that sends it: an iptables rule hands the segment to NFQUEUE, the
puppet of that node holds it (it reads the queue over netlink, no library)
and lets it go after ``ss`` has looked.  A held segment is a delayed one, not
a lost one: the capture shows it leaving late, with nothing retransmitted.
Losses (tcp-faults) are plain DROP rules.  Every rule is removed again in a
``finally``, and every held segment released.  While tcp-states holds
segments, a host route between the two ends raises their minimum
retransmission timeout to 1 s, so that no timer fires during a hold, even on
a loaded machine.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.base import python_module

from ..errors import LabError
from ..lab import Lab
from ..packets import (
    CLIENT_TO_SERVER,
    SERVER_TO_CLIENT,
    Conversation,
    ExpectationFailed,
    Packet,
    Packets,
    Segment,
    conversation,
    expect,
    tcp,
)
from ..packets.failure import listing
from .base import Check, CheckContext, Demonstrated, Station, record_erratum, station
from .footprint import Footprint
from .tcpends import (
    DROP,
    HOLD,
    PURE_ACK,
    QUEUE,
    Firewall,
    Puppet,
    Seen,
    StateWatch,
    firewall,
    outgoing,
    patient_retransmissions,
    puppets,
)

CLIENT, SERVER = "xiaoming", "xiaomei"
C2S, S2C = CLIENT_TO_SERVER, SERVER_TO_CLIENT


# ---------------------------------------------------------------- segments by role

def roles(conv: Conversation) -> dict[str, Segment]:
    """The segments of a connection that move its ends from state to state,
    by name: SYN, SYN-ACK, handshake ACK, client FIN, server FIN, ACK of
    client FIN, ACK of server FIN (the first of each)."""
    found: dict[str, Segment] = {}

    def first(name, test):
        for segment in conv:
            if test(segment):
                found[name] = segment
                return

    first("SYN", lambda s: s.direction == C2S and s.flags == "S")
    first("SYN-ACK", lambda s: s.direction == S2C and s.flags == "SA")
    first("handshake ACK", lambda s: s.direction == C2S and s.flags == "A"
          and s.ack == 1 and s.seq == 1)
    first("client FIN", lambda s: s.direction == C2S and "F" in s.flags)
    first("server FIN", lambda s: s.direction == S2C and "F" in s.flags)
    for fin, acker in (("client FIN", S2C), ("server FIN", C2S)):
        if fin in found:
            end = found[fin].seq + found[fin].len + 1
            first(f"ACK of {fin}", lambda s, end=end, acker=acker:
                  s.direction == acker and s.ack is not None and s.ack >= end)
    return found


def connections(wire: Packets, client_ip: str, server_ip: str, port: int,
                count: int) -> list[Packet]:
    """The first SYN of each connection from the client to ``server_ip:port``;
    there must be ``count`` of them."""
    syns: dict[tuple[int, int], Packet] = {}
    for p in wire:
        if p.tcp and p.tcp.flags == "S" and p.ip.src == client_ip and p.ip.dst == server_ip \
                and p.tcp.dport == port:
            syns.setdefault((p.tcp.sport, p.tcp.seq_raw), p)    # a repeated SYN: the same
    if len(syns) != count:
        segments = [p for p in wire if p.tcp]
        raise ExpectationFailed(
            f"expected {count} connections from {client_ip} to {server_ip}:{port} at "
            f"{', '.join(wire.points) or 'the capture'}, found {len(syns)} SYNs",
            listing("TCP segments:", segments, wire.start), segments)
    return list(syns.values())


def _prefixed(failure: ExpectationFailed, what: str) -> ExpectationFailed:
    """The same failure, saying first which connection or scenario it is."""
    return ExpectationFailed(f"{what}: {failure.expectation}", failure.detail, failure.packets)


# ---------------------------------------------------------------- tcp-states

STATES_PORT = 5001

ROWS_CLOSE = [                       # open, then the four-way close (002, 004)
    (C2S, "S", 0, None, 0),
    (S2C, "SA", 0, 1, 0),
    (C2S, "A", 1, 1, 0),
    (C2S, "FA", 1, 1, 0),
    (S2C, "A", 1, 2, 0),
    (S2C, "FA", 1, 2, 0),
    (C2S, "A", 2, 2, 0),
]
ROWS_SIMULTANEOUS = [                # both FINs cross: neither acknowledges the other
    (C2S, "S", 0, None, 0),
    (S2C, "SA", 0, 1, 0),
    (C2S, "A", 1, 1, 0),
    (S2C, "FA", 1, 1, 0),
    (C2S, "FA", 1, 1, 0),
]
ACKS_OF_FINS = {C2S: (C2S, "A", 2, 2, 0), S2C: (S2C, "A", 2, 2, 0)}

# (connection, end, state, the segment that brings it, the segment that ends it):
# the state must be seen by ss after the first and before the second, both as
# captured on that end's own wire.
STATE_STEPS = (
    (1, "server", "LISTEN", None, "SYN"),
    (1, "client", "CLOSED", None, "SYN"),
    (1, "client", "SYN_SENT", "SYN", "SYN-ACK"),
    (1, "server", "SYN_RECV", "SYN", "handshake ACK"),
    (1, "client", "ESTABLISHED", "SYN-ACK", "client FIN"),
    (1, "server", "ESTABLISHED", "handshake ACK", "client FIN"),
    (1, "client", "FIN_WAIT_1", "client FIN", "ACK of client FIN"),
    (1, "server", "CLOSE_WAIT", "client FIN", "server FIN"),
    (1, "client", "FIN_WAIT_2", "ACK of client FIN", "server FIN"),
    (1, "server", "LAST_ACK", "server FIN", "ACK of server FIN"),
    (1, "client", "TIME_WAIT", "server FIN", None),
    (1, "server", "CLOSED", "ACK of server FIN", None),
    (2, "client", "CLOSING", "server FIN", "ACK of client FIN"),
    (2, "server", "FIN_WAIT_1", "server FIN", "client FIN"),
    (2, "server", "CLOSING", "client FIN", "ACK of server FIN"),
    (2, "client", "TIME_WAIT", "ACK of client FIN", None),
    (2, "server", "TIME_WAIT", "ACK of server FIN", None),
)


@dataclass(frozen=True)
class Pairing:
    """A state seen on one end, with the segments around it on that end's wire."""

    connection: int
    end: str
    seen: Seen
    cause: Segment | None
    until: Segment | None

    def line(self, t0: float) -> str:
        def at(segment, name):
            if segment is None:
                return "-"
            return f"{name} at {segment.packet.time - t0:.6f} ({segment.packet.point})"
        step = next(s for s in STATE_STEPS if s[:3] == (self.connection, self.end,
                                                         self.seen.state))
        return (f"{self.connection}  {self.end:<6} {self.seen.state:<12} "
                f"ss {self.seen.t0 - t0:.6f}..{self.seen.t1 - t0:.6f}   "
                f"after {at(self.cause, step[3] or 'nothing')}   "
                f"before {at(self.until, step[4] or 'nothing')}   [{self.seen.shown}]")


def expect_simultaneous(conv: Conversation) -> list[Segment]:
    """The rows of a simultaneous close: the two ACKs of the FINs may come in
    either order."""
    rows = list(ROWS_SIMULTANEOUS)
    sixth = conv[5].direction if len(conv) > 5 else C2S
    rows += [ACKS_OF_FINS[sixth], ACKS_OF_FINS[S2C if sixth == C2S else C2S]]
    return conv.expect(rows)


def pair_states(convs: dict[tuple[int, str], Conversation], seen: list[Seen]) -> list[Pairing]:
    """Each step of STATE_STEPS with the first time ss showed it and the
    segments around it; raises if a state was never seen, or seen outside
    the window its segments give it."""
    pairs = []
    for connection, end, state, cause_role, until_role in STATE_STEPS:
        conv = convs[(connection, end)]
        found = roles(conv)
        shown = [s for s in seen if (s.connection, s.end) == (connection, end)]
        matching = [s for s in shown if s.state == state]
        if not matching:
            others = "; ".join(f"{s.state} [{s.shown}]" for s in shown) or "nothing"
            raise ExpectationFailed(
                f"connection {connection}: {state} was never seen on the {end}; ss showed "
                f"{others}", conv.table(), [s.packet for s in conv])
        observed = matching[0]
        cause, until = (found.get(role) if role else None for role in (cause_role, until_role))
        for role, segment in ((cause_role, cause), (until_role, until)):
            if role and segment is None:
                raise ExpectationFailed(f"connection {connection}: no {role} on the {end}'s "
                                        f"wire, to pair with {state}", conv.table(),
                                        [s.packet for s in conv])
        t0 = conv.t0
        if cause is not None and cause.packet.time > observed.t1:
            raise ExpectationFailed(
                f"connection {connection}: {state} was seen on the {end} at "
                f"{observed.t1 - t0:.6f}, before its cause, the {cause_role} at "
                f"{cause.packet.time - t0:.6f}", conv.table(), [cause.packet])
        if until is not None and until.packet.time < observed.t0:
            raise ExpectationFailed(
                f"connection {connection}: {state} was seen on the {end} at "
                f"{observed.t0 - t0:.6f}, after the {until_role} that ends it "
                f"({until.packet.time - t0:.6f}): the segment was not held back",
                conv.table(), [until.packet])
        pairs.append(Pairing(connection, end, observed, cause, until))
    return pairs


def closing_together(client: Conversation, server: Conversation) -> float:
    """How long both ends were in CLOSING at once, from the segments: the
    client from the server's FIN reaching it to the ACK of its own FIN, the
    server likewise."""
    c, s = roles(client), roles(server)
    start = max(c["server FIN"].packet.time, s["client FIN"].packet.time)
    end = min(c["ACK of client FIN"].packet.time, s["ACK of server FIN"].packet.time)
    return end - start


def judge_tcp_states(client_wire: Packets, server_wire: Packets, seen: list[Seen],
                     client_ip: str, server_ip: str, port: int = STATES_PORT
                     ) -> tuple[str, list[Pairing]]:
    """Two connections on each wire: one opened and closed the texts' way
    (seven segments), one closed by both ends at once (the FINs cross).
    Every state of STATE_STEPS must have been seen between the segments that
    bring and end it.  Returns the evidence and the pairings."""
    convs: dict[tuple[int, str], Conversation] = {}
    for end, wire in (("client", client_wire), ("server", server_wire)):
        first, second = connections(wire, client_ip, server_ip, port, 2)
        for number, syn, check in ((1, first, lambda c: c.expect(ROWS_CLOSE)),
                                   (2, second, expect_simultaneous)):
            conv = conversation(wire, syn=syn)
            try:
                check(conv)
            except ExpectationFailed as failure:
                raise _prefixed(failure, f"connection {number} on the {end}'s wire") from None
            convs[(number, end)] = conv
    pairs = pair_states(convs, seen)
    together = closing_together(convs[(2, "client")], convs[(2, "server")])
    if together <= 0:
        raise ExpectationFailed("connection 2: the ends were never in CLOSING at the same time "
                                "by the segments", convs[(2, "client")].table())

    def path(end):
        return "→".join(p.seen.state for p in pairs if (p.connection, p.end) == (1, end))
    return (f"client {path('client')}, server {path('server')}, each seen by ss between the "
            f"segment that brings it and the next; simultaneous close: the FINs crossed "
            f"(each acks 1, not the other's FIN), both ends CLOSING for "
            f"{together * 1000:.0f} ms, then both TIME_WAIT", pairs)


def open_and_close(client: Puppet, server: Puppet, rules: Firewall, watch: StateWatch,
                   c: Station, s: Station, port: int) -> None:
    """Connection 1: each segment that ends a transient state is held by the
    firewall of the end that sends it until ss has seen the state."""
    syn_ack = outgoing(sport=port, flags=("--tcp-flags", "SYN,ACK", "SYN,ACK"))
    server("listen", sock="listener", addr=s.ip, port=port)
    watch.see(1, "server", "LISTEN")
    watch.see(1, "client", "CLOSED")
    with rules.rule(s.node, *syn_ack, *HOLD):
        cport = client("connect", sock="c1", addr=s.ip, port=port)["port"]
        server("held")
        watch.see(1, "client", "SYN_SENT", cport)
        watch.see(1, "server", "SYN_RECV", cport)
    server("release")
    client("connected", sock="c1")
    watch.see(1, "client", "ESTABLISHED", cport)
    watch.see(1, "server", "ESTABLISHED", cport)
    server("accept", sock="s1", listener="listener")
    with rules.rule(s.node, *outgoing(sport=port, flags=PURE_ACK), *HOLD):
        client("shutdown", sock="c1")
        server("held")
        watch.see(1, "client", "FIN_WAIT_1", cport)
        watch.see(1, "server", "CLOSE_WAIT", cport)
    server("release")
    watch.see(1, "client", "FIN_WAIT_2", cport)
    with rules.rule(c.node, *outgoing(dport=port, flags=PURE_ACK), *HOLD):
        server("close", sock="s1")
        client("held")
        watch.see(1, "server", "LAST_ACK", cport)
        watch.see(1, "client", "TIME_WAIT", cport)
    client("release")
    watch.see(1, "server", "CLOSED", cport)


def close_together(client: Puppet, server: Puppet, rules: Firewall, watch: StateWatch,
                   c: Station, s: Station, port: int) -> None:
    """Connection 2: the client's FIN is held until the server's FIN has
    reached the client, then let go: both FINs cross, each end receives a
    FIN that does not acknowledge its own, and both are in CLOSING; the ACKs
    are held until ss has seen it."""
    cport = client("connect", sock="c2", addr=s.ip, port=port)["port"]
    client("connected", sock="c2")
    server("accept", sock="s2", listener="listener")
    with rules.rule(c.node, *outgoing(sport=cport), *HOLD):
        client("shutdown", sock="c2")
        client("held")
        with rules.rule(s.node, *outgoing(dport=cport, flags=("--tcp-flags", "FIN", "NONE")),
                        *HOLD):
            server("shutdown", sock="s2")
            watch.see(2, "client", "CLOSING", cport)
            watch.see(2, "server", "FIN_WAIT_1", cport)
            with rules.rule(s.node, *outgoing(dport=cport), *HOLD):
                client("release", count=1)
                server("held")
                watch.see(2, "server", "CLOSING", cport)
                watch.see(2, "client", "CLOSING", cport)
    client("release")
    server("release")
    watch.see(2, "client", "TIME_WAIT", cport)
    watch.see(2, "server", "TIME_WAIT", cport)


class TcpStates(Check):
    """The state machine of 002/004 on both ends of a scripted connection,
    each state seen by ss between the segments that bring and end it, and
    CLOSING on both ends of a simultaneous close."""

    name = "tcp-states"
    summary = "LISTEN ... TIME_WAIT and CLOSING seen by ss, each paired with its segments"
    topologies = ("enterprise",)

    def footprint(self, lab: Lab) -> Footprint:
        # its host routes (rto_min) change how the two ends retransmit to each other
        return Footprint.of(changes={CLIENT, SERVER}, hears={f"tcp/{STATES_PORT}"},
                            makes={f"tcp/{STATES_PORT}"})

    def run(self, ctx: CheckContext) -> str:
        lab = ctx.lab
        c, s = station(ctx, CLIENT), station(ctx, SERVER)
        watch = StateWatch(lab, {"client": c, "server": s}, STATES_PORT)
        points = [(c.node, c.iface), (s.node, s.iface)]
        with patient_retransmissions(lab, c, s), \
                ctx.capture(points, f"tcp port {STATES_PORT}") as wire, \
                puppets(lab, c.node, s.node) as (client, server), firewall(lab) as rules:
            for puppet in (client, server):
                puppet("hold", queue=QUEUE)
            open_and_close(client, server, rules, watch, c, s, STATES_PORT)
            close_together(client, server, rules, watch, c, s, STATES_PORT)
        evidence, pairs = judge_tcp_states(wire[c.iface], wire[s.iface], watch.seen, c.ip, s.ip)
        t0 = wire.all.start
        (ctx.pcap_dir / "states.txt").write_text(
            "conn end    state        when ss saw it (s)      the segments around it\n"
            + "\n".join(p.line(t0) for p in pairs) + "\n")
        return evidence


# ---------------------------------------------------------------- tcp-faults

FAULT_PORTS = LOST_ACK_PORT, REFUSED_PORT, HALF_CLOSE_PORT, KEEPALIVE_PORT, OLD_SYN_PORT = \
    5101, 5102, 5103, 5104, 5105
STALE_PORT, STALE_SEQ = 30105, 4096     # the old duplicate SYN's (below the ephemeral range)
SYNACK_WATCH = 3.4          # seconds the third ACK is lost: SYN-ACK repeated at 1 s and 3 s
KEEPALIVE = {"idle": 1, "interval": 1, "count": 2}
SYSCTLS = ("net.ipv4.tcp_synack_retries", "net.ipv4.tcp_keepalive_time",
           "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes")
REQUEST = "hello, server\n"
AFTER_FIN = ["still here, ", "after your FIN\n"]


def _scenario(name: str, judge, *args) -> str:
    """Run one sub-judge, naming the scenario in its failure."""
    try:
        return judge(*args)
    except ExpectationFailed as failure:
        raise _prefixed(failure, name) from None


def judge_old_syn(server_wire: Packets, client_ip: str, server_ip: str, port: int = OLD_SYN_PORT,
                  stale_port: int = STALE_PORT, stale_seq: int = STALE_SEQ) -> str:
    """001: an old duplicate SYN reaches the server, which answers it; the
    client, which has no such connection, resets it; nothing follows (the
    server dropped its half-open connection: no SYN-ACK is repeated)."""
    _syn, syn_ack, reset = expect(server_wire).sequence(
        [tcp(flags="S", src=client_ip, sport=stale_port, dst=server_ip, dport=port,
             seq_raw=stale_seq),
         tcp(flags="SA", src=server_ip, dport=stale_port, ack_raw=stale_seq + 1),
         tcp(flags="R", src=client_ip, sport=stale_port, seq_raw=stale_seq + 1)],
        kind=tcp(port=stale_port), only=True)
    return (f"old duplicate SYN from port {stale_port} (seq {stale_seq}): the server answered "
            f"SYN-ACK ack {syn_ack.tcp.ack_raw}, the client reset it (RST seq "
            f"{reset.tcp.seq_raw}) and the server never repeated it")


def judge_refused(client_wire: Packets, server_ip: str, port: int = REFUSED_PORT) -> str:
    """A connect to a port nobody listens on is answered by RST,ACK acking x+1."""
    expect(client_wire).sequence(
        [tcp(flags="S", dst=server_ip, dport=port),
         tcp(flags="RA", src=server_ip, sport=port, seq_raw=0, ack=1)],
        kind=tcp(port=port), only=True)
    return f"SYN to closed port {port} answered by RST,ACK seq 0 ack x+1"


def judge_half_close(client_wire: Packets, server_ip: str, port: int = HALF_CLOSE_PORT) -> str:
    """After the client's FIN the server keeps sending; the client (in
    FIN_WAIT_2) still acknowledges what it receives; then the server's FIN."""
    conv = conversation(client_wire, server=(server_ip, port))
    found = roles(conv)
    cfin, sfin = found.get("client FIN"), found.get("server FIN")
    if cfin is None or sfin is None:
        raise ExpectationFailed("expected a FIN from both ends", conv.table(),
                                [s.packet for s in conv])
    after = [s for s in conv if s.direction == S2C and s.len > 0 and s.number > cfin.number]
    if not after:
        raise ExpectationFailed("the server sent no data after the client's FIN: no half-close",
                                conv.table(), [s.packet for s in conv])
    end = max(s.seq + s.len for s in after)
    acked = [s for s in conv if s.direction == C2S and s.number > after[0].number
             and s.ack is not None and s.ack >= end]
    if not acked:
        raise ExpectationFailed(f"the client never acknowledged the server's data after its "
                                f"FIN (up to {end})", conv.table(), [s.packet for s in conv])
    if sfin.number < after[-1].number:
        raise ExpectationFailed("the server's FIN came before its last data", conv.table(),
                                [s.packet for s in conv])
    sent = sum(s.len for s in after)
    return (f"half-close: after the client's FIN (seq {cfin.seq}) the server sent {sent} bytes "
            f"in {len(after)} segment(s), acknowledged by the client (ack {acked[0].ack}), "
            f"then its own FIN")


def _gaps(segments: list[Segment]) -> list[float]:
    return [b.packet.time - a.packet.time for a, b in zip(segments, segments[1:])]


def judge_lost_ack(server_wire: Packets, server_ip: str, sysctls: dict[str, str],
                   errata: list[Demonstrated], port: int = LOST_ACK_PORT) -> str:
    """001: the third ACK is lost; the server repeats its SYN-ACK (after 1 s,
    then 2 s more: Linux doubles from 1 s), and the client's first data
    segment, which carries ACK y+1, completes the handshake."""
    conv = conversation(server_wire, server=(server_ip, port))
    data = next((s for s in conv if s.direction == C2S and s.len > 0), None)
    if data is None:
        raise ExpectationFailed("the client's data never reached the server", conv.table(),
                                [s.packet for s in conv])
    before = [s for s in conv if s.number < data.number]
    stray = [s for s in before if s.direction == C2S and s.flags != "S"]
    if stray:
        raise ExpectationFailed("the third handshake ACK was not lost: the server received "
                                f"{stray[0].flags} from the client before its data", conv.table(),
                                [s.packet for s in stray])
    syn_acks = [s for s in before if s.flags == "SA"]
    gaps = _gaps(syn_acks)
    if len(gaps) < 2 or not 0.8 <= gaps[0] <= 1.5 or not 1.6 <= gaps[1] / gaps[0] <= 2.4:
        raise ExpectationFailed(
            f"expected the SYN-ACK repeated after about 1 s and then twice that, got "
            f"{len(syn_acks)} SYN-ACKs {', '.join(f'{g:.2f} s' for g in gaps)} apart",
            conv.table(), [s.packet for s in syn_acks])
    if "A" not in data.flags or (data.seq, data.ack) != (1, 1):
        raise ExpectationFailed(f"the first data segment is {data.flags} seq {data.seq} ack "
                                f"{data.ack}, not ACK seq 1 ack 1", conv.table(), [data.packet])
    answer = next((s for s in conv if s.direction == S2C and s.number > data.number
                   and s.ack == 1 + data.len), None)
    if answer is None:
        raise ExpectationFailed("the server did not acknowledge the data: the handshake did not "
                                "complete", conv.table(), [s.packet for s in conv])
    shown = ", ".join(f"{g:.2f} s" for g in gaps)
    retries = sysctls.get("net.ipv4.tcp_synack_retries", "?")
    record_erratum(errata, "synack-retries",
                   f"third ACK lost: SYN-ACK repeated after {shown} (doubling from 1 s); "
                   f"net.ipv4.tcp_synack_retries = {retries} on the server", syn_acks[1].packet)
    return (f"third ACK lost: SYN-ACK repeated {len(syn_acks) - 1} times, {shown} apart; the "
            f"client's first data (seq 1 ack 1, {data.len} bytes) completed the handshake, "
            f"acknowledged with ack {answer.ack}")


def keepalive_probes(conv: Conversation) -> list[Segment]:
    """The client's keepalive probes: pure ACKs one byte behind what it has
    sent (seq = next - 1), so that the peer must answer."""
    probes, sent = [], 0
    for s in conv:
        if s.direction != C2S:
            continue
        if s.flags == "A" and s.len == 0 and s.seq == sent - 1:
            probes.append(s)
        sent = max(sent, s.seq + s.len + (1 if ("S" in s.flags or "F" in s.flags) else 0))
    return probes


def judge_keepalive(client_wire: Packets, server_ip: str, sysctls: dict[str, str],
                    errata: list[Demonstrated], port: int = KEEPALIVE_PORT,
                    idle: float = KEEPALIVE["idle"], interval: float = KEEPALIVE["interval"],
                    count: int = KEEPALIVE["count"]) -> str:
    """Keepalive with short timers: a probe after ``idle`` seconds, answered;
    then, the server silent, ``count`` probes ``interval`` apart, unanswered,
    and the client resets the connection."""
    conv = conversation(client_wire, server=(server_ip, port))
    probes = keepalive_probes(conv)
    answered = [p for p in probes if any(s.direction == S2C and s.number > p.number
                                         and s.ack == p.seq + 1 for s in conv)]
    silent = [p for p in probes if p not in answered]
    reset = next((s for s in conv if s.direction == C2S and "R" in s.flags), None)
    if not answered or len(silent) != count or reset is None \
            or reset.number < silent[-1].number:
        raise ExpectationFailed(
            f"expected a probe answered, then {count} unanswered probes and the client's RST; "
            f"got {len(answered)} answered, {len(silent)} unanswered, "
            f"{'an' if reset else 'no'} RST", conv.table(), [s.packet for s in conv])
    spacing = _gaps([*silent, reset])
    if not all(abs(gap - interval) <= 0.35 for gap in spacing):
        raise ExpectationFailed(f"unanswered probes and the RST should be {interval:g} s apart, "
                                f"got {', '.join(f'{g:.2f}' for g in spacing)} s", conv.table(),
                                [s.packet for s in [*silent, reset]])
    probes_default = sysctls.get("net.ipv4.tcp_keepalive_probes", "?")
    record_erratum(errata, "keepalive",
                   f"net.ipv4.tcp_keepalive_probes = {probes_default} (time "
                   f"{sysctls.get('net.ipv4.tcp_keepalive_time', '?')} s, interval "
                   f"{sysctls.get('net.ipv4.tcp_keepalive_intvl', '?')} s); with TCP_KEEPCNT="
                   f"{count} the capture shows {len(silent)} unanswered probes, then RST",
                   silent[0].packet)
    return (f"keepalive (idle {idle:g} s, interval {interval:g} s, count {count}): probe "
            f"seq x (one byte back) answered; server silenced: {len(silent)} probes "
            f"{', '.join(f'{g:.2f}' for g in spacing[:-1]) or '-'} s apart unanswered, RST "
            f"{spacing[-1]:.2f} s after the last")


@dataclass(frozen=True)
class FaultFacts:
    """What tcp-faults learnt outside the captures (supplemental)."""

    client_ip: str
    server_ip: str
    client_sysctls: dict[str, str]        # keepalive defaults
    server_sysctls: dict[str, str]        # SYN-ACK retries


def judge_tcp_faults(client_wire: Packets, server_wire: Packets, facts: FaultFacts,
                     errata: list[Demonstrated]) -> str:
    """The five scenarios of 001, each on its own server port."""
    c, s = facts.client_ip, facts.server_ip
    return "; ".join([
        _scenario("old duplicate SYN", judge_old_syn, server_wire, c, s),
        _scenario("closed port", judge_refused, client_wire, s),
        _scenario("half-close", judge_half_close, client_wire, s),
        _scenario("lost third ACK", judge_lost_ack, server_wire, s, facts.server_sysctls, errata),
        _scenario("keepalive", judge_keepalive, client_wire, s, facts.client_sysctls, errata),
    ])


def old_duplicate_syn(lab: Lab, server: Puppet, c: Station, s: Station) -> None:
    """A SYN of a long-gone connection from the client's address, crafted
    with scapy inside the client (:mod:`services.tools.crafted_syn`): the
    client's kernel knows no such connection and resets the server's answer."""
    server("listen", sock="old", addr=s.ip, port=OLD_SYN_PORT)
    craft = python_module("services.tools.crafted_syn", "--src", c.ip, "--dst", s.ip,
                          "--sport", str(STALE_PORT), "--dport", str(OLD_SYN_PORT),
                          "--seq", str(STALE_SEQ))
    result = lab.run_in(c.node, craft)
    if result.returncode != 0:
        raise LabError(f"{c.node}: crafting the old SYN failed: {result.stderr.strip()}")


def refused(client: Puppet, s: Station) -> str:
    client("connect", sock="refused", addr=s.ip, port=REFUSED_PORT)
    error = client("connected", sock="refused")["error"]
    client("close", sock="refused")
    return error


def half_close(client: Puppet, server: Puppet, s: Station) -> dict:
    """The client sends its request and shuts its side; the server reads to
    the FIN, then still sends its answer, then closes."""
    server("listen", sock="hc", addr=s.ip, port=HALF_CLOSE_PORT)
    client("connect", sock="h", addr=s.ip, port=HALF_CLOSE_PORT)
    client("connected", sock="h")
    server("accept", sock="hs", listener="hc")
    client("send", sock="h", data=REQUEST)
    server("recv", sock="hs", size=len(REQUEST))
    client("shutdown", sock="h")
    server("recv", sock="hs", until_eof=True)
    for chunk in AFTER_FIN:
        server("send", sock="hs", data=chunk)
    server("close", sock="hs")
    received = client("recv", sock="h", until_eof=True)
    client("close", sock="h")
    return received


def lost_ack(ctx: CheckContext, client: Puppet, server: Puppet, rules: Firewall,
             c: Station, s: Station) -> None:
    """The client's firewall drops its pure ACKs (the third handshake ACK and
    its repeats) while the server repeats its SYN-ACK; then the client sends."""
    server("listen", sock="la", addr=s.ip, port=LOST_ACK_PORT)
    with rules.rule(c.node, *outgoing(dport=LOST_ACK_PORT, flags=PURE_ACK), *DROP):
        client("connect", sock="a", addr=s.ip, port=LOST_ACK_PORT)
        client("connected", sock="a")
        ctx.wait(SYNACK_WATCH)
    client("send", sock="a", data=REQUEST)
    server("accept", sock="as", listener="la")
    server("recv", sock="as", size=len(REQUEST))


def keepalive(ctx: CheckContext, client: Puppet, server: Puppet, rules: Firewall,
              s: Station) -> str:
    """Short keepalive timers on the client; one probe answered, then the
    server's firewall silences it until the client gives up."""
    server("listen", sock="ka", addr=s.ip, port=KEEPALIVE_PORT)
    client("connect", sock="k", addr=s.ip, port=KEEPALIVE_PORT)
    client("connected", sock="k")
    server("accept", sock="ks", listener="ka")
    client("keepalive", sock="k", **KEEPALIVE)
    ctx.wait(KEEPALIVE["idle"] + 0.3)
    with rules.rule(s.node, *outgoing(sport=KEEPALIVE_PORT), *DROP):
        ctx.wait(KEEPALIVE["idle"] + KEEPALIVE["count"] * KEEPALIVE["interval"] - 0.1)
        return client("failed", sock="k", timeout=1.0)["error"]


def sysctls(lab: Lab, node: str) -> dict[str, str]:
    out = lab.run_in(node, ["sysctl", *SYSCTLS]).stdout
    return dict(line.split(" = ", 1) for line in out.splitlines() if " = " in line)


class TcpFaults(Check):
    """001's edge cases: a lost third ACK, a closed port, a half-close,
    keepalive, and an old duplicate SYN, each on its own server port."""

    name = "tcp-faults"
    summary = "lost third ACK, RST from a closed port, half-close, keepalive, old duplicate SYN"
    topologies = ("enterprise",)
    idle_wait = 7.5

    def footprint(self, lab: Lab) -> Footprint:
        # its firewall rules match its own ports only: the ends are used, not changed
        ports = f"tcp/{min(FAULT_PORTS)}-{max(FAULT_PORTS)}"
        return Footprint.of(uses={CLIENT, SERVER}, hears={ports}, makes={ports})

    def run(self, ctx: CheckContext) -> str:
        lab = ctx.lab
        c, s = station(ctx, CLIENT), station(ctx, SERVER)
        points = [(c.node, c.iface), (s.node, s.iface)]
        with ctx.capture(points, f"tcp portrange {min(FAULT_PORTS)}-{max(FAULT_PORTS)}") as wire, \
                puppets(lab, c.node, s.node) as (client, server), firewall(lab) as rules:
            old_duplicate_syn(lab, server, c, s)
            error = refused(client, s)
            received = half_close(client, server, s)
            lost_ack(ctx, client, server, rules, c, s)
            ended = keepalive(ctx, client, server, rules, s)
            leftover = StateWatch(lab, {"client": c, "server": s}, OLD_SYN_PORT).see(
                1, "server", "CLOSED", STALE_PORT, deadline=0)
        facts = FaultFacts(c.ip, s.ip, sysctls(lab, c.node), sysctls(lab, s.node))
        evidence = judge_tcp_faults(wire[c.iface], wire[s.iface], facts, ctx.errata)
        expected = {"connect to the closed port": (error, "ECONNREFUSED"),
                    "the keepalive's end": (ended, "ETIMEDOUT"),
                    "what the client read after its FIN": (received["data"], "".join(AFTER_FIN)),
                    "the server's socket for the old SYN": (leftover.state, "CLOSED")}
        wrong = [f"{what}: {got!r}, expected {want!r}" for what, (got, want) in expected.items()
                 if got != want]
        if wrong:
            raise ExpectationFailed("the ends disagree with the capture: " + "; ".join(wrong))
        return evidence


CHECKS = [TcpStates, TcpFaults]
