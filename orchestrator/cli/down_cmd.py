"""``down``: bring down the lab that ``up`` holds."""

from __future__ import annotations

import os
import signal
import time

from .. import cleanup
from ..errors import FlowlabError
from ..rundir import DOWN, live_runs
from . import output
from .common import add_format_argument, add_run_argument, find_live_run, require_root

NAME = "down"
HELP = "bring the lab that is up down"
DESCRIPTION = ("Ask the 'up' process holding the lab to tear it down (SIGTERM) and wait "
               "until it has; if that process is gone, remove what it left. "
               "--list shows the labs that are up.")

GRACE_SECONDS = 60


def configure(parser):
    add_run_argument(parser)
    parser.add_argument("--list", action="store_true", help="list the labs that are up")
    add_format_argument(parser, "the list of --list")


def run(args) -> int:
    if args.list:
        runs = [s for _r, s in live_runs()]
        if args.format == "json":
            output.print_json([{"run": s.run_id, "topology": s.topology, "spec": s.spec,
                                "owner_pid": s.owner_pid} for s in runs])
        else:
            output.table("labs up", ["run", "topology", "owner pid"],
                         [[s.run_id, s.topology, s.owner_pid] for s in runs])
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
