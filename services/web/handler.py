"""HTTP request handling shared by both modes: parse, route, answer, log.

Parsing and response formatting are Python's ``http.server`` in both modes,
so that a request the normal server rejects the textbook server rejects the
same way, with the same bytes.  The textbook mode (``textbook.py``) only
changes how those bytes are read from and written to the socket.
"""

from __future__ import annotations

import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler

from . import pages


class WebHandler(BaseHTTPRequestHandler):
    """The normal-mode handler: HTTP/1.1 with keep-alive.

    The server object it runs under provides ``sites`` (a
    ``pages.SiteTable``), ``access_log`` (an ``AccessLog``), ``mode`` (a
    string for the log) and ``idle_timeout`` (seconds).
    """

    protocol_version = "HTTP/1.1"
    # Textbook mode answers one request per connection and says so.
    closes_after_response = False
    server_version = "flowlab-web"
    error_message_format = pages.ERROR_PAGE
    error_content_type = pages.CONTENT_TYPE
    # What a request is taken to be before its version is parsed.  http.server
    # says HTTP/0.9, and then answers garbage with a bare body and no status
    # line; a 400 with a status line is what a client (and a check) expects.
    default_request_version = "HTTP/1.0"

    def setup(self) -> None:
        self.timeout = self.server.idle_timeout
        super().setup()

    def version_string(self) -> str:
        # The Server header without Python's version: the same in any venv.
        return self.server_version

    def do_GET(self) -> None:
        self._answer(with_body=True)

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    def _answer(self, with_body: bool) -> None:
        try:
            site = self.server.sites.for_request(self.headers.get_all("Host") or [],
                                                 self.request_version)
        except pages.BadHost as exc:
            self.send_error(HTTPStatus.BAD_REQUEST, str(exc))
            return
        self._site = site.name
        if urllib.parse.urlsplit(self.path).path not in pages.PAGE_PATHS:
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        page = site.page
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", pages.CONTENT_TYPE)
        self.send_header("Content-Length", str(len(page)))
        if self.closes_after_response:
            self.send_header("Connection", "close")
        self.end_headers()
        if with_body:
            self.wfile.write(page)

    def send_error(self, code, message=None, explain=None) -> None:
        # The standard reason phrase on the status line ("400 Bad Request"),
        # the detail ("Bad request syntax ('garbage')") in the page.
        super().send_error(code, None, message or explain)

    # -- one access-log line per request ------------------------------------

    def handle_one_request(self) -> None:
        self._status = None
        self._site = "-"
        self._length = "-"
        super().handle_one_request()
        if self._status is not None:
            self.server.access_log.request(self)

    def send_header(self, keyword: str, value: str) -> None:
        if keyword.lower() == "content-length":
            self._length = value
        super().send_header(keyword, value)

    def log_request(self, code="-", size="-") -> None:
        # Called by send_response for every answer, errors included: note the
        # status; the line is written once the request is done.
        self._status = int(code)

    def log_message(self, format, *args) -> None:
        # http.server's own stderr messages (errors, timeouts): not wanted;
        # the access log has the one line per request.
        pass
