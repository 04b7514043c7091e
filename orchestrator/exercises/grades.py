"""A class's grades: every ``grade.json`` under a directory, one CSV row each.

Instructors collect the students' ``exercise check --format json`` outputs
(or the ``grade.json`` of each check directory) in one directory; the
summary has, per student and exercise, the points, and per check its points
and, when it failed, the reason in words (the step where the exchange
stopped, the packet that was missing).  A file that is not a grade is
named and refused, not skipped.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ..results import ResultsError, grade as grades
from ..results.grade import Grade
from ..results.verify import FILE as RESULTS_FILE
from .control import STATE as EXERCISE_FILE
from .faults import FaultError
from .session import ANSWERS_FILE

FIXED = ["student", "exercise", "topology", "points", "max_points", "solved", "checked_at",
         "file"]


class GradesError(FaultError):
    pass


def collect(directory: Path) -> list[tuple[Path, Grade]]:
    """Every grade under ``directory`` (``*.json``, recursively), in path order."""
    directory = Path(directory)
    if not directory.is_dir():
        raise GradesError(f"{directory}: no such directory")
    found, refused = [], []
    for path in sorted(directory.rglob("*.json")):
        if path.name in (RESULTS_FILE, EXERCISE_FILE, ANSWERS_FILE):
            continue                           # a check directory's other files
        try:
            found.append((path, grades.read(path)))
        except ResultsError as exc:
            refused.append(str(exc))
    if refused:
        raise GradesError("\n".join(refused))
    if not found:
        raise GradesError(f"{directory}: no grade (*.json of 'exercise check --format json')")
    return found


def table(found: list[tuple[Path, Grade]], root: Path) -> tuple[list[str], list[list]]:
    """The CSV's header and rows: fixed columns, then per check (in order of
    first appearance) its points and the reason it failed."""
    checks: list[str] = []
    for _path, grade in found:
        checks += [v.check for v in grade.checks if v.check not in checks]
    header = FIXED + [f"{c} {part}" for c in checks for part in ("points", "failing packet")]
    rows = []
    for path, grade in found:
        by_check = {v.check: v for v in grade.checks}
        row = [grade.student or "", grade.exercise, grade.topology, grade.points,
               grade.max_points, "yes" if grade.solved else "no", grade.checked_at,
               str(path.relative_to(root))]
        for check in checks:
            verdict = by_check.get(check)
            if verdict is None:
                row += ["", ""]
            else:
                row += [f"{verdict.points}/{verdict.max_points}",
                        "" if verdict.passed else verdict.reason]
        rows.append(row)
    return header, rows


def to_csv(directory: Path) -> str:
    header, rows = table(collect(directory), Path(directory))
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    return text.getvalue()
