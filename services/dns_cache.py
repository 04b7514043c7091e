"""The ``dns-cache`` kind: a PC's local DNS cache, dnsmasq on 127.0.0.1,
upstream = what DHCP gave.

The texts' resolution order on a PC is hosts file, then a local cache, then
the DNS server learned from DHCP.  glibc reads the node's own /etc/hosts
first; /etc/resolv.conf points at this cache; the DHCP client's hook writes
the servers of the lease into the cache's resolv-file, which dnsmasq
re-reads when it changes.
"""

from __future__ import annotations

from .base import STAGE_CACHES, Launch, LogLine, render
from .kind import ServiceDaemon

DNS_CACHE = "dns-cache"


class DnsmasqCache(ServiceDaemon):
    kind = DNS_CACHE
    summary = "local caching stub resolver on a PC (dnsmasq)"
    optional = ("upstream",)
    name = "dnsmasq-cache"
    binary = "dnsmasq"
    stage = STAGE_CACHES

    @property
    def lease_dns_file(self) -> str:
        """The cache's resolv-file: its upstream servers."""
        return self.ctx.path("upstream-resolv.conf")

    def launch(self) -> Launch:
        conf, log = self.ctx.path("dnsmasq-cache.conf"), self.ctx.path("dnsmasq-cache.log")
        upstream = self.params.get("upstream")
        initial = f"nameserver {upstream}\n" if upstream else ""
        return self.make_launch(
            files={conf: render("dnsmasq-cache.conf.j2", node=self.ctx.host.name,
                                upstream_file=self.lease_dns_file, cache_size=150,
                                pidfile=self.ctx.path("dnsmasq-cache.pid"), logfile=log),
                   self.lease_dns_file: initial},
            check=["dnsmasq", "--test", "-C", conf],
            argv=["dnsmasq", "--keep-in-foreground", "-C", conf],
            log=log, ready=LogLine(r"started, version"))
