"""Marks on a ladder: the errata a check showed, and a failed expectation
(the expected packet drawn "missing", the packets there instead marked
"instead").  Each function returns a new :class:`~.model.Ladder`."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Iterable, Sequence

from ..packets.describe import summary
from ..packets.packet import Packet
from .model import BROADCAST, KINDS, Arrow, Ladder

ERRATUM_SHOWN_BY = {
    "dhcp-ports": lambda a: a.kind == "dhcp" and ":68 " in a.label + " ",
    "relay-source": lambda a: a.kind == "dhcp" and "giaddr" in a.label
    and not a.label.split(" \u2192 ")[0].endswith(":68"),
    "offer-unicast": lambda a: a.kind == "dhcp" and " OFFER " in a.label,
    "arp-ethertype": lambda a: a.kind == "arp",
    "arp-expiry": lambda a: a.kind == "arp" and "who-has" in a.label,
    "synack-retries": lambda a: a.kind == "tcp" and a.label.startswith("SYN,ACK"),
    "keepalive": lambda a: a.kind == "tcp",
    "time-wait": lambda a: a.kind == "tcp" and "FIN" in a.label,
}
"""Which arrow shows an erratum: the first one this accepts."""


def mark_errata(ladder: Ladder, errata: Iterable) -> Ladder:
    """Mark, for each erratum (a ``Demonstrated``, or its ``as_dict()``), the
    first arrow that shows it and not yet marked; an erratum no arrow shows
    becomes a note.  Unknown keys raise KeyError."""
    arrows = list(ladder.arrows)
    notes = list(ladder.notes)
    for erratum in errata:
        key = erratum["key"] if isinstance(erratum, dict) else erratum.key
        shows = ERRATUM_SHOWN_BY[key]
        for i, arrow in enumerate(arrows):
            if arrow.erratum is None and arrow.style != "missing" and shows(arrow):
                arrows[i] = replace(arrow, erratum=key)
                break
        else:
            notes.append(f"erratum {key}: shown by the check, on no arrow of this capture")
    return replace(ladder, arrows=tuple(arrows), notes=tuple(notes))


# ---------------------------------------------------------------- failures

def frames_of(packets: Sequence[Packet], wanted: Iterable[Packet]) -> list[int]:
    """Frame numbers (in ``packets``) of the ``wanted`` packets, recognised
    by time and bytes, so that packets read from other files are found."""
    index: dict = {}
    for number, p in enumerate(packets, 1):
        index.setdefault((p.tns, p.data), number)
    found = []
    for p in wanted:
        number = index.get((p.tns, p.data))
        if number is not None and number not in found:
            found.append(number)
    return found


def draw_failure(ladder: Ladder, failure, packets: Sequence[Packet]) -> Ladder:
    """The ladder with ``failure`` (an ExpectationFailed) drawn: the
    packets it lists (found in ``packets``, what the ladder was built
    from) marked "instead", and the expected packet as a "missing" arrow."""
    return _draw(ladder, failure.expectation, set(frames_of(packets, failure.packets)))


def draw_failure_text(ladder: Ladder, text: str, packets: Sequence[Packet]) -> Ladder:
    """The same from a failure's message (all results.json keeps): the
    packets it lists are those whose one-line summary it contains."""
    frames = {n for n, p in enumerate(packets, 1) if summary(p) in text}
    return _draw(ladder, text.splitlines()[0] if text else "failed", frames)


def _draw(ladder: Ladder, expectation: str, frames: set[int]) -> Ladder:
    arrows = [replace(a, style="instead") if frames & set(a.frames) else a
              for a in ladder.arrows]
    named = _lifelines_named(ladder, expectation)
    names = ladder.names
    if len(named) >= 2:
        src, dst = named[0], named[1]
    elif len(named) == 1:
        src = named[0]
        others = [n for n in names if n != src]
        dst = others[-1] if others else src
    else:
        src, dst = (names[0], names[-1]) if names else (BROADCAST, BROADCAST)
    time = max((a.time for a in arrows), default=0.0)
    kind = next((k for k in KINDS[:-1] if k in expectation.lower()), "other")
    expected = re.search(r"expected (\w+\(.*?\))(?: after| at|;|$)", expectation)
    label = f"expected {expected.group(1)}" if expected else expectation
    arrows.append(Arrow(frames=(), time=time, src=src, dst=dst, label=label,
                        kind=kind, style="missing"))
    return replace(ladder, arrows=tuple(arrows),
                   notes=ladder.notes + (f"failed: {expectation}",))


def _lifelines_named(ladder: Ladder, text: str) -> list[str]:
    """Lifelines the text names, by capture point or node, in text order."""
    found = []
    for line in ladder.lifelines:
        words = set(line.points) | {line.name, line.name.split(" ")[0]}
        positions = [m.start() for w in words
                     for m in re.finditer(rf"(?<![\w.-]){re.escape(w)}(?![\w-])", text)]
        if positions:
            found.append((min(positions), line.name))
    return [name for _, name in sorted(found)]
