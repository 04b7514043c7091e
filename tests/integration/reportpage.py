"""A run's report.html opened in the real browser the set-up installs
(headless chromium over the DevTools protocol), and what the page holds as
the browser laid it out: per check, per ladder, the arrows drawn, the
missing ones and how they are stroked."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.report.browser import PageVisit, open_page, unavailable_reason

LADDERS = """
(() => [...document.querySelectorAll('section.check')].map(section => ({
  name: section.dataset.check,
  failed: section.classList.contains('fail'),
  ladders: [...section.querySelectorAll('figure.ladder')].map(figure => {
    const svg = figure.querySelector('svg.ladder');
    const missing = svg ? [...svg.querySelectorAll('g.arrow.style-missing')] : [];
    return {
      packets: figure.dataset.packets === undefined ? null : Number(figure.dataset.packets),
      omitted: Number(figure.dataset.omitted || 0),
      arrows: svg ? svg.querySelectorAll('g.arrow:not(.style-missing)').length : -1,
      instead: svg ? svg.querySelectorAll('g.arrow.style-instead').length : -1,
      missing: missing.length,
      dashed: missing.map(g => getComputedStyle(g.querySelector('.shaft')).strokeDasharray),
      width: svg ? svg.getBoundingClientRect().width : 0,
    };
  }),
})))()
"""


def visit(report: Path, screenshot: Path) -> PageVisit:
    """A verify report opened, its ladders read as the browser laid them out."""
    return open_report(report, screenshot, LADDERS)


def open_report(report: Path, screenshot: Path, script: str) -> PageVisit:
    """Open the page and run ``script`` in it (skipped only where no browser
    can be had, saying why): no console error, no request, a screenshot."""
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"no real browser on this machine: {reason}")
    assert report.is_file(), f"{report} was not written"
    page = open_page(report, screenshot=screenshot, evaluate=script, timeout=60)
    assert page.console_errors == [], page.console_errors
    assert page.requests == [], f"the page tried to fetch: {page.requests}"
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return page
