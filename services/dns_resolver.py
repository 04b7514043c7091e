"""The ``dns-resolver`` kind: our dnslib resolver, recursive (from root
hints) or forwarding, as the node declares.

The kind is named as the daemon's own config names its service
(:data:`services.dns.config.RESOLVER`): one spelling for both.
"""

from __future__ import annotations

from .base import STAGE_ENTERPRISE, STAGE_RESOLVERS
from .dns.config import MODES, RESOLVER, render_resolver_config
from .dns_daemon import DnsDaemon

DNS_RESOLVER = RESOLVER


class DnsResolver(DnsDaemon):
    kind = DNS_RESOLVER
    summary = "recursive DNS resolver written with dnslib"
    required = ("mode",)
    optional = ("forwarders", "root_hints", "listen")
    choices = {"mode": tuple(sorted(MODES))}
    name = DNS_RESOLVER
    role = "resolver"

    @property
    def stage(self) -> int:
        # A forwarder starts after the recursive resolvers it forwards to.
        return STAGE_ENTERPRISE if self.params["mode"] == "forward" else STAGE_RESOLVERS

    def config(self, query_log: str) -> str:
        params = self.params
        data = {"listen": self.listen_address(), "mode": params["mode"], "query_log": query_log}
        if params.get("forwarders"):
            data["forwarders"] = [str(f) for f in params["forwarders"]]
        if params.get("root_hints"):
            data["root_hints"] = params["root_hints"]
        return render_resolver_config(**data)
