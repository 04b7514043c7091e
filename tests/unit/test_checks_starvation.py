"""starvation: the judge over synthetic captures and lease databases, right
and wrong; the attacker's frames; the targets found in the model."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from orchestrator.checks import all_checks, by_name
from orchestrator.checks.dhcp.starvation import (
    Reserved,
    Starvation,
    judge_reserved,
    judge_starvation,
    prefix_for,
    targets,
)
from orchestrator.model import registry
from orchestrator.model.pools import Pool
from orchestrator.packets import ExpectationFailed
from orchestrator.packets.synth import load
from services.lease import ServerLease
from services.tools import dhcp_starvation
from services.tools.dhcp_starvation import made_up_macs, parse_reply

POOL = Pool("srv", IPv4Network("10.77.1.0/28"), IPv4Address("10.77.1.8"),
            IPv4Address("10.77.1.11"))
SERVER, SERVER_MAC = "10.77.1.1", "02:00:0a:4d:01:01"
MADE_UP = made_up_macs(20, "02:5a:00:00")
LAB_CLIENT = ServerLease(IPv4Address("10.77.1.8"), "02:00:00:00:00:01")


def _at(packet, t):
    packet.time = t
    return packet


def _bootp(op, mac, xid, yiaddr="0.0.0.0"):
    return BOOTP(op=op, xid=xid, flags=0x8000, yiaddr=yiaddr,
                 chaddr=bytes.fromhex(mac.replace(":", "")) + b"\0" * 10)


def client(kind, mac, xid, t, options=()):
    return _at(Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / IP(src="0.0.0.0", dst="255.255.255.255")
               / UDP(sport=68, dport=67) / _bootp(1, mac, xid)
               / DHCP(options=[("message-type", kind), *options, "end"]), t)


def server(kind, mac, xid, t, yiaddr="0.0.0.0"):
    return _at(Ether(src=SERVER_MAC, dst="ff:ff:ff:ff:ff:ff")
               / IP(src=SERVER, dst="255.255.255.255") / UDP(sport=67, dport=68)
               / _bootp(2, mac, xid, yiaddr)
               / DHCP(options=[("message-type", kind), ("server_id", SERVER), "end"]), t)


def attack(granted: int, naked: tuple[int, ...] = (), offered_last: bool = False):
    """The attacker's wire: each made-up MAC DISCOVERs; the first ``granted``
    are OFFERed addresses from 10.77.1.9 up, REQUEST and get an ACK (or a
    NAK for those in ``naked``); the rest get nothing (or, with
    ``offered_last``, the last one still gets an OFFER)."""
    packets, t = [], 1_700_000_000.0
    for i, mac in enumerate(MADE_UP):
        xid, address = 0x57A70000 + i, f"10.77.1.{9 + i}"
        packets.append(client("discover", mac, xid, t))
        if i < granted or (offered_last and i == len(MADE_UP) - 1):
            packets.append(server("offer", mac, xid, t + 0.001, address))
            packets.append(client("request", mac, xid, t + 0.002,
                                  [("requested_addr", address), ("server_id", SERVER)]))
            packets.append(server("nak" if i in naked else "ack", mac, xid, t + 0.003,
                                  "0.0.0.0" if i in naked else address))
        t += 0.0025
    return {"h1-eth0": packets}


def taken(count: int) -> list[ServerLease]:
    return [LAB_CLIENT] + [ServerLease(IPv4Address(f"10.77.1.{9 + i}"), MADE_UP[i])
                           for i in range(count)]


def wire(scenario, tmp_path, name):
    return load(scenario, tmp_path, name)["h1-eth0"]


def test_an_exhausted_pool_passes_from_the_wire_and_the_lease_database(tmp_path):
    evidence = judge_starvation(wire(attack(3), tmp_path, "exhausted"), MADE_UP, POOL,
                                taken(3))
    assert evidence == (
        "the pool of 10.77.1.0/28 on srv (10.77.1.8-10.77.1.11, 4 addresses) exhausted: "
        "20 made-up MACs sent DISCOVERs, 3 were OFFERed, 3 ACKed, 0 NAKed; the last 17 "
        "DISCOVERs got no OFFER (from 02:5a:00:00:00:03, 02:5a:00:00:00:04, "
        "02:5a:00:00:00:05, 02:5a:00:00:00:06, 02:5a:00:00:00:07 and 12 more); the lease "
        "database holds all 4 (3 taken by the attack)")


def test_a_pool_full_before_the_attack_is_exhausted_too(tmp_path):
    leases = [ServerLease(IPv4Address(f"10.77.1.{8 + i}"), f"02:00:00:00:00:0{i}")
              for i in range(4)]
    evidence = judge_starvation(wire(attack(0), tmp_path, "full"), MADE_UP, POOL, leases)
    assert "the last 20 DISCOVERs got no OFFER" in evidence and "(0 taken by" in evidence


def test_a_pool_larger_than_the_attack_fails_saying_how_much_was_leased(tmp_path):
    with pytest.raises(ExpectationFailed) as failed:
        judge_starvation(wire(attack(20), tmp_path, "large"), MADE_UP, POOL, taken(2))
    assert str(failed.value) == (
        "the pool of 10.77.1.0/28 on srv (10.77.1.8-10.77.1.11, 4 addresses) was not "
        "exhausted: 3 of 4 addresses leased after the attack (20 made-up MACs sent DISCOVERs, "
        "20 were OFFERed, 20 ACKed, 0 NAKed)")


def test_a_server_that_offers_to_every_mac_is_not_starved(tmp_path):
    with pytest.raises(ExpectationFailed, match="OFFERed to every one of the 20 made-up MACs"):
        judge_starvation(wire(attack(20), tmp_path, "every"), MADE_UP, POOL, taken(3))


def test_a_server_still_offering_at_the_end_is_not_starved(tmp_path):
    with pytest.raises(ExpectationFailed, match="still OFFERed at the end of the attack "
                                                r"\(to 02:5a:00:00:00:13"):
        judge_starvation(wire(attack(3, offered_last=True), tmp_path, "late"), MADE_UP, POOL,
                         taken(3))


def test_an_attack_cut_short_cannot_prove_anything(tmp_path):
    scenario = attack(3)
    scenario["h1-eth0"] = scenario["h1-eth0"][:-5]
    with pytest.raises(ExpectationFailed, match="only 15 of the 20 made-up MACs' DISCOVERs"):
        judge_starvation(wire(scenario, tmp_path, "short"), MADE_UP, POOL, taken(3))


def test_leases_no_ack_gave_are_refused(tmp_path):
    leases = taken(3)
    leases[-1] = ServerLease(IPv4Address("10.77.1.11"), MADE_UP[15])
    with pytest.raises(ExpectationFailed, match="gives made-up MACs 10.77.1.11, which no ACK"):
        judge_starvation(wire(attack(2), tmp_path, "unseen"), MADE_UP, POOL, leases)


def test_naks_are_counted(tmp_path):
    evidence = judge_starvation(wire(attack(3, naked=(2,)), tmp_path, "nak"), MADE_UP, POOL,
                                taken(2) + [ServerLease(IPv4Address("10.77.1.11"),
                                                        "02:00:00:00:00:09")])
    assert "3 were OFFERed, 2 ACKed, 1 NAKed" in evidence


RES = Reserved("res", "res-eth0", "02:00:0a:4d:01:04", "10.77.1.4")


def test_a_reserved_client_acked_its_address_renews(tmp_path):
    scenario = {"res-eth0": [client("discover", RES.mac, 7, 1.0),
                             server("offer", RES.mac, 7, 1.1, RES.address),
                             client("request", RES.mac, 7, 1.2), server("ack", RES.mac, 7, 1.3,
                                                                        RES.address)]}
    packets = load(scenario, tmp_path, "renew")["res-eth0"]
    assert judge_reserved({"res": packets}, (RES,)) == "after it res ACKed 10.77.1.4"
    assert judge_reserved({}, ()) == "no reservation beside the pool to renew"


def test_a_reserved_client_given_another_address_fails(tmp_path):
    scenario = {"res-eth0": [client("discover", RES.mac, 7, 1.0),
                             server("nak", RES.mac, 7, 1.1),
                             server("ack", RES.mac, 8, 1.3, "10.77.1.9")]}
    packets = load(scenario, tmp_path, "wrong")["res-eth0"]
    with pytest.raises(ExpectationFailed):
        judge_reserved({"res": packets}, (RES,))


def test_the_attackers_frames_are_discovers_and_requests_of_made_up_macs():
    mac = MADE_UP[7]
    frame = Ether(dhcp_starvation.discover(mac, 0x57A70007))
    assert frame.src == mac and frame[BOOTP].xid == 0x57A70007 and frame[BOOTP].flags == 0x8000
    assert bytes(frame[BOOTP].chaddr)[:6].hex(":") == mac
    assert frame[DHCP].options[0] == ("message-type", 1)
    request = Ether(dhcp_starvation.request(mac, 0x57A70007, "10.77.1.9", SERVER))
    assert request[DHCP].options[:3] == [("message-type", 3), ("requested_addr", "10.77.1.9"),
                                         ("server_id", SERVER)]
    assert request[UDP].chksum == 0 and request[IP].src == "0.0.0.0"


def test_the_attacker_reads_offers_to_its_macs_and_ignores_the_rest():
    offer = bytes(server("offer", MADE_UP[3], 0x57A70003, 0, "10.77.1.9"))
    assert parse_reply(offer) == dhcp_starvation.Reply(2, MADE_UP[3], 0x57A70003, "10.77.1.9",
                                                       SERVER)
    assert parse_reply(dhcp_starvation.discover(MADE_UP[3], 1)) is None
    assert parse_reply(b"\0" * 60) is None


def test_made_up_macs_are_distinct_and_refuse_a_bad_prefix():
    assert len(set(made_up_macs(1000, "02:5a:00:00"))) == 1000
    assert made_up_macs(1000, "02:5a:00:00")[999] == "02:5a:00:00:03:e7"
    with pytest.raises(ValueError, match="four bytes"):
        made_up_macs(3, "02:5a")


def test_targets_come_from_the_model():
    small = targets(registry.load("tests/topologies/smallpool.py"))
    assert [(str(t.pool.network), t.attacker, [r.node for r in t.reserved]) for t in small] \
        == [("10.77.0.0/28", "h1", []), ("10.77.1.0/28", "mallory", ["res"])]
    enterprise = targets(registry.load("enterprise"))
    assert [str(t.pool.network) for t in enterprise] == ["10.1.1.0/24", "10.1.2.0/24"]
    assert all(t.attacker not in ("gw1", "gw2", "srv") for t in enterprise)
    assert prefix_for(registry.load("enterprise")) == "02:5a:00:00"


def test_the_check_is_opt_in_and_refuses_a_topology_without_a_pool():
    check = by_name()["starvation"]
    assert isinstance(check, Starvation)
    assert "starvation" not in {c.name for c in all_checks()}
    chain = registry.load("tests/topologies/chain.py")
    assert not check.applies_to(chain)
    assert check.why_not(chain) == "no DHCP server of it declares a pool"


def test_verify_runs_it_only_when_named_and_refuses_it_where_nothing_can_starve():
    from orchestrator.verify import UnknownCheck, choose
    spec = "tests/topologies/smallpool.py"
    small = registry.load(spec)
    assert "starvation" not in {c.name for c in choose(spec, [], small)}
    assert [c.name for c in choose(spec, ["starvation"], small)] == ["starvation"]
    chain = "tests/topologies/chain.py"
    with pytest.raises(UnknownCheck, match="check starvation does not apply to chain: no DHCP "
                                           "server of it declares a pool"):
        choose(chain, ["starvation"], registry.load(chain))
