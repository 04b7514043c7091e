"""The access log: one line per answered request, in the configured file.

A line reads::

    2025-11-21T08:41:00.123Z 10.1.1.2:40312 textbook "GET / HTTP/1.1" host=www.baidu.com site=www.baidu.com 200 297

(time in UTC, client address and port, mode, request line as received with
control characters escaped, Host header, the site that answered, status,
Content-Length of the answer).  The client port is there so that a line can be
matched with its TCP connection in a capture.  Lines are flushed one by one: a
check may read the log while the server runs.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Self


class AccessLog:
    """Appends lines to a file from any handler thread."""

    def __init__(self, path: Path):
        # Open for the server's lifetime; closed by close() / __exit__.
        self._file = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
        self._lock = threading.Lock()

    def request(self, handler) -> None:
        """Write the line for the request ``handler`` (a ``WebHandler``) just
        answered."""
        host, port = handler.client_address[:2]
        headers = getattr(handler, "headers", None)
        host_header = headers.get("Host", "-") if headers is not None else "-"
        host_field = _printable(host_header).replace(" ", "\\x20") or "-"
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        client = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        line = (f"{stamp} {client} {handler.server.mode} "
                f"\"{_printable(getattr(handler, 'requestline', ''))}\" "
                f"host={host_field} site={handler._site} "
                f"{handler._status} {handler._length}\n")
        self.write(line)

    def write(self, line: str) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.write(line)

    def close(self) -> None:
        with self._lock:
            self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _printable(text: str) -> str:
    """``text`` with control characters, quotes and backslashes escaped, so
    that one request is always one parseable line."""
    out = []
    for c in text:
        if c in '"\\':
            out.append("\\" + c)
        elif ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0:
            out.append(f"\\x{ord(c):02x}")
        else:
            out.append(c)
    return "".join(out)
