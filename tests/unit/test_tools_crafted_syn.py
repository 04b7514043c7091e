"""The crafted SYN without a lab: the segment it builds, its arguments, and
that main sends exactly that one segment."""

from __future__ import annotations

import pytest
from scapy.layers.inet import IP, TCP

from services.tools import crafted_syn

pytestmark = pytest.mark.timeout(30)

ARGV = ["--src", "10.1.1.2", "--dst", "10.1.1.3", "--sport", "30105", "--dport", "5105",
        "--seq", "4096"]


def test_the_syn_has_the_addresses_ports_and_sequence_number_asked():
    packet = IP(bytes(crafted_syn.syn("10.1.1.2", "10.1.1.3", 30105, 5105, 4096)))
    assert (packet.src, packet.dst, packet.proto) == ("10.1.1.2", "10.1.1.3", 6)
    segment = packet[TCP]
    assert (segment.sport, segment.dport, segment.seq, segment.ack) == (30105, 5105, 4096, 0)
    assert str(segment.flags) == "S"


def test_main_sends_the_one_syn_and_closes_its_socket(monkeypatch):
    sent, closed = [], []

    class RawSocket:
        def send(self, packet):
            sent.append(bytes(packet))

        def close(self):
            closed.append(True)

    monkeypatch.setattr(crafted_syn, "L3RawSocket", RawSocket)
    assert crafted_syn.main(ARGV) == 0
    assert sent == [bytes(crafted_syn.syn("10.1.1.2", "10.1.1.3", 30105, 5105, 4096))]
    assert closed == [True]


@pytest.mark.parametrize("change, named", [
    ({"--sport": "65536"}, "argument --sport: not a port: '65536'"),
    ({"--dport": "-1"}, "argument --dport: not a port: '-1'"),
    ({"--seq": str(1 << 32)}, "argument --seq: not an unsigned 32-bit number"),
    ({"--src": "10.1.1"}, "argument --src: not an IPv4 address: '10.1.1'"),
    ({"--dst": None}, "the following arguments are required: --dst"),
])
def test_wrong_or_missing_arguments_are_refused_by_name(change, named, capsys):
    argv = []
    for flag, value in zip(ARGV[::2], ARGV[1::2]):
        value = change.get(flag, value)
        if value is not None:
            argv += [flag, value]
    with pytest.raises(SystemExit) as refused:
        crafted_syn.main(argv)
    assert refused.value.code == 2 and named in capsys.readouterr().err
