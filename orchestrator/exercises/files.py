"""Exercises written by instructors as files, and what makes one unfit for a class.

An exercise file is TOML::

    [exercise]
    name = "no-web-for-xiaoli"
    title = "The web is down in VLAN 20"
    topology = "enterprise"                 # optional: else the command line's, else enterprise
    symptom = "xiaoli cannot open http://www.baidu.com/"   # optional: else the faults'
    choices = ["dhcp-wrong-router", "nat-off", "route-missing"]   # optional, for 'answer'

    [[fault]]
    name = "dhcp-wrong-router"
    variant = "dhcp-wrong-router:srv:10.1.2.0/24:10.1.2.254"   # optional: else seeded per student

    [[check]]
    name = "dhcp"
    points = 3
    hint = "Compare the router option in the ACK with the VLAN's gateway."

    [[check]]
    name = "l2-scope"
    role = "keeps"          # optional: "breaks" when a fault breaks it, else "keeps"

Without ``[[check]]`` tables the checks are the faults' own (1 point each).

:func:`problems` refuses, without a lab, what can be known from the model:
unknown keys, faults and checks, a fault that does not apply to the
topology, a variant it does not have, points that are not positive, a
check said to be broken that no fault breaks, a fault that breaks no check
of the exercise.  What only packets can tell (a check that fails without
the fault, a fault that does not break its check in the real lab) is
:func:`live_problems`, over the grades of a real run.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..model import Topology
from ..results.grade import Grade
from .catalogue import by_name as fault_by_name
from .faults import FaultError, Variant, applicable_checks
from .session import BREAKS, KEEPS, Decider, Exercise, deciders_of

EXERCISE_KEYS = {"name", "title", "topology", "symptom", "choices"}
FAULT_KEYS = {"name", "variant"}
CHECK_KEYS = {"name", "points", "role", "hint"}
DEFAULT_TOPOLOGY = "enterprise"


class ExerciseFileError(FaultError):
    """An exercise file that cannot be used; the message lists every problem."""


@dataclass(frozen=True)
class FaultEntry:
    name: str
    variant: str | None = None


@dataclass(frozen=True)
class CheckEntry:
    name: str
    points: int = 1
    role: str | None = None
    hint: str = ""


@dataclass
class ExerciseFile:
    path: Path
    name: str
    title: str = ""
    topology: str | None = None
    symptom: str | None = None
    choices: list[str] = field(default_factory=list)
    faults: list[FaultEntry] = field(default_factory=list)
    checks: list[CheckEntry] = field(default_factory=list)


def looks_like_file(text: str) -> bool:
    return text.endswith(".toml")


def _unknown(table: dict, known: set[str], where: str) -> list[str]:
    return [f"{where}: unknown key {key!r} (known: {', '.join(sorted(known))})"
            for key in table if key not in known]


def parse(path: Path) -> ExerciseFile:
    """Read an exercise file; a file that is not TOML, or lacks what every
    exercise needs, raises naming every problem found."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ExerciseFileError(f"{path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ExerciseFileError(f"{path}: not TOML: {exc}") from None
    found: list[str] = _unknown(data, {"exercise", "fault", "check"}, "top level")
    head = data.get("exercise")
    if not isinstance(head, dict):
        raise ExerciseFileError(f"{path}: no [exercise] table")
    found += _unknown(head, EXERCISE_KEYS, "[exercise]")
    if not isinstance(head.get("name"), str) or not head["name"]:
        found.append("[exercise]: name is missing")
    faults, checks = [], []
    raw_faults = data.get("fault", [])
    if not isinstance(raw_faults, list) or not raw_faults:
        found.append("no [[fault]]: an exercise breaks something")
        raw_faults = []
    for number, entry in enumerate(raw_faults, start=1):
        where = f"[[fault]] {number}"
        found += _unknown(entry, FAULT_KEYS, where)
        if not isinstance(entry.get("name"), str):
            found.append(f"{where}: name is missing")
            continue
        faults.append(FaultEntry(entry["name"], entry.get("variant")))
    for number, entry in enumerate(data.get("check", []), start=1):
        where = f"[[check]] {number}"
        found += _unknown(entry, CHECK_KEYS, where)
        points = entry.get("points", 1)
        if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
            found.append(f"{where}: points {points!r} is not a positive whole number")
            points = 1
        role = entry.get("role")
        if role not in (None, BREAKS, KEEPS):
            found.append(f"{where}: role {role!r} is neither {BREAKS!r} nor {KEEPS!r}")
        if not isinstance(entry.get("name"), str):
            found.append(f"{where}: name is missing")
            continue
        checks.append(CheckEntry(entry["name"], points, role, str(entry.get("hint", ""))))
    if found:
        raise ExerciseFileError(f"{path}:\n  " + "\n  ".join(found))
    return ExerciseFile(path, head["name"], str(head.get("title", "")), head.get("topology"),
                        head.get("symptom"), list(head.get("choices", [])), faults, checks)


def topology_of(spec: ExerciseFile, given: str | None) -> str:
    return given or spec.topology or DEFAULT_TOPOLOGY


def variants_of(spec: ExerciseFile, topo: Topology, student: str | None) -> list[Variant]:
    """Each fault's variant: the one the file names, else the student's."""
    found = []
    for index, entry in enumerate(spec.faults):
        fault = fault_by_name(entry.name)
        if entry.variant:
            found.append(fault.variant(topo, entry.variant))
        else:
            seed = None if student is None else f"{student}#{index}"
            found.append(fault.choose(topo, seed))
    return found


def deciders(spec: ExerciseFile, variants: list[Variant]) -> list[Decider]:
    if not spec.checks:
        return deciders_of(variants)
    broken = {c for v in variants for c in v.breaks}
    return [Decider(c.name, c.points, c.role or (BREAKS if c.name in broken else KEEPS), c.hint)
            for c in spec.checks]


def problems(spec: ExerciseFile, topo: Topology) -> list[str]:
    """Everything the model alone says is wrong with the exercise on ``topo``."""
    found: list[str] = []
    variants: list[Variant] = []
    for entry in spec.faults:
        try:
            fault = fault_by_name(entry.name)
            if not fault.applies_to(topo):
                found.append(fault.why_not(topo))
                continue
            variants += [fault.variant(topo, entry.variant)] if entry.variant else \
                fault.placements(topo)[:1]
        except FaultError as exc:
            found.append(str(exc))
    applicable = applicable_checks(topo)
    from ..checks import by_name as checks_by_name
    known = checks_by_name()
    names = [c.name for c in spec.checks]
    for name in sorted({n for n in names if names.count(n) > 1}):
        found.append(f"check {name} is listed twice")
    for entry in spec.checks:
        if entry.name not in known:
            found.append(f"unknown check {entry.name!r}; known: {', '.join(known)}")
        elif entry.name not in applicable:
            found.append(f"check {entry.name} does not apply to {topo.name}: "
                         f"{known[entry.name].why_not(topo)}")
    if found:
        return found
    decided = deciders(spec, variants)
    decided_names = {d.check for d in decided}
    for entry, variant in zip(spec.faults, variants):
        if not set(variant.breaks) & decided_names:
            found.append(f"fault {entry.name} breaks no check of the exercise (it breaks "
                         f"{', '.join(variant.breaks)})")
    broken = {c for v in variants for c in v.breaks}
    for d in decided:
        if d.role == BREAKS and d.check not in broken:
            found.append(f"check {d.check} is said to break, but no fault of the exercise "
                         f"breaks it (they break {', '.join(sorted(broken))})")
    for choice in spec.choices:
        try:
            fault_by_name(choice)
        except FaultError as exc:
            found.append(f"choices: {exc}")
    return found


def exercise_from(spec: ExerciseFile, topo: Topology, topo_spec: str,
                  student: str | None) -> Exercise:
    """The exercise a student gets; refused when :func:`problems` finds any."""
    wrong = problems(spec, topo)
    if wrong:
        raise ExerciseFileError(f"{spec.path}:\n  " + "\n  ".join(wrong))
    variants = variants_of(spec, topo, student)
    symptom = spec.symptom or "; ".join(dict.fromkeys(v.symptom for v in variants))
    return Exercise(spec.name, topo_spec, variants, symptom, deciders(spec, variants), student,
                    spec.title, list(spec.choices))


def live_problems(without_fault: Grade, with_fault: Grade, solved: Grade) -> list[str]:
    """What the packets of a real run say is wrong with an exercise: the
    grades of its checks on the intact lab, with the faults, and after the
    reference repair."""
    found = []
    for v in without_fault.checks:
        if not v.passed:
            found.append(f"check {v.check} fails without the fault: {v.reason}")
    for v in with_fault.checks:
        if v.role == BREAKS and v.passed:
            found.append(f"the fault does not break check {v.check} in the lab")
        if v.role == KEEPS and not v.passed:
            found.append(f"check {v.check} fails with the fault though it should pass: "
                         f"{v.reason}")
    for v in solved.checks:
        if not v.passed:
            found.append(f"check {v.check} still fails after the reference repair: "
                         f"{v.reason}")
    return found
