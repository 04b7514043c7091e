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

The cache also keeps the *wire answers* of :mod:`services.dns.fastpath`:
whole encoded replies built from cache hits, each tied to the cache keys its
lookup consulted (found or not).  Any change to one of those keys (a store,
an eviction, an expiry noticed, ``clear()``) drops the wire answers that
depend on it, under the same lock, so a wire answer is only ever served
while a full lookup would still give the same reply.
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
from .records import Kind, Outcome, ancestors, label, negative_ttl


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
        # wire answers: question bytes -> answer, and cache key -> the
        # question bytes of the wire answers that consulted it
        self._wire: OrderedDict[bytes, object] = OrderedDict()
        self._wire_deps: dict[tuple, set[bytes]] = {}

    @property
    def clock(self) -> Callable[[], float]:
        return self._clock

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
    def get_rrset(self, name: object, rtype: int, consulted: list | None = None) -> list[RR] | None:
        """Copies of a cached RRset with TTLs set to the time remaining, or
        ``None`` when absent or expired.

        With ``consulted`` (a list), the key looked at and the entry found
        (or ``None``) are appended to it.  Each copy carries the entry's
        expiry time (on the cache's clock) in ``cached_until``: what a wire
        answer needs to count its TTLs down."""
        key = ("rr", label(name), rtype)
        with self._lock:
            entry, remaining = self._live(key)
            if consulted is not None:
                consulted.append((key, entry))
            if entry is None:
                return None
            result = []
            for rr in entry.records:
                rr = copy.copy(rr)
                rr.ttl = remaining
                rr.cached_until = entry.expires
                result.append(rr)
            return result

    def get_negative(self, name: object, qtype: int,
                     consulted: list | None = None) -> tuple[int, RR] | None:
        """``(rcode, soa)`` of a cached negative answer for this name and
        type (NXDOMAIN for the name wins), SOA TTL set to the time remaining.
        ``consulted`` as for :meth:`get_rrset`."""
        name = label(name)
        with self._lock:
            for key in (("nx", name), ("nodata", name, qtype)):
                entry, remaining = self._live(key)
                if consulted is not None:
                    consulted.append((key, entry))
                if entry is not None:
                    soa = copy.copy(entry.soa)
                    soa.ttl = remaining
                    soa.cached_until = entry.expires
                    return entry.rcode, soa
        return None

    def lookup(self, name: object, qtype: int, consulted: list | None = None) -> Outcome | None:
        """What the cache knows about one name and type, in the terms the
        recursion uses: the RRset, a negative answer, a CNAME to follow, or
        ``None`` (ask upstream).  ``consulted`` as for :meth:`get_rrset`."""
        name = label(name)
        records = self.get_rrset(name, qtype, consulted)
        if records:
            return Outcome(Kind.ANSWER, answer=records, final=name)
        negative = self.get_negative(name, qtype, consulted)
        if negative is not None:
            rcode, soa = negative
            kind = Kind.NXDOMAIN if rcode == RCODE.NXDOMAIN else Kind.NODATA
            return Outcome(kind, authority=[soa], final=name)
        if qtype != QTYPE.CNAME:
            cname = self.get_rrset(name, QTYPE.CNAME, consulted)
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
            self._wire.clear()
            self._wire_deps.clear()

    # -- wire answers (see services.dns.fastpath) ----------------------------
    def put_wire(self, question: bytes, answer, consulted: list) -> bool:
        """Keep ``answer`` (a :class:`~services.dns.fastpath.WireAnswer`)
        for the question bytes ``question``, valid while every key in
        ``consulted`` still holds the entry the lookup found there (or still
        nothing).  Refused (``False``) when one changed meanwhile, or when
        the cache keeps nothing (``max_entries = 0``)."""
        if self._max <= 0:
            return False
        with self._lock:
            for key, entry in consulted:
                if self._entries.get(key) is not entry:
                    return False
            found = [(key, entry) for key, entry in consulted if entry is not None]
            if not found:
                return False
            answer.expires = min(entry.expires for _, entry in found)
            answer.touch = tuple(key for key, _ in found)        # in the order a lookup reads them
            answer.depends = tuple(dict.fromkeys(key for key, _ in consulted))
            if question in self._wire:
                self._drop_wire(question)
            self._wire[question] = answer
            for key in answer.depends:
                self._wire_deps.setdefault(key, set()).add(question)
            while len(self._wire) > self._max:
                self._drop_wire(next(iter(self._wire)))
            return True

    def get_wire(self, question: bytes):
        """``(answer, now)`` for the question bytes, or ``None`` when there
        is none or one of its records has expired (a full lookup then
        notices the expiry).  Marks the entries the full lookup would have
        read as recently used, as that lookup would."""
        with self._lock:
            answer = self._wire.get(question)
            if answer is None:
                return None
            now = self._clock()
            if now >= answer.expires:
                return None
            entries = self._entries
            for key in answer.touch:
                entries.move_to_end(key)
            return answer, now

    def _drop_wire(self, question: bytes) -> None:
        answer = self._wire.pop(question, None)
        if answer is None:
            return
        for key in answer.depends:
            questions = self._wire_deps.get(key)
            if questions is not None:
                questions.discard(question)
                if not questions:
                    del self._wire_deps[key]

    def _changed(self, key) -> None:
        """``key`` was stored, replaced or removed: its wire answers go."""
        questions = self._wire_deps.get(key)
        if questions:
            for question in list(questions):
                self._drop_wire(question)

    # -- internals (call with the lock held, except _store) ----------------
    def _live(self, key) -> tuple[_Entry | None, int]:
        entry = self._entries.get(key)
        if entry is None:
            return None, 0
        left = entry.expires - self._clock()
        if left <= 0:
            del self._entries[key]
            self._changed(key)
            return None, 0
        self._entries.move_to_end(key)
        return entry, max(0, math.floor(left))

    def _store(self, key, entry: _Entry) -> None:
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            self._changed(key)
            if len(self._entries) > self._max:
                now = self._clock()
                for old in [k for k, e in self._entries.items() if e.expires <= now]:
                    del self._entries[old]
                    self._changed(old)
                while len(self._entries) > self._max:
                    old, _ = self._entries.popitem(last=False)
                    self._changed(old)
