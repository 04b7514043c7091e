"""The verify pipeline as a library: which checks, run in a lab, recorded, drawn.

Every front end calls this and keeps no copy of it: ``verify`` on the
command line, ``exercise check``, the pytest plugin, the benchmarks, and
jobs run on other machines::

    checks = choose(spec, names, topo)            # refused before any lab exists
    with Lab(topo, spec, LabSettings(unbound_ok=True)) as lab:
        run = verify(lab, checks, out)            # results.json, pcaps, report.html
    run.passed, run.check("dora-relay").evidence

:func:`verify` runs the checks in a lab that is up (overlapped where their
footprints allow, :mod:`.checks.runner`), writes ``out/results.json``
(:mod:`.results.verify`, the typed :class:`VerifyRun` it returns) and
renders ``out/report.html``; a report that cannot be drawn is noted, never
raised, so that it cannot hide the verdict.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from services.dhcp_server import DHCP_SERVER

from .checks import Check, all_checks, opt_in_checks
from .checks.runner import run_checks
from .errors import FlowlabError
from .lab import Lab
from .model import Topology, registry
from .report.render import draw_after_run
from .results import verify as results
from .results.verify import CheckRecord, Settings, VerifyRun


class UnknownCheck(FlowlabError):
    exit_status = 2


def shipped_and_users(spec: str) -> list[Check]:
    """The shipped checks, then the user's own declared with the topology
    (in its file or ``<stem>_checks.py``); a user's check may not take a
    shipped check's name."""
    shipped = all_checks()
    users = registry.user_checks(spec)
    taken = {c.name for c in shipped} & {c.name for c in users}
    if taken:
        raise UnknownCheck(f"{spec} declares check(s) named like flowlab's own: "
                           f"{', '.join(sorted(taken))}; rename them")
    return shipped + users


def choose(spec: str, names: list[str], topo: Topology) -> list[Check]:
    """The checks to run on ``topo`` (from ``spec``): those named, else every
    one that applies; refused before anything is created when a name is
    unknown or does not apply.  Opt-in checks (starvation) are known by
    name only: they are never run by default."""
    checks = shipped_and_users(spec)
    known = {c.name: c for c in opt_in_checks() + checks}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UnknownCheck(f"unknown check {', '.join(unknown)}; known: {', '.join(known)}")
    chosen = [known[n] for n in names] if names else checks
    applicable = [c for c in chosen if c.applies_to(topo)]
    refused = [c for c in chosen if c not in applicable]
    if names and refused:
        raise UnknownCheck("; ".join(f"check {c.name} does not apply to {topo.name}: "
                                     f"{c.why_not(topo)}" for c in refused))
    return applicable


def settings_of(lab: Lab, serial: bool) -> Settings:
    """How ``lab`` was built and the checks run, as the record keeps it."""
    options = lab.topo.options
    backends = tuple(dict.fromkeys(i.daemon.backend for i in lab.services.all(DHCP_SERVER)))
    controller = lab.settings.controller
    return Settings(options.vlans, options.dhcp_server, options.guests,
                    serial or controller is not None,
                    f"{controller.kind} ({', '.join(controller.apps)})" if controller else None,
                    backends)


def verify(lab: Lab, checks: list[Check], out: Path, serial: bool = False,
           progress: Callable[[str], None] = lambda message: None,
           on_check: Callable[[CheckRecord], None] = lambda record: None,
           note: Callable[[str], None] = lambda message: None) -> VerifyRun:
    """Run ``checks`` in ``lab`` (up), record them in ``out`` and draw them.

    ``serial``: one check at a time (always so under a controller, whose
    packet-ins are counted per check); ``progress`` hears what is running,
    ``on_check`` gets each check's record as it ends, ``note`` what is worth
    telling beside the verdict (where the report is, or why it is not)."""
    out = Path(out)
    start = time.monotonic()
    records = run_checks(lab, checks, out, progress, serial=serial, on_check=on_check)
    run = VerifyRun(lab.topo.name, tuple(records), settings_of(lab, serial),
                    registry.recorded_spec(lab.spec), time.monotonic() - start,
                    lab.bringup_seconds,
                    tuple(u.describe().splitlines()[0] for u in lab.unbound))
    results.write(run, out)
    draw_after_run(out, note)
    return results.read(out)        # the record as the file holds it, rounded as written


__all__ = ["UnknownCheck", "choose", "settings_of", "shipped_and_users", "verify"]
