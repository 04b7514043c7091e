"""The HTTP server of the emulated host ``web`` (61.135.169.125), serving
``www.baidu.com``, and the client of the textbook web visit.

Two modes, chosen in the config:

* ``normal`` -- an ordinary HTTP/1.1 server with keep-alive; the segments on
  the wire are whatever the Linux stack makes of it (FLOWS.md, web-real);
* ``textbook`` -- one request per connection, choreographed so that a request
  from ``textbook.fetch`` gives exactly the eleven TCP segments of the texts
  (FLOWS.md, web-11), every time.

Modules: ``config`` (TOML config, checks, rendering of
``services/templates/web.toml.j2``), ``pages`` (the page, virtual hosts),
``handler`` (HTTP parsing and answers shared by both modes), ``textbook``
(both halves of the eleven-segment exchange), ``sockopts`` (the TCP options
that exchange is made of), ``accesslog``, ``server`` (binding and lifecycle)
and ``__main__`` (the command line).
"""

from .config import (
    ConfigError,
    WebConfig,
    check_paths,
    load_config,
    parse_config,
    render_config,
)
from .server import WebServer, make_server, serve
from .textbook import ClientTiming, FetchError, FetchResult, fetch

__all__ = [
    "ClientTiming", "ConfigError", "FetchError", "FetchResult", "WebConfig", "WebServer",
    "check_paths", "fetch", "load_config", "make_server", "parse_config", "render_config",
    "serve",
]
