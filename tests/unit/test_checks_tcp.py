"""The judges of tcp-states and tcp-faults on synthetic captures: the right
segments pass, and wrong ones (a segment not held back, a state never seen,
FINs that do not cross, a third ACK that was not lost, the texts' 3 s
SYN-ACK timer...) fail with a message that says so.  Also the puppet, on
loopback, and the parsing of ss."""

from __future__ import annotations

import sys

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from orchestrator.checks import tcp as checks, tcpends
from orchestrator.checks.base import Demonstrated
from orchestrator.checks.tcp import Seen
from orchestrator.packets import ExpectationFailed, synth

pytestmark = pytest.mark.timeout(60)

CLIENT, SERVER = "10.1.1.2", "10.1.1.3"
C_WIRE, S_WIRE = "xiaoming-eth0", "xiaomei-eth0"
T0 = 1_700_001_000.0
LATENCY = 0.0001
_ids = iter(range(1, 1_000_000))


def segments(rows, sport: int, dport: int, isn=(1000, 5000), client: str = CLIENT,
             server: str = SERVER, wires: tuple[str, str] = (C_WIRE, S_WIRE)
             ) -> dict[str, list]:
    """Both wires of one connection.  A row is (who, flags, seq, ack, data,
    time): who "c" or "s", seq and ack relative to the ISNs (ack None: no ACK
    number), data bytes or a length, time in seconds after T0; seq may be
    ("raw", n) for a number on the wire.  A segment is on its sender's wire
    at its time and on the other wire LATENCY later."""
    found: dict[str, list] = {wire: [] for wire in wires}
    x, y = isn
    for who, flags, seq, ack, data, at in rows:
        mine, theirs = (x, y) if who == "c" else (y, x)
        raw_seq = seq[1] if isinstance(seq, tuple) else (mine + seq) & 0xFFFFFFFF
        raw_ack = 0 if ack is None else (theirs + ack) & 0xFFFFFFFF
        src, dst = (client, server) if who == "c" else (server, client)
        ports = (sport, dport) if who == "c" else (dport, sport)
        packet = (IP(src=src, dst=dst, ttl=64, id=next(_ids))
                  / TCP(sport=ports[0], dport=ports[1], flags=flags, seq=raw_seq, ack=raw_ack,
                        window=64240))
        if data:
            packet = packet / Raw(data if isinstance(data, bytes) else b"d" * data)
        sender, receiver = wires if who == "c" else wires[::-1]
        for wire, delay in ((sender, 0.0), (receiver, LATENCY)):
            frame = Ether(src=synth.XIAOMING_MAC, dst=synth.XIAOMEI_MAC) / packet.copy()
            frame.time = T0 + at + delay
            found[wire].append(frame)
    return found


def combine(*parts: dict[str, list]) -> dict[str, list]:
    """Scenarios merged point by point, in time order."""
    wires: dict[str, list] = {}
    for part in parts:
        for wire, frames in part.items():
            wires.setdefault(wire, []).extend(frames)
    return {wire: sorted(frames, key=lambda f: f.time) for wire, frames in wires.items()}


@pytest.fixture
def load(tmp_path, request):
    def read(*parts):
        return synth.load(combine(*parts), tmp_path, request.node.name)
    return read


# ---------------------------------------------------------------- tcp-states

def four_way(cport=40001, held=True):
    """Connection 1: each segment that ends a transient state 50 ms late."""
    late = 0.05 if held else 0.002
    return segments([
        ("c", "S", 0, None, b"", 0.0),
        ("s", "SA", 0, 1, b"", late),
        ("c", "A", 1, 1, b"", late + 0.001),
        ("c", "FA", 1, 1, b"", 0.10),
        ("s", "A", 1, 2, b"", 0.10 + late),
        ("s", "FA", 1, 2, b"", 0.20),
        ("c", "A", 2, 2, b"", 0.20 + late),
    ], cport, checks.STATES_PORT)


def crossing(cport=40002, client_fin_ack=1):
    """Connection 2: the server's FIN, then the client's (held), then the ACKs."""
    return segments([
        ("c", "S", 0, None, b"", 0.50),
        ("s", "SA", 0, 1, b"", 0.501),
        ("c", "A", 1, 1, b"", 0.502),
        ("s", "FA", 1, 1, b"", 0.55),
        ("c", "FA", 1, client_fin_ack, b"", 0.60),
        ("c", "A", 2, 2, b"", 0.65),
        ("s", "A", 2, 2, b"", 0.66),
    ], cport, checks.STATES_PORT)


STATES_SEEN = [   # (connection, end, state, ss ran from, to)
    (1, "server", "LISTEN", -0.02, -0.01), (1, "client", "CLOSED", -0.01, -0.005),
    (1, "client", "SYN_SENT", 0.01, 0.02), (1, "server", "SYN_RECV", 0.02, 0.03),
    (1, "client", "ESTABLISHED", 0.06, 0.07), (1, "server", "ESTABLISHED", 0.07, 0.08),
    (1, "client", "FIN_WAIT_1", 0.11, 0.12), (1, "server", "CLOSE_WAIT", 0.12, 0.13),
    (1, "client", "FIN_WAIT_2", 0.16, 0.17), (1, "server", "LAST_ACK", 0.21, 0.22),
    (1, "client", "TIME_WAIT", 0.22, 0.23), (1, "server", "CLOSED", 0.26, 0.27),
    (2, "client", "CLOSING", 0.56, 0.57), (2, "server", "FIN_WAIT_1", 0.57, 0.58),
    (2, "server", "CLOSING", 0.61, 0.62), (2, "client", "CLOSING", 0.62, 0.63),
    (2, "client", "TIME_WAIT", 0.67, 0.68), (2, "server", "TIME_WAIT", 0.68, 0.69),
]


def seen(rows=STATES_SEEN, drop=(), move=None):
    found = []
    for connection, end, state, t0, t1 in rows:
        if (connection, end, state) in drop:
            continue
        if move and move[0] == (connection, end, state):
            t0, t1 = move[1]
        found.append(Seen(connection, end, state, T0 + t0, T0 + t1, f"{state} (synthetic)"))
    return found


def judge_states(wires, observed):
    return checks.judge_tcp_states(wires[C_WIRE], wires[S_WIRE], observed, CLIENT, SERVER)


def test_every_state_between_its_segments_passes(load):
    evidence, pairs = judge_states(load(four_way(), crossing()), seen())
    assert "client CLOSED→SYN_SENT→ESTABLISHED→FIN_WAIT_1→FIN_WAIT_2→TIME_WAIT" in evidence
    assert "server LISTEN→SYN_RECV→ESTABLISHED→CLOSE_WAIT→LAST_ACK→CLOSED" in evidence
    assert "both ends CLOSING for 50 ms" in evidence
    assert len(pairs) == len(checks.STATE_STEPS)
    syn_sent = next(p for p in pairs if p.seen.state == "SYN_SENT")
    assert syn_sent.cause.flags == "S" and syn_sent.until.flags == "SA"
    assert "SYN_SENT" in syn_sent.line(T0) and "before SYN-ACK" in syn_sent.line(T0)


def test_a_state_seen_after_the_segment_that_ends_it_fails(load):
    wires = load(four_way(held=False), crossing())
    with pytest.raises(ExpectationFailed) as failure:
        judge_states(wires, seen())
    assert "SYN_SENT was seen on the client" in str(failure.value)
    assert "after the SYN-ACK that ends it" in str(failure.value)
    assert "not held back" in str(failure.value)


def test_a_state_never_seen_fails(load):
    with pytest.raises(ExpectationFailed) as failure:
        judge_states(load(four_way(), crossing()), seen(drop={(2, "server", "CLOSING")}))
    assert "connection 2: CLOSING was never seen on the server" in str(failure.value)
    assert "FIN_WAIT_1 [FIN_WAIT_1 (synthetic)]" in str(failure.value)


def test_a_state_seen_before_its_cause_fails(load):
    observed = seen(move=((1, "server", "LAST_ACK"), (0.15, 0.16)))
    with pytest.raises(ExpectationFailed) as failure:
        judge_states(load(four_way(), crossing()), observed)
    assert "LAST_ACK was seen on the server" in str(failure.value)
    assert "before its cause, the server FIN" in str(failure.value)


def test_fins_that_do_not_cross_fail(load):
    with pytest.raises(ExpectationFailed) as failure:
        judge_states(load(four_way(), crossing(client_fin_ack=2)), seen())
    message = str(failure.value)
    assert message.startswith("connection 2 on the client's wire: TCP 10.1.1.2:40002")
    assert "row 5 of 7 differs: ack is 2, not 1" in message


def test_a_missing_connection_fails(load):
    with pytest.raises(ExpectationFailed) as failure:
        judge_states(load(four_way()), seen())
    assert "expected 2 connections from 10.1.1.2 to 10.1.1.3:5001" in str(failure.value)
    assert "found 1 SYNs" in str(failure.value)


# ---------------------------------------------------------------- tcp-faults

def old_syn(repeated=False):
    rows = [("c", "S", ("raw", checks.STALE_SEQ), None, b"", 0.0),
            ("s", "SA", 0, 1, b"", 0.001),
            ("c", "R", ("raw", checks.STALE_SEQ + 1), None, b"", 0.002)]
    if repeated:
        rows.append(("s", "SA", 0, 1, b"", 1.001))
    return segments(rows, checks.STALE_PORT, checks.OLD_SYN_PORT, isn=(checks.STALE_SEQ, 7000))


def refused(answer="RA"):
    rows = [("c", "S", 0, None, b"", 2.0)]
    if answer:
        rows.append(("s", answer, ("raw", 0), 1, b"", 2.001))
    return segments(rows, 41002, checks.REFUSED_PORT)


def half_close(after_fin=True):
    rows = [("c", "S", 0, None, b"", 3.0), ("s", "SA", 0, 1, b"", 3.001),
            ("c", "A", 1, 1, b"", 3.002), ("c", "PA", 1, 1, 14, 3.003),
            ("s", "A", 1, 15, b"", 3.004), ("c", "FA", 15, 1, b"", 3.005),
            ("s", "A", 1, 16, b"", 3.006)]
    sent = 0
    if after_fin:
        rows += [("s", "PA", 1, 16, 12, 3.007), ("c", "A", 16, 13, b"", 3.008),
                 ("s", "PA", 13, 16, 15, 3.009), ("c", "A", 16, 28, b"", 3.010)]
        sent = 27
    rows += [("s", "FA", 1 + sent, 16, b"", 3.011), ("c", "A", 16, 2 + sent, b"", 3.012)]
    return segments(rows, 41003, checks.HALF_CLOSE_PORT)


def lost_ack(repeats=(1.0, 3.0), lost=True):
    rows = [("c", "S", 0, None, b"", 4.0), ("s", "SA", 0, 1, b"", 4.001)]
    if not lost:
        rows.append(("c", "A", 1, 1, b"", 4.002))
    rows += [("s", "SA", 0, 1, b"", 4.001 + at) for at in repeats]
    last = 4.001 + repeats[-1]
    rows += [("c", "PA", 1, 1, 14, last + 0.4), ("s", "A", 1, 15, b"", last + 0.401)]
    return segments(rows, 41001, checks.LOST_ACK_PORT)


def keepalive(unanswered=2):
    rows = [("c", "S", 0, None, b"", 9.0), ("s", "SA", 0, 1, b"", 9.001),
            ("c", "A", 1, 1, b"", 9.002),
            ("c", "A", 0, 1, b"", 10.0), ("s", "A", 1, 1, b"", 10.001)]
    rows += [("c", "A", 0, 1, b"", 11.0 + n) for n in range(unanswered)]
    rows.append(("c", "RA", 1, 1, b"", 11.0 + unanswered))
    return segments(rows, 41004, checks.KEEPALIVE_PORT)


SYSCTLS = {"net.ipv4.tcp_synack_retries": "5", "net.ipv4.tcp_keepalive_time": "7200",
           "net.ipv4.tcp_keepalive_intvl": "75", "net.ipv4.tcp_keepalive_probes": "9"}


def test_all_five_faults_pass_and_show_two_errata(load):
    wires = load(old_syn(), refused(), half_close(), lost_ack(), keepalive())
    errata: list[Demonstrated] = []
    facts = checks.FaultFacts(CLIENT, SERVER, SYSCTLS, SYSCTLS)
    evidence = checks.judge_tcp_faults(wires[C_WIRE], wires[S_WIRE], facts, errata)
    assert "the client reset it (RST seq 4097) and the server never repeated it" in evidence
    assert "SYN to closed port 5102 answered by RST,ACK seq 0 ack x+1" in evidence
    assert "the server sent 27 bytes in 2 segment(s), acknowledged by the client" in evidence
    assert "SYN-ACK repeated 2 times, 1.00 s, 2.00 s apart" in evidence
    assert "2 probes 1.00 s apart unanswered, RST 1.00 s after the last" in evidence
    assert [e.key for e in errata] == ["synack-retries", "keepalive"]
    assert "net.ipv4.tcp_keepalive_probes = 9" in errata[1].evidence


def test_a_fault_that_fails_is_named(load):
    wires = load(old_syn(), refused(answer=None), half_close(), lost_ack(), keepalive())
    facts = checks.FaultFacts(CLIENT, SERVER, SYSCTLS, SYSCTLS)
    with pytest.raises(ExpectationFailed) as failure:
        checks.judge_tcp_faults(wires[C_WIRE], wires[S_WIRE], facts, [])
    assert str(failure.value).startswith("closed port: step 2 of 2: expected tcp(flags=RA")


def test_an_old_syn_answered_twice_fails(load):
    wires = load(old_syn(repeated=True))
    with pytest.raises(ExpectationFailed) as failure:
        checks.judge_old_syn(wires[S_WIRE], CLIENT, SERVER)
    assert "all 3 steps matched, but 1 packet of kind tcp(port=30105) followed" in \
        str(failure.value)


def test_no_data_after_the_fin_is_no_half_close(load):
    wires = load(half_close(after_fin=False))
    with pytest.raises(ExpectationFailed) as failure:
        checks.judge_half_close(wires[C_WIRE], SERVER)
    assert "the server sent no data after the client's FIN: no half-close" in str(failure.value)


def test_a_third_ack_that_arrived_fails(load):
    wires = load(lost_ack(lost=False))
    with pytest.raises(ExpectationFailed) as failure:
        checks.judge_lost_ack(wires[S_WIRE], SERVER, SYSCTLS, [])
    assert "the third handshake ACK was not lost" in str(failure.value)


def test_the_texts_3_second_synack_timer_fails(load):
    wires = load(lost_ack(repeats=(3.0, 6.0)))
    errata: list[Demonstrated] = []
    with pytest.raises(ExpectationFailed) as failure:
        checks.judge_lost_ack(wires[S_WIRE], SERVER, SYSCTLS, errata)
    assert "expected the SYN-ACK repeated after about 1 s and then twice that, got 3 " \
           "SYN-ACKs 3.00 s, 3.00 s apart" in str(failure.value)
    assert errata == []


def test_too_few_unanswered_keepalive_probes_fail(load):
    wires = load(keepalive(unanswered=1))
    with pytest.raises(ExpectationFailed) as failure:
        checks.judge_keepalive(wires[C_WIRE], SERVER, SYSCTLS, [])
    assert "expected a probe answered, then 2 unanswered probes and the client's RST; got 1 " \
           "answered, 1 unanswered, an RST" in str(failure.value)


def test_keepalive_probes_are_one_byte_back(load):
    wires = load(keepalive())
    conv = checks.conversation(wires[C_WIRE], server=(SERVER, checks.KEEPALIVE_PORT))
    assert [(p.seq, p.ack) for p in checks.keepalive_probes(conv)] == [(0, 1)] * 3


# ---------------------------------------------------------------- ss and the puppet

def test_ss_lines_are_parsed_with_the_flows_names():
    text = ("LISTEN 0 8 10.1.1.3:5001 0.0.0.0:*\n"
            "SYN-RECV 0 0 10.1.1.3:5001 10.1.1.2:40000\n"
            "ESTAB 0 0 10.1.1.3:5001 10.1.1.2:40002 timer:(keepalive,1sec,0)\n")
    assert [row[:3] for row in tcpends.parse_ss(text)] == [
        ("LISTEN", "10.1.1.3:5001", "0.0.0.0:*"),
        ("SYN_RECV", "10.1.1.3:5001", "10.1.1.2:40000"),
        ("ESTABLISHED", "10.1.1.3:5001", "10.1.1.2:40002")]


class LocalLab:
    """Just what Puppet needs of a lab, running on this machine."""

    def exec_argv(self, node, argv):
        return argv

    def record(self, process):
        pass


def test_the_puppet_drives_both_ends_of_a_connection_on_loopback():
    lab = LocalLab()
    with checks.puppets(lab, "server", "client") as (server, client):
        port = server("listen", sock="l", addr="127.0.0.1", port=0)["port"]
        assert client("connect", sock="c", addr="127.0.0.1", port=port)["error"] is None
        assert client("connected", sock="c") == {"error": None}
        assert server("accept", sock="s", listener="l")["peer"].startswith("127.0.0.1:")
        client("send", sock="c", data="hello")
        assert server("recv", sock="s", size=5) == {"data": "hello", "eof": False}
        client("shutdown", sock="c")
        assert server("recv", sock="s", until_eof=True) == {"data": "", "eof": True}
        server("send", sock="s", data="after your FIN")
        server("close", sock="s")
        assert client("recv", sock="c", until_eof=True) == {"data": "after your FIN",
                                                             "eof": True}
        with pytest.raises(checks.LabError, match="client: accept .*KeyError"):
            client("accept", sock="x", listener="nothing")
    assert all(p.proc.poll() is not None for p in (server, client))


def test_the_puppet_is_the_tools_module_run_by_the_venvs_python():
    puppet = tcpends.Puppet(LocalLab(), "client")
    try:
        assert puppet.proc.args == [sys.executable, "-m", "services.tools.tcp_puppet"]
    finally:
        puppet.stop()
    assert puppet.proc.returncode == 0 and puppet.proc.stderr.read() == ""
