"""The recursive resolver as dnslib sees it: one ``resolve(request, handler)``.

:class:`CachingResolver` answers a client's question from the cache where it
can and asks its recursor (iterative or forwarding, see
:mod:`services.dns.recursion`) for the rest, one name at a time: a CNAME
chain is followed here, across zones, restarting at each target that the
last answer did not cover, up to ``max_cname_chain`` links.  Everything
learned is put in the cache; the reply carries the whole chain, and the SOA
of a negative answer in its authority section.

Failures have one shape: SERVFAIL, whether the upstreams timed out, refused,
or a bound was reached, and whatever the mode.  Sockets, framing, truncation
and FORMERR belong to :mod:`services.dns.server`; the query log to
:mod:`services.dns.querylog` (it reads the :class:`QueryTrace` this class
leaves on the handler).
"""

from __future__ import annotations

import logging

from dnslib import CLASS, QTYPE, RCODE, DNSRecord
from dnslib.server import BaseResolver

from .cache import DNSCache
from .records import Kind, Outcome, label, rrsets
from .recursion import Limits, Recursor
from .trace import QueryTrace

log = logging.getLogger(__name__)


class CachingResolver(BaseResolver):
    """A recursive resolver: cache in front of a recursor."""

    def __init__(self, recursor: Recursor, cache: DNSCache, limits: Limits = Limits()):
        self.recursor = recursor
        self.cache = cache
        self.limits = limits

    def resolve(self, request: DNSRecord, handler) -> DNSRecord:
        trace = QueryTrace(max_queries=self.limits.max_queries)
        if handler is not None:
            handler.trace = trace
        reply = request.reply(ra=1, aa=0)
        question = request.q
        if question.qclass != CLASS.IN:
            reply.header.rcode = RCODE.REFUSED
            return reply
        if question.qtype in (QTYPE.AXFR, QTYPE.IXFR):
            reply.header.rcode = RCODE.REFUSED
            return reply
        try:
            outcome = self.answer(question.qname, question.qtype, trace)
        except Exception as error:          # a bug must cost one answer, not the server
            log.exception("resolving %s failed", question.qname)
            outcome = Outcome.servfail(f"internal error: {error!r}")
        if outcome.kind is Kind.SERVFAIL:
            trace.reason = trace.reason or outcome.reason
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        reply.header.rcode = outcome.rcode
        reply.add_answer(*outcome.answer)
        reply.add_auth(*outcome.authority)
        return reply

    def answer(self, qname, qtype: int, trace: QueryTrace) -> Outcome:
        """The full answer for ``qname``/``qtype``: the CNAME chain from the
        cache and upstream, and how it ends."""
        chain, name, seen = [], label(qname), set()
        for _ in range(self.limits.max_cname_chain + 1):
            if name in seen:
                return Outcome.servfail(f"CNAME loop at {name}")
            seen.add(name)
            step = self.cache.lookup(name, qtype, trace.consulted)
            if step is not None:
                trace.cache_hits += 1
            else:
                step = self.recursor.lookup(name, qtype, trace)
                self._remember(name, qtype, step)
            if step.kind is Kind.SERVFAIL:
                return step
            chain.extend(rr for rr in step.answer if rr not in chain)
            if step.kind is not Kind.CNAME:
                return Outcome(step.kind, chain, step.authority, step.final)
            name = step.final
        return Outcome.servfail(f"CNAME chain longer than {self.limits.max_cname_chain}")

    def _remember(self, name, qtype: int, outcome: Outcome) -> None:
        for records in rrsets(outcome.answer).values():
            self.cache.put_rrset(records)
        if outcome.kind in (Kind.NXDOMAIN, Kind.NODATA) and outcome.authority:
            rcode = RCODE.NXDOMAIN if outcome.kind is Kind.NXDOMAIN else RCODE.NOERROR
            self.cache.put_negative(outcome.final or name, qtype, rcode, outcome.authority[0])
