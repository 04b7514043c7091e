"""What a verify run proved: ``results.json`` and its typed records.

One :class:`VerifyRun` per run: how the lab was built and the checks run
(:class:`Settings`), then per check (:class:`CheckRecord`) its verdict, key
evidence, failures, the errata it showed (each with the frame of its capture
that shows it), its time and protocol waits, when it started and who ran
alongside, and per capture block (:class:`CaptureBlock`) the files and the
number of distinct packets, which a drawing of the capture is held to.

This module is the only code that knows the file's name and keys.  The
format is versioned (:data:`FORMAT`); a results.json written before the
version was recorded (format 1) still reads, its errata without frames.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import ResultsError

FILE = "results.json"
FORMAT = 2
"""2: settings, per-check capture blocks and errata with their frame.
1 (no ``format`` key): ``options``, ``pcaps`` and ``captures`` apart."""


@dataclass(frozen=True)
class Settings:
    """How the lab was built and the checks were run."""

    vlans: bool = True
    dhcp_server: str | None = None        # the backend asked for; None: the topology's own
    guests: int | None = None             # as asked; None: the topology's own number
    serial: bool = False                  # one check at a time (else overlapped)
    controller: str | None = None         # "os-ken (l2)"; None: normal mode
    dhcp_backends: tuple[str, ...] = ()   # the DHCP servers that ran; none: no DHCP server

    def describe(self) -> str:
        """As a person reads it: ``VLANs, DHCP server dnsmasq, checks overlapped``."""
        words = ["VLANs" if self.vlans else "flat (no VLANs)",
                 f"DHCP server {', '.join(self.dhcp_backends)}" if self.dhcp_backends
                 else "no DHCP server"]
        if self.guests is not None:
            words.append(f"{self.guests} guests")
        if self.controller:
            words.append(f"OpenFlow controller {self.controller}")
        words.append("one check at a time" if self.serial else "checks overlapped")
        return ", ".join(words)

    def topology_options(self) -> dict:
        """What rebuilds the model the run was made on (TopologyOptions' fields)."""
        return {"vlans": self.vlans, "dhcp_server": self.dhcp_server, "guests": self.guests}


@dataclass(frozen=True)
class ErratumShown:
    """An erratum a check's capture showed: what the texts say, what the wire
    shows, this run's evidence, and where: the capture block (its merged
    pcap) and the frame of it that shows it (None: the check showed it from
    something other than one packet, or a format 1 file)."""

    key: str
    texts_say: str
    capture_shows: str
    evidence: str
    capture: str | None = None
    frame: int | None = None


@dataclass(frozen=True)
class CaptureBlock:
    """One capture block of a check: each point's pcap, the merged pcap
    (frame numbers are Wireshark's in it), its frames and its distinct
    packets (one packet seen at several points counts once)."""

    merged: str
    points: tuple[str, ...] = ()
    frames: int | None = None
    packets: int | None = None


@dataclass(frozen=True)
class CheckRecord:
    name: str
    passed: bool
    evidence: str = ""
    failures: tuple[str, ...] = ()
    errata: tuple[ErratumShown, ...] = ()
    seconds: float = 0.0
    protocol_wait: float = 0.0             # of ``seconds``, waiting on protocol timers
    started: float | None = None           # after the first check started; None: not recorded
    alongside: tuple[str, ...] = ()        # the checks that ran at the same time
    captures: tuple[CaptureBlock, ...] = ()
    skipped: str = ""

    @property
    def pcaps(self) -> list[str]:
        """Every pcap of the check, block by block: its points, then its merged file."""
        return [p for block in self.captures for p in (*block.points, block.merged)]

    @property
    def first_failure(self) -> str:
        """The first line of the first failure: what a table says of a failed check."""
        return self.failures[0].splitlines()[0] if self.failures and self.failures[0] else ""

    def failed(self, why: str) -> "CheckRecord":
        """The same check failed for one more reason."""
        return replace(self, passed=False, failures=(*self.failures, why))


@dataclass(frozen=True)
class VerifyRun:
    topology: str
    checks: tuple[CheckRecord, ...]
    settings: Settings = field(default_factory=Settings)
    spec: str = ""                         # where the topology came from: a name or a file
    seconds: float = 0.0                   # the checks' wall time, first start to last end
    bringup_seconds: float | None = None   # the lab's bring-up, when the run made the lab
    unbound: tuple[str, ...] = ()          # DHCP clients with no lease when the lab came up
    format: int = FORMAT

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    def check(self, name: str) -> CheckRecord:
        for record in self.checks:
            if record.name == name:
                return record
        raise KeyError(f"no check {name} in this run; there: "
                       f"{', '.join(c.name for c in self.checks) or 'none'}")


# ---------------------------------------------------------------- the file

def path_of(directory: Path) -> Path:
    return Path(directory) / FILE


def holds(directory: Path) -> bool:
    """Whether ``directory`` is a verify output directory."""
    return path_of(directory).is_file()


def write(run: VerifyRun, directory: Path) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = path_of(directory)
    path.write_text(json.dumps(to_dict(run), indent=2))
    return path


def read(directory: Path) -> VerifyRun:
    """The run of a verify output directory; refused (ResultsError) when it
    has no results.json, a broken one, or one of a newer format."""
    path = path_of(directory)
    if not path.is_file():
        raise ResultsError(f"{directory}: no {FILE} (not a verify output directory)")
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        raise ResultsError(f"{path}: not JSON ({exc})") from None
    version = data.get("format", 1) if isinstance(data, dict) else None
    if version not in (1, FORMAT):
        raise ResultsError(f"{path}: a {FILE} of format {version!r}; this flowlab reads "
                           f"formats 1 to {FORMAT}" + (" (written by a newer flowlab)"
                                                       if isinstance(version, int)
                                                       and version > FORMAT else ""))
    try:
        return from_dict(data) if version == FORMAT else from_format_1(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ResultsError(f"{path}: not a {FILE} of verify (format {version}: "
                           f"{type(exc).__name__} {exc})") from None


def to_dict(run: VerifyRun) -> dict:
    return {
        "format": FORMAT, "topology": run.topology, "spec": run.spec,
        "settings": vars(run.settings), "passed": run.passed,
        "seconds": round(run.seconds, 3),
        "bringup_seconds": None if run.bringup_seconds is None else round(run.bringup_seconds, 3),
        "unbound": list(run.unbound),
        "checks": [check_to_dict(c) for c in run.checks],
    }


def check_to_dict(c: CheckRecord) -> dict:
    return {"name": c.name, "passed": c.passed, "evidence": c.evidence,
            "failures": list(c.failures), "errata": [vars(e) for e in c.errata],
            "seconds": round(c.seconds, 3), "protocol_wait": round(c.protocol_wait, 3),
            "started": None if c.started is None else round(c.started, 3),
            "alongside": list(c.alongside), "skipped": c.skipped,
            "captures": [{"merged": b.merged, "points": list(b.points), "frames": b.frames,
                          "packets": b.packets} for b in c.captures]}


def from_dict(data: dict) -> VerifyRun:
    return VerifyRun(
        data["topology"], tuple(_check(c) for c in data["checks"]),
        _settings(data["settings"]), data.get("spec", ""), float(data["seconds"]),
        data.get("bringup_seconds"), tuple(data.get("unbound", ())))


def _settings(data: dict) -> Settings:
    return Settings(**dict(data, dhcp_backends=tuple(data.get("dhcp_backends", ()))))


def _check(c: dict) -> CheckRecord:
    return CheckRecord(
        c["name"], bool(c["passed"]), c.get("evidence", ""), tuple(c.get("failures", ())),
        tuple(ErratumShown(**e) for e in c.get("errata", ())), float(c.get("seconds", 0)),
        float(c.get("protocol_wait") or 0), c.get("started"), tuple(c.get("alongside", ())),
        tuple(CaptureBlock(b["merged"], tuple(b.get("points", ())), b.get("frames"),
                           b.get("packets")) for b in c.get("captures", ())),
        c.get("skipped", ""))


def from_format_1(data: dict) -> VerifyRun:
    """A results.json of before the format was recorded: ``options`` for the
    settings, each check's ``pcaps`` (points, then a ``merged.pcap``, block
    after block) beside its ``captures`` counts, errata without frames."""
    options = data.get("options") or {}
    asked = options.get("dhcp_server")
    settings = Settings(bool(options.get("vlans", True)), asked, options.get("guests"),
                        bool(options.get("serial", False)),
                        dhcp_backends=(asked or "the topology's own (not recorded)",))
    checks = []
    for c in data["checks"]:
        counts = {b["merged"]: b for b in c.get("captures", ())}
        blocks, points = [], []
        for name in c.get("pcaps", ()):
            if Path(name).name == "merged.pcap":
                count = counts.get(name, {})
                blocks.append(CaptureBlock(name, tuple(points), count.get("frames"),
                                           count.get("packets")))
                points = []
            else:
                points.append(name)
        errata = tuple(ErratumShown(e["key"], e.get("texts_say", ""), e.get("capture_shows", ""),
                                    e.get("evidence", "")) for e in c.get("errata", ()))
        checks.append(CheckRecord(
            c["name"], bool(c["passed"]), c.get("evidence", ""), tuple(c.get("failures", ())),
            errata, float(c.get("seconds", 0)), float(c.get("protocol_wait") or 0),
            c.get("started"), tuple(c.get("alongside", ())), tuple(blocks),
            c.get("skipped", "")))
    return VerifyRun(data.get("topology", ""), tuple(checks), settings, data.get("spec", ""),
                     float(data.get("seconds", 0)), None, tuple(data.get("unbound", ())), 1)


__all__ = ["FILE", "FORMAT", "CaptureBlock", "CheckRecord", "ErratumShown", "Settings",
           "check_to_dict",
           "VerifyRun", "holds", "path_of", "read", "write"]
