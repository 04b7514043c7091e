"""The two ends of a scripted TCP connection, inside lab nodes.

A :class:`Puppet` drives :mod:`services.tools.tcp_puppet`, a small Python
process in a node (the venv's python, started through the node's namespaces
and marked with the run id) that opens, reads, writes and closes sockets on
command, one JSON line at a time, and can hold segments that the node's
firewall hands to NFQUEUE (read over netlink, no library) until it is told
to let them go.  :class:`Firewall` adds and always removes the rules;
:class:`StateWatch` polls ``ss`` for a socket's state.  tcp-states and
tcp-faults (:mod:`.tcp`) are built on these.
"""

from __future__ import annotations

import contextlib
import json
import select
import subprocess
import time
from dataclasses import dataclass
from typing import Iterator

from services.base import python_module

from ..errors import LabError
from ..lab import Lab
from ..runs.rundir import Process
from .base import Station

QUEUE = 7                   # the NFQUEUE number each node's puppet holds segments on
STATE_DEADLINE = 3.0        # seconds for ss to show an expected state
REPLY_DEADLINE = 15.0       # seconds for a puppet to answer a command
PUPPET = "services.tools.tcp_puppet"


# ---------------------------------------------------------------- the puppet

class Puppet:
    """One end of the scripted traffic: :mod:`services.tools.tcp_puppet` in a
    node, answering one command at a time; a command that fails raises
    :class:`LabError`."""

    def __init__(self, lab: Lab, node: str):
        self.node = node
        self.proc = subprocess.Popen(lab.exec_argv(node, python_module(PUPPET)),
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
