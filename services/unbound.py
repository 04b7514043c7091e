"""Debian's unbound as a reference resolver inside the emulated network.

Not a service topologies declare: tests start it beside the dnslib resolver,
with the same root hints, and compare their answers name by name.
"""

from __future__ import annotations

from .base import STAGE_RESOLVERS, Daemon, Launch, LogLine, render


class UnboundReference(Daemon):
    name = "unbound"
    binary = "unbound"
    stage = STAGE_RESOLVERS

    def __init__(self, ctx, listen: str, port: int, root_hints: list[tuple[str, str]]):
        super().__init__(ctx)
        self.listen, self.port, self.root_hints = listen, port, root_hints

    def launch(self) -> Launch:
        hints = self.ctx.path("root.hints")
        conf = self.ctx.path("unbound.conf")
        log = self.ctx.path("unbound.log")
        zone = "".join(f". 3600000 NS {name}\n{name} 3600000 A {address}\n"
                       for name, address in self.root_hints)
        return self.make_launch(
            files={hints: zone, conf: render("unbound.conf.j2", node=self.ctx.host.name,
                                             listen=self.listen, port=self.port,
                                             directory=str(self.ctx.directory), logfile=log,
                                             root_hints_file=hints)},
            check=["unbound-checkconf", conf], argv=["unbound", "-d", "-c", conf],
            log=log, ready=LogLine(r"start of service"))
