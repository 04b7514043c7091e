"""``exercise``: troubleshooting exercises on a live lab, graded from packets."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..exercises import control, files, grades, holder
from ..exercises.catalogue import all_faults
from ..exercises.faults import FaultError
from ..exercises.holder import exercise_dir, serve
from ..exercises.session import Session, from_fault
from ..lab import Lab, LabSettings
from ..model import registry
from ..results import grade as grade_record
from ..results.grade import Grade
from . import output
from .common import (
    add_format_argument,
    add_run_argument,
    add_topology_arguments,
    find_live_run,
    require_root,
    topology_options,
)
from .holding import hold, until_done

NAME = "exercise"
HELP = "troubleshooting exercises: a lab broken on purpose, checked from packets"
DESCRIPTION = (
    "Exercises for courses. 'list [TOPO]' shows the catalogue of faults and where each "
    "applies. 'start FAULT [TOPO] --student ID' brings TOPO (default enterprise) up with the "
    "fault's variant for that student (same id, same variant) and prints the symptom, never "
    "the fault; it holds the lab like 'up' (Mininet's CLI, or --no-cli until 'down'). From "
    "another shell, on the lab that is up (waiting for it while 'exercise start' is still "
    "starting): 'check' runs the checks the fault breaks and "
    "those it must not break, each decided from packets, and writes results.json, "
    "grade.json and report.html; 'answer TEXT' names the fault (diagnosis); 'solve' applies "
    "the reference repair; 'reset' returns to the start of the exercise.")

DEFAULT_TOPOLOGY = "enterprise"


def configure(parser):
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="the faults of the catalogue, and where they apply")
    listing.add_argument("topology", metavar="TOPO", nargs="?",
                         help="show the variants in this topology (name or .py path)")
    listing.add_argument("--vlan", action=argparse.BooleanOptionalAction, default=True,
                         help="with TOPO: --no-vlan for its flat variant")
    add_format_argument(listing, "the list")

    start = actions.add_parser("start", help="bring a lab up with a fault and hold it")
    start.add_argument("exercise", metavar="FAULT|FILE",
                       help="a fault of 'exercise list', or an exercise file (.toml)")
    add_topology_arguments(start, topology_default=DEFAULT_TOPOLOGY,
                           topology_help="the topology (default: the exercise file's, else "
                                         "enterprise)")
    start.set_defaults(topology=None)
    start.add_argument("--student", metavar="ID",
                       help="the student id that seeds the variant (default: the first)")
    start.add_argument("--no-cli", action="store_true",
                       help="no Mininet CLI: print the symptom and wait for SIGINT/SIGTERM")
    add_format_argument(start, "what start prints")

    check = actions.add_parser("check", help="check the lab that is up (from packets)")
    check.add_argument("--out", metavar="DIR", type=Path,
                       help="where results.json, grade.json, report.html and the pcaps go "
                            "(default: the run's exercise/checks/N)")
    add_run_argument(check)
    add_format_argument(check, "the grade")

    answer = actions.add_parser("answer", help="name the fault (diagnose-only exercises)")
    answer.add_argument("text", metavar="TEXT", help="the fault's name, from 'exercise list'")
    add_run_argument(answer)
    add_format_argument(answer, "the answer's grade")

    validate = actions.add_parser("validate", help="refuse a broken exercise file")
    validate.add_argument("file", metavar="FILE", type=Path, help="an exercise file (.toml)")
    add_topology_arguments(validate, topology_default=DEFAULT_TOPOLOGY,
                           topology_help="the topology (default: the file's, else enterprise)")
    validate.set_defaults(topology=None)
    validate.add_argument("--static", action="store_true",
                          help="only what the model says (no lab, no root); by default the "
                               "exercise is also run in a real lab: every check must pass "
                               "without the fault, break as declared with it, and pass again "
                               "after the reference repair")
    add_format_argument(validate, "the problems found")

    grades = actions.add_parser("grades", help="a class's grades as CSV")
    grades.add_argument("directory", metavar="DIR", type=Path,
                        help="a directory of grades (the JSON of 'exercise check --format "
                             "json', or grade.json files), searched recursively")
    grades.add_argument("--out", metavar="FILE", type=Path, help="write the CSV here "
                                                                 "(default: standard output)")

    for name, text in (("solve", "apply the reference repair"),
                       ("reset", "return the lab to the start of the exercise")):
        add_run_argument(actions.add_parser(name, help=text))


def run(args) -> int:
    return {"list": run_list, "start": run_start, "check": run_check, "answer": run_answer,
            "solve": run_simple, "reset": run_simple, "validate": run_validate,
            "grades": run_grades}[args.action](args)


def load_exercise(name: str, topology: str | None, args, student: str | None):
    """The topology spec, its model and the exercise: a catalogue fault
    (TOPO default enterprise) or an instructor's file (TOPO default the
    file's).  Refused before any lab exists."""
    if files.looks_like_file(name):
        spec = files.parse(Path(name))
        topo_spec = files.topology_of(spec, topology)
        topo = registry.load(topo_spec, topology_options(args))
        return topo_spec, topo, files.exercise_from(spec, topo, topo_spec, student)
    topo_spec = topology or DEFAULT_TOPOLOGY
    topo = registry.load(topo_spec, topology_options(args))
    return topo_spec, topo, from_fault(name, topo, topo_spec, student)


# -- list ------------------------------------------------------------------------------

def run_list(args) -> int:
    faults = all_faults()
    if args.topology is None:
        rows = [{"fault": f.name, "kind": f.kind, "title": f.title} for f in faults]
        if args.format == "json":
            output.print_json(rows)
        else:
            output.table("faults", ["fault", "kind", "what is wrong"],
                         [[r["fault"], r["kind"], r["title"]] for r in rows])
        return 0
    from ..model import TopologyOptions
    topo = registry.load(args.topology, TopologyOptions(vlans=args.vlan))
    rows = []
    for fault in faults:
        variants = fault.placements(topo)
        rows.append({"fault": fault.name, "kind": fault.kind, "title": fault.title,
                     "applies": bool(variants), "variants": len(variants),
                     "why_not": "" if variants else fault.why_not(topo),
                     "breaks": sorted({c for v in variants for c in v.breaks})})
    if args.format == "json":
        output.print_json(rows)
    else:
        output.table(f"faults in {topo.name}", ["fault", "variants", "breaks", "what is wrong"],
                     [[r["fault"], r["variants"] or "-", ", ".join(r["breaks"]),
                       r["title"] if r["applies"] else r["why_not"]] for r in rows])
    return 0


# -- start -----------------------------------------------------------------------------

def run_start(args) -> int:
    spec, topo, exercise = load_exercise(args.exercise, args.topology, args,
                                         args.student)          # refused before any work
    require_root(NAME)
    began = time.monotonic()

    def run_exercise(lab: Lab) -> int:
        session = Session(lab, exercise, exercise_dir(lab.run.path))
        with output.progress("preparing the exercise"):
            session.start()
        server = serve(session)
        try:
            show_start(args, lab, exercise, time.monotonic() - began)
            until_done(lab, cli=not args.no_cli)
        finally:
            server.close()
        return 0

    return hold(topo, spec, LabSettings(unbound_ok=True, purpose=holder.PURPOSE), run_exercise,
                stopped=0,
                title=f"bringing {topo.name} up for {exercise.name}")


def show_start(args, lab, exercise, seconds: float) -> None:
    if args.format == "json":
        output.print_json({"run": lab.run.run_id, "topology": lab.topo.name,
                           "exercise": exercise.name, "student": exercise.student,
                           "symptom": exercise.symptom, "seconds": round(seconds, 3),
                           "interfaces": lab.summary()})
        return
    output.lab_summary(lab.topo.name, lab.run.run_id, lab.summary())
    output.out.print(f"\nExercise {exercise.name}"
                     + (f" (student {exercise.student})" if exercise.student else "")
                     + f"\nSymptom: {exercise.symptom}\n", markup=False, soft_wrap=True)
    output.note(f"ready in {seconds:.1f} s; investigate with 'exec NODE -- CMD', then "
                "'exercise check'; 'down' ends it")


# -- acting on the lab that is up ----------------------------------------------------------

def _ask(args, message: dict) -> dict:
    require_root(NAME)
    run_dir, _state = find_live_run(args.run)
    with output.progress(f"exercise {message['op']}") as report:
        return control.request(holder.wait_ready(run_dir, report), message, report)


def run_check(args) -> int:
    out = str(args.out.resolve()) if args.out else None
    result = _ask(args, {"op": "check", "out": out})
    graded = grade_record.from_dict(result["grade"])
    if args.format == "json":
        output.print_json(grade_record.to_dict(graded))
    else:
        show_grade(graded)
        output.note(f"results: {result['directory']} (report.html, {grade_record.FILE})")
    return 0 if graded.solved else 1


def show_grade(graded: Grade) -> None:
    rows = []
    for v in graded.checks:
        rows.append([v.check, "pass" if v.passed else "FAIL", f"{v.points}/{v.max_points}",
                     v.evidence if v.passed else v.reason])
        if not v.passed and v.hint:
            rows.append(["", "hint", "", v.hint])
    output.table(f"{graded.exercise}: {graded.points}/{graded.max_points} points",
                 ["check", "result", "points", "why"], rows)
    for v in graded.checks:
        if not v.passed and v.packets:
            output.out.print(f"\n{v.check}: {v.reason}\n  " + "\n  ".join(v.packets),
                             markup=False, soft_wrap=True)


def run_answer(args) -> int:
    given = _ask(args, {"op": "answer", "text": args.text})
    if args.format == "json":
        output.print_json(given)
    else:
        output.note(f"answer {given['answer']}: "
                    + ("right" if given["correct"] else "not the fault of this exercise"))
    return 0 if given["correct"] else 1


def run_simple(args) -> int:
    result = _ask(args, {"op": args.action})
    output.note(result["done"])
    if result.get("symptom"):
        output.out.print(f"Symptom: {result['symptom']}", markup=False, soft_wrap=True)
    return 0


# -- validate and grades --------------------------------------------------------------------

def run_validate(args) -> int:
    spec = files.parse(args.file)
    topo_spec = files.topology_of(spec, args.topology)
    topo = registry.load(topo_spec, topology_options(args))
    found = files.problems(spec, topo)
    live = None
    if not found and not args.static:
        require_root(NAME)
        exercise = files.exercise_from(spec, topo, topo_spec, None)
        with output.progress(f"trying {spec.name} in {topo.name}") as report:
            with Lab(topo, topo_spec, LabSettings(progress=report, unbound_ok=True)) as lab:
                session = Session(lab, exercise, lab.run.path / "exercise-validate")
                _, intact = session.check(progress=report)
                session.apply()
                _, broken = session.check(progress=report)
                session.solve()
                _, solved = session.check(progress=report)
        found = files.live_problems(intact, broken, solved)
        live = {"intact": intact.points, "broken": broken.points,
                "solved": solved.points, "max_points": solved.max_points}
    if args.format == "json":
        output.print_json({"file": str(args.file), "topology": topo.name, "ok": not found,
                           "problems": found, "live": live})
    elif found:
        output.error(f"{args.file}: {len(found)} problem(s):\n  " + "\n  ".join(found))
    else:
        output.note(f"{args.file}: fit for a class on {topo.name}"
                    + (f" (points intact {live['intact']}, with the fault {live['broken']}, "
                       f"repaired {live['solved']} of {live['max_points']})" if live
                       else " (static checks only)"))
    return 1 if found else 0


def run_grades(args) -> int:
    text = grades.to_csv(args.directory)
    if args.out:
        args.out.write_text(text)
        output.note(f"grades: {args.out}")
    else:
        sys.stdout.write(text)
    return 0


__all__ = ["NAME", "HELP", "DESCRIPTION", "configure", "run", "FaultError"]
