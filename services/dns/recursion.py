"""Finding the answer for one name upstream: iteratively from the root, or by
forwarding.

Both recursors implement ``lookup(qname, qtype, trace) -> Outcome`` for a
*single* name; following a CNAME out of a zone, caching answers and building
the reply are the resolver's job (:mod:`services.dns.resolver`).  Every way a
lookup can fail (timeouts, refusals, lame servers, a bound reached) ends in
``Kind.SERVFAIL``, in both modes alike.

Iterative mode (:class:`IterativeRecursor`) starts at the deepest delegation
in the cache, or at the root hints, sends plain RD=0 queries and follows
referrals (NS in the authority section, addresses from the glue in the
additional section).  Name servers without glue are resolved by a separate,
nested iterative lookup.  Bounds: ``max_referrals`` per lookup, ``max_depth``
of nested name-server lookups, and the query's total upstream budget (in its
trace).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

from dnslib import QTYPE, RCODE, DNSLabel, DNSRecord

from .cache import DNSCache, NameServer
from .endpoint import DNS_PORT, Endpoint
from .records import Kind, Outcome, first_soa, follow_chain, is_subdomain, label, rcode_name, rrsets
from .trace import QueryTrace, WorkLimitExceeded
from .upstream import Upstream, UpstreamError

ROOT = DNSLabel(".")


@dataclass(frozen=True)
class Limits:
    """Bounds on the work of one client query."""

    max_referrals: int = 16      # referrals followed in one lookup
    max_depth: int = 4           # nested lookups of glueless name servers
    max_cname_chain: int = 8     # CNAMEs followed for one client query
    max_queries: int = 64        # upstream queries for one client query


class Recursor(Protocol):
    def lookup(self, qname: DNSLabel, qtype: int, trace: QueryTrace) -> Outcome: ...


@dataclass
class Referral:
    zone: DNSLabel
    nameservers: tuple[NameServer, ...]
    ttl: int


def classify(qname: DNSLabel, qtype: int, response: DNSRecord, zone: DNSLabel | None,
             port: int) -> Outcome | Referral | None:
    """What one upstream response says about ``qname``: an outcome, a
    referral to a zone closer to it, or ``None`` (useless: an error rcode, a
    lame or upward referral).  ``zone`` is the zone the server was asked as
    an authority for (answers outside it are not believed); ``None`` when
    forwarding.  ``port`` is the port of servers learned from glue."""
    rcode = response.header.rcode
    if rcode not in (RCODE.NOERROR, RCODE.NXDOMAIN):
        return None
    chain, final, complete = follow_chain(qname, qtype, response.rr, within=zone)
    soa = first_soa(response.auth)
    negative_soa = [soa] if soa is not None and is_subdomain(final, soa.rname) else []
    if rcode == RCODE.NXDOMAIN:
        return Outcome(Kind.NXDOMAIN, chain, negative_soa, final)
    if complete:
        return Outcome(Kind.ANSWER, chain, [], final)
    if chain:
        if negative_soa and (zone is None or is_subdomain(final, zone)):
            return Outcome(Kind.NODATA, chain, negative_soa, final)
        # The chain leaves what this server answers for: look the target up anew.
        return Outcome(Kind.CNAME, chain, [], final)
    if negative_soa:
        return Outcome(Kind.NODATA, [], negative_soa, final)
    referral = _referral(qname, response, zone, port)
    if referral is not None:
        return referral
    if zone is None and response.header.ra and not response.auth:
        return Outcome(Kind.NODATA, [], [], final)     # a forwarder's NODATA with no SOA
    if zone is not None and response.header.aa:
        return Outcome(Kind.NODATA, [], [], final)     # authoritative NODATA, SOA omitted
    return None


def _referral(qname: DNSLabel, response: DNSRecord, zone: DNSLabel | None,
              port: int) -> Referral | None:
    ns_records = [rr for rr in response.auth if rr.rtype == QTYPE.NS]
    if not ns_records or zone is None:
        return None
    child = ns_records[0].rname
    # Progress only: strictly below the zone asked, and at or above the name.
    if child == zone or not is_subdomain(child, zone) or not is_subdomain(qname, child):
        return None
    names = [rr.rdata.label for rr in ns_records if rr.rname == child]
    glue = rrsets(rr for rr in response.ar
                  if rr.rtype == QTYPE.A and is_subdomain(rr.rname, zone))
    nameservers = tuple(
        NameServer(name, tuple(Endpoint(str(rr.rdata), port)
                               for rr in glue.get((name, QTYPE.A), [])))
        for name in dict.fromkeys(names))
    ttl = min(rr.ttl for rr in ns_records if rr.rname == child)
    return Referral(child, nameservers, ttl)


class IterativeRecursor:
    """Resolves from the root hints down, as a recursive resolver does."""

    def __init__(self, upstream: Upstream, cache: DNSCache, root_hints: Sequence[NameServer],
                 limits: Limits = Limits(), nameserver_port: int = DNS_PORT):
        if not root_hints:
            raise ValueError("recursive mode needs at least one root hint")
        self.upstream = upstream
        self.cache = cache
        self.root_hints = tuple(root_hints)
        self.limits = limits
        self.port = nameserver_port

    def lookup(self, qname: DNSLabel, qtype: int, trace: QueryTrace) -> Outcome:
        return self._lookup(label(qname), qtype, trace, depth=0)

    def _lookup(self, qname: DNSLabel, qtype: int, trace: QueryTrace, depth: int) -> Outcome:
        try:
            start = self.cache.closest_delegation(qname)
            if start is not None:
                outcome = self._iterate(qname, qtype, trace, depth, *start)
                if outcome.kind is not Kind.SERVFAIL or outcome.reason.startswith("limit"):
                    return outcome
                # The cached delegation's servers failed: start again from the root.
            return self._iterate(qname, qtype, trace, depth, ROOT, self.root_hints)
        except WorkLimitExceeded as limit:
            trace.reason = f"limit: {limit}"
            return Outcome.servfail(trace.reason)

    def _iterate(self, qname, qtype, trace, depth, zone, nameservers) -> Outcome:
        for _ in range(self.limits.max_referrals + 1):
            result = self._ask_zone(qname, qtype, trace, depth, zone, nameservers)
            if not isinstance(result, Referral):
                return result
            self.cache.put_delegation(result.zone, result.nameservers, result.ttl)
            zone, nameservers = result.zone, result.nameservers
        trace.reason = f"limit: more than {self.limits.max_referrals} referrals"
        return Outcome.servfail(trace.reason)

    def _ask_zone(self, qname, qtype, trace, depth, zone, nameservers) -> Outcome | Referral:
        """Ask the servers of ``zone`` in turn (those with addresses first)
        until one gives a usable response."""
        failures = []
        ordered = sorted(nameservers, key=lambda ns: not ns.addresses)
        for server in ordered:
            for endpoint in self._addresses(server, trace, depth):
                try:
                    response = self.upstream.query(endpoint, qname, qtype, trace,
                                                   recursion_desired=False)
                except UpstreamError as error:
                    failures.append(str(error))
                    continue
                result = classify(qname, qtype, response, zone, self.port)
                if result is None:
                    failures.append(f"{endpoint}: unusable response "
                                    f"(rcode {rcode_name(response.header.rcode)})")
                    continue
                if isinstance(result, Referral) and trace.exchanges:
                    trace.exchanges[-1].result = "REFERRAL"
                return result
        trace.reason = (f"no server of {zone} answered: " + "; ".join(failures)) if failures \
            else f"no address for any server of {zone}"
        return Outcome.servfail(trace.reason)

    def _addresses(self, server: NameServer, trace, depth):
        if server.addresses:
            yield from server.addresses
            return
        cached = self.cache.get_rrset(server.name, QTYPE.A)
        if not cached:
            if depth >= self.limits.max_depth:
                return
            outcome = self._lookup(server.name, QTYPE.A, trace, depth + 1)
            for records in rrsets(outcome.answer).values():
                self.cache.put_rrset(records)
            cached = [rr for rr in outcome.answer if rr.rtype == QTYPE.A]
        for rr in cached:
            if rr.rtype == QTYPE.A:
                yield Endpoint(str(rr.rdata), self.port)


class Forwarder:
    """Hands every lookup to the configured forwarders (RD=1), in order."""

    def __init__(self, upstream: Upstream, forwarders: Sequence[Endpoint]):
        if not forwarders:
            raise ValueError("forward mode needs at least one forwarder")
        self.upstream = upstream
        self.forwarders = tuple(forwarders)

    def lookup(self, qname: DNSLabel, qtype: int, trace: QueryTrace) -> Outcome:
        failures = []
        try:
            for endpoint in self.forwarders:
                try:
                    response = self.upstream.query(endpoint, qname, qtype, trace,
                                                   recursion_desired=True)
                except UpstreamError as error:
                    failures.append(str(error))
                    continue
                result = classify(label(qname), qtype, response, None, DNS_PORT)
                if isinstance(result, Outcome):
                    return result
                failures.append(f"{endpoint}: unusable response "
                                f"(rcode {rcode_name(response.header.rcode)})")
        except WorkLimitExceeded as limit:
            failures.append(f"limit: {limit}")
        trace.reason = "every forwarder failed: " + "; ".join(failures)
        return Outcome.servfail(trace.reason)
