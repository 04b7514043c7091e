"""The two ends of a scripted TCP connection, inside lab nodes.

A :class:`Puppet` is a small Python process in a node (the venv's python,
started through the node's namespaces and marked with the run id) that
opens, reads, writes and closes sockets on command, one JSON line at a time,
and can hold segments that the node's firewall hands to NFQUEUE (read over
netlink, no library) until it is told to let them go.  :class:`Firewall`
adds and always removes the rules; :class:`StateWatch` polls ``ss`` for a
socket's state.  tcp-states and tcp-faults (:mod:`.tcp`) are built on these.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import select
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Iterator

from ..errors import LabError
from ..lab import Lab
from ..runs.rundir import Process
from .base import Station

QUEUE = 7                   # the NFQUEUE number each node's puppet holds segments on
STATE_DEADLINE = 3.0        # seconds for ss to show an expected state
REPLY_DEADLINE = 15.0       # seconds for a puppet to answer a command


# ---------------------------------------------------------------- the puppet

def _puppet() -> None:  # pragma: no cover - runs inside a node, as its own process
    """Sockets and a segment holder, driven by JSON lines on stdin.

    Each line is ``{"op": NAME, ...}``; the answer is one JSON line,
    ``{"ok": true, ...}`` or ``{"ok": false, "error": ...}``.  Socket
    operations name their socket (``sock``); ``hold`` binds an NFQUEUE
    queue, ``held`` waits until segments are held there, ``release`` lets
    the oldest (or all) go.  Self-contained: it is sent to ``python -c``.
    """
    import errno
    import json
    import os
    import select
    import socket
    import struct
    import sys
    import time

    socks = {}
    queue = {"nl": None, "num": 0, "pending": []}

    def error_name(code):
        return errno.errorcode.get(code, str(code)) if code else None

    # -- NFQUEUE: nfnetlink_queue messages over a raw netlink socket
    def nl_attr(kind, data):
        size = 4 + len(data)
        return struct.pack("=HH", size, kind) + data + bytes(-size % 4)

    def nl_send(mtype, attrs, family=socket.AF_UNSPEC, ack=False):
        body = struct.pack("=BBH", family, 0, socket.htons(queue["num"])) + b"".join(attrs)
        flags = 0x1 | (0x4 if ack else 0)                      # NLM_F_REQUEST, NLM_F_ACK
        queue["nl"].send(struct.pack("=IHHII", 16 + len(body), (3 << 8) | mtype, flags, 0, 0)
                         + body)
        if ack:
            code = struct.unpack_from("=i", queue["nl"].recv(65536), 16)[0]
            if code:
                raise OSError(-code, f"nfqueue refused: {os.strerror(-code)}")

    def tcp_flags(ip_packet):
        header = (ip_packet[0] & 0x0F) * 4
        if len(ip_packet) < header + 14 or ip_packet[9] != 6:
            return "?"
        bits = ip_packet[header + 13]
        return "".join(letter for bit, letter in ((1, "F"), (2, "S"), (4, "R"), (8, "P"),
                                                  (16, "A")) if bits & bit)

    def drain(wait):
        """Read what the kernel queued (waiting up to ``wait`` for the first)."""
        nl = queue["nl"]
        while select.select([nl], [], [], wait)[0]:
            data = nl.recv(65536)
            offset = 0
            while offset + 16 <= len(data):
                size, mtype = struct.unpack_from("=IH", data, offset)
                if size < 16:
                    break
                if mtype == 3 << 8:                            # NFQNL_MSG_PACKET
                    packet_id, flags, at = None, "?", offset + 20
                    while at + 4 <= offset + size:
                        length, kind = struct.unpack_from("=HH", data, at)
                        value = data[at + 4:at + length]
                        if kind & 0x7FFF == 1:                 # NFQA_PACKET_HDR
                            packet_id = struct.unpack_from("!I", value)[0]
                        elif kind & 0x7FFF == 10:              # NFQA_PAYLOAD
                            flags = tcp_flags(value)
                        at += max(4, (length + 3) & ~3)
                    queue["pending"].append((packet_id, flags))
                offset += (size + 3) & ~3
            wait = 0

    def op_hold(a):
        nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)   # NETLINK_NETFILTER
        nl.bind((0, 0))
        queue.update(nl=nl, num=a["queue"], pending=[])
        nl_send(2, [nl_attr(1, struct.pack("!BxH", 1, socket.AF_INET))], ack=True)  # BIND
        nl_send(2, [nl_attr(2, struct.pack("!IB", 128, 2))], ack=True)  # copy 128 bytes
        return {}

    def op_held(a):
        deadline = time.monotonic() + a.get("timeout", 2.0)
        drain(0)
        while len(queue["pending"]) < a.get("at_least", 1):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            drain(left)
        return {"held": [flags for _, flags in queue["pending"]]}

    def op_release(a):
        drain(0)
        pending = queue["pending"]
        count = a.get("count") or len(pending)
        released, queue["pending"] = pending[:count], pending[count:]
        for packet_id, _ in released:                          # VERDICT: NF_ACCEPT
            nl_send(1, [nl_attr(2, struct.pack("!II", 1, packet_id))], family=socket.AF_INET)
        return {"released": [flags for _, flags in released]}

    # -- sockets
    def op_listen(a):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((a["addr"], a["port"]))
        s.listen(8)
        socks[a["sock"]] = s
        return {"port": s.getsockname()[1]}

    def op_connect(a):
        """Start connecting and return at once (the SYN may be held)."""
        s = socket.socket()
        s.setblocking(False)
        code = s.connect_ex((a["addr"], a["port"]))
        socks[a["sock"]] = s
        return {"port": s.getsockname()[1],
                "error": None if code == errno.EINPROGRESS else error_name(code)}

    def op_connected(a):
        s = socks[a["sock"]]
        if not select.select([], [s], [], a.get("timeout", 5.0))[1]:
            return {"error": "timeout"}
        s.setblocking(True)
        return {"error": error_name(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))}

    def op_accept(a):
        listener = socks[a["listener"]]
        listener.settimeout(a.get("timeout", 5.0))
        conn, peer = listener.accept()
        conn.settimeout(None)
        socks[a["sock"]] = conn
        return {"peer": f"{peer[0]}:{peer[1]}"}

    def op_send(a):
        socks[a["sock"]].sendall(a["data"].encode())
        return {}

    def op_recv(a):
        """Read ``size`` bytes, or (``until_eof``) everything up to the FIN."""
        s = socks[a["sock"]]
        deadline = time.monotonic() + a.get("timeout", 5.0)
        data, eof = b"", False
        while a.get("until_eof") or len(data) < a["size"]:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([s], [], [], left)[0]:
                break
            chunk = s.recv(65536)
            if not chunk:
                eof = True
                break
            data += chunk
        return {"data": data.decode(errors="replace"), "eof": eof}

    def op_shutdown(a):
        socks[a["sock"]].shutdown(socket.SHUT_WR)
        return {}

    def op_close(a):
        socks.pop(a["sock"]).close()
        return {}

    def op_keepalive(a):
        s = socks[a["sock"]]
        s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, a["idle"])
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, a["interval"])
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, a["count"])
        return {}

    def op_failed(a):
        """The error that ended the connection (keepalive: ETIMEDOUT), if any yet."""
        s = socks[a["sock"]]
        select.select([s], [], [s], a.get("timeout", 0.0))
        return {"error": error_name(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))}

    ops = {name[3:]: op for name, op in locals().items() if name.startswith("op_")}
    while True:
        line = sys.stdin.readline()
        if not line:
            break
        request = json.loads(line)
        name = request.pop("op")
        if name == "quit":
            break
        try:
            reply = {"ok": True, **ops[name](request)}
        except Exception as exc:  # reported to the check, which raises it
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(reply), flush=True)
    if queue["nl"] is not None:
        op_release({})                  # nothing stays held when the puppet goes


PUPPET = inspect.getsource(_puppet) + "\n_puppet()\n"


class Puppet:
    """One end of the scripted traffic: :func:`_puppet` in a node, answering
    one command at a time; a command that fails raises :class:`LabError`."""

    def __init__(self, lab: Lab, node: str):
        self.node = node
        self.proc = subprocess.Popen(lab.exec_argv(node, [sys.executable, "-c", PUPPET]),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        lab.record(Process(node, self.proc.pid, "tcp puppet"))

    def __call__(self, op: str, **args) -> dict:
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()
        if not select.select([self.proc.stdout], [], [], REPLY_DEADLINE)[0]:
            raise LabError(f"{self.node}: {op} got no answer within {REPLY_DEADLINE:g} s")
        line = self.proc.stdout.readline()
        if not line:
            raise LabError(f"{self.node}: the puppet exited during {op}: "
                           f"{self.proc.stderr.read().strip()}")
        reply = json.loads(line)
        if not reply.pop("ok"):
            raise LabError(f"{self.node}: {op} {args}: {reply['error']}")
        return reply

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write('{"op": "quit"}\n')
                self.proc.stdin.flush()
                self.proc.wait(3)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


@contextlib.contextmanager
def puppets(lab: Lab, *nodes: str) -> Iterator[list[Puppet]]:
    started: list[Puppet] = []
    try:
        for node in nodes:
            started.append(Puppet(lab, node))
        yield started
    finally:
        for puppet in started:
            puppet.stop()


# ---------------------------------------------------------------- firewall rules

HOLD = ("-j", "NFQUEUE", "--queue-num", str(QUEUE), "--queue-bypass")
DROP = ("-j", "DROP")
PURE_ACK = ("--tcp-flags", "ALL", "ACK")


class Firewall:
    """iptables rules the check adds inside nodes, each removed by
    :meth:`rule` when its block ends and all by :func:`firewall` at the end,
    so that a failing check leaves no rule behind."""

    def __init__(self, lab: Lab):
        self.lab = lab
        self.rules: list[tuple[str, tuple[str, ...]]] = []

    def _iptables(self, node: str, action: str, spec: tuple[str, ...]) -> None:
        result = self.lab.run_in(node, ["iptables", "-w", action, *spec])
        if result.returncode != 0:
            raise LabError(f"{node}: iptables {action} {' '.join(spec)}: {result.stderr.strip()}")

    def add(self, node: str, *spec: str) -> None:
        self._iptables(node, "-I", spec)
        self.rules.append((node, spec))

    def remove(self, node: str, *spec: str) -> None:
        self.rules.remove((node, spec))
        self._iptables(node, "-D", spec)

    @contextlib.contextmanager
    def rule(self, node: str, *spec: str) -> Iterator[None]:
        """The rule holds while the block runs."""
        self.add(node, *spec)
        try:
            yield
        finally:
            self.remove(node, *spec)

    def clear(self) -> None:
        for node, spec in reversed(list(self.rules)):
            self.remove(node, *spec)


@contextlib.contextmanager
def firewall(lab: Lab) -> Iterator[Firewall]:
    rules = Firewall(lab)
    try:
        yield rules
    finally:
        rules.clear()


def outgoing(*, sport: int | None = None, dport: int | None = None,
            flags: tuple[str, ...] = ()) -> tuple[str, ...]:
    """An iptables rule's match, in the sending node's OUTPUT chain, on TCP
    segments by port and flags: a segment is held or lost where it leaves,
    so the captures show what really travelled."""
    spec = ["OUTPUT", "-p", "tcp"]
    if sport is not None:
        spec += ["--sport", str(sport)]
    if dport is not None:
        spec += ["--dport", str(dport)]
    return (*spec, *flags)


# ---------------------------------------------------------------- socket states

SS_STATES = {"LISTEN": "LISTEN", "SYN-SENT": "SYN_SENT", "SYN-RECV": "SYN_RECV",
             "ESTAB": "ESTABLISHED", "FIN-WAIT-1": "FIN_WAIT_1", "FIN-WAIT-2": "FIN_WAIT_2",
             "CLOSE-WAIT": "CLOSE_WAIT", "LAST-ACK": "LAST_ACK", "TIME-WAIT": "TIME_WAIT",
             "CLOSING": "CLOSING"}


@dataclass(frozen=True)
class Seen:
    """A state ``ss`` showed on one end of a connection, and when: between
    ``t0`` and ``t1`` (wall clock, the clock of the captures)."""

    connection: int
    end: str               # "client" or "server"
    state: str             # FLOWS.md's spelling; CLOSED when there is no socket
    t0: float
    t1: float
    shown: str             # the line of ss, or "(no socket)"


def parse_ss(text: str) -> list[tuple[str, str, str, str]]:
    """``ss -tanH`` lines as (state, local, peer, line)."""
    rows = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 5:
            rows.append((SS_STATES.get(fields[0], fields[0]), fields[3], fields[4], line.strip()))
    return rows


class StateWatch:
    """Polls ``ss`` on either end until the connection shows the state
    wanted, and keeps every observation (:class:`Seen`)."""

    def __init__(self, lab: Lab, ends: dict[str, Station], port: int):
        self.lab = lab
        self.ends = ends
        self.port = port
        self.seen: list[Seen] = []

    def _rows(self, end: str) -> tuple[list, float, float]:
        t0 = time.time()
        out = self.lab.run_in(self.ends[end].node, ["ss", "-tanH", "sport", "=", f":{self.port}",
                                                    "or", "dport", "=", f":{self.port}"]).stdout
        return parse_ss(out), t0, time.time()

    def _mine(self, end: str, want: str, client_port: int | None):
        """Which rows of ``end``'s ss are the connection (or the listener)."""
        server = f"{self.ends['server'].ip}:{self.port}"
        client = f"{self.ends['client'].ip}:{client_port}" if client_port else None
        if want == "LISTEN":
            return lambda state, local, peer: state == "LISTEN" and local == server
        if end == "client":
            return lambda state, local, peer: peer == server and client in (None, local)
        return lambda state, local, peer: (state != "LISTEN" and local == server
                                           and client in (None, peer))

    def see(self, connection: int, end: str, want: str, client_port: int | None = None,
            deadline: float = STATE_DEADLINE) -> Seen:
        """Poll until ``end`` shows ``want`` for the connection from
        ``client_port`` (LISTEN: the listener; CLOSED: no socket), or the
        deadline passes; record and return what was seen last."""
        mine = self._mine(end, want, client_port)
        limit = time.monotonic() + deadline
        while True:
            rows, t0, t1 = self._rows(end)
            found = [row for row in rows if mine(*row[:3])]
            state, shown = (found[0][0], found[0][3]) if found else ("CLOSED", "(no socket)")
            if state == want or time.monotonic() > limit:
                seen = Seen(connection, end, state, t0, t1, shown)
                self.seen.append(seen)
                return seen


@contextlib.contextmanager
def patient_retransmissions(lab: Lab, a: Station, b: Station,
                            rto_min: str = "1s") -> Iterator[None]:
    """A host route to each other with a minimum retransmission timeout of
    ``rto_min`` (Linux: 200 ms), removed afterwards: a segment held for a
    state to be seen must not be retransmitted meanwhile, or the capture
    would show a copy that only the holding caused, whatever the load."""
    added = []
    try:
        for host, peer in ((a, b), (b, a)):
            route = [f"{peer.ip}/32", "dev", host.iface]
            result = lab.run_in(host.node, ["ip", "route", "add", *route, "rto_min", rto_min])
            if result.returncode != 0:
                raise LabError(f"{host.node}: ip route add {' '.join(route)}: "
                               f"{result.stderr.strip()}")
            added.append((host.node, route))
        yield
    finally:
        for node, route in added:
            lab.run_in(node, ["ip", "route", "del", *route])
