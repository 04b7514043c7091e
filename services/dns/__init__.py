"""flowlab's DNS daemons, written with dnslib: a recursive resolver (iterative
from root hints, or forwarding) and an authoritative server for the zones of
the emulated internet.

Kept apart as dnslib keeps ``BaseResolver``, ``DNSServer`` and ``DNSLogger``
apart, one owner per module:

- :mod:`.resolver` -- the resolver's ``resolve()`` hook: cache, then recursion, CNAME chains
- :mod:`.recursion` -- iterative (root -> TLD -> authoritative) and forward modes
- :mod:`.cache` -- TTL-honouring, thread-safe cache (positive, negative, delegations)
- :mod:`.upstream` -- queries to other servers (UDP, TCP retry on truncation)
- :mod:`.authoritative`, :mod:`.zone` -- the authoritative server and its zone data
- :mod:`.server` -- UDP+TCP listening, FORMERR, truncation towards clients
- :mod:`.fastpath` -- cache hits answered from kept wire data, without dnslib
- :mod:`.querylog` -- one line per client query
- :mod:`.config` -- TOML configs: templates, rendering, validation
- :mod:`.daemon`, :mod:`.__main__` -- wiring and the command line

Run ``python -m services.dns --help``.
"""

from .config import (
                     AuthoritativeConfig,
                     ResolverConfig,
                     load_config,
                     parse_config,
                     render_authoritative_config,
                     render_resolver_config,
)

__all__ = ["AuthoritativeConfig", "ResolverConfig", "load_config", "parse_config",
           "render_authoritative_config", "render_resolver_config"]
