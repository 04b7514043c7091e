"""The kinds of service a topology may declare, and their parameters.

Topologies declare services by kind (``service("dhcp-relay", ...)``); this
catalogue is what validation checks those declarations against, before any
daemon exists, so that a typo in a kind or a parameter is refused with the
node and field named rather than discovered when the daemon will not start.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceKind:
    name: str
    summary: str
    required: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()
    choices: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def params(self) -> frozenset[str]:
        return self.required | self.optional


def _kind(name, summary, required=(), optional=(), choices=()):
    return ServiceKind(name, summary, frozenset(required), frozenset(optional), tuple(choices))


CATALOG: dict[str, ServiceKind] = {k.name: k for k in (
    _kind("dhcp-server", "DHCP server (dnsmasq or ISC dhcpd) for the given subnets",
          required=("subnets",), optional=("backend", "interface"),
          choices=(("backend", ("dnsmasq", "isc")),)),
    _kind("dhcp-relay", "ISC dhcrelay: relays client broadcasts to a DHCP server",
          required=("server", "downstream", "upstream")),
    _kind("dns-resolver", "recursive DNS resolver written with dnslib",
          required=("mode",), optional=("forwarders", "root_hints", "listen"),
          choices=(("mode", ("forward", "recursive")),)),
    _kind("dns-authoritative", "authoritative DNS server for zones of the emulated internet",
          required=("zones",), optional=("listen",)),
    _kind("dns-cache", "local caching stub resolver on a PC (dnsmasq)",
          optional=("upstream",)),
    _kind("http", "HTTP server for the named sites",
          required=("sites",), optional=("port", "mode"),
          choices=(("mode", ("normal", "textbook")),)),
    _kind("rarp-server", "Debian rarpd: answers RARP requests from a static table of the "
          "clients' MACs and addresses", optional=("interface", "clients")),
)}


def known_kinds() -> list[str]:
    return sorted(CATALOG)
