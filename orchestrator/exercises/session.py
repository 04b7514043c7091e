"""An exercise on a running lab: its faults applied, checked, solved, reset.

An :class:`Exercise` is what a class is given: one or more fault variants,
the symptom told to the student, and the checks that decide, each with its
points, its role (the fault must break it, or must leave it passing) and a
hint for when it fails.  It is made from a catalogue fault and a student
id (:func:`from_fault`) or from an instructor's file (:mod:`.files`).

A :class:`Session` holds one exercise on one lab.  ``check`` runs the
exercise's checks against the lab as it is now, through the same runner
and files as ``verify`` (results.json, pcaps, report.html) and adds
``grade.json``: per check pass or fail, points, the reason in words (the
step where the exchange stopped, the packet that was missing) and the
hint.  ``reset`` is the exercise's checkpoint: the reference repair, then
the faults again, as at ``start``.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from services.dhcp_client import DHCP_CLIENT

from ..checks import by_name as checks_by_name
from ..model import Topology
from ..results import grade as grades
from ..results.grade import Grade, Verdict
from ..results.verify import CheckRecord
from ..verify import verify
from . import actions, checkpoint
from .catalogue import applicable as applicable_faults, by_name as fault_by_name
from .faults import FaultError, Variant

BREAKS, KEEPS = "breaks", "keeps"
ANSWERS_FILE = "answers.json"


@dataclass(frozen=True)
class Decider:
    """A check that decides the exercise: its name, points, whether the
    fault breaks it (``breaks``) or must leave it passing (``keeps``), and
    the hint shown when it fails."""

    check: str
    points: int = 1
    role: str = BREAKS
    hint: str = ""


@dataclass
class Exercise:
    name: str
    topology: str                      # a registered name or a path, as given
    variants: list[Variant]
    symptom: str
    deciders: list[Decider]
    student: str | None = None
    title: str = ""
    choices: list[str] = field(default_factory=list)   # for 'answer': faults to name from

    @property
    def faults(self) -> list[str]:
        return [v.fault for v in self.variants]

    def as_dict(self) -> dict:
        return {"name": self.name, "topology": self.topology, "student": self.student,
                "title": self.title, "symptom": self.symptom,
                "variants": [v.as_dict() for v in self.variants],
                "deciders": [asdict(d) for d in self.deciders], "choices": self.choices}

    @classmethod
    def from_dict(cls, data: dict) -> "Exercise":
        return cls(data["name"], data["topology"],
                   [Variant.from_dict(v) for v in data["variants"]], data["symptom"],
                   [Decider(**d) for d in data["deciders"]], data.get("student"),
                   data.get("title", ""), list(data.get("choices", [])))


def deciders_of(variants: list[Variant]) -> list[Decider]:
    """Every check the variants break (1 point each), then those they must
    keep passing (1 point each), each once, a broken one never kept."""
    broken = list(dict.fromkeys(c for v in variants for c in v.breaks))
    kept = [c for c in dict.fromkeys(c for v in variants for c in v.keeps) if c not in broken]
    return [Decider(c, 1, BREAKS) for c in broken] + [Decider(c, 1, KEEPS) for c in kept]


def from_fault(name: str, topo: Topology, spec: str, student: str | None) -> Exercise:
    """The exercise of one catalogue fault, its variant seeded by ``student``."""
    fault = fault_by_name(name)
    variant = fault.choose(topo, student)
    return Exercise(name, spec, [variant], variant.symptom, deciders_of([variant]),
                    student, fault.title)


# -- grading -------------------------------------------------------------------------

PACKET_LINES = 6


def verdict(decider: Decider, result: CheckRecord) -> Verdict:
    if result.passed:
        return Verdict(decider.check, decider.role, True, decider.points, decider.points,
                       evidence=result.evidence)
    text = "\n".join(result.failures) or "failed without a reason"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return Verdict(decider.check, decider.role, False, 0, decider.points, reason_of(lines),
                   tuple(lines[1:1 + PACKET_LINES]), decider.hint)


COUNT_SUMMARY = re.compile(r"^\d+ of \d+ .*failed$")


def reason_of(lines: list[str]) -> str:
    """A failure's reason in one line: its first, and when that only counts
    ("2 of 3 DHCP interface(s) failed"), the first failure it counts (whose
    step and packet are named)."""
    if not lines:
        return ""
    first = lines[0]
    if COUNT_SUMMARY.match(first):
        detail = next((line for line in lines[1:] if not line.startswith("not bound:")), None)
        if detail:
            return f"{first}: {detail}"
    return first


def grade(exercise: Exercise, results: tuple[CheckRecord, ...], seconds: float) -> Grade:
    by_check = {r.name: r for r in results}
    return Grade(exercise.name, exercise.topology,
                 tuple(verdict(d, by_check[d.check])
                       for d in exercise.deciders if d.check in by_check),
                 exercise.student, exercise.symptom, seconds,
                 time.strftime("%Y-%m-%dT%H:%M:%S%z"))


# -- a session on a lab -----------------------------------------------------------------

class Session:
    """One exercise held on one running lab (``orchestrator.lab.Lab``)."""

    def __init__(self, lab, exercise: Exercise, directory: Path):
        self.lab = lab
        self.exercise = exercise
        self.directory = Path(directory)
        self.applied = False
        self.attempts = 0
        self.saved = None                  # the checkpoint of start, before the faults

    def start(self) -> None:
        """The exercise's checkpoint (the intact lab's routes, addresses,
        rules and port tags), then the faults."""
        self.saved = checkpoint.take(self.lab)
        self.apply()

    def _faults(self):
        return [(fault_by_name(v.fault), v) for v in self.exercise.variants]

    def apply(self) -> None:
        """Put the faults in place: the start of the exercise."""
        for fault, variant in self._faults():
            fault.apply(self.lab, variant)
        self.applied = True

    def solve(self) -> None:
        """The reference repair of every fault, last applied first."""
        for fault, variant in reversed(self._faults()):
            fault.solve(self.lab, variant)
        self.applied = False

    def reset(self) -> list[str]:
        """Back to the start of the exercise: repaired, the nodes and ports
        as the checkpoint has them (what the student changed is undone, and
        returned in words), the DHCP clients started afresh, then broken
        again."""
        self.solve()
        changed = []
        if self.saved is not None:
            changed = checkpoint.restore(self.lab, self.saved)
            clients = [(i.node, i.iface) for i in self.lab.services.all(DHCP_CLIENT)]
            actions.restart_clients(self.lab, clients, wait=True)
        self.apply()
        return changed

    def answer(self, text: str) -> dict:
        """A diagnosis named by the student: one of the exercise's choices
        (default: every fault of the catalogue that applies to the lab),
        right when it is a fault the exercise applied.  Kept in
        ``answers.json`` beside the exercise."""
        choices = self.exercise.choices or [f.name for f in applicable_faults(self.lab.topo)]
        named = [c for c in choices if c.lower() == text.strip().lower()]
        if not named:
            raise FaultError(f"{text!r} is none of the faults to choose from: "
                             + ", ".join(choices))
        given = {"answer": named[0], "correct": named[0] in self.exercise.faults,
                 "student": self.exercise.student, "exercise": self.exercise.name,
                 "answered_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        given["points"] = 1 if given["correct"] else 0
        path = self.directory / ANSWERS_FILE
        kept = json.loads(path.read_text()) if path.exists() else []
        path.write_text(json.dumps(kept + [given], indent=2))
        return given

    def checks(self):
        known = checks_by_name()
        missing = [d.check for d in self.exercise.deciders if d.check not in known]
        if missing:
            raise FaultError(f"unknown check(s) {', '.join(missing)}")
        names = {d.check for d in self.exercise.deciders}
        # In the catalogue's order, as verify runs them.
        return [c for c in known.values() if c.name in names]

    def check(self, out: Path | None = None,
              progress: Callable[[str], None] = lambda message: None) -> tuple[Path, Grade]:
        """Run the deciding checks against the lab as it is; write
        results.json, grade.json and report.html in ``out`` (default: the
        next ``checks/N`` of the session's directory)."""
        self.attempts += 1
        out = Path(out) if out else self.directory / "checks" / f"{self.attempts:03d}"
        run = verify(self.lab, self.checks(), out, progress=progress, note=progress)
        graded = grade(self.exercise, run.checks, run.seconds)
        grades.write(graded, out)
        return out, graded
