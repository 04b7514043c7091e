"""Small SVG charts for the report: a bar chart of counts (where the race's
client ended, whose OFFER came first), a histogram of values (the gap
between the OFFERs) and a timeline of a verify run's checks (which ran
alongside which, and how much of each was waiting).  Plain SVG strings, no
script and no library, so the report stays one offline file; every bar is
a ``rect.bar`` (a ``rect.span`` on the timeline) carrying what it shows as
data attributes, which is what the tests read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Mapping, Sequence

BAR_HEIGHT = 22
LABEL_WIDTH = 150
BAR_WIDTH = 300
COUNT_WIDTH = 90
HIST_WIDTH = 460
HIST_HEIGHT = 160
MAX_BINS = 20
TIMELINE_WIDTH = 600
TIMELINE_TICKS = 8


def _attr(value) -> str:
    return escape(str(value), quote=True)


def bar_chart(counts: Mapping[str, int], title: str, unit: str = "trials") -> str:
    """Horizontal bars, one per key, longest = most; the share in percent."""
    total = sum(counts.values())
    top = max(counts.values(), default=0)
    height = 28 + BAR_HEIGHT * max(len(counts), 1)
    width = LABEL_WIDTH + BAR_WIDTH + COUNT_WIDTH
    parts = [f'<svg class="chart bars" xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" data-total="{total}">',
             f'<title>{escape(title)}</title>',
             f'<text class="chart-title" x="0" y="16">{escape(title)}</text>']
    if not counts:
        parts.append(f'<text class="chart-empty" x="0" y="40">no {escape(unit)}</text>')
    for row, (label, count) in enumerate(counts.items()):
        y = 28 + row * BAR_HEIGHT
        length = BAR_WIDTH * count / top if top else 0
        share = f"{100 * count / total:.0f}%" if total else "-"
        parts.append(
            f'<g class="bar-row"><text class="bar-label" x="{LABEL_WIDTH - 6}" y="{y + 15}" '
            f'text-anchor="end">{escape(str(label))}</text>'
            f'<rect class="bar" x="{LABEL_WIDTH}" y="{y + 3}" width="{length:.1f}" '
            f'height="{BAR_HEIGHT - 6}" data-label="{_attr(label)}" data-count="{count}">'
            f'<title>{escape(str(label))}: {count} {escape(unit)} ({share})</title></rect>'
            f'<text class="bar-count" x="{LABEL_WIDTH + length + 6:.1f}" y="{y + 15}">'
            f'{count} ({share})</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def bins_of(values: Sequence[float], most: int = MAX_BINS) -> list[tuple[float, float, int]]:
    """(low, high, count) of equal-width bins over the values, as many as the
    square root of their number (1 to ``most``); the last bin is closed."""
    if not values:
        return []
    low, high = min(values), max(values)
    count = max(1, min(most, math.ceil(math.sqrt(len(values)))))
    if high == low:
        return [(low, high, len(values))]
    width = (high - low) / count
    tally = [0] * count
    for v in values:
        tally[min(int((v - low) / width), count - 1)] += 1
    return [(low + i * width, low + (i + 1) * width, n) for i, n in enumerate(tally)]


def histogram(values: Sequence[float], title: str, unit: str = "ms") -> str:
    """Vertical bars of how many values fall in each bin, the range below."""
    bins = bins_of(values)
    top = max((n for *_, n in bins), default=0)
    width, height = HIST_WIDTH, HIST_HEIGHT + 84
    base = 40 + HIST_HEIGHT
    parts = [f'<svg class="chart histogram" xmlns="http://www.w3.org/2000/svg" '
             f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'data-values="{len(values)}">',
             f'<title>{escape(title)}</title>',
             f'<text class="chart-title" x="0" y="16">{escape(title)}</text>']
    if not bins:
        parts.append('<text class="chart-empty" x="0" y="44">no values</text></svg>')
        return "".join(parts)
    step = (width - 40) / len(bins)
    for i, (low, high, n) in enumerate(bins):
        h = HIST_HEIGHT * n / top if top else 0
        x = 30 + i * step
        parts.append(f'<rect class="bar" x="{x + 1:.1f}" y="{base - h:.1f}" '
                     f'width="{max(step - 2, 1):.1f}" height="{h:.1f}" data-count="{n}" '
                     f'data-low="{low:.4f}" data-high="{high:.4f}"><title>{low:.3f}'
                     f'–{high:.3f} {escape(unit)}: {n}</title></rect>')
        if n:
            parts.append(f'<text class="bar-count" x="{x + step / 2:.1f}" y="{base - h - 3:.1f}" '
                         f'text-anchor="middle">{n}</text>')
    parts.append(f'<line class="axis" x1="30" y1="{base}" x2="{width - 10}" y2="{base}"/>')
    low, high = bins[0][0], bins[-1][1]
    parts.append(f'<text class="axis-label" x="30" y="{base + 16}">{low:.3f} {escape(unit)}'
                 f'</text><text class="axis-label" x="{width - 10}" y="{base + 16}" '
                 f'text-anchor="end">{high:.3f} {escape(unit)}</text>'
                 f'<text class="axis-label" x="{width / 2:.0f}" y="{base + 34}" '
                 f'text-anchor="middle">{len(values)} values, {len(bins)} bins</text>')
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class Span:
    """One check on the timeline, in seconds after the first check started."""

    name: str
    started: float
    seconds: float
    wait: float = 0.0                   # of ``seconds``, spent waiting on protocol timers
    failed: bool = False
    skipped: bool = False
    alongside: tuple[str, ...] = ()


def tick_step(span: float, most: int = TIMELINE_TICKS) -> float:
    """The smallest 1, 2 or 5 times a power of ten that cuts ``span`` into
    at most ``most`` steps, so the axis reads in round seconds."""
    if span <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(span / most))
    for factor in (1, 2, 5, 10):
        if span / (factor * power) <= most:
            return factor * power
    return 10 * power


def _seconds(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".") or "0"


def timeline(spans: Sequence[Span], title: str, uid: str = "tl") -> str:
    """One row per check, a bar from its start to its end on a shared axis
    in seconds.  Only the total of a check's protocol waits is recorded,
    not when they fell, so the hatched part is that share of the bar drawn
    from its start, and the legend says so."""
    end = max((s.started + s.seconds for s in spans), default=0.0)
    scale = TIMELINE_WIDTH / end if end > 0 else 0.0
    top = 50
    base = top + BAR_HEIGHT * max(len(spans), 1)
    width = LABEL_WIDTH + TIMELINE_WIDTH + COUNT_WIDTH
    height = base + 36
    hatch = f"{uid}-hatch"
    parts = [f'<svg class="chart timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" data-checks="{len(spans)}" '
             f'data-end="{end:.3f}">',
             f'<title>{escape(title)}</title>',
             f'<defs><pattern id="{_attr(hatch)}" patternUnits="userSpaceOnUse" width="6" '
             f'height="6" patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" '
             f'stroke="#fff" stroke-width="3" stroke-opacity="0.75"/></pattern></defs>',
             f'<text class="chart-title" x="0" y="16">{escape(title)}</text>',
             _timeline_legend(hatch)]
    if not spans:
        parts.append(f'<text class="chart-empty" x="0" y="{top + 15}">no checks</text></svg>')
        return "".join(parts)
    # the grid first, so the bars lie on it
    parts.append(f'<line class="axis" x1="{LABEL_WIDTH}" y1="{base}" '
                 f'x2="{LABEL_WIDTH + TIMELINE_WIDTH}" y2="{base}"/>')
    step = tick_step(end)
    for i in range(int(end / step + 1e-9) + 1):
        x = LABEL_WIDTH + i * step * scale
        parts.append(f'<line class="tick" x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{base + 4}"/>'
                     f'<text class="axis-label" x="{x:.1f}" y="{base + 16}" '
                     f'text-anchor="middle">{_seconds(i * step)}</text>')
    parts.append(f'<text class="axis-label" x="{LABEL_WIDTH + TIMELINE_WIDTH / 2:.0f}" '
                 f'y="{base + 32}" text-anchor="middle">seconds after the first check started'
                 f'</text>')
    for row, s in enumerate(spans):
        y = top + row * BAR_HEIGHT
        x = LABEL_WIDTH + s.started * scale
        length = s.seconds * scale
        waited = length * min(max(s.wait / s.seconds, 0.0), 1.0) if s.seconds > 0 else 0.0
        state = "skipped" if s.skipped else ("fail" if s.failed else "pass")
        hover = (f"{s.name}: started {_seconds(s.started)} s, took {_seconds(s.seconds)} s, "
                 f"{_seconds(s.wait)} s of it waiting on protocol timers; alongside: "
                 f"{', '.join(s.alongside) or 'none'}")
        parts.append(
            f'<g class="span-row {state}" data-check="{_attr(s.name)}"><title>{escape(hover)}'
            f'</title><text class="bar-label" x="{LABEL_WIDTH - 6}" y="{y + 15}" '
            f'text-anchor="end">{escape(s.name)}</text>'
            f'<rect class="span {state}" x="{x:.1f}" y="{y + 3}" width="{length:.1f}" '
            f'height="{BAR_HEIGHT - 6}" data-started="{s.started:.3f}" '
            f'data-seconds="{s.seconds:.3f}" data-wait="{s.wait:.3f}"/>')
        if waited > 0:
            parts.append(f'<rect class="span-wait" x="{x:.1f}" y="{y + 3}" '
                         f'width="{waited:.1f}" height="{BAR_HEIGHT - 6}" '
                         f'fill="url(#{_attr(hatch)})"/>')
        if state != "pass":
            parts.append(f'<text class="span-mark {state}" x="{x + length + 4:.1f}" '
                         f'y="{y + 15}">{"FAIL" if state == "fail" else "skipped"}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _timeline_legend(hatch: str) -> str:
    y = 26
    return (f'<g class="legend"><rect class="span pass" x="0" y="{y}" width="14" height="12"/>'
            f'<text x="18" y="{y + 10}">check, start to end</text>'
            f'<rect class="span pass" x="170" y="{y}" width="14" height="12"/>'
            f'<rect class="span-wait" x="170" y="{y}" width="14" height="12" '
            f'fill="url(#{_attr(hatch)})"/><text x="188" y="{y + 10}">waiting on protocol '
            f'timers: its share of the check, not when it fell</text>'
            f'<rect class="span fail" x="{LABEL_WIDTH + TIMELINE_WIDTH - 20}" y="{y}" '
            f'width="14" height="12"/><text x="{LABEL_WIDTH + TIMELINE_WIDTH - 2}" '
            f'y="{y + 10}">failed</text></g>')


CHART_CSS = """
svg.chart { font-family: sans-serif; font-size: 12px; }
svg.chart .chart-title { font-weight: bold; font-size: 13px; }
svg.chart .bar { fill: #4a7fb5; }
svg.chart .bar:hover { fill: #2b5a8a; }
svg.chart .axis { stroke: #555; }
svg.chart .axis-label, svg.chart .chart-empty { fill: #555; }
svg.chart .tick { stroke: #ddd; }
svg.chart .span { fill: #4a7fb5; }
svg.chart .span.fail { fill: #b00; }
svg.chart .span.skipped { fill: #aaa; }
svg.chart .span-row:hover .span { stroke: #222; }
svg.chart .span-mark.fail { fill: #b00; font-weight: bold; }
svg.chart .span-mark.skipped { fill: #777; }
"""
