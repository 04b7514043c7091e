"""TCP: relative sequence numbers and the conversation helper, checked against
FLOWS.md's web-11 table row by row; passing, and failing with the table of
what was there."""

from __future__ import annotations

import pytest

from orchestrator.packets import (
    CLIENT_TO_SERVER,
    SERVER_TO_CLIENT,
    ExpectationFailed,
    conversation,
    expect,
    from_frames,
    merge,
    synth,
    tcp,
)

pytestmark = pytest.mark.timeout(60)
C, S = "client → server", "server → client"


@pytest.fixture
def name(request):
    return request.node.name


@pytest.fixture
def web(tmp_path, name):
    return synth.load(synth.web11(), tmp_path, name)


def flows_table(L: int, R: int) -> list[tuple]:
    """FLOWS.md web-11 with x = y = 0 (relative numbers); None: no ACK flag."""
    return [
        (C, "S", 0, None, 0),
        (S, "SA", 0, 1, 0),
        (C, "A", 1, 1, 0),
        (C, "PA", 1, 1, L),
        (S, "A", 1, 1 + L, 0),
        (S, "PA", 1, 1 + L, R),
        (C, "A", 1 + L, 1 + R, 0),
        (C, "FA", 1 + L, 1 + R, 0),
        (S, "A", 1 + R, 2 + L, 0),
        (S, "FA", 1 + R, 2 + L, 0),
        (C, "A", 2 + L, 2 + R, 0),
    ]


def test_relative_numbers_inside_and_outside_the_nat(web):
    for capture in web.values():
        rows = [(p.tcp.flags, p.tcp.seq, p.tcp.ack) for p in capture]
        assert rows[:3] == [("S", 0, None), ("SA", 0, 1), ("A", 1, 1)]
    inside, outside = web["xiaoming-eth0"], web["edge-eth1"]
    assert [p.tcp.seq_raw for p in inside] == [p.tcp.seq_raw for p in outside]


def test_relative_numbers_in_a_strict_sequence(web):
    syn, synack, ack = expect(web["xiaoming-eth0"]).sequence(
        [tcp(flags="S", seq=0), tcp(flags="SA", seq=0, ack=1), tcp(flags="A", seq=1, ack=1)],
        kind=tcp(port=80))
    assert synack.tcp.ack_raw == syn.tcp.seq_raw + 1


def test_relative_numbers_in_a_strict_sequence_fail_readably(web):
    with pytest.raises(ExpectationFailed) as failure:
        expect(web["xiaoming-eth0"]).sequence(
            [tcp(flags="S", seq=0), tcp(flags="SA", seq=0, ack=2)], kind=tcp(port=80))
    message = str(failure.value)
    assert message.startswith("step 2 of 2: expected tcp(flags=SA, seq=0, ack=2) after Flags "
                              "[S], seq 0, len 0 (step 1, 0.000000 xiaoming-eth0)")
    assert "61.135.169.125.80 > 10.1.1.2.40000: Flags [S.], seq 0, ack 1, len 0    " \
           "<- ack is 1, not 2" in message


def test_the_eleven_segments_row_by_row(web):
    for capture in web.values():
        conv = conversation(capture, server=(synth.WEB, 80))
        L, R = conv[3].len, conv[5].len
        assert (L, R) == (len(synth.REQUEST), len(synth.RESPONSE))
        segments = conv.expect(flows_table(L, R))
        assert [s.number for s in segments] == list(range(1, 12))
        assert segments[0].direction == CLIENT_TO_SERVER
        assert segments[1].direction == SERVER_TO_CLIENT
    inside = conversation(web["xiaoming-eth0"])
    assert inside.client == ("10.1.1.2", 40000) and inside.server == (synth.WEB, 80)
    assert inside.payload(C) == synth.REQUEST and inside.payload("server") == synth.RESPONSE
    assert inside.rows()[1] == (S, "SA", 0, 1, 0)
    assert "  6  server → client  PA            1         74    103" in inside.table()


def test_rows_accept_sets_predicates_and_anything(web):
    conv = conversation(web["xiaoming-eth0"], client="10.1.1.2:40000")
    rows = flows_table(conv[3].len, conv[5].len)
    rows[3] = (C, {"PA", "A"}, 1, 1, lambda n: n > 0)
    rows[5] = ("server -> client", "P.", ..., ..., ...)
    conv.expect(rows)


def test_a_different_conversation_fails_at_the_first_differing_row(web):
    conv = conversation(web["xiaoming-eth0"])
    L, R = conv[3].len, conv[5].len
    piggybacked = flows_table(L, R)
    del piggybacked[4]                   # what a real server often does: no bare ACK
    with pytest.raises(ExpectationFailed) as failure:
        conv.expect(piggybacked)
    message = str(failure.value)
    assert message.startswith("TCP 10.1.1.2:40000 → 61.135.169.125:80: row 5 of 10 differs: "
                              "flags are A, not PA; len is 0, not 103")
    assert "  5  server → client  A             1         74      0   " \
           "!= server → client PA 1 74 103" in message
    assert "  4  client → server  PA            1          1     73   ok" in message
    assert " 11  client → server  A            75        105      0   (not expected)" in message
    assert "xiaoming-eth0 61.135.169.125.80 > 10.1.1.2.40000: Flags [.], seq 1, ack 74, len 0" \
        in message


def test_a_missing_segment_fails_with_the_count(tmp_path, name):
    scenario = synth.web11()
    scenario["xiaoming-eth0"].pop()                 # the last ACK was not captured
    capture = synth.load(scenario, tmp_path, name)["xiaoming-eth0"]
    conv = conversation(capture)
    with pytest.raises(ExpectationFailed) as failure:
        conv.expect(flows_table(conv[3].len, conv[5].len))
    message = str(failure.value)
    assert "expected 11 segments, got 10" in message
    assert " 11  (no segment)" in message and "missing:" in message


def test_no_syn_to_start_from(tmp_path, name):
    lookup = synth.load(synth.dns_udp(), tmp_path, name)["xiaoming-eth0"]
    with pytest.raises(ExpectationFailed, match=r"no TCP SYN \(client any, server any\) among "
                                                r"2 packets \(xiaoming-eth0\)"):
        conversation(lookup)


def test_capture_without_the_syn_counts_like_wireshark(web):
    inside = web["xiaoming-eth0"]
    late = from_frames([(p.time, p.data) for p in inside[2:]], "late")
    assert [(p.tcp.seq, p.tcp.ack) for p in late[:4]] == [(1, 1), (1, 1), (1, 74), (1, 74)]
    conv = conversation(late, client="10.1.1.2:40000", server=f"{synth.WEB}:80")
    assert conv.rows()[0] == (C, "A", 1, 1, 0) and len(conv) == 9
    only_client = from_frames([(p.time, p.data) for p in inside if p.tcp.sport == 40000], "c")
    assert [p.tcp.ack for p in only_client] == [None, 1, 1, 104, 104, 105]


def test_a_reused_port_starts_a_new_connection(tmp_path, name):
    first = synth.web11(isn=(1000, 2000))
    second = synth.web11(isn=(900_000, 800_000), start=1_700_000_700.0)
    both = {"xiaoming-eth0": first["xiaoming-eth0"] + second["xiaoming-eth0"]}
    capture = synth.load(both, tmp_path, name)["xiaoming-eth0"]
    assert [p.tcp.seq for p in capture[11:14]] == [0, 0, 1]
    assert capture[12].tcp.ack == 1
    conv = conversation(capture)
    assert len(conv) == 11 and conv[0].packet is capture[0]
    later = conversation(capture, syn=capture[11])
    assert len(later) == 11 and later[1].row() == (S, "SA", 0, 1, 0)


def test_a_conversation_across_merged_points_uses_each_side(web):
    merged = merge(web["xiaoming-eth0"])
    assert conversation(merged).rows() == conversation(web["xiaoming-eth0"]).rows()
