"""The dnslib authoritative server of services/dns, on loopback.

One server holds the ``com.`` zone of ``topologies/internet.py`` (it delegates
``baidu.com.``) and the ``baidu.com.`` zone with a few extra names, as the
emulated internet's tld and auth servers would if they were one.  Nothing
here needs root.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from dnslib import EDNS0, QTYPE, RCODE, DNSRecord

from services.dns.authoritative import AuthoritativeResolver
from services.dns.config import parse_config, render_authoritative_config
from services.dns.daemon import build_service
from services.dns.zone import Zone
from topologies.internet import ZONES

pytestmark = pytest.mark.timeout(60)

REPO = Path(__file__).resolve().parents[2]
ADDRESS = "127.0.0.51"
BIG = 40
EXTRA = [
    "media.baidu.com. 300 IN CNAME news.baidu.com.",
    "dangling.baidu.com. 300 IN CNAME gone.baidu.com.",
    "out.baidu.com. 300 IN CNAME www.example.org.",
    "deep.empty.baidu.com. 300 IN A 192.0.2.7",
    "sub.baidu.com. 300 IN NS ns.sub.baidu.com.",
    "ns.sub.baidu.com. 300 IN A 192.0.2.53",
    "quoted.baidu.com. 300 IN TXT \"say \\\"hi\\\" \\\\ there\"",
] + [f"huge.baidu.com. 300 IN A 10.0.{i // 250}.{i % 250 + 1}" for i in range(BIG)]
ZONE_DATA = {"com.": ZONES["tld"]["com."], "baidu.com.": ZONES["auth"]["baidu.com."] + EXTRA}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("auth") / "query.log"
    text = render_authoritative_config(listen=ADDRESS, port=0, zones=ZONE_DATA, query_log=str(log))
    parts = build_service(parse_config(text))
    parts.service.start()
    parts.log_path = log
    yield parts
    parts.close()


def ask(server, name, qtype="A", tcp=False, edns=None) -> DNSRecord:
    query = DNSRecord.question(name, qtype)
    if edns:
        query.add_ar(EDNS0(udp_len=edns))
    return DNSRecord.parse(query.send(ADDRESS, server.service.port, tcp=tcp, timeout=5))


def rrs(section):
    return [(str(rr.rname), QTYPE[rr.rtype], str(rr.rdata)) for rr in section]


def test_authoritative_answer_has_aa(server):
    reply = ask(server, "www.baidu.com")
    assert reply.header.rcode == RCODE.NOERROR and reply.header.aa == 1
    assert reply.header.ra == 0
    assert rrs(reply.rr) == [("www.baidu.com.", "A", "61.135.169.125")]
    assert reply.rr[0].ttl == 300


def test_referral_for_a_delegated_zone(server):
    # the baidu.com. zone lives here too: the deepest zone wins, so ask for
    # sub.baidu.com., which baidu.com. delegates
    reply = ask(server, "www.sub.baidu.com")
    assert reply.header.rcode == RCODE.NOERROR and reply.header.aa == 0 and not reply.rr
    assert rrs(reply.auth) == [("sub.baidu.com.", "NS", "ns.sub.baidu.com.")]
    assert rrs(reply.ar) == [("ns.sub.baidu.com.", "A", "192.0.2.53")]


def test_referral_from_com_with_glue():
    zone = Zone.from_lines("com.", ZONES["tld"]["com."])
    reply = AuthoritativeResolver([zone]).resolve(DNSRecord.question("www.baidu.com"), None)
    assert reply.header.aa == 0 and reply.header.rcode == RCODE.NOERROR and not reply.rr
    assert rrs(reply.auth) == [("baidu.com.", "NS", "ns1.baidu.com.")]
    assert rrs(reply.ar) == [("ns1.baidu.com.", "A", "202.108.22.220")]
    # the apex NS gets its out-of-zone glue; the glue name itself is not served
    apex = AuthoritativeResolver([zone]).resolve(DNSRecord.question("com.", "NS"), None)
    assert apex.header.aa == 1 and rrs(apex.ar) == [("a.gtld-servers.net.", "A", "192.5.6.30")]


def test_nxdomain_carries_the_soa(server):
    reply = ask(server, "nope.baidu.com")
    assert reply.header.rcode == RCODE.NXDOMAIN and reply.header.aa == 1 and not reply.rr
    [soa] = reply.auth
    assert QTYPE[soa.rtype] == "SOA" and str(soa.rname) == "baidu.com."
    assert soa.ttl == 600                                  # min(SOA TTL 600, MINIMUM 600)
    com = ask(server, "nope.com")
    assert com.header.rcode == RCODE.NXDOMAIN and com.auth[0].ttl == 900   # min(900, 86400)


def test_nodata_for_an_existing_name(server):
    reply = ask(server, "www.baidu.com", "AAAA")
    assert reply.header.rcode == RCODE.NOERROR and reply.header.aa == 1 and not reply.rr
    assert [QTYPE[rr.rtype] for rr in reply.auth] == ["SOA"]
    empty = ask(server, "empty.baidu.com")                 # empty non-terminal: NODATA
    assert empty.header.rcode == RCODE.NOERROR and not empty.rr and empty.auth


def test_cname_chased_inside_the_zone(server):
    reply = ask(server, "media.baidu.com")
    assert reply.header.aa == 1
    assert rrs(reply.rr) == [("media.baidu.com.", "CNAME", "news.baidu.com."),
                             ("news.baidu.com.", "CNAME", "www.baidu.com."),
                             ("www.baidu.com.", "A", "61.135.169.125")]
    dangling = ask(server, "dangling.baidu.com")           # target missing: NXDOMAIN (RFC 6604)
    assert dangling.header.rcode == RCODE.NXDOMAIN
    assert rrs(dangling.rr) == [("dangling.baidu.com.", "CNAME", "gone.baidu.com.")]
    out = ask(server, "out.baidu.com")                     # target elsewhere: CNAME only
    assert out.header.rcode == RCODE.NOERROR and len(out.rr) == 1 and not out.auth


def test_refused_outside_its_zones(server):
    for name in ("www.example.org", "a.gtld-servers.net", "."):
        reply = ask(server, name)
        assert reply.header.rcode == RCODE.REFUSED and not reply.rr, name
        assert reply.header.aa == 0


def test_large_answer_is_truncated_over_udp_and_whole_over_tcp(server):
    udp = ask(server, "huge.baidu.com")
    assert udp.header.tc == 1 and not udp.rr and str(udp.q.qname) == "huge.baidu.com."
    tcp = ask(server, "huge.baidu.com", tcp=True)
    assert tcp.header.tc == 0 and len(tcp.rr) == BIG
    big_buffer = ask(server, "huge.baidu.com", edns=4096)  # EDNS: a bigger UDP answer fits
    assert big_buffer.header.tc == 0 and len(big_buffer.rr) == BIG
    assert [QTYPE[rr.rtype] for rr in big_buffer.ar] == ["OPT"]


def test_txt_with_quotes_survives_the_config(server):
    reply = ask(server, "quoted.baidu.com", "TXT")
    assert reply.rr[0].rdata.data == [b'say "hi" \\ there']


def test_formerr_and_survival(server):
    port = server.service.port
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        sock.sendto(bytes.fromhex("abcd0000000100000000000000") + b"\xc0", (ADDRESS, port))
        reply = DNSRecord.parse(sock.recvfrom(512)[0])
        assert reply.header.id == 0xABCD and reply.header.rcode == RCODE.FORMERR
        sock.settimeout(0.2)
        sock.sendto(b"\x01\x02\x03", (ADDRESS, port))      # shorter than a header: dropped
        with pytest.raises(socket.timeout):
            sock.recvfrom(512)
    assert ask(server, "www.baidu.com").header.rcode == RCODE.NOERROR


def test_query_log_has_one_line_per_query(server):
    before = server.log_path.read_text().count("\n")
    ask(server, "www.baidu.com", tcp=True)
    lines = server.log_path.read_text().splitlines()
    assert len(lines) == before + 1
    assert "proto=tcp" in lines[-1] and "qname=www.baidu.com." in lines[-1]
    assert "rcode=NOERROR" in lines[-1] and "cache=-" in lines[-1]


@pytest.mark.parametrize("lines, message", [
    (["baidu.com. 600 IN NS ns1.baidu.com."], "exactly one SOA"),
    (ZONES["auth"]["baidu.com."] + ["www.example.org. 60 IN TXT hello"], "outside zone"),
    (ZONES["auth"]["baidu.com."] + ["news.baidu.com. 60 IN A 192.0.2.1"], "CNAME and other data"),
    (ZONES["auth"]["baidu.com."] + ["www.baidu.com. 60 IN A 1.2.3"],
     f"zone[{len(ZONES['auth']['baidu.com.'])}]"),
])
def test_zone_data_is_checked(lines, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Zone.from_lines("baidu.com.", lines, "zone")


def test_cli_authoritative_ready_line_and_sigterm(tmp_path):
    config = tmp_path / "auth.toml"
    config.write_text(render_authoritative_config(listen=ADDRESS, port=0,
                                                  zones={"baidu.com.": ZONES["auth"]["baidu.com."]}))
    with subprocess.Popen([sys.executable, "-m", "services.dns", "authoritative", str(config)],
                          cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as proc:
        _serve_and_stop(proc)


def _serve_and_stop(proc):
    try:
        got = []
        reader = threading.Thread(target=lambda: got.append(proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(15)                                   # wait on readiness, with a deadline
        if not got or not got[0]:
            proc.kill()                                   # then stderr can be read to its end
            pytest.fail(f"no ready line; stderr: {proc.stderr.read()}")
        assert got[0].startswith(f"ready {ADDRESS}:")
        port = int(got[0].strip().rsplit(":", 1)[1])
        for tcp in (False, True):
            reply = DNSRecord.parse(DNSRecord.question("www.baidu.com").send(
                ADDRESS, port, tcp=tcp, timeout=5))
            assert reply.header.aa == 1 and str(reply.rr[0].rdata) == "61.135.169.125"
    finally:
        proc.send_signal(2)                                # SIGINT: also a clean exit
        assert proc.wait(timeout=10) == 0
    assert proc.stdout.read() == ""                        # exactly one line was printed


def test_cli_refuses_a_resolver_config_as_authoritative(tmp_path):
    config = tmp_path / "resolver.toml"
    config.write_text('service = "dns-resolver"\n[server]\nlisten = "127.0.0.1"\n'
                      '[resolver]\nmode = "forward"\nforwarders = ["127.0.0.1:5300"]\n')
    result = subprocess.run([sys.executable, "-m", "services.dns", "authoritative", str(config)],
                            cwd=REPO, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "not dns-authoritative" in result.stderr
