"""What answering one client query cost: the upstream exchanges made, and
the bound on them.

The resolver creates one :class:`QueryTrace` per client query and hands it
down to the recursion and the upstream transport; every upstream query is
recorded here before it is sent, and refused once the budget is spent, so a
referral loop or a chain of glueless delegations ends in SERVFAIL instead of
running forever.  The query log reads the trace afterwards.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from .endpoint import Endpoint


class WorkLimitExceeded(Exception):
    """The upstream-query budget of one client query is spent."""


@dataclass
class Exchange:
    """One upstream query: where, how, for what, and how it ended
    (an rcode name, ``REFERRAL``, ``TRUNCATED``, ``TIMEOUT`` or ``ERROR``)."""

    endpoint: Endpoint
    protocol: str
    qname: str
    qtype: str
    result: str = "?"

    def __str__(self) -> str:
        return f"{self.endpoint}/{self.protocol}:{self.qname}/{self.qtype}:{self.result}"


@dataclass
class QueryTrace:
    max_queries: int = 64
    exchanges: list[Exchange] = field(default_factory=list)
    cache_hits: int = 0
    reason: str = ""
    # the cache keys the lookups read and what they found there (entry or
    # None), in order: what a wire answer built from this query depends on
    consulted: list = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def begin(self, endpoint: Endpoint, protocol: str, qname: str, qtype: str) -> Exchange:
        """Record an upstream query about to be sent; raise
        :class:`WorkLimitExceeded` when the budget is spent."""
        with self._lock:
            if len(self.exchanges) >= self.max_queries:
                raise WorkLimitExceeded(f"more than {self.max_queries} upstream queries")
            exchange = Exchange(endpoint, protocol, qname, qtype)
            self.exchanges.append(exchange)
            return exchange

    @property
    def upstream_count(self) -> int:
        return len(self.exchanges)

    @property
    def cache_state(self) -> str:
        """``hit`` (answered with no upstream query), ``miss`` (nothing from
        the cache) or ``partial`` (part of a CNAME chain came from it)."""
        if not self.exchanges:
            return "hit" if self.cache_hits else "none"
        return "partial" if self.cache_hits else "miss"
