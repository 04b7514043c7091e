"""The records of a run and the verify pipeline as a library, without root:
results.json written and read back as the same typed record, older and
newer formats, settings said in words, errata located by their frame; and
``verify()`` driven with checks that need no network, its report drawn, a
drawing that fails noted and not raised."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from orchestrator.checks.base import Check, Demonstrated
from orchestrator.checks.evidence import recorded
from orchestrator.lab import LabSettings
from orchestrator.model import registry
from orchestrator.packets import synth
from orchestrator.results import ResultsError, kind_of, verify as results
from orchestrator.results.verify import CaptureBlock, CheckRecord, Settings, VerifyRun
from orchestrator.verify import verify
from tests.unit.test_ladder import merged

pytestmark = pytest.mark.timeout(60)


def a_run(**changes) -> VerifyRun:
    check = CheckRecord("dora", True, "seen", seconds=1.25, protocol_wait=0.5, started=0.1,
                        alongside=("web",),
                        captures=(CaptureBlock("p/merged.pcap", ("p/a.pcap",), 4, 3),))
    run = VerifyRun("enterprise", (check, replace(check, name="web", alongside=("dora",))),
                    Settings(False, "isc", 3, True, "os-ken (l2)", ("isc",)), "enterprise",
                    2.5, 1.5,
                    ("pc9:pc9-eth0 got no lease",))
    return replace(run, **changes)


def test_a_run_is_written_and_read_back_as_the_same_record(tmp_path):
    run = a_run()
    path = results.write(run, tmp_path)
    assert path == tmp_path / results.FILE and kind_of(tmp_path) == "verify"
    assert results.read(tmp_path) == run
    assert json.loads(path.read_text())["format"] == results.FORMAT


def test_settings_read_as_words_not_python_values():
    assert a_run().settings.describe() == ("flat (no VLANs), DHCP server isc, 3 guests, "
                                           "OpenFlow controller os-ken (l2), one check at a time")
    assert Settings().describe() == "VLANs, no DHCP server, checks overlapped"


def test_a_run_passes_only_when_it_has_checks_and_all_passed():
    assert a_run().passed
    assert not a_run(checks=()).passed
    failed = a_run().checks[0].failed("no ACK\nthe packets were: ...")
    assert not failed.passed and failed.first_failure == "no ACK"
    assert not a_run(checks=(failed,)).passed


@pytest.mark.parametrize("text,said", [
    (None, "no results.json (not a verify output directory)"),
    ("{broken", "not JSON"),
    ('{"format": 9, "checks": []}', "format 9; this flowlab reads formats 1 to 2 (written by a "
                                    "newer flowlab)"),
    ('{"format": 2, "checks": [{}]}', "not a results.json of verify (format 2: KeyError"),
])
def test_a_missing_broken_or_newer_file_is_refused_saying_why(tmp_path, text, said):
    if text is not None:
        (tmp_path / results.FILE).write_text(text)
    with pytest.raises(ResultsError) as refused:
        results.read(tmp_path)
    assert said in str(refused.value)


def test_errata_are_located_by_the_frame_of_their_packet(tmp_path):
    """The packet a judge pointed at, read from a point's file, is found in
    its block's merged pcap by time and bytes; one found in no block is
    kept without a frame."""
    first = tmp_path / "one"
    second = tmp_path / "two"
    first.mkdir(), second.mkdir()
    dora, dora_block = merged(synth.dora_relay(), first, "dora")
    ping, ping_block = merged(synth.routed_ping(), second, "ping")
    elsewhere = merged(synth.dns_udp(), tmp_path, "dns")[0][0]
    blocks, errata = recorded([dora_block, ping_block], [
        Demonstrated("dhcp-ports", "x", dora[1]), Demonstrated("arp-ethertype", "y", ping[2]),
        Demonstrated("time-wait", "z", elsewhere), Demonstrated("keepalive", "w")])
    assert [(e.key, e.capture, e.frame) for e in errata] == [
        ("dhcp-ports", dora_block.merged, 2), ("arp-ethertype", ping_block.merged, 3),
        ("time-wait", None, None), ("keepalive", None, None)]
    assert [b.frames for b in blocks] == [len(dora), len(ping)]
    assert all(b.packets for b in blocks)
    assert errata[0].texts_say.startswith("000: DISCOVER goes to port 68")


# ---------------------------------------------------------------- verify() as a library

class Said(Check):
    """A check that needs no network: it says its name, or fails."""

    def __init__(self, name: str, fails: bool = False):
        self.name, self.fails = name, fails

    def run(self, ctx) -> str:
        assert not self.fails, f"{self.name}: expected a packet that never came"
        return f"{self.name} said"


class NoNetwork:
    """What verify() asks of a lab that is up, with no network behind it."""

    def __init__(self):
        self.topo = registry.load("tests/topologies/chain.py")
        self.spec = "tests/topologies/chain.py"
        self.settings = LabSettings()
        self.controller = None
        self.unbound = []
        self.bringup_seconds = 0.75
        self.services = self

    def all(self, _kind=None) -> list:
        """No daemon runs: ``lab.services.all(kind)``."""
        return []


def test_verify_runs_records_and_draws(tmp_path):
    heard, notes = [], []
    run = verify(NoNetwork(), [Said("one"), Said("two", fails=True)], tmp_path,
                 on_check=heard.append, note=notes.append)
    assert [c.name for c in run.checks] == ["one", "two"]
    assert (run.checks[0].passed, run.checks[0].evidence) == (True, "one said")
    assert not run.checks[1].passed and "never came" in run.checks[1].first_failure
    assert not run.passed and run.bringup_seconds == 0.75
    assert sorted(c.name for c in heard) == ["one", "two"]
    assert results.read(tmp_path) == run
    assert run.spec.endswith("chain.py") and run.settings.describe().startswith("VLANs")
    assert (tmp_path / "report.html").is_file() and notes == [
        f"report: {tmp_path / 'report.html'}"]


def test_a_report_that_cannot_be_drawn_is_noted_and_the_verdict_stands(tmp_path, monkeypatch):
    import orchestrator.report.render as render

    def broken(_directory, _topo=None):
        raise ValueError("a drawing's bug")
    monkeypatch.setattr(render, "write_report", broken)
    notes = []
    run = verify(NoNetwork(), [Said("one")], tmp_path, note=notes.append)
    assert run.passed and results.read(tmp_path) == run
    assert notes == ["no report.html: ValueError(\"a drawing's bug\")"]


# ---------------------------------------------------------------- grades

def test_a_grade_is_written_and_read_back_and_adds_up(tmp_path):
    from orchestrator.results import grade as grades
    from orchestrator.results.grade import Grade, Verdict
    graded = Grade("nat-off", "enterprise", (
        Verdict("reach", "breaks", False, 0, 2, "no reply", ("12.0 ICMP echo",), "look at edge"),
        Verdict("l2-scope", "keeps", True, 1, 1, evidence="heard")), "s1", "no web", 3.25,
        "2026-12-04T10:00:00+0000")
    assert (graded.points, graded.max_points, graded.solved) == (1, 3, False)
    path = grades.write(graded, tmp_path)
    assert path.name == "grade.json" and grades.read(path) == graded
    data = json.loads(path.read_text())
    assert (data["points"], data["max_points"], data["solved"]) == (1, 3, False)


def test_a_file_that_is_not_a_grade_is_refused_naming_it(tmp_path):
    from orchestrator.results import grade as grades
    (tmp_path / "notes.json").write_text('{"todo": 1}')
    with pytest.raises(ResultsError, match="notes.json: not a grade"):
        grades.read(tmp_path / "notes.json")
