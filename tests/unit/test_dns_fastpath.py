"""The resolver's fast path (services/dns/fastpath.py): cache hits answered
from kept wire data, and everything else left to the full dnslib path.

The rule checked throughout: a fast answer is, byte for byte, the reply the
full path gives to the same query at the same moment.  The full path is
reached over TCP (never fast) with the same query bytes, and the cache's
clock is a fake one, so both see the same TTLs.  An upstream authoritative
server on 127.0.0.81, the resolver (forward mode) on 127.0.0.82; nothing
here needs root.
"""

from __future__ import annotations

import io
import random
import socket
import struct
import threading

import pytest
from dnslib import EDNS0, QTYPE, RCODE, RR, DNSRecord, EDNSOption

from services.dns.authoritative import AuthoritativeResolver
from services.dns.cache import DNSCache
from services.dns.endpoint import Endpoint
from services.dns.fastpath import parse_query
from services.dns.querylog import QueryLog
from services.dns.recursion import Forwarder
from services.dns.resolver import CachingResolver
from services.dns.server import DNSService
from services.dns.upstream import Upstream
from services.dns.zone import Zone

pytestmark = pytest.mark.timeout(60)

UPSTREAM, RESOLVER = "127.0.0.81", "127.0.0.82"
BIG = 40
ZONE = [
    "example.com. 300 IN SOA ns1.example.com. admin.example.com. 1 300 300 3600 60",
    "example.com. 300 IN NS ns1.example.com.",
    "ns1.example.com. 300 IN A 192.0.2.53",
    "www.example.com. 120 IN A 93.184.216.34",
    "multi.example.com. 300 IN A 198.51.100.1",
    "multi.example.com. 300 IN A 198.51.100.2",
    "alias.example.com. 300 IN CNAME www.example.com.",
    "brief.example.com. 5 IN A 192.0.2.5",
    'txt.example.com. 300 IN TXT "hello"',
] + [f'big.example.com. 300 IN TXT "record {i:02d} of an RRset too big for 512 bytes"'
     for i in range(BIG)] + [
    f'mid.example.com. 300 IN TXT "record {i:02d} of an RRset between 512 and 1232 bytes"'
    for i in range(12)]


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class Recording(AuthoritativeResolver):
    def __init__(self, zones):
        super().__init__(zones)
        self.seen = []

    def resolve(self, request, handler):
        self.seen.append((str(request.q.qname), QTYPE[request.q.qtype]))
        return super().resolve(request, handler)


@pytest.fixture(scope="module")
def upstream():
    authority = Recording([Zone.from_lines("example.com.", ZONE, "example.com.")])
    service = DNSService(authority, UPSTREAM, 0, QueryLog(None)).start()
    service.authority = authority
    yield service
    service.stop()


class Resolver:
    """A resolver with a fake clock and an in-memory query log."""

    def __init__(self, upstream, max_entries=10000):
        self.clock = Clock()
        self.cache = DNSCache(max_entries=max_entries, clock=self.clock)
        self.stream = io.StringIO()
        self.log = QueryLog(self.stream)
        forwarder = Forwarder(Upstream(timeout=1.0, attempts=1),
                              [Endpoint(UPSTREAM, upstream.port)])
        self.service = DNSService(CachingResolver(forwarder, self.cache), RESOLVER, 0, self.log)
        self.service.start()
        self.port = self.service.port

    @property
    def fast(self) -> int:
        return self.service.fastpath.answered

    def udp(self, payload: bytes, timeout=2.0) -> bytes | None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(timeout)
            sock.sendto(payload, (RESOLVER, self.port))
            try:
                return sock.recvfrom(65535)[0]
            except socket.timeout:
                return None

    def tcp(self, payload: bytes) -> bytes:
        with socket.create_connection((RESOLVER, self.port), timeout=5) as conn:
            conn.sendall(struct.pack("!H", len(payload)) + payload)
            length = struct.unpack("!H", _recv(conn, 2))[0]
            return _recv(conn, length)

    def fast_udp(self, payload: bytes) -> bytes:
        """A UDP reply that the fast path gave (asserted)."""
        before = self.fast
        reply = self.udp(payload)
        assert reply is not None and self.fast == before + 1, "not answered by the fast path"
        return reply

    def slow_udp(self, payload: bytes) -> bytes | None:
        """A UDP reply that the full path gave (asserted)."""
        before = self.fast
        reply = self.udp(payload)
        assert self.fast == before, "answered by the fast path"
        return reply

    def warm(self, payload: bytes) -> None:
        """Ask twice over UDP: a miss, then a full-path cache hit that
        leaves a wire answer behind."""
        self.slow_udp(payload)
        self.slow_udp(payload)

    def lines(self) -> list[dict]:
        out = []
        for line in self.stream.getvalue().splitlines():
            stamp, _, rest = line.partition(" ")
            fields = dict(part.split("=", 1) for part in rest.split(" "))
            fields["time"] = stamp
            out.append(fields)
        return out

    def close(self):
        self.service.stop()


def _recv(conn, count):
    data = b""
    while len(data) < count:
        chunk = conn.recv(count - len(data))
        assert chunk, "connection closed early"
        data += chunk
    return data


@pytest.fixture
def resolver(upstream):
    running = []

    def start(**kwargs) -> Resolver:
        running.append(Resolver(upstream, **kwargs))
        return running[-1]

    yield start
    for r in running:
        r.close()


def query(name, qtype="A", qid=0x1234, edns=None, options=(), **flags) -> bytes:
    q = DNSRecord.question(name, qtype)
    q.header.id = qid
    for flag, value in flags.items():
        setattr(q.header, flag, value)
    if edns is not None:
        q.add_ar(EDNS0(udp_len=edns, opts=[EDNSOption(code, data) for code, data in options]))
    return q.pack()


def ttls(reply: bytes) -> list[int]:
    record = DNSRecord.parse(reply)
    return [rr.ttl for rr in record.rr + record.auth]


# -- byte for byte what the full path sends ---------------------------------------
@pytest.mark.parametrize("name, qtype", [
    ("www.example.com", "A"),            # one record
    ("multi.example.com", "A"),          # an RRset
    ("alias.example.com", "A"),          # a CNAME chain: two cache entries
    ("alias.example.com", "CNAME"),
    ("txt.example.com", "TXT"),
    ("nope.example.com", "A"),           # NXDOMAIN with its SOA
    ("www.example.com", "AAAA"),         # NODATA with its SOA
])
def test_fast_answer_is_the_full_paths_reply(resolver, name, qtype):
    r = resolver()
    payload = query(name, qtype)
    r.warm(payload)
    fast = r.fast_udp(payload)
    assert fast == r.tcp(payload)
    expected = RCODE.NXDOMAIN if name.startswith("nope") else RCODE.NOERROR
    assert DNSRecord.parse(fast).header.rcode == expected


def test_every_combination_of_query_flags(resolver):
    r = resolver()
    r.warm(query("www.example.com"))
    for bits in range(32):
        flags = dict(rd=bits & 1, cd=bits >> 1 & 1, ad=bits >> 2 & 1, aa=bits >> 3 & 1,
                     tc=bits >> 4 & 1)
        payload = query("www.example.com", **flags)
        fast = r.fast_udp(payload)
        assert fast == r.tcp(payload), flags
        header = DNSRecord.parse(fast).header
        assert (header.qr, header.ra, header.aa, header.tc, header.ad) == (1, 1, 0, 0, 0)
        assert (header.rd, header.cd) == (flags["rd"], flags["cd"])


def test_query_id_is_the_clients(resolver):
    r = resolver()
    r.warm(query("www.example.com"))
    for qid in (0, 1, 0xBEEF, 0xFFFF, random.randrange(65536)):
        fast = r.fast_udp(query("www.example.com", qid=qid))
        assert DNSRecord.parse(fast).header.id == qid
        assert fast == r.tcp(query("www.example.com", qid=qid))


# -- TTLs and expiry ---------------------------------------------------------------
def test_ttls_count_down_in_fast_answers(resolver):
    r = resolver()
    payload = query("alias.example.com")
    r.warm(payload)
    assert ttls(r.fast_udp(payload)) == [300, 120]
    r.clock.now += 10.5
    assert ttls(r.fast_udp(payload)) == [289, 109]        # whole seconds left, as the cache counts
    r.clock.now += 0.4                                    # still 289.1 and 109.1 left
    assert ttls(r.fast_udp(payload)) == [289, 109]
    r.clock.now += 0.2                                    # 288.9 and 108.9
    fast = r.fast_udp(payload)
    assert ttls(fast) == [288, 108] and fast == r.tcp(payload)


def test_expired_entry_is_not_served_fast(resolver, upstream):
    r = resolver()
    payload = query("brief.example.com")
    r.warm(payload)
    assert ttls(r.fast_udp(payload)) == [5]
    r.clock.now += 4.5
    assert ttls(r.fast_udp(payload)) == [0]               # half a second left: still cached
    r.clock.now += 0.5                                    # gone: the full path asks upstream
    upstream.authority.seen.clear()
    reply = r.slow_udp(payload)
    assert ttls(reply) == [5] and upstream.authority.seen == [("brief.example.com.", "A")]
    assert r.lines()[-1]["cache"] == "miss"


def test_part_of_a_cname_chain_expiring_ends_the_fast_answer(resolver):
    r = resolver()
    payload = query("alias.example.com")
    r.warm(payload)
    r.clock.now += 120                                    # the A record (120 s) is gone, the CNAME is not
    reply = r.slow_udp(payload)
    assert ttls(reply) == [180, 120]
    assert r.lines()[-1]["cache"] == "partial"


def test_a_changed_cache_entry_is_not_served_fast(resolver):
    r = resolver()
    payload = query("www.example.com")
    r.warm(payload)
    r.fast_udp(payload)
    r.cache.put_rrset(RR.fromZone("www.example.com. 60 IN A 192.0.2.99"))
    reply = r.slow_udp(payload)
    assert [str(rr.rdata) for rr in DNSRecord.parse(reply).rr] == ["192.0.2.99"]
    assert ttls(r.fast_udp(payload)) == [60]
    r.cache.clear()
    assert r.slow_udp(payload) and r.lines()[-1]["cache"] == "miss"


def test_a_name_that_appears_where_a_cname_was_followed(resolver):
    # alias's wire answer was built by following its CNAME; an A record for
    # alias itself would win over the CNAME in a full lookup
    r = resolver()
    payload = query("alias.example.com")
    r.warm(payload)
    r.cache.put_rrset(RR.fromZone("alias.example.com. 60 IN A 192.0.2.77"))
    reply = r.slow_udp(payload)
    assert [str(rr.rdata) for rr in DNSRecord.parse(reply).rr] == ["192.0.2.77"]


def test_fast_hits_keep_entries_recently_used(resolver):
    r = resolver(max_entries=2)
    first, second = query("www.example.com"), query("txt.example.com", "TXT")
    r.warm(first)
    r.warm(second)
    r.fast_udp(first)                                     # www is now the most recently used
    r.cache.put_rrset(RR.fromZone("new.example.com. 60 IN A 192.0.2.1"))
    assert r.cache.get_rrset("www.example.com.", QTYPE.A) is not None
    assert r.cache.get_rrset("txt.example.com.", QTYPE.TXT) is None
    assert r.slow_udp(second)                             # evicted: asked upstream again
    assert r.lines()[-1]["cache"] == "miss"


# -- case ----------------------------------------------------------------------------
def test_mixed_case_keeps_the_clients_spelling(resolver):
    r = resolver()
    r.warm(query("www.example.com"))
    payload = query("WwW.ExAmPlE.cOm")
    first = r.slow_udp(payload)                           # a cache hit, in the full path
    assert r.lines()[-1]["cache"] == "hit"
    fast = r.fast_udp(payload)                            # and fast from then on
    assert fast == first == r.tcp(payload)
    record = DNSRecord.parse(fast)
    assert str(record.q.qname) == "WwW.ExAmPlE.cOm."       # the question as asked (RFC 4343)
    assert [(str(rr.rname), str(rr.rdata)) for rr in record.rr] == \
        [("www.example.com.", "93.184.216.34")]           # the owner name as cached
    assert r.fast_udp(query("www.example.com")) == r.tcp(query("www.example.com"))
    assert r.lines()[-1]["qname"] == "www.example.com."
    r.fast_udp(payload)
    assert r.lines()[-1]["qname"] == "WwW.ExAmPlE.cOm."


# -- EDNS ----------------------------------------------------------------------------
@pytest.mark.parametrize("edns, options", [
    (4096, ()), (512, ()), (1232, ()), (100, ()),         # below 512 counts as 512
    (4096, [(10, b"clientck")]),                          # a client cookie, as dig sends
])
def test_edns_query_gets_the_full_paths_opt(resolver, edns, options):
    r = resolver()
    payload = query("multi.example.com", edns=edns, options=options)
    r.warm(payload)
    fast = r.fast_udp(payload)
    assert fast == r.tcp(payload)
    record = DNSRecord.parse(fast)
    assert [(QTYPE[rr.rtype], rr.edns_len) for rr in record.ar] == [("OPT", 1232)]
    assert len(record.rr) == 2


def test_plain_and_edns_queries_share_the_wire_answer(resolver):
    r = resolver()
    r.warm(query("www.example.com"))
    payload = query("www.example.com", edns=4096)
    assert r.fast_udp(payload) == r.tcp(payload)


def test_answer_between_512_and_1232_bytes_is_fast_for_edns_clients_only(resolver):
    r = resolver()
    plain, edns = query("mid.example.com", "TXT"), query("mid.example.com", "TXT", edns=1232)
    r.warm(edns)
    fast = r.fast_udp(edns)
    assert 512 < len(fast) <= 1232 and fast == r.tcp(edns)
    assert len(DNSRecord.parse(fast).rr) == 12
    for _ in range(2):                                    # never fast: it must be truncated
        record = DNSRecord.parse(r.slow_udp(plain))
        assert record.header.tc == 1 and not record.rr
    small = query("mid.example.com", "TXT", edns=600)     # a client that takes 600 bytes
    assert DNSRecord.parse(r.slow_udp(small)).header.tc == 1


def test_answer_too_big_for_the_client_goes_to_the_full_path(resolver):
    r = resolver()
    plain, edns = query("big.example.com", "TXT"), query("big.example.com", "TXT", edns=4096)
    r.slow_udp(edns)                                      # miss: fetched over TCP upstream
    r.slow_udp(edns)
    small = r.slow_udp(plain)                             # 512 bytes: truncated by the full path
    record = DNSRecord.parse(small)
    assert record.header.tc == 1 and not record.rr and str(record.q.qname) == "big.example.com."
    assert r.lines()[-1]["tc"] == "1"
    # over 1232 bytes: even the EDNS client gets TC=1, from the full path
    reply = r.slow_udp(edns)
    assert DNSRecord.parse(reply).header.tc == 1


@pytest.mark.parametrize("payload", [
    # an OPT whose option claims more bytes than there are: FORMERR, as before
    bytes.fromhex("12340100 0001 0000 0000 0001") + bytes.fromhex(
        "03777777076578616d706c6503636f6d00 0001 0001") + bytes.fromhex(
        "00 0029 1000 00000000 0006 000a 0010 4142"),
])
def test_malformed_edns_takes_the_full_path(resolver, payload):
    r = resolver()
    r.warm(query("www.example.com"))
    reply = DNSRecord.parse(r.slow_udp(payload))
    assert reply.header.rcode == RCODE.FORMERR and reply.header.id == 0x1234


# -- what is never fast ----------------------------------------------------------------
def test_odd_queries_take_the_full_path(resolver):
    r = resolver()
    payload = query("www.example.com")
    r.warm(payload)
    two = DNSRecord.parse(payload)
    two.add_question(DNSRecord.question("txt.example.com").q)
    assert DNSRecord.parse(r.slow_udp(two.pack())).header.rcode == RCODE.FORMERR
    notify = bytearray(payload)
    notify[2] |= 4 << 3                                   # opcode NOTIFY
    assert DNSRecord.parse(r.slow_udp(bytes(notify))).header.rcode == RCODE.NOTIMP
    response = bytearray(payload)
    response[2] |= 0x80                                   # QR=1: dropped, not answered
    assert r.slow_udp(bytes(response)) is None
    chaos = query("www.example.com")
    chaos = chaos[:-2] + b"\x00\x03"                      # class CH: refused
    assert DNSRecord.parse(r.slow_udp(chaos)).header.rcode == RCODE.REFUSED
    trailing = payload + b"\x00"                          # a byte after the question
    assert r.slow_udp(trailing) is not None
    assert r.fast_udp(payload) == r.tcp(payload)          # and the plain one is still fast


def test_tcp_is_never_fast(resolver):
    r = resolver()
    payload = query("www.example.com")
    r.warm(payload)
    before = r.fast
    r.tcp(payload)
    assert r.fast == before and r.lines()[-1]["proto"] == "tcp"


def test_servers_other_than_the_caching_resolver_have_no_fast_path(upstream):
    assert upstream.fastpath is None


# -- the query log ----------------------------------------------------------------------
def test_query_log_line_for_every_fast_answer(resolver):
    r = resolver()
    payload = query("alias.example.com", qid=4711)
    r.warm(payload)
    for qid in (1, 2, 3):
        r.fast_udp(query("alias.example.com", qid=qid))
    lines = r.lines()
    assert len(lines) == 5 == r.log.queries and r.log.upstream_queries == 1
    slow, fast = lines[1], lines[2:]
    assert [line["id"] for line in fast] == ["1", "2", "3"]
    for line in fast:
        assert line["proto"] == "udp" and line["client"].startswith("127.0.0.1:")
        assert {k: v for k, v in line.items() if k not in ("time", "client", "id")} == \
            {k: v for k, v in slow.items() if k not in ("time", "client", "id")}
    assert fast[0]["cache"] == "hit" and fast[0]["upstream"] == "0" and fast[0]["answers"] == "2"
    assert fast[0]["time"].endswith("Z") and len(fast[0]["time"]) == len("2025-11-21T08:40:01.234Z")


def test_query_log_file_is_written_before_the_reply(tmp_path, upstream):
    log_path = tmp_path / "q.log"
    log = QueryLog.open(log_path)
    cache = DNSCache()
    forwarder = Forwarder(Upstream(timeout=1.0), [Endpoint(UPSTREAM, upstream.port)])
    service = DNSService(CachingResolver(forwarder, cache), RESOLVER, 0, log).start()
    try:
        payload = query("www.example.com")
        for count in range(1, 6):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.settimeout(2)
                sock.sendto(payload, (RESOLVER, service.port))
                sock.recvfrom(65535)
            assert len(log_path.read_text().splitlines()) == count
        assert service.fastpath.answered == 3
    finally:
        service.stop()
        log.close()


def test_many_clients_at_once(resolver):
    r = resolver()
    names = ["www.example.com", "multi.example.com", "alias.example.com", "nope.example.com"]
    for name in names:
        r.warm(query(name))
    expected = {name: r.tcp(query(name)) for name in names}
    errors = []

    def client(index):
        for n in range(50):
            name = names[(index + n) % len(names)]
            reply = r.udp(query(name), timeout=5)
            if reply != expected[name]:
                errors.append((name, reply))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(r.lines()) == r.log.queries == 8 * 50 + 2 * len(names) + len(names)


# -- parsing -------------------------------------------------------------------------------
def test_parse_query():
    plain = query("www.example.com")
    assert parse_query(plain) == (plain[12:], None)
    assert parse_query(query("www.example.com", edns=4096))[1] == 4096
    assert parse_query(query("www.example.com", edns=4096, options=[(10, b"x" * 8)]))[1] == 4096
    assert parse_query(plain + b"\x00") is None                      # trailing byte
    assert parse_query(plain[:-1]) is None                           # short question
    assert parse_query(plain[:12] + b"\xc0\x0c\x00\x01\x00\x01") is None   # compressed name
    assert parse_query(b"\x12\x34\x81\x00" + plain[4:]) is None      # a response
