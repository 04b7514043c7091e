"""From a validated config to a running service, and back down.

:func:`build_service` wires the parts (cache, upstream transport, recursor,
resolver or zones, query log, UDP+TCP listener) together; nothing else in
the package knows about all of them.  :func:`run` serves in the foreground
until SIGTERM or SIGINT, printing ``ready <address>:<port>`` once both
sockets are bound: the line the orchestrator waits for.
"""

from __future__ import annotations

import signal
import sys
from dataclasses import dataclass
from typing import TextIO

from dnslib import DNSLabel

from .authoritative import AuthoritativeResolver
from .cache import DNSCache, NameServer
from .config import AuthoritativeConfig, Config, ResolverConfig
from .querylog import QueryLog
from .recursion import Forwarder, IterativeRecursor
from .resolver import CachingResolver
from .server import DNSService
from .upstream import Upstream


@dataclass
class RunningParts:
    """What :func:`build_service` made, for tests and for shutting down."""

    service: DNSService
    log: QueryLog
    cache: DNSCache | None = None

    def close(self) -> None:
        self.service.stop()
        self.log.close()


def build_resolver(config: ResolverConfig) -> tuple[CachingResolver, DNSCache]:
    cache = DNSCache(max_entries=config.cache_size)
    upstream = Upstream(timeout=config.timeout, attempts=config.attempts)
    if config.mode == "forward":
        recursor = Forwarder(upstream, config.forwarders)
    else:
        hints = [NameServer(DNSLabel(h.name), (h.endpoint,)) for h in config.root_hints]
        recursor = IterativeRecursor(upstream, cache, hints, config.limits, config.nameserver_port)
    return CachingResolver(recursor, cache, config.limits), cache


def build_service(config: Config) -> RunningParts:
    """Bind the sockets and open the query log (not serving yet: call
    ``parts.service.start()``).  Raises ``BindError`` / ``OSError``."""
    log = QueryLog.open(config.server.query_log) if config.server.query_log else QueryLog(None)
    try:
        cache = None
        if isinstance(config, ResolverConfig):
            resolver, cache = build_resolver(config)
        elif isinstance(config, AuthoritativeConfig):
            resolver = AuthoritativeResolver(zone.zone for zone in config.zones)
        else:
            raise TypeError(f"not a DNS config: {config!r}")
        service = DNSService(resolver, config.server.listen, config.server.port, log)
    except BaseException:
        log.close()
        raise
    return RunningParts(service, log, cache)


def run(config: Config, out: TextIO = sys.stdout) -> int:
    """Serve until SIGTERM/SIGINT; return the exit status (0).

    The two signals are blocked before any server thread exists (threads
    inherit the mask) and taken with ``sigwait`` here, so the main thread
    learns of them at once, wherever the kernel would have delivered them."""
    signals = {signal.SIGTERM, signal.SIGINT}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    parts = None
    try:
        parts = build_service(config)
        parts.service.start()
        print(f"ready {parts.service.endpoint_text}", file=out, flush=True)
        signal.sigwait(signals)
    finally:
        if parts is not None:
            parts.close()
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    return 0
