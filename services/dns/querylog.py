"""The query log: one line per client query, in a file of its own.

It implements dnslib's ``DNSLogger`` interface (``log_request``,
``log_reply``, ...) so the server machinery calls it at the usual points;
only ``log_reply`` writes a query line, reading what the resolver left on
the handler (a :class:`~services.dns.trace.QueryTrace`: cache use and the
upstream queries made) or, for errors the server answers itself (FORMERR,
NOTIMP), the ``reason``.  Packets dropped unanswered (shorter than a header,
or responses) get a line of their own, marked ``event=error``.

A line is space-separated ``key=value`` fields, values never contain spaces::

    2025-11-21T08:40:01.234Z client=10.1.1.2:40312 proto=udp id=4711 \
qname=www.baidu.com. qtype=A rcode=NOERROR answers=1 cache=miss upstream=3 \
via=198.41.0.4:53/udp:www.baidu.com./A:REFERRAL,... reason=-

``cache`` is ``hit`` (answered with no upstream query), ``miss``,
``partial`` (part of a CNAME chain came from the cache), ``none`` (nothing
asked of either) or ``-`` (an authoritative server has no cache).
"""

from __future__ import annotations

import threading
import time
from typing import TextIO

from .records import rcode_name, type_name


def _timestamp() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"


def _client(handler) -> str:
    host, port = handler.client_address[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _clean(text: str) -> str:
    return "-" if not text else text.replace(" ", "_")


class QueryLog:
    """Writes query lines to ``stream`` (a text file opened by the caller, or
    ``None`` to keep only the counters).  Thread-safe."""

    def __init__(self, stream: TextIO | None):
        self.stream = stream
        self._lock = threading.Lock()
        self.queries = 0
        self.upstream_queries = 0

    @classmethod
    def open(cls, path) -> "QueryLog":
        """Append to the file at ``path`` (line-buffered); an ``OSError``
        names the path."""
        try:
            return cls(open(path, "a", buffering=1, encoding="utf-8"))
        except OSError as error:
            raise OSError(error.errno, f"cannot open query log {path}: "
                                       f"{error.strerror or error}") from None

    def close(self) -> None:
        with self._lock:
            if self.stream is not None:
                self.stream.close()
                self.stream = None

    def _write(self, fields: dict) -> None:
        line = _timestamp() + " " + " ".join(f"{k}={v}" for k, v in fields.items()) + "\n"
        with self._lock:
            if self.stream is not None:
                self.stream.write(line)

    # -- the DNSLogger interface ------------------------------------------------
    def log_reply(self, handler, reply) -> None:
        trace = getattr(handler, "trace", None)
        fields = {
            "client": _client(handler),
            "proto": handler.protocol,
            "id": reply.header.id,
            "qname": _clean(str(reply.q.qname)) if reply.questions else "-",
            "qtype": type_name(reply.q.qtype) if reply.questions else "-",
            "rcode": rcode_name(reply.header.rcode),
            "answers": len(reply.rr),
            "tc": reply.header.tc,
        }
        if trace is None:
            fields.update(cache="-", upstream=0, via="-",
                          reason=_clean(getattr(handler, "reason", "")))
        else:
            fields.update(cache=trace.cache_state, upstream=trace.upstream_count,
                          via=",".join(str(e) for e in trace.exchanges) or "-",
                          reason=_clean(trace.reason or getattr(handler, "reason", "")))
        with self._lock:
            self.queries += 1
            self.upstream_queries += trace.upstream_count if trace else 0
        self._write(fields)

    def log_error(self, handler, error) -> None:
        self._write({"client": _client(handler), "proto": getattr(handler, "protocol", "?"),
                     "event": "error", "reason": _clean(str(error))})

    def log_recv(self, handler, data) -> None:
        pass

    def log_send(self, handler, data) -> None:
        pass

    def log_request(self, handler, request) -> None:
        pass

    def log_truncated(self, handler, reply) -> None:
        pass

    def log_data(self, record) -> None:
        pass
