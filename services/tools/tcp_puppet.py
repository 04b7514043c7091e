"""One end of a scripted TCP connection, inside a lab node: sockets and a
segment holder, driven by JSON lines on stdin.

``python -m services.tools.tcp_puppet`` reads one command a line,
``{"op": NAME, ...}``, and answers each with one JSON line, ``{"ok": true,
...}`` or ``{"ok": false, "error": ...}``; ``quit`` or the end of stdin ends
it.  Socket commands name their socket (``sock``) and are plain socket calls
(:class:`Commands`).  ``hold`` binds an NFQUEUE queue, ``held`` waits until
segments are held there, ``release`` lets the oldest (or all) go: the check
makes a segment late, with the node's firewall handing it to the queue, so
that ``ss`` can see the transient state it leaves (:class:`SegmentHolder`).
Nothing stays held when the puppet goes.

tcp-states and tcp-faults drive one puppet in each end's node
(``orchestrator.checks.tcpends.Puppet``).  NFQUEUE is spoken over a raw
netlink socket (nfnetlink_queue messages, :func:`message` and
:func:`queued`): the node needs no library beyond Python for it.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import select
import socket
import struct
import sys
import time
from typing import Any, Callable, TextIO

# netlink and nfnetlink_queue (linux/netfilter/nfnetlink_queue.h)
NETLINK_NETFILTER = 12
NLM_F_REQUEST, NLM_F_ACK = 0x1, 0x4
NLMSG_HEADER = "=IHHII"              # length, type, flags, sequence, port id
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG = 0, 1, 2
NFQA_CFG_CMD, NFQA_CFG_PARAMS = 1, 2
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_PACKET = 2
COPY_BYTES = 128                     # enough of each segment for its TCP flags
NFQA_PACKET_HDR, NFQA_VERDICT_HDR, NFQA_PAYLOAD = 1, 2, 10
NF_ACCEPT = 1
TCP_FLAG_LETTERS = ((1, "F"), (2, "S"), (4, "R"), (8, "P"), (16, "A"))


# ---------------------------------------------------------------- NFQUEUE messages

def attribute(kind: int, data: bytes) -> bytes:
    """One netlink attribute, padded to four bytes."""
    size = 4 + len(data)
    return struct.pack("=HH", size, kind) + data + bytes(-size % 4)


def message(mtype: int, queue: int, attributes: list[bytes], family: int = socket.AF_UNSPEC,
            ack: bool = False) -> bytes:
    """An nfnetlink_queue request: netlink header, nfgenmsg (family, version
    0, the queue number), then its attributes."""
    body = struct.pack("=BBH", family, 0, socket.htons(queue)) + b"".join(attributes)
    flags = NLM_F_REQUEST | (NLM_F_ACK if ack else 0)
    header = struct.pack(NLMSG_HEADER, 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | mtype, flags,
                         0, 0)
    return header + body


def tcp_flags(ip_packet: bytes) -> str:
    """The flags of the TCP segment in an IPv4 packet, as letters (``SA``),
    or ``?`` when it is no TCP segment or too short to tell."""
    header = (ip_packet[0] & 0x0F) * 4 if ip_packet else 0
    if len(ip_packet) < header + 14 or ip_packet[9] != socket.IPPROTO_TCP:
        return "?"
    bits = ip_packet[header + 13]
    return "".join(letter for bit, letter in TCP_FLAG_LETTERS if bits & bit)


def queued(data: bytes) -> list[tuple[int | None, str]]:
    """The segments one netlink read brought: (packet id, TCP flags) for each
    NFQNL_MSG_PACKET in it."""
    found = []
    offset = 0
    while offset + 16 <= len(data):
        size, mtype = struct.unpack_from("=IH", data, offset)
        if size < 16:
            break
        if mtype == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
            packet_id, flags, at = None, "?", offset + 20
            while at + 4 <= offset + size:
                length, kind = struct.unpack_from("=HH", data, at)
                value = data[at + 4:at + length]
                if kind & 0x7FFF == NFQA_PACKET_HDR:
                    packet_id = struct.unpack_from("!I", value)[0]
                elif kind & 0x7FFF == NFQA_PAYLOAD:
                    flags = tcp_flags(value)
                at += max(4, (length + 3) & ~3)
            found.append((packet_id, flags))
        offset += (size + 3) & ~3
    return found


def acknowledged(reply: bytes) -> None:
    """Raise the error a netlink acknowledgement carries, if any."""
    code = struct.unpack_from("=i", reply, 16)[0]
    if code:
        raise OSError(-code, f"nfqueue refused: {os.strerror(-code)}")


class SegmentHolder:
    """The segments the node's firewall queued, held until released, oldest
    first, each as (packet id, TCP flags)."""

    def __init__(self) -> None:
        self.netlink: socket.socket | None = None
        self.queue = 0
        self.pending: list[tuple[int | None, str]] = []

    def hold(self, queue: int) -> None:
        if self.netlink is not None:
            raise RuntimeError(f"already holding queue {self.queue}")
        netlink = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        netlink.bind((0, 0))
        self.netlink, self.queue, self.pending = netlink, queue, []
        self._send(NFQNL_MSG_CONFIG, [attribute(NFQA_CFG_CMD, struct.pack(
            "!BxH", NFQNL_CFG_CMD_BIND, socket.AF_INET))], ack=True)
        self._send(NFQNL_MSG_CONFIG, [attribute(NFQA_CFG_PARAMS, struct.pack(
            "!IB", COPY_BYTES, NFQNL_COPY_PACKET))], ack=True)

    def held(self, at_least: int, timeout: float) -> list[str]:
        """The flags of what is held, once ``at_least`` segments are or the
        timeout passed."""
        deadline = time.monotonic() + timeout
        self._drain(0)
        while len(self.pending) < at_least:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._drain(left)
        return [flags for _, flags in self.pending]

    def release(self, count: int | None = None) -> list[str]:
        """Let the oldest ``count`` held segments go (all: None or 0)."""
        if self.netlink is None:
            return []
        self._drain(0)
        count = count or len(self.pending)
        released, self.pending = self.pending[:count], self.pending[count:]
        for packet_id, _ in released:
            self._send(NFQNL_MSG_VERDICT, [attribute(NFQA_VERDICT_HDR, struct.pack(
                "!II", NF_ACCEPT, packet_id))], family=socket.AF_INET)
        return [flags for _, flags in released]

    def close(self) -> None:
        if self.netlink is not None:
            self.release()
            self.netlink.close()
            self.netlink = None

    def _send(self, mtype: int, attributes: list[bytes], family: int = socket.AF_UNSPEC,
              ack: bool = False) -> None:
        self.netlink.send(message(mtype, self.queue, attributes, family, ack))
        if ack:
            acknowledged(self.netlink.recv(65536))

    def _drain(self, wait: float) -> None:
        """Read what the kernel queued, waiting up to ``wait`` for the first."""
        while select.select([self.netlink], [], [], wait)[0]:
            self.pending.extend(queued(self.netlink.recv(65536)))
            wait = 0


# ---------------------------------------------------------------- commands

def error_name(code: int) -> str | None:
    """errno's name for a socket error (``ECONNREFUSED``), None for none."""
    return errno.errorcode.get(code, str(code)) if code else None


class Commands:
    """What each command does: plain socket calls on sockets kept by name,
    and the segment holder."""

    def __init__(self) -> None:
        self.socks: dict[str, socket.socket] = {}
        self.holder = SegmentHolder()
        self.ops: dict[str, Callable[..., dict[str, Any]]] = {
            "listen": self.listen, "connect": self.connect, "connected": self.connected,
            "accept": self.accept, "send": self.send, "recv": self.recv,
            "shutdown": self.shutdown, "close": self.close, "keepalive": self.keepalive,
            "failed": self.failed, "hold": self.hold, "held": self.held,
            "release": self.release}

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        """The reply to one command; a command that fails is answered with
        its error (the check raises it), and the puppet carries on."""
        args = dict(request)
        name = args.pop("op", None)
        if name not in self.ops:
            return {"ok": False, "error": f"unknown command {name!r}; known: "
                                         f"{', '.join(self.ops)}"}
        try:
            return {"ok": True, **self.ops[name](**args)}
        except Exception as exc:  # reported to the check, which raises it
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}

    def end(self) -> None:
        """Let every held segment go and close every socket."""
        self.holder.close()
        for sock in self.socks.values():
            sock.close()
        self.socks.clear()

    # -- NFQUEUE
    def hold(self, queue: int) -> dict[str, Any]:
        self.holder.hold(queue)
        return {}

    def held(self, at_least: int = 1, timeout: float = 2.0) -> dict[str, Any]:
        return {"held": self.holder.held(at_least, timeout)}

    def release(self, count: int | None = None) -> dict[str, Any]:
        return {"released": self.holder.release(count)}

    # -- sockets
    def listen(self, sock: str, addr: str, port: int) -> dict[str, Any]:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        s.listen(8)
        self.socks[sock] = s
        return {"port": s.getsockname()[1]}

    def connect(self, sock: str, addr: str, port: int) -> dict[str, Any]:
        """Start connecting and return at once (the SYN may be held)."""
        s = socket.socket()
        s.setblocking(False)
        code = s.connect_ex((addr, port))
        self.socks[sock] = s
        return {"port": s.getsockname()[1],
                "error": None if code == errno.EINPROGRESS else error_name(code)}

    def connected(self, sock: str, timeout: float = 5.0) -> dict[str, Any]:
        s = self.socks[sock]
        if not select.select([], [s], [], timeout)[1]:
            return {"error": "timeout"}
        s.setblocking(True)
        return {"error": error_name(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))}

    def accept(self, sock: str, listener: str, timeout: float = 5.0) -> dict[str, Any]:
        waiting = self.socks[listener]
        waiting.settimeout(timeout)
        conn, peer = waiting.accept()
        conn.settimeout(None)
        self.socks[sock] = conn
        return {"peer": f"{peer[0]}:{peer[1]}"}

    def send(self, sock: str, data: str) -> dict[str, Any]:
        self.socks[sock].sendall(data.encode())
        return {}

    def recv(self, sock: str, size: int | None = None, until_eof: bool = False,
             timeout: float = 5.0) -> dict[str, Any]:
        """Read ``size`` bytes, or (``until_eof``) everything up to the FIN."""
        if size is None and not until_eof:
            raise ValueError("recv wants a size or until_eof")
        s = self.socks[sock]
        deadline = time.monotonic() + timeout
        data, eof = b"", False
        while until_eof or len(data) < size:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([s], [], [], left)[0]:
                break
            chunk = s.recv(65536)
            if not chunk:
                eof = True
                break
            data += chunk
        return {"data": data.decode(errors="replace"), "eof": eof}

    def shutdown(self, sock: str) -> dict[str, Any]:
        self.socks[sock].shutdown(socket.SHUT_WR)
        return {}

    def close(self, sock: str) -> dict[str, Any]:
        self.socks.pop(sock).close()
        return {}

    def keepalive(self, sock: str, idle: int, interval: int, count: int) -> dict[str, Any]:
        s = self.socks[sock]
        s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, idle)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, interval)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, count)
        return {}

    def failed(self, sock: str, timeout: float = 0.0) -> dict[str, Any]:
        """The error that ended the connection (keepalive: ETIMEDOUT), if any yet."""
        s = self.socks[sock]
        select.select([s], [], [s], timeout)
        return {"error": error_name(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))}


def serve(commands: Commands, lines: TextIO, out: TextIO) -> None:
    """Answer each command line until ``quit`` or the end of the input."""
    while True:
        line = lines.readline()
        if not line:
            return
        request = json.loads(line)
        if request.get("op") == "quit":
            return
        print(json.dumps(commands.answer(request)), file=out, flush=True)


def parser() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(
        prog="python -m services.tools.tcp_puppet",
        description="One end of a scripted TCP connection: answers JSON commands on stdin, "
                    "one JSON line each, until quit.")


def main(argv: list[str]) -> int:
    parser().parse_args(argv)
    commands = Commands()
    try:
        serve(commands, sys.stdin, sys.stdout)
    finally:
        commands.end()               # nothing stays held when the puppet goes
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
