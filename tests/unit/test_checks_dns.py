"""The judges of dns-chain on synthetic captures: the four steps as FLOWS.md
has them pass; captures where the hosts file, a cache, the NAT or the
iteration misbehave fail with a message that names what went wrong."""

from __future__ import annotations

import pytest
from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from orchestrator.checks.dns import (
    Chain,
    ColdWires,
    SharedWires,
    judge_cold_lookup,
    judge_dns_chain,
    judge_hosts_file,
    judge_local_cache,
    judge_shared_cache,
)
from orchestrator.packets import ExpectationFailed, synth
from orchestrator.packets.synth import (
    EDGE_LAN_MAC,
    EDGE_WAN_MAC,
    GW1_LAN_MAC,
    GW1_SRV_MAC,
    ISP_MAC,
    SRV_MAC,
    XIAOMEI_MAC,
    XIAOMING_MAC,
)

pytestmark = pytest.mark.timeout(60)

NAME = "www.baidu.com."
CHAIN = Chain(name=NAME, answer="61.135.169.125", client="10.1.1.2", neighbour="10.1.1.3",
              resolver="10.10.10.10", upstream="8.8.8.8", public="203.0.113.2",
              servers=("198.41.0.4", "192.5.6.30", "202.108.22.220"))
ROOT, TLD, AUTH = CHAIN.servers
LOOP_MAC = "00:00:00:00:00:00"
PUBDNS_MAC, ISP_PUBDNS_MAC = "02:00:08:08:08:08", "02:00:08:08:08:01"
T0 = 1_700_002_000.0
LO, PC, SRV = "xiaoming:lo", "xiaoming-eth0", "srv-eth0"
INSIDE, OUTSIDE, PUBDNS = "edge-eth0", "edge-eth1", "pubdns-eth0"


@pytest.fixture
def load(tmp_path, request):
    """Write a scenario as pcaps named after the test (and the scenario's
    number in it) and read them back."""
    count = iter(range(1, 100))
    return lambda scenario: synth.load(scenario, tmp_path, f"{request.node.name}-{next(count)}")


def query(ident: int, rd: bool = True):
    return DNS(id=ident, rd=int(rd), qd=DNSQR(qname=NAME, qtype="A"))


def answer(ident: int, ttl: int = 300, aa: bool = False, rd: bool = True):
    return DNS(id=ident, qr=1, aa=int(aa), rd=int(rd), ra=int(rd), qd=DNSQR(qname=NAME, qtype="A"),
               an=[DNSRR(rrname=NAME, type="A", ttl=ttl, rdata=CHAIN.answer)])


def referral(ident: int, zone: str, server: str, address: str, glue: bool = True):
    return DNS(id=ident, qr=1, qd=DNSQR(qname=NAME, qtype="A"),
               ns=[DNSRR(rrname=zone, type="NS", ttl=172800, rdata=server)],
               ar=[DNSRR(rrname=server, type="A", ttl=172800, rdata=address)] if glue else [])


class Timeline:
    """Packets in the order they happen, each seen at one or more points
    (with that point's frame: MACs, addresses, TTL)."""

    def __init__(self, start: float, points):
        self.time = start
        self.points = {point: [] for point in points}

    def add(self, message, sport: int, dport: int, ip_id: int, *seen) -> None:
        """``seen``: (point, src MAC, dst MAC, src IP, dst IP, TTL) each."""
        self.time += 0.0005
        for number, (point, smac, dmac, src, dst, ttl) in enumerate(seen):
            frame = Ether(src=smac, dst=dmac) / IP(src=src, dst=dst, ttl=ttl, id=ip_id) \
                / UDP(sport=sport, dport=dport) / message.copy()
            frame.time = self.time + number * 0.0001
            self.points[point].append(frame)


def cold(rd_iterative: bool = False, glue: bool = True, translate: bool = True,
         srv_asks_first: bool = False) -> dict:
    """The cold lookup of step 3 at every point, from lo to pubdns and back."""
    c = CHAIN
    t = Timeline(T0, [LO, PC, SRV, INSIDE, OUTSIDE, PUBDNS])
    public = c.public if translate else c.resolver
    loop = (LO, LOOP_MAC, LOOP_MAC, "127.0.0.1", "127.0.0.1", 64)
    t.add(query(1), 40000, 53, 0x100, loop)
    upstream_q = (query(3), 51000, 53, 0x300,
                  (SRV, SRV_MAC, EDGE_LAN_MAC, c.resolver, c.upstream, 64),
                  (INSIDE, SRV_MAC, EDGE_LAN_MAC, c.resolver, c.upstream, 64),
                  (OUTSIDE, EDGE_WAN_MAC, ISP_MAC, public, c.upstream, 63),
                  (PUBDNS, ISP_PUBDNS_MAC, PUBDNS_MAC, public, c.upstream, 62))
    if srv_asks_first:
        t.add(*upstream_q)
    t.add(query(2), 50000, 53, 0x200, (PC, XIAOMING_MAC, GW1_LAN_MAC, c.client, c.resolver, 64),
          (SRV, GW1_SRV_MAC, SRV_MAC, c.client, c.resolver, 63))
    if not srv_asks_first:
        t.add(*upstream_q)
    steps = [(ROOT, referral(4, "com.", "a.gtld-servers.net.", TLD)),
             (TLD, referral(5, "baidu.com.", "ns1.baidu.com.", AUTH, glue)),
             (AUTH, answer(6, aa=True, rd=rd_iterative))]
    for number, (server, response) in enumerate(steps):
        port = 33000 + number
        t.add(query(4 + number, rd=rd_iterative), port, 53, 0x400 + number,
              (PUBDNS, PUBDNS_MAC, ISP_PUBDNS_MAC, c.upstream, server, 64))
        t.add(response, 53, port, 0x500 + number,
              (PUBDNS, ISP_PUBDNS_MAC, PUBDNS_MAC, server, c.upstream, 63))
    t.add(answer(3), 53, 51000, 0x600,
          (PUBDNS, PUBDNS_MAC, ISP_PUBDNS_MAC, c.upstream, public, 64),
          (OUTSIDE, ISP_MAC, EDGE_WAN_MAC, c.upstream, public, 63),
          (INSIDE, EDGE_LAN_MAC, SRV_MAC, c.upstream, c.resolver, 62),
          (SRV, EDGE_LAN_MAC, SRV_MAC, c.upstream, c.resolver, 62))
    t.add(answer(2), 53, 50000, 0x700, (SRV, SRV_MAC, GW1_SRV_MAC, c.resolver, c.client, 64),
          (PC, GW1_LAN_MAC, XIAOMING_MAC, c.resolver, c.client, 63))
    t.add(answer(1), 53, 40000, 0x800, loop)
    return t.points


def cold_wires(caps) -> ColdWires:
    return ColdWires(caps[LO], caps[PC], caps[SRV], caps[INSIDE], caps[OUTSIDE], caps[PUBDNS])


def shared(ttl: int = 298, srv_asks_again: bool = False) -> dict:
    """Step 4: xiaomei's question, 1.3 s after the cold answer."""
    c = CHAIN
    t = Timeline(T0 + 1.3, ["xiaomei-eth0", SRV, OUTSIDE])
    t.add(query(9), 52000, 53, 0x900, ("xiaomei-eth0", XIAOMEI_MAC, GW1_LAN_MAC, c.neighbour,
                                      c.resolver, 64),
          (SRV, GW1_SRV_MAC, SRV_MAC, c.neighbour, c.resolver, 63))
    if srv_asks_again:
        t.add(query(10), 51001, 53, 0x901, (SRV, SRV_MAC, EDGE_LAN_MAC, c.resolver, c.upstream, 64))
    t.add(answer(9, ttl=ttl), 53, 52000, 0x902,
          (SRV, SRV_MAC, GW1_SRV_MAC, c.resolver, c.neighbour, 64),
          ("xiaomei-eth0", GW1_LAN_MAC, XIAOMEI_MAC, c.resolver, c.neighbour, 63))
    return t.points


def shared_wires(caps) -> SharedWires:
    return SharedWires(caps["xiaomei-eth0"], caps[SRV], caps[OUTSIDE])


def local(leaks: bool = False) -> dict:
    """Step 1 or 2 on lo and the wire; ``leaks``: the query also goes out."""
    c = CHAIN
    t = Timeline(T0 + 0.5, [LO, PC])
    loop = (LO, LOOP_MAC, LOOP_MAC, "127.0.0.1", "127.0.0.1", 64)
    t.add(query(11), 40001, 53, 0xA00, loop)
    if leaks:
        t.add(query(12), 50001, 53, 0xA01, (PC, XIAOMING_MAC, GW1_LAN_MAC, c.client, c.resolver,
                                            64))
    t.add(answer(11, ttl=299), 53, 40001, 0xA02, loop)
    return t.points


def first_answer(caps):
    return judge_cold_lookup(cold_wires(caps), CHAIN)[0]


# ---------------------------------------------------------------- step 1: hosts file

def test_hosts_file_passes_with_no_dns_packet(load):
    caps = load({LO: [], PC: []})
    assert judge_hosts_file(caps[LO], caps[PC], "intranet.corp", "10.10.10.10",
                            ["10.10.10.10"]) == \
        "intranet.corp -> 10.10.10.10 from the hosts file, no DNS packet (lo, wire)"


def test_hosts_file_fails_when_the_cache_is_asked(load):
    caps = load(local())
    with pytest.raises(ExpectationFailed) as failure:
        judge_hosts_file(caps[LO], caps[PC], "intranet.corp", "10.10.10.10", ["10.10.10.10"])
    assert str(failure.value).startswith("expected no packet matching udp(port=53) | "
                                         "tcp(port=53), found 2")


def test_hosts_file_fails_when_the_name_did_not_resolve(load):
    caps = load({LO: [], PC: []})
    with pytest.raises(ExpectationFailed) as failure:
        judge_hosts_file(caps[LO], caps[PC], "intranet.corp", "10.10.10.10", [])
    assert str(failure.value) == \
        "intranet.corp resolved to nothing, not 10.10.10.10 from the hosts file"


# ---------------------------------------------------------------- step 2: local cache

def test_local_cache_passes(load):
    caps = load(local())
    assert judge_local_cache(caps[LO], caps[PC], CHAIN) == \
        "repeat answered on lo by 127.0.0.1 (ttl 299), nothing on the wire"


def test_local_cache_fails_when_the_query_leaves_the_pc(load):
    caps = load(local(leaks=True))
    with pytest.raises(ExpectationFailed) as failure:
        judge_local_cache(caps[LO], caps[PC], CHAIN)
    assert "found 1 among 1 packet (xiaoming-eth0)" in str(failure.value)
    assert "10.1.1.2.50001 > 10.10.10.10.53: DNS A? www.baidu.com." in str(failure.value)


# ---------------------------------------------------------------- step 3: the cold chain

def test_cold_lookup_passes_and_tells_the_walk(load):
    answer_packet, evidence = judge_cold_lookup(cold_wires(load(cold())), CHAIN)
    assert answer_packet.point == PC and answer_packet.dns.id == 2
    assert "10.1.1.2 asked 10.10.10.10 over UDP 53 across 1 router(s)" in evidence
    assert "asked 8.8.8.8 as 203.0.113.2 (NAT)" in evidence
    assert ("8.8.8.8 iterated with RD=0: 198.41.0.4 referral to com. (AA=0) -> 192.5.6.30 "
            "referral to baidu.com. (AA=0) -> 202.108.22.220 AA answer 61.135.169.125") in evidence


def test_cold_lookup_fails_on_recursive_queries_to_the_hierarchy(load):
    with pytest.raises(ExpectationFailed) as failure:
        judge_cold_lookup(cold_wires(load(cold(rd_iterative=True))), CHAIN)
    message = str(failure.value)
    assert message.startswith("step 2 of 8: expected dns(qr=False, qname=www.baidu.com., "
                              "qtype=A) & dns(src=8.8.8.8, dst=198.41.0.4, rd=False)")
    assert "rd is True, not False" in message


def test_cold_lookup_fails_on_a_referral_without_glue(load):
    with pytest.raises(ExpectationFailed) as failure:
        judge_cold_lookup(cold_wires(load(cold(glue=False))), CHAIN)
    assert str(failure.value).startswith(
        "expected a referral below com. towards www.baidu.com. with glue for 202.108.22.220; "
        "authority NS ['baidu.com.'], glue none")


def test_cold_lookup_fails_when_the_edge_does_not_translate(load):
    with pytest.raises(ExpectationFailed) as failure:
        judge_cold_lookup(cold_wires(load(cold(translate=False))), CHAIN)
    assert "not translated to 203.0.113.2" in str(failure.value)


def test_cold_lookup_fails_when_the_resolver_asks_before_it_is_asked(load):
    with pytest.raises(ExpectationFailed) as failure:
        judge_cold_lookup(cold_wires(load(cold(srv_asks_first=True))), CHAIN)
    message = str(failure.value)
    assert message.startswith("the chain is out of order: the resolver's query upstream came "
                              "before the query at the resolver")


# ---------------------------------------------------------------- step 4: shared cache

def test_shared_cache_passes_with_a_lower_ttl(load):
    first = first_answer(load(cold()))
    assert judge_shared_cache(shared_wires(load(shared())), CHAIN, first) == \
        "10.1.1.3 answered from 10.10.10.10's cache, nothing upstream, TTL 300 -> 298 after 1.3 s"


def test_shared_cache_fails_when_the_resolver_asks_upstream_again(load):
    first = first_answer(load(cold()))
    with pytest.raises(ExpectationFailed) as failure:
        judge_shared_cache(shared_wires(load(shared(srv_asks_again=True))), CHAIN, first)
    assert str(failure.value).startswith("expected no packet matching dns(qr=False, "
                                         "src=10.10.10.10), found 1")


def test_shared_cache_fails_when_the_ttl_does_not_count_down(load):
    first = first_answer(load(cold()))
    with pytest.raises(ExpectationFailed) as failure:
        judge_shared_cache(shared_wires(load(shared(ttl=300))), CHAIN, first)
    assert str(failure.value).startswith(
        "the cached TTL did not count down with time: 300 then 300, 1.3 s apart")


# ---------------------------------------------------------------- all four

def test_dns_chain_evidence_has_the_four_steps(load):
    hosts = load({LO: [], PC: []})
    repeat = load(local())
    evidence = judge_dns_chain(
        (hosts[LO], hosts[PC], "intranet.corp", "10.10.10.10", ["10.10.10.10"]),
        cold_wires(load(cold())), (repeat[LO], repeat[PC]), shared_wires(load(shared())), CHAIN)
    assert evidence.startswith("1. intranet.corp -> 10.10.10.10 from the hosts file")
    assert "; 2. repeat answered on lo" in evidence
    assert "; 3. lo cache missed;" in evidence
    assert evidence.endswith("4. 10.1.1.3 answered from 10.10.10.10's cache, nothing upstream, "
                             "TTL 300 -> 298 after 1.3 s")
