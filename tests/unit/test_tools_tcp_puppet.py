"""The TCP puppet without a lab: its nfnetlink_queue messages built and read
back, its segment holder fed by a socket pair standing in for the kernel's
netlink socket, and its commands on loopback sockets."""

from __future__ import annotations

import errno
import io
import json
import re
import socket
import struct
import subprocess
import sys

import pytest
from scapy.layers.inet import IP, TCP, UDP

from services.tools import tcp_puppet
from services.tools.tcp_puppet import (
    NFQA_PACKET_HDR,
    NFQA_PAYLOAD,
    NFQNL_MSG_CONFIG,
    NFQNL_MSG_PACKET,
    NFQNL_MSG_VERDICT,
    Commands,
    SegmentHolder,
    attribute,
    message,
    queued,
    tcp_flags,
)

pytestmark = pytest.mark.timeout(30)

QUEUE = 7


def segment(flags: str) -> bytes:
    return bytes(IP(src="10.1.1.2", dst="10.1.1.3") / TCP(sport=40000, dport=5001, flags=flags))


def kernel_packet(packet_id: int, payload: bytes) -> bytes:
    """An NFQNL_MSG_PACKET as the kernel sends it: packet header (id,
    hardware protocol, hook) and the payload copied."""
    return message(NFQNL_MSG_PACKET, QUEUE, [
        attribute(NFQA_PACKET_HDR, struct.pack("!IHB", packet_id, 0x0800, 3)),
        attribute(NFQA_PAYLOAD, payload)])


def unpack(request: bytes) -> dict:
    """A request's netlink header, nfgenmsg and attributes."""
    length, mtype, flags, _seq, _pid = struct.unpack_from("=IHHII", request)
    family, version, queue = struct.unpack_from("=BBH", request, 16)
    attributes, at = [], 20
    while at < length:
        size, kind = struct.unpack_from("=HH", request, at)
        attributes.append((kind, request[at + 4:at + size]))
        at += (size + 3) & ~3
    return {"length": length, "size": len(request), "type": mtype, "flags": flags,
            "family": family, "version": version, "queue": socket.ntohs(queue),
            "attributes": attributes}


# ---------------------------------------------------------------- messages

def test_a_config_request_names_the_queue_and_asks_for_an_ack():
    bind = unpack(message(NFQNL_MSG_CONFIG, QUEUE, [attribute(1, b"\x01\x00\x00\x02")],
                          ack=True))
    assert bind == {"length": 28, "size": 28, "type": (3 << 8) | 2, "flags": 0x1 | 0x4,
                    "family": socket.AF_UNSPEC, "version": 0, "queue": QUEUE,
                    "attributes": [(1, b"\x01\x00\x00\x02")]}
    verdict = unpack(message(NFQNL_MSG_VERDICT, QUEUE, [attribute(2, struct.pack("!II", 1, 9))],
                             family=socket.AF_INET))
    assert (verdict["type"], verdict["flags"], verdict["family"]) == \
        ((3 << 8) | 1, 0x1, socket.AF_INET)
    assert verdict["attributes"] == [(2, struct.pack("!II", 1, 9))]


def test_attributes_are_padded_to_four_bytes():
    assert attribute(10, b"abcde") == struct.pack("=HH", 9, 10) + b"abcde" + b"\0\0\0"
    assert len(attribute(1, b"abcd")) == 8


def test_tcp_flags_are_read_from_the_ip_packet():
    assert tcp_flags(segment("S")) == "S"
    assert tcp_flags(segment("SA")) == "SA"
    assert tcp_flags(segment("FPA")) == "FPA"
    assert tcp_flags(bytes(IP() / UDP())) == "?"
    assert tcp_flags(segment("S")[:30]) == "?"
    assert tcp_flags(b"") == "?"


def test_queued_packets_are_read_with_their_ids_and_flags():
    read = kernel_packet(41, segment("SA")) + kernel_packet(42, segment("F")[:40])
    assert queued(read) == [(41, "SA"), (42, "F")]


def test_other_netlink_messages_and_truncated_ones_are_skipped():
    other = message(NFQNL_MSG_CONFIG, QUEUE, [attribute(1, b"\0\0\0\0")])
    assert queued(other + kernel_packet(7, bytes(IP() / UDP()))) == [(7, "?")]
    assert queued(b"\0" * 10) == []
    assert queued(struct.pack("=IH", 0, 0) + b"\0" * 14) == []


def test_a_refusal_in_the_ack_is_raised_with_its_errno():
    tcp_puppet.acknowledged(struct.pack("=IHHII", 36, 2, 0, 0, 0) + struct.pack("=i", 0))
    with pytest.raises(OSError, match="nfqueue refused") as refused:
        tcp_puppet.acknowledged(struct.pack("=IHHII", 36, 2, 0, 0, 0)
                                + struct.pack("=i", -errno.EPERM))
    assert refused.value.errno == errno.EPERM


# ---------------------------------------------------------------- the holder

@pytest.fixture
def holder():
    """A holder bound to one end of a datagram socket pair; the test is the
    kernel at the other end."""
    ours, kernel = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    held = SegmentHolder()
    held.netlink, held.queue = ours, QUEUE
    yield held, kernel
    held.close()
    kernel.close()


def verdicts(kernel: socket.socket) -> list[tuple[int, int]]:
    """(verdict, packet id) of every verdict the holder sent."""
    found = []
    kernel.setblocking(False)
    try:
        while True:
            request = unpack(kernel.recv(65536))
            assert (request["type"], request["queue"]) == ((3 << 8) | 1, QUEUE)
            ((kind, value),) = request["attributes"]
            assert kind == 2                                # NFQA_VERDICT_HDR
            found.append(struct.unpack("!II", value))
    except BlockingIOError:
        return found


def test_the_holder_holds_until_released_oldest_first(holder):
    held, kernel = holder
    kernel.send(kernel_packet(1, segment("S")))
    kernel.send(kernel_packet(2, segment("A")) + kernel_packet(3, segment("FA")))
    assert held.held(at_least=3, timeout=2.0) == ["S", "A", "FA"]
    assert verdicts(kernel) == []
    assert held.release(1) == ["S"]
    assert verdicts(kernel) == [(1, 1)]                     # NF_ACCEPT, packet 1
    assert held.release() == ["A", "FA"]
    assert verdicts(kernel) == [(1, 2), (1, 3)]
    assert held.held(at_least=1, timeout=0.1) == []


def test_held_returns_what_there_is_when_the_timeout_passes(holder):
    held, kernel = holder
    kernel.send(kernel_packet(5, segment("S")))
    assert held.held(at_least=2, timeout=0.2) == ["S"]


def test_closing_the_holder_lets_everything_go(holder):
    held, kernel = holder
    kernel.send(kernel_packet(8, segment("PA")))
    held.close()
    assert verdicts(kernel) == [(1, 8)]
    assert held.netlink is None and held.release() == []


def test_a_second_hold_is_refused(holder):
    held, _kernel = holder
    with pytest.raises(RuntimeError, match="already holding queue 7"):
        held.hold(8)


# ---------------------------------------------------------------- commands

@pytest.fixture
def commands():
    made = Commands()
    yield made
    made.end()


def ok(commands: Commands, op: str, **args) -> dict:
    reply = commands.answer({"op": op, **args})
    assert reply.pop("ok") is True, reply
    return reply


def test_commands_play_a_connection_on_loopback(commands):
    port = ok(commands, "listen", sock="l", addr="127.0.0.1", port=0)["port"]
    assert ok(commands, "connect", sock="c", addr="127.0.0.1", port=port)["error"] is None
    assert ok(commands, "connected", sock="c") == {"error": None}
    assert ok(commands, "accept", sock="s", listener="l")["peer"].startswith("127.0.0.1:")
    ok(commands, "send", sock="c", data="hello")
    assert ok(commands, "recv", sock="s", size=5) == {"data": "hello", "eof": False}
    ok(commands, "shutdown", sock="c")
    assert ok(commands, "recv", sock="s", until_eof=True) == {"data": "", "eof": True}
    ok(commands, "send", sock="s", data="after your FIN")
    ok(commands, "close", sock="s")
    assert ok(commands, "recv", sock="c", until_eof=True) == {"data": "after your FIN",
                                                              "eof": True}
    assert ok(commands, "failed", sock="c") == {"error": None}


def test_a_closed_port_is_refused(commands):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    ok(commands, "connect", sock="c", addr="127.0.0.1", port=port)
    assert ok(commands, "connected", sock="c") == {"error": "ECONNREFUSED"}


def test_keepalive_timers_are_set_on_the_socket(commands):
    port = ok(commands, "listen", sock="l", addr="127.0.0.1", port=0)["port"]
    ok(commands, "connect", sock="c", addr="127.0.0.1", port=port)
    ok(commands, "keepalive", sock="c", idle=1, interval=2, count=3)
    s = commands.socks["c"]
    assert s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
    assert [s.getsockopt(socket.IPPROTO_TCP, option) for option in
            (socket.TCP_KEEPIDLE, socket.TCP_KEEPINTVL, socket.TCP_KEEPCNT)] == [1, 2, 3]


def test_a_recv_that_times_out_returns_what_came(commands):
    port = ok(commands, "listen", sock="l", addr="127.0.0.1", port=0)["port"]
    ok(commands, "connect", sock="c", addr="127.0.0.1", port=port)
    ok(commands, "connected", sock="c")
    ok(commands, "accept", sock="s", listener="l")
    ok(commands, "send", sock="c", data="ab")
    assert ok(commands, "recv", sock="s", size=5, timeout=0.2) == {"data": "ab", "eof": False}


@pytest.mark.parametrize("request_, error", [
    ({"op": "dance"}, "unknown command 'dance'; known: listen, connect"),
    ({}, "unknown command None"),
    ({"op": "accept", "sock": "x", "listener": "nothing"}, "KeyError: 'nothing'"),
    ({"op": "listen", "sock": "l", "addr": "127.0.0.1"}, "TypeError: .*'port'"),
    ({"op": "recv", "sock": "s"}, "ValueError: recv wants a size or until_eof"),
])
def test_a_failing_command_is_answered_with_its_error(commands, request_, error):
    reply = commands.answer(request_)
    assert reply["ok"] is False
    assert re.search(error, reply["error"]), reply["error"]


def test_release_without_a_hold_lets_nothing_go(commands):
    assert ok(commands, "release") == {"released": []}


def test_serve_answers_each_line_until_quit(commands):
    lines = io.StringIO('{"op": "release"}\n{"op": "dance"}\n{"op": "quit"}\n'
                        '{"op": "release"}\n')
    out = io.StringIO()
    tcp_puppet.serve(commands, lines, out)
    assert [json.loads(line) for line in out.getvalue().splitlines()] == [
        {"ok": True, "released": []},
        {"ok": False, "error": "unknown command 'dance'; known: " + ", ".join(commands.ops)}]


def test_serve_ends_with_its_input(commands):
    out = io.StringIO()
    tcp_puppet.serve(commands, io.StringIO('{"op": "release"}\n'), out)
    assert out.getvalue() == '{"ok": true, "released": []}\n'


def test_the_module_runs_alone_and_takes_no_arguments():
    result = subprocess.run([sys.executable, "-m", "services.tools.tcp_puppet"],
                            input='{"op": "release"}\n{"op": "quit"}\n', capture_output=True,
                            text=True, timeout=10)
    assert (result.returncode, result.stdout, result.stderr) == \
        (0, '{"ok": true, "released": []}\n', "")
    with pytest.raises(SystemExit) as refused:
        tcp_puppet.main(["--queue", "7"])
    assert refused.value.code == 2
