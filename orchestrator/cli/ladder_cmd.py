"""``ladder``: the ladder (sequence) diagram of a check's capture, in text."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Iterable

from ..errors import FlowlabError
from ..ladder.load import LadderInputError, check_ladders, labelled, siblings
from ..ladder.model import build
from ..ladder.text import render
from ..model import Topology, registry
from ..results import verify as results
from ..results.verify import CheckRecord
from . import output

NAME = "ladder"
HELP = "draw a check's capture as a ladder diagram in the terminal"
DESCRIPTION = ("Draw PCAP as a ladder (sequence) diagram: one column per station in path "
               "order, time down, one arrow per packet (the same packet seen at several "
               "capture points is one arrow crossing them), frame numbers as Wireshark numbers "
               "the merged pcap. PCAP is a merged.pcap (its directory's other pcaps name the "
               "capture points) or a verify output DIR with results.json, of which --check "
               "picks checks (default: all); errata are marked and a failed check's missing "
               "packet is drawn dashed.")


class LadderUsageError(FlowlabError):
    exit_status = 2


def configure(parser):
    parser.add_argument("pcap", metavar="PCAP", type=Path,
                        help="a merged.pcap, or a verify output directory with results.json")
    parser.add_argument("--check", action="append", metavar="NAME", default=[],
                        help="with a DIR: draw only this check (repeatable)")
    parser.add_argument("--width", type=int, metavar="N",
                        help="columns to fit (default: the terminal's)")
    parser.add_argument("--topology", metavar="TOPO",
                        help="the topology (name or .py path) whose model names the stations "
                             "(default: results.json's, when it is a registered name)")


def terminal_width(width: int | None) -> int:
    if width is not None:
        if width < 20:
            raise LadderUsageError(f"--width {width}: at least 20 columns")
        return width
    return shutil.get_terminal_size((100, 24)).columns


def run(args) -> int:
    width = terminal_width(args.width)
    path: Path = args.pcap
    if path.is_dir():
        run = results.read(path)
        checks = list(run.checks)
        known = {c.name: c for c in checks}
        unknown = [n for n in args.check if n not in known]
        if unknown:
            raise LadderUsageError(f"no check {', '.join(unknown)} in {results.path_of(path)}; "
                                   f"there: {', '.join(known) or 'none'}")
        chosen = [known[n] for n in args.check] if args.check else checks
        topo = _topology(args.topology, run.topology)
        show_ladders(chosen, topo, width)
        return 0
    if args.check:
        raise LadderUsageError("--check picks checks of a verify output DIR; PCAP is a file")
    if not path.is_file():
        raise LadderUsageError(f"{path}: no such file or directory")
    topo = _topology(args.topology, "")
    packets = labelled(siblings(path), topo)
    sys.stdout.write(render(build(packets, topo, str(path)), width) + "\n")
    return 0


def _topology(spec: str | None, recorded: str) -> Topology | None:
    if spec:
        return registry.load(spec)
    if recorded and recorded in {t.name for t in registry.available()}:
        return registry.load(recorded)
    return None


def show_ladders(checks: Iterable[CheckRecord], topo: Topology | None,
                 width: int | None = None) -> None:
    """Print each check's ladders."""
    width = terminal_width(width)
    for record in checks:
        try:
            ladders = check_ladders(record, topo)
        except LadderInputError as exc:      # one check's lost capture: the others still drawn
            output.note(f"{record.name}: no ladder: {exc}")
            continue
        if not ladders:
            sys.stdout.write(f"\n{record.name}: no capture to draw\n")
        for ladder in ladders:
            sys.stdout.write("\n" + render(ladder, width) + "\n")
    sys.stdout.flush()
