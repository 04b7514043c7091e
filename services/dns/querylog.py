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

Cache hits answered by the fast path (:mod:`services.dns.fastpath`) get the
same line as the full path would write; the UDP loop hands a burst of them
to :meth:`QueryLog.log_answered`, one write for the burst.  The file is
line-buffered: every line is in it before the reply it describes is sent.
"""

from __future__ import annotations

import threading
import time
from typing import TextIO

from .records import rcode_name, type_name

_second: tuple[int, str] = (-1, "")        # the last second formatted, and its text


def _timestamp() -> str:
    """UTC, milliseconds: ``2025-11-21T08:40:01.234Z`` (the date and time
    part is formatted once a second)."""
    global _second
    now = time.time()
    second, text = _second
    if int(now) != second:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
        _second = (int(now), text)
    return text + f".{int(now % 1 * 1000):03d}Z"


def client_text(address) -> str:
    host, port = address[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _client(handler) -> str:
    return client_text(handler.client_address)


# the fields of a query line that vary between queries with the same answer
PER_QUERY_FIELDS = ("client", "proto", "id")


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

    # -- the fast path (services.dns.fastpath) ------------------------------------
    @property
    def writing(self) -> bool:
        """Whether query lines go anywhere (else only the counters count)."""
        return self.stream is not None

    @staticmethod
    def line_tail(fields: dict) -> str:
        """The end of a query line after ``client``, ``proto`` and ``id``:
        the same for every query answered with the same wire answer."""
        return "".join(f" {k}={v}" for k, v in fields.items() if k not in PER_QUERY_FIELDS)

    @staticmethod
    def fast_line(client, protocol: str, query_id: int, tail: str) -> str:
        """A whole query line, as :meth:`log_reply` writes it, from the tail."""
        return f"{_timestamp()} client={client_text(client)} proto={protocol} id={query_id}{tail}\n"

    def log_answered(self, lines: list[str], count: int) -> None:
        """Count ``count`` queries answered without upstream queries and write
        their lines (already formatted) in one write: the file is
        line-buffered, so they reach it before the replies are sent."""
        with self._lock:
            self.queries += count
            if self.stream is not None and lines:
                self.stream.write("".join(lines))

    # -- the DNSLogger interface ------------------------------------------------
    def log_reply(self, handler, reply) -> None:
        fields, upstream = self.reply_fields(handler, reply)
        with self._lock:
            self.queries += 1
            self.upstream_queries += upstream
        self._write(fields)

    def reply_fields(self, handler, reply) -> tuple[dict, int]:
        """The fields of the query line for ``reply``, and the number of
        upstream queries it cost."""
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
        return fields, (trace.upstream_count if trace else 0)

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
