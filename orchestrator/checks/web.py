"""The web visit: the checks web-11 and web-real.

``web`` serves www.baidu.com twice (topologies/internet.py): an ordinary
server on port 80 and the texts' "textbook" server on port 8080.  web-11
fetches from the textbook server with the textbook client
(``python -m services.web fetch --textbook``), which between them control
when every ACK leaves (services/web/textbook.py), and proves the eleven
segments of FLOWS.md's table in every one of many fetches, inside and
outside the edge's NAT.  web-real fetches the same page with curl from the
ordinary server and names how a real exchange differs from the table.  The
edge's NAT is proven by the derived ``nat`` check (checks/derived/nat.py),
which finds the masquerading interfaces of any topology.
"""

from __future__ import annotations

import json
import re
import sys
import time
from dataclasses import dataclass

from services.http_daemon import HTTP, HttpDaemon

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
    dns,
    expect,
    merge,
    tcp,
)
from ..packets.failure import listing
from .base import Check, CheckContext, Station, station
from .derived.facts import network
from .footprint import Footprint, name_lookups, route_nodes

C2S, S2C = CLIENT_TO_SERVER, SERVER_TO_CLIENT
CLIENT, WEB = "xiaoming", "web"
SITE = "www.baidu.com"
TRIALS = 20                 # web-11's fetches per run: FLOWS.md asks for 20 out of 20

# FLOWS.md's table, as (direction, flags, seq, ack, payload) with x, y, L, R
# as symbols: the relative numbers are these with x = y = 0.
TEXTBOOK = (
    (C2S, "S", "x", "", ""),
    (S2C, "SA", "y", "x+1", ""),
    (C2S, "A", "x+1", "y+1", ""),
    (C2S, "PA", "x+1", "y+1", "L"),
    (S2C, "A", "y+1", "x+1+L", ""),
    (S2C, "PA", "y+1", "x+1+L", "R"),
    (C2S, "A", "x+1+L", "y+1+R", ""),
    (C2S, "FA", "x+1+L", "y+1+R", ""),
    (S2C, "A", "y+1+R", "x+2+L", ""),
    (S2C, "FA", "y+1+R", "x+2+L", ""),
    (C2S, "A", "x+2+L", "y+2+R", ""),
)
ROLE_NAMES = ("SYN", "SYN-ACK", "handshake ACK", "request", "ACK of the request", "response",
              "ACK of the response", "client FIN", "ACK of the client's FIN", "server FIN",
              "ACK of the server's FIN")


def _value(symbol: str, request_length: int, response_length: int) -> int:
    """A cell of the table with x = y = 0: ``x+1+L`` is 1 + L."""
    terms = {"x": 0, "y": 0, "L": request_length, "R": response_length}
    return sum(terms[t] if t in terms else int(t) for t in symbol.split("+") if t)


def textbook_rows(request_length: int, response_length: int) -> list[tuple]:
    """The table in relative numbers (x = y = 0) with the given L and R."""
    return [(direction, flags, _value(seq, request_length, response_length),
             None if ack == "" else _value(ack, request_length, response_length),
             _value(length, request_length, response_length))
            for direction, flags, seq, ack, length in TEXTBOOK]


def port_of(lab: Lab, mode: str) -> int:
    """The port of the web node's server in ``mode`` (``normal``, ``textbook``)."""
    for service in lab.topo.find(WEB).services:
        settings = HttpDaemon.settings(service)
        if service.kind == HTTP and settings["mode"] == mode:
            return int(settings["port"])
    raise LabError(f"{WEB} runs no {mode} http server")


def nat_outside(ctx: CheckContext) -> Station:
    """The edge's outside interface (the one it masquerades out of)."""
    for iface in ctx.lab.topo.interfaces():
        if iface.nat_outside:
            return Station(iface.node, iface.name, iface.mac or "", str(iface.ip))
    raise LabError(f"{ctx.lab.topo.name} has no NAT")


def curl(ctx: CheckContext, client: Station, url: str) -> str:
    """Fetch ``url`` with curl inside the client: status and size, once the
    connection is over (curl exits as soon as it has sent its FIN; the rest
    of the close must be on the wire before the capture stops)."""
    result = ctx.lab.run_in(client.node, ["curl", "-sS", "-m", "5", "-o", "/dev/null", "-w",
                                          "%{http_code} %{size_download} bytes %{local_port}",
                                          url])
    if result.returncode != 0:
        raise LabError(f"{client.node}: curl {url}: {result.stderr.strip()}")
    status, size, unit, port = result.stdout.split()
    wait_closed(ctx, client, int(port))
    return f"{status} {size} {unit}"


def wait_closed(ctx: CheckContext, client: Station, port: int, deadline: float = 3.0) -> None:
    """Poll ``ss`` until the client's connection from ``port`` is in TIME_WAIT
    or gone: its last segment has then been sent."""
    limit = time.monotonic() + deadline
    while True:
        out = ctx.lab.run_in(client.node, ["ss", "-tanH", "src", f"{client.ip}:{port}"]).stdout
        states = {line.split()[0] for line in out.splitlines() if line.strip()}
        if states <= {"TIME-WAIT"}:
            return
        if time.monotonic() > limit:
            raise LabError(f"{client.node}: the connection from port {port} is still "
                           f"{', '.join(sorted(states))} after {deadline:g} s")


# ---------------------------------------------------------------- web-11

def _http_complete(segment: Segment, request: bool) -> str:
    """Why a segment's payload is not one whole HTTP request (or response);
    empty if it is."""
    payload = segment.packet.tcp.payload
    head, sep, body = payload.partition(b"\r\n\r\n")
    start, what = (b"GET ", "request") if request else (b"HTTP/1.1 200", "response")
    if not payload.startswith(start) or not sep:
        return f"segment {segment.number} is not a whole HTTP {what}"
    if not request:
        match = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        if not match or int(match.group(1)) != len(body):
            return f"segment {segment.number}'s response body is not whole ({len(body)} bytes)"
    return ""


def eleven(conv: Conversation) -> tuple[int, int]:
    """Check one connection against the table; returns (L, R)."""
    data = {d: next((s.len for s in conv if s.direction == d and s.len), 0) for d in (C2S, S2C)}
    length, response = data[C2S], data[S2C]
    conv.expect(textbook_rows(length, response))
    for segment, request in ((conv[3], True), (conv[5], False)):
        problem = _http_complete(segment, request)
        if problem:
            raise ExpectationFailed(f"TCP {conv.name}: {problem}", conv.table(),
                                    [segment.packet])
    return length, response


def judge_dns_first(inside: Packets, server_ip: str, before: Packet, name: str = SITE) -> str:
    """The client asked for ``name`` and got ``server_ip`` before connecting."""
    query, answer = expect(inside).in_order([
        dns(qr=False, qname=f"{name}.", qtype="A"),
        dns(qr=True, qname=f"{name}.", qtype="A", a=server_ip)])
    if answer.time > before.time:
        raise ExpectationFailed(f"the DNS answer for {name} came after the first SYN",
                                listing("packets:", [query, answer, before], inside.start),
                                [query, answer, before])
    points = sorted({p.point for p in inside if p.dns and p.dns.qname == f"{name}."})
    return f"after DNS ({name} A {server_ip}, seen on {', '.join(points)})"


def judge_web_11(inside: Packets, outside: Packets, server: tuple[str, int], public: str,
                 trials: int = TRIALS, hops: int = 2) -> str:
    """Every fetch is the eleven segments of FLOWS.md on the client's wire
    (``inside``, with the client's DNS before it) and the same eleven,
    translated to ``public`` with the same sequence numbers, outside the
    NAT (``hops`` routers between the points)."""
    server_ip, port = server
    to_server = tcp(dport=port, dst=server_ip, flags="S")
    syns = expect(inside).count(to_server, at_least=1)
    by_isn: dict[int, Packet] = {}
    for syn in syns:                       # a repeated SYN is the same fetch
        by_isn.setdefault(syn.tcp.seq_raw, syn)
    first_syns = list(by_isn.values())
    if len(first_syns) != trials:
        raise ExpectationFailed(f"expected {trials} fetches (SYNs to {server_ip}:{port}), "
                                f"found {len(first_syns)}", listing("SYNs:", syns, inside.start),
                                syns)
    dns_line = judge_dns_first(inside, server_ip, first_syns[0])
    failed, sizes = [], set()
    for number, syn in enumerate(first_syns, start=1):
        try:
            conv = conversation(inside, syn=syn)
            sizes.add(eleven(conv))
            pairs = expect([s.packet for s in conv]).translated(outside, address=public,
                                                                hops=hops)
            eleven(conversation(outside, syn=pairs[0].after))
        except ExpectationFailed as failure:
            failed.append((number, failure))
    if failed:
        number, failure = failed[0]
        raise ExpectationFailed(
            f"{len(failed)} of {trials} fetches differ from the eleven segments; fetch "
            f"{number}: {failure.expectation}", failure.detail, failure.packets)
    stray = len(expect(inside).count(tcp(port=port), at_least=0)) - 11 * trials
    if stray:
        raise ExpectationFailed(f"{stray} TCP segments on port {port} belong to no fetch")
    shown = ", ".join(f"L={length} R={response}" for length, response in sorted(sizes))
    return (f"{trials} of {trials} fetches: exactly the 11 segments of the table ({shown}), "
            f"{dns_line}; outside the edge the same 11 from {public}, same sequence numbers")


@dataclass(frozen=True)
class Fetch:
    """What one run of the textbook client said."""

    status: int
    local: str
    remote: str
    server_fin: bool


def textbook_fetches(ctx: CheckContext, node: str, url: str, count: int) -> list[Fetch]:
    """``python -m services.web fetch --textbook --count N URL`` inside
    ``node``: N fetches one after another, each from its name lookup on."""
    result = ctx.lab.run_in(node, [sys.executable, "-m", "services.web", "fetch", "--textbook",
                                   "--json", "--count", str(count), url])
    if result.returncode != 0:
        raise LabError(f"{node}: textbook fetch of {url} failed: {result.stderr.strip()}")
    return [Fetch(out["status"], out["local"], out["remote"], out["server_fin"])
            for out in map(json.loads, result.stdout.splitlines())]


TIMER = re.compile(r"timer:\(timewait,([^,]+),")


def time_wait_timers(ctx: CheckContext, node: str, peer: str) -> dict[str, str]:
    """``ss -tano``'s TIME_WAIT sockets to ``peer``: local address -> timer left."""
    return parse_time_wait(ctx.lab.run_in(node, ["ss", "-tanoH", "dst", peer]).stdout)


def parse_time_wait(text: str) -> dict[str, str]:
    """Lines of ``ss -tanoH``: local address -> what is left of TIME_WAIT."""
    timers = {}
    for line in text.splitlines():
        fields = line.split()
        found = TIMER.search(line)
        if fields and fields[0] == "TIME-WAIT" and found:
            timers[fields[3]] = found.group(1)
    return timers


class Web11(Check):
    """xiaoming fetches http://www.baidu.com/ from the textbook server with the
    textbook client, TRIALS times: the eleven segments every time, inside and
    outside the NAT; the client in TIME_WAIT, the server closed."""

    name = "web-11"
    summary = "after DNS, exactly FLOWS.md's 11 segments in every fetch, inside and outside the NAT"
    topologies = ("enterprise",)

    def footprint(self, lab: Lab) -> Footprint:
        net, port = network(lab), port_of(lab, "textbook")
        return Footprint.of(uses=route_nodes(net, CLIENT, WEB) | name_lookups(net, CLIENT),
                            hears={f"tcp/{port}", "dns"}, makes={f"tcp/{port}", "dns"})

    def run(self, ctx: CheckContext) -> str:
        client, server, outside = station(ctx, CLIENT), station(ctx, WEB), nat_outside(ctx)
        port = port_of(ctx.lab, "textbook")
        url = f"http://{SITE}:{port}/"
        points = [(client.node, client.iface), (client.node, "lo"),
                  (outside.node, outside.iface)]
        with ctx.capture(points, f"tcp port {port} or udp port 53") as wire:
            fetches = textbook_fetches(ctx, client.node, url, TRIALS)
        inside = merge(wire[client.iface], wire[f"{client.node}:lo"])
        evidence = judge_web_11(inside, wire[outside.iface], (server.ip, port), outside.ip)
        last, timer = ends_after(ctx, client, server, port, fetches)
        segment_11 = inside.filter(tcp(dst=server.ip, dport=port))[-1]
        ctx.erratum("time-wait", f"segment 11 leaves the client in TIME_WAIT: ss -tano shows "
                                 f"{last} timer:(timewait,{timer}) right after, a fixed 60 s "
                                 f"on Linux", segment_11)
        return (f"{evidence}; client in TIME_WAIT ({len(fetches)} sockets, ss -tano timer "
                f"{timer}), server closed")


def ends_after(ctx: CheckContext, client: Station, server: Station, port: int,
               fetches: list[Fetch]) -> tuple[str, str]:
    """What ss says after the fetches (supplemental): every client socket in
    TIME_WAIT, no connection left on the server.  Returns the last fetch's
    local address and what is left of its TIME_WAIT."""
    timers = time_wait_timers(ctx, client.node, server.ip)
    open_there = [line for line in ctx.lab.run_in(server.node, ["ss", "-tanH", "sport", "=",
                                                                f":{port}"]).stdout.splitlines()
                  if not line.startswith("LISTEN")]
    waiting = [f.local for f in fetches if f.local in timers]
    if len(waiting) != len(fetches) or open_there or not all(f.server_fin for f in fetches):
        raise ExpectationFailed(
            f"after the fetches {len(waiting)} of {len(fetches)} client sockets are in "
            f"TIME_WAIT and the server still has {len(open_there)} connections: "
            f"{open_there[:3]}")
    return fetches[-1].local, timers[fetches[-1].local]


# ---------------------------------------------------------------- web-real

def _first(conv: Conversation, direction: str, test) -> Segment | None:
    return next((s for s in conv if s.direction == direction and test(s)), None)


def carriers(conv: Conversation, length: int, response: int) -> dict[int, list[Segment]]:
    """For each row of the table (1-11), the segments of ``conv`` that do its
    job: the data rows may take several segments, the others the first
    segment that does it (which may do other rows' jobs too)."""
    fin = {d: _first(conv, d, lambda s: "F" in s.flags) for d in (C2S, S2C)}
    jobs = {
        1: [_first(conv, C2S, lambda s: s.flags == "S")],
        2: [_first(conv, S2C, lambda s: s.flags == "SA")],
        3: [_first(conv, C2S, lambda s: "S" not in s.flags and s.ack is not None
                   and s.ack >= 1)],
        4: [s for s in conv if s.direction == C2S and s.len],
        5: [_first(conv, S2C, lambda s: s.ack is not None and s.ack >= 1 + length)],
        6: [s for s in conv if s.direction == S2C and s.len],
        7: [_first(conv, C2S, lambda s: s.ack is not None and s.ack >= 1 + response)],
        8: [fin[C2S]],
        9: [_first(conv, S2C, lambda s: s.ack is not None and s.ack >= 2 + length)],
        10: [fin[S2C]],
        11: [_first(conv, C2S, lambda s: s.ack is not None and s.ack >= 2 + response)],
    }
    return {row: [s for s in found if s is not None] for row, found in jobs.items()}


def judge_http_exchange(conv: Conversation) -> tuple[int, int, dict[int, list[Segment]]]:
    """What must hold for any correct HTTP/TCP exchange: the handshake, a
    whole request and a whole response, each acknowledged, both FINs at the
    end of their side's data and acknowledged, no reset.  Returns L, R and
    the carriers of the table's rows."""
    request, answer = conv.payload(C2S), conv.payload(S2C)
    length, response = len(request), len(answer)
    jobs = carriers(conv, length, response)
    missing = [ROLE_NAMES[row - 1] for row, found in jobs.items() if not found]
    problems = []
    if missing:
        problems.append(f"no {', '.join(missing)}")
    if not request.startswith(b"GET ") or b"\r\n\r\n" not in request:
        problems.append("the client's data is not an HTTP request")
    if not answer.startswith(b"HTTP/1.1 200"):
        problems.append("the server's data is not an HTTP 200 response")
    if not missing:
        if jobs[3][0].number > jobs[4][0].number or jobs[4][0].seq != 1:
            problems.append("the request does not start at x+1 after the handshake")
        for row, end in ((8, 1 + length), (10, 1 + response)):
            if jobs[row][0].seq != end:
                problems.append(f"the {ROLE_NAMES[row - 1]} is at seq {jobs[row][0].seq}, "
                                f"not at the end of its data ({end})")
    resets = [s for s in conv if "R" in s.flags]
    if resets:
        problems.append(f"reset by segment {resets[0].number}")
    if problems:
        raise ExpectationFailed(f"TCP {conv.name} is not a correct HTTP exchange: "
                                + "; ".join(problems), conv.table(), [s.packet for s in conv])
    return length, response, jobs


def differences(conv: Conversation, jobs: dict[int, list[Segment]]) -> list[str]:
    """How the exchange differs from the table, in words."""
    found = []
    if len(conv) != 11:
        found.append(f"{len(conv)} segments, not 11")
    doing: dict[int, list[int]] = {}
    for row, segments in jobs.items():
        for segment in segments:
            doing.setdefault(segment.number, []).append(row)
    for number, rows in sorted(doing.items()):
        if len(rows) > 1:
            names = " and ".join(f"{row} ({ROLE_NAMES[row - 1]})" for row in rows)
            found.append(f"#{number} is the table's {names} at once")
    for row in (4, 6):
        if len(jobs[row]) > 1:
            found.append(f"the {ROLE_NAMES[row - 1]} takes {len(jobs[row])} segments "
                         f"({', '.join(f'#{s.number}' for s in jobs[row])})")
    extra = [s for s in conv if s.number not in doing]
    for segment in extra:
        found.append(f"#{segment.number} ({segment.direction} {segment.flags} ack "
                     f"{segment.ack}) has no row in the table")
    if jobs[10][0].packet.time < jobs[8][0].packet.time:
        found.append("the server closed first")
    return found or ["none: the same eleven"]


def side_by_side(conv: Conversation, jobs: dict[int, list[Segment]], label: str) -> str:
    """The real segments, each with the rows of the table it does."""
    doing: dict[int, list[int]] = {}
    for row, segments in jobs.items():
        for segment in segments:
            doing.setdefault(segment.number, []).append(row)
    head = (f"{label:<58} | web-11 (FLOWS.md)\n"
            f"{'#':>3}  {'direction':<16} {'flags':<4} {'seq':>10} {'ack':>10} {'len':>6}   | ")
    lines = [head]
    for segment in conv:
        rows = doing.get(segment.number, [])
        table = " + ".join(f"{row} {TEXTBOOK[row - 1][1]} seq {TEXTBOOK[row - 1][2]} ack "
                           f"{TEXTBOOK[row - 1][3] or '-'}"
                           f"{' len ' + TEXTBOOK[row - 1][4] if TEXTBOOK[row - 1][4] else ''}"
                           for row in rows) or "(no row)"
        lines.append(f"{segment}   | {table}")
    return "\n".join(lines) + "\n"


def judge_web_real(inside: Packets, server: tuple[str, int]) -> tuple[str, str]:
    """The curl exchange is a correct HTTP/TCP exchange; returns the
    evidence naming its differences from web-11, and the side-by-side table."""
    conv = conversation(inside, server=server)
    length, response, jobs = judge_http_exchange(conv)
    evidence = (f"curl: handshake, request (L={length}), response (R={response}), both FINs "
                f"acknowledged; against web-11's table: {'; '.join(differences(conv, jobs))}")
    return evidence, side_by_side(conv, jobs, f"curl, TCP {conv.name}")


class WebReal(Check):
    """The same page fetched by curl from the ordinary server: a correct
    exchange, set beside the table, its differences named."""

    name = "web-real"
    summary = "curl's exchange: correct HTTP over TCP, with its differences from web-11 named"
    topologies = ("enterprise",)

    def footprint(self, lab: Lab) -> Footprint:
        net, port = network(lab), port_of(lab, "normal")
        return Footprint.of(uses=route_nodes(net, CLIENT, WEB) | name_lookups(net, CLIENT),
                            hears={f"tcp/{port}"}, makes={f"tcp/{port}", "dns"})

    def run(self, ctx: CheckContext) -> str:
        client, server = station(ctx, CLIENT), station(ctx, WEB)
        port = port_of(ctx.lab, "normal")
        with ctx.capture([(client.node, client.iface)], f"tcp port {port}") as wire:
            got = curl(ctx, client, f"http://{SITE}:{port}/")
        evidence, table = judge_web_real(wire[client.iface], (server.ip, port))
        (ctx.pcap_dir / "side-by-side.txt").write_text(table)
        return f"{evidence} ({got}; side-by-side.txt)"


CHECKS = [Web11, WebReal]
