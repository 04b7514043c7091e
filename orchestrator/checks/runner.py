"""Running checks in a lab that is up, and collecting their results.

Checks run one after another in the order of FLOWS.md; one that fails does
not stop the others.  Each gets its own pcap directory; ``results.json``
holds, per check, its name, verdict, key evidence, failures, the errata it
demonstrated, its time and the part of it spent waiting on protocol timers,
and per capture block the frames and distinct packets (a ladder's arrows).

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

import json
import queue
import threading
import time
import traceback
from pathlib import Path
from typing import Callable

from ..capture.recording import MERGED
from ..errors import FlowlabError
from ..lab import Lab
from ..ladder.load import capture_counts
from ..packets import merge, read
from .alongside import judge_alongside
from .base import Check, CheckContext, CheckResult
from .derived.facts import network
from .footprint import Footprint, conflict

AT_ONCE = 4           # checks running at once, at most: they mostly wait
STOP_GRACE = 10.0     # seconds the running checks get to end after Ctrl-C or a crash


def run_check(lab: Lab, check: Check, pcaps: Path,
              stop: threading.Event | None = None) -> CheckResult:
    ctx = CheckContext(lab, check.name, pcaps / check.name, stop)
    start = time.monotonic()
    result = CheckResult(check.name, passed=False)
    before = lab.controller.packet_ins() if lab.controller is not None else {}
    try:
        result.evidence = check.run(ctx)
        result.passed = True
    except AssertionError as failure:          # ExpectationFailed, and facts off the wire
        result.failures.append(str(failure))
    except FlowlabError as error:
        result.failures.append(f"{type(error).__name__}: {error}")
    except Exception:   # a bug in a check is reported, and the others still run
        result.failures.append(traceback.format_exc())
    result.seconds = time.monotonic() - start
    if lab.controller is not None:       # the flows and packet-ins behind what was seen
        under = lab.controller.evidence(before, pcaps / check.name)
        result.evidence = f"{result.evidence}; {under}" if result.evidence else under
        if result.failures:
            result.failures.append(under)
    result.protocol_wait = ctx.protocol_wait
    result.errata = ctx.errata
    result.pcaps = ctx.pcaps
    return result


def run_checks(lab: Lab, checks: list[Check], out: Path,
               progress: Callable[[str], None] = lambda message: None,
               serial: bool = False) -> list[CheckResult]:
    """Every check, overlapping where footprints allow (``serial``: one at
    a time); results in the order of ``checks``."""
    alone = serial or lab.controller is not None
    footprints = {c.name: None if alone else footprint_of(c, lab) for c in checks}
    pcaps = out / "pcaps"
    results = Schedule(checks, footprints, progress).run(
        lambda check, stop: run_check(lab, check, pcaps, stop))
    prove_apart(lab, results, footprints)
    return results


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
                 progress: Callable[[str], None]):
        self.order = [c.name for c in checks]
        self.pending = sorted(checks, key=lambda c: (-c.idle_wait, self.order.index(c.name)))
        self.footprints = footprints
        self.progress = progress
        self.stop = threading.Event()

    def _may_start(self, check: Check, running: set[str]) -> bool:
        mine = self.footprints[check.name]
        return len(running) < AT_ONCE and \
            not any(conflict(mine, self.footprints[r]) for r in running)

    def run(self, work: Callable[[Check, threading.Event], CheckResult]) -> list[CheckResult]:
        finished: queue.Queue = queue.Queue()
        running: set[str] = set()
        results: dict[str, CheckResult] = {}
        t0 = time.monotonic()

        def worker(check: Check) -> None:
            begun = time.monotonic() - t0
            try:
                result = work(check, self.stop)
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                finished.put((check, exc))
                return
            result.started = begun
            finished.put((check, result))

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
                results[check.name] = outcome
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
        return [results[name] for name in self.order]


def prove_apart(lab: Lab, results: list[CheckResult],
                footprints: dict[str, Footprint | None]) -> None:
    """For each check that ran beside others, its captures may hold none of
    their packets (:func:`.alongside.judge_alongside`)."""
    for r in results:
        r.alongside = [o.name for o in results if o is not r and
                       o.started < r.started + r.seconds and r.started < o.started + o.seconds]
    overlapped = [r for r in results if r.alongside]
    if not overlapped:
        return
    addresses = node_addresses(lab, {n for fp in footprints.values() if fp for n in fp.nodes})
    for r in overlapped:
        mine = footprints[r.name].nodes if footprints[r.name] else frozenset()
        others = {o: set().union(*(addresses.get(n, set())
                                   for n in footprints[o].nodes - mine))
                  for o in r.alongside if footprints[o]}
        points = [Path(p) for p in r.pcaps if Path(p).name != MERGED and Path(p).is_file()]
        try:
            judge_alongside(merge(*(read(p, point=p.stem) for p in points)), others)
        except AssertionError as failure:
            r.passed = False
            r.failures.append(str(failure))


def node_addresses(lab: Lab, nodes: set[str]) -> dict[str, set[str]]:
    """Each node's MACs and IPv4 addresses as the running lab has them."""
    net = network(lab)
    found = {}
    for name in nodes:
        try:
            node = lab.node(name)
        except FlowlabError:
            continue
        macs = {i.mac.lower() for i in node.intfList() if i.mac and i.name != "lo"}
        found[name] = macs | {str(a) for a in net.addresses(name)}
    return found


def write_results(out: Path, topology: str, options: dict, results: list[CheckResult],
                  seconds: float, unbound: list[str] = (), spec: str = "") -> Path:
    """``unbound``: the DHCP clients that held no lease when the lab came up;
    ``spec``: where the topology came from (a name or a file), for the report."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "results.json"
    path.write_text(json.dumps({
        "topology": topology, "spec": spec, "options": options,
        "passed": all(r.passed for r in results),
        "seconds": round(seconds, 3), "unbound": list(unbound),
        "checks": [dict(r.as_dict(), captures=capture_counts(r.pcaps)) for r in results],
    }, indent=2))
    return path
