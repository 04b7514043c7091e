"""Asking another server: one query, over UDP, retried over TCP when the
answer comes back truncated.

This is the only module that opens sockets towards upstreams.  It knows
nothing about referrals or caches; it returns a parsed response or raises
:class:`UpstreamError`, and records every exchange in the query's
:class:`~services.dns.trace.QueryTrace`.  Each UDP query uses a fresh
connected socket (a new source port) and a random ID, and only a response
with that ID and the same question is accepted; anything else arriving on the
socket is ignored until the deadline.
"""

from __future__ import annotations

import secrets
import socket
import struct
import time

from dnslib import DNSHeader, DNSQuestion, DNSRecord

from .endpoint import Endpoint
from .records import rcode_name, type_name
from .trace import QueryTrace


class UpstreamError(Exception):
    """No usable response from one upstream."""

    def __init__(self, endpoint: Endpoint, reason: str):
        super().__init__(f"{endpoint}: {reason}")
        self.endpoint = endpoint
        self.reason = reason


class UpstreamTimeout(UpstreamError):
    pass


class Upstream:
    """Sends single queries to single servers.

    ``timeout`` is the wait for one try (seconds); ``attempts`` the number of
    UDP tries per server before giving up on it.
    """

    def __init__(self, timeout: float = 2.0, attempts: int = 2):
        self.timeout = timeout
        self.attempts = attempts

    def query(self, endpoint: Endpoint, qname, qtype: int, trace: QueryTrace, *,
              recursion_desired: bool) -> DNSRecord:
        """Ask ``endpoint`` for ``qname``/``qtype``; RD as given (0 for the
        iterative queries of recursive mode, 1 when forwarding).  A TC=1 UDP
        response is retried over TCP at once.  Raises ``UpstreamError``
        (``UpstreamTimeout`` when every try timed out) or
        ``WorkLimitExceeded``."""
        last: UpstreamError | None = None
        for _ in range(max(1, self.attempts)):
            request = self._request(qname, qtype, recursion_desired)
            exchange = trace.begin(endpoint, "udp", str(request.q.qname), type_name(qtype))
            try:
                response = self._udp(endpoint, request)
            except UpstreamError as error:
                exchange.result = "TIMEOUT" if isinstance(error, UpstreamTimeout) else "ERROR"
                last = error
                if not isinstance(error, UpstreamTimeout):
                    break          # refused port, unreachable: trying again will not help
                continue
            if not response.header.tc:
                exchange.result = rcode_name(response.header.rcode)
                return response
            exchange.result = "TRUNCATED"
            return self._tcp_retry(endpoint, qname, qtype, trace, recursion_desired)
        assert last is not None
        raise last

    # -- one try each ----------------------------------------------------------
    def _tcp_retry(self, endpoint, qname, qtype, trace, recursion_desired) -> DNSRecord:
        request = self._request(qname, qtype, recursion_desired)
        exchange = trace.begin(endpoint, "tcp", str(request.q.qname), type_name(qtype))
        try:
            response = self._tcp(endpoint, request)
        except UpstreamError as error:
            exchange.result = "TIMEOUT" if isinstance(error, UpstreamTimeout) else "ERROR"
            raise
        exchange.result = rcode_name(response.header.rcode)
        return response

    @staticmethod
    def _request(qname, qtype: int, recursion_desired: bool) -> DNSRecord:
        header = DNSHeader(id=secrets.randbelow(65536), rd=1 if recursion_desired else 0)
        return DNSRecord(header, q=DNSQuestion(qname, qtype))

    def _udp(self, endpoint: Endpoint, request: DNSRecord) -> DNSRecord:
        deadline = time.monotonic() + self.timeout
        with _socket(endpoint, socket.SOCK_DGRAM) as sock:
            try:
                sock.connect((endpoint.host, endpoint.port))
                sock.send(request.pack())
                while True:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise UpstreamTimeout(endpoint, f"no answer within {self.timeout:g} s")
                    sock.settimeout(left)
                    data = sock.recv(65535)
                    response = _matching(request, data)
                    if response is not None:
                        return response
            except socket.timeout:
                raise UpstreamTimeout(endpoint, f"no answer within {self.timeout:g} s") from None
            except OSError as error:          # ICMP port unreachable, no route, ...
                raise UpstreamError(endpoint, f"udp: {error.strerror or error}") from None

    def _tcp(self, endpoint: Endpoint, request: DNSRecord) -> DNSRecord:
        deadline = time.monotonic() + self.timeout
        data = request.pack()
        with _socket(endpoint, socket.SOCK_STREAM) as sock:
            try:
                sock.settimeout(self.timeout)
                sock.connect((endpoint.host, endpoint.port))
                sock.sendall(struct.pack("!H", len(data)) + data)
                length = struct.unpack("!H", _recv_exactly(sock, 2, deadline))[0]
                response = _matching(request, _recv_exactly(sock, length, deadline))
            except socket.timeout:
                raise UpstreamTimeout(endpoint,
                                      f"tcp: no answer within {self.timeout:g} s") from None
            except OSError as error:
                raise UpstreamError(endpoint, f"tcp: {error.strerror or error}") from None
            if response is None:
                raise UpstreamError(endpoint, "tcp: response does not match the query")
            return response


def _socket(endpoint: Endpoint, kind: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in endpoint.host else socket.AF_INET
    return socket.socket(family, kind)


def _recv_exactly(sock: socket.socket, count: int, deadline: float) -> bytes:
    chunks, got = [], 0
    while got < count:
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout()
        sock.settimeout(left)
        chunk = sock.recv(count - got)
        if not chunk:
            raise OSError("connection closed before the whole response arrived")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _matching(request: DNSRecord, data: bytes) -> DNSRecord | None:
    """The parsed response if it answers ``request`` (same ID, QR set, same
    question; or no question at all, as dnslib's ``truncate()`` and many
    error responses send), else ``None``."""
    try:
        response = DNSRecord.parse(data)
    except Exception:
        return None
    if response.header.id != request.header.id or not response.header.qr:
        return None
    if response.questions:
        q, asked = response.q, request.q
        if q.qname != asked.qname or q.qtype != asked.qtype or q.qclass != asked.qclass:
            return None
    elif not response.header.tc and response.header.rcode == 0:
        return None          # an error (FORMERR...) may come without the question
    return response
