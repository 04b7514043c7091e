"""The relay race's judge and verdicts, fed synthetic captures: a trial is
read from the packets of the client's wire and the server's, and the
verdicts fail, saying why, on a series that does not show what was asked."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from orchestrator.packets import merge, synth
from orchestrator.race import Gateway, RaceSetup, judge_trial, verdict
from orchestrator.results import race as results
from orchestrator.results.race import Offer, RaceRun, Trial

pytestmark = pytest.mark.timeout(60)

XID = 0x5EED0001
T0 = 1_700_000_100.0
SETUP = RaceSetup(
    client="xiaoming", client_iface="xiaoming-eth0", client_mac=synth.XIAOMING_MAC,
    own_gateway="10.1.1.1",
    gateways=[Gateway("gw1", "gw1-eth0", "gw1-eth1", "10.1.1.1", ("srv", "srv-eth0")),
              Gateway("gw2", "gw2-eth0", "gw2-eth1", "10.1.2.1", ("srv", "srv-eth0"))],
    subnets=[IPv4Network("10.1.1.0/24"), IPv4Network("10.1.2.0/24")])


def from_server(kind: str, yiaddr: str, giaddr: str, t: float, mac=synth.GW2_LAN_MAC):
    """A reply relayed back onto the client's wire."""
    packet = (Ether(src=mac, dst=synth.BROADCAST)
              / IP(src=giaddr, dst="255.255.255.255") / UDP(sport=67, dport=68)
              / BOOTP(op=2, xid=XID, yiaddr=yiaddr, giaddr=giaddr,
                      chaddr=bytes.fromhex(synth.XIAOMING_MAC.replace(":", "")))
              / DHCP(options=[("message-type", kind), ("server_id", synth.SERVER), "end"]))
    packet.time = t
    return packet


def request(address: str, t: float):
    packet = (Ether(src=synth.XIAOMING_MAC, dst=synth.BROADCAST)
              / IP(src="0.0.0.0", dst="255.255.255.255") / UDP(sport=68, dport=67)
              / BOOTP(op=1, xid=XID, chaddr=bytes.fromhex(synth.XIAOMING_MAC.replace(":", "")))
              / DHCP(options=[("message-type", "request"), ("requested_addr", address),
                              ("server_id", synth.SERVER), "end"]))
    packet.time = t
    return packet


def judged(tmp_path, extra=(), drop_offers=False, final="10.1.1.2"):
    scenario = synth.relay_race(XID, T0)
    if drop_offers:
        scenario["xiaoming-eth0"] = scenario["xiaoming-eth0"][:1]
    scenario["xiaoming-eth0"] += list(extra)
    packets = merge(*synth.load(scenario, tmp_path, "race").values())
    return judge_trial(Trial(1), packets, SETUP, final)


def test_a_raced_trial_is_read_from_the_packets(tmp_path):
    trial = judged(tmp_path, [request("10.1.1.2", T0 + 0.003),
                              from_server("ack", "10.1.1.2", "10.1.1.1", T0 + 0.004,
                                          synth.GW1_LAN_MAC)])
    assert trial.xid == "0x5eed0001" and not trial.problems
    assert [(o.relay, o.giaddr, o.yiaddr) for o in trial.offers] == [
        ("gw1", "10.1.1.1", "10.1.1.2"), ("gw2", "10.1.2.1", "10.1.2.100")]
    assert trial.gap_ms == pytest.approx(0.3, abs=0.01)
    assert trial.first_relay == "gw1"
    assert (trial.requested, trial.requested_via) == ("10.1.1.2", "gw1")
    assert trial.subnet == "10.1.1.0/24" and trial.bound_ms == pytest.approx(4.0, abs=0.01)
    assert trial.decided_by == "gw1's OFFER reached the client 0.300 ms first"
    assert trial.naks == [] and trial.restarts == 0


def test_a_nak_through_the_other_relay_is_named(tmp_path):
    trial = judged(tmp_path, [request("10.1.1.2", T0 + 0.003),
                              from_server("nak", "0.0.0.0", "10.1.2.1", T0 + 0.0035)])
    assert trial.naks == ["NAK via gw2 (giaddr 10.1.2.1) at +3.5 ms"]


def test_a_capture_without_the_discover_is_a_problem_not_a_result(tmp_path):
    scenario = synth.relay_race(XID, T0)
    scenario["xiaoming-eth0"] = scenario["xiaoming-eth0"][1:]
    packets = merge(*synth.load(scenario, tmp_path, "race").values())
    trial = judge_trial(Trial(1), packets, SETUP, "10.1.1.2")
    assert trial.problems == ["no DISCOVER from the client"] and trial.offers == []


def test_a_trial_without_offers_says_so(tmp_path):
    trial = judged(tmp_path, drop_offers=True, final="")
    assert trial.offers == [] and trial.decided_by == "no OFFER" and trial.subnet == ""


def report(trials, vlans=False, dropped=None) -> RaceRun:
    return RaceRun("enterprise", "dnsmasq", vlans, "xiaoming", trials, 10.0, "10.1.1.1",
                   dropped=dropped or {})


def ended_in(index: int, subnet: str, *offers: str) -> Trial:
    return Trial(index, subnet=subnet, final_address=subnet.replace("0/24", "2"),
                 offers=[Offer(g, g, "", 1.0) for g in offers])


def test_the_flat_race_is_reproduced_only_when_both_subnets_occur():
    both = report([ended_in(1, "10.1.1.0/24"), ended_in(2, "10.1.2.0/24")])
    assert verdict(both) == (True, "race reproduced: the client ended in 2 subnets")
    one = report([ended_in(1, "10.1.2.0/24"), ended_in(2, "10.1.2.0/24")])
    assert verdict(one) == (
        False, "race not reproduced: every trial ended in 10.1.2.0/24")
    assert verdict(report([Trial(1)])) == (
        False, "race not reproduced: every trial ended in no lease")


def test_the_vlan_fix_fails_on_a_second_offer_or_a_foreign_one():
    fixed = report([ended_in(1, "10.1.1.0/24", "10.1.1.1")] * 3, vlans=True)
    assert verdict(fixed)[0]
    raced = report([ended_in(1, "10.1.1.0/24", "10.1.1.1"),
                    ended_in(2, "10.1.1.0/24", "10.1.1.1", "10.1.2.1")], vlans=True)
    assert verdict(raced) == (
        False, "1 trial(s) had an OFFER other than exactly one from 10.1.1.1: trial 2")
    foreign = report([ended_in(1, "10.1.2.0/24", "10.1.2.1")], vlans=True)
    assert not verdict(foreign)[0]


def test_the_vlan_fix_is_not_proven_by_captures_the_kernel_dropped_from():
    fixed = report([ended_in(1, "10.1.1.0/24", "10.1.1.1")], vlans=True,
                   dropped={"gw2-eth1": 3})
    assert verdict(fixed) == (
        False, "captures incomplete, the kernel dropped packets at gw2-eth1 (3)")


PC1_MAC = "02:00:0a:32:01:0a"
TWO_SERVERS = RaceSetup(
    client="pc1", client_iface="pc1-eth0", client_mac=PC1_MAC, own_gateway="10.50.1.1",
    gateways=[Gateway("r1", "r1-eth0", "r1-eth1", "10.50.1.1", ("s1", "s1-eth0")),
              Gateway("r2", "r2-eth0", "r2-eth1", "10.50.2.1", ("s2", "s2-eth0"))],
    subnets=[IPv4Network("10.50.1.0/24"), IPv4Network("10.50.2.0/24")])


def bootp(kind: str, giaddr: str, ms: float, yiaddr: str = "0.0.0.0"):
    """A DHCP message of pc1's transaction, ``ms`` after its DISCOVER."""
    op, ports = (1, (68, 67)) if kind == "discover" else (2, (67, 68))
    packet = (Ether(src="02:00:00:00:00:01", dst=synth.BROADCAST)
              / IP(src=giaddr if giaddr != "0.0.0.0" else "0.0.0.0", dst="255.255.255.255")
              / UDP(sport=ports[0], dport=ports[1])
              / BOOTP(op=op, xid=XID, yiaddr=yiaddr, giaddr=giaddr,
                      chaddr=bytes.fromhex(PC1_MAC.replace(":", "")))
              / DHCP(options=[("message-type", kind), "end"]))
    packet.time = T0 + ms / 1000
    return packet


def test_each_offer_is_timed_at_the_server_its_relay_forwards_to(tmp_path):
    """Two relays forwarding to two servers: r2's copy is looked for at s2,
    where it went, not at s1."""
    scenario = {
        "pc1-eth0": [bootp("discover", "0.0.0.0", 0),
                     bootp("offer", "10.50.1.1", 1.5, "10.50.1.100"),
                     bootp("offer", "10.50.2.1", 1.6, "10.50.2.100")],
        "r1-eth1": [bootp("discover", "10.50.1.1", 0.5)],
        "r2-eth1": [bootp("discover", "10.50.2.1", 0.3)],
        "s1-eth0": [bootp("discover", "10.50.1.1", 0.6),
                    bootp("offer", "10.50.1.1", 1.0, "10.50.1.100")],
        "s2-eth0": [bootp("discover", "10.50.2.1", 0.9),
                    bootp("offer", "10.50.2.1", 1.2, "10.50.2.100")],
    }
    packets = merge(*synth.load(scenario, tmp_path, "servers").values())
    trial = judge_trial(Trial(1), packets, TWO_SERVERS, "10.50.1.100")
    assert [(o.relay, o.relayed_ms, o.reached_server_ms, o.served_ms) for o in trial.offers] == [
        ("r1", 0.5, 0.6, 1.0), ("r2", 0.3, 0.9, 1.2)]
    assert trial.subnet == "10.50.1.0/24"
    assert trial.decided_by == ("r2's copy relayed first (0.200 ms); r1's copy reached the "
                                "server first (0.300 ms); r1's copy was answered first "
                                "(0.200 ms); r1's OFFER reached the client first")


def test_a_race_run_is_written_and_read_back_as_the_same_record(tmp_path):
    run = report([ended_in(1, "10.1.1.0/24", "10.1.1.1"), ended_in(2, "10.1.2.0/24")])
    run.passed, run.verdict = verdict(run)
    results.write(run, tmp_path)
    (back,) = results.read(tmp_path)
    assert back == run and back.distribution == {"10.1.1.0/24": 1, "10.1.2.0/24": 1}


def test_a_race_json_of_another_format_is_refused_saying_which(tmp_path):
    import json
    (tmp_path / "race.json").write_text(json.dumps({"format": 99, "trials": []}))
    with pytest.raises(results.ResultsError, match="format 99"):
        results.read(tmp_path)
