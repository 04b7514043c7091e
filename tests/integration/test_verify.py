"""``verify`` end to end: every check of every topology passes in a real lab,
with both DHCP backends; results.json and the pcaps are where they belong;
and the assertion library reads the project's own captures as tshark does."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.checks import all_checks
from orchestrator.model import registry
from orchestrator.packets.crosscheck import crosscheck
from orchestrator.results import verify as results
from orchestrator.results.verify import VerifyRun

from .reportpage import open_report, visit
from .test_cli_lifecycle import flowlab

pytestmark = pytest.mark.root

RUNS = [("enterprise", "dnsmasq"), ("enterprise", "isc"), ("home", "dnsmasq"),
        ("arp-lan", None)]


def run_verify(topology: str, backend: str | None, out: Path, *extra: str) -> VerifyRun:
    args = ["verify", topology, "--out", str(out), *extra]
    if backend:
        args += ["--dhcp-server", backend]
    result = flowlab(*args, timeout=900)
    run = results.read(out)
    failed = {c.name: c.failures for c in run.checks if not c.passed}
    assert result.returncode == 0 and not failed, f"{failed}\n{result.stdout[-3000:]}"
    return run


@pytest.fixture(scope="module")
def enterprise_run(tmp_path_factory, untouched_machine_module):
    out = tmp_path_factory.mktemp("verify-enterprise")
    return out, run_verify("enterprise", "dnsmasq", out)


def test_every_enterprise_check_passes(enterprise_run):
    out, report = enterprise_run
    topo = registry.load("enterprise")
    expected = {c.name for c in all_checks() if c.applies_to(topo)}
    assert {"dhcp", "reach", "l2-scope", "nat", "dns", "http"} < expected   # derived, and
    assert {"dora-relay", "web-11", "tcp-faults"} < expected                # the textbook's
    assert {c.name for c in report.checks} == expected
    for check in report.checks:
        assert check.evidence, check.name
        for pcap in check.pcaps:
            assert Path(pcap).is_file() and Path(pcap).is_relative_to(out / "pcaps")
        assert any(p.endswith("merged.pcap") for p in check.pcaps), check.name


def test_errata_are_shown_by_captures(enterprise_run):
    _out, report = enterprise_run
    shown = {e.key for c in report.checks for e in c.errata}
    assert {"dhcp-ports", "relay-source", "arp-ethertype"} <= shown
    # each marked on the very frame its check judged: a frame of its own capture
    for check in report.checks:
        for erratum in check.errata:
            assert erratum.frame and erratum.capture in {b.merged for b in check.captures}, \
                (check.name, erratum)


def test_the_library_reads_the_projects_captures_as_tshark_does(enterprise_run):
    out, _report = enterprise_run
    merged = sorted((out / "pcaps").glob("*/merged.pcap"))
    assert merged
    for path in merged:
        crosscheck(path).assert_ok()


def test_the_report_draws_every_packet_in_a_real_browser_offline(enterprise_run):
    """report.html of the run, opened from file:// in headless chromium: no
    console error, no request leaves the page, every check has its ladders
    and each ladder draws as many arrows as results.json counted packets."""
    out, report = enterprise_run
    page = visit(out / "report.html", out / "report.png")
    drawn = {c["name"]: c for c in page.value}
    assert set(drawn) == {c.name for c in report.checks}
    for check in report.checks:
        ladders = drawn[check.name]["ladders"]
        assert ladders, f"{check.name}: no ladder in the page"
        assert [(l["packets"], l["arrows"] + l["omitted"]) for l in ladders] == \
            [(b.packets, b.packets) for b in check.captures], check.name
        assert all(l["missing"] == 0 and l["width"] > 0 for l in ladders), check.name


SCHEDULE = """
(() => [...document.querySelectorAll('svg.timeline g.span-row')].map(row => ({
  name: row.dataset.check,
  started: Number(row.querySelector('rect.span').dataset.started),
  width: row.querySelector('rect.span').getBoundingClientRect().width,
  hatched: row.querySelector('rect.span-wait') !== null,
})))()
"""


def test_the_report_draws_the_schedule(enterprise_run):
    """The page's timeline, as the browser laid it out: a bar per check at
    its start, hatched where the check waited on protocol timers."""
    out, report = enterprise_run
    rows = open_report(out / "report.html", out / "schedule.png", SCHEDULE).value
    assert [r["name"] for r in rows] == [c.name for c in report.checks]
    for row, check in zip(rows, report.checks):
        assert row["started"] == pytest.approx(check.started, abs=1e-3)
        assert row["width"] > 0 and row["hatched"] == (check.protocol_wait > 0), row


ALONE = {"arp-same-subnet", "cross-subnet", "rarp-vs-dhcp", "dhcp", "l2-scope", "reach"}


def test_idle_waits_carry_other_checks(enterprise_run):
    """renew's T1 and tcp-faults' timers overlap each other and other
    checks; the checks whose captures admit everything ran alone; and the
    overlapped checks passed the proof that their captures hold none of
    the others' packets (a failure would say "ambiguous")."""
    _out, report = enterprise_run
    by_name = {c.name: c for c in report.checks}
    assert "tcp-faults" in by_name["renew"].alongside
    assert by_name["renew"].alongside and by_name["tcp-faults"].alongside
    for name in ALONE:
        assert by_name[name].alongside == (), name
    for check in report.checks:
        for other in check.alongside:
            assert check.name in by_name[other].alongside
            mine, theirs = check, by_name[other]
            assert mine.started < theirs.started + theirs.seconds
    span = max(c.started + c.seconds for c in report.checks)
    assert span < sum(c.seconds for c in report.checks)


@pytest.mark.parametrize("topology,backend,extra", [(*RUNS[1], ("--serial",)), (*RUNS[2], ()),
                                                     (*RUNS[3], ())],
                         ids=["enterprise-isc-serial", "home", "arp-lan"])
def test_verify_passes(topology, backend, extra, tmp_path, untouched_machine):
    report = run_verify(topology, backend, tmp_path, *extra)
    assert report.passed and report.checks
    if extra:          # one check at a time
        assert report.settings.serial and not any(c.alongside for c in report.checks)
