"""The flowlab command line: one module per command (as containerlab's ``cmd/``).

Each command module has NAME, HELP (short), DESCRIPTION (long),
``configure(parser)`` and ``run(args) -> int``.  Library code raises
specific exceptions; here, and only here, they become messages and exit
statuses (2 for a topology that cannot be used, 1 for other failures).
"""

from __future__ import annotations

import argparse
import signal
import sys

from ..errors import FlowlabError, TopologyImportError
from . import (
    clean_cmd,
    demo_cmd,
    down_cmd,
    exec_cmd,
    exercise_cmd,
    ladder_cmd,
    list_cmd,
    output,
    race_cmd,
    report_cmd,
    up_cmd,
    validate_cmd,
    verify_cmd,
)

COMMANDS = (list_cmd, validate_cmd, up_cmd, exec_cmd, down_cmd, clean_cmd, demo_cmd, verify_cmd,
            race_cmd, ladder_cmd, report_cmd, exercise_cmd)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m orchestrator",
        description="flowlab: emulated networks that prove textbook flows from packet captures.")
    sub = top.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        cmd_parser = sub.add_parser(command.NAME, help=command.HELP,
                                    description=command.DESCRIPTION)
        command.configure(cmd_parser)
        cmd_parser.set_defaults(handler=command.run)
    return top


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parse(argv)
    # A command started with '&' from a script inherits SIGINT ignored; every
    # command that builds a lab tears it down on Ctrl-C, so it must hear it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return args.handler(args)
    except TopologyImportError as exc:
        output.error(f"{exc.path}: the topology file failed to load")
        sys.stderr.write(exc.user_traceback + "\n")
        return exc.exit_status
    except FlowlabError as exc:
        output.error(str(exc))
        return exc.exit_status


def _parse(argv: list[str]) -> argparse.Namespace:
    if argv[:1] == ["exec"] and "--" in argv:
        cut = argv.index("--")
        args = parser().parse_args(argv[:cut] + ["_"])
        args.argv = argv[cut + 1:]
        if not args.argv:
            parser().error("exec: no command given after --")
        return args
    return parser().parse_args(argv)
