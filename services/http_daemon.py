"""The ``http`` kind: the web server of the emulated internet as a lab service.

The server itself is :mod:`services.web`; here the topology's declaration
(sites, port, mode) becomes its TOML config and a :class:`Launch`.  A host
may declare one server per mode (the emulated ``web`` runs a normal one on
port 80 and a textbook one beside it): the textbook instance's label and
files carry its mode, so the two never share a name, a config or a log.
"""

from __future__ import annotations

from .base import READY_LINE, STAGE_SERVERS, Launch, LogLine, python_module
from .kind import ServiceDaemon
from .web.config import MODES, render_config

HTTP = "http"
NORMAL = "normal"        # the default mode: a server as browsers meet it (else "textbook")


class HttpDaemon(ServiceDaemon):
    kind = HTTP
    summary = "HTTP server for the named sites"
    required = ("sites",)
    optional = ("port", "mode")
    choices = {"mode": MODES}
    defaults = {"port": 80, "mode": NORMAL}
    name = "web"
    stage = STAGE_SERVERS

    @property
    def mode(self) -> str:
        return self.params["mode"]

    @property
    def stem(self) -> str:
        """``web`` for the normal server, ``web-textbook`` for the other."""
        return self.name if self.mode == NORMAL else f"{self.name}-{self.mode}"

    @property
    def label(self) -> str:
        return f"{self.stem}@{self.ctx.host.name}"

    def launch(self) -> Launch:
        params = self.params
        prefix = "" if self.mode == NORMAL else f"{self.mode}-"
        conf = self.ctx.path(f"{self.stem}.toml")
        text = render_config({
            "listen": self.listen_address(), "port": int(params["port"]),
            "mode": self.mode, "log": self.ctx.path(f"{prefix}access.log"),
            "sites": [{"name": name} for name in params["sites"]], "document": {},
        })
        return self.make_launch(files={conf: text},
                                check=python_module("services.web", "check", conf),
                                argv=python_module("services.web", conf),
                                log=self.ctx.path(f"{self.stem}.log"), ready=LogLine(READY_LINE))
