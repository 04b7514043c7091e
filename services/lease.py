"""Leases as the orchestrator reads them: a client's, and a server's.

The client's hook (``templates/dhcp-client-hook.sh.j2``) writes one small
JSON record per event, with the event already in one vocabulary for both
clients; this module is the only reader of that file.  Everything past it
sees a typed :class:`Lease`, never a dict of strings, so no caller learns
whether dhclient or udhcpc was running.

Its addresses are text, as written and as the packet library gives them (``ack.dhcp.yiaddr``,
``ack.dhcp.router``): a user's ``lease.router == "10.1.1.1"`` holds, and so does
``lease.ip == ack.dhcp.yiaddr``, where an ``IPv4Address`` would compare unequal to both.
Each is checked and written in its one canonical form where the record is made; code that
computes with an address asks for ``lease.ip_interface`` or wraps one in ``ip_address``.

A server's lease database (dnsmasq's leases file, ISC dhcpd's
dhcpd.leases) is read here too, into :class:`ServerLease` records: what
the server itself says it has handed out, the evidence that a pool is full.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

CLIENTS = ("dhclient", "udhcpc")
# bound: a new lease after DISCOVER; reboot: the remembered lease confirmed
# (INIT-REBOOT); renew: extended by the server at T1; rebind: by any server
# at T2.  udhcpc says "renew" for both of the last two.
EVENTS = ("bound", "reboot", "renew", "rebind")


class LeaseError(ValueError):
    """A lease record that is not what the hook writes."""


@dataclass(frozen=True)
class Lease:
    """What a DHCP client holds; every address as text (``"10.1.1.2"``)."""

    client: str
    event: str
    iface: str
    address: str                 # with its prefix: "10.1.1.2/24"
    routers: tuple[str, ...]     # the default gateway first
    dns: tuple[str, ...]
    lease_time: int
    server: str | None
    time: float

    def __post_init__(self):
        """Addresses given typed (``IPv4Address``) or as text end up as canonical text."""
        def keep(name: str, value) -> None:
            object.__setattr__(self, name, value)
        keep("address", str(IPv4Interface(self.address)))
        keep("routers", tuple(str(IPv4Address(a)) for a in self.routers))
        keep("dns", tuple(str(IPv4Address(a)) for a in self.dns))
        keep("server", str(IPv4Address(self.server)) if self.server else None)

    @property
    def ip_interface(self) -> IPv4Interface:
        """The address with its prefix, typed: ``.ip``, ``.network``, ``.netmask``."""
        return IPv4Interface(self.address)

    @property
    def ip(self) -> str:
        return self.address.partition("/")[0]

    @property
    def mask(self) -> str:
        return str(self.ip_interface.netmask)

    @property
    def router(self) -> str | None:
        return self.routers[0] if self.routers else None

    @classmethod
    def parse(cls, text: str) -> "Lease":
        """The record of one hook run; LeaseError names what is wrong."""
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise LeaseError(f"lease record is not JSON: {exc}") from None
        if not isinstance(raw, dict):
            raise LeaseError(f"lease record is not an object: {text!r}")
        return cls(
            client=_one_of(raw, "client", CLIENTS),
            event=_one_of(raw, "event", EVENTS),
            iface=_text(raw, "interface"),
            address=_parsed(raw, "address", lambda v: IPv4Interface(f"{v}/{_text(raw, 'mask')}")),
            routers=_addresses(raw, "routers"),
            dns=_addresses(raw, "dns"),
            lease_time=_parsed(raw, "lease_time", lambda v: _non_negative(int(v))),
            server=_parsed(raw, "server", lambda v: IPv4Address(v) if v else None,
                           required=False),
            time=_parsed(raw, "time", float),
        )

    @classmethod
    def read(cls, path: str | Path) -> "Lease | None":
        """The lease recorded at ``path``, or None while there is none (the
        client is unbound).  A record that is there but wrong raises."""
        try:
            text = Path(path).read_text()
        except FileNotFoundError:
            return None
        try:
            return cls.parse(text)
        except LeaseError as exc:
            raise LeaseError(f"{path}: {exc}") from None


def _text(raw: dict, key: str) -> str:
    value = raw.get(key)
    if value is None:
        raise LeaseError(f"lease record has no '{key}'")
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise LeaseError(f"lease record's '{key}' is not a value: {value!r}")
    return str(value).strip()


def _one_of(raw: dict, key: str, allowed: tuple[str, ...]) -> str:
    value = _text(raw, key)
    if value not in allowed:
        raise LeaseError(f"lease record's '{key}' is {value!r}, not one of {', '.join(allowed)}")
    return value


def _parsed(raw: dict, key: str, parse, required: bool = True):
    if not required and key not in raw:
        return parse("")
    value = _text(raw, key)
    try:
        return parse(value)
    except ValueError as exc:
        raise LeaseError(f"lease record's '{key}' is {value!r}: {exc}") from None


def _addresses(raw: dict, key: str) -> tuple[IPv4Address, ...]:
    return _parsed(raw, key, lambda v: tuple(IPv4Address(a) for a in v.split()))


def _non_negative(value: int) -> int:
    if value < 0:
        raise ValueError("negative")
    return value


# -- a server's lease database ------------------------------------------------------------

@dataclass(frozen=True)
class ServerLease:
    """One address a DHCP server holds for a client, as its database says."""

    address: IPv4Address
    mac: str                 # lower case, colon separated
    hostname: str = ""


_DHCPD_BLOCK = re.compile(r"^lease (\S+) \{(.*?)^\}", re.MULTILINE | re.DOTALL)


def dnsmasq_leases(text: str) -> list[ServerLease]:
    """dnsmasq's leases file: one held lease a line, ``expiry mac address
    hostname client-id`` (``*`` for no hostname); a freed lease is removed."""
    held = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields or line.startswith("duid "):      # the DHCPv6 server's own line
            continue
        if len(fields) < 3:
            raise LeaseError(f"dnsmasq lease line {number} has {len(fields)} fields: {line!r}")
        try:
            address = IPv4Address(fields[2])
        except ValueError as exc:
            raise LeaseError(f"dnsmasq lease line {number}: {exc}") from None
        name = fields[3] if len(fields) > 3 and fields[3] != "*" else ""
        held.append(ServerLease(address, fields[1].lower(), name))
    return held


def dhcpd_leases(text: str) -> list[ServerLease]:
    """ISC dhcpd.leases: every change appended as a ``lease ADDRESS { ... }``
    block, the last block of an address wins; held are those whose last
    ``binding state`` is active (free, expired, released, abandoned are not)."""
    last: dict[IPv4Address, ServerLease | None] = {}
    for block in _DHCPD_BLOCK.finditer(text):
        try:
            address = IPv4Address(block.group(1))
        except ValueError as exc:
            raise LeaseError(f"dhcpd.leases: {exc}") from None
        body = block.group(2)
        state = re.search(r"^\s*binding state (\w+);", body, re.MULTILINE)
        mac = re.search(r"^\s*hardware ethernet ([0-9A-Fa-f:]+);", body, re.MULTILINE)
        name = re.search(r'^\s*client-hostname "([^"]*)";', body, re.MULTILINE)
        active = state is not None and state.group(1) == "active"
        last[address] = ServerLease(address, mac.group(1).lower() if mac else "",
                                    name.group(1) if name else "") if active else None
    return [lease for lease in last.values() if lease is not None]


SERVER_DATABASES = {"dnsmasq": dnsmasq_leases, "isc": dhcpd_leases}


def server_leases(backend: str, text: str) -> list[ServerLease]:
    """The leases a server of ``backend`` (``dnsmasq`` or ``isc``) holds,
    from the text of its lease database."""
    try:
        read = SERVER_DATABASES[backend]
    except KeyError:
        raise LeaseError(f"no reader for the lease database of {backend!r}; "
                         f"known: {', '.join(SERVER_DATABASES)}") from None
    return read(text)
