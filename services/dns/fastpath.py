"""Cache hits answered from wire data, without dnslib.

A full answer (:class:`~services.dns.server.RequestHandler`) parses the
query with dnslib, runs the resolver and packs the reply: some hundred
microseconds of Python for what, on a cache hit, is the same bytes as last
time but for the ID, two flag bits and the TTLs.  So when a UDP query was
answered entirely from the cache, the packed reply is kept as a
:class:`WireAnswer`, keyed by the query's question section exactly as it
came (name bytes, type, class); the next UDP query with the same question
is answered from it:

- the header: the query's ID, then QR=1, RA=1, the query's RD and CD, AA,
  TC, Z and AD clear, the rcode of the answer; exactly what the full path
  sets (checked against the full path's reply when the answer is kept);
- the question: the query's own bytes, which are the key;
- the answer and authority sections as the full path packed them, with
  every TTL rewritten to the time its cache entry has left (whole seconds,
  as the cache counts them: the offset of each TTL is kept, and the
  sections are re-encoded only when one of the TTLs changes, about once a
  second);
- when the query carries an EDNS OPT record, the OPT record the full path
  adds (our UDP size, no options), and the same size limit: an answer that
  does not fit the client's size goes to the full path, which truncates.

The key is the exact question, case included: dnslib compresses names
case-sensitively, so the bytes of the full path's reply depend on the case
the client used.  A name asked in a new spelling is answered once by the
full path (a cache hit there: the cache ignores case) and from then on from
its own wire answer, byte for byte what the full path would send.

Only what the full path would answer the same way qualifies: a standard
query (QR=0, opcode QUERY), one question with a plain uncompressed name, no
answer or authority records, either no additional record or exactly one
well-formed OPT record with the root name, and nothing after it.  Anything
else (misses, TCP, other opcodes, FORMERR cases, EDNS variants, answers
that need truncation) takes the full path, unchanged.  The cache drops a
wire answer as soon as one of the entries its lookup read changes, and it
is not served once one of them has expired (see
:meth:`services.dns.cache.DNSCache.put_wire`); serving it marks those
entries recently used, as the lookup would.

The query log gets the line the full path would write (``cache=hit
upstream=0``), with the client, ID and time of this query.
"""

from __future__ import annotations

import math
import struct

from dnslib import RCODE

from .cache import DNSCache
from .querylog import QueryLog

HEADER_LEN = 12
PLAIN_COUNTS = b"\x00\x01\x00\x00\x00\x00\x00\x00"     # QD=1, AN=NS=AR=0
EDNS_COUNTS = b"\x00\x01\x00\x00\x00\x00\x00\x01"      # QD=1, AR=1 (the OPT)
OPT_TYPE = b"\x00\x29"
_TTL = struct.Struct("!I")
_SERVED_RCODES = (RCODE.NOERROR, RCODE.NXDOMAIN)


class WireAnswer:
    """One kept reply: question, sections, TTL offsets and expiries, and
    the tail of its query-log line.  ``expires``, ``touch`` and
    ``depends`` are set by the cache when it takes the answer."""

    __slots__ = ("question", "body", "slots", "counts", "flags", "opt", "log_tail",
                 "rendered", "expires", "touch", "depends")

    def __init__(self, question: bytes, body: bytes, slots: tuple, an_ns: tuple[int, int],
                 rcode: int, opt: bytes, log_tail: str):
        self.question = question
        self.body = body
        self.slots = slots                    # (offset of a TTL in body, its entry's expiry)
        self.counts = struct.pack("!HHH", 1, *an_ns)
        self.opt = opt
        self.log_tail = log_tail
        # the flag bytes for each (RD, CD) of the query: index RD | CD << 1
        self.flags = tuple(bytes((0x80 | rd, 0x80 | (cd << 4) | rcode))
                           for cd in (0, 1) for rd in (0, 1))
        self.rendered = (-math.inf, b"", b"")  # (valid before, plain rest, EDNS rest)
        self.expires = -math.inf
        self.touch: tuple = ()
        self.depends: tuple = ()

    def render(self, now: float) -> tuple[float, bytes, bytes]:
        """The reply after the ID and flags, with the TTLs of ``now``, and
        until when those TTLs hold (for the plain and the EDNS query)."""
        body = bytearray(self.body)
        valid = math.inf
        for offset, expires in self.slots:
            ttl = max(0, math.floor(expires - now))
            _TTL.pack_into(body, offset, ttl)
            valid = min(valid, expires - ttl)
        body = bytes(body)
        rest = self.question + body
        rendered = (valid, self.counts + b"\x00\x00" + rest,
                    self.counts + b"\x00\x01" + rest + self.opt)
        self.rendered = rendered              # one assignment: readers see old or new
        return rendered


def parse_query(data: bytes) -> tuple[bytes, int | None] | None:
    """``(question bytes, client EDNS UDP size or None)`` for a query the
    fast path may answer, ``None`` for anything else."""
    if len(data) < HEADER_LEN + 5 or data[2] & 0xF8:          # QR=1, or an opcode
        return None
    counts = data[4:12]
    if counts == PLAIN_COUNTS:
        end, udp_size = len(data), None
    elif counts == EDNS_COUNTS:
        end, udp_size = _opt_start(data), None
        if end is None:
            return None
        udp_size = (data[end + 3] << 8) | data[end + 4]
    else:
        return None
    question = data[HEADER_LEN:end]
    if _name_end(question, 0) != len(question) - 4:
        return None
    return question, udp_size


def _name_end(data: bytes, offset: int) -> int | None:
    """Where an uncompressed name starting at ``offset`` ends (after its
    root label), or ``None``."""
    try:
        while True:
            length = data[offset]
            if length == 0:
                return offset + 1
            if length > 63:                   # a pointer or an extended label type
                return None
            offset += length + 1
    except IndexError:
        return None


def _opt_start(data: bytes) -> int | None:
    """Where the OPT record of a one-question, one-additional query starts,
    when it is a well-formed OPT with the root name ending the message."""
    name_end = _name_end(data, HEADER_LEN)
    if name_end is None:
        return None
    start = name_end + 4
    if len(data) < start + 11 or data[start] != 0 or data[start + 1:start + 3] != OPT_TYPE:
        return None
    rdlength = (data[start + 9] << 8) | data[start + 10]
    end = start + 11 + rdlength
    if end != len(data):
        return None
    offset = start + 11                       # options: code, length, data (dnslib's reading)
    while end - offset > 4:
        offset += 4 + ((data[offset + 2] << 8) | data[offset + 3])
        if offset > end:
            return None
    return start


def _skip_name(data: bytes, offset: int) -> int | None:
    """Past a possibly compressed name in a packed message."""
    try:
        while True:
            length = data[offset]
            if length == 0:
                return offset + 1
            if length & 0xC0 == 0xC0:
                return offset + 2
            if length > 63:
                return None
            offset += length + 1
    except IndexError:
        return None


class FastPath:
    """Answers cache hits of one resolver from :class:`WireAnswer`\\ s kept in
    its cache, and keeps new ones from the full path's replies."""

    def __init__(self, cache: DNSCache, log: QueryLog, *, classic_limit: int, edns_limit: int,
                 opt_reply: bytes):
        self.cache = cache
        self.log = log
        self.classic_limit = classic_limit    # the most a client without EDNS gets
        self.edns_limit = edns_limit          # the most anyone gets over UDP
        self.opt_reply = opt_reply            # the OPT record the full path adds
        self.answered = 0                     # queries answered here (for tests and stats)

    def answer(self, data: bytes, client, lines: list | None) -> bytes | None:
        """The reply to one UDP query, or ``None``: take the full path.
        With ``lines``, the query-log line is appended to it."""
        if len(data) < HEADER_LEN + 5 or data[2] & 0xF8:      # QR=1, or an opcode
            return None
        if data[4:12] == PLAIN_COUNTS:
            # no need to check the name: only a whole, valid question is a key
            question, udp_size = data[HEADER_LEN:], None
        else:
            parsed = parse_query(data)
            if parsed is None:
                return None
            question, udp_size = parsed
        found = self.cache.get_wire(question)
        if found is None:
            return None
        wire, now = found
        valid, plain, edns = wire.rendered
        if now >= valid:
            valid, plain, edns = wire.render(now)
        if udp_size is None:
            rest, limit = plain, self.classic_limit
        else:
            rest, limit = edns, min(max(udp_size, self.classic_limit), self.edns_limit)
        if len(rest) + 4 > limit:
            return None                       # the full path truncates
        reply = data[:2] + wire.flags[(data[2] & 0x01) | ((data[3] >> 3) & 0x02)] + rest
        if lines is not None:
            lines.append(self.log.fast_line(client, "udp", (data[0] << 8) | data[1],
                                            wire.log_tail))
        self.answered += 1
        return reply

    def learn(self, data: bytes, reply, packed: bytes, handler) -> bool:
        """Keep the full path's ``packed`` reply to the UDP query ``data``
        as a wire answer, when it came from the cache alone and the fast
        path would rebuild exactly these bytes.  ``True`` when kept."""
        trace = getattr(handler, "trace", None)
        if trace is None or trace.exchanges or not trace.cache_hits or trace.reason \
                or getattr(handler, "reason", ""):
            return False
        parsed = parse_query(data)
        if parsed is None or reply.header.tc:
            return False
        question, udp_size = parsed
        rcode = packed[3] & 0x0F
        if rcode not in _SERVED_RCODES or packed[HEADER_LEN:HEADER_LEN + len(question)] != question:
            return False
        an, ns, ar = struct.unpack("!HHH", packed[6:12])
        records = list(reply.rr) + list(reply.auth)
        if packed[4:6] != b"\x00\x01" or len(records) != an + ns or not records:
            return False
        expiries = [getattr(rr, "cached_until", None) for rr in records]
        if None in expiries:
            return False
        start = offset = HEADER_LEN + len(question)
        slots = []
        for expires in expiries:
            offset = _skip_name(packed, offset)
            if offset is None or offset + 10 > len(packed):
                return False
            slots.append((offset + 4 - start, expires))
            offset += 10 + ((packed[offset + 8] << 8) | packed[offset + 9])
        body = packed[start:offset]
        if (ar, packed[offset:]) != ((0, b"") if udp_size is None else (1, self.opt_reply)):
            return False
        fields, _ = self.log.reply_fields(handler, reply)
        if list(fields)[:3] != ["client", "proto", "id"]:
            return False
        wire = WireAnswer(question, body, tuple(slots), (an, ns), rcode, self.opt_reply,
                          self.log.line_tail(fields))
        expected = packed[2:4]
        if wire.flags[(data[2] & 0x01) | ((data[3] >> 3) & 0x02)] != expected:
            return False                      # the full path set flags we would not
        return self.cache.put_wire(question, wire, trace.consulted)
