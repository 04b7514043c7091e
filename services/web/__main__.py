"""Command line of the web server (run inside an emulated host).

    python -m services.web CONFIG            serve (same as: serve CONFIG)
    python -m services.web check CONFIG      check the config, start nothing
    python -m services.web fetch --textbook http://www.baidu.com/ [--address IP]

Exit status: 0 success (for ``serve``: stopped by SIGTERM or SIGINT); 2 a
bad config or command line, with a message naming the field; 1 anything else
(the address cannot be bound, the fetch failed).  Only this module turns
exceptions into messages and exit codes.
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import sys
import threading
import urllib.parse

from .config import ConfigError, check_paths, load_config
from .server import serve
from .textbook import ClientTiming, FetchError, fetch

COMMANDS = ("serve", "check", "fetch")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in COMMANDS and not argv[0].startswith("-"):
        argv.insert(0, "serve")
    args = _parser().parse_args(argv)
    return args.run(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m services.web",
        description="flowlab's web server for www.baidu.com, and the textbook client.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("serve", help="serve until SIGTERM/SIGINT (the default command)",
                              description="Serve the configured sites; print 'ready ADDRESS:PORT' "
                                          "once listening; exit 0 on SIGTERM or SIGINT.")
    run.add_argument("config", help="TOML config (services/templates/web.toml.j2)")
    run.set_defaults(run=_serve)

    check = commands.add_parser("check", help="check a config without starting",
                                description="Check a config; exit 0, or 2 with the field named.")
    check.add_argument("config")
    check.set_defaults(run=_check)

    get = commands.add_parser("fetch", help="fetch a page as the textbook client",
                              description="Fetch URL with the client of the 11-segment textbook "
                                          "exchange and print the status and lengths. For an "
                                          "ordinary client (web-real), use curl.")
    get.add_argument("url", help="http://NAME[:PORT]/PATH; NAME goes in the Host header")
    get.add_argument("--textbook", action="store_true", required=True,
                     help="the textbook exchange (the only client here)")
    get.add_argument("--address", help="server address to connect to (default: resolve NAME)")
    get.add_argument("--request-pause-ms", type=float, default=20.0,
                     help="pause between the handshake and the request (textbook: keeps "
                          "segment 3 apart from 4; default 20)")
    get.add_argument("--close-pause-ms", type=float, default=20.0,
                     help="pause between the response and the client's FIN (default 20)")
    get.add_argument("--timeout", type=float, default=5.0, help="deadline of each wait, seconds")
    get.add_argument("--json", action="store_true",
                     help="print the result as JSON (one line per fetch)")
    get.add_argument("--count", type=int, default=1,
                     help="fetch this many times in a row, each from the name lookup on "
                          "(one process: a check's 20 fetches without 20 interpreter starts)")
    get.set_defaults(run=_fetch)
    return parser


def _load(path: str):
    config = load_config(path)
    check_paths(config)
    return config


def _check(args) -> int:
    try:
        config = _load(args.config)
    except ConfigError as exc:
        print(f"web: {args.config}: {exc}", file=sys.stderr)
        return 2
    print(f"web: {args.config}: ok ({config.mode} mode, {len(config.sites)} site(s), "
          f"listen {config.listen}:{config.port})")
    return 0


def _serve(args) -> int:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        config = _load(args.config)
    except ConfigError as exc:
        print(f"web: {args.config}: {exc}", file=sys.stderr)
        return 2
    try:
        serve(config, stop, sys.stdout)
    except OSError as exc:
        print(f"web: cannot serve on {config.listen}:{config.port}: {exc}", file=sys.stderr)
        return 1
    return 0


def _fetch(args) -> int:
    url = urllib.parse.urlsplit(args.url)
    try:
        port = url.port or 80
    except ValueError as exc:
        print(f"web fetch: url: {exc}", file=sys.stderr)
        return 2
    if url.scheme != "http" or not url.hostname:
        print(f"web fetch: url: expected http://NAME/PATH, not {args.url!r}", file=sys.stderr)
        return 2
    if args.count < 1:
        print(f"web fetch: --count: at least 1, not {args.count}", file=sys.stderr)
        return 2
    path = (url.path or "/") + (f"?{url.query}" if url.query else "")
    timing = ClientTiming(args.request_pause_ms / 1000, args.close_pause_ms / 1000, args.timeout)
    for _ in range(args.count):
        status = _fetch_once(args, url, path, port, timing)
        if status:
            return status
    return 0


def _fetch_once(args, url, path: str, port: int, timing: ClientTiming) -> int:
    try:
        address = args.address or _resolve(url.hostname, port)
        result = fetch(address, url.hostname, path, port, timing)
    except (OSError, FetchError) as exc:
        print(f"web fetch: {args.url}: {exc}", file=sys.stderr)
        return 1
    local = f"{result.local[0]}:{result.local[1]}"
    if args.json:
        print(json.dumps({"status": result.status, "reason": result.reason,
                          "body_length": len(result.body),
                          "request_length": result.request_length,
                          "response_length": result.response_length,
                          "local": local, "remote": f"{result.remote[0]}:{result.remote[1]}",
                          "server_fin": result.server_fin}), flush=True)
    else:
        print(f"{result.status} {result.reason} length={len(result.body)} "
              f"request={result.request_length} response={result.response_length} local={local}")
    if not result.server_fin:
        print("web fetch: the server did not close the connection: not a textbook exchange",
              file=sys.stderr)
        return 1
    return 0


def _resolve(name: str, port: int) -> str:
    """The first address of ``name`` by the host's own resolver (inside an
    emulated host: its hosts file, then the DNS chain)."""
    infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    return infos[0][4][0]


if __name__ == "__main__":
    sys.exit(main())
