"""The few TCP socket controls the textbook exchange is made of.

Both halves of the textbook exchange (server and client in ``textbook.py``)
need the same three things from the Linux stack, so they live here once:

* ``TCP_NODELAY`` so that a small write leaves at once as one segment;
* ``TCP_QUICKACK`` so that the next ACK is sent immediately, as a pure ACK,
  instead of waiting on the delayed-ACK timer and riding on our next data or
  FIN.  Linux does not keep the option set: it leaves quick-ACK mode again by
  itself (after sending data, and on receiving a FIN, which puts the socket in
  delayed-ACK "pingpong" mode), so callers re-arm it after every ``recv``;
* waiting until data is readable *before* reading it, so that one large
  ``recv`` takes a whole segment at once.
"""

from __future__ import annotations

import select
import socket
import time

# Linux value; Python exposes socket.TCP_QUICKACK only on Linux builds.
TCP_QUICKACK = getattr(socket, "TCP_QUICKACK", 12)


def set_nodelay(sock: socket.socket) -> None:
    """Disable Nagle: every send() goes out at once."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def quickack(sock: socket.socket) -> None:
    """Leave delayed-ACK mode, and send a pending ACK now.

    When an ACK is already scheduled (data or a FIN received and not yet
    acknowledged), setting the option sends it as a pure ACK before this call
    returns; otherwise the next segment received is acknowledged at once.
    """
    sock.setsockopt(socket.IPPROTO_TCP, TCP_QUICKACK, 1)


def wait_readable(sock: socket.socket, deadline: float) -> bool:
    """Block until ``sock`` has data or EOF to read, or until ``deadline``
    (a ``time.monotonic()`` value); return whether it became readable."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        if poller.poll(remaining * 1000):
            return True
