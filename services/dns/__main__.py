"""``python -m services.dns {resolver,authoritative,check} CONFIG``.

``resolver`` and ``authoritative`` serve in the foreground until SIGTERM or
SIGINT (exit 0), printing ``ready <address>:<port>`` on stdout once the UDP
and TCP sockets are both bound.  ``check`` validates a config without
starting anything (the dry run).  Exit status: 0 fine, 1 cannot start
(bind, log file), 2 bad config or usage.
"""

from __future__ import annotations

import argparse
import sys

from .config import AUTHORITATIVE, RESOLVER, load_config
from .daemon import run

EXIT_OK, EXIT_START, EXIT_CONFIG = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m services.dns",
                                     description="flowlab's DNS daemons (dnslib)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, text in (("resolver", "run the recursive resolver (recursive or forward mode)"),
                       ("authoritative", "run the authoritative server for the config's zones"),
                       ("check", "validate a resolver or authoritative config and exit")):
        command = commands.add_parser(name, help=text, description=text)
        command.add_argument("config", metavar="CONFIG", help="TOML config file")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = load_config(args.config)
    except ValueError as error:
        print(f"dns {args.command}: invalid config: {error}", file=sys.stderr)
        return EXIT_CONFIG
    if args.command == "check":
        print(f"ok: {args.config}: {config.service} on "
              f"{config.server.listen}:{config.server.port}")
        return EXIT_OK
    wanted = RESOLVER if args.command == "resolver" else AUTHORITATIVE
    if config.service != wanted:
        print(f"dns {args.command}: {args.config} configures {config.service}, not {wanted}",
              file=sys.stderr)
        return EXIT_CONFIG
    try:
        return run(config)
    except OSError as error:
        print(f"dns {args.command}: cannot start: {error.strerror or error}", file=sys.stderr)
        return EXIT_START


if __name__ == "__main__":
    sys.exit(main())
