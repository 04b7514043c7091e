"""The offline HTML report from synthetic run directories: charts that say
what they count, a verify page with one ladder per capture whose arrows are
the packets results.json counted, a failed check drawn with its missing
packet, race runs side by side with a mini-ladder per trial, nothing that
could fetch, and the ``report`` command; right directories and wrong ones.
The schedule of an overlapped verify run is a timeline whose bars are the
times results.json recorded; an older run without them gets none."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

from orchestrator.checks.base import Demonstrated
from orchestrator.checks.evidence import recorded
from orchestrator.cli import main
from orchestrator.ladder.model import BROADCAST, Arrow, Ladder, Lifeline
from orchestrator.ladder.svg import render_svg
from orchestrator.packets import synth
from orchestrator.report.charts import Span, bar_chart, bins_of, histogram, tick_step, timeline
from orchestrator.report.render import REPORT, write_report
from orchestrator.report.views import DRAWN_PER_LADDER, ReportInputError, within_budget
from orchestrator.results import race as race_results, verify as results
from orchestrator.results.verify import CheckRecord, Settings, VerifyRun
from tests.unit.test_ladder import merged

pytestmark = pytest.mark.timeout(60)

SVG = re.compile(r"<svg\b.*?</svg>", re.S)


def svgs(html: str, cls: str) -> list[ET.Element]:
    """The inline SVGs of a page with the given class, parsed."""
    found = [ET.fromstring(text) for text in SVG.findall(html)]
    return [s for s in found if cls in s.get("class", "").split()]


def arrows(svg: ET.Element) -> list[ET.Element]:
    return [g for g in svg.iter("{http://www.w3.org/2000/svg}g")
            if "arrow" in g.get("class", "").split()]


# ---------------------------------------------------------------- charts

def test_a_bar_chart_has_one_bar_per_outcome_with_its_count():
    chart = ET.fromstring(bar_chart({"10.1.1.0/24": 13, "10.1.2.0/24": 7}, "where"))
    bars = [r for r in chart.iter("{http://www.w3.org/2000/svg}rect")
            if r.get("class") == "bar"]
    assert [(b.get("data-label"), b.get("data-count")) for b in bars] == \
        [("10.1.1.0/24", "13"), ("10.1.2.0/24", "7")]
    assert float(bars[0].get("width")) > float(bars[1].get("width"))
    assert chart.get("data-total") == "20"
    assert "65%" in bar_chart({"a": 13, "b": 7}, "x")


def test_an_empty_bar_chart_says_so():
    assert "no trials" in bar_chart({}, "where")


@pytest.mark.parametrize("values,bins", [([], 0), ([1.0] * 5, 1), (list(range(100)), 10),
                                         ([0.1, 0.2, 0.9, 5.0], 2)])
def test_bins_cover_every_value_once(values, bins):
    found = bins_of(values)
    assert len(found) == bins
    assert sum(n for *_, n in found) == len(values)
    if found:
        assert found[0][0] == min(values) and found[-1][1] == max(values)


def test_a_histogram_draws_its_bins():
    chart = ET.fromstring(histogram([0.5, 0.6, 0.61, 2.0], "gap"))
    counts = [int(r.get("data-count")) for r in chart.iter("{http://www.w3.org/2000/svg}rect")]
    assert sum(counts) == 4 and chart.get("data-values") == "4"
    assert "no values" in histogram([], "gap")


SVG_NS = "{http://www.w3.org/2000/svg}"


def rects(svg: ET.Element, cls: str) -> list[ET.Element]:
    """The chart's rects of a class, not its legend's swatches."""
    legend = {id(r) for g in svg.iter(f"{SVG_NS}g") if g.get("class") == "legend"
              for r in g}
    return [r for r in svg.iter(f"{SVG_NS}rect")
            if cls in r.get("class", "").split() and id(r) not in legend]


SPANS = [Span("renew", 0.0, 10.0, wait=9.0, alongside=("dns", "web & co")),
         Span("dns", 2.0, 1.0, failed=True, alongside=("renew",)),
         Span("release", 10.0, 0.5)]


def test_a_timeline_has_one_bar_per_check_where_it_ran():
    chart = ET.fromstring(timeline(SPANS, "schedule"))
    bars = rects(chart, "span")
    rows = [g for g in chart.iter(f"{SVG_NS}g") if "span-row" in g.get("class", "")]
    assert [g.get("data-check") for g in rows] == ["renew", "dns", "release"]
    x = [float(b.get("x")) for b in bars]
    width = [float(b.get("width")) for b in bars]
    # one scale for all: 10.5 s across the plot, every bar from its start
    scale = width[0] / 10.0
    assert width[1] == pytest.approx(1.0 * scale, abs=0.1)
    assert width[2] == pytest.approx(0.5 * scale, abs=0.1)
    assert x[1] - x[0] == pytest.approx(2.0 * scale, abs=0.1)
    assert x[2] - x[0] == pytest.approx(10.0 * scale, abs=0.1)
    assert x[2] + width[2] - x[0] == pytest.approx(10.5 * scale, abs=0.1)
    assert [b.get("data-started") for b in bars] == ["0.000", "2.000", "10.000"]
    assert chart.get("data-end") == "10.500"


def test_a_timeline_shows_the_wait_as_a_share_and_marks_the_failed():
    text = timeline(SPANS, "schedule")
    chart = ET.fromstring(text)
    waits = rects(chart, "span-wait")
    assert len(waits) == 1                                  # only renew waited
    renew = rects(chart, "span")[0]
    assert float(waits[0].get("width")) == pytest.approx(0.9 * float(renew.get("width")),
                                                         abs=0.1)
    assert waits[0].get("x") == renew.get("x")
    assert waits[0].get("fill") == "url(#tl-hatch)"
    assert chart.find(f".//{SVG_NS}pattern[@id='tl-hatch']") is not None
    assert "not when it fell" in text                       # the legend says what it is not
    assert [b.get("class") for b in rects(chart, "span")] == \
        ["span pass", "span fail", "span pass"]
    marks = [t.text for t in chart.iter(f"{SVG_NS}text") if "span-mark" in t.get("class", "")]
    assert marks == ["FAIL"]
    hovers = [g.find(f"{SVG_NS}title").text for g in chart.iter(f"{SVG_NS}g")
              if "span-row" in g.get("class", "")]
    assert hovers[0] == ("renew: started 0 s, took 10 s, 9 s of it waiting on protocol timers; "
                         "alongside: dns, web & co")
    assert hovers[2].endswith("alongside: none")
    assert "web &amp; co" in text


@pytest.mark.parametrize("span,step", [(15.7, 2), (10.5, 2), (0.4, 0.05), (120, 20), (0, 1)])
def test_the_time_axis_steps_in_round_seconds(span, step):
    assert tick_step(span) == pytest.approx(step)


def test_an_empty_timeline_says_so():
    assert "no checks" in timeline([], "schedule")


# ---------------------------------------------------------------- verify

def verify_records(tmp_path, failed: bool = False) -> list[CheckRecord]:
    """Two checks over synthetic captures: dora (passing, or failed at its
    ACK; showing the ports erratum in its first frame) and a routed ping."""
    records = []
    for name, scenario in (("dora", synth.dora_relay()), ("ping", synth.routed_ping())):
        directory = tmp_path / "pcaps" / name
        directory.mkdir(parents=True)
        packets, block = merged(scenario, directory, name)
        shown = [Demonstrated("dhcp-ports", "x", packets[0])] if name == "dora" else []
        blocks, errata = recorded([block], shown)
        records.append(CheckRecord(name, True, f"{name} seen", seconds=1.5, errata=errata,
                                   captures=blocks))
    if failed:
        records[0] = records[0].failed(
            "step 4 of 4: expected dhcp(type=ACK) at xiaoming-eth0 <&>")
    return records


def verify_dir(tmp_path, failed: bool = False, **fields):
    """A verify output directory of :func:`verify_records`, as a run before
    checks overlapped wrote it (no start times)."""
    results.write(VerifyRun("enterprise", tuple(verify_records(tmp_path, failed)),
                            Settings(vlans=True, dhcp_backends=("dnsmasq",)), "enterprise", 3.0),
                  tmp_path)
    return tmp_path


def scheduled(tmp_path, failed: bool = False):
    """verify_dir as an overlapped run wrote it: dora from 0 s for 4 s of
    which 3 waiting, ping alongside it from 1 s for 2 s."""
    from dataclasses import replace
    dora, ping = verify_records(tmp_path, failed)
    dora = replace(dora, started=0.0, seconds=4.0, protocol_wait=3.0, alongside=("ping",))
    ping = replace(ping, started=1.0, seconds=2.0, protocol_wait=0.0, alongside=("dora",))
    results.write(VerifyRun("enterprise", (dora, ping), Settings(), "enterprise", 4.0, 1.2),
                  tmp_path)
    return tmp_path


def test_the_verify_page_draws_the_schedule_results_json_recorded(tmp_path):
    html = write_report(scheduled(tmp_path, failed=True)).read_text()
    [chart] = svgs(html, "timeline")
    bars = rects(chart, "span")
    assert [(b.get("data-started"), b.get("data-seconds"), b.get("data-wait")) for b in bars] \
        == [("0.000", "4.000", "3.000"), ("1.000", "2.000", "0.000")]
    assert float(bars[1].get("width")) == pytest.approx(float(bars[0].get("width")) / 2, abs=0.1)
    assert [b.get("class") for b in bars] == ["span fail", "span pass"]
    assert len(rects(chart, "span-wait")) == 1
    assert "alongside: ping" in html and "alongside: dora" in html
    assert "6.0 s of checks in 4.0 s of wall time (1.5&times;); 3.0 s of it waiting" in html
    assert html.index("<h2>Schedule</h2>") < html.index('id="check-dora"')


def test_an_older_run_without_start_times_has_no_schedule(tmp_path):
    html = write_report(verify_dir(tmp_path)).read_text()
    assert svgs(html, "timeline") == [] and "Schedule" not in html


def test_the_verify_page_draws_every_packet_results_json_counted(tmp_path):
    html = write_report(verify_dir(tmp_path)).read_text()
    ladders = svgs(html, "ladder")
    assert len(ladders) == 2
    counted = [b.packets for check in results.read(tmp_path).checks for b in check.captures]
    drawn = [len([a for a in arrows(s) if "style-missing" not in a.get("class")])
             for s in ladders]
    assert drawn == counted and all(counted)
    assert [s.get("data-arrows") for s in ladders] == [str(n) for n in counted]
    assert 'id="check-dora"' in html and 'id="check-ping"' in html
    assert "dhcp-ports" in html and "the client sends from 68 to 67" in html
    assert len(ladders[0].findall(".//{*}g[@data-erratum='dhcp-ports']")) == 1
    # the station names come from the recorded model: enterprise's
    assert "xiaoming" in html and "gw1" in html


def test_the_verify_page_links_its_pcaps_relatively(tmp_path):
    directory = verify_dir(tmp_path)
    html = write_report(directory).read_text()
    links = re.findall(r'href="([^"]+)"', html)
    pcaps = [link for link in links if link.endswith(".pcap")]
    assert pcaps and all(not link.startswith("/") and (directory / link).is_file()
                         for link in pcaps)


def test_a_failed_check_is_drawn_with_its_missing_packet(tmp_path):
    html = write_report(verify_dir(tmp_path, failed=True)).read_text()
    dora = svgs(html, "ladder")[0]
    missing = [a for a in arrows(dora) if "style-missing" in a.get("class")]
    assert len(missing) == 1 and dora.get("data-missing") == "1"
    assert "expected dhcp(type=ACK) at xiaoming-eth0 &lt;&amp;&gt;" in html
    assert 'class="check fail"' in html


def test_the_header_says_how_the_lab_was_built_in_words(tmp_path):
    """Not Python's values (``dhcp_server None, guests None, serial False``)."""
    html = write_report(scheduled(tmp_path)).read_text()
    assert "VLANs, no DHCP server, checks overlapped" in html
    assert "the lab came up in 1.2 s" in html
    assert not re.search(r"\bNone\b|\bFalse\b|\bTrue\b|dhcp_server|serial", html)
    html = write_report(verify_dir(tmp_path / "2")).read_text()
    assert "VLANs, DHCP server dnsmasq, checks overlapped" in html


def test_a_results_json_of_format_1_still_renders(tmp_path):
    """As verify wrote it before the format was recorded: options, one
    list of pcaps, counts apart, errata without frames (a note, no mark)."""
    directory = verify_dir(tmp_path)
    old = []
    for check in results.read(directory).checks:
        old.append({"name": check.name, "passed": check.passed, "evidence": check.evidence,
                    "failures": [], "seconds": 1.5, "pcaps": check.pcaps,
                    "errata": [{"key": e.key, "texts_say": "t", "capture_shows": "w",
                                "evidence": "e"} for e in check.errata],
                    "captures": [{"merged": b.merged, "frames": b.frames,
                                  "packets": b.packets} for b in check.captures]})
    (directory / "results.json").write_text(json.dumps({
        "topology": "enterprise", "spec": "enterprise",
        "options": {"vlans": True, "dhcp_server": None, "guests": None, "serial": False},
        "passed": True, "seconds": 3.0, "unbound": [], "checks": old}))
    html = write_report(directory).read_text()
    assert len(svgs(html, "ladder")) == 2 and "dhcp-ports" in html
    assert "shown by the check" in html


def test_a_results_json_of_a_newer_format_is_refused_saying_which(tmp_path):
    (tmp_path / "results.json").write_text(json.dumps({"format": 7, "checks": []}))
    with pytest.raises(results.ResultsError, match="format 7.*newer flowlab"):
        write_report(tmp_path)


def test_the_page_can_fetch_nothing(tmp_path):
    html = write_report(verify_dir(tmp_path)).read_text()
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    outside = [u for u in re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)""", html)
               if re.match(r"[a-z]+:", u)]
    assert outside == []
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", html)


# ---------------------------------------------------------------- race

def race_dir(top, label: str, vlans: bool, trials: int = 3):
    """A race output directory of ``trials`` synthetic trials."""
    from orchestrator.results.race import Offer, RaceRun, Trial
    top.mkdir(parents=True, exist_ok=True)
    found = []
    for index in range(1, trials + 1):
        directory = top / "pcaps" / f"trial-{index:02d}"
        directory.mkdir(parents=True)
        merged(synth.relay_race(xid=0x5EED0000 + index), directory, "t")
        found.append(Trial(index, hex(0x5EED0000 + index), [
            Offer("gw1", "10.1.1.1", "10.1.1.50", 0.8), Offer("gw2", "10.1.2.1", "10.1.2.50", 1.1)],
            gap_ms=0.3 * index, first_relay="gw1", requested="10.1.1.50",
            final_address="10.1.1.50", subnet="10.1.1.0/24",
            decided_by="gw1's copy relayed first (0.2 ms)", pcaps=str(directory)))
    race_results.write(RaceRun("enterprise", "dnsmasq", vlans, "xiaoming", found, 3.0,
                               "10.1.1.1", spec="enterprise", passed=True,
                               verdict=f"{label} verdict"), top)
    return top


def test_race_runs_are_drawn_side_by_side_with_a_mini_ladder_per_trial(tmp_path):
    race_dir(tmp_path / "flat", "flat", False)
    race_dir(tmp_path / "vlan", "vlan", True, trials=2)
    assert [p.parent.name for p in race_results.files(tmp_path)] == ["flat", "vlan"]
    html = write_report(tmp_path).read_text()
    assert html.count('class="run pass"') == 2
    assert html.index("flat verdict") < html.index("vlan verdict")
    assert len(svgs(html, "bars")) == 4 and len(svgs(html, "histogram")) == 2
    minis = svgs(html, "ladder")
    assert len(minis) == 5 and all(arrows(s) for s in minis)
    assert "gw1&#39;s copy relayed first" in html or "gw1's copy relayed first" in html


def test_a_trial_without_its_capture_says_so(tmp_path):
    top = race_dir(tmp_path, "flat", False, trials=1)
    (top / "pcaps" / "trial-01" / "merged.pcap").unlink()
    html = write_report(top).read_text()
    assert "no ladder: no capture at" in html


def test_a_directory_of_neither_kind_is_refused(tmp_path):
    with pytest.raises(ReportInputError, match="nothing to report"):
        write_report(tmp_path)
    (tmp_path / "race.json").write_text("{not json")
    with pytest.raises(ReportInputError, match="not a race.json"):
        write_report(tmp_path)


# ---------------------------------------------------------------- the command

def test_the_report_command(tmp_path, capsys):
    directory = verify_dir(tmp_path)
    assert main(["report", str(directory)]) == 0
    assert (directory / REPORT).is_file()
    assert str(directory / REPORT) in capsys.readouterr().err
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "no such directory" in capsys.readouterr().err


# ---------------------------------------------------------------- big labs

def _broadcasts(hosts: int, missing: bool = False):
    """A ladder like l2-scope's in a lab of ``hosts``: one broadcast per
    host, each crossing every lifeline; optionally an expected packet
    missing at the end."""
    names = [f"h{i}" for i in range(hosts)]
    arrows = [Arrow((i + 1,), float(i), n, BROADCAST, f"ARP who-has from {n}", kind="arp",
                    broadcast=True, crossed=tuple(names)) for i, n in enumerate(names)]
    if missing:
        arrows.append(Arrow((), float(hosts), "h0", "h1", "expected tcp(flags=SA)",
                            kind="tcp", style="missing"))
    return Ladder("l2-scope: big", tuple(Lifeline(n, (f"{n}-eth0",)) for n in names),
                  tuple(arrows))


def test_a_ladder_past_the_budget_draws_its_first_packets_and_says_how_many_not():
    ladder = _broadcasts(100, missing=True)
    kept, omitted = within_budget(ladder, "merged.pcap")
    seen = [a for a in kept.arrows if a.style == "seen"]
    assert sum(1 + len(a.crossed) for a in seen) <= DRAWN_PER_LADDER
    assert seen == list(ladder.arrows[:len(seen)]) and omitted == 100 - len(seen) > 0
    assert kept.arrows[-1].style == "missing"          # why a check failed is always drawn
    assert f"{omitted} of the 100 packets" in kept.notes[-1]
    assert "merged.pcap holds them all" in kept.notes[-1]
    svg = render_svg(kept, uid="big")
    assert len(ET.fromstring(svg).findall(".//{*}g[@data-style='seen']")) == len(seen)


def test_a_ladder_within_the_budget_is_drawn_whole():
    ladder = _broadcasts(20)
    assert within_budget(ladder, "merged.pcap") == (ladder, 0)
