"""``clean``: remove what crashed runs left behind, and only that."""

from __future__ import annotations

from ..runs import cleanup, retention
from . import output
from .common import add_format_argument, require_root

NAME = "clean"
HELP = "remove leftovers of crashed runs (only what is recognisably flowlab's)"
DESCRIPTION = ("Find runs whose owner process died without tearing down (killed with "
               "SIGKILL, a crash, a power cut of the VM) and remove what they left: their "
               "processes (by pid, found by the run's mark in their environment), OVS "
               "bridges tagged with the run, root-side links and mounts. Labs that are up "
               "are left alone. With --runs, then remove run directories (configs, logs, "
               "pcaps) beyond the last --keep runs and older than --days days; a run that "
               "is up is never removed. Every 'up' prunes by the same policy "
               "($FLOWLAB_KEEP_RUNS, $FLOWLAB_KEEP_DAYS).")


def configure(parser):
    parser.add_argument("--runs", action="store_true",
                        help="also prune old run directories now")
    parser.add_argument("--keep", type=int, metavar="N", default=None,
                        help=f"with --runs: keep the last N runs (default $FLOWLAB_KEEP_RUNS "
                             f"or {retention.KEEP_RUNS})")
    parser.add_argument("--days", type=float, metavar="D", default=None,
                        help=f"with --runs: keep every run of the last D days (default "
                             f"$FLOWLAB_KEEP_DAYS or {retention.KEEP_DAYS:g})")
    add_format_argument(parser, "what was removed")


def run(args) -> int:
    require_root(NAME)
    if not args.runs and (args.keep is not None or args.days is not None):
        raise SystemExit("clean: --keep and --days go with --runs")
    done = cleanup.clean_all()
    pruned = []
    if args.runs:
        policy = retention.Policy.from_environment()
        policy = retention.Policy(policy.keep_runs if args.keep is None else args.keep,
                                  policy.keep_days if args.days is None else args.days)
        pruned = retention.prune(policy.checked())
    if args.format == "json":
        output.print_json({"runs": done.runs, "processes": done.processes,
                           "bridges": done.bridges, "links": done.links, "mounts": done.mounts,
                           "pruned": pruned})
        return 0
    if args.runs:
        output.note(f"pruned {len(pruned)} run director{'y' if len(pruned) == 1 else 'ies'}"
                    + (f": {', '.join(pruned)}" if pruned else ""))
    elif done:
        output.note(f"cleaned {len(done.runs)} run(s): {len(done.processes)} processes, "
                    f"{len(done.bridges)} bridges, {len(done.links)} links, "
                    f"{len(done.mounts)} mounts")
    else:
        output.note("nothing to clean")
    return 0
