"""Footprints: which traffic classes overlap, which checks may run at once,
and the DHCP capture filter, proven by tcpdump on a pcap that holds two
clients' DHCP and ARP (reading a file needs no root)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.utils import PcapWriter

from orchestrator.checks.footprint import Footprint, conflict, dhcp_filter, overlaps
from orchestrator.packets import read, synth

pytestmark = pytest.mark.timeout(60)

FP = Footprint.of


# ---------------------------------------------------------------- overlaps

@pytest.mark.parametrize("a, b", [
    ("dhcp", "dhcp"),
    ("dhcp@xiaoli", "dhcp@xiaoli"),
    ("dhcp", "dhcp@xiaoli"),             # unqualified admits all of it
    ("arp@srv", "arp"),
    ("dns", "dns"),
    ("tcp/5101-5105", "tcp/5105-5110"),  # ranges share 5105
    ("tcp/5101-5105", "tcp/5103"),       # a port inside a range
    ("tcp/80", "tcp/80"),
    ("tcp", "tcp/5101-5105"),
])
def test_classes_that_overlap(a, b):
    assert overlaps(a, b) and overlaps(b, a)


@pytest.mark.parametrize("a, b", [
    ("dhcp@xiaoli", "dhcp@xiaoming"),    # different nodes
    ("arp@xiaoli", "arp@srv"),
    ("tcp/5101-5105", "tcp/5106-5110"),  # adjacent, not overlapping
    ("tcp/80", "tcp/81"),
    ("dhcp", "arp"),                     # different protocols
    ("dhcp@xiaoli", "arp@xiaoli"),
    ("tcp/53", "dns"),
    ("udp", "tcp"),
])
def test_classes_that_do_not_overlap(a, b):
    assert not overlaps(a, b) and not overlaps(b, a)


# ---------------------------------------------------------------- conflict

def test_a_check_without_footprint_runs_alone():
    some = FP(uses={"xiaoming"})
    assert conflict(None, some) == "runs alone"
    assert conflict(some, None) == "runs alone"
    assert conflict(None, None) == "runs alone"


def test_changing_what_the_other_uses_conflicts_either_way():
    renew = FP(changes={"xiaoli"}, uses={"xiaoli", "gw2", "srv"})
    ping = FP(uses={"xiaoli", "xiaoming"})
    assert conflict(renew, ping) == "changes xiaoli"
    assert conflict(ping, renew) == "changes xiaoli"


def test_changing_what_the_other_changes_conflicts():
    assert conflict(FP(changes={"dns@srv"}), FP(changes={"dns@srv"})) == "changes dns@srv"


def test_a_node_change_reaches_the_daemons_on_it():
    lookup = FP(uses={"dns@srv"})
    restart_srv = FP(changes={"srv"})
    assert lookup.nodes == {"srv"}
    assert conflict(lookup, restart_srv) == "changes srv"
    assert conflict(restart_srv, lookup) == "changes srv"


def test_a_daemon_change_leaves_the_node_alone():
    cold_resolver = FP(changes={"dns@srv"})
    ping_srv = FP(uses={"srv", "xiaoming"})
    assert conflict(cold_resolver, ping_srv) is None
    assert conflict(ping_srv, cold_resolver) is None


def test_users_of_the_same_node_may_run_at_once():
    assert conflict(FP(uses={"srv", "xiaoming"}, makes={"tcp/80"}),
                    FP(uses={"srv", "xiaoli"}, makes={"dns"}, hears={"dns"})) is None


def test_shared_node_and_heard_traffic_conflict():
    web = FP(uses={"srv", "xiaoming"}, makes={"tcp/5101-5105"})
    faults = FP(uses={"srv", "xiaoli"}, hears={"tcp/5103"})
    assert conflict(web, faults) == "tcp/5103 hears tcp/5101-5105"
    assert conflict(faults, web) == "tcp/5103 hears tcp/5101-5105"


def test_heard_arp_is_implied_by_the_nodes_the_other_works_on():
    renew = FP(changes={"xiaoli"}, uses={"gw2"}, hears={"dhcp@xiaoli", "arp@gw2"})
    ping = FP(uses={"gw2", "xiaoming"}, makes={"icmp"})
    assert "arp@gw2" in ping.made() and "arp@xiaoming" in ping.made()
    assert conflict(renew, ping) == "arp@gw2 hears arp@gw2"
    assert conflict(ping, renew) == "arp@gw2 hears arp@gw2"


def test_heard_class_of_another_node_does_not_conflict():
    renew = FP(changes={"xiaoli"}, uses={"gw2"}, hears={"dhcp@xiaoli", "arp@xiaoli"})
    other = FP(changes={"xiaoming"}, uses={"gw2"}, makes={"dhcp@xiaoming"})
    assert conflict(renew, other) is None


def test_disjoint_nodes_with_the_same_traffic_do_not_conflict():
    a = FP(changes={"xiaoli"}, uses={"gw2"}, hears={"dhcp", "arp"}, makes={"dhcp"})
    b = FP(changes={"xiaoming"}, uses={"gw1"}, hears={"dhcp", "arp"}, makes={"dhcp"})
    assert a.nodes.isdisjoint(b.nodes)
    assert conflict(a, b) is None


# ---------------------------------------------------------------- dhcp_filter

def test_filter_text():
    assert dhcp_filter("02:00:0A:01:02:02") == \
        "((udp port 67 or udp port 68) and udp[36:4] = 0x02000a01 and udp[40:2] = 0x0202)"
    assert dhcp_filter("02:00:0a:01:02:02", "10.1.2.2", arp=True).endswith(
        " or (arp and host 10.1.2.2)")
    assert dhcp_filter("02:00:0a:01:02:02", arp=True).endswith(" or arp")


MINE, THEIRS = synth.XIAOLI_MAC, synth.XIAOMING_MAC
MY_ADDRESS = "10.1.2.2"
BCAST = "ff:ff:ff:ff:ff:ff"


def _chaddr(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", "")) + b"\0" * 10


def _discover(mac: str, xid: int):
    return (Ether(src=mac, dst=BCAST) / IP(src="0.0.0.0", dst="255.255.255.255")
            / UDP(sport=68, dport=67) / BOOTP(op=1, xid=xid, chaddr=_chaddr(mac))
            / DHCP(options=[("message-type", "discover"), "end"]))


def _relayed(mac: str, xid: int):
    """A DISCOVER as the relay sends it on: relay 67 -> server 67."""
    return (Ether(src=synth.GW2_SRV_MAC, dst=synth.SRV_MAC)
            / IP(src="10.10.10.2", dst=synth.SERVER) / UDP(sport=67, dport=67)
            / BOOTP(op=1, xid=xid, hops=1, giaddr="10.1.2.1", chaddr=_chaddr(mac))
            / DHCP(options=[("message-type", "discover"), "end"]))


FRAMES = [   # (what it is, frame, whether the filter with arp admits it)
    ("my discover", _discover(MINE, 1), True),
    ("their discover", _discover(THEIRS, 2), False),
    ("my probe", Ether(src=MINE, dst=BCAST) / ARP(op=1, hwsrc=MINE, psrc="0.0.0.0",
                                                  pdst=MY_ADDRESS), True),
    ("unrelated arp", Ether(src=THEIRS, dst=BCAST) / ARP(op=1, hwsrc=THEIRS, psrc="10.1.1.2",
                                                         pdst="10.1.1.1"), False),
    ("my relayed discover", _relayed(MINE, 3), True),
    ("their relayed discover", _relayed(THEIRS, 4), False),
]


@pytest.fixture
def mixed_pcap(tmp_path):
    path = tmp_path / "test_footprint.mixed.pcap"
    writer = PcapWriter(str(path), linktype=1, sync=True)
    for index, (_, frame, _) in enumerate(FRAMES):
        frame.time = 1_700_000_000.0 + index
        writer.write(frame)
    writer.close()
    return path


def _admitted(path, bpf: str, out) -> list[str]:
    """The frames tcpdump's filter lets through, by what they are (read
    back by the project's library, told apart by xid and ARP sender)."""
    if shutil.which("tcpdump") is None:
        pytest.skip("tcpdump is not installed")
    kept = out / "kept.pcap"
    subprocess.run(["tcpdump", "-nn", "-r", str(path), "-w", str(kept), bpf],
                   check=True, capture_output=True, timeout=30)
    names = []
    for p in read(kept, point="kept"):
        if p.dhcp is not None:
            names.append({1: "my discover", 2: "their discover", 3: "my relayed discover",
                          4: "their relayed discover"}[p.dhcp.xid])
        else:
            names.append("my probe" if p.arp.sender_mac == MINE else "unrelated arp")
    return names


def test_dhcp_filter_admits_one_clients_dhcp_and_arp(mixed_pcap, tmp_path):
    kept = _admitted(mixed_pcap, dhcp_filter(MINE, MY_ADDRESS, arp=True), tmp_path)
    assert kept == [name for name, _, admitted in FRAMES if admitted]


def test_dhcp_filter_without_arp_admits_only_dhcp(mixed_pcap, tmp_path):
    kept = _admitted(mixed_pcap, dhcp_filter(MINE.upper()), tmp_path)
    assert kept == ["my discover", "my relayed discover"]


def test_dhcp_filter_of_the_other_client(mixed_pcap, tmp_path):
    kept = _admitted(mixed_pcap, dhcp_filter(THEIRS, "10.1.1.2", arp=True), tmp_path)
    assert kept == ["their discover", "unrelated arp", "their relayed discover"]


def test_dhcp_filter_as_tcpdump_prints_it(mixed_pcap):
    """What `tcpdump -nn -r FILE FILTER` prints: one line per admitted frame."""
    if shutil.which("tcpdump") is None:
        pytest.skip("tcpdump is not installed")
    shown = subprocess.run(["tcpdump", "-nn", "-r", str(mixed_pcap),
                            dhcp_filter(MINE, MY_ADDRESS, arp=True)],
                           check=True, capture_output=True, text=True, timeout=30).stdout
    lines = shown.splitlines()
    assert len(lines) == 3
    assert "0.0.0.0.68 > 255.255.255.255.67" in lines[0]
    assert "who-has 10.1.2.2" in lines[1]
    assert "10.10.10.2.67 > 10.10.10.10.67" in lines[2]
