"""Marks on a ladder: the errata a check showed, and a failed expectation
(the expected packet drawn "missing", the packets there instead marked
"instead").  Each function returns a new :class:`~.model.Ladder`.

An erratum is marked on the packet its check recorded as showing it (its
frame), never found again by reading labels: a label may change, the frame
the check judged does not."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Iterable, Sequence

from ..packets.describe import summary
from ..packets.packet import Packet
from .model import BROADCAST, KINDS, Arrow, Ladder


def mark_errata(ladder: Ladder, errata: Iterable, capture: str | None = None) -> Ladder:
    """Mark each erratum (an :class:`~orchestrator.results.verify.ErratumShown`)
    on the arrow of the frame its check recorded as showing it, when that
    frame is of this ladder's capture (``capture``, its merged pcap; None:
    the ladder's capture is the only one).  An erratum shown by no frame of
    this capture is left to the caller; one whose frame is drawn by no arrow
    becomes a note."""
    arrows = list(ladder.arrows)
    notes = list(ladder.notes)
    for erratum in errata:
        if erratum.frame is None or (capture is not None and erratum.capture != capture):
            continue
        for i, arrow in enumerate(arrows):
            if erratum.frame in arrow.frames and arrow.style != "missing":
                arrows[i] = replace(arrow, erratum=arrow.erratum or erratum.key)
                break
        else:
            notes.append(f"erratum {erratum.key}: shown by frame {erratum.frame}, which this "
                         "ladder does not draw")
    return replace(ladder, arrows=tuple(arrows), notes=tuple(notes))


def note_errata(ladder: Ladder, errata: Iterable) -> Ladder:
    """Notes for errata the check showed without a frame to point at."""
    return replace(ladder, notes=ladder.notes + tuple(
        f"erratum {e.key}: shown by the check ({e.evidence}), by no one packet of a capture"
        for e in errata))


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
