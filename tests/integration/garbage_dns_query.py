"""A DNS query whose question is garbage, for test_services to send from
inside a lab node: no real client sends one, and the resolver must answer
FORMERR with the query's id and carry on.

``python tests/integration/garbage_dns_query.py SERVER [--port 53]`` sends
the header of a query announcing one question, then nine 0xff bytes where
the question should be, over UDP, and prints the reply as one JSON line:
``{"id": "1234", "rcode": 1}`` (id in hex).  It exits 1 if no reply comes
within the timeout.
"""

from __future__ import annotations

import argparse
import json
import socket
import struct
import sys

QUERY_ID = 0x1234
RECURSION_DESIRED = 0x0100
TIMEOUT = 3.0


def garbage(query_id: int = QUERY_ID) -> bytes:
    """A header (id, RD set, one question, no records) and no valid question."""
    return struct.pack("!HHHHHH", query_id, RECURSION_DESIRED, 1, 0, 0, 0) + b"\xff" * 9


def id_and_rcode(reply: bytes) -> dict:
    """The reply's id (hex, as the test writes it) and its response code."""
    return {"id": reply[:2].hex(), "rcode": reply[3] & 0x0F}


def ask(server: str, port: int, timeout: float = TIMEOUT) -> dict:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(garbage(), (server, port))
        return id_and_rcode(sock.recv(512))


def main(argv: list[str]) -> int:
    command = argparse.ArgumentParser(description="Send a DNS query with a garbage question.")
    command.add_argument("server", help="the resolver's address")
    command.add_argument("--port", type=int, default=53)
    args = command.parse_args(argv)
    try:
        print(json.dumps(ask(args.server, args.port)))
    except socket.timeout:
        print(f"no reply from {args.server} port {args.port} within {TIMEOUT:g} s",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
