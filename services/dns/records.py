"""The vocabulary shared by the cache, the recursion and the resolver.

A lookup of one name ends in one of a few ways (an answer, a CNAME that
leaves the zone, NXDOMAIN, NODATA, failure); :class:`Outcome` names them so
that the cache, both recursion modes and the resolver speak about the same
thing, and so that "failure" has exactly one spelling: SERVFAIL.  The name
helpers exist because ``DNSLabel.matchSuffix`` does not treat the root as a
suffix of every name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from dnslib import QTYPE, RCODE, RR, DNSLabel


def label(name: object) -> DNSLabel:
    return name if isinstance(name, DNSLabel) else DNSLabel(name)


def is_subdomain(name: object, zone: object) -> bool:
    """True when ``name`` is ``zone`` or below it (every name is below the root)."""
    name_labels = [part.lower() for part in label(name).label]
    zone_labels = [part.lower() for part in label(zone).label]
    if not zone_labels:
        return True
    return name_labels[-len(zone_labels):] == zone_labels


def ancestors(name: object):
    """``name`` itself, then each parent, ending with the root."""
    labels = label(name).label
    for start in range(len(labels) + 1):
        yield DNSLabel(labels[start:])


class Kind(Enum):
    """How a lookup of one name ended."""

    ANSWER = "answer"        # records of the asked type, possibly behind CNAMEs
    CNAME = "cname"          # a CNAME chain whose target must be looked up anew
    NXDOMAIN = "nxdomain"    # the (final) name does not exist
    NODATA = "nodata"        # the name exists, not with this type
    SERVFAIL = "servfail"    # every upstream failed, or a bound was hit


@dataclass
class Outcome:
    """The result of looking up one name: ``answer`` holds the records in
    answer-section order (CNAMEs first), ``authority`` the SOA of a negative
    answer, ``final`` the name the chain ends at, ``reason`` why it failed."""

    kind: Kind
    answer: list[RR] = field(default_factory=list)
    authority: list[RR] = field(default_factory=list)
    final: DNSLabel | None = None
    reason: str = ""

    @property
    def rcode(self) -> int:
        return {Kind.NXDOMAIN: RCODE.NXDOMAIN, Kind.SERVFAIL: RCODE.SERVFAIL}.get(
            self.kind, RCODE.NOERROR)

    @classmethod
    def servfail(cls, reason: str) -> "Outcome":
        return cls(Kind.SERVFAIL, reason=reason)


def follow_chain(qname: object, qtype: int, records, within: object | None = None):
    """Follow ``qname`` through ``records`` (an answer section).

    Returns ``(chain, final, complete)``: the records that answer ``qname``
    in order (CNAMEs, then the records of ``qtype`` at the end of the chain),
    the name the chain ends at, and whether records of ``qtype`` were found
    there.  Records unrelated to the chain are ignored; with ``within`` set,
    the chain stops at the first name outside that zone (data a server is not
    authoritative for is never believed).  A CNAME loop stops the walk.
    """
    name, chain, seen = label(qname), [], set()
    while True:
        if within is not None and not is_subdomain(name, within):
            return chain, name, False
        matches = [rr for rr in records if rr.rname == name and rr.rclass == 1
                   and (rr.rtype == qtype or (qtype == QTYPE.ANY and rr.rtype != QTYPE.OPT))]
        if matches:
            return chain + matches, name, True
        cnames = [rr for rr in records if rr.rname == name and rr.rtype == QTYPE.CNAME]
        if not cnames or qtype == QTYPE.CNAME:
            return chain, name, False
        seen.add(name)
        chain.append(cnames[0])
        name = cnames[0].rdata.label
        if name in seen:
            return chain, name, False


def rrsets(records):
    """Group records into RRsets keyed by (owner name, type), keeping order."""
    groups: dict[tuple[DNSLabel, int], list[RR]] = {}
    for rr in records:
        groups.setdefault((rr.rname, rr.rtype), []).append(rr)
    return groups


def first_soa(records) -> RR | None:
    return next((rr for rr in records if rr.rtype == QTYPE.SOA), None)


def negative_ttl(soa: RR) -> int:
    """RFC 2308 section 5: a negative answer lives for the smaller of the
    SOA record's own TTL and its MINIMUM field."""
    return max(0, min(soa.ttl, soa.rdata.times[4]))


def type_name(qtype: int) -> str:
    try:
        return QTYPE[qtype]
    except Exception:
        return f"TYPE{qtype}"


def rcode_name(rcode: int) -> str:
    try:
        return RCODE[rcode]
    except Exception:
        return f"RCODE{rcode}"
