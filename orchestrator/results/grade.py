"""How an exercise was graded: ``grade.json`` and its typed records.

One :class:`Grade` per ``exercise check``: the exercise, the student, the
symptom they were given, the points, and per deciding check
(:class:`Verdict`) whether it passed, its points, and when it failed the
reason in one line, the packets it shows in words and the instructor's hint.
``exercise check --format json`` prints the same record, so that a class's
outputs collected in one directory are grades too (:mod:`orchestrator.
exercises.grades`).  This module is the only code that knows the keys.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from . import ResultsError

FILE = "grade.json"


@dataclass(frozen=True)
class Verdict:
    """One check's outcome as the exercise grades it."""

    check: str
    role: str                      # "breaks": the fault must break it; "keeps": must not
    passed: bool
    points: int
    max_points: int
    reason: str = ""               # a failed check's first line: what was missing
    packets: tuple[str, ...] = ()  # the packets it shows, in words
    hint: str = ""
    evidence: str = ""


@dataclass(frozen=True)
class Grade:
    exercise: str
    topology: str
    checks: tuple[Verdict, ...]
    student: str | None = None
    symptom: str = ""
    seconds: float = 0.0
    checked_at: str = ""

    @property
    def points(self) -> int:
        return sum(v.points for v in self.checks)

    @property
    def max_points(self) -> int:
        return sum(v.max_points for v in self.checks)

    @property
    def solved(self) -> bool:
        return all(v.passed for v in self.checks)


def to_dict(grade: Grade) -> dict:
    data = asdict(grade)
    data.update(solved=grade.solved, points=grade.points, max_points=grade.max_points,
                seconds=round(grade.seconds, 3))
    return data


def looks_like(data) -> bool:
    """Whether decoded JSON is a grade (and not another file of a run)."""
    return isinstance(data, dict) and {"exercise", "checks", "points", "max_points"} <= set(data)


def from_dict(data: dict) -> Grade:
    """A grade as written (or printed by ``exercise check --format json``);
    refused (ResultsError) when it is not one."""
    if not looks_like(data):
        raise ResultsError("not a grade of 'exercise check --format json'")
    known = {f.name for f in fields(Verdict)}
    try:
        return Grade(data["exercise"], data.get("topology", ""),
                     tuple(Verdict(**{k: tuple(v) if k == "packets" else v
                                      for k, v in c.items() if k in known})
                           for c in data["checks"]),
                     data.get("student"), data.get("symptom", ""),
                     float(data.get("seconds", 0)), data.get("checked_at", ""))
    except (TypeError, ValueError, AttributeError) as exc:
        raise ResultsError(f"not a grade of 'exercise check --format json' ({exc})") from None


def write(grade: Grade, directory: Path) -> Path:
    path = Path(directory) / FILE
    path.write_text(json.dumps(to_dict(grade), indent=2))
    return path


def read(path: Path) -> Grade:
    """One grade file (``grade.json``, or a saved ``exercise check --format
    json``); refused naming the file when it is none."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{path}: not JSON ({exc})") from None
    try:
        return from_dict(data)
    except ResultsError as exc:
        raise ResultsError(f"{path}: {exc}") from None


__all__ = ["FILE", "Grade", "Verdict", "from_dict", "looks_like", "read", "to_dict", "write"]
