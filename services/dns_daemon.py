"""What the two dnslib DNS kinds share as lab services: a TOML config
rendered from the declaration, its dry run, and the ``ready`` line.

The daemons themselves live in :mod:`services.dns`; the kinds are
:mod:`services.dns_resolver` and :mod:`services.dns_authoritative`.
"""

from __future__ import annotations

from .base import READY_LINE, Launch, LogLine, python_module
from .kind import ServiceDaemon


class DnsDaemon(ServiceDaemon):
    """Base class: subclasses set ``role`` (the ``services.dns`` command)
    and render their config in :meth:`config`."""

    role = ""

    def config(self, query_log: str) -> str:
        raise NotImplementedError

    def launch(self) -> Launch:
        conf = self.ctx.path(f"{self.kind}.toml")
        return self.make_launch(
            files={conf: self.config(self.ctx.path(f"{self.kind}-queries.log"))},
            check=python_module("services.dns", "check", conf),
            argv=python_module("services.dns", self.role, conf),
            log=self.ctx.path(f"{self.kind}.log"), ready=LogLine(READY_LINE))
