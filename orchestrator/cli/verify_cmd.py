"""``verify``: prove the documented flows of a topology from packet captures."""

from __future__ import annotations

from pathlib import Path

from ..lab import Lab, LabSettings
from ..model import registry
from ..results import verify as results
from ..results.verify import CheckRecord
from ..verify import UnknownCheck, choose, verify
from . import ladder_cmd, output
from .common import (
    add_controller_arguments,
    add_topology_arguments,
    controller_settings,
    require_root,
    topology_options,
)

NAME = "verify"
HELP = "bring a topology up, run its checks, tear down; exit 0 only if all passed"
DESCRIPTION = ("Bring TOPO up with its daemons, run every check that applies to it: the "
               "textbook checks of FLOWS.md for the shipped labs, the checks derived from the "
               "model (dhcp, reach, l2-scope, nat, dns, http) for any topology, and the user's "
               "own declared with @check in TOPO's file or in <stem>_checks.py beside it (or "
               "only those named with --check; opt-in checks such as starvation run only when "
               "named), each deciding pass or fail from packets "
               "captured during its scripted traffic, and tear down. Writes DIR/results.json "
               "and DIR/pcaps/<check>/<node>-<interface>.pcap plus a merged pcap per check. "
               "Exit status 0 only when every check passed.")


def configure(parser):
    add_topology_arguments(parser)
    parser.add_argument("--check", action="append", metavar="NAME", default=[],
                        help="run only this check (repeatable)")
    parser.add_argument("--out", metavar="DIR", type=Path,
                        help="where results.json and the pcaps go (default: the run directory)")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--serial", action="store_true",
                        help="run the checks one at a time (by default checks whose footprints "
                             "allow it run at once, so that protocol timers do not idle)")
    parser.add_argument("--ladder", action="store_true",
                        help="after the table, draw each check's capture as a ladder diagram")
    add_controller_arguments(parser)


def run(args) -> int:
    if args.ladder and args.format == "json":
        raise UnknownCheck("verify: --ladder draws for a terminal; it does not go with "
                           "--format json")
    topo = registry.load(args.topology, topology_options(args))
    controller = controller_settings(args, topo)
    checks = choose(args.topology, args.check, topo)      # refused before anything is built
    require_root(NAME)
    notes: list[str] = []
    with output.progress(f"verifying {topo.name}") as report:
        # A network whose DHCP clients get no lease still comes up: that is
        # a verdict of the dhcp check, not a reason to prove nothing.
        with Lab(topo, args.topology, LabSettings(progress=report, unbound_ok=True,
                                                  controller=controller)) as lab:
            out = args.out or lab.run.path / "verify"
            run = verify(lab, checks, out, serial=args.serial, progress=report,
                         note=notes.append)
            died = lab.controller_failure()
    if args.format == "json":
        output.print_json([results.check_to_dict(c) for c in run.checks])
    else:
        show(run.checks)
        if args.ladder:
            ladder_cmd.show_ladders(run.checks, topo)
        for line in run.unbound:
            output.note(f"when the lab came up, {line}")
        output.note(f"results: {results.path_of(out)}")
    for line in notes:
        output.note(line)
    if died:
        output.error(died)
        return 1
    return 0 if run.passed else 1


def show(checks: tuple[CheckRecord, ...]) -> None:
    rows = []
    for c in checks:
        rows.append([c.name, "pass" if c.passed else "FAIL",
                     c.evidence if c.passed else c.first_failure, f"{c.seconds:.1f} s"])
        for erratum in c.errata:
            rows.append(["", "erratum", f"texts: {erratum.texts_say}; wire: "
                         f"{erratum.capture_shows}; seen: {erratum.evidence}", ""])
    output.table("checks", ["check", "result", "key evidence", "time"], rows)
    for c in checks:
        if not c.passed:
            output.err.print(f"\n{c.name} failed:\n" + "\n".join(c.failures), markup=False)
