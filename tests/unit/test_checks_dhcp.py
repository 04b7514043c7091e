"""The DHCP checks' judges, fed synthetic captures: each passes on the
exchange FLOWS.md describes and fails, with a message that names what is
wrong, when one field of it is wrong.  Also the plans the checks read from
the shipped topologies, and the lease databases of both servers."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from types import SimpleNamespace

import pytest
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.l2 import ARP, Ether

from orchestrator.checks import dhcp
from orchestrator.checks.base import Demonstrated
from orchestrator.errors import TopologyError
from orchestrator.model import Dhcp, Subnet, Topology, TopologyOptions, registry
from orchestrator.packets import ExpectationFailed, synth
from services import plan

pytestmark = pytest.mark.timeout(60)

SERVER = synth.SERVER
T0 = 1_700_000_000.0
BCAST = "ff:ff:ff:ff:ff:ff"
XIAOLI, GW2_LAN, GW2_UP = synth.XIAOLI_MAC, synth.GW2_LAN_MAC, synth.GW2_SRV_MAC
PC_MAC, HOMEGW_MAC, HOMEGW = "02:00:c0:a8:01:82", "02:00:c0:a8:01:81", "192.168.1.129"
FROM_CLIENT = {"discover", "request", "release", "inform", "decline"}


def subnet(network: str, gateway: str, dns: str, pool=None, lease: int = 3600) -> Subnet:
    return Subnet(IPv4Network(network), IPv4Address(gateway),
                  tuple(IPv4Address(p) for p in pool) if pool else None,
                  (IPv4Address(dns),), lease)


def relayed_client(node="xiaoming", mac=synth.XIAOMING_MAC, address="10.1.1.2", relay="gw1",
                   octet=1, lan_mac=synth.GW1_LAN_MAC, renew_time=None) -> dhcp.common.Client:
    gateway = f"10.1.{octet}.1"
    return dhcp.common.Client(
        node, f"{node}-eth0", mac, address,
        subnet(f"10.1.{octet}.0/24", gateway, SERVER, (f"10.1.{octet}.100", f"10.1.{octet}.199")),
        "srv", "srv-eth0", SERVER, synth.SRV_MAC,
        dhcp.common.Relay(relay, f"{relay}-eth0", lan_mac, f"{relay}-eth1", gateway,
                     f"10.10.10.{octet}"), renew_time)


XIAOMING = relayed_client()
XIAOLI_C = relayed_client("xiaoli", XIAOLI, "10.1.2.2", "gw2", 2, GW2_LAN, renew_time=10)
HOME_PC = dhcp.common.Client("pc", "pc-eth0", PC_MAC, None,
                        subnet("192.168.1.128/25", HOMEGW, "8.8.8.8",
                               ("192.168.1.130", "192.168.1.254")),
                        "homegw", "homegw-eth0", HOMEGW, HOMEGW_MAC, None, None)


def msg(t, eth, addresses, kind, xid, mac, flags=0, options=(), **bootp):
    """One DHCP frame: eth (src, dst), addresses (ip src, ip dst, sport, dport)."""
    src, dst, sport, dport = addresses
    return synth._at(Ether(src=eth[0], dst=eth[1]) / IP(src=src, dst=dst)
                     / UDP(sport=sport, dport=dport)
                     / BOOTP(op=1 if kind in FROM_CLIENT else 2, xid=xid, flags=flags,
                             chaddr=synth._chaddr(mac), **bootp)
                     / DHCP(options=[("message-type", kind), *options, "end"]), t)


def load(tmp_path, request, scenario):
    return synth.load(scenario, tmp_path, request.node.name)


def fails(judge, *args, says: list[str]):
    with pytest.raises(ExpectationFailed) as failure:
        judge(*args)
    text = str(failure.value)
    for phrase in says:
        assert phrase in text, text
    return text


# ---------------------------------------------------------------- plans from the topologies

def test_plans_come_from_the_enterprise_model():
    lab = SimpleNamespace(topo=registry.load("enterprise"))
    names = [c.node for c in dhcp.common.relayed_clients(lab)]
    assert names == ["xiaoming", "xiaomei", "xiaoli"]
    xiaoli = dhcp.common.client_plan(lab, "xiaoli")
    assert (xiaoli.address, xiaoli.mask, xiaoli.router, xiaoli.dns) == \
        ("10.1.2.2", "255.255.255.0", "10.1.2.1", ["10.10.10.10"])
    assert (xiaoli.server, xiaoli.server_iface, xiaoli.server_id) == ("srv", "srv-eth0", SERVER)
    assert xiaoli.relay == dhcp.common.Relay("gw2", "gw2-eth0", GW2_LAN, "gw2-eth1", "10.1.2.1",
                                        "10.10.10.2")
    assert dhcp.common.renewing_client(lab).node == "xiaoli" and xiaoli.renew_time == 10
    assert dhcp.common.wire_points(xiaoli) == [("xiaoli", "xiaoli-eth0"), ("gw2", "gw2-eth0"),
                                          ("gw2", "gw2-eth1"), ("srv", "srv-eth0")]
    assert dhcp.reboot.other_subnet_address(dhcp.common.client_plan(lab, "xiaoming"), lab) == "10.1.2.50"
    assert dhcp.inform.hand_address(dhcp.common.client_plan(lab, "xiaomei")) == "10.1.1.50"


def test_plans_come_from_the_home_model():
    lab = SimpleNamespace(topo=registry.load("home", TopologyOptions(dhcp_server="isc")))
    pc = dhcp.common.client_plan(lab, "pc")
    assert pc.relay is None and pc.address is None
    assert (pc.server_id, pc.server_mac, pc.mask) == (HOMEGW, HOMEGW_MAC, "255.255.255.128")
    assert pc.replier == (HOMEGW, HOMEGW_MAC)
    assert dhcp.home.textbook_site(lab) == ("www.baidu.com", "61.135.169.125", 8080)
    assert str(dhcp.home.nat_outside(lab, "homegw").ip) == "198.51.100.2"


def test_every_dhcp_check_is_registered_in_flows_order():
    assert [c.name for c in dhcp.CHECKS] == ["dora-relay", "init-reboot", "renew", "inform",
                                               "release", "home-dora"]


# ---------------------------------------------------------------- dora-relay

def dora_points(tmp_path, request, scenario):
    """The synthetic DORA seen at the four points the check captures."""
    caps = load(tmp_path, request, scenario)
    return caps["xiaoming-eth0"], caps["xiaoming-eth0"], caps["srv-eth0"], caps["srv-eth0"]


def test_dora_relay_passes_and_shows_the_errata(tmp_path, request):
    dora = dhcp.dora.judge_dora_relay(*dora_points(tmp_path, request, synth.dora_relay()), XIAOMING)
    assert dora.flag and dora.offer.ip.dst == "255.255.255.255"
    assert "xiaoming 10.1.1.2 via gw1 (from 10.10.10.1, giaddr 10.1.1.1), OFFER broadcast" \
        in dora.summary()
    errata: list[Demonstrated] = []
    dhcp.dora.record_dora_errata([dora], errata)
    shown = {e.key: e.evidence for e in errata}
    assert shown["dhcp-ports"].startswith("DISCOVER 0.0.0.0:68 > 255.255.255.255:67, OFFER "
                                          "10.1.1.1:67 > 255.255.255.255:68")
    assert shown["relay-source"] == "gw1 relays from 10.10.10.1 with giaddr 10.1.1.1"
    assert "BROADCAST flag 1 in DISCOVER -> OFFER to 255.255.255.255" in shown["offer-unicast"]


def test_dora_relay_fails_when_the_relay_writes_another_giaddr(tmp_path, request):
    scenario = synth.dora_relay()
    scenario["srv-eth0"][0][BOOTP].giaddr = "10.1.2.1"
    fails(dhcp.dora.judge_dora_relay, *dora_points(tmp_path, request, scenario), XIAOMING,
          says=["step 1 of 4", "giaddr is 10.1.2.1, not 10.1.1.1"])


def test_dora_relay_fails_when_the_relay_sends_from_the_gateway_address(tmp_path, request):
    scenario = synth.dora_relay()
    scenario["srv-eth0"][0][IP].src = "10.1.1.1"
    fails(dhcp.dora.judge_dora_relay, *dora_points(tmp_path, request, scenario), XIAOMING,
          says=["src is 10.1.1.1, not 10.10.10.1"])


def test_dora_relay_fails_when_the_offer_is_not_the_reservation(tmp_path, request):
    scenario = synth.dora_relay()
    scenario["xiaoming-eth0"][1][BOOTP].yiaddr = "10.1.1.150"
    fails(dhcp.dora.judge_dora_relay, *dora_points(tmp_path, request, scenario), XIAOMING,
          says=["step 2 of 4", "yiaddr is 10.1.1.150, not 10.1.1.2"])


def test_dora_relay_fails_when_the_ack_lacks_the_router(tmp_path, request):
    scenario = synth.dora_relay()
    ack = scenario["xiaoming-eth0"][3]
    ack[DHCP].options = [o for o in ack[DHCP].options if not (isinstance(o, tuple)
                                                              and o[0] == "router")]
    fails(dhcp.dora.judge_dora_relay, *dora_points(tmp_path, request, scenario), XIAOMING,
          says=["step 4 of 4", "router is -"])


def test_dora_relay_fails_when_a_broadcast_request_gets_a_unicast_offer(tmp_path, request):
    scenario = synth.dora_relay()
    offer = scenario["xiaoming-eth0"][1]
    offer[IP].dst, offer[Ether].dst = "10.1.1.2", synth.XIAOMING_MAC
    fails(dhcp.dora.judge_dora_relay, *dora_points(tmp_path, request, scenario), XIAOMING,
          says=["step 2 of 4", "dst is 10.1.1.2, not 255.255.255.255"])


def test_dora_relay_fails_without_the_arp_probe(tmp_path, request):
    scenario = synth.dora_relay()
    scenario["xiaoming-eth0"].pop()
    fails(dhcp.dora.judge_dora_relay, *dora_points(tmp_path, request, scenario), XIAOMING,
          says=["arp(op=request, sender_ip=0.0.0.0, target_ip=10.1.1.2"])


def test_dora_relay_fails_when_the_address_is_used_before_the_probe(tmp_path, request):
    scenario = synth.dora_relay()
    probe = scenario["xiaoming-eth0"][-1]
    scenario["xiaoming-eth0"].insert(-1, synth._at(
        Ether(src=synth.XIAOMING_MAC, dst=BCAST)
        / ARP(op=1, hwsrc=synth.XIAOMING_MAC, psrc="10.1.1.2", pdst="10.1.1.1"),
        probe.time - 0.001))
    fails(dhcp.dora.judge_dora_relay, *dora_points(tmp_path, request, scenario), XIAOMING,
          says=["expected no packet matching", "who-has 10.1.1.1 tell 10.1.1.2"])


APPLIED = ("2: xiaoming-eth0    inet 10.1.1.2/24 brd 10.1.1.255 scope global xiaoming-eth0",
           "default via 10.1.1.1 dev xiaoming-eth0 \n", "nameserver 10.10.10.10\n")


def test_the_applied_config_matches_the_ack():
    assert dhcp.dora.judge_applied(XIAOMING, *APPLIED) == \
        "10.1.1.2/24 default via 10.1.1.1 nameserver 10.10.10.10"


@pytest.mark.parametrize("index,wrong,says", [
    (0, "2: xiaoming-eth0    inet 10.1.2.2/24 brd 10.1.2.255", "not 10.1.1.2/24"),
    (1, "default via 10.1.2.1 dev xiaoming-eth0\n", "not via 10.1.1.1"),
    (2, "nameserver 8.8.8.8\n", "nameservers ['8.8.8.8'], not ['10.10.10.10']"),
])
def test_a_config_other_than_the_ack_fails(index, wrong, says):
    facts = list(APPLIED)
    facts[index] = wrong
    fails(dhcp.dora.judge_applied, XIAOMING, *facts, says=["did not configure", says])


# ---------------------------------------------------------------- init-reboot

GW1 = (synth.GW1_LAN_MAC, synth.XIAOMING_MAC)
UP1 = (synth.GW1_SRV_MAC, synth.SRV_MAC)
DOWN1 = (synth.SRV_MAC, synth.GW1_SRV_MAC)
CLIENT_BCAST = (synth.XIAOMING_MAC, BCAST)
FROM_NOTHING = ("0.0.0.0", "255.255.255.255", 68, 67)
RELAYED = ("10.10.10.1", SERVER, 67, 67)
TO_RELAY = (SERVER, "10.1.1.1", 67, 67)
TO_CLIENT = ("10.1.1.1", "10.1.1.2", 67, 68)
MAC = synth.XIAOMING_MAC
GRANT = [("server_id", SERVER), ("lease_time", 3600), ("subnet_mask", "255.255.255.0"),
         ("router", "10.1.1.1"), ("name_server", SERVER)]


def reboot(requested="10.1.1.2", server_id=False, discover_first=False, xid=0x100):
    asked = [("requested_addr", requested)] + ([("server_id", SERVER)] if server_id else [])
    client = [msg(T0 + 0.001, CLIENT_BCAST, FROM_NOTHING, "request", xid, MAC, options=asked),
              msg(T0 + 0.002, GW1, TO_CLIENT, "ack", xid, MAC, yiaddr="10.1.1.2",
                  giaddr="10.1.1.1", options=GRANT)]
    if discover_first:
        client.insert(0, msg(T0, CLIENT_BCAST, FROM_NOTHING, "discover", 0x99, MAC))
    server = [msg(T0 + 0.0012, UP1, RELAYED, "request", xid, MAC, giaddr="10.1.1.1",
                  options=asked),
              msg(T0 + 0.0015, DOWN1, TO_RELAY, "ack", xid, MAC, yiaddr="10.1.1.2",
                  giaddr="10.1.1.1", options=GRANT)]
    return {"xiaoming-eth0": client, "srv-eth0": server}


def test_init_reboot_passes_with_request_and_ack_only(tmp_path, request):
    caps = load(tmp_path, request, reboot())
    evidence = dhcp.reboot.judge_init_reboot(caps["xiaoming-eth0"], caps["srv-eth0"], XIAOMING)
    assert evidence == ("REQUEST xid 0x00000100 for 10.1.1.2 (option 50, no server id) and ACK, "
                        "no DISCOVER")


def test_init_reboot_fails_when_the_client_starts_with_discover(tmp_path, request):
    caps = load(tmp_path, request, reboot(discover_first=True))
    fails(dhcp.reboot.judge_init_reboot, caps["xiaoming-eth0"], caps["srv-eth0"], XIAOMING,
          says=["as the first packet of that kind (only=True)", "DHCP DISCOVER"])


def test_init_reboot_fails_when_the_request_names_a_server(tmp_path, request):
    caps = load(tmp_path, request, reboot(server_id=True))
    fails(dhcp.reboot.judge_init_reboot, caps["xiaoming-eth0"], caps["srv-eth0"], XIAOMING,
          says=["server_id is 10.10.10.10, which fails absent"])


def moved(nak=True):
    """xiaoming remembers 10.1.2.50: NAK, then a DISCOVER that gets 10.1.1.2."""
    asked = [("requested_addr", "10.1.2.50")]
    answer = (msg(T0 + 0.002, GW1, ("10.1.1.1", "255.255.255.255", 67, 68), "nak", 0x200, MAC,
                  flags=0x8000, giaddr="10.1.1.1",
                  options=[("server_id", SERVER), ("error_message", "wrong address")])
              if nak else
              msg(T0 + 0.002, GW1, ("10.1.1.1", "10.1.2.50", 67, 68), "ack", 0x200, MAC,
                  yiaddr="10.1.2.50", giaddr="10.1.1.1", options=GRANT))
    offered = [("server_id", SERVER), ("requested_addr", "10.1.1.2")]
    client = [msg(T0 + 0.001, CLIENT_BCAST, FROM_NOTHING, "request", 0x200, MAC, options=asked),
              answer,
              msg(T0 + 0.010, CLIENT_BCAST, FROM_NOTHING, "discover", 0x300, MAC),
              msg(T0 + 0.011, GW1, TO_CLIENT, "offer", 0x300, MAC, yiaddr="10.1.1.2",
                  giaddr="10.1.1.1", options=GRANT),
              msg(T0 + 0.012, CLIENT_BCAST, FROM_NOTHING, "request", 0x300, MAC, options=offered),
              msg(T0 + 0.013, GW1, TO_CLIENT, "ack", 0x300, MAC, yiaddr="10.1.1.2",
                  giaddr="10.1.1.1", options=GRANT)]
    server = [msg(T0 + 0.0012, UP1, RELAYED, "request", 0x200, MAC, giaddr="10.1.1.1",
                  options=asked),
              msg(T0 + 0.0015, DOWN1, TO_RELAY, "nak", 0x200, MAC, flags=0x8000,
                  giaddr="10.1.1.1", options=[("server_id", SERVER)])]
    return {"xiaoming-eth0": client, "srv-eth0": server}


def test_a_moved_address_is_naked_and_the_client_starts_over(tmp_path, request):
    caps = load(tmp_path, request, moved())
    evidence = dhcp.reboot.judge_init_reboot_nak(caps["xiaoming-eth0"], caps["srv-eth0"], XIAOMING,
                                            "10.1.2.50")
    assert evidence == ("claiming 10.1.2.50: REQUEST, NAK ('wrong address') to 255.255.255.255, "
                        "then DISCOVER xid 0x00000300 and ACK of 10.1.1.2")


def test_a_moved_address_that_is_acked_fails(tmp_path, request):
    caps = load(tmp_path, request, moved(nak=False))
    fails(dhcp.reboot.judge_init_reboot_nak, caps["xiaoming-eth0"], caps["srv-eth0"], XIAOMING,
          "10.1.2.50", says=["step 2 of 6", "type is ACK, not NAK"])


# ---------------------------------------------------------------- renew

GW2 = (GW2_LAN, XIAOLI)
RENEW_GRANT = [("server_id", SERVER), ("lease_time", 3600), ("renewal_time", 10),
               ("subnet_mask", "255.255.255.0"), ("router", "10.1.2.1"), ("name_server", SERVER)]


def renewal(at=9.0, dst=SERVER, eth_dst=GW2_LAN, relayed_only=False):
    """xiaoli bound with T1 10 s, then renewing by unicast straight to the server."""
    xid = 0x400
    own = ("10.1.2.2", dst, 68, 67)
    request = msg(T0 + at, (XIAOLI, eth_dst), own, "request", xid, XIAOLI, ciaddr="10.1.2.2")
    straight_ack = ("10.1.2.2", "10.1.2.2", SERVER)
    client = [msg(T0, GW2, ("10.1.2.1", "10.1.2.2", 67, 68), "ack", xid, XIAOLI,
                  yiaddr="10.1.2.2", giaddr="10.1.2.1", options=RENEW_GRANT),
              request,
              msg(T0 + at + 0.002, (GW2_LAN, XIAOLI), (SERVER, "10.1.2.2", 67, 68), "ack", xid,
                  XIAOLI, ciaddr=straight_ack[0], yiaddr=straight_ack[1], options=RENEW_GRANT)]
    copy = msg(T0 + at + 0.0011, (GW2_UP, synth.SRV_MAC), ("10.10.10.2", SERVER, 67, 67),
               "request", xid, XIAOLI, ciaddr="10.1.2.2", giaddr="10.1.2.1")
    server = [copy] if relayed_only else [
        msg(T0 + at + 0.001, (GW2_UP, synth.SRV_MAC), own, "request", xid, XIAOLI,
            ciaddr="10.1.2.2"),
        copy,
        msg(T0 + at + 0.0015, (synth.SRV_MAC, GW2_UP), (SERVER, "10.1.2.2", 67, 68), "ack",
            xid, XIAOLI, ciaddr="10.1.2.2", yiaddr="10.1.2.2", options=RENEW_GRANT)]
    return {"xiaoli-eth0": client, "srv-eth0": server}


def test_renewal_straight_to_the_server_passes(tmp_path, request):
    caps = load(tmp_path, request, renewal())
    evidence = dhcp.renew.judge_renew(caps["xiaoli-eth0"], caps["srv-eth0"], XIAOLI_C)
    assert evidence.startswith("xiaoli: ACK with T1 10 s, then 9.0 s later REQUEST ciaddr "
                               "10.1.2.2 10.1.2.2 > 10.10.10.10 (to 02:00:0a:01:02:01, giaddr 0)")
    assert "extended by 9.0 s" in evidence
    assert "gw2's dhcrelay overheard it and relayed a copy (giaddr 10.1.2.1)" in evidence


def test_a_broadcast_renewal_fails(tmp_path, request):
    caps = load(tmp_path, request, renewal(dst="255.255.255.255", eth_dst=BCAST))
    fails(dhcp.renew.judge_renew, caps["xiaoli-eth0"], caps["srv-eth0"], XIAOLI_C,
          says=["dhcp(type=REQUEST", "dst is 255.255.255.255, not 10.10.10.10"])


def test_a_renewal_that_reaches_the_server_only_through_the_relay_fails(tmp_path, request):
    caps = load(tmp_path, request, renewal(relayed_only=True))
    fails(dhcp.renew.judge_renew, caps["xiaoli-eth0"], caps["srv-eth0"], XIAOLI_C,
          says=["step 1 of 2", "src is 10.10.10.2, not 10.1.2.2"])


def test_the_renewal_window_follows_dhclients_fuzz():
    assert dhcp.renew.renew_window(10) == (6.75, 12.25)


@pytest.mark.parametrize("at", [2.0, 15.0], ids=["long-before-t1", "long-after-t1"])
def test_a_renewal_far_from_t1_fails(tmp_path, request, at):
    caps = load(tmp_path, request, renewal(at=at))
    fails(dhcp.renew.judge_renew, caps["xiaoli-eth0"], caps["srv-eth0"], XIAOLI_C,
          says=[f"the renewal came {at:.1f} s after the ACK with T1 10 s, outside 6.75-12.25 s"])


# ---------------------------------------------------------------- inform

HAND = "10.1.1.50"
MEI = synth.XIAOMEI_MAC
XIAOMEI = relayed_client("xiaomei", MEI, "10.1.1.3")
CONFIG = [("server_id", SERVER), ("subnet_mask", "255.255.255.0"), ("router", "10.1.1.1"),
          ("name_server", SERVER)]


def inform(extra=(), yiaddr="0.0.0.0", direct=False):
    xid = 0x500
    answer = {"ciaddr": HAND, "yiaddr": yiaddr, "options": [*CONFIG, *extra]}
    asked = msg(T0, (MEI, BCAST), (HAND, "255.255.255.255", 68, 67), "inform", xid, MEI,
                flags=0x8000, ciaddr=HAND)
    relayed_inform = msg(T0 + 0.001, UP1, RELAYED, "inform", xid, MEI, flags=0x8000,
                         ciaddr=HAND, giaddr="10.1.1.1")
    if direct:      # ISC: the server answers ciaddr
        sent = msg(T0 + 0.002, DOWN1, (SERVER, HAND, 67, 68), "ack", xid, MEI, flags=0x8000,
                   giaddr="10.1.1.1", **answer)
        got = msg(T0 + 0.003, (synth.GW1_LAN_MAC, MEI), (SERVER, HAND, 67, 68), "ack", xid,
                  MEI, flags=0x8000, giaddr="10.1.1.1", **answer)
    else:           # dnsmasq: the server answers the relay, which broadcasts it
        sent = msg(T0 + 0.002, DOWN1, TO_RELAY, "ack", xid, MEI, flags=0x8000,
                   giaddr="10.1.1.1", **answer)
        got = msg(T0 + 0.003, (synth.GW1_LAN_MAC, BCAST), ("10.1.1.1", "255.255.255.255", 67, 68),
                  "ack", xid, MEI, flags=0x8000, giaddr="10.1.1.1", **answer)
    return {"xiaomei-eth0": [asked, got], "srv-eth0": [relayed_inform, sent]}


@pytest.mark.parametrize("direct,path", [
    (False, "the server answered the relay (10.1.1.1), which sent it to 255.255.255.255"),
    (True, "the server answered ciaddr straight: 10.10.10.10 > 10.1.1.50")])
def test_inform_gets_configuration_and_no_lease(tmp_path, request, direct, path):
    caps = load(tmp_path, request, inform(direct=direct))
    evidence = dhcp.inform.judge_inform(caps["xiaomei-eth0"], caps["srv-eth0"], XIAOMEI, HAND)
    assert evidence.startswith("INFORM from 10.1.1.50 (ciaddr 10.1.1.50, chaddr "
                               "02:00:0a:01:01:03) relayed by gw1 (giaddr 10.1.1.1); ACK with "
                               "yiaddr 0.0.0.0, no lease time, mask 255.255.255.0")
    assert evidence.endswith(path)


def test_an_inform_answered_with_a_lease_time_fails(tmp_path, request):
    caps = load(tmp_path, request, inform(extra=[("lease_time", 3600)]))
    fails(dhcp.inform.judge_inform, caps["xiaomei-eth0"], caps["srv-eth0"], XIAOMEI, HAND,
          says=["lease_time is 3600, which fails absent"])


def test_an_inform_answered_with_an_address_fails(tmp_path, request):
    caps = load(tmp_path, request, inform(yiaddr="10.1.1.150"))
    fails(dhcp.inform.judge_inform, caps["xiaomei-eth0"], caps["srv-eth0"], XIAOMEI, HAND,
          says=["yiaddr is 10.1.1.150, not 0.0.0.0"])


# ---------------------------------------------------------------- release

def release(dst=SERVER, eth_dst=synth.GW1_LAN_MAC, answered=False):
    xid = 0x600
    own = ("10.1.1.2", dst, 68, 67)
    sent = msg(T0, (MAC, eth_dst), own, "release", xid, MAC, ciaddr="10.1.1.2",
               options=[("server_id", SERVER)])
    server = [msg(T0 + 0.001, UP1, own, "release", xid, MAC, ciaddr="10.1.1.2",
                  options=[("server_id", SERVER)]),
              msg(T0 + 0.0011, UP1, RELAYED, "release", xid, MAC, ciaddr="10.1.1.2",
                  giaddr="10.1.1.1", options=[("server_id", SERVER)])]
    if answered:
        server.append(msg(T0 + 0.002, DOWN1, (SERVER, "10.1.1.2", 67, 68), "nak", xid, MAC,
                          options=[("server_id", SERVER)]))
    return {"xiaoming-eth0": [sent], "srv-eth0": server}


def test_release_unicast_to_the_server_passes(tmp_path, request):
    caps = load(tmp_path, request, release())
    evidence = dhcp.release.judge_release(caps["xiaoming-eth0"], caps["srv-eth0"], XIAOMING)
    assert evidence == ("RELEASE ciaddr 10.1.1.2 server id 10.10.10.10, 10.1.1.2:68 > "
                        "10.10.10.10:67 via 02:00:0a:01:01:01, unanswered; gw1's dhcrelay "
                        "overheard it and relayed a copy (giaddr 10.1.1.1), so the server got "
                        "it twice")


def test_a_broadcast_release_fails(tmp_path, request):
    caps = load(tmp_path, request, release(dst="255.255.255.255", eth_dst=BCAST))
    fails(dhcp.release.judge_release, caps["xiaoming-eth0"], caps["srv-eth0"], XIAOMING,
          says=["dst is 255.255.255.255, not 10.10.10.10"])


def test_an_answered_release_fails(tmp_path, request):
    caps = load(tmp_path, request, release(answered=True))
    fails(dhcp.release.judge_release, caps["xiaoming-eth0"], caps["srv-eth0"], XIAOMING,
          says=["expected no packet matching dhcp(xid=0x00000600, op=BOOTREPLY)", "DHCP NAK"])


DNSMASQ_HELD = ("1795256187 02:00:0a:01:01:03 10.1.1.3 xiaomei *\n"
                "1795256190 02:00:0a:01:01:02 10.1.1.2 xiaoming *\n")
DNSMASQ_FREED = "1795256187 02:00:0a:01:01:03 10.1.1.3 xiaomei *\n"
DHCPD = """authoring-byte-order little-endian;

lease 10.1.2.150 {{
  starts 6 2026/11/21 09:00:00;
  binding state {first};
  hardware ethernet 02:00:0b:02:00:02;
}}
lease 10.1.2.150 {{
  starts 6 2026/11/21 09:01:00;
  binding state {last};
  hardware ethernet 02:00:0b:02:00:02;
}}
"""


def test_dnsmasq_forgets_a_released_lease():
    assert dhcp.release.lease_state("dnsmasq", DNSMASQ_HELD, "10.1.1.2") == "active"
    assert dhcp.release.judge_lease_freed("dnsmasq", DNSMASQ_HELD, DNSMASQ_FREED, "10.1.1.2") == \
        "dnsmasq's lease file held 10.1.1.2 before, not after"
    fails(dhcp.release.judge_lease_freed, "dnsmasq", DNSMASQ_HELD, DNSMASQ_HELD, "10.1.1.2",
          says=["still holds 10.1.1.2 as active"])


def test_dhcpd_marks_a_released_lease_free():
    held = DHCPD.format(first="free", last="active")
    freed = held + DHCPD.split("\n", 2)[2].format(first="active", last="free")
    assert dhcp.release.lease_state("isc", held, "10.1.2.150") == "active"
    assert dhcp.release.lease_state("isc", freed, "10.1.2.150") == "free"
    assert dhcp.release.judge_lease_freed("isc", held, freed, "10.1.2.150") == \
        "dhcpd.leases: 10.1.2.150 binding state active -> free"
    fails(dhcp.release.judge_lease_freed, "isc", held, held, "10.1.2.150", says=["still holds"])
    assert "keeps none for a fixed-address host" in \
        dhcp.release.judge_lease_freed("isc", "", "", "10.1.1.2")


# ---------------------------------------------------------------- home-dora

HOME_GRANT = [("server_id", HOMEGW), ("lease_time", 3600), ("subnet_mask", "255.255.255.128"),
              ("router", HOMEGW), ("name_server", "8.8.8.8")]


def home(yiaddr="192.168.1.130", giaddr="0.0.0.0", mask="255.255.255.128"):
    grant = [o if o[0] != "subnet_mask" else ("subnet_mask", mask) for o in HOME_GRANT]
    bcast, gw = (PC_MAC, BCAST), (HOMEGW_MAC, PC_MAC)
    reply = (HOMEGW, yiaddr, 67, 68)
    return {"pc-eth0": [
        msg(T0, bcast, FROM_NOTHING, "discover", 0x700, PC_MAC),
        msg(T0 + 0.001, gw, reply, "offer", 0x700, PC_MAC, yiaddr=yiaddr, giaddr=giaddr,
            options=grant),
        msg(T0 + 0.002, bcast, FROM_NOTHING, "request", 0x700, PC_MAC,
            options=[("requested_addr", yiaddr), ("server_id", HOMEGW)]),
        msg(T0 + 0.003, gw, reply, "ack", 0x700, PC_MAC, yiaddr=yiaddr, giaddr=giaddr,
            options=grant),
        synth._at(Ether(src=PC_MAC, dst=BCAST) / ARP(op=1, hwsrc=PC_MAC, psrc="0.0.0.0",
                                                      pdst=yiaddr), T0 + 0.004)]}


def test_home_dora_has_no_relay_and_a_pool_address(tmp_path, request):
    ack = dhcp.home.judge_home_dora(load(tmp_path, request, home())["pc-eth0"], HOME_PC)
    assert (ack.dhcp.yiaddr, ack.dhcp.subnet_mask) == ("192.168.1.130", "255.255.255.128")


@pytest.mark.parametrize("change,says", [
    ({"giaddr": "192.168.1.129"}, "giaddr is 192.168.1.129, not 0.0.0.0"),
    ({"yiaddr": "192.168.1.100"}, "yiaddr is 192.168.1.100, which fails in 192.168.1.130-"),
    ({"mask": "255.255.255.0"}, "subnet_mask is 255.255.255.0, not 255.255.255.128"),
])
def test_home_dora_fails_on_a_wrong_field(tmp_path, request, change, says):
    fails(dhcp.home.judge_home_dora, load(tmp_path, request, home(**change))["pc-eth0"], HOME_PC,
          says=[says])


def home_ack(tmp_path, request):
    return dhcp.home.judge_home_dora(load(tmp_path, request, home())["pc-eth0"], HOME_PC)


ADDR = "2: pc-eth0    inet 192.168.1.130/25 brd 192.168.1.255 scope global pc-eth0\n"
ROUTES = ("default via 192.168.1.129 dev pc-eth0\n"
          "192.168.1.128/25 dev pc-eth0 proto kernel scope link src 192.168.1.130\n")


def test_the_pc_computes_network_and_broadcast_from_the_mask(tmp_path, request):
    assert dhcp.home.judge_home_addressing(HOME_PC, home_ack(tmp_path, request), ADDR, ROUTES,
                                        "192.168.1.100") == \
        "network 192.168.1.128 broadcast 192.168.1.255"


def test_a_slash_24_view_of_the_lan_fails(tmp_path, request):
    addr = "2: pc-eth0    inet 192.168.1.130/24 brd 192.168.1.255 scope global pc-eth0\n"
    routes = "192.168.1.0/24 dev pc-eth0 proto kernel scope link src 192.168.1.130\n"
    fails(dhcp.home.judge_home_addressing, HOME_PC, home_ack(tmp_path, request), addr, routes,
          "192.168.1.100", says=["not 192.168.1.130/25 brd 192.168.1.255",
                                 "no connected route to 192.168.1.128/25"])


def ping(to_mac=HOMEGW_MAC, arp_for_target=False):
    packets = []
    if arp_for_target:
        packets.append(synth._at(Ether(src=PC_MAC, dst=BCAST)
                                 / ARP(op=1, hwsrc=PC_MAC, psrc="192.168.1.130",
                                       pdst="192.168.1.100"), T0))
    packets += [
        synth._at(Ether(src=PC_MAC, dst=to_mac) / IP(src="192.168.1.130", dst="192.168.1.100")
                  / ICMP(type=8, id=1, seq=1), T0 + 0.001),
        synth._at(Ether(src=to_mac, dst=PC_MAC) / IP(src="192.168.1.100", dst="192.168.1.130")
                  / ICMP(type=0, id=1, seq=1), T0 + 0.002)]
    return {"pc-eth0": packets}


def test_the_off_link_host_is_reached_through_the_gateway(tmp_path, request):
    wire = load(tmp_path, request, ping())["pc-eth0"]
    assert dhcp.home.judge_off_link(wire, HOME_PC, "192.168.1.130", "192.168.1.100") == \
        "ICMP to 192.168.1.100 sent to the gateway's MAC 02:00:c0:a8:01:81, no ARP for it"


def test_an_off_link_host_treated_as_on_link_fails(tmp_path, request):
    wire = load(tmp_path, request, ping(to_mac="02:00:c0:a8:01:64", arp_for_target=True))
    fails(dhcp.home.judge_off_link, wire["pc-eth0"], HOME_PC, "192.168.1.130", "192.168.1.100",
          says=["expected no packet matching arp(op=request, target_ip=192.168.1.100"])


def test_the_web_visit_is_translated_by_the_home_router(tmp_path, request):
    caps = load(tmp_path, request, synth.web11(client="192.168.1.130", dport=8080,
                                               public="198.51.100.2"))
    evidence = dhcp.home.judge_home_nat(caps["xiaoming-eth0"], caps["edge-eth1"], "192.168.1.130",
                                     "198.51.100.2", 8080)
    assert evidence == ("web visit: 11 segments, SYN 192.168.1.130:40000 inside is "
                        "198.51.100.2:40000 on the WAN")


def test_an_untranslated_web_visit_fails(tmp_path, request):
    caps = load(tmp_path, request, synth.web11(client="192.168.1.130", dport=8080,
                                               public="192.168.1.130"))
    fails(dhcp.home.judge_home_nat, caps["xiaoming-eth0"], caps["edge-eth1"], "192.168.1.130",
          "198.51.100.2", 8080, says=["not translated to 198.51.100.2"])


# ---------------------------------------------------------------- the short T1 behind renew

def test_both_backends_give_xiaoli_her_t1(tmp_path):
    rendered = {}
    for backend in ("dnsmasq", "isc"):
        topo = registry.load("enterprise", TopologyOptions(dhcp_server=backend))
        server = next(d for d in plan.daemons(topo, tmp_path / backend)
                      if d.name in ("dnsmasq-dhcp", "dhcpd"))
        rendered[backend] = next(text for path, text in server.launch().files.items()
                                 if path.endswith(".conf"))
    assert "dhcp-host=02:00:0a:01:02:02,set:t1_xiaoli,10.1.2.2,xiaoli\n" \
           "dhcp-option=tag:t1_xiaoli,option:T1,10\n" in rendered["dnsmasq"]
    assert rendered["dnsmasq"].count("option:T1") == 1
    assert "fixed-address 10.1.2.2;\n  option dhcp-renewal-time 10;\n}" in rendered["isc"]
    assert rendered["isc"].count("dhcp-renewal-time") == 1


@pytest.mark.parametrize("dhcp,says", [
    ({"renew_time": 10}, "a renewal time is given per reservation"),
    ({"renew_time": 0, "reserve": "10.0.0.5"}, "0 is not a positive number of seconds"),
    ({"renew_time": "10", "reserve": "10.0.0.5"}, "'10' is not a positive number of seconds"),
])
def test_a_renew_time_needs_a_reservation_and_seconds(dhcp, says):
    topo = Topology("t")
    topo.host("pc")
    topo.switch("sw")
    with pytest.raises(TopologyError, match=says) as error:
        topo.link("pc", "sw", mac="02:00:00:00:00:01", dhcp=Dhcp(server="r", **dhcp))
    assert error.value.field == "pc-eth0: dhcp.renew_time"
