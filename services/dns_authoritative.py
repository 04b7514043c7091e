"""The ``dns-authoritative`` kind: our dnslib server for the zones of the
emulated internet (the root, ``com.``, ``baidu.com.``).

The kind is named as the daemon's own config names its service
(:data:`services.dns.config.AUTHORITATIVE`): one spelling for both.
"""

from __future__ import annotations

from .base import STAGE_SERVERS
from .dns.config import AUTHORITATIVE, render_authoritative_config
from .dns_daemon import DnsDaemon

DNS_AUTHORITATIVE = AUTHORITATIVE


class DnsAuthoritative(DnsDaemon):
    kind = DNS_AUTHORITATIVE
    summary = "authoritative DNS server for zones of the emulated internet"
    required = ("zones",)
    optional = ("listen",)
    name = DNS_AUTHORITATIVE
    role = "authoritative"
    stage = STAGE_SERVERS

    def config(self, query_log: str) -> str:
        return render_authoritative_config(listen=self.listen_address(),
                                           zones=self.params["zones"], query_log=query_log)
