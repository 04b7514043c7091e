"""The listening server of either mode, and its lifecycle.

``make_server`` binds the socket (so a caller can announce readiness only
once it is bound); ``serve`` runs it until a stop event is set.  Signals are
the CLI's business (``__main__``): the library only takes an event, so it can
also run in a thread of a test.
"""

from __future__ import annotations

import socket
import socketserver
import sys
import threading
from http.server import ThreadingHTTPServer
from typing import TextIO

from .accesslog import AccessLog
from .config import WebConfig
from .handler import WebHandler
from .pages import SiteTable
from .textbook import TextbookHandler

HANDLERS = {"normal": WebHandler, "textbook": TextbookHandler}
STOP_POLL = 0.1  # seconds


class WebServer(ThreadingHTTPServer):
    """A threading HTTP server carrying what the handlers read: ``sites``,
    ``access_log``, ``mode``, ``idle_timeout`` and ``timing``.

    One thread per connection, daemonic, so that stopping never waits on a
    keep-alive client that stays idle.
    """

    daemon_threads = True
    block_on_close = False
    request_queue_size = 64

    def __init__(self, config: WebConfig, access_log: AccessLog):
        self.sites = SiteTable(config.sites)
        self.access_log = access_log
        self.mode = config.mode
        self.idle_timeout = config.idle_timeout
        self.timing = config.textbook
        self.address_family = socket.AF_INET6 if ":" in config.listen else socket.AF_INET
        super().__init__((config.listen, config.port), HANDLERS[config.mode])

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's FQDN, a DNS query that
        # can hang inside an emulated host whose resolver is not up yet.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address) -> None:
        # A client vanishing mid-request is routine here; anything else is
        # still reported (on stderr, by socketserver).
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    @property
    def endpoint(self) -> str:
        """``address:port`` as bound (``[v6]:port`` for IPv6)."""
        host, port = self.server_address[:2]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def make_server(config: WebConfig, access_log: AccessLog) -> WebServer:
    """Bind and listen; raises ``OSError`` if the address cannot be bound."""
    return WebServer(config, access_log)


def serve(config: WebConfig, stop: threading.Event, out: TextIO) -> None:
    """Run the server until ``stop`` is set.

    Writes exactly one line, ``ready <address>:<port>``, to ``out`` (flushed)
    once the listening socket is bound; the port is the bound one, so a config
    with port 0 gets a free port and says which.
    """
    with AccessLog(config.log) as access_log:
        server = make_server(config, access_log)
        try:
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                      name="web-accept", daemon=True)
            thread.start()
            print(f"ready {server.endpoint}", file=out, flush=True)
            # Wait in slices: a signal the kernel delivers to a handler thread
            # does not wake a main thread blocked in wait(), and Python runs
            # signal handlers (which set ``stop``) only in the main thread.
            while not stop.wait(STOP_POLL):
                pass
            server.shutdown()
            thread.join()
        finally:
            server.server_close()
