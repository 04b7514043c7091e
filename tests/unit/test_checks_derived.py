"""The derived checks nat (echo), http and dns: their judges pass on right
synthetic captures and fail, naming the packet, on wrong ones; and what
they derive from models that are not the shipped labs."""

from __future__ import annotations

import pytest
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from orchestrator.checks.derived import dns as dns_check, http as http_check, nat as nat_check
from orchestrator.checks.derived.common import beyond, end_hosts, users_first
from orchestrator.model import Topology, registry, service
from orchestrator.packets import ExpectationFailed, synth

pytestmark = pytest.mark.timeout(60)

T0 = 1_700_002_000.0
CLIENT, SERVER, PUBLIC = "10.9.1.11", "198.18.0.20", "198.18.0.1"


def echo(public=PUBLIC, reply=True) -> dict[str, list]:
    """pc's echo to an outside host, inside and outside a masquerading router."""
    payload = Raw(b"flowlab" * 8)
    inside = [synth._at(Ether() / IP(src=CLIENT, dst=SERVER, ttl=63, id=0x11)
                        / ICMP(type=8, id=7, seq=1) / payload, T0)]
    outside = [synth._at(Ether() / IP(src=public, dst=SERVER, ttl=62, id=0x11)
                         / ICMP(type=8, id=7, seq=1) / payload, T0 + 0.001)]
    if reply:
        outside.append(synth._at(Ether() / IP(src=SERVER, dst=public, ttl=64, id=0x22)
                                 / ICMP(type=0, id=7, seq=1) / payload, T0 + 0.002))
        inside.append(synth._at(Ether() / IP(src=SERVER, dst=CLIENT, ttl=63, id=0x22)
                                / ICMP(type=0, id=7, seq=1) / payload, T0 + 0.003))
    return {"r-eth0": inside, "r-eth1": outside}


def load(tmp_path, request, scenario):
    return synth.load(scenario, tmp_path, request.node.name)


def test_nat_echo_translated_both_ways_passes(tmp_path, request):
    caps = load(tmp_path, request, echo())
    evidence = nat_check.judge_nat_echo(caps["r-eth0"], caps["r-eth1"], CLIENT, SERVER, PUBLIC)
    assert evidence == (f"echo {CLIENT} → {SERVER} left as {PUBLIC}: 1 out, 1 back, all "
                        f"translated, no {CLIENT} outside")


def test_nat_off_leaks_the_inside_address(tmp_path, request):
    caps = load(tmp_path, request, echo(public=CLIENT))
    with pytest.raises(ExpectationFailed) as failure:
        nat_check.judge_nat_echo(caps["r-eth0"], caps["r-eth1"], CLIENT, SERVER, PUBLIC)
    assert f"not translated to {PUBLIC}" in str(failure.value)


def test_nat_with_no_reply_fails(tmp_path, request):
    caps = load(tmp_path, request, echo(reply=False))
    with pytest.raises(AssertionError, match=f"no echo reply from {SERVER} came back"):
        nat_check.judge_nat_echo(caps["r-eth0"], caps["r-eth1"], CLIENT, SERVER, PUBLIC)


# ---------------------------------------------------------------- http

SITE = http_check.Site("web", synth.WEB, 80, "www.baidu.com", "xiaoming")


def test_http_200_at_both_ends_passes(tmp_path, request):
    caps = load(tmp_path, request, synth.web11())
    evidence = http_check.judge_http(caps["xiaoming-eth0"], caps["edge-eth1"], "10.1.1.2", SITE)
    assert evidence == ("xiaoming → http://www.baidu.com:80/ at 61.135.169.125: "
                        "'HTTP/1.1 200 OK', request and response seen at both ends")


def test_http_other_status_fails(tmp_path, request):
    caps = load(tmp_path, request, synth.web11(
        response=b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
    with pytest.raises(ExpectationFailed, match="answered 'HTTP/1.1 404 Not Found', not 200"):
        http_check.judge_http(caps["xiaoming-eth0"], caps["edge-eth1"], "10.1.1.2", SITE)


def test_http_for_another_site_fails(tmp_path, request):
    caps = load(tmp_path, request, synth.web11())
    other = http_check.Site("web", synth.WEB, 80, "news.baidu.com", "xiaoming")
    with pytest.raises(ExpectationFailed, match="no GET with 'Host: news.baidu.com'"):
        http_check.judge_http(caps["xiaoming-eth0"], caps["edge-eth1"], "10.1.1.2", other)


def test_http_response_missing_at_the_server_fails(tmp_path, request):
    scenario = synth.web11()
    scenario["edge-eth1"] = [p for p in scenario["edge-eth1"]
                             if not bytes(p[IP].payload.payload).startswith(b"HTTP/")]
    caps = load(tmp_path, request, scenario)
    with pytest.raises(ExpectationFailed, match="expected at least 1 packet matching tcp"):
        http_check.judge_http(caps["xiaoming-eth0"], caps["edge-eth1"], "10.1.1.2", SITE)


# ---------------------------------------------------------------- dns

FORWARD = dns_check.Lookup("srv", synth.SERVER, "forward", ("8.8.8.8",), None, "www.baidu.com.",
                           synth.WEB, "xiaoming")


def forwarded(upstream="8.8.8.8", answer=synth.WEB) -> dict[str, list]:
    """xiaoming asks srv; srv asks its forwarder in between."""
    scenario = synth.dns_udp(answer=answer, start=T0)
    scenario.update({"srv-eth0": synth.dns_udp(client=synth.SERVER, server=upstream,
                                               point="srv-eth0", start=T0 + 0.001)["srv-eth0"]})
    return scenario


def test_dns_by_the_forwarder_passes(tmp_path, request):
    caps = load(tmp_path, request, forwarded())
    evidence = dns_check.judge_lookup(caps["xiaoming-eth0"], caps["srv-eth0"], "10.1.1.2",
                                      FORWARD)
    assert evidence == ("xiaoming asked srv (10.10.10.10) for www.baidu.com.: forwarded to "
                        "8.8.8.8, answer 61.135.169.125")


def test_dns_asking_another_upstream_fails(tmp_path, request):
    caps = load(tmp_path, request, forwarded(upstream="9.9.9.9"))
    with pytest.raises(ExpectationFailed) as failure:
        dns_check.judge_lookup(caps["xiaoming-eth0"], caps["srv-eth0"], "10.1.1.2", FORWARD)
    assert "dst is 9.9.9.9" in str(failure.value)


def test_dns_with_a_wrong_answer_fails(tmp_path, request):
    caps = load(tmp_path, request, forwarded(answer="192.0.2.1"))
    with pytest.raises(ExpectationFailed, match="192.0.2.1"):
        dns_check.judge_lookup(caps["xiaoming-eth0"], caps["srv-eth0"], "10.1.1.2", FORWARD)


# ---------------------------------------------------------------- from a user's model

def office() -> Topology:
    """An office LAN behind a masquerading router, an outside web and DNS."""
    topo = Topology("office")
    lan = topo.switch("lan", subnet=topo.subnet("10.9.1.0/24", gateway="10.9.1.1"))
    r = topo.router("r")
    topo.link(r, lan, ip="10.9.1.1/24")
    out = topo.switch("out", subnet=topo.subnet("198.18.0.0/24"))
    topo.link(r, out, ip="198.18.0.1/24", nat=True)
    topo.link(topo.host("pc", gateway="10.9.1.1"), lan, ip="10.9.1.11/24")
    ns = topo.host("ns", services=[
        service("dns-authoritative", zones={"example.": [
            "example. 60 IN SOA ns.example. admin.example. 1 60 60 60 60",
            "example. 60 IN NS ns.example.", "ns.example. 60 IN A 198.18.0.30",
            "www.example. 60 IN A 198.18.0.20"]}),
        service("dns-resolver", mode="forward", forwarders=["198.18.0.30"], listen="198.18.0.31")])
    topo.link(ns, out, ip="198.18.0.30/24")
    topo.link(topo.host("www", services=[service("http", sites=["www.example"])]), out,
              ip="198.18.0.20/24")
    return topo


def test_the_cast_comes_from_a_users_model():
    topo = office()
    assert beyond(topo, topo.interfaces("r")[1]) == {"out", "ns", "www"}
    assert [h.name for h in users_first(topo, end_hosts(topo))] == ["pc", "ns", "www"]
    [crossing] = nat_check.crossings(topo)
    assert (crossing.router, crossing.outside.name, crossing.inside.name, crossing.client,
            crossing.server, crossing.port) == ("r", "r-eth1", "r-eth0", "pc", "www", 80)
    assert http_check.sites(topo) == [http_check.Site("www", "198.18.0.20", 80, "www.example",
                                                      "pc")]
    [look] = dns_check.lookups(topo)
    assert (look.resolver, look.address, look.upstream, look.name, look.answer, look.client) == \
        ("ns", "198.18.0.31", ("198.18.0.30",), "www.example.", "198.18.0.20", "pc")


def test_checks_that_have_nothing_to_prove_do_not_apply():
    topo = registry.load("arp-lan")
    for check in (nat_check.Nat(), http_check.Http(), dns_check.Dns()):
        assert not check.applies_to(topo) and check.why_not(topo)
