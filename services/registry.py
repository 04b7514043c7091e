"""The kinds of service a topology may declare: one line per kind.

Topologies declare services by kind (``service("dhcp-relay", ...)``).  Each
kind is a :class:`~services.kind.ServiceDaemon` subclass in a module of its
own, holding its parameters, defaults, rules and launch; this registry is
the one list of them, which validation checks declarations against before
any daemon exists and the plan turns declarations into daemons with.  A new
kind is a new module (class and template) and one line here.
"""

from __future__ import annotations

from .dhcp_relay import Dhcrelay
from .dhcp_server import DhcpServer
from .dns_authoritative import DnsAuthoritative
from .dns_cache import DnsmasqCache
from .dns_resolver import DnsResolver
from .http_daemon import HttpDaemon
from .kind import ServiceDaemon
from .rarp_server import RarpServer

KINDS: dict[str, type[ServiceDaemon]] = {cls.kind: cls for cls in (
    DhcpServer,
    Dhcrelay,
    DnsResolver,
    DnsAuthoritative,
    DnsmasqCache,
    HttpDaemon,
    RarpServer,
)}


def known_kinds() -> list[str]:
    return sorted(KINDS)
