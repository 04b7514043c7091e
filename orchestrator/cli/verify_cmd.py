"""``verify``: prove the documented flows of a topology from packet captures."""

from __future__ import annotations

import time
from pathlib import Path

from ..checks import all_checks, opt_in_checks
from ..checks.errata import ERRATA
from ..checks.runner import run_checks, write_results
from ..errors import FlowlabError
from ..lab import Lab, LabSettings
from ..model import registry
from . import ladder_cmd, output, report_cmd
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


class UnknownCheck(FlowlabError):
    exit_status = 2


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


def shipped_and_users(spec: str) -> list:
    """The shipped checks, then the user's own declared with the topology;
    a user's check may not take a shipped check's name."""
    shipped = all_checks()
    users = registry.user_checks(spec)
    taken = {c.name for c in shipped} & {c.name for c in users}
    if taken:
        raise UnknownCheck(f"{spec} declares check(s) named like flowlab's own: "
                           f"{', '.join(sorted(taken))}; rename them")
    return shipped + users


def select(checks, names: list[str], lab_topo) -> list:
    """The checks to run, refused before anything is created when a name is
    unknown or does not apply to the topology.  Opt-in checks (starvation)
    are known by name only: they are never run by default."""
    known = {c.name: c for c in opt_in_checks() + checks}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UnknownCheck(f"unknown check {', '.join(unknown)}; known: {', '.join(known)}")
    chosen = [known[n] for n in names] if names else checks
    applicable = [c for c in chosen if c.applies_to(lab_topo)]
    refused = [c for c in chosen if c not in applicable]
    if names and refused:
        raise UnknownCheck("; ".join(f"check {c.name} does not apply to {lab_topo.name}: "
                                     f"{c.why_not(lab_topo)}" for c in refused))
    return applicable


def run(args) -> int:
    if args.ladder and args.format == "json":
        raise UnknownCheck("verify: --ladder draws for a terminal; it does not go with "
                           "--format json")
    topo = registry.load(args.topology, topology_options(args))
    controller = controller_settings(args, topo)
    require_root(NAME)
    checks = select(shipped_and_users(args.topology), args.check, topo)
    start = time.monotonic()
    with output.progress(f"verifying {topo.name}") as report:
        # A network whose DHCP clients get no lease still comes up: that is
        # a verdict of the dhcp check, not a reason to prove nothing.
        with Lab(topo, args.topology, LabSettings(progress=report, unbound_ok=True,
                                                  controller=controller)) as lab:
            out = args.out or lab.run.path / "verify"
            unbound = [u.describe().splitlines()[0] for u in lab.unbound]
            results = run_checks(lab, checks, out, report, serial=args.serial)
            died = lab.controller_failure()
    seconds = time.monotonic() - start
    path = write_results(out, topo.name, {"vlans": topo.options.vlans,
                                          "dhcp_server": topo.options.dhcp_server,
                                          "guests": topo.options.guests,
                                          "serial": args.serial}, results,
                         seconds, unbound, registry.recorded_spec(args.topology))
    if args.format == "json":
        output.print_json([r.as_dict() for r in results])
    else:
        show(results)
        if args.ladder:
            ladder_cmd.show_ladders(results, topo)
        for line in unbound:
            output.note(f"when the lab came up, {line}")
        output.note(f"results: {path}")
    report_cmd.write_after_run(out)
    if died:
        output.error(died)
        return 1
    return 0 if results and all(r.passed for r in results) else 1


def show(results) -> None:
    rows = []
    for r in results:
        evidence = r.evidence if r.passed else (r.failures[0].splitlines()[0] if r.failures
                                                else "")
        rows.append([r.name, "pass" if r.passed else "FAIL", evidence,
                     f"{r.seconds:.1f} s"])
        for erratum in r.errata:
            entry = ERRATA[erratum.key]
            rows.append(["", "erratum", f"texts: {entry.texts_say}; wire: {entry.wire}; "
                         f"seen: {erratum.evidence}", ""])
    output.table("checks", ["check", "result", "key evidence", "time"], rows)
    for r in results:
        if not r.passed:
            output.err.print(f"\n{r.name} failed:\n" + "\n".join(r.failures), markup=False)
