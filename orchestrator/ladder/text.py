"""A ladder drawn in text, for a terminal of a given width.

Lifelines are columns (their names above, staggered on two rows when they
do not fit side by side), time flows down, one line per arrow::

    frame   xiaoming     gw1 (gw1-eth0)  gw1 (gw1-eth1)  srv
    1         |--DHCP DISCOVER…-->>|              |              |
                  DHCP DISCOVER xid 0x1a2b3c4d 0.0.0.0:68 → 255.255.255.255:67

The left margin holds the arrow's frame numbers (Wireshark's, in the merged
pcap; ``*`` before them marks a packet that was there instead of the one
expected) or ``missing``.  Arrows are ``--label-->`` and ``<--label--``,
``>>`` for a broadcast, ``==`` for a packet there instead, ``- - ->`` for
the expected packet that was missing; ``+`` where an arrow crossed a
lifeline it was captured at, ``[!key]`` after the label of an erratum's
arrow.  A label longer than its arrow is cut there and given whole on the
line below.  Every line fits ``width``: columns shrink, names and labels
are cut.
"""

from __future__ import annotations

from .model import BROADCAST, Arrow, Ladder

MIN_SPACING = 4
MAX_SPACING = 40
MAX_MARGIN = 12
ELLIPSIS = "\u2026"


def _cut(text: str, room: int) -> str:
    if room <= 0:
        return ""
    return text if len(text) <= room else text[:room - 1] + ELLIPSIS


def _frames(arrow: Arrow) -> str:
    if arrow.style == "missing":
        return "missing"
    text = ",".join(str(f) for f in arrow.frames)
    return ("*" if arrow.style == "instead" else "") + text


class _Layout:
    def __init__(self, ladder: Ladder, width: int):
        self.width = max(width, 20)
        self.margin = min(MAX_MARGIN, max([len("+0.000")] + [len(_frames(a))
                                                              for a in ladder.arrows])) + 1
        count = max(len(ladder.lifelines), 1)
        last = len(ladder.lifelines[-1].name) if ladder.lifelines else 0
        room = self.width - self.margin - 1 - min(last, 12)
        spacing = room // (count - 1) if count > 1 else room
        longest = max((len(a.label) + 6 for a in ladder.arrows), default=MIN_SPACING)
        self.spacing = max(MIN_SPACING, min(spacing, MAX_SPACING, longest))
        self.x = {line.name: self.margin + 1 + i * self.spacing
                  for i, line in enumerate(ladder.lifelines)}

    def blank(self) -> list[str]:
        row = [" "] * self.width
        for x in self.x.values():
            if x < self.width:
                row[x] = "|"
        return row

    def put(self, row: list[str], x: int, text: str) -> None:
        for i, char in enumerate(text):
            if 0 <= x + i < self.width:
                row[x + i] = char


def render(ladder: Ladder, width: int = 80) -> str:
    """The ladder as lines of at most ``width`` characters."""
    layout = _Layout(ladder, width)
    lines = [_cut(ladder.title, layout.width)] if ladder.title else []
    lines += _header(ladder, layout)
    t0 = min((a.time for a in ladder.arrows if a.style != "missing"), default=0.0)
    for arrow in ladder.arrows:
        lines += _arrow(arrow, layout, t0)
    lines.append("".join(layout.blank()).rstrip())
    for note in ladder.notes:
        lines.append(_cut(note, layout.width))
    return "\n".join(line.rstrip() for line in lines)


def _header(ladder: Ladder, layout: _Layout) -> list[str]:
    names = [line.name for line in ladder.lifelines]
    one_row = all(len(n) < layout.spacing for n in names)
    rows = [[" "] * layout.width for _ in range(1 if one_row else 2)]
    layout.put(rows[0], 0, "frame")
    for i, name in enumerate(names):
        row = rows[0] if one_row else rows[i % 2]
        room = layout.spacing - 1 if one_row else 2 * layout.spacing - 1
        x = layout.x[name]
        layout.put(row, x, _cut(name, min(room, layout.width - x)))
    return ["".join(r) for r in rows]


def _arrow(arrow: Arrow, layout: _Layout, t0: float) -> list[str]:
    row = layout.blank()
    layout.put(row, 0, _cut(_frames(arrow), layout.margin - 1))
    label = arrow.label + (f" [!{arrow.erratum}]" if arrow.erratum else "")
    x = layout.x
    start = x.get(arrow.src)
    end = x.get(arrow.dst) if arrow.dst != BROADCAST else None
    if start is None and end is None:
        layout.put(row, layout.margin + 1, _cut(label, layout.width - layout.margin - 1))
        return ["".join(row)]
    if start is None or end is None or start == end:
        # to itself, or a broadcast nobody was seen to hear: a stub to the right
        at = start if start is not None else end
        stub = "--*" if arrow.broadcast else "--+"
        layout.put(row, at + 1, stub + " ")
        text_x = at + len(stub) + 2
        layout.put(row, text_x, _cut(label, layout.width - text_x))
        return ["".join(row)]
    left, right = min(start, end), max(start, end)
    span = right - left - 1
    shaft = {"missing": "- ", "instead": "="}.get(arrow.style, "-")
    body = (shaft * span)[:span]
    head_len = 2 if arrow.broadcast else 1
    lead = "- - " if arrow.style == "missing" else shaft * 2
    inner = span - len(lead) - 2 - head_len
    shown = _cut(label, inner) if inner > 0 else ""
    if start < end:
        text = lead + shown
        body = text + body[len(text):]
        body = body[:span - head_len] + ">" * head_len
    else:
        text = "<" * head_len + lead + shown
        body = text + body[len(text):]
    layout.put(row, left + 1, body[:span])
    for name in arrow.crossed:
        if name in x and left < x[name] < min(right, layout.width) \
                and row[x[name]] == shaft[0]:
            row[x[name]] = "+"
    lines = ["".join(row)]
    if shown != label:
        detail = layout.blank()
        layout.put(detail, 0, _cut(f"+{arrow.time - t0:.3f}" if arrow.style != "missing"
                                   else "", layout.margin - 1))
        text_x = min(left + 2, max(layout.margin + 1, layout.width - len(label)))
        layout.put(detail, text_x, _cut(label, layout.width - text_x))
        lines.append("".join(detail))
    return lines
