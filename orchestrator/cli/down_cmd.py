"""``down``: bring down the lab that ``up`` holds."""

from __future__ import annotations

import os
import signal
import time

from ..errors import FlowlabError
from ..runs import cleanup, retention
from ..runs.rundir import DOWN
from . import output
from .common import add_format_argument, add_run_argument, find_live_run, require_root

NAME = "down"
HELP = "bring the lab that is up down"
DESCRIPTION = ("Ask the 'up' process holding the lab to tear it down (SIGTERM) and wait "
               "until it has; if that process is gone, remove what it left. "
               "--list shows the labs that are up (--all: every run kept), with their size.")

GRACE_SECONDS = 60


def configure(parser):
    add_run_argument(parser)
    parser.add_argument("--list", action="store_true", help="list the labs that are up")
    parser.add_argument("--all", action="store_true",
                        help="with --list: every run directory kept, up or down, with its size")
    add_format_argument(parser, "the list of --list")


def _size(count: int) -> str:
    for unit in ("B", "KiB", "MiB"):
        if count < 1024:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GiB"


def run(args) -> int:
    if args.list:
        entries = [e for e in retention.listing() if args.all or e.state.live]
        if args.format == "json":
            output.print_json([{"run": e.state.run_id, "topology": e.state.topology,
                                "spec": e.state.spec, "owner_pid": e.state.owner_pid,
                                "up": e.state.live, "bytes": e.bytes,
                                "path": str(e.run.path)} for e in entries])
        else:
            output.table("runs" if args.all else "labs up",
                         ["run", "topology", "owner pid", "up", "size", "age"],
                         [[e.state.run_id, e.state.topology, e.state.owner_pid,
                           "yes" if e.state.live else "no", _size(e.bytes),
                           f"{e.age_days * 24:.1f} h"] for e in entries])
        return 0
    require_root(NAME)
    run_dir, state = find_live_run(args.run)
    os.kill(state.owner_pid, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    while time.monotonic() < deadline:
        state = run_dir.load()
        if state.status == DOWN or not state.owner_alive:
            break
        time.sleep(0.1)
    else:
        raise FlowlabError(f"{state.run_id}: the owner (pid {state.owner_pid}) did not tear "
                           f"down within {GRACE_SECONDS}s")
    if run_dir.load().status != DOWN:
        cleanup.clean_run(run_dir, run_dir.load())
    output.note(f"{state.run_id} is down")
    return 0
