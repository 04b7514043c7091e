"""The authoritative server as dnslib sees it: one ``resolve(request, handler)``
over the zones it serves.

The question goes to the deepest zone that contains it; a name in none of
them is REFUSED (this server is not a resolver).  Within the zone,
:meth:`services.dns.zone.Zone.lookup` decides: an AA=1 answer (with in-zone
CNAME chasing), a referral (AA=0, NS in authority, glue in additional),
NXDOMAIN or NODATA with the zone's SOA.  Sockets, truncation (TC=1 when an
answer does not fit the client's UDP size) and FORMERR belong to
:mod:`services.dns.server`.
"""

from __future__ import annotations

from typing import Iterable

from dnslib import CLASS, QTYPE, RCODE, DNSRecord
from dnslib.server import BaseResolver

from .zone import Zone

QCLASS_ANY = 255      # dnslib's CLASS table spells it '*'


class AuthoritativeResolver(BaseResolver):
    def __init__(self, zones: Iterable[Zone]):
        self.zones = sorted(zones, key=lambda z: len(z.origin.label), reverse=True)
        origins = [z.origin for z in self.zones]
        duplicates = {str(o) for o in origins if origins.count(o) > 1}
        if duplicates:
            raise ValueError(f"zones: {', '.join(sorted(duplicates))} given more than once")

    def zone_for(self, qname) -> Zone | None:
        return next((zone for zone in self.zones if qname in zone), None)

    def resolve(self, request: DNSRecord, handler) -> DNSRecord:
        reply = request.reply(ra=0, aa=0)
        question = request.q
        zone = self.zone_for(question.qname)
        if zone is None or question.qclass not in (CLASS.IN, QCLASS_ANY) \
                or question.qtype in (QTYPE.AXFR, QTYPE.IXFR):
            reply.header.rcode = RCODE.REFUSED
            return reply
        result = zone.lookup(question.qname, question.qtype)
        reply.header.rcode = result.rcode
        reply.header.aa = 1 if result.authoritative else 0
        reply.add_answer(*result.answer)
        reply.add_auth(*result.authority)
        reply.add_ar(*result.additional)
        return reply
