"""Where a DNS server listens or is reached: an address and a port.

Upstreams and root hints are written ``"198.41.0.4"`` (port 53) or
``"127.0.0.21:5353"`` (IPv6: ``"[::1]:5353"``) so that the same daemons run
on port 53 inside the emulated network and on unprivileged loopback ports in
the unit tests.  Parsing lives here, once, so that the config loader, the
recursion and the log all agree on what an address with a port looks like.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

DNS_PORT = 53


@dataclass(frozen=True, order=True)
class Endpoint:
    """An IP address (as text, validated) and a UDP/TCP port."""

    host: str
    port: int = DNS_PORT

    def __str__(self) -> str:
        if ":" in self.host:
            return f"[{self.host}]:{self.port}"
        return f"{self.host}:{self.port}"


def check_port(port: object, field: str, *, allow_zero: bool = False) -> int:
    """Return ``port`` if it is an integer port number, else raise a
    ``ValueError`` naming ``field``."""
    if isinstance(port, bool) or not isinstance(port, int):
        raise ValueError(f"{field}: port must be an integer, not {port!r}")
    low = 0 if allow_zero else 1
    if not low <= port <= 65535:
        raise ValueError(f"{field}: port {port} is out of range {low}-65535")
    return port


def check_address(text: object, field: str) -> str:
    """Return the canonical text of an IPv4/IPv6 address, or raise a
    ``ValueError`` naming ``field``."""
    if not isinstance(text, str):
        raise ValueError(f"{field}: address must be a string, not {text!r}")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise ValueError(f"{field}: {text!r} is not an IP address") from None


def parse_endpoint(text: object, field: str, default_port: int = DNS_PORT) -> Endpoint:
    """Parse ``"addr"``, ``"addr:port"``, ``"[v6]"`` or ``"[v6]:port"``.

    A bare IPv6 address (several colons, no brackets) takes the default port.
    Errors are ``ValueError`` naming ``field``.
    """
    if not isinstance(text, str) or not text:
        raise ValueError(f"{field}: expected an address such as '192.0.2.1' or "
                         f"'127.0.0.1:5353', not {text!r}")
    host, port = text, default_port
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise ValueError(f"{field}: {text!r}: missing ']'")
        host, rest = text[1:close], text[close + 1:]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"{field}: {text!r}: expected ':port' after ']'")
            port = _port_text(rest[1:], text, field)
    elif text.count(":") == 1:
        host, port_text = text.split(":")
        port = _port_text(port_text, text, field)
    return Endpoint(check_address(host, field), check_port(port, field))


def has_port(text: str) -> bool:
    """Whether an address text carries its own port (``a.b.c.d:p``, ``[v6]:p``)."""
    if text.startswith("["):
        return "]:" in text
    return text.count(":") == 1


def _port_text(port_text: str, text: str, field: str) -> int:
    if not port_text.isdigit():
        raise ValueError(f"{field}: {text!r}: port {port_text!r} is not a number")
    return int(port_text)
