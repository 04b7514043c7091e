"""``DIR/report.html``: one self-contained file per run directory.

Everything is inline (SVG, CSS, a few lines of script for the filters) and a
Content-Security-Policy forbids the page any fetch, so it opens the same from
file:// in a course VM without network as on the machine that ran it.  The
page is rendered from the run's own files (results.json or race.json, and
the pcaps they list), so ``report DIR`` gives what verify or race wrote.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import jinja2

from .. import __version__
from ..errors import FlowlabError
from ..ladder.model import KINDS
from ..ladder.svg import KIND_COLOURS, LADDER_CSS
from ..results import ResultsError, kind_of, verify as verify_results
from .charts import CHART_CSS
from .views import ReportInputError, race_view, verify_view

REPORT = "report.html"
OPEN_TRIALS = 5
"""Trials whose mini-ladder is unfolded when the page opens."""

PAGE_CSS = """
body { font-family: sans-serif; margin: 0 1.5em 2em; color: #222; }
header h1 { margin-bottom: 0.1em; }
.made, .note { color: #666; font-size: 90%; }
nav.filters { position: sticky; top: 0; background: #fafafa; border-bottom: 1px solid #ddd;
  padding: 0.4em 0; z-index: 1; font-size: 90%; }
nav.filters label { margin-right: 1em; white-space: nowrap; }
.swatch { display: inline-block; width: 0.8em; height: 0.8em; margin-right: 0.2em;
  vertical-align: middle; background: currentColor; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 0.2em 0.5em; text-align: left; vertical-align: top; }
td.num { text-align: right; white-space: nowrap; }
tr.fail td.result, .fail > h2 .badge, .run.fail .badge { color: #b00; font-weight: bold; }
tr.pass td.result, .pass > h2 .badge, .run.pass .badge { color: #070; }
section.check { border-top: 2px solid #ccc; margin-top: 1.5em; }
section.check.fail { border-top-color: #b00; }
pre.failure { background: #fff3f3; border-left: 3px solid #b00; padding: 0.5em;
  white-space: pre-wrap; }
figure.ladder { margin: 0.8em 0; }
figure.ladder figcaption { font-size: 90%; color: #444; margin-bottom: 0.3em; }
.scroll { overflow-x: auto; }
.runs { display: grid; gap: 1em; }
.run { border: 1px solid #ddd; padding: 0 0.8em 0.8em; }
details.trial { margin: 0.3em 0; }
details.trial.problem > summary { color: #b00; }
body.only-failed section.check.pass { display: none; }
"""

SCRIPT = """
(function () {
  document.querySelectorAll('input[data-kind]').forEach(function (box) {
    box.addEventListener('change', function () {
      document.body.classList.toggle('hide-' + box.dataset.kind, !box.checked);
    });
  });
  var failed = document.getElementById('only-failed');
  if (failed) {
    failed.addEventListener('change', function () {
      document.body.classList.toggle('only-failed', failed.checked);
    });
  }
})();
"""

FILTER_CSS = "".join(f"body.hide-{k} g.arrow.kind-{k} {{ opacity: 0.08; }}\n"
                     f".swatch.kind-{k} {{ background: {KIND_COLOURS[k]}; }}\n" for k in KINDS)

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _page(template: str, title: str, source: Path, **context) -> str:
    return _env.get_template(template).render(
        title=title, source=str(source), version=__version__, kinds=KINDS,
        made=time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        css=PAGE_CSS + LADDER_CSS + CHART_CSS + FILTER_CSS, script=SCRIPT, **context)


def verify_report(directory: Path, topo_spec: str | None = None) -> str:
    """The page of a verify output directory."""
    view = verify_view(directory, topo_spec)
    return _page("verify.html.j2", f"verify {view.run.topology}",
                 verify_results.path_of(directory), view=view)


def race_report(directory: Path, topo_spec: str | None = None) -> str:
    """The page of a race output directory (one run, or several side by side)."""
    view = race_view(directory, topo_spec)
    title = f"race: {view.client} on {view.topology}"
    return _page("race.html.j2", title, directory, view=view, open_trials=OPEN_TRIALS)


def write_report(directory: Path, topo_spec: str | None = None) -> Path:
    """Render ``directory/report.html`` from what is in the directory."""
    directory = Path(directory)
    try:
        kind = kind_of(directory)
    except ResultsError as exc:
        raise ReportInputError(f"{exc}: nothing to report") from None
    html = (verify_report if kind == "verify" else race_report)(directory, topo_spec)
    path = directory / REPORT
    path.write_text(html)
    return path


def draw_after_run(directory: Path, note: Callable[[str], None] = lambda message: None
                   ) -> Path | None:
    """``directory/report.html`` of a run that just ended.  A report that
    cannot be drawn is noted and the run goes on: its verdict stands
    without the drawing, and must not be hidden by it."""
    try:
        path = write_report(directory)
    except Exception as exc:   # noqa: BLE001 - a drawing's failure is not the run's
        note(f"no report.html: {exc if isinstance(exc, FlowlabError) else repr(exc)}")
        return None
    note(f"report: {path}")
    return path
