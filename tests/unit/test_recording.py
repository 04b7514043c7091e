"""The read-back half of the shared capture pipeline (checks and race):
per-point packets, the merge, a time window of a series, its files."""

from __future__ import annotations

import pytest

from orchestrator.capture.recording import Captured
from orchestrator.packets import read, synth

pytestmark = pytest.mark.timeout(60)

T0 = 1_700_000_100.0


def recorded(tmp_path) -> Captured:
    first = synth.relay_race(0x5EED0001, T0)["xiaoming-eth0"]
    second = synth.relay_race(0x5EED0002, T0 + 1)["xiaoming-eth0"]
    paths = synth.save({"xiaoming-eth0": first + second,
                        "gw1-eth0": [first[1], second[1]]}, tmp_path, "race")
    captured = Captured().load(paths)
    captured.dropped = {"gw1-eth0": 2}
    return captured


def test_points_are_read_labelled_and_merged_in_time_order(tmp_path):
    captured = recorded(tmp_path)
    assert len(captured["xiaoming-eth0"]) == 6 and len(captured["gw1-eth0"]) == 2
    assert len(captured.all) == 8
    assert [p.time for p in captured.all] == sorted(p.time for p in captured.all)
    assert captured.incomplete() == "gw1-eth0 (2)"


def test_a_window_keeps_its_own_packets_and_saves_them_per_point_and_merged(tmp_path):
    part = recorded(tmp_path).between(T0 + 1, T0 + 2)
    assert len(part.all) == 4 and len(part["gw1-eth0"]) == 1
    assert {p.dhcp.xid for p in part.all} == {0x5EED0002}
    assert part.dropped == {"gw1-eth0": 2}
    files = part.save(tmp_path / "trial-02")
    assert [f.name for f in files] == ["xiaoming-eth0.pcap", "gw1-eth0.pcap", "merged.pcap"]
    merged = read(tmp_path / "trial-02" / "merged.pcap")
    assert len(merged) == 4
