"""``exec``: run a command inside a node of the lab that is up."""

from __future__ import annotations

import os

from ..errors import FlowlabError
from ..lab import exec_argv
from ..processes.binaries import require
from .common import add_run_argument, find_live_run, require_root

NAME = "exec"
HELP = "run a command inside a node of the lab that is up"
DESCRIPTION = ("Run CMD inside NODE (its network and mount namespaces: its interfaces, "
               "routes, /etc/hosts and /etc/resolv.conf) of the lab that 'up' holds. "
               "The exit status is the command's.  Example: exec xiaoming -- ping -c1 10.1.1.3")


def configure(parser):
    parser.add_argument("node", metavar="NODE")
    parser.add_argument("argv", metavar="CMD", nargs="+", help="the command, after --")
    add_run_argument(parser)


def run(args) -> int:
    require_root(NAME)
    _run, state = find_live_run(args.run)
    pid = state.nodes.get(args.node)
    if pid is None:
        raise FlowlabError(f"no node '{args.node}' in {state.topology}; nodes: "
                           + ", ".join(sorted(state.nodes)))
    argv = exec_argv(pid, args.argv, state.run_id)
    argv[0] = require("mnexec")
    os.execv(argv[0], argv)
    return 127  # not reached
