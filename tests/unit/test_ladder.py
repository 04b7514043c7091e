"""Ladder diagrams from synthetic captures: lifelines in path order, one
arrow per packet, the same packet across hops and across the NAT as one
arrow, textbook labels, Wireshark's frame numbers, errata, failures drawn,
and the text fitting its width; right captures and wrong ones."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from orchestrator.cli import main
from orchestrator.ladder import (
    Arrow,
    build,
    draw_failure,
    draw_failure_text,
    frames_of,
    mark_errata,
)
from orchestrator.ladder.load import check_ladders, labelled, point_of
from orchestrator.ladder.text import render
from orchestrator.model import registry
from orchestrator.packets import ExpectationFailed, dhcp, expect, merge, read, synth, write_pcap
from orchestrator.results import verify as results
from orchestrator.results.verify import CaptureBlock, CheckRecord, ErratumShown, VerifyRun

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def enterprise():
    return registry.load("enterprise")


def merged(scenario, directory, name):
    """Write the points and their merge as verify does; read the merge back
    with its points, as the ladder command does: (packets, CaptureBlock)."""
    paths = synth.save(scenario, directory, name)
    points = {point: read(path, point) for point, path in paths.items()}
    named = {}
    for point, capture in points.items():       # files named <point>.pcap
        named[point] = write_pcap(directory / f"{point}.pcap", capture)
    merged_path = write_pcap(directory / "merged.pcap", merge(*points.values()))
    block = CaptureBlock(str(merged_path), tuple(str(p) for p in named.values()))
    return labelled(block), block


@pytest.fixture
def dora(tmp_path):
    return merged(synth.dora_relay(), tmp_path, "dora")[0]


@pytest.fixture
def web(tmp_path):
    return merged(synth.web11(), tmp_path, "web")[0]


@pytest.fixture
def ping(tmp_path):
    return merged(synth.routed_ping(), tmp_path, "ping")[0]


# ---------------------------------------------------------------- lifelines

def test_dhcp_through_a_relay_reads_client_relay_inside_outside_server(dora, enterprise):
    ladder = build(dora, enterprise)
    assert ladder.names == ["xiaoming", "gw1 (gw1-eth0)", "gw1 (gw1-eth1)", "srv"]
    assert ladder.lifelines[0].points == ("xiaoming-eth0",)
    assert ladder.lifelines[-1].points == ("srv-eth0",)


def test_web_through_nat_reads_client_gw1_edge_isp_web(web, enterprise):
    assert build(web, enterprise).names == ["xiaoming", "gw1", "edge", "isp", "web"]


def test_without_the_model_stations_are_named_by_point_address_or_mac(dora, web):
    assert build(dora).names == ["xiaoming", "10.1.1.1", "10.10.10.1", "srv"]
    names = build(web).names
    assert names[0] == "xiaoming" and "edge" in names and len(names) == 4


def test_a_router_captured_at_two_interfaces_is_two_lifelines_by_what_it_forwarded(tmp_path):
    scenario = synth.routed_ping()       # as if captured on a router's two interfaces
    scenario = {"gw9-eth0": scenario["xiaoming-eth0"], "gw9-eth1": scenario["xiaoli-eth0"]}
    packets, _ = merged(scenario, tmp_path, "router")
    ladder = build(packets)
    assert ladder.names == ["10.1.1.2", "gw9 (gw9-eth0)", "gw9 (gw9-eth1)", "10.1.2.2"]
    assert ladder.arrows[2].crossed == tuple(ladder.names)


# ---------------------------------------------------------------- arrows

def test_one_arrow_per_packet_and_every_frame_once(dora, enterprise):
    ladder = build(dora, enterprise)
    assert len(ladder.arrows) == len(dora) == 9
    assert sorted(f for a in ladder.arrows for f in a.frames) == list(range(1, 10))
    discover = ladder.arrows[0]
    assert (discover.src, discover.dst, discover.kind, discover.broadcast) == \
        ("xiaoming", "gw1 (gw1-eth0)", "dhcp", True)
    relayed = ladder.arrows[1]
    assert (relayed.src, relayed.dst, relayed.broadcast) == ("gw1 (gw1-eth1)", "srv", False)


def test_a_routed_packet_seen_at_two_points_is_one_arrow_crossing(ping, enterprise):
    ladder = build(ping, enterprise)
    assert len(ladder.arrows) == 4
    request = ladder.arrows[2]
    assert request.frames == (3, 4) and request.kind == "icmp"
    assert request.crossed == ("xiaoming", "gw1", "gw2", "xiaoli")
    assert (request.src, request.dst) == ("xiaoming", "xiaoli")
    reply = ladder.arrows[3]
    assert (reply.src, reply.dst) == ("xiaoli", "xiaoming")


def test_a_translated_packet_is_one_arrow_across_the_nat(web, enterprise):
    ladder = build(web, enterprise)
    assert len(ladder.arrows) == 11 and all(len(a.frames) == 2 for a in ladder.arrows)
    assert ladder.arrows[0].crossed == ("xiaoming", "gw1", "edge", "isp", "web")
    assert ladder.arrows[1].src == "web" and ladder.arrows[1].dst == "xiaoming"


def test_different_packets_at_two_points_stay_two_arrows(tmp_path):
    scenario = synth.routed_ping()
    late = scenario["xiaoli-eth0"]
    for packet in late:                    # the same packets, but 5 s later: not one sighting
        packet.time += 5
    packets, _ = merged(scenario, tmp_path, "late")
    assert len(build(packets).arrows) == 6
    other = synth.routed_ping()
    other["xiaoli-eth0"][0]["IP"].id = 0x1111   # another packet, not the request forwarded
    del other["xiaoli-eth0"][0]["IP"].chksum
    packets, _ = merged(other, tmp_path, "other")
    assert [a.frames for a in build(packets).arrows if a.kind == "icmp"] == [(3,), (4,), (5, 6)]


def test_a_broadcast_heard_at_several_points_is_one_arrow_to_the_farthest(tmp_path):
    scenario = synth.arp_ping(pings=1)
    request, reply = scenario["xiaoming-eth0"][:2]
    scenario["xiaomei-eth0"] = [request.copy(), reply.copy()]
    scenario["xiaoli-eth0"] = [request.copy()]       # flat: the request is heard there too
    packets, _ = merged(scenario, tmp_path, "flat")
    ladder = build(packets)
    who_has = ladder.arrows[0]
    assert len(who_has.frames) == 3 and who_has.broadcast
    assert who_has.src == "xiaoming" and set(who_has.crossed) == {"xiaoming", "xiaomei", "xiaoli"}
    assert who_has.dst == ladder.names[-1]
    assert ladder.arrows[1].frames and not ladder.arrows[1].broadcast


# ---------------------------------------------------------------- labels

def test_labels_as_the_textbook_writes_them(dora, web, ping, tmp_path):
    dhcp_labels = [a.label for a in build(dora).arrows]
    assert dhcp_labels[0] == "DHCP DISCOVER xid 0x1a2b3c4d 0.0.0.0:68 \u2192 255.255.255.255:67"
    assert dhcp_labels[1].endswith("10.10.10.1:67 \u2192 10.10.10.10:67 giaddr 10.1.1.1")
    assert dhcp_labels[3] == ("DHCP OFFER xid 0x1a2b3c4d 10.1.1.1:67 \u2192 255.255.255.255:68 "
                              "giaddr 10.1.1.1 yiaddr 10.1.1.2")
    assert dhcp_labels[8] == "ARP who-has 10.1.1.2 tell 0.0.0.0"
    tcp_labels = [a.label for a in build(web).arrows]
    assert tcp_labels[0].startswith("SYN seq 0 len 0 10.1.1.2:40000")
    assert tcp_labels[1].startswith("SYN,ACK seq 0 ack 1 len 0")
    assert tcp_labels[3].startswith("PSH,ACK seq 1 ack 1 len 73")
    assert build(ping).arrows[1].label == "ARP 10.1.1.1 is-at 02:00:0a:01:01:01"
    dns = build(merged(synth.dns_udp(), tmp_path, "dns")[0]).arrows
    assert dns[0].label.startswith("DNS id 1234 A? www.baidu.com.")
    assert "www.baidu.com. A 61.135.169.125" in dns[1].label and dns[1].kind == "dns"


# ---------------------------------------------------------------- frames

def test_frame_numbers_are_positions_in_the_merged_file(tmp_path, enterprise):
    packets, block = merged(synth.web11(), tmp_path, "frames")
    file = read(block.merged)                     # what Wireshark numbers
    for arrow in build(packets, enterprise).arrows:
        for frame in arrow.frames:
            assert file[frame - 1].data == packets[frame - 1].data
            assert file[frame - 1].tns == packets[frame - 1].tns
    # the merged file knows no points: each packet got its point back
    assert {p.point for p in packets} == {"xiaoming-eth0", "edge-eth1"}
    assert [p.point for p in packets[:2]] == ["xiaoming-eth0", "edge-eth1"]


@pytest.mark.skipif(not shutil.which("tshark"), reason="tshark is not installed")
def test_frame_numbers_are_wiresharks(tmp_path, enterprise):
    packets, block = merged(synth.dora_relay(), tmp_path, "tshark")
    shown = subprocess.run(["tshark", "-r", str(block.merged), "-T", "fields", "-e",
                            "frame.number", "-e", "dhcp.option.dhcp", "-e", "dhcp.id", "-e",
                            "arp.dst.proto_ipv4"], capture_output=True, text=True, check=True)
    wireshark = {int(number): rest for number, *rest in
                 (line.split("\t") for line in shown.stdout.splitlines())}
    types = {"1": "DISCOVER", "2": "OFFER", "3": "REQUEST", "5": "ACK"}
    arrows = build(packets, enterprise).arrows
    assert sorted(f for a in arrows for f in a.frames) == sorted(wireshark)
    for arrow in arrows:
        for frame in arrow.frames:
            kind, xid, arp_target = wireshark[frame]
            if arrow.kind == "dhcp":
                assert arrow.label.startswith(f"DHCP {types[kind]} xid {xid}")
            else:
                assert arrow.label == f"ARP who-has {arp_target} tell 0.0.0.0"


def test_a_merged_file_alone_keeps_its_own_name_as_point(tmp_path):
    _, block = merged(synth.dns_udp(), tmp_path, "alone")
    packets = labelled(CaptureBlock(block.merged, ()))
    assert {p.point for p in packets} == {"merged"}
    assert len(build(packets).arrows) == 2


def test_capture_files_name_their_points():
    from pathlib import Path
    assert point_of(Path("pc1-pc1-eth0.pcap")) == "pc1-eth0"
    assert point_of(Path("r1-eth9.pcap")) == "r1-eth9"


# ---------------------------------------------------------------- errata

def shown(key: str, frame: int | None, capture: str | None = None) -> ErratumShown:
    return ErratumShown(key, "the texts", "the wire", "seen", capture, frame)


def test_an_erratum_marks_the_arrow_of_its_frame(dora):
    ladder = mark_errata(build(dora), [shown("dhcp-ports", 1), shown("relay-source", 2)])
    marked = {a.erratum: a for a in ladder.arrows if a.erratum}
    assert marked["dhcp-ports"].frames == (1,)
    assert marked["relay-source"].frames == (2,)
    assert "[!dhcp-ports]" in render(ladder, 200)


def test_an_erratum_is_marked_by_its_frame_whatever_the_labels_say(dora):
    """The frame the check judged, not a search of label text: an arrow
    relabelled still carries its mark, and no other arrow gets it."""
    from dataclasses import replace
    plain = build(dora)
    relabelled = replace(plain, arrows=tuple(replace(a, label=f"packet {i}")
                                             for i, a in enumerate(plain.arrows)))
    ladder = mark_errata(relabelled, [shown("offer-unicast", 3)])
    assert [a.frames for a in ladder.arrows if a.erratum] == [(3,)]


def test_an_erratum_of_another_capture_or_frame_is_not_marked_here(dora):
    ladder = mark_errata(build(dora), [shown("dhcp-ports", 1, "other/merged.pcap")],
                         "this/merged.pcap")
    assert not any(a.erratum for a in ladder.arrows) and not ladder.notes
    ladder = mark_errata(build(dora), [shown("synack-retries", 999)])
    assert not any(a.erratum for a in ladder.arrows)
    assert any("synack-retries" in note and "999" in note for note in ladder.notes)


# ---------------------------------------------------------------- failures

def test_a_failed_expectation_draws_the_missing_packet_and_marks_those_instead(dora):
    with pytest.raises(ExpectationFailed) as failed:
        expect(dora).sequence([dhcp(type="DISCOVER"), dhcp(type="OFFER", yiaddr="10.1.1.99")],
                              kind=dhcp(type={"DISCOVER", "OFFER"}))
    ladder = draw_failure(build(dora), failed.value, dora)
    missing = [a for a in ladder.arrows if a.style == "missing"]
    assert len(missing) == 1 and missing[0].frames == () and missing[0].kind == "dhcp"
    assert missing[0].label == "expected dhcp(type=OFFER, yiaddr=10.1.1.99)"
    assert ladder.notes == (f"failed: {failed.value.expectation}",)
    instead = {n for a in ladder.arrows if a.style == "instead" for n in a.frames}
    listed = set(frames_of(dora, failed.value.packets))
    assert instead and listed <= instead
    text = render(ladder, 100)
    assert "missing" in text and "- - " in text
    assert any(line.startswith("*") for line in text.splitlines())


def test_a_failure_message_from_results_json_is_drawn_too(dora):
    message = ("step 2 of 4: expected dhcp(type=OFFER) after DHCP DISCOVER at srv-eth0\n"
               "there were instead:\n   0.000500 srv-eth0 " + dora[1].describe().split(" ", 2)[2])
    ladder = draw_failure_text(build(dora), message, dora)
    assert [a.frames for a in ladder.arrows if a.style == "instead"] == [(2,)]
    missing = ladder.arrows[-1]
    assert missing.style == "missing" and missing.src == "srv"


def test_a_passing_capture_has_no_failure_marks(dora):
    ladder = build(dora)
    assert {a.style for a in ladder.arrows} == {"seen"}
    assert "missing" not in render(ladder, 100)


def test_arrow_values_are_checked():
    with pytest.raises(ValueError):
        Arrow((1,), 0.0, "a", "b", "x", kind="smtp")
    with pytest.raises(ValueError):
        Arrow((1,), 0.0, "a", "b", "x", style="dotted")


# ---------------------------------------------------------------- text

@pytest.mark.parametrize("width", [40, 60, 80, 120, 200])
def test_the_text_fits_the_width(web, enterprise, width):
    lines = render(build(web, enterprise, title="web-11"), width).splitlines()
    assert all(len(line) <= width for line in lines)
    arrows = [line for line in lines if line[:1].isdigit()]
    assert len(arrows) == 11
    assert all("-->" in line or "<--" in line or ">" in line or "<" in line for line in arrows)


@pytest.mark.parametrize("width", [20, 27, 33])
def test_lifelines_beyond_a_narrow_terminal_are_cut_not_overflowing(web, enterprise, width):
    lines = render(build(web, enterprise, title="web-11"), width).splitlines()
    assert all(len(line) <= width for line in lines)
    assert sum(1 for line in lines if line[:1].isdigit()) == 11


def test_the_text_draws_lifelines_directions_and_frames(ping, enterprise):
    text = render(build(ping, enterprise), 120)
    lines = text.splitlines()
    assert lines[0].split() == ["frame", "xiaoming", "gw1", "gw2", "xiaoli"]
    request = next(line for line in lines if line.startswith("3,4"))
    assert "-->" in request and "+" in request            # crosses gw1 and gw2
    reply = next(line for line in lines if line.startswith("5,6"))
    assert "<--" in reply
    assert ">>" in next(line for line in lines if line.startswith("1 "))   # ARP broadcast


# ---------------------------------------------------------------- from a verify directory

def results_dir(tmp_path):
    """A verify output directory of one failed check, dora, with an erratum
    shown by its first frame."""
    directory = tmp_path / "pcaps" / "dora"
    directory.mkdir(parents=True)
    _, block = merged(synth.dora_relay(), directory, "dora")
    record = CheckRecord("dora", False,
                         failures=("step 4 of 4: expected dhcp(type=ACK) at xiaoming-eth0",),
                         errata=(shown("dhcp-ports", 1, block.merged),), captures=(block,))
    results.write(VerifyRun("x", (record,)), tmp_path)
    return tmp_path, record


def test_check_ladders_from_results_json(tmp_path):
    out, _ = results_dir(tmp_path)
    (ladder,) = check_ladders(results.read(out).check("dora"))
    assert ladder.title.startswith("dora: ")
    assert ladder.arrows[0].erratum == "dhcp-ports"
    assert ladder.arrows[-1].style == "missing" and ladder.arrows[-1].src == "xiaoming"


def test_check_ladders_from_a_results_json_of_format_1(tmp_path):
    """Written before the format was recorded: pcaps in one list, errata
    without frames (noted on the ladder, not marked by guess)."""
    out, record = results_dir(tmp_path)
    entry = {"name": "dora", "passed": False, "failures": list(record.failures),
             "errata": [{"key": "dhcp-ports", "texts_say": "a", "capture_shows": "b",
                         "evidence": "x"}],
             "pcaps": record.pcaps}
    (out / "results.json").write_text(json.dumps({"topology": "x", "options": {"vlans": False},
                                                  "checks": [entry]}))
    run = results.read(out)
    assert run.format == 1 and run.settings.vlans is False
    (ladder,) = check_ladders(run.check("dora"))
    assert not any(a.erratum for a in ladder.arrows)
    assert any("dhcp-ports" in note for note in ladder.notes)
    assert ladder.arrows[-1].style == "missing"


def test_the_ladder_command(tmp_path, capsys):
    out, _ = results_dir(tmp_path)
    assert main(["ladder", str(out), "--check", "dora", "--width", "70"]) == 0
    text = capsys.readouterr().out
    assert "DHCP DISCOVER" in text and all(len(line) <= 70 for line in text.splitlines())
    merged_path = out / "pcaps" / "dora" / "merged.pcap"
    assert main(["ladder", str(merged_path), "--width", "90"]) == 0
    assert "xiaoming" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["--check", "nope"], ["--width", "5"]])
def test_the_ladder_command_refuses_wrong_input(tmp_path, capsys, argv):
    out, _ = results_dir(tmp_path)
    assert main(["ladder", str(out), *argv]) == 2


def test_the_ladder_command_refuses_a_check_of_a_file_and_a_missing_path(tmp_path, capsys):
    out, _ = results_dir(tmp_path)
    assert main(["ladder", str(out / "pcaps" / "dora" / "merged.pcap"), "--check", "x"]) == 2
    assert main(["ladder", str(tmp_path / "nothing")]) == 2
    (tmp_path / "empty").mkdir()
    assert main(["ladder", str(tmp_path / "empty")]) == 2


def test_a_lost_capture_is_noted_and_the_other_checks_still_drawn(tmp_path, capsys):
    from dataclasses import replace

    from orchestrator.cli.ladder_cmd import show_ladders
    _, record = results_dir(tmp_path)
    lost = replace(record, name="lost",
                   captures=(CaptureBlock(str(tmp_path / "gone" / "merged.pcap")),))
    show_ladders([lost, record], None, 80)
    captured = capsys.readouterr()
    assert "lost: no ladder" in captured.err and "dora: " in captured.out
