"""The lease a DHCP client holds, as the orchestrator reads it.

The client's hook (``templates/dhcp-client-hook.sh.j2``) writes one small
JSON record per event, with the event already in one vocabulary for both
clients; this module is the only reader of that file.  Everything past it
sees a typed :class:`Lease`, never a dict of strings, so no caller learns
whether dhclient or udhcpc was running.
"""

from __future__ import annotations

import json
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
    client: str
    event: str
    iface: str
    address: IPv4Interface
    routers: tuple[IPv4Address, ...]
    dns: tuple[IPv4Address, ...]
    lease_time: int
    server: IPv4Address | None
    time: float

    @property
    def ip(self) -> IPv4Address:
        return self.address.ip

    @property
    def mask(self) -> str:
        return str(self.address.netmask)

    @property
    def router(self) -> IPv4Address | None:
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
