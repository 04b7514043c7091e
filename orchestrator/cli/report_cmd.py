"""``report``: (re-)render DIR/report.html from a verify or race output directory."""

from __future__ import annotations

from pathlib import Path

from ..errors import FlowlabError
from ..report.render import write_report
from . import output

NAME = "report"
HELP = "write DIR/report.html (ladders, charts) from a verify or race output directory"
DESCRIPTION = ("Render DIR/report.html, one self-contained page that opens offline from "
               "file:// (inline SVG and CSS, no fetch of any kind): for a verify directory "
               "(results.json) every check with its result, evidence, errata, links to its "
               "pcaps and the ladder diagram of each capture, a failed check's missing packet "
               "dashed; for a race directory (race.json, or several in its subdirectories, "
               "drawn side by side) the outcome distribution, whose OFFER came first and the "
               "gap between the OFFERs as charts, and a mini-ladder per trial. verify and race "
               "write it themselves; this re-renders it from the run's files.")


def configure(parser):
    parser.add_argument("directory", metavar="DIR", type=Path,
                        help="a verify or race output directory")
    parser.add_argument("--topology", metavar="TOPO",
                        help="the topology (name or .py path) whose model names the stations "
                             "(default: the one the run recorded)")


def run(args) -> int:
    if not args.directory.is_dir():
        raise ReportUsageError(f"{args.directory}: no such directory")
    path = write_report(args.directory, args.topology)
    output.note(f"report: {path}")
    return 0


class ReportUsageError(FlowlabError):
    exit_status = 2


def write_after_run(directory: Path) -> Path | None:
    """The report of a run that just ended; a drawing that fails must not
    hide the run's verdict, so it is said and the run goes on."""
    try:
        path = write_report(directory)
    except FlowlabError as exc:
        output.note(f"no report.html: {exc}")
        return None
    output.note(f"report: {path}")
    return path
