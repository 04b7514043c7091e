"""Running checks in a lab that is up, and collecting their results.

Each check gets its own pcap directory and ends as a typed record
(:class:`~orchestrator.results.verify.CheckRecord`): its verdict, key
evidence, failures, the errata it showed and the frame that shows each, its
time and the part of it spent waiting on protocol timers, and per capture
block the frames and distinct packets (a ladder's arrows).  One that fails
does not stop the others.

Checks whose footprints allow it run at once (:mod:`.footprint`): those
that wait longest on protocol timers start first, so that their idle
seconds carry other checks, then the others in the order of FLOWS.md, each
as soon as nothing running conflicts with it (every check stands alone:
``verify --check NAME`` runs any one by itself).  Each
overlapped check's captures are then proven free of the others' packets
(:mod:`.alongside`).  Under a controller, checks run one at a time: the
packet-ins counted per check would otherwise mix.
"""

from __future__ import annotations

import queue
import threading
import time
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Callable

from ..capture.recording import MERGED
from ..errors import FlowlabError
from ..lab import Lab
from ..packets import merge, read
from ..results.verify import CheckRecord
from . import evidence
from .alongside import judge_alongside
from .base import Check, CheckContext
from .derived.facts import network
from .footprint import Footprint, conflict

AT_ONCE = 4           # checks running at once, at most: they mostly wait
STOP_GRACE = 10.0     # seconds the running checks get to end after Ctrl-C or a crash


def run_check(lab: Lab, check: Check, pcaps: Path,
              stop: threading.Event | None = None) -> CheckRecord:
    """One check in the lab as it is, to its record; a bug in a check, or an
    error of the lab, is its failure, never the caller's exception."""
    ctx = CheckContext(lab, check.name, pcaps / check.name, stop)
    start = time.monotonic()
    said, failures = "", []
    before = lab.controller.packet_ins() if lab.controller is not None else {}
    try:
        said = check.run(ctx)
    except AssertionError as failure:          # ExpectationFailed, and facts off the wire
        failures.append(str(failure))
    except FlowlabError as error:
        failures.append(f"{type(error).__name__}: {error}")
    except Exception:   # a bug in a check is reported, and the others still run
        failures.append(traceback.format_exc())
    seconds = time.monotonic() - start
    if lab.controller is not None:       # the flows and packet-ins behind what was seen
        under = lab.controller.evidence(before, pcaps / check.name)
        said = f"{said}; {under}" if said else under
        if failures:
            failures.append(under)
    blocks, errata = evidence.recorded(ctx.blocks, ctx.errata)
    return CheckRecord(check.name, not failures, said or "", tuple(failures), errata, seconds,
                       ctx.protocol_wait, captures=blocks)


def run_checks(lab: Lab, checks: list[Check], out: Path,
               progress: Callable[[str], None] = lambda message: None,
               serial: bool = False,
               on_check: Callable[[CheckRecord], None] = lambda record: None
               ) -> list[CheckRecord]:
    """Every check, overlapping where footprints allow (``serial``: one at
    a time); records in the order of ``checks``, ``on_check`` called with
    each as it ends."""
    alone = serial or lab.controller is not None
    footprints = {c.name: None if alone else footprint_of(c, lab) for c in checks}
    pcaps = out / "pcaps"
    records = Schedule(checks, footprints, progress, on_check).run(
        lambda check, stop: run_check(lab, check, pcaps, stop))
    return prove_apart(lab, records, footprints)


def footprint_of(check: Check, lab: Lab) -> Footprint | None:
    """The check's footprint, or None (alone) when it cannot say: a check
    whose roles the lab cannot fill fails when it runs, not here."""
    try:
        return check.footprint(lab)
    except Exception:   # noqa: BLE001 - the check itself reports it, alone
        return None


class Schedule:
    """Greedy list scheduling under the footprints' conflicts."""

    def __init__(self, checks: list[Check], footprints: dict[str, Footprint | None],
                 progress: Callable[[str], None],
                 on_check: Callable[[CheckRecord], None] = lambda record: None):
        self.order = [c.name for c in checks]
        self.pending = sorted(checks, key=lambda c: (-c.idle_wait, self.order.index(c.name)))
        self.footprints = footprints
        self.progress = progress
        self.on_check = on_check
        self.stop = threading.Event()

    def _may_start(self, check: Check, running: set[str]) -> bool:
        mine = self.footprints[check.name]
        return len(running) < AT_ONCE and \
            not any(conflict(mine, self.footprints[r]) for r in running)

    def run(self, work: Callable[[Check, threading.Event], CheckRecord]) -> list[CheckRecord]:
        finished: queue.Queue = queue.Queue()
        running: set[str] = set()
        records: dict[str, CheckRecord] = {}
        t0 = time.monotonic()

        def worker(check: Check) -> None:
            begun = time.monotonic() - t0
            try:
                record = work(check, self.stop)
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                finished.put((check, exc))
                return
            finished.put((check, replace(record, started=begun)))

        try:
            while self.pending or running:
                for check in list(self.pending):
                    if self._may_start(check, running):
                        self.pending.remove(check)
                        running.add(check.name)
                        self.progress(f"check {check.name}")
                        threading.Thread(target=worker, args=(check,), daemon=True,
                                         name=f"check {check.name}").start()
                check, outcome = finished.get()
                running.discard(check.name)
                if isinstance(outcome, BaseException):
                    raise outcome
                records[check.name] = outcome
                self.on_check(outcome)
        except BaseException:
            self.stop.set()       # waits end at once; the lab's teardown does the rest
            deadline = time.monotonic() + STOP_GRACE
            while running and time.monotonic() < deadline:
                try:
                    check, _ = finished.get(timeout=max(0.0, deadline - time.monotonic()))
                    running.discard(check.name)
                except queue.Empty:
                    break
            raise
        return [records[name] for name in self.order]


def prove_apart(lab: Lab, records: list[CheckRecord],
                footprints: dict[str, Footprint | None]) -> list[CheckRecord]:
    """Each record with the checks that ran beside it; one whose captures
    hold packets of theirs fails (:func:`.alongside.judge_alongside`)."""
    records = [replace(r, alongside=tuple(
        o.name for o in records if o is not r and
        o.started < r.started + r.seconds and r.started < o.started + o.seconds))
        for r in records]
    if not any(r.alongside for r in records):
        return records
    addresses = node_addresses(lab, {n for fp in footprints.values() if fp for n in fp.nodes})
    proven = []
    for r in records:
        if r.alongside:
            r = _judged_apart(r, footprints, addresses)
        proven.append(r)
    return proven


def _judged_apart(r: CheckRecord, footprints: dict[str, Footprint | None],
                  addresses: dict[str, set[str]]) -> CheckRecord:
    mine = footprints[r.name].nodes if footprints[r.name] else frozenset()
    others = {o: set().union(*(addresses.get(n, set()) for n in footprints[o].nodes - mine))
              for o in r.alongside if footprints[o]}
    points = [Path(p) for p in r.pcaps if Path(p).name != MERGED and Path(p).is_file()]
    try:
        judge_alongside(merge(*(read(p, point=p.stem) for p in points)), others)
    except AssertionError as failure:
        return r.failed(str(failure))
    return r


def node_addresses(lab: Lab, nodes: set[str]) -> dict[str, set[str]]:
    """Each node's MACs and IPv4 addresses as the running lab has them."""
    net = network(lab)
    found = {}
    for name in nodes:
        try:
            found[name] = lab.macs(name) | {str(a) for a in net.addresses(name)}
        except FlowlabError:
            continue
    return found
