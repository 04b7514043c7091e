"""One TCP connection as the texts draw it: rows of direction, flags, seq, ack, length.

FLOWS.md's web-11 check is a table of eleven segments with x and y for the
initial sequence numbers.  ``conversation(cap)`` gives the same table from a
capture, with numbers relative to x and y (so x+1 reads 1), and
``Conversation.expect(rows)`` compares it row by row::

    conv = conversation(cap, server=("61.135.169.125", 80))
    L, R = conv[3].len, conv[5].len
    conv.expect([
        ("client → server", "S",  0,     None,  0),
        ("server → client", "SA", 0,     1,     0),
        ("client → server", "A",  1,     1,     0),
        ("client → server", "PA", 1,     1,     L),
        ...
    ])

A row's items are exact values, sets of allowed values, predicates, or
``...`` for "anything"; ``ack`` None means the ACK flag is clear.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from typing import Iterable, Sequence

from . import kinds as K
from .captures import Capture, Packets
from .failure import ExpectationFailed, listing
from .layers import Flags
from .packet import Packet
from .pause import pausing
from .tcpseq import IsnTracker, endpoints

CLIENT_TO_SERVER = "client → server"
SERVER_TO_CLIENT = "server → client"
_MASK = 0xFFFFFFFF


@dataclass(frozen=True)
class Segment:
    """One row: ``number`` from 1, ``direction``, ``flags``, relative ``seq`` and
    ``ack`` (None without the ACK flag), payload ``len``, and the ``packet``."""

    number: int
    direction: str
    flags: Flags
    seq: int
    ack: int | None
    len: int
    packet: Packet

    def row(self) -> tuple:
        return self.direction, str(self.flags), self.seq, self.ack, self.len

    def __str__(self) -> str:
        return _format_row(self.number, self.row())


def _format_row(number, row) -> str:
    direction, flags, seq, ack, length = (_show(x) for x in row)
    return f"{number:>3}  {direction:<16} {flags:<4} {seq:>10} {ack:>10} {length:>6}"


def _show(value) -> str:
    if value is None:
        return "-"
    if value is ...:
        return "*"
    if isinstance(value, (set, frozenset)):
        return "{" + ",".join(sorted(str(v) for v in value)) + "}"
    if callable(value):
        return getattr(value, "label", None) or getattr(value, "__name__", "?")
    return str(value)


def _endpoint(spec) -> tuple[int | None, int | None]:
    """``"10.1.1.2:40000"``, ``("10.1.1.2", 40000)`` or ``"10.1.1.2"`` as
    (address as an integer or None, port or None)."""
    if spec is None:
        return None, None
    if isinstance(spec, tuple):
        host, port = spec
    else:
        text = str(spec)
        host, port = text.rsplit(":", 1) if ":" in text else (text, None)
    address = struct.unpack("!I", socket.inet_aton(host))[0] if host else None
    return address, (int(port) if port is not None else None)


def _fits(spec, endpoint: int) -> bool:
    address, port = spec
    return (address is None or address == endpoint >> 16) and \
        (port is None or port == endpoint & 0xFFFF)


def _show_endpoint(endpoint: int) -> tuple[str, int]:
    return socket.inet_ntoa(struct.pack("!I", endpoint >> 16)), endpoint & 0xFFFF


class Conversation(Sequence[Segment]):
    """The segments of one TCP connection, in capture order."""

    def __init__(self, client: tuple[str, int], server: tuple[str, int],
                 segments: list[Segment], t0: float):
        self.client = client
        self.server = server
        self.segments = segments
        self.t0 = t0

    def __len__(self) -> int:
        return len(self.segments)

    def __getitem__(self, index):
        return self.segments[index]

    @property
    def name(self) -> str:
        return f"{self.client[0]}:{self.client[1]} → {self.server[0]}:{self.server[1]}"

    def rows(self) -> list[tuple]:
        return [s.row() for s in self.segments]

    def payload(self, direction: str = CLIENT_TO_SERVER) -> bytes:
        """The payload bytes sent in one direction, in capture order (no
        reordering or deduplication of retransmissions)."""
        direction = _direction(direction)
        return b"".join(s.packet.tcp.payload for s in self.segments if s.direction == direction)

    def table(self) -> str:
        head = f"{'#':>3}  {'direction':<16} {'flags':<4} {'seq':>10} {'ack':>10} {'len':>6}"
        return "\n".join([f"TCP {self.name}", head, *(str(s) for s in self.segments)])

    def expect(self, rows: Iterable[tuple]) -> list[Segment]:
        """Compare with ``rows`` of (direction, flags, seq, ack, len); there must be
        exactly as many segments as rows.  Returns the segments."""
        rows = [tuple(r) for r in rows]
        first_wrong = None
        notes = []
        for number, (row, segment) in enumerate(zip(rows, self.segments, strict=False), start=1):
            reasons = _compare(row, segment)
            notes.append(reasons)
            if reasons and first_wrong is None:
                first_wrong = number
        if first_wrong is None and len(rows) == len(self.segments):
            return list(self.segments)
        if first_wrong is not None:
            title = (f"TCP {self.name}: row {first_wrong} of {len(rows)} differs: "
                     f"{notes[first_wrong - 1]}")
        else:
            title = (f"TCP {self.name}: expected {len(rows)} segments, got {len(self.segments)}")
        lines = [f"{'#':>3}  {'direction':<16} {'flags':<4} {'seq':>10} {'ack':>10} "
                 f"{'len':>6}   expected"]
        for number in range(1, max(len(rows), len(self.segments)) + 1):
            segment = self.segments[number - 1] if number <= len(self.segments) else None
            row = rows[number - 1] if number <= len(rows) else None
            got = str(segment) if segment else f"{number:>3}  (no segment)".ljust(56)
            if row is None:
                verdict = "(not expected)"
            elif segment is None:
                verdict = "missing: " + _format_row(number, row).strip()[len(str(number)):]
            elif notes[number - 1]:
                verdict = "!= " + " ".join(_show(x) for x in row)
            else:
                verdict = "ok"
            lines.append(f"{got}   {verdict}")
        shown = [s.packet for s in self.segments]
        detail = "\n".join(lines) + "\n" + listing("the segments:", shown, self.t0)
        raise ExpectationFailed(title, detail, shown)


def _direction(text: str) -> str:
    lowered = text.strip().lower()
    if lowered.startswith("client") or lowered in ("c2s", ">", "->", "→"):
        return CLIENT_TO_SERVER
    if lowered.startswith("server") or lowered in ("s2c", "<", "<-", "←"):
        return SERVER_TO_CLIENT
    raise ValueError(f"a direction is 'client → server' or 'server → client', not {text!r}")


def _item_ok(expected, actual, normalize=lambda v: v) -> bool:
    if expected is ...:
        return True
    if isinstance(expected, (set, frozenset)):
        return actual in {normalize(v) for v in expected}
    if callable(expected) and not isinstance(expected, str):
        return bool(expected(actual))
    return normalize(expected) == actual


def _compare(row: tuple, segment: Segment) -> str:
    if len(row) != 5:
        raise ValueError(f"a row is (direction, flags, seq, ack, len), not {row!r}")
    direction, flags, seq, ack, length = row
    reasons = []
    if not _item_ok(direction, segment.direction, _direction):
        reasons.append(f"direction is {segment.direction}")
    if not _item_ok(flags, segment.flags, Flags.parse):
        reasons.append(f"flags are {segment.flags}, not {_show(flags)}")
    for name, want, got in (("seq", seq, segment.seq), ("ack", ack, segment.ack),
                            ("len", length, segment.len)):
        if not _item_ok(want, got):
            reasons.append(f"{name} is {_show(got)}, not {_show(want)}")
    return "; ".join(reasons)


def _flows(packets: Packets) -> dict[tuple[int, int], list[Packet]]:
    """TCP packets by connection (its two endpoints, lower first), in order."""
    if isinstance(packets, Capture):
        return packets.tcp_table().flows
    flows: dict[tuple[int, int], list[Packet]] = {}
    for p in packets:
        k = p._kinds
        if k < 0:
            k = p._classify()
        if k & K.TCP:
            a, b = endpoints(p)
            flows.setdefault((a, b) if a < b else (b, a), []).append(p)
    return flows


def _first_syn(flows, want_client, want_server) -> Packet | None:
    """The earliest SYN (without ACK) from a client and to a server that fit."""
    found = None
    for (low, high), flow in flows.items():
        if not ((_fits(want_client, low) and _fits(want_server, high))
                or (_fits(want_client, high) and _fits(want_server, low))):
            continue
        for p in flow:
            if p._buf[p._l4 + 13] & 0x12 == 0x02:
                a, b = endpoints(p)
                if _fits(want_client, a) and _fits(want_server, b):
                    if found is None or (p.tns, p.index) < (found.tns, found.index):
                        found = p
                    break
    return found


@pausing
def conversation(packets, client=None, server=None, *, syn: Packet | None = None) -> Conversation:
    """The TCP connection between ``client`` and ``server`` (each ``"ip:port"``,
    ``(ip, port)``, or just ``"ip"``), or of the given ``syn`` packet, or of
    the first SYN in ``packets``.  It starts at its SYN when there is one and
    stops before a new SYN reuses the same ports."""
    if not isinstance(packets, Packets):
        packets = Packets(list(packets))
    flows = _flows(packets)
    want_client, want_server = _endpoint(client), _endpoint(server)
    start = syn if syn is not None else _first_syn(flows, want_client, want_server)
    if start is not None:
        c, s = endpoints(start)
    elif None not in (*want_client, *want_server):
        c = want_client[0] << 16 | want_client[1]
        s = want_server[0] << 16 | want_server[1]
    else:
        wanted = f"client {client or 'any'}, server {server or 'any'}"
        tcp_packets = [p for flow in flows.values() for p in flow][:10]
        raise ExpectationFailed(f"no TCP SYN ({wanted}) among {len(packets)} packets "
                                f"({', '.join(packets.points)})",
                                listing("TCP packets:", tcp_packets, packets.start, limit=10),
                                tcp_packets)
    flow = flows.get((c, s) if c < s else (s, c), [])
    segments: list[Segment] = []
    tracker = IsnTracker()
    first_syn: dict[str, int] = {}
    begun = start is None
    for index, p in enumerate(flow):
        if p is start:
            begun = True
        if not begun:
            continue
        if endpoints(p)[0] == c:
            direction, other = CLIENT_TO_SERVER, SERVER_TO_CLIENT
        else:
            direction, other = SERVER_TO_CLIENT, CLIENT_TO_SERVER
        t = p.tcp
        flags, seq_raw, ack_raw = t.flags, t.seq_raw, t.ack_raw
        if "S" in flags and first_syn.setdefault(direction, seq_raw) != seq_raw:
            break                           # a new connection on the same ports
        tracker.observe(direction, other, index, flags.value, seq_raw, ack_raw)
        ack = None
        if "A" in flags:
            ack = (ack_raw - tracker.isn(other, index)) & _MASK
        segments.append(Segment(len(segments) + 1, direction, flags,
                                (seq_raw - tracker.isn(direction, index)) & _MASK, ack, t.len,
                                p))
    return Conversation(_show_endpoint(c), _show_endpoint(s), segments, packets.start)
