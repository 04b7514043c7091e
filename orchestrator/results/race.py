"""What a relay race measured: ``race.json`` and its typed records.

One :class:`RaceRun` per series of trials: who raced where, and per trial
(:class:`Trial`) the xid, every OFFER (:class:`Offer`: relay, giaddr,
yiaddr, when it arrived and where its DISCOVER copy was on the way), the
address requested and the one the client ended with, NAKs and restarts,
the timings and what decided the race; then the verdict.  The
distribution of outcomes, whose OFFER came first, the gap statistics and
the time budget are derived from the trials (and written too, for scripts).

This module is the only code that knows the file's name and keys.  A
race.json written before the format was recorded (format 1) still reads.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from . import ResultsError

FILE = "race.json"
FORMAT = 2
"""2: ``format``, ``own_gateway``; 1: the same trials, with a ``controller``
key repeating ``guard``."""


@dataclass
class Offer:
    """One OFFER and the path of the DISCOVER copy it answers, in ms after
    the client's DISCOVER: leaving the relay, reaching the server, the
    server's OFFER, the OFFER at the client."""

    relay: str                  # the gateway whose relay carried it
    giaddr: str
    yiaddr: str
    arrival_ms: float
    relayed_ms: float | None = None
    reached_server_ms: float | None = None
    served_ms: float | None = None


@dataclass
class Trial:
    index: int
    xid: str = ""
    offers: list[Offer] = field(default_factory=list)
    gap_ms: float | None = None
    first_relay: str = ""
    requested: str = ""
    requested_via: str = ""
    final_address: str = ""
    subnet: str = ""
    naks: list[str] = field(default_factory=list)       # "NAK via gw2 (giaddr 10.1.2.1)"
    restarts: int = 0
    bound_ms: float | None = None       # DISCOVER to the ACK of the final address
    applied_ms: float | None = None     # DISCOVER to the lease applied (after the ARP probe)
    wall_ms: float | None = None        # the whole trial, restart included
    decided_by: str = ""
    problems: list[str] = field(default_factory=list)
    pcaps: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class RaceRun:
    topology: str
    backend: str
    vlans: bool
    client: str
    trials: list[Trial]
    seconds: float
    own_gateway: str = ""        # the giaddr of the client's own relay
    notes: list[str] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)
    """Packets the kernel dropped per capture point: an OFFER could be
    among them, so no verdict of "exactly one OFFER" stands on such captures."""
    guard: str = ""
    """The controller app that confines DHCP on the flat network
    ("dhcp-guard"): then the flat run is judged as a fix, like VLANs."""
    spec: str = ""
    """Where the topology came from (a name or a file), for ``report DIR``."""
    passed: bool = False
    verdict: str = ""
    format: int = FORMAT

    @property
    def label(self) -> str:
        """How a report names the run beside others: ``flat, dhcp-guard (isc)``."""
        return (f"{'VLANs' if self.vlans else 'flat'}{', ' + self.guard if self.guard else ''} "
                f"({self.backend or '?'})")

    @property
    def distribution(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for trial in self.trials:
            key = trial.subnet or "no lease"
            counts[key] = counts.get(key, 0) + 1
        return dict(sorted(counts.items()))

    @property
    def first_offer(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for trial in self.trials:
            if trial.first_relay:
                counts[trial.first_relay] = counts.get(trial.first_relay, 0) + 1
        return dict(sorted(counts.items()))

    def gap_stats(self) -> dict[str, float] | None:
        gaps = sorted(t.gap_ms for t in self.trials if t.gap_ms is not None)
        if not gaps:
            return None
        return {"min": gaps[0], "median": statistics.median(gaps), "max": gaps[-1]}

    def time_budget(self) -> dict[str, float] | None:
        """Where a trial's time goes, medians in ms: the DHCP exchange itself,
        the client's ARP probe and applying the lease, and the rest (stopping
        and starting the client)."""
        done = [t for t in self.trials if None not in (t.bound_ms, t.applied_ms, t.wall_ms)]
        if not done:
            return None
        wall = statistics.median(t.wall_ms for t in done)
        dora = statistics.median(t.bound_ms for t in done)
        applied = statistics.median(t.applied_ms for t in done)
        return {"trial": wall, "dora": dora, "probe_and_apply": round(applied - dora, 1),
                "restart": round(wall - applied, 1)}

    @property
    def trials_per_minute(self) -> float:
        return round(len(self.trials) / self.seconds * 60, 1) if self.seconds else 0.0


# ---------------------------------------------------------------- the file

DERIVED = ("distribution", "first_offer", "gap_ms", "trials_per_minute", "time_budget_ms")
"""Keys written for scripts, computed again from the trials when read."""


def files(directory: Path) -> list[Path]:
    """The race runs of a directory: its own race.json, then those of its
    subdirectories (flat, vlan, a controller's...) in name order."""
    directory = Path(directory)
    own = directory / FILE
    return ([own] if own.is_file() else []) + sorted(directory.glob(f"*/{FILE}"))


def to_dict(run: RaceRun) -> dict:
    data = {f.name: getattr(run, f.name) for f in fields(run) if f.name != "trials"}
    data.update({"format": FORMAT, "seconds": round(run.seconds, 3),
                 "distribution": run.distribution, "first_offer": run.first_offer,
                 "gap_ms": run.gap_stats(), "trials_per_minute": run.trials_per_minute,
                 "time_budget_ms": run.time_budget(),
                 "trials": [asdict(t) for t in run.trials]})
    return data


def write(run: RaceRun, directory: Path) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / FILE
    path.write_text(json.dumps(to_dict(run), indent=2))
    return path


def read_file(path: Path) -> RaceRun:
    """One race.json; refused (ResultsError) when broken or of a newer format."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{path}: not a {FILE} of race ({exc})") from None
    version = data.get("format", 1) if isinstance(data, dict) else None
    if version not in (1, FORMAT):
        raise ResultsError(f"{path}: a {FILE} of format {version!r}; this flowlab reads "
                           f"formats 1 to {FORMAT}")
    try:
        return from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise ResultsError(f"{path}: not a {FILE} of race (format {version}: "
                           f"{type(exc).__name__} {exc})") from None


def from_dict(data: dict) -> RaceRun:
    known = {f.name for f in fields(RaceRun)} - {"trials", "format"}
    kept = {k: v for k, v in data.items() if k in known}
    trials = [Trial(**dict(t, offers=[Offer(**o) for o in t.get("offers", ())]))
              for t in data["trials"]]
    return RaceRun(trials=trials, format=data.get("format", 1), **kept)


def read(directory: Path) -> list[RaceRun]:
    """Every race run of a directory (:func:`files`), in that order."""
    found = files(directory)
    if not found:
        raise ResultsError(f"{directory}: no {FILE} in it or its subdirectories")
    return [read_file(path) for path in found]


__all__ = ["FILE", "FORMAT", "Offer", "RaceRun", "Trial", "files", "read", "read_file",
           "write"]
