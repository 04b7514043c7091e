"""What the server answers: one small HTML page per site, and which site a
request is for.

Both modes (``normal`` and ``textbook``) route through here, so they serve
byte-identical pages and differ only in how the bytes meet the TCP stack;
that keeps web-11 and web-real comparable.

Virtual hosts (decided here, once):

* the ``Host`` header picks the site, case-insensitively, ignoring a port
  (``www.baidu.com:80``) and a trailing dot;
* a ``Host`` naming none of the sites gets the *first* site's page, as the
  default virtual host of nginx or Apache would (the emulated client may well
  visit the server by its address);
* an HTTP/1.0 request without ``Host`` gets the first site too; an HTTP/1.1
  request without ``Host``, or with more than one, is a 400, as RFC 9112
  section 3.2 requires.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

CONTENT_TYPE = "text/html; charset=utf-8"

# The paths that are the page; anything else is a 404.
PAGE_PATHS = frozenset({"/", "/index.html"})

DEFAULT_BODY = "This is the emulated www.baidu.com, served inside a flowlab network."

# A textbook response must fit one TCP segment on the emulated links: MTU 1500,
# MSS 1460, minus 12 bytes of TCP timestamp option.  The response head
# (status line, Server, Date, Content-Type, Content-Length, Connection) is
# about 160 bytes; HEAD_BUDGET leaves room to spare.
ONE_SEGMENT = 1448
HEAD_BUDGET = 256
TEXTBOOK_PAGE_LIMIT = ONE_SEGMENT - HEAD_BUDGET

# The body of error responses (404, 400, 501): short, so that they too fit in
# one segment; filled in (and escaped) by http.server with code, message (the
# reason phrase) and explain (the detail).
ERROR_PAGE = """\
<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>%(code)d %(message)s</title></head>
<body><h1>%(code)d %(message)s</h1>
<p>%(explain)s</p></body></html>
"""


@dataclass(frozen=True)
class Site:
    """One virtual host: its name (a lower-case host name) and its page."""

    name: str
    title: str
    body: str

    @property
    def page(self) -> bytes:
        """The site's HTML page, encoded; ``body`` is text, escaped here."""
        return (
            "<!DOCTYPE html>\n"
            f'<html><head><meta charset="utf-8"><title>{html.escape(self.title)}</title></head>\n'
            f"<body><h1>{html.escape(self.title)}</h1>\n"
            f"<p>{html.escape(self.body)}</p></body></html>\n"
        ).encode()


class BadHost(ValueError):
    """The request's Host header fields make it a 400 Bad Request."""


def host_name(value: str) -> str:
    """The host part of a Host header value, lower case, without port or
    trailing dot (``"WWW.Baidu.com.:80"`` -> ``"www.baidu.com"``)."""
    value = value.strip().lower()
    if value.startswith("["):  # IPv6 literal, maybe with a port
        return value[1:value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


class SiteTable:
    """The sites of one server, in configuration order; the first is the
    default virtual host."""

    def __init__(self, sites: tuple[Site, ...]):
        if not sites:
            raise ValueError("a web server needs at least one site")
        self.sites = sites
        self._by_name = {site.name: site for site in sites}

    @property
    def default(self) -> Site:
        return self.sites[0]

    def for_request(self, hosts: list[str], version: str) -> Site:
        """The site for a request with these Host header values and HTTP
        version string (``"HTTP/1.1"``); raises ``BadHost`` for a 400."""
        if len(hosts) > 1:
            raise BadHost("more than one Host header")
        if not hosts:
            if version == "HTTP/1.0" or version == "HTTP/0.9":
                return self.default
            raise BadHost("HTTP/1.1 request without a Host header")
        return self._by_name.get(host_name(hosts[0]), self.default)
