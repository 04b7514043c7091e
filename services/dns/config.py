"""The daemons' configuration: TOML files, rendered from jinja2 templates and
validated before anything starts.

The orchestrator renders a config with :func:`render_resolver_config` or
:func:`render_authoritative_config` from plain data (the service parameters
of the topology model), the daemon reads it with :func:`load_config`, and
``python -m services.dns check FILE`` is the dry run in between.  Every error
is a ``ValueError`` naming the field (``resolver.forwarders[1]: ...``); only
the CLI turns errors into messages and exit codes.

Addresses of forwarders and root hints are ``"addr"`` or ``"addr:port"``
(root hints may also give ``port`` separately); the default port is 53.
``server.port = 0`` asks for any free port (the ``ready`` line tells which).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import jinja2

from ..base import render
from .endpoint import DNS_PORT, Endpoint, check_address, check_port, has_port, parse_endpoint
from .recursion import Limits
from .zone import Zone

RESOLVER = "dns-resolver"
AUTHORITATIVE = "dns-authoritative"
MODES = ("recursive", "forward")


# -- the validated configuration ---------------------------------------------------
@dataclass(frozen=True)
class ServerConfig:
    listen: str
    port: int = DNS_PORT
    query_log: Path | None = None


@dataclass(frozen=True)
class RootHint:
    name: str
    endpoint: Endpoint


@dataclass(frozen=True)
class ResolverConfig:
    server: ServerConfig
    mode: str
    forwarders: tuple[Endpoint, ...] = ()
    root_hints: tuple[RootHint, ...] = ()
    nameserver_port: int = DNS_PORT
    timeout: float = 2.0
    attempts: int = 2
    cache_size: int = 10000
    limits: Limits = Limits()
    service: str = RESOLVER


@dataclass(frozen=True)
class ZoneConfig:
    origin: str
    records: tuple[str, ...]
    zone: Zone = field(compare=False, repr=False)


@dataclass(frozen=True)
class AuthoritativeConfig:
    server: ServerConfig
    zones: tuple[ZoneConfig, ...]
    service: str = AUTHORITATIVE


Config = ResolverConfig | AuthoritativeConfig


# -- reading -----------------------------------------------------------------
def load_config(path) -> Config:
    """Read and validate a resolver or authoritative config file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ValueError(f"{path}: cannot read: {error.strerror or error}") from None
    return parse_config(text, str(path))


def parse_config(text: str, source: str = "<config>") -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{source}: not valid TOML: {error}") from None
    try:
        kind = data.get("service")
        if kind == RESOLVER:
            return _resolver(data)
        if kind == AUTHORITATIVE:
            return _authoritative(data)
        raise ValueError(f"service: expected {RESOLVER!r} or {AUTHORITATIVE!r}, not {kind!r}")
    except ValueError as error:
        raise ValueError(f"{source}: {error}") from None


class _Table:
    """A TOML table being validated: knows its path, refuses unknown keys."""

    def __init__(self, data: Any, path: str, required: bool = True):
        if data is None and not required:
            data = {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a table")
        self.data, self.path, self.used = data, path, set()

    def name(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str, default: Any = ..., kind: type | tuple = object) -> Any:
        self.used.add(key)
        if key not in self.data:
            if default is ...:
                raise ValueError(f"{self.name(key)}: missing")
            return default
        value = self.data[key]
        numeric = kind in (int, float, (int, float))
        if not isinstance(value, kind) or (isinstance(value, bool) and numeric):
            kinds = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
            raise ValueError(f"{self.name(key)}: expected {kinds}, not {value!r}")
        return value

    def integer(self, key: str, default: int, minimum: int) -> int:
        value = self.get(key, default, int)
        if value < minimum:
            raise ValueError(f"{self.name(key)}: must be at least {minimum}, not {value}")
        return value

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise ValueError(f"{self.name(unknown[0])}: unknown field")


def _server(data: Any) -> ServerConfig:
    table = _Table(data, "server")
    listen = check_address(table.get("listen", kind=str), "server.listen")
    port = check_port(table.get("port", DNS_PORT, int), "server.port", allow_zero=True)
    log = table.get("query_log", None, str)
    if log == "":
        raise ValueError("server.query_log: empty path")
    table.done()
    return ServerConfig(listen, port, Path(log) if log else None)


def _resolver(data: dict) -> ResolverConfig:
    top = _Table(data, "")
    top.get("service")
    server = _server(top.get("server", kind=dict))
    table = _Table(top.get("resolver", kind=dict), "resolver")
    mode = table.get("mode", kind=str)
    if mode not in MODES:
        raise ValueError(f"resolver.mode: expected one of {', '.join(MODES)}, not {mode!r}")
    timeout = table.get("timeout", 2.0, (int, float))
    if not (math.isfinite(timeout) and 0 < timeout <= 60):
        raise ValueError(f"resolver.timeout: must be between 0 and 60 seconds, not {timeout}")
    attempts = table.integer("attempts", 2, 1)
    nameserver_port = check_port(table.get("nameserver_port", DNS_PORT, int),
                                 "resolver.nameserver_port")
    forwarders = tuple(parse_endpoint(item, f"resolver.forwarders[{i}]")
                       for i, item in enumerate(table.get("forwarders", [], list)))
    hints = []
    for i, item in enumerate(table.get("root_hints", [], list)):
        where = f"resolver.root_hints[{i}]"
        hint = _Table(item, where)
        name = hint.get("name", kind=str)
        if not name.endswith(".") or name == ".":
            raise ValueError(f"{where}.name: expected an absolute name ending in '.', "
                             f"not {name!r}")
        address = hint.get("address", kind=str)
        port = hint.get("port", None, int)
        endpoint = parse_endpoint(address, f"{where}.address")
        if port is not None:
            if has_port(address):
                raise ValueError(f"{where}.port: the address {address!r} carries a port already")
            endpoint = Endpoint(endpoint.host, check_port(port, f"{where}.port"))
        hint.done()
        hints.append(RootHint(name, endpoint))
    table.done()
    if mode == "forward" and not forwarders:
        raise ValueError("resolver.forwarders: forward mode needs at least one forwarder")
    if mode == "recursive" and not hints:
        raise ValueError("resolver.root_hints: recursive mode needs at least one root hint")
    cache = _Table(top.get("cache", None, dict), "cache", required=False)
    cache_size = cache.integer("max_entries", 10000, 0)
    cache.done()
    limits_table = _Table(top.get("limits", None, dict), "limits", required=False)
    defaults = Limits()
    limits = Limits(**{name: limits_table.integer(name, getattr(defaults, name), 1)
                       for name in ("max_referrals", "max_depth", "max_cname_chain", "max_queries")})
    limits_table.done()
    top.done()
    return ResolverConfig(server, mode, forwarders, tuple(hints), nameserver_port,
                          float(timeout), attempts, cache_size, limits)


def _authoritative(data: dict) -> AuthoritativeConfig:
    top = _Table(data, "")
    top.get("service")
    server = _server(top.get("server", kind=dict))
    zones, seen = [], set()
    for i, item in enumerate(top.get("zone", kind=list)):
        where = f"zone[{i}]"
        table = _Table(item, where)
        origin = table.get("origin", kind=str)
        if not origin.endswith("."):
            raise ValueError(f"{where}.origin: expected an absolute name ending in '.', "
                             f"not {origin!r}")
        if origin.lower() in seen:
            raise ValueError(f"{where}.origin: zone {origin} is given twice")
        seen.add(origin.lower())
        records = table.get("records", kind=list)
        zone = Zone.from_lines(origin, records, f"{where}.records")
        table.done()
        zones.append(ZoneConfig(origin, tuple(records), zone))
    if not zones:
        raise ValueError("zone: at least one zone is needed")
    top.done()
    return AuthoritativeConfig(server, tuple(zones))


# -- rendering ----------------------------------------------------------------
_RESOLVER_DEFAULTS = dict(port=DNS_PORT, query_log=None, forwarders=(), root_hints=(),
                          nameserver_port=DNS_PORT, timeout=2.0, attempts=2, cache_size=10000,
                          **{name: getattr(Limits(), name) for name in
                             ("max_referrals", "max_depth", "max_cname_chain", "max_queries")})
_RESOLVER_REQUIRED = ("listen", "mode")
_AUTHORITATIVE_DEFAULTS = dict(port=DNS_PORT, query_log=None)
_AUTHORITATIVE_REQUIRED = ("listen", "zones")


def _render(template: str, data: Mapping[str, Any], defaults: dict, required: tuple) -> str:
    unknown = sorted(set(data) - set(defaults) - set(required))
    if unknown:
        raise ValueError(f"{template}: unknown field {unknown[0]!r}")
    values = {**defaults, **data}
    try:
        text = render(template, **values)
    except jinja2.UndefinedError as error:
        raise ValueError(f"{template}: missing field: {error.message}") from None
    parse_config(text, f"rendered {template}")        # the dry run, before anyone launches it
    return text


def render_resolver_config(**data: Any) -> str:
    """Render ``dns-resolver.toml.j2``.  Required: ``listen``, ``mode``;
    optional: ``port``, ``query_log``, ``forwarders`` (addresses, may carry
    ``:port``), ``root_hints`` (``(name, address)`` pairs as in
    ``topologies/internet.py``, or mappings with ``name``/``address``),
    ``nameserver_port``, ``timeout``, ``attempts``, ``cache_size``,
    ``max_referrals``, ``max_depth``, ``max_cname_chain``, ``max_queries``.
    The result is validated; errors are ``ValueError`` naming the field."""
    data = dict(data)
    if "root_hints" in data:
        data["root_hints"] = [_hint(h, i) for i, h in enumerate(data["root_hints"])]
    if "forwarders" in data:
        data["forwarders"] = [str(f) for f in data["forwarders"]]
    return _render("dns-resolver.toml.j2", data, _RESOLVER_DEFAULTS, _RESOLVER_REQUIRED)


def render_authoritative_config(**data: Any) -> str:
    """Render ``dns-authoritative.toml.j2``.  Required: ``listen``, ``zones``
    (zone name -> list of zone-file lines, as in ``topologies/internet.py``);
    optional: ``port``, ``query_log``.  Validated like the resolver's."""
    data = dict(data)
    if "zones" in data:
        zones = data["zones"]
        if not isinstance(zones, Mapping):
            raise ValueError("dns-authoritative.toml.j2: zones: expected a mapping of zone "
                             "name -> list of zone-file lines")
        data["zones"] = [{"origin": str(origin), "records": list(lines)}
                         for origin, lines in zones.items()]
    return _render("dns-authoritative.toml.j2", data, _AUTHORITATIVE_DEFAULTS,
                   _AUTHORITATIVE_REQUIRED)


def _hint(hint: Any, index: int) -> dict:
    if isinstance(hint, Mapping):
        if "port" in hint:
            host = str(hint["address"])
            host = f"[{host}]" if ":" in host else host
            return {"name": hint["name"], "address": f"{host}:{hint['port']}"}
        return {"name": hint["name"], "address": str(hint["address"])}
    if isinstance(hint, (list, tuple)) and len(hint) == 2:
        return {"name": hint[0], "address": str(hint[1])}
    raise ValueError(f"root_hints[{index}]: expected (name, address), not {hint!r}")
