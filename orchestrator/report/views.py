"""What a report page shows, read back from a run's output directory: the
checks of a verify run (results.json) or the runs of a race (race.json in
the directory or in its subdirectories, side by side), each drawn from its
own pcaps.  Typed records for the templates, built from the files alone, so
``report DIR`` re-renders exactly what verify and race wrote.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..capture.recording import MERGED
from ..errors import FlowlabError
from ..ladder.load import LadderInputError, check_ladders, labelled, siblings
from ..ladder.model import Ladder, build
from ..ladder.svg import render_svg
from ..model import Topology, TopologyOptions, registry
from ..results import ResultsError, race as race_results, verify as verify_results
from ..results.race import RaceRun, Trial
from ..results.verify import CheckRecord, VerifyRun
from .charts import Span, bar_chart, histogram, timeline

DRAWN_PER_LADDER = 3000
"""What one ladder of a verify page draws at most, counted as its arrows plus
the lifelines they cross (the dots): a lab of a hundred hosts broadcasts
across a hundred interfaces, and a page of megabytes helps nobody.  The
packets past it are counted in a note; the pcaps hold them all."""


class ReportInputError(FlowlabError):
    exit_status = 2


@dataclass(frozen=True)
class Link:
    text: str
    href: str


@dataclass(frozen=True)
class Drawing:
    """One ladder of a check (or of a trial): the SVG and what it was drawn from."""

    caption: str
    svg: str
    pcaps: tuple[Link, ...] = ()
    packets: int | None = None          # what results.json counted for this capture
    omitted: int = 0                    # packets seen but not drawn (DRAWN_PER_LADDER)


@dataclass(frozen=True)
class CheckView:
    """A check as its record has it, with its captures drawn."""

    record: CheckRecord
    drawings: tuple[Drawing, ...]
    problem: str = ""                   # why a capture could not be drawn


@dataclass(frozen=True)
class ScheduleView:
    """How the checks overlapped: the check time they add up to against the
    wall time they took, and the timeline that shows where it went."""

    check_seconds: float                # the sum of the checks' durations
    wall_seconds: float                 # from the first check's start to the last one's end
    wait_seconds: float                 # the sum of their protocol waits
    svg: str


@dataclass(frozen=True)
class VerifyView:
    run: VerifyRun
    checks: tuple[CheckView, ...]
    schedule: ScheduleView | None = None    # None: a run from before checks overlapped


@dataclass(frozen=True)
class TrialView:
    index: int
    summary: str
    decided_by: str
    ok: bool
    drawing: Drawing | None
    problem: str = ""


@dataclass(frozen=True)
class RaceRunView:
    label: str
    path: str
    passed: bool
    verdict: str
    facts: tuple[tuple[str, str], ...]
    outcome_chart: str
    first_chart: str
    gap_chart: str
    trials: tuple[TrialView, ...] = field(default=())


@dataclass(frozen=True)
class RaceView:
    client: str
    topology: str
    runs: tuple[RaceRunView, ...]


def topology_for(spec: str | None, recorded: str, recorded_spec: str = "",
                 options: dict | None = None) -> Topology | None:
    """The model that names the stations: the one asked for, else the one
    the run recorded (its file while it still exists, or its registered
    name), built with the run's recorded options; None draws from the
    packets alone."""
    known = {t.name for t in registry.available()}
    built = TopologyOptions(**{k: v for k, v in (options or {}).items()
                               if k in ("vlans", "dhcp_server", "guests")})
    for candidate in (spec, recorded_spec, recorded):
        if candidate and (candidate == spec or candidate in known or (
                registry.looks_like_path(candidate) and Path(candidate).is_file())):
            try:
                return registry.load(candidate, built)
            except FlowlabError:
                if candidate == spec:   # asked for: say why it cannot be used
                    raise
                return None             # the file changed since the run: draw without it
    return None


def _links(directory: Path, paths) -> tuple[Link, ...]:
    return tuple(Link(Path(p).name if Path(p).name != MERGED else f"{Path(p).parent.name}/"
                      f"{MERGED}", os.path.relpath(p, directory)) for p in paths)


# ---------------------------------------------------------------- verify

def verify_view(directory: Path, topo_spec: str | None = None) -> VerifyView:
    """The checks of a verify output directory, each with its ladders drawn
    with the model asked for (else the one the run recorded)."""
    run = verify_results.read(directory)      # refuses a missing or broken results.json
    topo = topology_for(topo_spec, run.topology, run.spec, run.settings.topology_options())
    checks = tuple(check_view(directory, record, topo, index)
                   for index, record in enumerate(run.checks))
    return VerifyView(run, checks, schedule_of(run.checks))


def check_view(directory: Path, record: CheckRecord, topo, index: int) -> CheckView:
    """One check's record with its capture blocks drawn, each within budget."""
    try:
        ladders = check_ladders(record, topo)
    except LadderInputError as exc:
        return CheckView(record, (), str(exc))
    drawings = []
    for ladder, block in zip(ladders, record.captures):
        ladder, omitted = within_budget(ladder, Path(block.merged).name)
        drawings.append(Drawing(ladder.title.split(": ", 1)[0], render_svg(
            ladder, uid=f"c{index}d{len(drawings)}"),
            _links(directory, [block.merged, *block.points]), block.packets, omitted))
    return CheckView(record, tuple(drawings))


def within_budget(ladder: Ladder, pcap: str) -> tuple[Ladder, int]:
    """The ladder with its first packets up to :data:`DRAWN_PER_LADDER`, and
    how many it leaves out; expected packets that are missing, and those
    there instead, are always drawn (they are why a check failed)."""
    cost, kept, omitted = 0, [], 0
    for arrow in ladder.arrows:
        cost += 1 + len(arrow.crossed)
        if cost <= DRAWN_PER_LADDER or arrow.style != "seen":
            kept.append(arrow)
        else:
            omitted += 1
    if not omitted:
        return ladder, 0
    note = (f"{omitted} of the {omitted + sum(a.style != 'missing' for a in kept)} packets "
            f"after the first ones are not drawn (a ladder draws at most "
            f"{DRAWN_PER_LADDER} arrows and crossings); {pcap} holds them all")
    return replace(ladder, arrows=tuple(kept), notes=(*ladder.notes, note)), omitted


def schedule_of(checks: tuple[CheckRecord, ...]) -> ScheduleView | None:
    """The timeline of the checks, or None when results.json does not say
    when each started (written before checks overlapped): a check without
    its start could be drawn nowhere true."""
    if not checks or any(c.started is None for c in checks):
        return None
    spans = [Span(c.name, c.started, c.seconds, c.protocol_wait, not c.passed, bool(c.skipped),
                  c.alongside) for c in checks]
    return ScheduleView(sum(c.seconds for c in checks),
                        max(c.started + c.seconds for c in checks),
                        sum(c.protocol_wait for c in checks),
                        timeline(spans, "schedule of the checks", uid="schedule"))


# ---------------------------------------------------------------- race

def race_view(directory: Path, topo_spec: str | None = None) -> RaceView:
    """The race runs of a directory (its own, then its subdirectories'),
    side by side, each trial drawn from its own pcaps."""
    directory = Path(directory)
    paths = race_results.files(directory)
    if not paths:
        raise ReportInputError(f"{directory}: no {race_results.FILE} in it or its "
                               "subdirectories")
    try:
        runs = [race_results.read_file(path) for path in paths]
    except ResultsError as exc:
        raise ReportInputError(str(exc)) from None
    views = tuple(_race_run(directory, path, run, topology_for(
        topo_spec, run.topology, run.spec, {"vlans": run.vlans, "dhcp_server": run.backend}),
        number) for number, (path, run) in enumerate(zip(paths, runs)))
    return RaceView(runs[0].client, runs[0].topology, views)


def _race_run(directory: Path, path: Path, run: RaceRun, topo, number: int) -> RaceRunView:
    gaps = [t.gap_ms for t in run.trials if t.gap_ms is not None]
    facts = [("trials", str(len(run.trials))), ("client", run.client),
             ("DHCP server", run.backend), ("trials per minute", str(run.trials_per_minute))]
    g = run.gap_stats()
    if g:
        facts.append(("gap between the OFFERs",
                      f"min {g['min']:.3f} ms, median {g['median']:.3f} ms, max {g['max']:.3f} ms"))
    facts += [("note", n) for n in run.notes]
    label = run.label
    views = tuple(_trial(directory, t, topo, f"r{number}t{t.index}") for t in run.trials)
    return RaceRunView(
        label, os.path.relpath(path, directory), run.passed, run.verdict, tuple(facts),
        bar_chart(run.distribution, f"{label}: where the client ended"),
        bar_chart(run.first_offer, f"{label}: whose OFFER came first"),
        histogram(gaps, f"{label}: gap between the OFFERs"), views)


def _trial(directory: Path, trial: Trial, topo, uid: str) -> TrialView:
    offers = "; ".join(f"{o.relay} {o.yiaddr} +{o.arrival_ms:.2f} ms" for o in trial.offers)
    summary = (f"xid {trial.xid or '?'}: OFFERs {offers or 'none'}; requested "
               f"{trial.requested or '-'}; final {trial.final_address or 'none'}"
               + (f"; {len(trial.naks)} NAK(s)" if trial.naks else ""))
    merged = Path(trial.pcaps or "") / MERGED
    if not trial.pcaps or not merged.is_file():
        return TrialView(trial.index, summary, trial.decided_by, trial.ok, None,
                         f"no capture at {merged}")
    try:
        block = siblings(merged)
        ladder = build(labelled(block, topo), topo, f"trial {trial.index}")
        if trial.requested:
            won = f"won: the OFFER of {trial.requested} ({trial.requested_via or '?'})"
            ladder = replace(ladder, notes=ladder.notes + (won,))
    except FlowlabError as exc:
        return TrialView(trial.index, summary, trial.decided_by, trial.ok, None, str(exc))
    drawing = Drawing(f"trial {trial.index:02d}", render_svg(ladder, uid=uid, compact=True),
                      _links(directory, [block.merged, *block.points]))
    return TrialView(trial.index, summary, trial.decided_by, trial.ok, drawing)


__all__ = ["CheckView", "Drawing", "RaceView", "ReportInputError", "ScheduleView", "VerifyView",
           "race_view", "schedule_of", "topology_for", "verify_view"]
