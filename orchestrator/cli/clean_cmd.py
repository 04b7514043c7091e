"""``clean``: remove what crashed runs left behind, and only that."""

from __future__ import annotations

from .. import cleanup
from . import output
from .common import add_format_argument, require_root

NAME = "clean"
HELP = "remove leftovers of crashed runs (only what is recognisably flowlab's)"
DESCRIPTION = ("Find runs whose owner process died without tearing down (killed with "
               "SIGKILL, a crash, a power cut of the VM) and remove what they left: their "
               "processes (by pid, found by the run's mark in their environment), OVS "
               "bridges tagged with the run, root-side links and mounts. Labs that are up "
               "are left alone.")


def configure(parser):
    add_format_argument(parser, "what was removed")


def run(args) -> int:
    require_root(NAME)
    done = cleanup.clean_all()
    if args.format == "json":
        output.print_json({"runs": done.runs, "processes": done.processes,
                           "bridges": done.bridges, "links": done.links, "mounts": done.mounts})
    elif done:
        output.note(f"cleaned {len(done.runs)} run(s): {len(done.processes)} processes, "
                    f"{len(done.bridges)} bridges, {len(done.links)} links, "
                    f"{len(done.mounts)} mounts")
    else:
        output.note("nothing to clean")
    return 0
