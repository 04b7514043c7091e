"""The dnslib DNS daemons as lab services: srv's forwarder, pubdns's
recursive resolver, and the root, ``com.`` and ``baidu.com.`` servers.

The daemons themselves live in :mod:`services.dns`; here the topology's
declarations become their TOML configs (rendered and validated by
:mod:`services.dns.config`) and a :class:`Launch`.
"""

from __future__ import annotations

from .base import (STAGE_ENTERPRISE, STAGE_RESOLVERS, STAGE_SERVERS, Daemon, Launch, LogLine,
                   python_module)
from .dns.config import render_authoritative_config, render_resolver_config

READY = r"(?m)^ready "


def listen_address(daemon: Daemon) -> str:
    """The declared ``listen`` address, else the node's first address."""
    given = daemon.ctx.params.get("listen")
    if given:
        return str(given)
    for iface in daemon.ctx.topo.interfaces(daemon.ctx.host.name):
        if iface.address is not None:
            return str(iface.address.ip)
    raise ValueError(f"{daemon.ctx.host.name}: a DNS server needs a static address")


class DnsDaemon(Daemon):
    kind = ""

    def config(self, query_log: str) -> str:
        raise NotImplementedError

    def launch(self) -> Launch:
        conf = self.ctx.path(f"{self.kind}.toml")
        return self.make_launch(
            files={conf: self.config(self.ctx.path(f"{self.kind}-queries.log"))},
            check=python_module("services.dns", "check", conf),
            argv=python_module("services.dns", self.role, conf),
            log=self.ctx.path(f"{self.kind}.log"), ready=LogLine(READY))


class DnsResolver(DnsDaemon):
    """Recursive (from root hints) or forwarding, as the node declares."""

    name = "dns-resolver"
    kind = "dns-resolver"
    role = "resolver"

    @property
    def stage(self) -> int:
        # A forwarder starts after the recursive resolvers it forwards to.
        return STAGE_ENTERPRISE if self.ctx.params["mode"] == "forward" else STAGE_RESOLVERS

    def config(self, query_log: str) -> str:
        params = self.ctx.params
        data = {"listen": listen_address(self), "mode": params["mode"], "query_log": query_log}
        if params.get("forwarders"):
            data["forwarders"] = [str(f) for f in params["forwarders"]]
        if params.get("root_hints"):
            data["root_hints"] = params["root_hints"]
        return render_resolver_config(**data)


class DnsAuthoritative(DnsDaemon):
    name = "dns-authoritative"
    kind = "dns-authoritative"
    role = "authoritative"
    stage = STAGE_SERVERS

    def config(self, query_log: str) -> str:
        return render_authoritative_config(listen=listen_address(self),
                                           zones=self.ctx.params["zones"], query_log=query_log)
