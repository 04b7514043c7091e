"""rarp-vs-dhcp without a lab: the judge on synthetic captures, right and
wrong (an answer carrying IP, a reply from across the router, a 0x0800
"RARP" frame, an unknown MAC answered, a missing reply); the cast from the
model; the rarpd service's private files and launch; the refusals of
validation; the client's frames; the ladder's RARP labels."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace

import pytest
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import ARP, Ether

from orchestrator.checks.base import Demonstrated
from orchestrator.checks.rarp import (
    Cast,
    Client,
    RarpVsDhcp,
    Relay,
    Server,
    find_roles,
    judge_rarp_vs_dhcp,
    unknown_mac,
)
from orchestrator.errors import TopologyError
from orchestrator.ladder import build, mark_errata
from orchestrator.ladder.labels import kind_of, label_of
from orchestrator.model import Dhcp, Topology, TopologyOptions, registry, service
from orchestrator.model.validation import problems
from orchestrator.packets import ExpectationFailed, from_frames, synth, write_pcap
from orchestrator.packets.synth import (
    BROADCAST,
    GW1_LAN_MAC,
    GW2_LAN_MAC,
    GW2_SRV_MAC,
    XIAOLI_MAC,
    XIAOMING_MAC,
)
from orchestrator.results.verify import ErratumShown
from services import rarp_lookup
from services.plan import daemons
from services.tools import rarp_client

pytestmark = pytest.mark.timeout(60)

T0 = 1_700_002_000.0
UNKNOWN = "02:52:41:52:50:01"
SERVER = Server("gw1", "gw1-eth0", GW1_LAN_MAC, "10.1.1.1", ("gw1-eth0", "gw1-eth1"))
NEAR = Client("xiaoming", "xiaoming-eth0", "xiaoming-eth0", XIAOMING_MAC, "10.1.1.2")
FAR = Client("xiaoli", "xiaoli-eth0", "xiaoli-eth0", XIAOLI_MAC, "10.1.2.2")
RELAY = Relay("gw2", "gw2-eth0", "10.1.2.1", ("gw2-eth1",))
CAST = Cast(SERVER, NEAR, UNKNOWN, FAR, RELAY)
RARP_POINTS = ("xiaoming-eth0", "gw1-eth0", "gw1-eth1", "xiaoli-eth0", "gw2-eth0", "gw2-eth1")


def at(packet, time):
    packet.time = time
    return packet


def rarp_request(mac: str, time: float, ethertype: int = 0x8035):
    return at(Ether(src=mac, dst=BROADCAST, type=ethertype)
              / ARP(op=3, hwsrc=mac, psrc="0.0.0.0", hwdst=mac, pdst="0.0.0.0"), time)


def rarp_reply(to: str, address: str, time: float, server_mac: str = GW1_LAN_MAC,
               server_ip: str = "10.1.1.1", ethertype: int = 0x8035):
    return at(Ether(src=server_mac, dst=to, type=ethertype)
              / ARP(op=4, hwsrc=server_mac, psrc=server_ip, hwdst=to, pdst=address), time)


def exchange() -> dict[str, list]:
    """What the right run shows: xiaoming's request and gw1's reply on
    VLAN 10, the unknown MAC's request unanswered, xiaoli's request on
    VLAN 20 only, unanswered."""
    near = [rarp_request(XIAOMING_MAC, T0), rarp_request(UNKNOWN, T0 + 0.0001),
            rarp_reply(XIAOMING_MAC, "10.1.1.2", T0 + 0.0003)]
    far = [rarp_request(XIAOLI_MAC, T0 + 0.0002)]
    return {"xiaoming-eth0": near, "gw1-eth0": [p.copy() for p in near], "gw1-eth1": [],
            "xiaoli-eth0": far, "gw2-eth0": [p.copy() for p in far], "gw2-eth1": []}


def dhcp_scenario() -> dict[str, list]:
    near = synth.dora_relay()
    far = synth.dora_relay(client_mac=XIAOLI_MAC, address="10.1.2.2", gateway="10.1.2.1",
                           relay_upstream="10.10.10.2", relay_lan_mac=GW2_LAN_MAC,
                           relay_srv_mac=GW2_SRV_MAC, xid=0x2B3C4D5E, client_point="xiaoli-eth0",
                           server_point="gw2-eth1")
    return {"xiaoming-eth0": near["xiaoming-eth0"], **far}


def captures(scenario: dict[str, list]) -> dict:
    return {point: from_frames([(p.time, bytes(p)) for p in packets], point)
            for point, packets in scenario.items()}


def judge(rarp=None, dhcp=None, cast: Cast = CAST):
    errata: list[Demonstrated] = []
    evidence = judge_rarp_vs_dhcp(captures(rarp or exchange()), captures(dhcp or dhcp_scenario()),
                                  cast, errata)
    return evidence, errata


# ---------------------------------------------------------------- the judge, right

def test_the_textbook_comparison_passes_and_shows_the_ethertype_erratum():
    evidence, errata = judge()
    assert "xiaoming RARP who-is 02:00:0a:01:01:02 (broadcast) -> gw1" in evidence
    assert "10.1.1.2, 42-byte frame (eth 0x8035 | rarp op rarp-reply" in evidence
    assert "its DHCP ACK (eth 0x0800 | ip 10.1.1.1 > 255.255.255.255 | udp 67 > 68 | " \
           "dhcp ACK yiaddr 10.1.1.2 mask 255.255.255.0 router 10.1.1.1 dns 10.10.10.10 " \
           "lease 3600 s)" in evidence
    assert f"{UNKNOWN} (no table entry) unanswered" in evidence
    assert "xiaoli (in the table as 10.1.2.2) asked: heard at gw2-eth0 only, not beyond gw2, " \
           "unanswered, while its DHCP crossed gw2 (giaddr 10.1.2.1) and got 10.1.2.2" in evidence
    assert [(e.key, e.evidence) for e in errata] == [
        ("arp-ethertype", "RARP request and reply of xiaoming: frame type 0x8035 and 0x8035, "
                          "not 0x0800")]
    shown_by = errata[0].packet          # the request: the report marks its arrow
    assert shown_by.eth.type == 0x8035 and shown_by.point == "xiaoming-eth0"
    assert shown_by.arp.op == "rarp-request"


def test_without_a_client_behind_a_router_the_crossing_is_said_not_shown():
    evidence, _ = judge(cast=replace(CAST, far=None, relay=None))
    assert evidence.endswith("no client of the table behind a router: crossing not shown")


# ---------------------------------------------------------------- the judge, wrong

def test_an_answer_carrying_ip_and_udp_instead_of_rarp_fails_readably():
    rarp = exchange()
    bootp = at(Ether(src=GW1_LAN_MAC, dst=XIAOMING_MAC) / IP(src="10.1.1.1", dst="10.1.1.2")
               / UDP(sport=67, dport=68)
               / BOOTP(op=2, yiaddr="10.1.1.2", chaddr=bytes.fromhex("02000a010102"))
               / DHCP(options=[("message-type", "ack"), "end"]), T0 + 0.0003)
    for point in ("xiaoming-eth0", "gw1-eth0"):
        rarp[point][-1] = bootp.copy()
    with pytest.raises(ExpectationFailed) as failed:
        judge(rarp)
    text = str(failed.value)
    assert "step 2 of 2: expected arp(eth_type=32821 (rarp), op=rarp-reply" in text
    assert "target_ip=10.1.1.2" in text
    assert "10.1.1.1.67 > 10.1.1.2.68: DHCP ACK" in text


def test_a_missing_reply_fails_naming_the_missing_packet():
    rarp = exchange()
    for point in ("xiaoming-eth0", "gw1-eth0"):
        rarp[point].pop()
    with pytest.raises(ExpectationFailed) as failed:
        judge(rarp)
    text = str(failed.value)
    assert re.search(r"step 2 of 2: expected arp\(.*op=rarp-reply.*target_mac="
                     r"02:00:0a:01:01:02.*target_ip=10\.1\.1\.2.*sender_mac=02:00:0a:01:01:01",
                     text), text
    assert "none of the 0 packets after it among packets of kind eth(src=02:00:0a:01:01:02)" in text


@pytest.mark.parametrize("ethertype", [0x0800, 0x0806])
def test_a_rarp_frame_of_another_ethertype_is_not_rarp(ethertype):
    rarp = exchange()
    for point in ("xiaoming-eth0", "gw1-eth0"):
        rarp[point][0] = rarp_request(XIAOMING_MAC, T0, ethertype)
        rarp[point][-1] = rarp_reply(XIAOMING_MAC, "10.1.1.2", T0 + 0.0003, ethertype=ethertype)
    with pytest.raises(ExpectationFailed) as failed:
        judge(rarp)
    text = str(failed.value)
    assert "step 1 of 2: expected arp(eth_type=32821 (rarp), op=rarp-request" in text
    if ethertype == 0x0800:      # not ARP's layout at all: an IPv4 type with no IPv4 in it
        assert "02:00:0a:01:01:02 > ff:ff:ff:ff:ff:ff ethertype 0x0800" in text
    else:
        assert "<- eth_type is 2054 (arp), not 32821 (rarp)" in text


def test_a_reply_from_across_the_router_fails():
    rarp = exchange()
    answered = rarp_reply(XIAOLI_MAC, "10.1.2.2", T0 + 0.0004, GW2_LAN_MAC, "10.1.2.1")
    rarp["xiaoli-eth0"].append(answered)
    rarp["gw2-eth0"].append(answered.copy())
    with pytest.raises(ExpectationFailed) as failed:
        judge(rarp)
    assert str(failed.value).startswith(
        "xiaoli's RARP request was answered although its server is beyond the router gw2: "
        "seen at xiaoli-eth0")


def test_a_request_seen_beyond_the_router_fails():
    rarp = exchange()
    rarp["gw1-eth0"].append(rarp_request(XIAOLI_MAC, T0 + 0.0003))
    with pytest.raises(ExpectationFailed) as failed:
        judge(rarp)
    assert str(failed.value).startswith(
        "xiaoli's RARP request crossed its router gw2: seen at gw1-eth0")


def test_an_unknown_mac_answered_fails():
    rarp = exchange()
    rarp["gw1-eth0"].append(rarp_reply(UNKNOWN, "10.1.1.99", T0 + 0.0004))
    with pytest.raises(ExpectationFailed) as failed:
        judge(rarp)
    assert str(failed.value).startswith(
        f"the RARP request for {UNKNOWN}, a MAC no table holds, was answered: seen at gw1-eth0")


def test_an_address_other_than_the_dhcp_one_fails():
    dhcp = dhcp_scenario()
    dhcp["xiaoming-eth0"] = synth.dora_relay(address="10.1.1.20")["xiaoming-eth0"]
    with pytest.raises(ExpectationFailed) as failed:
        judge(dhcp=dhcp)
    assert str(failed.value).startswith("RARP gave xiaoming 10.1.1.2 but its DHCP ACK 10.1.1.20")


def test_dhcp_that_did_not_cross_the_relay_fails():
    dhcp = dhcp_scenario()
    dhcp["gw2-eth1"] = []
    with pytest.raises(ExpectationFailed) as failed:
        judge(dhcp=dhcp)
    assert "giaddr=10.1.2.1" in str(failed.value)


# ---------------------------------------------------------------- the cast, from the model

def test_the_cast_of_enterprise_comes_from_the_model():
    roles = find_roles(registry.load("enterprise"))
    assert (roles.server.name, roles.listen.name) == ("gw1", "gw1-eth0")
    assert (roles.near.node, str(roles.near.ip)) == ("xiaoming", "10.1.1.2")
    assert (roles.far.node, roles.relay) == ("xiaoli", "gw2")


def test_the_relay_race_set_up_is_not_checked():
    """Without VLANs both relays answer xiaoming's DISCOVER: its DHCP has no
    one answer to set beside RARP's."""
    topo = registry.load("enterprise", TopologyOptions(vlans=False))
    assert find_roles(topo) is None
    assert "as the relay race's does" in RarpVsDhcp().why_not(topo)


def test_on_one_flat_lan_nobody_is_behind_a_router():
    topo = lan()
    roles = find_roles(topo)
    assert (roles.server.name, roles.near.node, roles.far) == ("srv", "pc2", None)


@pytest.mark.parametrize("name", ["home", "arp-lan"])
def test_a_network_without_a_rarp_server_is_not_checked(name):
    topo = registry.load(name)
    check = RarpVsDhcp()
    assert not check.applies_to(topo)
    assert "no rarp-server" in check.why_not(topo)


def test_the_unknown_mac_is_nobodys():
    assert unknown_mac(set()) == "02:52:41:52:50:01"
    assert unknown_mac({"02:52:41:52:50:01"}) == "02:52:41:52:50:02"


# ---------------------------------------------------------------- the service

@pytest.fixture
def rarpd(tmp_path):
    topo = registry.load("enterprise")
    daemon = next(d for d in daemons(topo, tmp_path) if d.name == "rarpd")
    return daemon, daemon.launch(), tmp_path


def test_rarpd_files_are_private_to_its_node_and_come_from_the_model(rarpd):
    daemon, launch, run = rarpd
    layer = run / "nodes" / "gw1" / "rarp-server" / "etc"
    assert set(launch.files) == {str(layer / "ethers"), str(layer / "hosts"),
                                 str(layer / "nsswitch.conf"),
                                 str(run / "nodes" / "gw1" / "rarp-server" / "fstab")}
    lines = lambda name: [l for l in launch.files[str(layer / name)].splitlines()
                          if l and not l.startswith("#")]
    assert lines("ethers") == ["02:00:0a:01:01:02 xiaoming", "02:00:0a:01:01:03 xiaomei",
                               "02:00:0a:01:02:02 xiaoli"]
    assert lines("hosts") == ["127.0.0.1\tlocalhost", "10.1.1.2\txiaoming", "10.1.1.3\txiaomei",
                              "10.1.2.2\txiaoli"]
    assert lines("nsswitch.conf") == ["ethers: files", "hosts: files"]
    fstab = launch.files[str(run / "nodes" / "gw1" / "rarp-server" / "fstab")]
    assert f"overlay /etc overlay ro,lowerdir={layer}:/etc 0 0" in fstab


def test_rarpd_runs_in_its_own_mount_namespace_and_is_checked_first(rarpd):
    _daemon, launch, run = rarpd
    fstab = str(run / "nodes" / "gw1" / "rarp-server" / "fstab")
    wrapper = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
               'mount -a -T "$1" && shift && exec "$@"', "rarp-etc", fstab]
    assert launch.argv == wrapper + ["rarpd", "-d", "-e", "gw1-eth0"]
    assert launch.check[:len(wrapper)] == wrapper
    assert launch.check[-4:] == ["services.rarp_lookup", "02:00:0a:01:01:02=xiaoming=10.1.1.2",
                                 "02:00:0a:01:01:03=xiaomei=10.1.1.3",
                                 "02:00:0a:01:02:02=xiaoli=10.1.2.2"]
    assert (launch.name, launch.binary) == ("rarpd@gw1", "rarpd")
    ready = re.compile(launch.ready.pattern)
    assert ready.search("rarpd[81]:   addr 10.1.1.1/24 on gw1-eth0\n")
    assert not ready.search("rarpd[81]:   addr 10.10.10.1/24 on gw1-eth1\n")
    assert not ready.search("rarpd[81]: Building list of addresses per interface.\n")


def test_the_dry_run_names_what_does_not_resolve():
    names = {"02:00:0a:01:01:02": "xiaoming"}
    addresses = {"xiaoming": "10.1.1.2"}
    right = ["02:00:0a:01:01:02=xiaoming=10.1.1.2"]
    assert rarp_lookup.problems(right, names.get, addresses.get) == []
    assert rarp_lookup.problems(["02:00:0a:01:01:02=xiaoming=10.1.1.9",
                                 "02:00:0a:01:01:03=xiaomei=10.1.1.3"],
                                names.get, addresses.get) == [
        "02:00:0a:01:01:02 xiaoming: the hosts database gives 10.1.1.2, not 10.1.1.9",
        "02:00:0a:01:01:03: the ethers database gives nothing, not xiaomei"]


def test_the_client_asks_for_itself_in_a_rarp_frame_and_reads_the_reply():
    frame = Ether(rarp_client.request(XIAOMING_MAC))
    assert (frame.type, frame.dst, frame.src) == (0x8035, BROADCAST, XIAOMING_MAC)
    asked = ARP(bytes(frame.payload))
    assert (asked.op, asked.hwsrc, asked.hwdst) == (3, XIAOMING_MAC, XIAOMING_MAC)
    got = rarp_client.parse_reply(bytes(rarp_reply(XIAOMING_MAC, "10.1.1.2", T0)))
    assert (got.mac, got.address, got.server_mac, got.server_ip) == \
        (XIAOMING_MAC, "10.1.1.2", GW1_LAN_MAC, "10.1.1.1")
    assert rarp_client.parse_reply(bytes(rarp_request(XIAOMING_MAC, T0))) is None
    assert rarp_client.parse_reply(bytes(rarp_reply(XIAOMING_MAC, "10.1.1.2", T0,
                                                    ethertype=0x0806))) is None


# ---------------------------------------------------------------- validation

def lan(**params) -> Topology:
    """A server with a RARP server and two PCs on one switch."""
    topo = Topology("rarplan")
    net = topo.subnet("10.9.0.0/24", gateway="10.9.0.1", pool=("10.9.0.100", "10.9.0.199"))
    topo.vlan(10, "pcs", net)
    sw = topo.switch("sw")
    srv = topo.host("srv", services=[service("dhcp-server", subnets=[net])])
    topo.link(srv, sw, vlan=10, ip="10.9.0.1/24")
    srv.run(service("rarp-server", **params))
    for index in (2, 3):
        pc = topo.host(f"pc{index}")
        fixed = index == 2           # pc3 takes a pool address: no table can hold it
        topo.link(pc, sw, vlan=10, mac="02:00:00:00:00:02" if fixed else None,
                  dhcp=Dhcp(server="srv", reserve="10.9.0.2" if fixed else None))
    return topo


def refusals(topo: Topology) -> list[tuple[str, str, str]]:
    return [(e.node, e.field, e.message) for e in problems(topo)]


def test_a_sound_rarp_server_validates():
    assert refusals(lan()) == []
    assert refusals(lan(interface="srv-eth0", clients=["pc2"])) == []


@pytest.mark.parametrize("params,field,message", [
    ({"interface": "srv-eth7"}, "services[rarp-server].interface",
     "'srv-eth7' is not an interface of srv"),
    ({"interface": ["srv-eth0"]}, "services[rarp-server].interface", "is not one interface name"),
    ({"clients": ["pc9"]}, "services[rarp-server].clients",
     "'pc9' is not a host or router of the topology"),
    ({"clients": ["pc3"]}, "services[rarp-server].clients",
     "'pc3' has no interface with both a fixed MAC (mac=) and a fixed address"),
    ({"clients": "pc2"}, "services[rarp-server].clients", "must be a non-empty list"),
    ({"clients": []}, "services[rarp-server].clients", "must be a non-empty list"),
    ({"table": "x"}, "services[rarp-server].table", "unknown parameter 'table'"),
])
def test_bad_rarp_parameters_are_refused_naming_node_and_field(params, field, message):
    found = refusals(lan(**params))
    assert any(node == "srv" and f == field and message in m for node, f, m in found), found


def test_a_rarp_server_without_an_address_or_a_table_is_refused():
    topo = lan()
    bare = topo.host("bare", services=[service("rarp-server", clients=["pc2"])])
    topo.link(bare, "sw", vlan=10)
    found = refusals(topo)
    assert ("bare", "services[rarp-server].interface",
            "bare has no static IPv4 address: rarpd answers only with addresses of its "
            "interface's subnet") in found
    topo = lan()
    topo.node("pc2").services.clear()
    for iface in topo.interfaces():
        iface.mac = None
    assert any(f == "services[rarp-server].clients" and "would be empty" in m
               for _n, f, m in refusals(topo))


def test_two_rarp_servers_on_one_node_are_refused():
    topo = lan()
    topo.node("srv").run(service("rarp-server"))
    assert ("srv", "services[rarp-server]", "declared 2 times: one RARP server per node") \
        in refusals(topo)


def test_validate_raises_the_refusal_with_node_and_field():
    from orchestrator.model.validation import validate
    with pytest.raises(TopologyError) as refused:
        validate(lan(clients=["pc9"]))
    assert str(refused.value).startswith("srv: services[rarp-server].clients: 'pc9'")


# ---------------------------------------------------------------- ladder and tshark

def test_rarp_arrows_are_labelled_and_carry_the_ethertype_erratum():
    packets = captures({"xiaoming-eth0": exchange()["xiaoming-eth0"]})["xiaoming-eth0"]
    request, unknown, reply = packets
    assert [kind_of(p) for p in packets] == ["arp"] * 3
    assert label_of(request) == "RARP request who-is 02:00:0a:01:01:02 tell 02:00:0a:01:01:02"
    assert label_of(reply) == "RARP reply 02:00:0a:01:01:02 is-at 10.1.1.2"
    ladder = mark_errata(build(packets), [ErratumShown("arp-ethertype", "", "", "0x8035",
                                                       frame=1)])
    assert [a.label for a in ladder.arrows][0] == label_of(request)
    assert [a.erratum for a in ladder.arrows] == ["arp-ethertype", None, None]
    assert request.describe().endswith("RARP who-is 02:00:0a:01:01:02 tell 02:00:0a:01:01:02")
    assert reply.describe().endswith("RARP reply 02:00:0a:01:01:02 at 10.1.1.2")


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_rarp_frames_read_as_tshark_reads_them(tmp_path):
    from orchestrator.packets.crosscheck import crosscheck
    path = write_pcap(tmp_path / "rarp.pcap", captures(exchange())["xiaoming-eth0"])
    crosscheck(path).assert_ok()
