"""The proof after an overlapped run: a capture passes when it holds only
its own check's packets, and fails, naming whose packets it caught and how
many, when one end of a packet is an address of a node only a check that
ran alongside works on.  Broadcast and unspecified addresses are nobody's."""

from __future__ import annotations

import pytest
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.l2 import ARP, Ether

from orchestrator.checks.alongside import NOBODY, caught, ends, judge_alongside
from orchestrator.packets import ExpectationFailed, merge, synth

pytestmark = pytest.mark.timeout(60)

T0 = 1_700_000_000.0
BCAST = "ff:ff:ff:ff:ff:ff"
ME, ME_IP = synth.XIAOMING_MAC, "10.1.1.2"
GW, GW_IP = synth.GW1_LAN_MAC, "10.1.1.1"
XIAOLI, XIAOLI_IP = synth.XIAOLI_MAC, "10.1.2.2"
SRV, SRV_IP = synth.SRV_MAC, synth.SERVER
MEI, MEI_IP = synth.XIAOMEI_MAC, "10.1.1.3"
RENEW = {"renew-xiaoli": {XIAOLI.lower(), XIAOLI_IP}}


def _at(packet, t):
    packet.time = T0 + t
    return packet


def _chaddr(mac):
    return bytes.fromhex(mac.replace(":", "")) + b"\0" * 10


def own():
    """xiaoming's DISCOVER (broadcast), its ARP for the gateway, a ping."""
    return [
        _at(Ether(src=ME, dst=BCAST) / IP(src="0.0.0.0", dst="255.255.255.255")
            / UDP(sport=68, dport=67) / BOOTP(op=1, xid=7, chaddr=_chaddr(ME))
            / DHCP(options=[("message-type", "discover"), "end"]), 0.0),
        _at(Ether(src=ME, dst=BCAST) / ARP(op=1, hwsrc=ME, psrc=ME_IP, pdst=GW_IP), 0.1),
        _at(Ether(src=GW, dst=ME) / ARP(op=2, hwsrc=GW, psrc=GW_IP, hwdst=ME, pdst=ME_IP), 0.2),
        _at(Ether(src=ME, dst=GW) / IP(src=ME_IP, dst=SRV_IP) / ICMP(id=1, seq=1), 0.3),
    ]


FOREIGN = {   # a packet naming xiaoli by one end only
    "ip": lambda: Ether(src=GW, dst=ME) / IP(src=XIAOLI_IP, dst=ME_IP) / ICMP(id=2, seq=1),
    "mac": lambda: Ether(src=XIAOLI, dst=GW) / IP(src="10.9.9.9", dst=GW_IP) / ICMP(),
    "arp target": lambda: Ether(src=GW, dst=BCAST) / ARP(op=1, hwsrc=GW, psrc=GW_IP,
                                                         pdst=XIAOLI_IP),
    "arp sender": lambda: Ether(src=GW, dst=BCAST) / ARP(op=1, hwsrc=GW, psrc=XIAOLI_IP,
                                                         pdst=GW_IP),
    "chaddr": lambda: (Ether(src=GW, dst=BCAST) / IP(src=GW_IP, dst="255.255.255.255")
                       / UDP(sport=67, dport=68)
                       / BOOTP(op=2, xid=9, yiaddr="10.1.1.50", chaddr=_chaddr(XIAOLI))
                       / DHCP(options=[("message-type", "offer"), "end"])),
}


def capture(tmp_path, request, packets, point="xiaoming-eth0"):
    """Written with scapy, read back by the project's library."""
    return synth.load({point: packets}, tmp_path, request.node.name.replace("/", "_"))[point]


def test_own_packets_pass(tmp_path, request):
    packets = capture(tmp_path, request, own())
    assert caught(packets, RENEW) == {}
    judge_alongside(packets, RENEW)


def test_no_others_pass(tmp_path, request):
    packets = capture(tmp_path, request, own() + [_at(FOREIGN["ip"](), 1.0)])
    judge_alongside(packets, {})


@pytest.mark.parametrize("end", sorted(FOREIGN))
def test_one_foreign_end_is_caught(tmp_path, request, end):
    packets = capture(tmp_path, request, own() + [_at(FOREIGN[end](), 1.0)])
    found = caught(packets, RENEW)
    assert list(found) == ["renew-xiaoli"]
    assert [p.time for p in found["renew-xiaoli"]] == [pytest.approx(T0 + 1.0)]
    with pytest.raises(ExpectationFailed) as failure:
        judge_alongside(packets, RENEW)
    message = str(failure.value)
    assert message.startswith("the capture is ambiguous")
    assert "(1 of renew-xiaoli)" in message
    assert "the first of them:" in message


def test_message_counts_per_check_and_lists_the_first(tmp_path, request):
    others = {"renew-xiaoli": {XIAOLI.lower(), XIAOLI_IP},
              "arp-xiaomei": {MEI.lower(), MEI_IP}}
    packets = capture(tmp_path, request, own() + [
        _at(FOREIGN["arp target"](), 1.0),
        _at(Ether(src=MEI, dst=ME) / IP(src=MEI_IP, dst=ME_IP) / ICMP(id=3), 1.5),
        _at(FOREIGN["chaddr"](), 2.0),
    ])
    with pytest.raises(ExpectationFailed) as failure:
        judge_alongside(packets, others)
    expectation, _, detail = str(failure.value).partition("\n")
    assert expectation.endswith("(1 of arp-xiaomei; 2 of renew-xiaoli)")
    title, first, *rest = detail.splitlines()
    assert title == "the first of them:"
    assert "ARP who-has 10.1.2.2 tell 10.1.1.1" in first and "0.000000" in first
    assert len(rest) == 2
    assert any("10.1.1.3 > 10.1.1.2: ICMP" in line for line in rest)
    assert any("DHCP OFFER xid 0x00000009" in line for line in rest)


def test_the_first_of_them_are_listed_in_time_order(tmp_path, request):
    others = {"renew-xiaoli": {XIAOLI.lower(), XIAOLI_IP},
              "arp-xiaomei": {MEI.lower(), MEI_IP}}
    xiaoli = [_at(Ether(src=GW, dst=ME) / IP(src=XIAOLI_IP, dst=ME_IP) / ICMP(id=2, seq=s),
                  1.0 + s) for s in (0, 2, 4, 6, 8, 10)]
    xiaomei = [_at(Ether(src=MEI, dst=ME) / IP(src=MEI_IP, dst=ME_IP) / ICMP(id=3, seq=s),
                   2.0 + s) for s in (0, 2)]
    packets = capture(tmp_path, request, sorted(xiaoli + xiaomei, key=lambda p: p.time))
    with pytest.raises(ExpectationFailed) as failure:
        judge_alongside(packets, others)
    listed = str(failure.value).splitlines()[2:]
    # the five earliest: xiaoli seq 0, xiaomei seq 0, xiaoli seq 2, xiaomei seq 2, xiaoli seq 4
    assert ["10.1.1.3" in line for line in listed] == [False, True, False, True, False]


def test_a_packet_of_two_others_counts_for_both(tmp_path, request):
    others = {"renew-xiaoli": {XIAOLI.lower(), XIAOLI_IP}, "srv": {SRV.lower(), SRV_IP}}
    packets = capture(tmp_path, request, [
        _at(Ether(src=XIAOLI, dst=SRV) / IP(src=XIAOLI_IP, dst=SRV_IP) / ICMP(), 0.0)])
    found = caught(packets, others)
    assert {name: len(p) for name, p in found.items()} == {"renew-xiaoli": 1, "srv": 1}


def test_merged_points_are_judged_together(tmp_path, request):
    mine = capture(tmp_path, request, own(), "xiaoming-eth0")
    gw = capture(tmp_path, request, [_at(FOREIGN["ip"](), 0.5)], "gw1-eth0")
    with pytest.raises(ExpectationFailed, match=r"\(1 of renew-xiaoli\)"):
        judge_alongside(merge(mine, gw), RENEW)


def test_broadcast_and_unspecified_ends_are_nobodys(tmp_path, request):
    discover, who_has = capture(tmp_path, request, [
        _at(Ether(src=ME, dst=BCAST) / IP(src="0.0.0.0", dst="255.255.255.255")
            / UDP(sport=68, dport=67) / BOOTP(op=1, xid=7, chaddr=_chaddr(ME))
            / DHCP(options=[("message-type", "discover"), "end"]), 0.0),
        _at(Ether(src=ME, dst=BCAST) / ARP(op=1, hwsrc=ME, psrc="0.0.0.0", pdst=ME_IP), 0.1),
    ])
    assert ends(discover) == {ME}
    assert ends(who_has) == {ME, ME_IP}
    # even a careless map of addresses that holds broadcast ones catches nothing
    careless = {"everyone": set(NOBODY)}
    assert caught([discover, who_has], careless) == {}


def test_ends_are_lower_case(tmp_path, request):
    (packet,) = capture(tmp_path, request, [
        _at(Ether(src=XIAOLI.upper(), dst=GW) / IP(src=XIAOLI_IP, dst=SRV_IP) / ICMP(), 0.0)])
    assert ends(packet) == {XIAOLI.lower(), GW, XIAOLI_IP, SRV_IP}
