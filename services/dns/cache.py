"""The resolver's memory: RRsets, negative answers and delegations, each
kept for its TTL and no longer.

Served records carry the *remaining* TTL (whole seconds, never below 0), so a
client can see a cached answer count down, as the dns-chain check expects.
Negative answers (NXDOMAIN for a name, NODATA for a name and type) are kept
for the SOA's negative TTL (RFC 2308).  Delegations (zone -> name servers and
their addresses) are kept apart from answers: they only tell the iterative
recursion where to start, and are never served to clients.

dnslib's server runs each request in its own thread; one lock guards all of
this, and nothing outside the lock ever touches the stored records (callers
get copies).  The clock is injectable so tests can move time.
"""

from __future__ import annotations

import copy
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

from dnslib import QTYPE, RCODE, RR, DNSLabel

from .endpoint import Endpoint
from .records import Kind, Outcome, label, negative_ttl, ancestors


@dataclass(frozen=True)
class NameServer:
    """A name server of a zone and the addresses it is reached at (empty when
    the referral carried no glue)."""

    name: DNSLabel
    addresses: tuple[Endpoint, ...] = ()


@dataclass
class _Entry:
    expires: float
    records: list[RR] | None = None          # positive RRset
    rcode: int | None = None                 # negative: NXDOMAIN or NOERROR (NODATA)
    soa: RR | None = None                    # negative: the SOA to put in authority
    nameservers: tuple[NameServer, ...] = ()  # delegation


class DNSCache:
    """A thread-safe TTL cache of RRsets, negative answers and delegations."""

    def __init__(self, max_entries: int = 10000, clock: Callable[[], float] = time.monotonic):
        self._entries: OrderedDict[tuple, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries
        self._clock = clock

    # -- storing -----------------------------------------------------------
    def put_rrset(self, records: list[RR]) -> None:
        """Store one RRset (same owner and type); its lifetime is the
        smallest TTL in it.  A TTL of 0 means "do not cache"."""
        if not records:
            return
        ttl = min(rr.ttl for rr in records)
        if ttl <= 0 or self._max <= 0:
            return
        first = records[0]
        stored = [copy.copy(rr) for rr in records]
        self._store(("rr", first.rname, first.rtype), _Entry(self._clock() + ttl, records=stored))

    def put_negative(self, name: object, qtype: int, rcode: int, soa: RR) -> None:
        """Store NXDOMAIN (for ``name``, every type) or NODATA (for ``name``
        and ``qtype``) for the SOA's negative TTL."""
        ttl = negative_ttl(soa)
        if ttl <= 0 or self._max <= 0:
            return
        soa = copy.copy(soa)
        soa.ttl = ttl
        if rcode == RCODE.NXDOMAIN:
            key = ("nx", label(name))
        else:
            key = ("nodata", label(name), qtype)
        self._store(key, _Entry(self._clock() + ttl, rcode=rcode, soa=soa))

    def put_delegation(self, zone: object, nameservers: tuple[NameServer, ...], ttl: int) -> None:
        if ttl <= 0 or not nameservers or self._max <= 0:
            return
        self._store(("deleg", label(zone)), _Entry(self._clock() + ttl, nameservers=nameservers))

    # -- reading -----------------------------------------------------------
    def get_rrset(self, name: object, rtype: int) -> list[RR] | None:
        """Copies of a cached RRset with TTLs set to the time remaining, or
        ``None`` when absent or expired."""
        with self._lock:
            entry, remaining = self._live(("rr", label(name), rtype))
            if entry is None:
                return None
            result = []
            for rr in entry.records:
                rr = copy.copy(rr)
                rr.ttl = remaining
                result.append(rr)
            return result

    def get_negative(self, name: object, qtype: int) -> tuple[int, RR] | None:
        """``(rcode, soa)`` of a cached negative answer for this name and
        type (NXDOMAIN for the name wins), SOA TTL set to the time remaining."""
        name = label(name)
        with self._lock:
            for key in (("nx", name), ("nodata", name, qtype)):
                entry, remaining = self._live(key)
                if entry is not None:
                    soa = copy.copy(entry.soa)
                    soa.ttl = remaining
                    return entry.rcode, soa
        return None

    def lookup(self, name: object, qtype: int) -> Outcome | None:
        """What the cache knows about one name and type, in the terms the
        recursion uses: the RRset, a negative answer, a CNAME to follow, or
        ``None`` (ask upstream)."""
        name = label(name)
        records = self.get_rrset(name, qtype)
        if records:
            return Outcome(Kind.ANSWER, answer=records, final=name)
        negative = self.get_negative(name, qtype)
        if negative is not None:
            rcode, soa = negative
            kind = Kind.NXDOMAIN if rcode == RCODE.NXDOMAIN else Kind.NODATA
            return Outcome(kind, authority=[soa], final=name)
        if qtype != QTYPE.CNAME:
            cname = self.get_rrset(name, QTYPE.CNAME)
            if cname:
                return Outcome(Kind.CNAME, answer=cname[:1], final=cname[0].rdata.label)
        return None

    def closest_delegation(self, name: object) -> tuple[DNSLabel, tuple[NameServer, ...]] | None:
        """The deepest cached zone cut at or above ``name`` (the root comes
        from the root hints, not from here)."""
        with self._lock:
            for zone in ancestors(name):
                if not zone.label:
                    break
                entry, _ = self._live(("deleg", zone))
                if entry is not None:
                    return zone, entry.nameservers
        return None

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    # -- internals (call with the lock held, except _store) ----------------
    def _live(self, key) -> tuple[_Entry | None, int]:
        entry = self._entries.get(key)
        if entry is None:
            return None, 0
        left = entry.expires - self._clock()
        if left <= 0:
            del self._entries[key]
            return None, 0
        self._entries.move_to_end(key)
        return entry, max(0, math.floor(left))

    def _store(self, key, entry: _Entry) -> None:
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            if len(self._entries) > self._max:
                now = self._clock()
                for old in [k for k, e in self._entries.items() if e.expires <= now]:
                    del self._entries[old]
                while len(self._entries) > self._max:
                    self._entries.popitem(last=False)
