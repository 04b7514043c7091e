"""What every check shares: its context in a running lab, its captures, its
result, and the errata it demonstrates.

A check scripts traffic inside the lab while tcpdump captures on the
interfaces it names, then decides pass or fail by assertions over the
captured packets (:mod:`orchestrator.packets`), never over log lines or exit
statuses.  It returns one line of key evidence; a failed expectation raises
and its message (which shows the packets that were there instead) becomes
the check's failure.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from ..capture.recording import Captured, Recording
from ..errors import CaptureIncomplete, FlowlabError
from ..lab import Lab
from ..model import Topology
from ..packets import Packet
from ..results.verify import CaptureBlock
from .errata import ERRATA
from .footprint import Footprint


class CheckStopped(FlowlabError):
    """verify is ending (Ctrl-C, or a crash elsewhere) while the check waited."""


@dataclass
class Demonstrated:
    """An erratum shown by this check's capture, and the packet that shows
    it (the report marks that packet's arrow; None: no one packet does)."""

    key: str
    evidence: str
    packet: Packet | None = field(default=None, repr=False)


def record_erratum(errata: list[Demonstrated], key: str, evidence: str,
                   packet: Packet | None = None) -> None:
    """Note that a capture showed ``key``, in ``packet``; judges call this
    with the list their caller hands them, so that they stay pure functions
    of packets."""
    if key not in ERRATA:
        raise KeyError(f"unknown erratum {key!r}")
    errata.append(Demonstrated(key, evidence, packet))


class CheckContext:
    """A check's handle on the lab: captures, protocol waits, errata."""

    def __init__(self, lab: Lab, name: str, pcap_dir: Path,
                 stop: threading.Event | None = None):
        self.lab = lab
        self.stop = stop or threading.Event()    # set: verify is ending, stop waiting
        self.name = name
        self.pcap_dir = pcap_dir
        self.protocol_wait = 0.0
        self.errata: list[Demonstrated] = []
        self.blocks: list[CaptureBlock] = []     # one per capture, its files (counted later)
        self._capture_index = 0

    @contextlib.contextmanager
    def capture(self, points: list[tuple[str, str]], bpf: str = "") -> Iterator["Captured"]:
        """Capture on every (node, interface) while the block runs; the
        packets are read when it ends, merged in time order (the pipeline
        of :mod:`orchestrator.capture.recording`, which the race shares).  A capture
        the kernel dropped packets from is refused as evidence."""
        self._capture_index += 1
        directory = self.pcap_dir if self._capture_index == 1 else \
            self.pcap_dir / f"part-{self._capture_index}"
        recording = Recording(self.lab, points, bpf, directory)
        try:
            yield recording.start()
        finally:
            captured = recording.stop()
            if captured.merged_path is not None:
                self.blocks.append(CaptureBlock(str(captured.merged_path),
                                                tuple(str(p) for p in captured.paths.values())))
        if captured.dropped:
            raise CaptureIncomplete("the kernel dropped packets before tcpdump read them, so "
                                    "the captures cannot prove this check: "
                                    + captured.incomplete())

    def wait(self, seconds: float) -> None:
        """Wait for a protocol timer (a lease's T1, an ARP entry's expiry):
        counted apart, so that verify can show what its time is made of."""
        if self.stop.wait(seconds):
            raise CheckStopped(f"{self.name}: stopped while waiting")
        self.protocol_wait += seconds

    def erratum(self, key: str, evidence: str, packet: Packet | None = None) -> None:
        record_erratum(self.errata, key, evidence, packet)


@dataclass(frozen=True)
class Station:
    """A host as a check sees it: where it is captured, its MAC and address."""

    node: str
    iface: str
    mac: str
    ip: str


def station(ctx: CheckContext, node: str) -> Station:
    """The node's first interface, with its leased (or static) address."""
    iface = ctx.lab.topo.interfaces(node)[0]
    lease = ctx.lab.leases().get((node, iface.name))
    address = lease.ip if lease else str(iface.address.ip)
    return Station(node, iface.name, ctx.lab.mac(node, iface.name), address)


class Check:
    """Subclasses set the class attributes and implement :meth:`run`, which
    returns the key evidence in one line or raises ExpectationFailed.

    The convention: ``run`` scripts traffic and captures it, gathers plain
    facts (addresses, MACs) from the lab, then hands packets and facts to a
    module-level ``judge_*`` function that decides from the packets alone.
    Unit tests feed those judges synthetic captures, right and wrong.
    """

    name = ""
    summary = ""
    topologies: tuple[str, ...] = ()
    vlans: bool | None = None        # None: with or without VLANs
    idle_wait = 0.0                  # about how long it waits on protocol timers (s): the
                                     # longest waiters start first, to carry other checks

    def footprint(self, lab: Lab) -> Footprint | None:
        """What it touches while it runs (:mod:`.footprint`), for verify to
        run it beside others; None, the default: it runs alone."""
        return None

    def applies_to(self, topo: Topology) -> bool:
        """Whether the check has something to prove in ``topo``.  The
        textbook checks name the labs of FLOWS.md (``topologies``); checks
        derived from the model override this and look at the model only."""
        return topo.name in self.topologies and \
            (self.vlans is None or self.vlans == topo.options.vlans)

    def why_not(self, topo: Topology) -> str:
        """Why the check does not apply to ``topo``, for a refused --check."""
        return f"it is a check of {', '.join(self.topologies) or 'no topology'}" + \
            ("" if self.vlans is None else (" with VLANs" if self.vlans else " without VLANs"))

    def run(self, ctx: CheckContext) -> str:
        raise NotImplementedError
