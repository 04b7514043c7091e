"""The dnslib recursive resolver of services/dns, against an emulated DNS
hierarchy on loopback.

The hierarchy is the zone data of ``topologies/internet.py`` (root ->
``com.`` -> ``baidu.com.``) with its addresses rewritten to 127.0.0.21-23, plus
test zones on 127.0.0.24 (``example.com.``, and ``glueless.com.`` whose name
server has no glue).  All authoritative servers share one unprivileged port,
picked free for the module.  Nothing here needs root.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from dnslib import EDNS0, QTYPE, RCODE, DNSRecord

from services.dns.authoritative import AuthoritativeResolver
from services.dns.cache import DNSCache
from services.dns.config import parse_config, render_resolver_config
from services.dns.daemon import build_service
from services.dns.querylog import QueryLog
from services.dns.server import BindError, DNSService
from services.dns.zone import Zone
from tests.integration import garbage_dns_query
from topologies.internet import ZONES

pytestmark = pytest.mark.timeout(60)

REPO = Path(__file__).resolve().parents[2]
ROOT, TLD, AUTH, EXAMPLE = "127.0.0.21", "127.0.0.22", "127.0.0.23", "127.0.0.24"
RESOLVER, FORWARDER, BLACKHOLE = "127.0.0.31", "127.0.0.32", "127.0.0.41"
REWRITE = {"198.41.0.4": ROOT, "192.5.6.30": TLD, "202.108.22.220": AUTH}


def _loopback(lines):
    out = []
    for line in lines:
        for public, local in REWRITE.items():
            line = line.replace(public, local)
        out.append(line)
    return out


TXT_COUNT = 40
HIERARCHY = {
    ROOT: {zone: _loopback(lines) for zone, lines in ZONES["root"].items()},
    TLD: {"com.": _loopback(ZONES["tld"]["com."]) + [
        "example.com. 172800 IN NS ns1.example.com.",
        f"ns1.example.com. 172800 IN A {EXAMPLE}",
        # glueless: its name server's address is only in example.com.
        "glueless.com. 172800 IN NS ns2.example.com.",
        # lame: delegated to the com. server itself, which only refers again
        "lame.com. 172800 IN NS ns.lame.com.",
        f"ns.lame.com. 172800 IN A {TLD}",
    ]},
    AUTH: {"baidu.com.": _loopback(ZONES["auth"]["baidu.com."]) + [
        "alias.baidu.com. 300 IN CNAME www.example.com.",
        "loop1.baidu.com. 300 IN CNAME loop2.baidu.com.",
        "loop2.baidu.com. 300 IN CNAME loop1.baidu.com.",
        "brief.baidu.com. 1 IN A 192.0.2.1",
    ] + [f'big.baidu.com. 300 IN TXT "record {i:02d} of a large RRset that needs TCP"'
         for i in range(TXT_COUNT)]},
    EXAMPLE: {
        "example.com.": [
            "example.com. 300 IN SOA ns1.example.com. admin.example.com. 1 300 300 3600 60",
            "example.com. 300 IN NS ns1.example.com.",
            f"ns1.example.com. 300 IN A {EXAMPLE}",
            f"ns2.example.com. 300 IN A {EXAMPLE}",
            "www.example.com. 120 IN A 93.184.216.34",
        ],
        "glueless.com.": [
            "glueless.com. 300 IN SOA ns2.example.com. admin.example.com. 1 300 300 3600 60",
            "glueless.com. 300 IN NS ns2.example.com.",
            "www.glueless.com. 300 IN A 192.0.2.80",
        ],
    },
}


class RecordingAuthority(AuthoritativeResolver):
    """An authoritative server that remembers what it was asked (name, type,
    RD flag, protocol), to see the queries the resolver sends."""

    def __init__(self, zones):
        super().__init__(zones)
        self.seen = []
        self.lock = threading.Lock()

    def resolve(self, request, handler):
        with self.lock:
            self.seen.append((str(request.q.qname), QTYPE[request.q.qtype],
                              request.header.rd, handler.protocol))
        return super().resolve(request, handler)


class Hierarchy:
    def __init__(self):
        self.services: dict[str, DNSService] = {}
        self.authorities: dict[str, RecordingAuthority] = {}
        self.port = 0

    def start(self):
        for _ in range(20):
            try:
                self._bind_all()
                break
            except BindError:
                self.stop()
        else:
            pytest.fail("no port free on 127.0.0.21-24 for both UDP and TCP")
        for service in self.services.values():
            service.start()
        return self

    def _bind_all(self):
        self.port = 0
        for address, zones in HIERARCHY.items():
            authority = RecordingAuthority(Zone.from_lines(origin, lines, origin)
                                           for origin, lines in zones.items())
            service = DNSService(authority, address, self.port, QueryLog(None))
            self.port = service.port
            self.services[address], self.authorities[address] = service, authority

    def stop(self):
        for service in self.services.values():
            service.stop()
        self.services.clear()

    def clear(self):
        for authority in self.authorities.values():
            with authority.lock:
                authority.seen.clear()

    def all_seen(self):
        return [q for a in self.authorities.values() for q in a.seen]


@pytest.fixture(scope="module")
def hierarchy():
    h = Hierarchy().start()
    yield h
    h.stop()


@pytest.fixture
def blackhole():
    """A UDP socket that receives and never answers: upstream timeouts."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((BLACKHOLE, 0))
    yield f"{BLACKHOLE}:{sock.getsockname()[1]}"
    sock.close()


class Running:
    def __init__(self, parts, log_path: Path):
        self.parts, self.log_path = parts, log_path
        self.port = parts.service.port
        self.address = parts.service.address

    def ask(self, name, qtype="A", tcp=False, edns=False, timeout=5.0) -> DNSRecord:
        return ask(self.address, self.port, name, qtype, tcp=tcp, edns=edns, timeout=timeout)

    def log(self):
        return read_log(self.log_path)


def ask(address, port, name, qtype="A", tcp=False, edns=False, timeout=5.0) -> DNSRecord:
    query = DNSRecord.question(name, qtype)
    if edns:
        query.add_ar(EDNS0(udp_len=4096))
    return DNSRecord.parse(query.send(address, port, tcp=tcp, timeout=timeout))


def read_log(path: Path) -> list[dict]:
    lines = []
    for line in path.read_text().splitlines():
        stamp, _, rest = line.partition(" ")
        fields = dict(part.split("=", 1) for part in rest.split(" "))
        fields["time"] = stamp
        lines.append(fields)
    return lines


@pytest.fixture
def start_resolver(tmp_path, hierarchy):
    """Start a resolver from a rendered config; stopped at teardown."""
    started = []

    def start(address=RESOLVER, **data) -> Running:
        log_path = tmp_path / f"query-{len(started)}.log"
        data.setdefault("mode", "recursive")
        if data["mode"] == "recursive":
            data.setdefault("root_hints", [("a.root-servers.net.", f"{ROOT}:{hierarchy.port}")])
            data.setdefault("nameserver_port", hierarchy.port)
        data.setdefault("timeout", 1.0)
        text = render_resolver_config(listen=address, port=0, query_log=str(log_path), **data)
        parts = build_service(parse_config(text))
        parts.service.start()
        started.append(parts)
        return Running(parts, log_path)

    yield start
    for parts in started:
        parts.close()


def answers(reply, qtype=None):
    return [(str(rr.rname), QTYPE[rr.rtype], str(rr.rdata)) for rr in reply.rr
            if qtype is None or rr.rtype == getattr(QTYPE, qtype)]


# -- iterative resolution ------------------------------------------------------
def test_iterative_resolution_root_tld_authoritative(start_resolver, hierarchy):
    hierarchy.clear()
    resolver = start_resolver()
    reply = resolver.ask("www.baidu.com")
    assert reply.header.rcode == RCODE.NOERROR
    assert answers(reply) == [("www.baidu.com.", "A", "61.135.169.125")]
    assert reply.header.ra == 1 and reply.header.aa == 0
    # root -> com. -> baidu.com., each asked once, plain iterative queries (RD=0)
    asked = [(a, q) for a, auth in hierarchy.authorities.items() for q in auth.seen]
    assert asked == [(ROOT, ("www.baidu.com.", "A", 0, "udp")),
                     (TLD, ("www.baidu.com.", "A", 0, "udp")),
                     (AUTH, ("www.baidu.com.", "A", 0, "udp"))]
    [line] = resolver.log()
    assert line["qname"] == "www.baidu.com." and line["qtype"] == "A"
    assert line["rcode"] == "NOERROR" and line["cache"] == "miss" and line["upstream"] == "3"
    assert line["client"].startswith("127.0.0.1:") and line["proto"] == "udp"
    assert line["via"].split(",")[0] == f"{ROOT}:{hierarchy.port}/udp:www.baidu.com./A:REFERRAL"


def test_referrals_are_cached_so_the_next_name_starts_at_baidu(start_resolver, hierarchy):
    resolver = start_resolver()
    resolver.ask("www.baidu.com")
    hierarchy.clear()
    reply = resolver.ask("news.baidu.com")
    assert reply.header.rcode == RCODE.NOERROR
    assert [q[0] for q in hierarchy.authorities[AUTH].seen] == ["news.baidu.com."]
    assert not hierarchy.authorities[ROOT].seen and not hierarchy.authorities[TLD].seen


def test_glueless_name_server_is_resolved_by_a_separate_lookup(start_resolver, hierarchy):
    hierarchy.clear()
    resolver = start_resolver()
    reply = resolver.ask("www.glueless.com")
    assert answers(reply) == [("www.glueless.com.", "A", "192.0.2.80")]
    names = [q[0] for q in hierarchy.authorities[EXAMPLE].seen]
    assert "ns2.example.com." in names and names[-1] == "www.glueless.com."


def test_lame_delegation_is_servfail(start_resolver):
    resolver = start_resolver()
    assert resolver.ask("www.lame.com").header.rcode == RCODE.SERVFAIL


def test_work_bound_ends_in_servfail(start_resolver):
    resolver = start_resolver(max_queries=2)   # www.baidu.com needs three
    reply = resolver.ask("www.baidu.com")
    assert reply.header.rcode == RCODE.SERVFAIL
    [line] = resolver.log()
    assert line["upstream"] == "2" and line["reason"].startswith("limit")


# -- cache -------------------------------------------------------------------
def test_cache_hit_counts_ttl_down_and_asks_no_one(start_resolver, hierarchy):
    resolver = start_resolver()
    first = resolver.ask("www.baidu.com")
    hierarchy.clear()
    second = resolver.ask("www.baidu.com")
    brief = resolver.ask("brief.baidu.com")             # TTL 1: gone after the wait
    time.sleep(1.1)                                     # a protocol timer: TTLs are seconds
    third = resolver.ask("www.baidu.com")
    assert first.rr[0].ttl == 300
    assert 299 <= second.rr[0].ttl <= 300
    assert third.rr[0].ttl <= second.rr[0].ttl - 1 and third.rr[0].ttl >= 0
    assert str(third.rr[0].rdata) == "61.135.169.125"
    assert [q[0] for q in hierarchy.all_seen()] == ["brief.baidu.com."]
    lines = resolver.log()
    assert [entry["cache"] for entry in lines] == ["miss", "hit", "miss", "hit"]
    assert [entry["upstream"] for entry in lines] == ["3", "0", "1", "0"]
    assert brief.rr[0].ttl == 1
    hierarchy.clear()
    again = resolver.ask("brief.baidu.com")              # expired: not served from cache
    assert again.rr[0].ttl == 1 and hierarchy.all_seen()


def test_nxdomain_with_soa_and_negative_caching(start_resolver, hierarchy):
    resolver = start_resolver()
    reply = resolver.ask("nope.baidu.com")
    assert reply.header.rcode == RCODE.NXDOMAIN and not reply.rr
    [soa] = reply.auth
    assert QTYPE[soa.rtype] == "SOA" and str(soa.rname) == "baidu.com." and soa.ttl == 600
    hierarchy.clear()
    cached = resolver.ask("nope.baidu.com", "MX")        # NXDOMAIN covers every type
    assert cached.header.rcode == RCODE.NXDOMAIN and QTYPE[cached.auth[0].rtype] == "SOA"
    assert cached.auth[0].ttl <= 600
    assert not hierarchy.all_seen()
    assert resolver.log()[-1]["cache"] == "hit"


def test_nodata_and_its_negative_caching(start_resolver, hierarchy):
    resolver = start_resolver()
    reply = resolver.ask("www.baidu.com", "AAAA")
    assert reply.header.rcode == RCODE.NOERROR and not reply.rr
    assert QTYPE[reply.auth[0].rtype] == "SOA"
    hierarchy.clear()
    again = resolver.ask("www.baidu.com", "AAAA")
    assert again.header.rcode == RCODE.NOERROR and not again.rr and again.auth
    assert not hierarchy.all_seen()
    # NODATA for AAAA says nothing about A
    assert answers(resolver.ask("www.baidu.com")) == [("www.baidu.com.", "A", "61.135.169.125")]


def test_cache_is_safe_under_concurrent_queries(start_resolver):
    resolver = start_resolver()
    names = ["www.baidu.com", "news.baidu.com", "nope.baidu.com", "www.example.com"] * 6
    with ThreadPoolExecutor(max_workers=12) as pool:
        replies = list(pool.map(lambda n: resolver.ask(n, timeout=10), names))
    for name, reply in zip(names, replies):
        expected = RCODE.NXDOMAIN if name.startswith("nope") else RCODE.NOERROR
        assert reply.header.rcode == expected, name


# -- CNAME ---------------------------------------------------------------------
def test_cname_chain_in_zone(start_resolver, hierarchy):
    resolver = start_resolver()
    reply = resolver.ask("news.baidu.com")
    assert answers(reply) == [("news.baidu.com.", "CNAME", "www.baidu.com."),
                              ("www.baidu.com.", "A", "61.135.169.125")]
    hierarchy.clear()
    cached = resolver.ask("news.baidu.com")             # both links from the cache
    assert answers(cached) == answers(reply) and not hierarchy.all_seen()


def test_cross_zone_cname_restarts_at_the_target(start_resolver, hierarchy):
    resolver = start_resolver()
    hierarchy.clear()
    reply = resolver.ask("alias.baidu.com")
    assert answers(reply) == [("alias.baidu.com.", "CNAME", "www.example.com."),
                              ("www.example.com.", "A", "93.184.216.34")]
    assert ("www.example.com.", "A", 0, "udp") in hierarchy.authorities[EXAMPLE].seen


def test_cname_loop_is_servfail(start_resolver):
    resolver = start_resolver()
    assert resolver.ask("loop1.baidu.com").header.rcode == RCODE.SERVFAIL


def test_cname_query_type_gets_the_cname_itself(start_resolver):
    resolver = start_resolver()
    reply = resolver.ask("news.baidu.com", "CNAME")
    assert answers(reply) == [("news.baidu.com.", "CNAME", "www.baidu.com.")]


# -- forward mode ---------------------------------------------------------------
def test_forward_mode_through_a_second_resolver(start_resolver, hierarchy):
    recursive = start_resolver(RESOLVER)
    forwarder = start_resolver(FORWARDER, mode="forward",
                               forwarders=[f"{RESOLVER}:{recursive.port}"])
    reply = forwarder.ask("www.baidu.com")
    assert answers(reply) == [("www.baidu.com.", "A", "61.135.169.125")]
    [line] = forwarder.log()
    assert line["upstream"] == "1"
    assert line["via"] == f"{RESOLVER}:{recursive.port}/udp:www.baidu.com./A:NOERROR"
    assert recursive.log()[0]["upstream"] == "3"
    # dns-chain step 4: the second lookup stays on the forwarder, TTL counting down
    again = forwarder.ask("www.baidu.com")
    assert forwarder.log()[-1]["cache"] == "hit" and len(recursive.log()) == 1
    assert again.rr[0].ttl <= reply.rr[0].ttl
    nx = forwarder.ask("nope.baidu.com")
    assert nx.header.rcode == RCODE.NXDOMAIN and QTYPE[nx.auth[0].rtype] == "SOA"
    cname = forwarder.ask("alias.baidu.com")
    assert [a[1] for a in answers(cname)] == ["CNAME", "A"]


def test_forward_queries_carry_rd_and_forwarders_are_tried_in_order(start_resolver, hierarchy,
                                                                   blackhole):
    hierarchy.clear()
    forwarder = start_resolver(FORWARDER, mode="forward", timeout=0.3, attempts=1,
                               forwarders=[blackhole, f"{AUTH}:{hierarchy.port}"])
    reply = forwarder.ask("www.baidu.com")
    assert answers(reply) == [("www.baidu.com.", "A", "61.135.169.125")]
    assert hierarchy.authorities[AUTH].seen == [("www.baidu.com.", "A", 1, "udp")]
    via = forwarder.log()[0]["via"].split(",")
    assert via[0] == f"{blackhole}/udp:www.baidu.com./A:TIMEOUT" and via[1].endswith("NOERROR")


# -- failure: SERVFAIL, in both modes alike -----------------------------------
@pytest.mark.parametrize("mode", ["forward", "recursive"])
def test_upstream_timeout_is_servfail_every_time(start_resolver, blackhole, mode):
    if mode == "forward":
        resolver = start_resolver(mode="forward", forwarders=[blackhole], timeout=0.2, attempts=2)
    else:
        resolver = start_resolver(mode="recursive", root_hints=[("a.root-servers.net.", blackhole)],
                                  timeout=0.2, attempts=2)
    for _ in range(2):                                    # consistently: not cached as anything else
        began = time.monotonic()
        reply = resolver.ask("www.baidu.com")
        assert reply.header.rcode == RCODE.SERVFAIL and not reply.rr
        assert time.monotonic() - began >= 0.35           # two tries of 0.2 s were waited
    lines = resolver.log()
    assert [entry["rcode"] for entry in lines] == ["SERVFAIL", "SERVFAIL"]
    assert all(entry["upstream"] == "2" and "TIMEOUT" in entry["via"] for entry in lines)


@pytest.mark.parametrize("mode", ["forward", "recursive"])
def test_closed_upstream_port_is_servfail(start_resolver, mode):
    closed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    closed.bind((BLACKHOLE, 0))
    address = f"{BLACKHOLE}:{closed.getsockname()[1]}"
    closed.close()                                        # nothing listens there any more
    if mode == "forward":
        resolver = start_resolver(mode="forward", forwarders=[address], timeout=0.5)
    else:
        resolver = start_resolver(root_hints=[("a.root-servers.net.", address)], timeout=0.5)
    assert resolver.ask("www.baidu.com").header.rcode == RCODE.SERVFAIL


# -- transport ---------------------------------------------------------------
def test_truncated_upstream_answer_is_retried_over_tcp(start_resolver, hierarchy):
    resolver = start_resolver()
    hierarchy.clear()
    reply = resolver.ask("big.baidu.com", "TXT", tcp=True)
    assert reply.header.rcode == RCODE.NOERROR and len(reply.rr) == TXT_COUNT
    assert ("big.baidu.com.", "TXT", 0, "tcp") in hierarchy.authorities[AUTH].seen
    via = resolver.log()[0]["via"].split(",")
    assert via[-2].endswith("/udp:big.baidu.com./TXT:TRUNCATED")
    assert via[-1] == f"{AUTH}:{hierarchy.port}/tcp:big.baidu.com./TXT:NOERROR"
    # the same answer is too big for a plain UDP client: TC=1, question kept
    short = resolver.ask("big.baidu.com", "TXT")
    assert short.header.tc == 1 and not short.rr and str(short.q.qname) == "big.baidu.com."


def test_queries_over_tcp(start_resolver):
    resolver = start_resolver()
    reply = resolver.ask("www.baidu.com", tcp=True)
    assert answers(reply) == [("www.baidu.com.", "A", "61.135.169.125")]
    assert resolver.log()[0]["proto"] == "tcp"


def test_several_queries_on_one_tcp_connection(start_resolver):
    resolver = start_resolver()
    with socket.create_connection((resolver.address, resolver.port), timeout=5) as conn:
        for name in ("www.baidu.com", "news.baidu.com"):
            data = DNSRecord.question(name).pack()
            conn.sendall(len(data).to_bytes(2, "big") + data)
            length = int.from_bytes(_recv(conn, 2), "big")
            reply = DNSRecord.parse(_recv(conn, length))
            assert reply.header.rcode == RCODE.NOERROR and reply.rr


def _recv(conn, count):
    data = b""
    while len(data) < count:
        chunk = conn.recv(count - len(data))
        assert chunk, "connection closed early"
        data += chunk
    return data


def test_reply_flags_do_not_echo_what_the_client_set(start_resolver):
    resolver = start_resolver()
    query = DNSRecord.question("www.baidu.com")
    query.header.ad = 1                                    # as dig sends by default
    query.header.cd = 1
    reply = DNSRecord.parse(query.send(resolver.address, resolver.port, timeout=5))
    assert reply.header.ad == 0 and reply.header.tc == 0 and reply.header.aa == 0
    assert reply.header.rd == 1 and reply.header.ra == 1 and reply.header.cd == 1
    assert reply.header.id == query.header.id


def test_edns_query_is_tolerated_and_echoed(start_resolver):
    resolver = start_resolver()
    reply = resolver.ask("www.baidu.com", edns=True)
    assert answers(reply) == [("www.baidu.com.", "A", "61.135.169.125")]
    assert [QTYPE[rr.rtype] for rr in reply.ar] == ["OPT"]


# -- malformed queries ---------------------------------------------------------
def _udp_exchange(address, port, payload: bytes, timeout=1.0):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(payload, (address, port))
        try:
            return sock.recvfrom(65535)[0]
        except socket.timeout:
            return None


def test_garbage_with_a_header_gets_formerr(start_resolver):
    resolver = start_resolver()
    garbage = bytes.fromhex("beef0100 0001 0000 0000 0000") + b"\xff\xfe garbage that is no name"
    reply = DNSRecord.parse(_udp_exchange(resolver.address, resolver.port, garbage))
    assert reply.header.id == 0xBEEF and reply.header.qr == 1
    assert reply.header.rcode == RCODE.FORMERR
    [line] = resolver.log()                                # one line for the one query
    assert line["rcode"] == "FORMERR" and line["qname"] == "-"
    assert line["reason"].startswith("unparsable")


def test_the_integration_tests_garbage_query_gets_formerr_with_its_id(start_resolver):
    """tests/integration/garbage_dns_query.py, which test_services runs in a
    lab node, against the resolver on loopback."""
    resolver = start_resolver()
    assert garbage_dns_query.ask(resolver.address, resolver.port) == {"id": "1234", "rcode": 1}
    [line] = resolver.log()
    assert line["rcode"] == "FORMERR" and line["reason"].startswith("unparsable")


@pytest.mark.parametrize("questions", [0, 2])
def test_qdcount_other_than_one_gets_formerr(start_resolver, questions):
    resolver = start_resolver()
    query = DNSRecord.question("www.baidu.com")
    if questions == 0:
        query.questions = []
    else:
        query.add_question(DNSRecord.question("news.baidu.com").q)
    reply = DNSRecord.parse(_udp_exchange(resolver.address, resolver.port, query.pack()))
    assert reply.header.id == query.header.id and reply.header.rcode == RCODE.FORMERR


def test_server_survives_garbage(start_resolver):
    resolver = start_resolver()
    for payload in (b"", b"\x00", b"hello", b"\x12\x34" * 5, bytes(range(256)), b"\xff" * 600):
        reply = _udp_exchange(resolver.address, resolver.port, payload, timeout=0.2)
        if len(payload) < 12:
            assert reply is None                           # no header: dropped
    with socket.create_connection((resolver.address, resolver.port), timeout=2) as conn:
        conn.sendall(b"\x00\x20" + b"\x01" * 32)             # garbage over TCP, framed
        reply = DNSRecord.parse(_recv(conn, int.from_bytes(_recv(conn, 2), "big")))
        assert reply.header.rcode == RCODE.FORMERR
    with socket.create_connection((resolver.address, resolver.port), timeout=2) as conn:
        conn.sendall(b"\x00")                              # half a length prefix, then gone
    assert resolver.ask("www.baidu.com").header.rcode == RCODE.NOERROR


# -- the cache on its own (no network, a fake clock) ------------------------------
class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def _rr(text):
    from dnslib import RR
    return RR.fromZone(text)


def test_cache_ttls_expiry_and_negative_ttl():
    clock = Clock()
    cache = DNSCache(clock=clock)
    cache.put_rrset(_rr("www.baidu.com. 300 IN A 61.135.169.125"))
    clock.now += 10.5
    [rr] = cache.get_rrset("WWW.Baidu.com.", QTYPE.A)
    assert rr.ttl == 289                                   # remaining whole seconds
    clock.now += 289.5
    assert cache.get_rrset("www.baidu.com.", QTYPE.A) is None
    soa = _rr("baidu.com. 600 IN SOA ns1.baidu.com. dnsadmin.baidu.com. 1 300 300 2592000 60")[0]
    cache.put_negative("nope.baidu.com.", QTYPE.A, RCODE.NXDOMAIN, soa)
    rcode, cached_soa = cache.get_negative("nope.baidu.com.", QTYPE.TXT)
    assert rcode == RCODE.NXDOMAIN and cached_soa.ttl == 60   # min(SOA TTL, MINIMUM)
    clock.now += 61
    assert cache.get_negative("nope.baidu.com.", QTYPE.A) is None
    cache.put_rrset(_rr("zero.baidu.com. 0 IN A 192.0.2.1"))  # TTL 0: never cached
    assert cache.get_rrset("zero.baidu.com.", QTYPE.A) is None


def test_cache_is_bounded():
    cache = DNSCache(max_entries=3, clock=Clock())
    for i in range(5):
        cache.put_rrset(_rr(f"h{i}.baidu.com. 300 IN A 192.0.2.{i}"))
    assert len(cache) == 3 and cache.get_rrset("h4.baidu.com.", QTYPE.A)
    assert cache.get_rrset("h0.baidu.com.", QTYPE.A) is None


# -- the command line ----------------------------------------------------------------
def _wait_ready(proc, deadline=15.0) -> str:
    """The ``ready`` line, read with a deadline (readiness, not a sleep)."""
    result = []
    reader = threading.Thread(target=lambda: result.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(deadline)
    if not result or not result[0]:
        proc.kill()
        pytest.fail(f"no ready line; stderr: {proc.stderr.read()}")
    return result[0].strip()


def test_cli_resolver_runs_until_sigterm(tmp_path, hierarchy):
    config = tmp_path / "resolver.toml"
    config.write_text(render_resolver_config(
        listen=RESOLVER, port=0, mode="forward", forwarders=[f"{AUTH}:{hierarchy.port}"],
        query_log=str(tmp_path / "q.log")))
    with subprocess.Popen([sys.executable, "-m", "services.dns", "resolver", str(config)],
                          cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as proc:
        _serve_and_stop(proc, config, tmp_path)
    assert (tmp_path / "q.log").read_text().count("qname=www.baidu.com.") == 2


def _serve_and_stop(proc, config, tmp_path):
    try:
        line = _wait_ready(proc)
        assert line.startswith(f"ready {RESOLVER}:")
        port = int(line.rsplit(":", 1)[1])
        assert answers(ask(RESOLVER, port, "www.baidu.com")) == \
            [("www.baidu.com.", "A", "61.135.169.125")]
        assert answers(ask(RESOLVER, port, "www.baidu.com", tcp=True))
        # a second instance on the same port must fail, loudly
        busy = tmp_path / "busy.toml"
        busy.write_text(config.read_text().replace("port = 0", f"port = {port}"))
        second = subprocess.run([sys.executable, "-m", "services.dns", "resolver", str(busy)],
                                cwd=REPO, capture_output=True, text=True, timeout=30)
        assert second.returncode == 1 and "cannot bind udp" in second.stderr
        assert "ready" not in second.stdout
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


@pytest.mark.parametrize("listen, log, message", [
    ("192.0.2.99", None, "cannot bind udp 192.0.2.99"),       # not an address of this machine
    (RESOLVER, "no/such/dir/q.log", "cannot open query log no/such/dir/q.log"),
])
def test_cli_start_failures_are_clear(tmp_path, listen, log, message):
    config = tmp_path / "resolver.toml"
    config.write_text(render_resolver_config(listen=listen, port=0, mode="forward",
                                             forwarders=["127.0.0.1:5300"], query_log=log))
    result = subprocess.run([sys.executable, "-m", "services.dns", "resolver", str(config)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=30,
                            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 1 and message in result.stderr and result.stdout == ""
