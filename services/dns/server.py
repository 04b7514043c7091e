"""Listening: one address and port, UDP and TCP, for any dnslib resolver.

dnslib's ``DNSServer`` runs one socketserver per protocol; :class:`DNSService`
binds both on the same address and port (UDP first, so that port 0 picks one
free port for both) and refuses to share a port (dnslib's own UDP server sets
``SO_REUSEADDR``, which on Linux lets a second UDP server bind the same port
silently: a bind failure must be loud).

:class:`RequestHandler` replaces dnslib's ``DNSHandler`` framing so that:

- a packet dnslib cannot parse, or one whose QDCOUNT is not 1, is answered
  FORMERR when at least a header (12 bytes) arrived, and dropped otherwise;
  responses (QR=1) are never answered; an unknown opcode gets NOTIMP;
- an exception in the resolver costs one SERVFAIL, never the server;
- a UDP reply larger than the client can take (512 bytes, or the EDNS size
  it advertised) is cut down to the header and question with TC=1, so the
  client retries over TCP;
- a client query carrying an OPT record gets an OPT record back;
- a TCP connection may carry several queries, one after the other.

UDP is not served by socketserver's loop but by :meth:`DNSService._serve_udp`:
one thread takes the datagrams waiting on the socket in bursts, answers the
cache hits of a :class:`~services.dns.resolver.CachingResolver` itself from
wire data (:mod:`services.dns.fastpath`), writes their query-log lines in
one write and then sends their replies; every other datagram gets its own
thread and a :class:`RequestHandler`, as before.  TCP is served by
socketserver, a thread per connection.
"""

from __future__ import annotations

import errno
import select
import socket
import socketserver
import struct
import threading
import traceback

from dnslib import EDNS0, OPCODE, QTYPE, RCODE, DNSHeader, DNSRecord
from dnslib.server import DNSHandler, DNSServer

from .fastpath import FastPath
from .querylog import QueryLog
from .resolver import CachingResolver

HEADER_LEN = 12
CLASSIC_UDP_LIMIT = 512
OUR_EDNS_UDP = 1232               # what we advertise, and the most we send over UDP
TCP_IDLE_TIMEOUT = 10.0
POLL_INTERVAL = 0.1               # how soon the serving loops notice stop()
UDP_BURST = 64                    # datagrams taken off the socket before replies go out


class BindError(OSError):
    """A listening socket could not be bound; the message says which."""


class RequestHandler(DNSHandler):
    """One request (UDP) or one connection (TCP); see the module docstring."""

    def handle(self):
        self.trace = None          # set by a resolver that keeps one (the query log reads it)
        self.reason = ""           # why this handler answered an error itself
        if self.server.socket_type == socket.SOCK_STREAM:
            self.protocol = "tcp"
            self._handle_tcp()
        else:
            self.protocol = "udp"
            data, sock = self.request
            reply = self._reply_to(data)
            if reply is not None:
                try:
                    sock.sendto(reply, self.client_address)
                except OSError as error:
                    self.server.logger.log_error(self, f"send failed: {error}")

    def _handle_tcp(self):
        sock = self.request
        sock.settimeout(TCP_IDLE_TIMEOUT)
        try:
            while True:
                prefix = _recv_exactly(sock, 2)
                if prefix is None:
                    return
                data = _recv_exactly(sock, struct.unpack("!H", prefix)[0])
                if data is None:
                    self.server.logger.log_error(self, "connection closed mid-message")
                    return
                self.trace, self.reason = None, ""
                reply = self._reply_to(data)
                if reply is None:
                    return
                sock.sendall(struct.pack("!H", len(reply)) + reply)
        except (OSError, socket.timeout):
            return

    def _reply_to(self, data: bytes) -> bytes | None:
        """The packed reply to one message, or ``None`` to stay silent."""
        self.server.logger.log_recv(self, data)
        if len(data) < HEADER_LEN:
            self.server.logger.log_error(self, f"dropped: {len(data)} bytes, shorter than a header")
            return None
        header = DNSHeader.parse(_Buffer(data))
        if header.qr:
            self.server.logger.log_error(self, "dropped: a response, not a query")
            return None
        try:
            request = DNSRecord.parse(data)
        except Exception as error:
            return self._error_reply(header, RCODE.FORMERR, f"unparsable: {error}")
        if len(request.questions) != 1:
            return self._error_reply(header, RCODE.FORMERR, f"QDCOUNT={len(request.questions)}")
        if request.header.opcode != OPCODE.QUERY:
            return self._error_reply(header, RCODE.NOTIMP, f"opcode {request.header.opcode}")
        self.server.logger.log_request(self, request)
        try:
            reply = self.server.resolver.resolve(request, self)
        except Exception as error:
            self.reason = f"resolver failed: {error!r}"
            reply = request.reply(ra=0, aa=0)
            reply.header.rcode = RCODE.SERVFAIL
        # The reply started as a copy of the query's flags: keep RD and CD,
        # never claim authenticated data (AD) or echo TC or Z.
        reply.header.ad = reply.header.tc = reply.header.z = 0
        opt = _client_opt(request)
        if opt is not None:
            reply.ar = [rr for rr in reply.ar if rr.rtype != QTYPE.OPT]
            reply.add_ar(EDNS0(udp_len=OUR_EDNS_UDP))
        try:
            packed = reply.pack()
        except Exception as error:
            self.reason = f"cannot encode the reply: {error!r}"
            reply = request.reply(ra=reply.header.ra, aa=0)
            reply.header.ad = reply.header.tc = reply.header.z = 0
            reply.header.rcode = RCODE.SERVFAIL
            packed = reply.pack()
        if self.protocol == "udp":
            limit = CLASSIC_UDP_LIMIT if opt is None else \
                min(max(opt.edns_len, CLASSIC_UDP_LIMIT), OUR_EDNS_UDP)
            if len(packed) > limit:
                reply = _truncated(reply)
                packed = reply.pack()
                self.server.logger.log_truncated(self, reply)
        self.server.logger.log_reply(self, reply)
        fastpath = getattr(self.server, "fastpath", None)
        if fastpath is not None and self.protocol == "udp":
            try:
                fastpath.learn(data, reply, packed, self)
            except Exception as error:           # never worth the reply
                self.server.logger.log_error(self, f"fast path: cannot keep the answer: {error!r}")
        return packed

    def _error_reply(self, header: DNSHeader, rcode: int, why: str) -> bytes:
        reply = DNSRecord(DNSHeader(id=header.id, qr=1, opcode=header.opcode,
                                    rd=header.rd, rcode=rcode))
        self.reason = why
        self.server.logger.log_reply(self, reply)
        return reply.pack()


class _Buffer:
    """Just enough of dnslib's buffer to parse a header from 12 bytes."""

    def __init__(self, data: bytes):
        self.data, self.offset = data, 0

    def unpack(self, fmt):
        size = struct.calcsize(fmt)
        values = struct.unpack(fmt, self.data[self.offset:self.offset + size])
        self.offset += size
        return values


def _client_opt(request: DNSRecord):
    return next((rr for rr in request.ar if rr.rtype == QTYPE.OPT), None)


def _truncated(reply: DNSRecord) -> DNSRecord:
    """Header and question only, TC=1 (dnslib's ``truncate()`` drops the
    question too, which some clients refuse)."""
    short = DNSRecord(DNSHeader(id=reply.header.id, bitmap=reply.header.bitmap), q=reply.q)
    short.header.tc = 1
    short.header.rcode = reply.header.rcode
    short.add_ar(*[rr for rr in reply.ar if rr.rtype == QTYPE.OPT])
    return short


def _recv_exactly(sock, count: int) -> bytes | None:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            return None
        data += chunk
    return data


class _UDPServer(socketserver.ThreadingMixIn, socketserver.UDPServer):
    allow_reuse_address = False        # a port in use must fail the bind
    daemon_threads = True
    max_packet_size = 65535
    fastpath: FastPath | None = None   # set by DNSService when the resolver has one


class _TCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True         # only lets us rebind over TIME_WAIT
    daemon_threads = True
    request_queue_size = 64


class _Sender:
    """What the query log needs to know of a fast-path reply that could not be sent."""

    protocol = "udp"

    def __init__(self, client_address):
        self.client_address = client_address


def _server_class(base, address: str):
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return type(base.__name__, (base,), {"address_family": family})


class DNSService:
    """A resolver served over UDP and TCP on one address and port.

    Construction binds both sockets (raising :class:`BindError` naming the
    protocol and address); :meth:`start` serves in background threads;
    :meth:`stop` shuts both down and closes the sockets.  ``port=0`` picks a
    port free for both protocols (see :attr:`port`).
    """

    def __init__(self, resolver, address: str, port: int, logger, *, handler=RequestHandler):
        self.resolver = resolver
        self.address = address
        for _ in range(20 if port == 0 else 1):
            udp = self._bind(resolver, address, port, logger, handler, tcp=False)
            chosen = udp.server.server_address[1]
            try:
                tcp = self._bind(resolver, address, chosen, logger, handler, tcp=True)
            except BindError:
                udp.server.server_close()
                if port == 0:
                    continue                   # that UDP port's TCP twin is taken: try another
                raise
            break
        else:
            raise BindError(errno.EADDRINUSE, f"no port free for both UDP and TCP on {address}")
        self.udp, self.tcp, self.port = udp, tcp, chosen
        self.logger = logger
        self.fastpath = self._fastpath(resolver, logger, handler)
        udp.server.fastpath = self.fastpath
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    @staticmethod
    def _fastpath(resolver, logger, handler) -> FastPath | None:
        """The wire-data fast path, for a :class:`CachingResolver` (whose
        ``resolve`` is not overridden) served by :class:`RequestHandler`
        and logging to a :class:`QueryLog`; ``None`` for anything else."""
        if not (isinstance(resolver, CachingResolver)
                and type(resolver).resolve is CachingResolver.resolve
                and handler is RequestHandler and isinstance(logger, QueryLog)):
            return None
        opt = DNSRecord(DNSHeader(id=0), ar=[EDNS0(udp_len=OUR_EDNS_UDP)]).pack()[HEADER_LEN:]
        return FastPath(resolver.cache, logger, classic_limit=CLASSIC_UDP_LIMIT,
                        edns_limit=OUR_EDNS_UDP, opt_reply=opt)

    @staticmethod
    def _bind(resolver, address, port, logger, handler, *, tcp: bool) -> DNSServer:
        protocol = "tcp" if tcp else "udp"
        server_class = _server_class(_TCPServer if tcp else _UDPServer, address)
        try:
            return DNSServer(resolver, address=address, port=port, tcp=tcp, logger=logger,
                             handler=handler, server=server_class)
        except OSError as error:
            raise BindError(error.errno, f"cannot bind {protocol} {address}:{port}: "
                                         f"{error.strerror or error}") from None

    @property
    def endpoint_text(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"

    def start(self) -> "DNSService":
        self._stopping.clear()
        for target, name in ((self._serve_udp, "dns-udp"), (self._serve_tcp, "dns-tcp")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop serving and close both sockets (both protocols at once:
        each loop notices within a poll interval)."""
        if self._threads:
            self._stopping.set()
            stopper = threading.Thread(target=self.tcp.server.shutdown, daemon=True)
            stopper.start()
            for thread in [stopper] + self._threads:
                thread.join(timeout=5)
            self._threads.clear()
        for server in (self.udp, self.tcp):
            server.server.server_close()

    def _serve_tcp(self) -> None:
        self.tcp.server.serve_forever(poll_interval=POLL_INTERVAL)

    def _serve_udp(self) -> None:
        """Take the datagrams waiting (up to :data:`UDP_BURST`), answer what
        the fast path can, hand the rest to a handler thread each; write
        the fast answers' query lines, then send their replies."""
        server = self.udp.server
        sock = server.socket
        fastpath = self.fastpath
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN)
        timeout_ms = int(POLL_INTERVAL * 1000)
        size, dontwait = server.max_packet_size, socket.MSG_DONTWAIT
        while not self._stopping.is_set():
            if not poller.poll(timeout_ms):
                continue
            replies = []
            lines = [] if fastpath is not None and fastpath.log.writing else None
            for _ in range(UDP_BURST):
                try:
                    data, client = sock.recvfrom(size, dontwait)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    break                       # an error queued on the socket: poll again
                reply = None
                if fastpath is not None:
                    try:
                        reply = fastpath.answer(data, client, lines)
                    except Exception:           # the full path answers, and will tell
                        reply = None
                if reply is None:
                    self._dispatch(server, data, client)
                else:
                    replies.append((reply, client))
            if replies:
                try:
                    fastpath.log.log_answered(lines or [], len(replies))
                except Exception:               # as a handler's failure would: no replies
                    traceback.print_exc()
                    continue
                for reply, client in replies:
                    try:
                        sock.sendto(reply, client)
                    except OSError as error:
                        self.logger.log_error(_Sender(client), f"send failed: {error}")

    @staticmethod
    def _dispatch(server, data: bytes, client) -> None:
        """The full path: a thread and a :class:`RequestHandler`, as
        socketserver's own loop would start."""
        request = (data, server.socket)
        try:
            server.process_request(request, client)
        except Exception:
            server.handle_error(request, client)
            server.shutdown_request(request)

    def __enter__(self) -> "DNSService":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
