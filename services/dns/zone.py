"""One zone's data, parsed from zone-file lines, and the authoritative
lookup over it (RFC 1034 section 4.3.2, without wildcards).

The topology model carries zones as lists of zone-file lines
(``topologies/internet.py``); they are parsed with dnslib's ``RR.fromZone``
and checked here once, when the config is loaded, so that a bad line is
refused with its zone and index before any server starts.  Address records
outside the zone are accepted as glue only (the ``com.`` zone of the
emulated internet lists ``a.gtld-servers.net.``): they are handed out in the
additional section for name servers, never answered authoritatively.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from dnslib import QTYPE, RCODE, RR, DNSBuffer, DNSLabel

from .records import ancestors, is_subdomain, label, negative_ttl

MAX_CHASE = 8


@dataclass
class ZoneAnswer:
    """What the zone says: rcode, AA, and the three sections."""

    rcode: int = RCODE.NOERROR
    authoritative: bool = True
    answer: list[RR] = field(default_factory=list)
    authority: list[RR] = field(default_factory=list)
    additional: list[RR] = field(default_factory=list)


class Zone:
    def __init__(self, origin: object, records: list[RR], where: str = "zone"):
        self.origin = label(origin)
        self._by_name: dict[DNSLabel, list[RR]] = {}
        self._glue: dict[DNSLabel, list[RR]] = {}
        for index, rr in enumerate(records):
            try:
                rr.pack(DNSBuffer())           # what serving it would do: fail now instead
            except Exception as error:
                raise ValueError(f"{where}: record {index} ({rr.rname}): cannot be encoded: "
                                 f"{error}") from None
            if rr.rclass != 1:
                raise ValueError(f"{where}: record {index} ({rr.rname}): only class IN is served")
            if is_subdomain(rr.rname, self.origin):
                self._by_name.setdefault(rr.rname, []).append(rr)
            elif rr.rtype in (QTYPE.A, QTYPE.AAAA):
                self._glue.setdefault(rr.rname, []).append(rr)
            else:
                raise ValueError(f"{where}: record {index} ({rr.rname} {QTYPE[rr.rtype]}) "
                                 f"is outside zone {self.origin}")
        apex = self._by_name.get(self.origin, [])
        soas = [rr for rr in apex if rr.rtype == QTYPE.SOA]
        if len(soas) != 1:
            raise ValueError(f"{where}: zone {self.origin} needs exactly one SOA record at its "
                             f"apex, found {len(soas)}")
        self.soa = soas[0]
        for name, rrs in self._by_name.items():
            types = {rr.rtype for rr in rrs}
            if QTYPE.CNAME in types and len(types) > 1:
                raise ValueError(f"{where}: {name} has a CNAME and other data")
            if QTYPE.CNAME in types and len(rrs) > 1:
                raise ValueError(f"{where}: {name} has more than one CNAME")
        # Zone cuts: names below the apex that own NS records.
        self._cuts = {name for name, rrs in self._by_name.items()
                      if name != self.origin and any(rr.rtype == QTYPE.NS for rr in rrs)}
        # Every name that exists, empty non-terminals included.
        self._names = set()
        for name in self._by_name:
            for up in ancestors(name):
                self._names.add(up)
                if up == self.origin:
                    break

    @classmethod
    def from_lines(cls, origin: object, lines, where: str = "zone") -> "Zone":
        """Parse zone-file lines (absolute names, or relative to ``origin``);
        ``ValueError`` names ``where`` and the line that fails."""
        if isinstance(lines, str) or not all(isinstance(line, str) for line in lines):
            raise ValueError(f"{where}: expected a list of zone-file lines (strings)")
        origin = label(origin)
        try:
            records = RR.fromZone("\n".join(lines), origin=origin)
        except Exception as error:
            for index, line in enumerate(lines):
                try:
                    RR.fromZone(line, origin=origin)
                except Exception as line_error:
                    raise ValueError(f"{where}[{index}]: cannot parse {line!r}: "
                                     f"{line_error or type(line_error).__name__}") from None
            raise ValueError(f"{where}: cannot parse the records: {error}") from None
        return cls(origin, records, where)

    def __contains__(self, name) -> bool:
        return is_subdomain(name, self.origin)

    # -- lookup ---------------------------------------------------------------
    def lookup(self, qname: object, qtype: int) -> ZoneAnswer:
        result = ZoneAnswer()
        name, seen = label(qname), set()
        for _ in range(MAX_CHASE + 1):
            cut = self._cut_above(name)
            if cut is not None:
                if result.answer:        # a chain leading into a delegation: stop there
                    return result
                return self._referral(cut)
            rrs = self._by_name.get(name, [])
            if not rrs:
                if name in self._names:
                    return self._negative(result, RCODE.NOERROR)   # empty non-terminal
                return self._negative(result, RCODE.NXDOMAIN)
            matches = [rr for rr in rrs if rr.rtype == qtype or qtype == QTYPE.ANY]
            if matches:
                result.answer.extend(matches)
                if qtype == QTYPE.NS or qtype == QTYPE.MX:
                    result.additional.extend(self._addresses_for(matches))
                return result
            cname = [rr for rr in rrs if rr.rtype == QTYPE.CNAME]
            if not cname:
                return self._negative(result, RCODE.NOERROR)       # NODATA
            result.answer.append(cname[0])
            seen.add(name)
            name = cname[0].rdata.label
            if name in seen or name not in self:
                return result          # a loop, or out of zone: the resolver goes on
        return result

    def _cut_above(self, name: DNSLabel) -> DNSLabel | None:
        """The highest zone cut at or above ``name`` (below the apex)."""
        for up in reversed(list(ancestors(name))):
            if up in self._cuts:
                return up
        return None

    def _referral(self, cut: DNSLabel) -> ZoneAnswer:
        ns = [rr for rr in self._by_name[cut] if rr.rtype == QTYPE.NS]
        return ZoneAnswer(authoritative=False, authority=ns, additional=self._addresses_for(ns))

    def _addresses_for(self, records: list[RR]) -> list[RR]:
        glue = []
        for rr in records:
            target = rr.rdata.label
            for candidate in self._by_name.get(target, []) + self._glue.get(target, []):
                if candidate.rtype in (QTYPE.A, QTYPE.AAAA) and candidate not in glue:
                    glue.append(candidate)
        return glue

    def _negative(self, result: ZoneAnswer, rcode: int) -> ZoneAnswer:
        """NXDOMAIN or NODATA: the SOA in authority, its TTL the negative TTL."""
        soa = copy.copy(self.soa)
        soa.ttl = negative_ttl(self.soa)
        result.rcode = rcode
        result.authority = [soa]
        return result
