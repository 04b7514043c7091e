"""The textbook web visit: one request, exactly eleven TCP segments.

Both halves of the exchange live here, because each line below is a
segment of FLOWS.md (web-11) and they only make sense together (x, y:
initial sequence numbers; L, R: request and response lengths)::

     #  dir  flags     seq      ack      made by
     1  c>s  SYN       x                 client connect()
     2  s>c  SYN,ACK   y        x+1      server kernel
     3  c>s  ACK       x+1      y+1      client kernel, connect() returns
     4  c>s  PSH,ACK   x+1      y+1      client: the request in one send() after a pause
     5  s>c  ACK       y+1      x+1+L    server kernel, at once (quick-ACK mode)
     6  s>c  PSH,ACK   y+1      x+1+L    server: one send() after a pause
     7  c>s  ACK       x+1+L    y+1+R    client kernel, at once (quick-ACK mode)
     8  c>s  FIN,ACK   x+1+L    y+1+R    client shutdown(SHUT_WR) after a pause
     9  s>c  ACK       y+1+R    x+2+L    server: TCP_QUICKACK after recv() == b''
    10  s>c  FIN,ACK   y+1+R    x+2+L    server close()
    11  c>s  ACK       x+2+L    y+2+R    client kernel; the client is in TIME_WAIT

What was measured (Linux 6.18, loopback, 20 to 300 runs per variant, idle and
with both CPUs busy):

* Segments 5 and 7: the first data a socket receives puts it in quick-ACK
  mode, so the kernel ACKs the request and the response at once, in softirq,
  before the application even reads them; TCP_QUICKACK (re-armed after every
  recv, since sending data may put the socket in delayed-ACK "pingpong" mode)
  keeps it so.  The pauses (client ``request_pause``, server
  ``response_pause``, client ``close_pause``, 20 ms by default) are margins:
  without them loopback still gave 11 segments in 300 of 300 runs under load;
  they keep 3 apart from 4, 5 from 6 and 7 from 8 should one of them be late
  on an emulated link.  On this project's 2-core machine the client's ACK
  (3, sent in softirq on one CPU) was seen overtaken by its request (4, sent
  from the process on the other) on the far side of the routers, 4 fetches
  in 120 without the request pause: a veth queues a packet on the
  sending CPU's backlog, and two CPUs drain theirs independently.
* TCP_QUICKACK is re-armed after a recv of the request only while the head
  is incomplete: the first data already put the socket in quick-ACK mode and
  the kernel ACKed it at once (5); a setsockopt racing that ACK on the other
  CPU was seen to send it a second time.
* Segment 9 is the one that needs the server's help.  A FIN received in
  ESTABLISHED puts the socket in pingpong mode, so the ACK of the FIN is
  delayed (at least 40 ms) and, when the server closes at once, rides on the
  server's FIN: 10 segments, every time.  TCP_QUICKACK set *before* the recv
  that sees EOF does not help (the FIN re-enters pingpong); set *after* it,
  it sends the pending ACK as a pure ACK before setsockopt returns, so it is
  queued before the FIN that close() sends: 11 segments, 200 of 200.  Waiting
  past the delayed-ACK timer (50 ms or more) also gives 11, but costs time
  and relies on the timer's value; the server uses TCP_QUICKACK.
* The client reads the response with one large recv() once poll() says it
  is there, so no read of it leaves a window update behind.
"""

from __future__ import annotations

import io
import socket
import time
from dataclasses import dataclass

from .handler import WebHandler
from .sockopts import quickack, set_nodelay, wait_readable

MAX_HEAD = 65536
RECV_SIZE = 65536


# -- the server half --------------------------------------------------------

class TextbookHandler(WebHandler):
    """One request per connection, answered with the textbook's segments.

    The request is parsed and answered by ``WebHandler`` exactly as in normal
    mode, but against in-memory files: the head is read from the socket here
    (re-arming TCP_QUICKACK after each recv), and the answer is collected and
    written with a single send().  The server object provides ``timing`` (a
    ``config.TextbookTiming``) besides what ``WebHandler`` needs.
    """

    closes_after_response = True

    def setup(self) -> None:
        self.connection = self.request
        set_nodelay(self.connection)
        quickack(self.connection)
        self.rfile = io.BytesIO()
        self.wfile = io.BytesIO()

    def handle(self) -> None:
        try:
            self._exchange(self.connection)
        except ConnectionError:
            pass  # the client reset: nothing left to choreograph

    def _exchange(self, sock: socket.socket) -> None:
        head = _read_head(sock, time.monotonic() + self.server.idle_timeout)   # 4 (5 by kernel)
        if not head:
            return  # silent client, or a connection closed without a request
        self.rfile = io.BytesIO(head)
        self.handle_one_request()
        response = self.wfile.getvalue()
        if response:
            time.sleep(self.server.timing.response_pause)
            _send_once(sock, response)                                         # 6
        if _wait_eof(sock, time.monotonic() + self.server.idle_timeout):       # 7, 8
            quickack(sock)                                                     # 9
        # socketserver then shuts the socket down and closes it: 10.

    def finish(self) -> None:
        pass  # nothing buffered: the answer went out in handle()


def _read_head(sock: socket.socket, deadline: float) -> bytes:
    """The request head (up to the blank line, or what came before EOF or the
    deadline), re-arming TCP_QUICKACK after every recv that leaves it
    incomplete."""
    head = b""
    while b"\r\n\r\n" not in head and len(head) < MAX_HEAD:
        if not wait_readable(sock, deadline):
            return b""
        data = sock.recv(RECV_SIZE)
        if not data:
            break
        head += data
        if b"\r\n\r\n" not in head:
            quickack(sock)                 # more of the request to come: ACK it at once too
    return head


def _send_once(sock: socket.socket, data: bytes) -> None:
    """Write ``data`` with one send(); a small answer into an empty send
    buffer is always taken whole, but finish the job rather than truncate if
    it is not."""
    sent = sock.send(data)
    if sent < len(data):
        sock.sendall(data[sent:])


def _wait_eof(sock: socket.socket, deadline: float) -> bool:
    """Read until the peer's FIN (recv() == b''), discarding any data, and
    return whether it came before ``deadline``.  The FIN itself is left
    unacknowledged here: the server acknowledges it at once (segment 9), the
    client's kernel does so by itself (segment 11)."""
    while wait_readable(sock, deadline):
        if not sock.recv(RECV_SIZE):
            return True
        quickack(sock)
    return False


# -- the client half --------------------------------------------------------

@dataclass(frozen=True)
class ClientTiming:
    """The client's pauses between its handshake ACK and its request (keeps
    segment 3 apart from 4) and between receiving the response and sending
    its FIN (7 apart from 8), and its deadline for every wait."""

    request_pause: float = 0.020
    close_pause: float = 0.020
    timeout: float = 5.0


@dataclass(frozen=True)
class FetchResult:
    """The outcome of a textbook fetch.

    ``request_length`` and ``response_length`` are L and R of the segment
    table; ``local`` is the client's (address, port), to find the connection
    in a capture; ``server_fin`` says whether the server's FIN came (then the
    client socket is in TIME_WAIT).
    """

    status: int
    reason: str
    headers: dict[str, str]
    body: bytes
    request_length: int
    response_length: int
    local: tuple[str, int]
    remote: tuple[str, int]
    server_fin: bool


class FetchError(OSError):
    """The textbook fetch got no complete response."""


def build_request(host_name: str, path: str = "/", port: int = 80) -> bytes:
    """The textbook request: a GET that asks the server to close."""
    host = host_name if port == 80 else f"{host_name}:{port}"
    return (f"GET {path} HTTP/1.1\r\n"
            f"Host: {host}\r\n"
            "User-Agent: flowlab-textbook\r\n"
            "Accept: */*\r\n"
            "Connection: close\r\n"
            "\r\n").encode("ascii")


def fetch(host_ip: str, host_name: str, path: str = "/", port: int = 80,
          timing: ClientTiming = ClientTiming()) -> FetchResult:
    """Fetch ``http://host_name:port/path`` from ``host_ip`` as the client of
    the segment table above; raises ``FetchError`` without a full response.
    """
    request = build_request(host_name, path, port)
    family = socket.AF_INET6 if ":" in host_ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timing.timeout)
        set_nodelay(sock)
        sock.connect((host_ip, port))                                          # 1, 2, 3
        local, remote = sock.getsockname()[:2], sock.getpeername()[:2]
        time.sleep(timing.request_pause)
        _send_once(sock, request)                                              # 4
        quickack(sock)
        raw = _read_response(sock, time.monotonic() + timing.timeout)          # 5, 6 (7 by kernel)
        time.sleep(timing.close_pause)
        sock.shutdown(socket.SHUT_WR)                                          # 8
        try:
            server_fin = _wait_eof(sock, time.monotonic() + timing.timeout)    # 9, 10 (11 by kernel)
        except ConnectionError:
            server_fin = False  # reset instead of closed: no TIME_WAIT
    status, reason, headers, body = parse_response(raw)
    return FetchResult(status, reason, headers, body, len(request), len(raw),
                       tuple(local), tuple(remote), server_fin)


def _read_response(sock: socket.socket, deadline: float) -> bytes:
    """Read one response with Content-Length: wait until data is there, then
    take it with one large recv (the textbook response is one segment)."""
    raw = b""
    while True:
        if not wait_readable(sock, deadline):
            raise FetchError(f"no complete response within the deadline ({len(raw)} bytes)")
        data = sock.recv(RECV_SIZE)
        quickack(sock)
        if not data:
            raise FetchError(f"the server closed after {len(raw)} bytes, before a full response")
        raw += data
        if _complete(raw):
            return raw


def _complete(raw: bytes) -> bool:
    _, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        return False
    _, _, headers, _ = parse_response(raw)
    try:
        return len(body) >= int(headers.get("content-length", "0"))
    except ValueError:
        raise FetchError(f"bad Content-Length {headers['content-length']!r}") from None


def parse_response(raw: bytes) -> tuple[int, str, dict[str, str], bytes]:
    """Status, reason, headers (lower-case names) and body of a response."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("iso-8859-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise FetchError(f"not an HTTP response: {lines[0]!r}")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), parts[2] if len(parts) > 2 else "", headers, body
