"""The web server of the emulated internet as a lab service (``http``).

The server itself is :mod:`services.web`; here the topology's declaration
(sites, port, mode) becomes its TOML config and a :class:`Launch`.
"""

from __future__ import annotations

from .base import STAGE_SERVERS, Daemon, Launch, LogLine, python_module
from .dns_daemons import READY, listen_address
from .web.config import render_config


class WebServer(Daemon):
    name = "web"
    stage = STAGE_SERVERS

    def launch(self) -> Launch:
        params = self.ctx.params
        conf = self.ctx.path("web.toml")
        text = render_config({
            "listen": listen_address(self), "port": int(params.get("port", 80)),
            "mode": params.get("mode", "normal"), "log": self.ctx.path("access.log"),
            "sites": [{"name": name} for name in params["sites"]], "document": {},
        })
        return Launch(name=self.label, node=self.ctx.host.name, stage=self.stage,
                      files={conf: text}, check=python_module("services.web", "check", conf),
                      argv=python_module("services.web", conf),
                      log=self.ctx.path("web.log"), ready=LogLine(READY))
