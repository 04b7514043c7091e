"""Packet captures inside lab nodes (or on the machine's own loopback, for
tests): tcpdump started before the traffic, stopped and flushed after, one
pcap per node and interface.

tcpdump is started through ``mnexec -a`` in the node's namespaces, marked
with the run id like every process of the run, and is known to be ready only
once it says it is listening: starting traffic before that would lose the
first packets, which are often the ones a check is about.

A capture needs of the lab only :class:`~orchestrator.processes.nodeexec.NodeExec`
(run tcpdump in a node, record its pid) and a path for its file.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from pathlib import Path

from ..errors import LabError
from ..processes.binaries import require
from ..processes.nodeexec import NodeExec
from ..processes.pipes import read_until
from ..runs.rundir import Process

READY_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
DRAIN_TIMEOUT = 2.0
RING_KIB = 8192
STATS = re.compile(rb"(?P<captured>\d+) packets? captured,?\s+(?P<received>\d+) packets? received "
                   rb"by filter")
DROPPED = re.compile(rb"(?P<dropped>\d+) packets? dropped by kernel")


def point_label(node: str, iface: str) -> str:
    """How a capture point is named: the interface name when it already says
    the node (``xiaoming-eth0``), else ``node:interface``."""
    return iface if iface.startswith(f"{node}-") else f"{node}:{iface}"


def dropped_at(captures: "list[Tcpdump]") -> dict[str, int]:
    """Per capture point that lost any: how many packets the kernel dropped."""
    return {c.label: c.dropped for c in captures if c.dropped}


def describe_drops(dropped: dict[str, int]) -> str:
    return ", ".join(f"{point} ({count})" for point, count in dropped.items())


class Tcpdump:
    """``with Tcpdump(lab, "xiaoli", "xiaoli-eth0", "arp", path) as cap: ...``;
    afterwards ``cap.path`` is a complete pcap file, which
    :func:`orchestrator.packets.read` gives back as a ``Capture``.

    ``Tcpdump.local(interface, path)`` captures on an interface of the
    machine itself (loopback, for tests of the library against the real
    stack) with the same readiness, draining and drop accounting."""

    def __init__(self, nodes: NodeExec | None, node: str, interface: str, bpf: str = "",
                 path: Path | None = None, snaplen: int = 0):
        if path is None:
            raise ValueError(f"a capture on {node}:{interface} needs a path for its pcap")
        self.nodes = nodes
        self.node = node
        self.interface = interface
        self.bpf = bpf
        self.snaplen = snaplen
        self.path = Path(path)
        self.proc: subprocess.Popen | None = None
        self.dropped = 0
        """Packets the kernel dropped before tcpdump read them, as tcpdump
        reports when it stops: the file lacks that many."""
        self._stderr_tail = b""          # what tcpdump said when a wait ran out

    @classmethod
    def local(cls, interface: str, path: Path, bpf: str = "") -> "Tcpdump":
        return cls(None, "local", interface, bpf, path)

    @property
    def label(self) -> str:
        return point_label(self.node, self.interface)

    def start(self) -> "Tcpdump":
        return self.launch().wait_listening()

    def launch(self) -> "Tcpdump":
        """Start tcpdump without waiting for it to listen: a recording
        launches all its points, then waits for each (they start together)."""
        tcpdump = require("tcpdump")
        # An 8 MiB ring: libpcap gives each packet a slot as large as the
        # snapshot length (or 64 KiB where offloads are on), so its default
        # 2 MiB holds 8 to 32 packets, and the kernel drops the rest of a burst
        # whenever tcpdump waits for a CPU.
        argv = [tcpdump, "-i", self.interface, "-U", "-n", "-s", str(self.snaplen),
                "-B", str(RING_KIB), "-w", str(self.path), "--immediate-mode"]
        if self.bpf:
            argv.append(self.bpf)
        if self.nodes is not None:
            argv = self.nodes.exec_argv(self.node, argv)
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if self.nodes is not None:
            self.nodes.record(Process(self.node, self.proc.pid, "tcpdump"))
        return self

    def _read_until(self, pattern: re.Pattern, timeout: float) -> re.Match | None:
        """Read tcpdump's stderr until ``pattern`` matches what came since."""
        found, seen = read_until(self.proc, self.proc.stderr, pattern.search, timeout)
        if found is None:
            self._stderr_tail = seen
        return found

    def wait_listening(self) -> "Tcpdump":
        if self._read_until(re.compile(rb"listening on"), READY_TIMEOUT):
            return self
        self.stop()
        tail = self._stderr_tail.decode(errors="replace").strip()
        raise LabError(f"tcpdump on {self.node}:{self.interface} did not start: "
                       f"{tail or 'no output'}")

    def _drain(self) -> None:
        """Wait until tcpdump has written every packet its filter received.

        SIGINT alone loses what is still in tcpdump's socket buffer on a
        busy machine (measured: 22 captures in 100 short of packets with both
        cores loaded).  SIGUSR1 makes tcpdump report captured and received
        counts; once they agree, or the captured count stops moving (on
        loopback the two never agree), nothing is left to write."""
        deadline = time.monotonic() + DRAIN_TIMEOUT
        last, steady = -1, 0
        while time.monotonic() < deadline and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGUSR1)
            stats = self._read_until(STATS, 0.5)
            if stats is None:
                return
            captured, received = int(stats["captured"]), int(stats["received"])
            steady = steady + 1 if captured == last else 0
            if captured >= received or steady >= 2:
                return
            last = captured
            time.sleep(0.01)

    def stop(self) -> Path:
        """Stop tcpdump once it has written all it received, with SIGINT so
        that it flushes and closes the file."""
        if self.proc is not None and self.proc.poll() is None:
            self._drain()
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.dropped = self._dropped_at_exit()
        return self.path

    def _dropped_at_exit(self) -> int:
        """tcpdump's last word: how many packets the kernel dropped."""
        counts = DROPPED.findall(self.proc.stderr.read())
        return int(counts[-1]) if counts else 0

    def __enter__(self) -> "Tcpdump":
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()
