"""Exercises benchmark: every catalogued fault on every topology, and the
times a class waits for on enterprise.

The matrix: per topology one lab; per fault that applies (the variant of
``--student``), the fault is applied, ``check`` must fail every check the
fault breaks and pass every one it keeps, the reference repair is applied,
and ``check`` must pass them all.  Printed per fault: the verdict, the
reason the first broken check gave (the packet missing), the time of the
apply and of each check.

The measure (``--measure``, enterprise): per fault, through the command
line as a class uses it, the time from ``exercise start FAULT --no-cli`` to
the symptom printed, and of one ``exercise check``, then ``down``.

    sudo flock /tmp/flowlab-lab.lock .venv/bin/python -m bench.exercises \\
        [--topology enterprise]... [--fault NAME]... [--student ID] [--measure] [--format json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from orchestrator.cli import output
from orchestrator.exercises.catalogue import applicable
from orchestrator.exercises.control import wait_started
from orchestrator.exercises.session import BREAKS, Session, from_fault
from orchestrator.lab import Lab, LabSettings
from orchestrator.model import registry
from orchestrator.results import grade as grades
from orchestrator.results.grade import Grade

REPO = Path(__file__).resolve().parent.parent
TOPOLOGIES = ["enterprise", "home", "arp-lan", "tests/topologies/chain.py",
              "tests/topologies/campus.py", "tests/topologies/tworelays.py"]


def expected(graded: Grade) -> list[str]:
    """What differs from the fault's promise: a broken check that passed,
    a kept one that failed."""
    wrong = []
    for v in graded.checks:
        if v.role == BREAKS and v.passed:
            wrong.append(f"{v.check} passed with the fault in place")
        if v.role != BREAKS and not v.passed:
            wrong.append(f"{v.check} failed with the fault in place: {v.reason}")
    return wrong


def one_fault(lab: Lab, spec: str, name: str, student: str | None, out: Path) -> dict:
    exercise = from_fault(name, lab.topo, spec, student)
    session = Session(lab, exercise, out / name)
    row = {"topology": lab.topo.name, "fault": name, "variant": exercise.variants[0].key,
           "symptom": exercise.symptom}
    started = time.monotonic()
    try:
        session.apply()
        row["apply_s"] = round(time.monotonic() - started, 2)
        _, broken = session.check()
        row["check_broken_s"] = round(broken.seconds, 3)
        row["broken_wrong"] = expected(broken)
        first = next((v for v in broken.checks if v.role == BREAKS and not v.passed), None)
        row["reason"] = first.reason if first else ""
        started = time.monotonic()
        session.solve()
        row["solve_s"] = round(time.monotonic() - started, 2)
        _, repaired = session.check()
        row["check_solved_s"] = round(repaired.seconds, 3)
        row["solved_wrong"] = [f"{v.check} failed after solve: {v.reason}"
                               for v in repaired.checks if not v.passed]
    except Exception as exc:       # one fault's error must not hide the others' results
        row["error"] = f"{type(exc).__name__}: {exc}"
    row["ok"] = not row.get("error") and not row.get("broken_wrong") \
        and not row.get("solved_wrong")
    return row


def matrix(spec: str, names: list[str], student: str | None) -> list[dict]:
    topo = registry.load(spec)
    faults = [f.name for f in applicable(topo) if not names or f.name in names]
    if not faults:
        return []
    rows = []
    with tempfile.TemporaryDirectory(prefix="flowlab-bench-exercises-") as out:
        with Lab(topo, spec, LabSettings(unbound_ok=True)) as lab:
            for name in faults:
                output.note(f"{topo.name}: {name}")
                rows.append(one_fault(lab, spec, name, student, Path(out)))
    return rows


# -- the measure, through the command line -------------------------------------------------

def flowlab(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "orchestrator", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def measure(name: str, student: str | None) -> dict:
    argv = [sys.executable, "-m", "orchestrator", "exercise", "start", name, "enterprise",
            "--no-cli", "--format", "json"] + (["--student", student] if student else [])
    started = time.monotonic()
    proc = subprocess.Popen(argv, cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        shown = wait_started(proc, timeout=180)
        to_symptom = time.monotonic() - started
        started = time.monotonic()
        check = flowlab("exercise", "check", "--format", "json")
        check_s = time.monotonic() - started
        graded = grades.from_dict(json.loads(check.stdout))
        return {"fault": name, "symptom": shown["symptom"], "start_to_symptom_s":
                round(to_symptom, 2), "check_s": round(check_s, 2),
                "failed": [v.check for v in graded.checks if not v.passed],
                "wrong": expected(graded)}
    finally:
        flowlab("down")
        proc.wait(timeout=60)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topology", action="append", default=[])
    parser.add_argument("--fault", action="append", default=[])
    parser.add_argument("--student", default=None)
    parser.add_argument("--measure", action="store_true",
                        help="only the command-line times on enterprise")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args()
    if args.measure:
        names = args.fault or [f.name for f in applicable(registry.load("enterprise"))]
        rows = [measure(name, args.student) for name in names]
        if args.format == "json":
            output.print_json(rows)
        else:
            output.table("exercise start and check on enterprise",
                         ["fault", "start → symptom", "one check", "failed", "unexpected"],
                         [[r["fault"], f"{r['start_to_symptom_s']:.1f} s",
                           f"{r['check_s']:.1f} s", ", ".join(r["failed"]),
                           "; ".join(r["wrong"]) or "-"] for r in rows])
        return 0 if all(not r["wrong"] for r in rows) else 1
    rows = []
    for spec in args.topology or TOPOLOGIES:
        rows += matrix(spec, args.fault, args.student)
    if args.format == "json":
        output.print_json(rows)
    else:
        output.table("every fault on every topology",
                     ["topology", "fault", "variant", "ok", "apply", "check", "check solved",
                      "reason / problem"],
                     [[r["topology"], r["fault"], r["variant"], "yes" if r["ok"] else "NO",
                       f"{r.get('apply_s', 0):.1f} s", f"{r.get('check_broken_s', 0):.1f} s",
                       f"{r.get('check_solved_s', 0):.1f} s",
                       r.get("error") or "; ".join(r.get("broken_wrong", [])
                                                   + r.get("solved_wrong", []))
                       or r.get("reason", "")] for r in rows])
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
