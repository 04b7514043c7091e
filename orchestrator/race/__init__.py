"""The DHCP relay race as a library: reproduce it trial by trial, measure it,
show the fix.

Without VLANs, a client's DISCOVER reaches every relay of its broadcast
domain (in ``enterprise``, gw1 and gw2); each relays it with its own address
as giaddr, the server offers an address from each relay's subnet, and the
client takes whichever OFFER arrives first.  Who races is derived from the
model (:mod:`.plan`), on any topology, before anything is built; the trials
run on one recording and are judged from their packets (:mod:`.trials`)::

    setup = plan(topo, client, flat)              # refused before any lab exists
    with Lab(topo, spec) as lab:
        run = race(lab, setup, trials=20, out=out)  # race.json, pcaps, report.html
    run.passed, run.verdict, run.distribution

Every front end (``race`` and ``race --compare`` on the command line, jobs on
other machines) calls :func:`race` and reads its :class:`RaceRun`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..lab import Lab
from ..model import registry
from ..report.render import draw_after_run
from ..results import race as results
from ..results.race import RaceRun
from .plan import Gateway, RaceError, RaceSetup, plan, slow_relay, slow_relay_gateway
from .trials import decided_by, judge_trial, run_trials, verdict

GUARD = "dhcp-guard"
"""The controller app that fixes the race on the flat network."""


def guard_of(lab: Lab) -> str:
    """The guard app the lab's controller runs, or "" (none: no SDN fix)."""
    controller = lab.settings.controller
    return GUARD if controller is not None and GUARD in controller.apps else ""


def race(lab: Lab, setup: RaceSetup, trials: int, out: Path, slow: str | None = None,
         progress: Callable[[str], None] = lambda message: None,
         note: Callable[[str], None] = lambda message: None) -> RaceRun:
    """Run ``trials`` of the race ``setup`` (from :func:`plan`) in ``lab``
    (up), judge it, record it in ``out/race.json`` and draw
    ``out/report.html``.  ``slow``: ``NODE=DELAY`` delays a racing relay
    (where the kernel has netem; said in the run's notes otherwise)."""
    out = Path(out)
    notes = [slow_relay(lab, setup, slow)] if slow else []
    run = run_trials(lab, setup, trials, out, progress)
    run.notes += notes
    run.guard = guard_of(lab)
    run.spec = registry.recorded_spec(lab.spec)
    run.passed, run.verdict = verdict(run)
    path = results.write(run, out)
    draw_after_run(out, note)
    return results.read_file(path)  # the record as the file holds it, rounded as written


__all__ = ["GUARD", "Gateway", "RaceError", "RaceRun", "RaceSetup", "decided_by", "guard_of",
           "judge_trial", "plan", "race", "run_trials", "slow_relay_gateway", "verdict"]
