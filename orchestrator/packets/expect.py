"""Expectations over a run of packets: sequences, counts, absence.

``expect(packets)`` wraps a capture (or a merge, a list of packets, a path)
and offers the checks the documented flows are made of.  Each returns what
it matched, so that a test goes on asserting on the packets themselves::

    discover, offer, request, ack = expect(cap).sequence(
        [dhcp(type="DISCOVER"), dhcp(type="OFFER"), dhcp(type="REQUEST"), dhcp(type="ACK")],
        kind=dhcp(xid=xid))
    assert ack.dhcp.yiaddr == offer.dhcp.yiaddr

and each raises :class:`~.failure.ExpectationFailed` with a message that
names the expectation and lists the packets that were there instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from .captures import Packets, read
from .failure import ExpectationFailed, listing, short
from .match import Either, Fields, Matcher, as_matcher, resolve
from .packet import LAYERS, Packet
from .pause import pausing


def expect(packets: Packets | Iterable[Packet] | str | Path) -> "Expect":
    """Expectations over ``packets``: a :class:`~.captures.Capture`, a merge,
    any iterable of packets, or the path of a capture file."""
    return Expect(packets)


def _bounds(exactly, at_least, at_most) -> tuple[int, float, str]:
    if exactly is not None:
        if at_least is not None or at_most is not None:
            raise ValueError("give either exactly or at_least/at_most, not both")
        return exactly, exactly, f"exactly {exactly}"
    if at_least is None and at_most is None:
        raise ValueError("give exactly, at_least or at_most")
    low = at_least or 0
    high = float("inf") if at_most is None else at_most
    if at_most is None:
        return low, high, f"at least {low}"
    if at_least is None:
        return low, high, f"at most {at_most}"
    return low, high, f"between {low} and {at_most}"


def _plural(count: int, word: str = "packet") -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


class Expect:
    """Checks over one run of packets; times in messages are relative to its first packet."""

    def __init__(self, packets):
        if isinstance(packets, (str, Path)):
            packets = read(packets)
        elif not isinstance(packets, Packets):
            packets = Packets(list(packets))
        self.packets = packets
        self.t0 = packets.start

    @property
    def where(self) -> str:
        points = self.packets.points
        shown = ", ".join(points[:4]) + (", ..." if len(points) > 4 else "")
        return f"{_plural(len(self.packets))} ({shown or 'no capture point'})"

    def _kin(self, matcher: Matcher, exclude: set[int]) -> list[Packet]:
        """Packets of the matcher's layer that it did not accept: the near misses."""
        need = LAYERS[matcher.layer].kind if isinstance(matcher, Fields) and matcher.layer \
            else matcher.need
        if not need:
            return []
        return [p for p in self.packets.having(need) if id(p) not in exclude]

    # ------------------------------------------------------------ counts
    @pausing
    def count(self, matcher, exactly: int | None = None, *, at_least: int | None = None,
              at_most: int | None = None) -> list[Packet]:
        """The packets ``matcher`` accepts, which must be ``exactly`` so many (or
        ``at_least``/``at_most``)."""
        matcher = as_matcher(matcher)
        low, high, wanted = _bounds(exactly, at_least, at_most)
        found = [p for p in self.packets.having(matcher.need) if matcher(p)]
        if low <= len(found) <= high:
            return found
        noun = "packet" if wanted.endswith(" 1") else "packets"
        title = (f"expected {wanted} {noun} matching {matcher!r}, found {len(found)} "
                 f"among {self.where}")
        parts = []
        if found:
            parts.append(listing("matching:", found, self.t0))
        if len(found) < low:
            kin = self._kin(matcher, {id(p) for p in found})
            if kin:
                parts.append(listing("not matching, of the same kind:", kin, self.t0,
                                     explain=matcher))
            elif not found:
                parts.append("  (no packet of that kind at all)")
        raise ExpectationFailed(title, "\n".join(parts), found)

    @pausing
    def none(self, matcher) -> None:
        """No packet matches: ``expect(cap).none(dns())`` for "no DNS packet at all"."""
        matcher = as_matcher(matcher)
        found = [p for p in self.packets.having(matcher.need) if matcher(p)]
        if found:
            raise ExpectationFailed(
                f"expected no packet matching {matcher!r}, found {len(found)} among {self.where}",
                listing("found:", found, self.t0), found)

    def one(self, matcher) -> Packet:
        """The only packet ``matcher`` accepts."""
        return self.count(matcher, exactly=1)[0]

    def first(self, matcher) -> Packet:
        """The first packet ``matcher`` accepts; there must be one."""
        return self.count(matcher, at_least=1)[0]

    @pausing
    def count_per(self, field: str, matcher, exactly: int | None = None, *,
                  at_least: int | None = None, at_most: int | None = None,
                  keys: Iterable | None = None) -> dict[Any, list[Packet]]:
        """Count per value of ``field``: ``count_per("xid", dhcp(type="OFFER"),
        exactly=1)`` is "exactly one OFFER per transaction".  ``keys`` lists
        values that must be there (a DISCOVER's xid with no OFFER counts 0).
        Returns value -> packets."""
        matcher = as_matcher(matcher)
        low, high, wanted = _bounds(exactly, at_least, at_most)
        layer = matcher.layer if isinstance(matcher, Fields) else None
        key_field = resolve(layer, field)
        read = key_field.read
        layer_cls = key_field.layer
        groups: dict[Any, list[Packet]] = {}
        if keys is not None:
            for key in keys:
                groups[key_field.codec.normalize(key)] = []
        for p in self.packets.having(matcher.need):
            if matcher(p):
                groups.setdefault(read(layer_cls(p)), []).append(p)
        wrong = {k: v for k, v in groups.items() if not low <= len(v) <= high}
        if not wrong:
            return groups
        show = key_field.codec.show
        counts = ", ".join(f"{show(k)}: {len(v)}" for k, v in list(wrong.items())[:10])
        more = f" (+{len(wrong) - 10} more)" if len(wrong) > 10 else ""
        title = (f"expected {wanted} {'packet' if high == 1 else 'packets'} matching {matcher!r} "
                 f"per {field}; {_plural(len(wrong), field)} of {len(groups)} differ: "
                 f"{counts}{more}")
        shown = [p for v in wrong.values() for p in v]
        detail = listing("their packets:", shown, self.t0) if shown else ""
        raise ExpectationFailed(title, detail, shown)

    # ------------------------------------------------------------ sequences
    @pausing
    def sequence(self, steps: list, kind=None, *, only: bool = False) -> list[Packet]:
        """Strict order: among the packets ``kind`` accepts, ``steps`` match
        consecutive ones, nothing else of that kind in between.  ``kind``
        defaults to "any step's matcher".  With ``only``, the packets of that
        kind are exactly these, nothing before or after.  Returns the matched
        packets, one per step."""
        steps = [as_matcher(s) for s in steps]
        if not steps:
            raise ValueError("a sequence needs at least one step")
        kind = as_matcher(kind) if kind is not None else \
            (steps[0] if len(steps) == 1 else Either(*steps))
        pool = [p for p in self.packets.having(kind.need) if kind(p)]
        total = len(steps)
        if not pool:
            raise ExpectationFailed(
                f"step 1 of {total}: expected {steps[0]!r}, but no packet of kind {kind!r} "
                f"among {self.where}")
        starts = [0] if only else [i for i, p in enumerate(pool) if steps[0](p)]
        best: tuple[int, int] | None = None
        for start in starts:
            done = 0
            while done < total and start + done < len(pool) and steps[done](pool[start + done]):
                done += 1
            if done == total:
                if only and start + done != len(pool):
                    extra = pool[start + done:]
                    raise ExpectationFailed(
                        f"all {total} steps matched, but {_plural(len(extra))} of kind {kind!r} "
                        f"followed (only=True)",
                        listing("matched:", pool[start:start + done], self.t0) + "\n"
                        + listing("then:", extra, self.t0), extra)
                return pool[start:start + done]
            if best is None or done > best[0]:
                best = (done, start)
        if best is None or best[0] == 0:
            where = " as the first packet of that kind (only=True)" if only else ""
            raise ExpectationFailed(
                f"step 1 of {total}: expected {steps[0]!r}{where}; no packet of kind {kind!r} "
                f"matched it among {self.where}",
                listing(f"packets of kind {kind!r}:", pool, self.t0, explain=steps[0]), pool)
        done, start = best
        matched = pool[start:start + done]
        previous = matched[-1]
        after = pool[start + done:]
        title = (f"step {done + 1} of {total}: expected {steps[done]!r} after "
                 f"{short(previous)} (step {done}, {previous.time - self.t0:.6f} "
                 f"{previous.point})")
        parts = [listing("matched so far:", matched, self.t0)]
        if after:
            title += f"; the next packet of kind {kind!r} did not match"
            parts.append(listing("there were instead:", after[:10], self.t0, explain=steps[done])
                         + (f"\n  ... {len(after) - 10} more of that kind" if len(after) > 10
                            else ""))
        else:
            title += f"; no more packets of kind {kind!r} followed"
        raise ExpectationFailed(title, "\n".join(parts), matched + after[:10])

    @pausing
    def in_order(self, steps: list, kind=None) -> list[Packet]:
        """Loose order: ``steps`` match packets in this order, other packets
        allowed in between (among those ``kind`` accepts, if given).  Returns
        the first such packets, one per step."""
        steps = [as_matcher(s) for s in steps]
        if kind is None:
            pool = list(self.packets)
        else:
            kind = as_matcher(kind)
            pool = [p for p in self.packets.having(kind.need) if kind(p)]
        matched: list[Packet] = []
        at = 0
        for number, step in enumerate(steps, start=1):
            while at < len(pool) and not step(pool[at]):
                at += 1
            if at == len(pool):
                self._in_order_failed(number, steps, matched, pool, kind)
            matched.append(pool[at])
            at += 1
        return matched

    def _in_order_failed(self, number, steps, matched, pool, kind):
        step = steps[number - 1]
        total = len(steps)
        scope = f" among packets of kind {as_matcher(kind)!r}" if kind is not None else ""
        if matched:
            previous = matched[-1]
            rest = pool[pool.index(previous) + 1:]
            title = (f"step {number} of {total}: expected {step!r} after {short(previous)} "
                     f"(step {number - 1}, {previous.time - self.t0:.6f} {previous.point}); "
                     f"none of the {_plural(len(rest))} after it{scope} matched")
        else:
            rest = pool
            title = (f"step 1 of {total}: expected {step!r}; no packet{scope} matched among "
                     f"{self.where}")
        need = step.need
        kin = [p for p in rest if need and p.kinds & need == need] if need else rest
        parts = []
        if matched:
            parts.append(listing("matched so far:", matched, self.t0))
        if kin:
            parts.append(listing("there were instead:", kin, self.t0, explain=step))
        elif rest:
            parts.append(listing("there were instead (none of that kind):", rest, self.t0))
        raise ExpectationFailed(title, "\n".join(parts), matched + kin[:20])

    # ------------------------------------------------------------ correlation
    def forwarded(self, after, what=None, **checks):
        """The packets ``what`` accepts here, seen again in ``after`` past one or
        more routers; see :func:`.correlate.forwarded`."""
        from .correlate import forwarded
        return forwarded(self.packets, after, what, t0=self.t0, **checks)

    def translated(self, outside, what=None, **checks):
        """The packets ``what`` accepts here (inside a NAT), seen again in
        ``outside``; see :func:`.correlate.translated`."""
        from .correlate import translated
        return translated(self.packets, outside, what, t0=self.t0, **checks)
