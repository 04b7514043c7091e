"""Small SVG charts for the report: a bar chart of counts (where the race's
client ended, whose OFFER came first) and a histogram of values (the gap
between the OFFERs).  Plain SVG strings, no script and no library, so the
report stays one offline file; every bar is a ``rect.bar`` carrying its
label and count as data attributes, which is what the browser test reads.
"""

from __future__ import annotations

import math
from html import escape
from typing import Mapping, Sequence

BAR_HEIGHT = 22
LABEL_WIDTH = 150
BAR_WIDTH = 300
COUNT_WIDTH = 90
HIST_WIDTH = 460
HIST_HEIGHT = 160
MAX_BINS = 20


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


CHART_CSS = """
svg.chart { font-family: sans-serif; font-size: 12px; }
svg.chart .chart-title { font-weight: bold; font-size: 13px; }
svg.chart .bar { fill: #4a7fb5; }
svg.chart .bar:hover { fill: #2b5a8a; }
svg.chart .axis { stroke: #555; }
svg.chart .axis-label, svg.chart .chart-empty { fill: #555; }
"""
