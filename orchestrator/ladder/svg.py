"""A ladder drawn as SVG, for the HTML report (many per page) or a file.

``render_svg(ladder, uid, compact)`` returns one ``<svg>`` element, plain
string building so that a report of a hundred ladders renders at once.  It
shows what :mod:`.text` shows: lifelines in the ladder's order (names on
top, staggered on two rows when long), time flowing down, one row per
arrow, frame numbers (Wireshark's) in the left margin or ``missing``, the
time offset under them, a dot where an arrow crossed a lifeline it was
captured at, a double head for a broadcast, a badge ``! key`` on an
erratum's arrow, the expected packet dashed and the packets there instead
thick in a warning colour; a label longer than its arrow is cut there and
given whole on a line below (full mode) and in the arrow's ``<title>``.

The DOM is the report's contract, read by its browser test:

* ``<svg class="ladder" data-arrows="N" data-missing="M">``: N arrows
  seen (style not ``missing``), M missing; ``class="ladder compact"`` for
  the compact mode;
* ``<g class="lifeline" data-name="...">`` per lifeline, in ladder order;
* ``<g class="arrow kind-K style-S[ broadcast]" data-frames="1,4,7"
  data-kind="K" data-style="S" data-src="..." data-dst="...">`` per
  arrow, in ladder order, holding ``<title>``, the line (``.shaft``),
  ``text.label``, ``text.frames``, ``circle.crossed`` dots, and
  ``<g class="erratum" data-erratum="key">`` on an erratum's arrow;
* every ``id`` starts with ``uid`` + ``-``, so ladders share a page.

Colours are presentation attributes (an SVG without the stylesheet still
shows kinds, the dashes and the highlight) that :data:`LADDER_CSS`, the
page's one stylesheet, restates by class and completes (halo behind
labels, hover).  Text is monospace so that widths can be known here.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata
from dataclasses import dataclass
from html import escape

from .model import BROADCAST, Arrow, Ladder

KIND_COLOURS = {"dhcp": "#1f6fb4", "tcp": "#23873a", "dns": "#7b4fb0",
                "arp": "#8c564b", "icmp": "#138a9a", "other": "#555555"}
INSTEAD_COLOUR = "#e06c00"
MISSING_COLOUR = "#cc2222"
ERRATUM_COLOUR = "#b8860b"
LIFELINE_COLOUR = "#9a9a9a"
TEXT_COLOUR = "#222222"
DASHES = "7 5"
ELLIPSIS = "\u2026"
MAX_FRAMES_SHOWN = 14
"""Characters of frame numbers in the margin; all of them are in the title."""

_UID = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class _Geometry:
    """Sizes of one mode, in pixels; ``char`` is the width of a monospace
    character at ``font`` (0.6 em, as DejaVu/Liberation Mono)."""

    font: float
    small: float
    row: float
    detail: float
    pad: float
    min_spacing: float
    max_spacing: float
    max_width: float
    stub: float
    stroke: float
    instead_stroke: float
    head: float
    dot: float
    note_lines: int

    @property
    def char(self) -> float:
        return self.font * 0.6

    @property
    def small_char(self) -> float:
        return self.small * 0.6


FULL = _Geometry(font=12, small=10, row=32, detail=14, pad=8, min_spacing=120,
                 max_spacing=320, max_width=1500, stub=34, stroke=1.5, instead_stroke=3.5,
                 head=9, dot=3, note_lines=4)
COMPACT = _Geometry(font=9, small=8, row=18, detail=0, pad=4, min_spacing=56,
                    max_spacing=150, max_width=640, stub=18, stroke=1.2, instead_stroke=2.6,
                    head=6, dot=2, note_lines=2)


def _css() -> str:
    kinds = "\n".join(f"svg.ladder g.arrow.kind-{k} {{ color: {c}; }}"
                      for k, c in KIND_COLOURS.items())
    return f"""\
svg.ladder {{ font-family: monospace; background: #fff; }}
svg.ladder text {{ fill: {TEXT_COLOUR}; }}
svg.ladder .ladder-title {{ font-weight: bold; }}
svg.ladder .lifeline line {{ stroke: {LIFELINE_COLOUR}; }}
svg.ladder .lifeline text {{ font-weight: bold; }}
svg.ladder text.frames, svg.ladder text.offset, svg.ladder text.margin-head {{ fill: #666; }}
svg.ladder text.label, svg.ladder text.label-full {{
  paint-order: stroke; stroke: #fff; stroke-width: 4px; stroke-linejoin: round; }}
svg.ladder text.label-full {{ fill: #555; }}
{kinds}
svg.ladder g.arrow.style-instead {{ color: {INSTEAD_COLOUR}; }}
svg.ladder g.arrow.style-missing {{ color: {MISSING_COLOUR}; }}
svg.ladder g.arrow .shaft {{ stroke: currentColor; }}
svg.ladder g.arrow.style-missing .shaft {{ stroke-dasharray: {DASHES}; }}
svg.ladder g.arrow.style-instead text.label, svg.ladder g.arrow.style-instead text.frames {{
  font-weight: bold; fill: {INSTEAD_COLOUR}; }}
svg.ladder g.arrow.style-missing text.label, svg.ladder g.arrow.style-missing text.frames {{
  font-style: italic; fill: {MISSING_COLOUR}; }}
svg.ladder circle.crossed {{ fill: #fff; stroke: currentColor; }}
svg.ladder g.erratum rect {{ fill: {ERRATUM_COLOUR}; }}
svg.ladder g.erratum text {{ fill: #fff; font-weight: bold; }}
svg.ladder g.arrow:hover .shaft {{ stroke-width: 3px; }}
svg.ladder g.arrow:hover text.label {{ font-weight: bold; }}
svg.ladder .note {{ fill: #444; }}
"""


LADDER_CSS: str = _css()
"""The stylesheet of ladders, to be included once in a page."""


# ---------------------------------------------------------------- text

def _clean(text: str) -> str:
    """Text as XML 1.0 allows it: control characters and lone surrogates
    (a packet's bytes can reach a label) become U+FFFD."""
    return _NOT_XML.sub("\ufffd", str(text))


def _esc(text: str) -> str:
    return escape(_clean(text), quote=True)


def _width(text: str, char: float) -> float:
    """Drawn width of monospace text: wide (East Asian) characters count twice."""
    if text.isascii():
        return len(text) * char
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text) * char


def _cut(text: str, room: float, char: float) -> str:
    """The text cut with an ellipsis so that it fits ``room`` pixels."""
    if _width(text, char) <= room:
        return text
    keep = int(room // char) - 1
    if keep <= 0:
        return ""
    while keep > 0 and _width(text[:keep], char) + char > room:
        keep -= 1
    return text[:keep].rstrip() + ELLIPSIS


def _n(value: float) -> str:
    """A coordinate, at most one decimal (deterministic and short)."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _frames(arrow: Arrow) -> str:
    return "missing" if arrow.style == "missing" else ",".join(map(str, arrow.frames))


def short_label(arrow: Arrow) -> str:
    """The first word(s) of a label, for a mini-ladder: the DHCP type and
    yiaddr, the TCP flags (and a payload's length), the DNS question or
    answer, the ARP question or answer, the ICMP type."""
    words = arrow.label.split()
    if not words:
        return ""
    if arrow.style == "missing":
        found = re.search(r"\w+=([^,)]+)", arrow.label)     # expected dhcp(type=ACK, ...)
        return f"expected {found.group(1)}" if found else " ".join(words[:2])
    if arrow.kind == "dhcp" and words[0] == "DHCP" and len(words) > 1:
        text = words[1]
        if "yiaddr" in words[:-1]:
            text += " " + words[words.index("yiaddr") + 1]
        return text
    if arrow.kind == "dns" and "DNS" in words:
        rest = words[words.index("DNS") + 3:]     # after "DNS id N"
        if rest and rest[0].endswith("?"):
            return " ".join(rest[:2])
        return " ".join(rest[1:3]).rstrip(",") or "DNS"
    if arrow.kind == "tcp":
        if "len" in words[:-1] and words[words.index("len") + 1] not in ("0", "0,"):
            return f"{words[0]} len {words[words.index('len') + 1]}"
        return words[0]
    if arrow.kind == "arp" and len(words) > 2:
        return " ".join(words[1:3]) if words[1] == "who-has" else " ".join(words[1:3][::-1])
    if arrow.kind == "icmp":
        return arrow.label.split(",")[0].removeprefix("ICMP ")
    return " ".join(words[:2])


# ---------------------------------------------------------------- layout

@dataclass
class _Layout:
    g: _Geometry
    x: dict[str, float]
    margin: float
    width: float
    staggered: bool
    names: dict[str, str]


def _layout(ladder: Ladder, g: _Geometry, labels: list[str]) -> _Layout:
    names = ladder.names
    margin = g.pad + max([_width("+0.000", g.small_char), _width("missing", g.small_char)] +
                         [_width(_frames(a)[:MAX_FRAMES_SHOWN], g.small_char)
                          for a in ladder.arrows]) + g.pad
    index = {name: i for i, name in enumerate(names)}
    need = g.min_spacing
    for arrow, label in zip(ladder.arrows, labels):
        i, j = index.get(arrow.src), index.get(arrow.dst)
        if i is None or j is None or i == j:
            continue
        badge = _badge_width(arrow.erratum, g) + 6 if arrow.erratum else 0
        need = max(need, (_width(label, g.char) + badge + 3 * g.head) / abs(i - j))
    spacing = min(need, g.max_spacing)
    if len(names) > 1:
        spacing = max(g.min_spacing, min(spacing, (g.max_width - margin) / (len(names) - 1)))
    staggered = any(_width(n, g.char) > spacing - g.char * 2 for n in names)
    room = (2 * spacing if staggered else spacing) - 2 * g.char
    shown = {n: _cut(n, room, g.char) for n in names}
    first = _width(shown[names[0]], g.char) / 2 if names else 0
    last = _width(shown[names[-1]], g.char) / 2 if names else 0
    x0 = margin + max(first, g.stub)
    x = {name: x0 + i * spacing for i, name in enumerate(names)}
    right = (x0 + spacing * (len(names) - 1)) if names else margin
    width = right + max(last, g.stub + 4 * g.char) + g.pad
    return _Layout(g, x, margin, width, staggered, shown)


def _badge_width(key: str | None, g: _Geometry) -> float:
    return _width(f"! {key}", g.small_char) + 6 if key else 0


# ---------------------------------------------------------------- drawing

def render_svg(ladder: Ladder, uid: str = "l0", compact: bool = False) -> str:
    """The ladder as one ``<svg>`` element (see the module's docstring for
    its classes and data attributes); ``uid`` prefixes every id in it."""
    if not _UID.match(uid):
        raise ValueError(f"ladder uid {uid!r} is not an XML name (letters, digits, _ . -)")
    g = COMPACT if compact else FULL
    labels = [short_label(a) for a in ladder.arrows] if compact else \
        [a.label for a in ladder.arrows]
    lay = _layout(ladder, g, labels)
    body: list[str] = []
    y = g.pad
    if ladder.title:
        y += g.font
        body.append(f'<text class="ladder-title" x="{_n(g.pad)}" y="{_n(y)}">'
                    f'{_esc(_cut(ladder.title, lay.width - 2 * g.pad, g.char))}</text>')
        y += g.font * 0.6
    names_top = y
    rows = 2 if lay.staggered else 1
    y += rows * (g.font + 4) + 4
    t0 = min((a.time for a in ladder.arrows if a.style != "missing"), default=0.0)
    arrows_top = y
    width = lay.width
    used: set[tuple[str, str]] = set()
    for arrow, label in zip(ladder.arrows, labels):
        text, height, right = _arrow(arrow, label, lay, y, t0, uid, compact, used)
        body.append(text)
        y += height
        width = max(width, right + g.pad)
    bottom = y + g.pad
    lifelines = _lifelines(ladder, lay, names_top, arrows_top - 2, bottom)
    margin_head = "" if compact else \
        (f'<text class="margin-head" x="{_n(g.pad)}" y="{_n(names_top + g.font)}" '
         f'font-size="{_n(g.small)}" fill="#666">frame</text>')
    y = bottom
    notes = _notes(ladder.notes, g, width)
    y += len(notes) * (g.small + 4)
    for i, line in enumerate(notes):
        body.append(f'<text class="note" x="{_n(g.pad)}" y="{_n(bottom + (i + 1) * (g.small + 4))}"'
                    f' font-size="{_n(g.small)}">{_esc(line)}</text>')
    height = y + g.pad
    seen = sum(1 for a in ladder.arrows if a.style != "missing")
    missing = len(ladder.arrows) - seen
    classes = "ladder compact" if compact else "ladder"
    head = (f'<svg class="{classes}" data-arrows="{seen}" data-missing="{missing}" '
            f'xmlns="http://www.w3.org/2000/svg" width="{_n(width)}" height="{_n(height)}" '
            f'viewBox="0 0 {_n(width)} {_n(height)}" font-family="monospace" '
            f'font-size="{_n(g.font)}" role="img" aria-label="{_esc(ladder.title or "ladder")}">')
    return "".join([head, _defs(uid, g, used), '<rect class="ladder-background" width="100%" '
                    'height="100%" fill="#fff"/>', margin_head, lifelines, *body, "</svg>"])


def standalone_svg(ladder: Ladder, uid: str = "l0", compact: bool = False) -> str:
    """A ladder as a whole ``.svg`` file: the stylesheet embedded."""
    svg = render_svg(ladder, uid, compact)
    start = svg.index(">") + 1
    style = f"<style>{_esc_style(LADDER_CSS)}</style>"
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + svg[:start] + style + svg[start:] + "\n"


def _esc_style(css: str) -> str:
    return css.replace("&", "&amp;").replace("<", "&lt;")


def _paint(arrow: Arrow) -> str:
    """Which colour the arrow is painted in: its kind's, or its style's."""
    return arrow.style if arrow.style != "seen" else arrow.kind


PAINTS = {**KIND_COLOURS, "instead": INSTEAD_COLOUR, "missing": MISSING_COLOUR}


def _defs(uid: str, g: _Geometry, used: set[tuple[str, str]]) -> str:
    """The arrowheads used: a head, and a double head for a broadcast, per
    colour (a marker cannot take the colour of the line that uses it in
    every browser)."""
    h = g.head
    # the line stops half a head short (a thick line would show past the
    # tip): the marker's reference point is half a head before its tip
    shapes = {"head": ("0 0 10 10", 5, h, "M0,0 L10,5 L0,10 z"),
              "broadcast": ("0 0 20 10", 15, 2 * h, "M0,0 L10,5 L0,10 z M10,0 L20,5 L10,10 z")}
    parts = ["<defs>"]
    for shape, paint in sorted(used):
        box, ref, width, path = shapes[shape]
        parts.append(f'<marker id="{uid}-{shape}-{paint}" class="head" viewBox="{box}" '
                     f'refX="{ref}" refY="5" markerWidth="{_n(width)}" markerHeight="{_n(h)}" '
                     f'markerUnits="userSpaceOnUse" orient="auto">'
                     f'<path d="{path}" fill="{PAINTS[paint]}"/></marker>')
    parts.append("</defs>")
    return "".join(parts)


def _lifelines(ladder: Ladder, lay: _Layout, top: float, start: float, bottom: float) -> str:
    g = lay.g
    parts = []
    for i, line in enumerate(ladder.lifelines):
        x = lay.x[line.name]
        row = i % 2 if lay.staggered else 0
        y = top + g.font + row * (g.font + 4)
        where = f" (captured at {', '.join(line.points)})" if line.points else ""
        parts.append(
            f'<g class="lifeline" data-name="{_esc(line.name)}">'
            f'<title>{_esc(line.name + where)}</title>'
            f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="middle" font-weight="bold">'
            f'{_esc(lay.names[line.name])}</text>'
            f'<line x1="{_n(x)}" y1="{_n(start)}" x2="{_n(x)}" y2="{_n(bottom)}" '
            f'stroke="{LIFELINE_COLOUR}" stroke-width="1"/></g>')
    return "".join(parts)


def _title(arrow: Arrow, t0: float) -> str:
    lines = [arrow.label]
    if arrow.style == "missing":
        lines.append("missing: expected here, not captured")
    else:
        lines.append(f"frames {_frames(arrow)}  +{arrow.time - t0:.6f} s")
    if arrow.style == "instead":
        lines.append("there instead of the packet expected")
    if arrow.broadcast:
        lines.append("broadcast")
    if arrow.crossed:
        lines.append("crossed " + " \u2192 ".join(arrow.crossed))
    if arrow.erratum:
        lines.append(f"erratum {arrow.erratum}")
    return _esc("\n".join(lines))


def _arrow(arrow: Arrow, label: str, lay: _Layout, top: float, t0: float, uid: str,
           compact: bool, used: set) -> tuple[str, float, float]:
    """One ``g.arrow``: (its SVG, its row's height, the rightmost x it needs)."""
    g = lay.g
    colour = PAINTS[_paint(arrow)]
    stroke = g.instead_stroke if arrow.style == "instead" else g.stroke
    dashes = f' stroke-dasharray="{DASHES}"' if arrow.style == "missing" else ""
    line_y = top + g.font + 6
    head = ("broadcast" if arrow.broadcast else "head", _paint(arrow))
    used.add(head)
    marker = f"url(#{uid}-{head[0]}-{head[1]})"
    shaft_attrs = (f'stroke="currentColor" stroke-width="{_n(stroke)}"{dashes} '
                   f'marker-end="{marker}"')
    start = lay.x.get(arrow.src) if arrow.src != BROADCAST else None
    end = lay.x.get(arrow.dst) if arrow.dst != BROADCAST else None
    badge_w = _badge_width(arrow.erratum, g)
    extra = badge_w + 6 if arrow.erratum else 0
    shapes: list[str] = []
    if start is not None and end is not None and start != end:
        left, right = min(start, end), max(start, end)
        tip = end - g.head / 2 if end > start else end + g.head / 2
        shapes.append(f'<line class="shaft" x1="{_n(start)}" y1="{_n(line_y)}" '
                      f'x2="{_n(tip)}" y2="{_n(line_y)}" {shaft_attrs}/>')
        room = right - left - 3 * g.head
        shown = _cut(label, room - extra, g.char)
        total = _width(shown, g.char) + extra
        text_x = (left + right) / 2 - total / 2
        for name in arrow.crossed:
            x = lay.x.get(name)
            if x is not None and left < x < right:
                shapes.append(f'<circle class="crossed" cx="{_n(x)}" cy="{_n(line_y)}" '
                              f'r="{_n(g.dot)}" fill="#fff" stroke="currentColor"/>')
        detail_x = left + 2 * g.char
    elif start is not None or end is not None:
        # to itself, or a broadcast nobody was seen to hear: a loop or a stub
        at = start if start is not None else end
        if start is not None and end is not None:
            h = g.font * 0.6
            shapes.append(f'<path class="shaft" d="M{_n(at)},{_n(line_y - h / 2)} '
                          f'h{_n(g.stub * 0.7)} v{_n(h)} h{_n(-g.stub * 0.7 + g.head / 2)}" '
                          f'fill="none" {shaft_attrs}/>')
        elif start is not None:
            shapes.append(f'<line class="shaft" x1="{_n(at)}" y1="{_n(line_y)}" '
                          f'x2="{_n(at + g.stub - g.head / 2)}" y2="{_n(line_y)}" '
                          f'{shaft_attrs}/>')
        else:
            shapes.append(f'<line class="shaft" x1="{_n(at - g.stub)}" y1="{_n(line_y)}" '
                          f'x2="{_n(at - g.head / 2)}" y2="{_n(line_y)}" {shaft_attrs}/>')
        if start is not None:           # the label after the loop or the stub
            text_x = at + g.stub + g.char
            shown = _cut(label, lay.width - g.pad - text_x - extra, g.char)
        else:                           # the label before the stub coming in
            room = at - g.stub - g.char - lay.margin
            shown = _cut(label, room - extra, g.char)
            text_x = at - g.stub - g.char - extra - _width(shown, g.char)
        detail_x = at + 2 * g.char
    else:
        text_x = lay.margin
        shown = _cut(label, lay.width - g.pad - text_x - extra, g.char)
        detail_x = text_x
    parts = [f'<g class="arrow kind-{arrow.kind} style-{arrow.style}'
             f'{" broadcast" if arrow.broadcast else ""}" '
             f'data-frames="{",".join(map(str, arrow.frames))}" data-kind="{arrow.kind}" '
             f'data-style="{arrow.style}" data-src="{_esc(arrow.src)}" '
             f'data-dst="{_esc(arrow.dst)}" color="{colour}">',
             f'<title>{_title(arrow, t0)}</title>', *shapes]
    weight = ' font-weight="bold"' if arrow.style == "instead" else \
        ' font-style="italic"' if arrow.style == "missing" else ""
    label_y = line_y - 5
    parts.append(f'<text class="label" x="{_n(text_x)}" y="{_n(label_y)}"{weight}>'
                 f'{_esc(shown)}</text>')
    rightmost = text_x + _width(shown, g.char)
    if arrow.erratum:
        bx = rightmost + 6
        parts.append(f'<g class="erratum" data-erratum="{_esc(arrow.erratum)}">'
                     f'<rect x="{_n(bx)}" y="{_n(label_y - g.small)}" width="{_n(badge_w)}" '
                     f'height="{_n(g.small + 3)}" rx="3" fill="{ERRATUM_COLOUR}"/>'
                     f'<text x="{_n(bx + 3)}" y="{_n(label_y)}" font-size="{_n(g.small)}" '
                     f'font-weight="bold" fill="#fff">! {_esc(arrow.erratum)}</text></g>')
        rightmost = bx + badge_w
    frames = _frames(arrow)
    shown_frames = frames if len(frames) <= MAX_FRAMES_SHOWN else \
        frames[:MAX_FRAMES_SHOWN - 1] + ELLIPSIS
    parts.append(f'<text class="frames" x="{_n(g.pad)}" y="{_n(label_y)}" '
                 f'font-size="{_n(g.small)}"{weight}>{_esc(shown_frames)}</text>')
    height = g.row
    if not compact:
        if arrow.style != "missing":
            parts.append(f'<text class="offset" x="{_n(g.pad)}" y="{_n(line_y + g.small)}" '
                         f'font-size="{_n(g.small - 1)}" fill="#666">'
                         f'+{arrow.time - t0:.3f}</text>')
        if shown != label:
            full_w = _width(label, g.small_char)
            x = min(detail_x, max(lay.margin, lay.width - g.pad - full_w))
            parts.append(f'<text class="label-full" x="{_n(x)}" '
                         f'y="{_n(line_y + g.small + 4)}" font-size="{_n(g.small)}">'
                         f'{_esc(label)}</text>')
            rightmost = max(rightmost, x + full_w)
            height += g.detail
    parts.append("</g>")
    return "".join(parts), height, rightmost


def _notes(notes: tuple[str, ...], g: _Geometry, width: float) -> list[str]:
    """The notes wrapped to the drawing's width, at most a few lines each."""
    columns = max(int((width - 2 * g.pad) // g.small_char), 20)
    lines = []
    for note in notes:
        wrapped = textwrap.wrap(note, columns) or [""]
        if len(wrapped) > g.note_lines:
            wrapped = wrapped[:g.note_lines]
            wrapped[-1] = _cut(wrapped[-1] + " " + ELLIPSIS, columns * g.small_char,
                               g.small_char)
        lines += wrapped
    return lines

