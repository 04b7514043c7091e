"""The judges of web-11, web-real and nat on synthetic captures: FLOWS.md's
eleven segments inside and outside the NAT pass, and a merged ACK, a missing
translation, a missing DNS lookup or a missing fetch fail; curl-like
exchanges are judged correct and their differences from the table named;
the NAT is followed into the connection tracking table."""

from __future__ import annotations

import pytest

from orchestrator.checks import web as checks
from orchestrator.checks.derived import nat as nat_check
from orchestrator.packets import ExpectationFailed, merge, synth
from tests.unit.test_checks_tcp import T0, combine, segments

pytestmark = pytest.mark.timeout(60)

WEB, PUBLIC = synth.WEB, synth.EDGE_PUBLIC
INSIDE, OUTSIDE, LOOPBACK = "xiaoming-eth0", "edge-eth1", "xiaoming:lo"
BODY = b"<html><body>www.baidu.com</body></html>"
RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n"
            % len(BODY)) + BODY


def lookup(start: float = T0 - 1.0) -> dict[str, list]:
    """The client's stub resolver asking for www.baidu.com on loopback."""
    return synth.dns_udp(client="127.0.0.1", server="127.0.0.1", point=LOOPBACK, start=start)


def fetches(count: int = 2, **options) -> list[dict[str, list]]:
    return [synth.web11(sport=40000 + n, isn=(3_000_000_000 + 7919 * n, 123_456 + 104_729 * n),
                        response=RESPONSE, start=T0 + n, **options) for n in range(count)]


def without_row(scenario: dict[str, list], row: int) -> dict[str, list]:
    """The exchange with one row of the table left out, at both points."""
    return {point: [p for n, p in enumerate(packets) if n != row - 1]
            for point, packets in scenario.items()}


@pytest.fixture
def load(tmp_path, request):
    def read(*parts):
        return synth.load(combine(*parts), tmp_path, request.node.name)
    return read


def judge_11(caps, trials=2):
    inside = merge(*(caps[p] for p in (INSIDE, LOOPBACK) if p in caps))
    return checks.judge_web_11(inside, caps[OUTSIDE], (WEB, 80), PUBLIC, trials=trials)


# ---------------------------------------------------------------- web-11

def test_the_table_in_relative_numbers():
    rows = checks.textbook_rows(106, 362)
    assert rows[0] == ("client → server", "S", 0, None, 0)
    assert rows[5] == ("server → client", "PA", 1, 107, 362)
    assert rows[10] == ("client → server", "A", 108, 364, 0)


def test_eleven_segments_in_every_fetch_inside_and_outside_pass(load):
    evidence = judge_11(load(lookup(), *fetches()))
    assert evidence.startswith("2 of 2 fetches: exactly the 11 segments of the table "
                               f"(L={len(synth.REQUEST)} R={len(RESPONSE)})")
    assert "after DNS (www.baidu.com A 61.135.169.125, seen on xiaoming:lo)" in evidence
    assert "outside the edge the same 11 from 203.0.113.2, same sequence numbers" in evidence


def test_an_ack_riding_on_the_fin_fails_naming_the_fetch(load):
    first, second = fetches()
    with pytest.raises(ExpectationFailed) as failure:
        judge_11(load(lookup(), first, without_row(second, 9)))
    message = str(failure.value)
    assert message.startswith("1 of 2 fetches differ from the eleven segments; fetch 2: TCP "
                              "10.1.1.2:40001 → 61.135.169.125:80: row 9 of 11 differs: flags "
                              "are FA, not A")
    assert "missing:" in message


def test_an_untranslated_source_outside_fails(load):
    with pytest.raises(ExpectationFailed) as failure:
        judge_11(load(lookup(), *fetches(public="10.1.1.2")))
    assert "not translated to 203.0.113.2" in str(failure.value)


def test_no_dns_before_the_fetches_fails(load):
    with pytest.raises(ExpectationFailed) as failure:
        judge_11(load(*fetches()))
    assert "step 1 of 2: expected dns(qr=False, qname=www.baidu.com., qtype=A)" in \
        str(failure.value)


def test_a_missing_fetch_fails(load):
    with pytest.raises(ExpectationFailed) as failure:
        judge_11(load(lookup(), *fetches()), trials=3)
    assert "expected 3 fetches (SYNs to 61.135.169.125:80), found 2" in str(failure.value)


def test_a_truncated_response_fails(load):
    short = RESPONSE[:-5]
    scenario = synth.web11(response=short, start=T0)
    with pytest.raises(ExpectationFailed) as failure:
        judge_11(load(lookup(), scenario), trials=1)
    assert "segment 6's response body is not whole (34 bytes)" in str(failure.value)


def test_time_wait_timers_are_read_from_ss():
    text = ("TIME-WAIT 0 0 10.1.1.2:60008 61.135.169.125:8080 timer:(timewait,58sec,0)\n"
            "ESTAB 0 0 10.1.1.2:60010 61.135.169.125:8080\n")
    assert checks.parse_time_wait(text) == {"10.1.1.2:60008": "58sec"}


# ---------------------------------------------------------------- web-real

CURL_REQUEST = (b"GET / HTTP/1.1\r\nHost: www.baidu.com\r\nUser-Agent: curl/7.88.1\r\n"
                b"Accept: */*\r\n\r\n")
HEAD, CURL_BODY = RESPONSE.split(b"\r\n\r\n")[0] + b"\r\n\r\n", BODY


def curl_like(server_fin=True, reset=False) -> dict[str, list]:
    """What curl and the ordinary server did here: the response in two
    segments, each acknowledged, and the server's ACK of the client's FIN
    riding on its own FIN."""
    L, H, R = len(CURL_REQUEST), len(HEAD), len(HEAD) + len(CURL_BODY)
    rows = [("c", "S", 0, None, b"", 0.0), ("s", "SA", 0, 1, b"", 0.001),
            ("c", "A", 1, 1, b"", 0.002), ("c", "PA", 1, 1, CURL_REQUEST, 0.003),
            ("s", "A", 1, 1 + L, b"", 0.004), ("s", "PA", 1, 1 + L, HEAD, 0.005),
            ("c", "A", 1 + L, 1 + H, b"", 0.006), ("s", "PA", 1 + H, 1 + L, CURL_BODY, 0.007),
            ("c", "A", 1 + L, 1 + R, b"", 0.008), ("c", "FA", 1 + L, 1 + R, b"", 0.009)]
    if server_fin:
        rows += [("s", "FA", 1 + R, 2 + L, b"", 0.010), ("c", "A", 2 + L, 2 + R, b"", 0.011)]
    if reset:
        rows.append(("s", "R", 1 + R, None, b"", 0.012))
    return segments(rows, 45000, 80, client="10.1.1.2", server=WEB, wires=(INSIDE, OUTSIDE))


def test_curl_is_a_correct_exchange_and_its_differences_are_named(load):
    evidence, table = checks.judge_web_real(load(curl_like())[INSIDE], (WEB, 80))
    assert evidence.startswith(f"curl: handshake, request (L={len(CURL_REQUEST)}), response "
                               f"(R={len(RESPONSE)}), both FINs acknowledged")
    assert "12 segments, not 11" in evidence
    assert "#11 is the table's 9 (ACK of the client's FIN) and 10 (server FIN) at once" in evidence
    assert "the response takes 2 segments (#6, #8)" in evidence
    assert f"#7 (client → server A ack {len(HEAD) + 1}) has no row in the table" in evidence
    assert "9 A seq y+1+R ack x+2+L + 10 FA seq y+1+R ack x+2+L" in table.splitlines()[12]


def test_the_textbook_exchange_has_no_differences(load):
    caps = load(synth.web11(response=RESPONSE, start=T0))
    evidence, _ = checks.judge_web_real(caps[INSIDE], (WEB, 80))
    assert evidence.endswith("against web-11's table: none: the same eleven")


def test_an_exchange_without_the_servers_fin_fails(load):
    with pytest.raises(ExpectationFailed) as failure:
        checks.judge_web_real(load(curl_like(server_fin=False))[INSIDE], (WEB, 80))
    assert "is not a correct HTTP exchange: no ACK of the client's FIN, server FIN, ACK of the " \
           "server's FIN" in str(failure.value)


def test_a_reset_exchange_fails(load):
    with pytest.raises(ExpectationFailed) as failure:
        checks.judge_web_real(load(curl_like(reset=True))[INSIDE], (WEB, 80))
    assert "reset by segment 13" in str(failure.value)


# ---------------------------------------------------------------- nat

def conntrack(outside_port: int = 40000) -> list[str]:
    return [
        "udp 17 28 src=10.10.10.10 dst=8.8.8.8 sport=49854 dport=53 src=8.8.8.8 "
        "dst=203.0.113.2 sport=53 dport=49854 mark=0 use=1",
        f"tcp 6 119 TIME_WAIT src=10.1.1.2 dst=61.135.169.125 sport=40000 dport=80 "
        f"src=61.135.169.125 dst=203.0.113.2 sport=80 dport={outside_port} [ASSURED] mark=0 use=1",
    ]


def judge_nat(caps, table):
    return nat_check.judge_nat(caps[INSIDE], caps[OUTSIDE], "10.1.1.2", (WEB, 80), PUBLIC, table,
                            hops=2)


def test_the_translation_is_in_both_captures_and_in_conntrack(load):
    evidence = judge_nat(load(synth.web11(response=RESPONSE, public_port=61000)),
                         conntrack(61000))
    assert evidence.startswith("10.1.1.2:40000 → 203.0.113.2:61000 outside, destination "
                               "61.135.169.125:80 unchanged; 6 segments out and 5 back")
    assert "conntrack: tcp 6 119 TIME_WAIT src=10.1.1.2" in evidence


def test_a_mapping_missing_from_conntrack_fails(load):
    with pytest.raises(ExpectationFailed) as failure:
        judge_nat(load(synth.web11(response=RESPONSE, public_port=61000)), conntrack(40000))
    assert "no connection tracking entry 10.1.1.2:40000 -> 61.135.169.125:80 replied to " \
           "203.0.113.2:61000" in str(failure.value)


def test_a_private_source_outside_fails(load):
    with pytest.raises(ExpectationFailed) as failure:
        judge_nat(load(synth.web11(response=RESPONSE, public="10.1.1.2")), conntrack())
    assert "not translated to 203.0.113.2" in str(failure.value)


# ---------------------------------------------------------------- the servers the checks use

def test_the_web_node_runs_a_normal_and_a_textbook_server_apart(tmp_path):
    from orchestrator.model import TopologyOptions, registry
    from services import plan
    launches = {launch.name: launch for launch in
                plan.launches(registry.load("enterprise", TopologyOptions()), tmp_path)
                if launch.node == "web"}
    assert set(launches) == {"web@web", "web-textbook@web"}
    normal, textbook = launches["web@web"], launches["web-textbook@web"]
    assert normal.log != textbook.log and set(normal.files).isdisjoint(textbook.files)
    (config,) = textbook.files.values()
    assert 'mode = "textbook"' in config and "port = 8080" in config
    assert 'mode = "normal"' in next(iter(normal.files.values()))
